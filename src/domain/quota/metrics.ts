/**
 * Quota blocks and metrics (reference §11.6, `Quota*.cc`): names in OpenNebula's order (the
 * order limits are checked in), the record field of each metric, and the number format of
 * OpenNebula's messages.
 */
import type { DatastoreQuota, ImageQuota, NetworkQuota, QuotaSet, VmQuota } from './record.js';

/** Limit -1: use the default quota. */
export const QUOTA_DEFAULT = -1;
/** Limit -2: unlimited. */
export const QUOTA_UNLIMITED = -2;

export const VM_METRICS = [
  'VMS',
  'RUNNING_VMS',
  'CPU',
  'RUNNING_CPU',
  'MEMORY',
  'RUNNING_MEMORY',
  'SYSTEM_DISK_SIZE',
] as const;
export const DATASTORE_METRICS = ['SIZE', 'IMAGES'] as const;
export const NETWORK_METRICS = ['LEASES'] as const;
export const IMAGE_METRICS = ['RVMS'] as const;

export type VmMetric = (typeof VM_METRICS)[number];
export type DatastoreMetric = (typeof DATASTORE_METRICS)[number];
export type NetworkMetric = (typeof NETWORK_METRICS)[number];
export type ImageMetric = (typeof IMAGE_METRICS)[number];

/** Quota template block names (`VM=[...]`, `DATASTORE=[ID=...]` …), also used in messages. */
export type QuotaKind = 'VM' | 'DATASTORE' | 'NETWORK' | 'IMAGE';
export type QuotaMetric = VmMetric | DatastoreMetric | NetworkMetric | ImageMetric;

/** Amounts per metric for one quota entry (a request or a release). */
export type QuotaUsage<M extends string = QuotaMetric> = Partial<Record<M, number>>;

interface KindSpec {
  readonly metrics: readonly QuotaMetric[];
  /** Record field of each metric's limit; the counter is the same name + "Used". */
  readonly fields: Readonly<Partial<Record<QuotaMetric, string>>>;
  /** Quota blocks other than VM are one entry per ID. */
  readonly hasId: boolean;
}

export const QUOTA_KINDS: Readonly<Record<QuotaKind, KindSpec>> = {
  VM: {
    metrics: VM_METRICS,
    hasId: false,
    fields: {
      VMS: 'vms',
      RUNNING_VMS: 'runningVms',
      CPU: 'cpu',
      RUNNING_CPU: 'runningCpu',
      MEMORY: 'memory',
      RUNNING_MEMORY: 'runningMemory',
      SYSTEM_DISK_SIZE: 'systemDiskSize',
    },
  },
  DATASTORE: { metrics: DATASTORE_METRICS, hasId: true, fields: { SIZE: 'size', IMAGES: 'images' } },
  NETWORK: { metrics: NETWORK_METRICS, hasId: true, fields: { LEASES: 'leases' } },
  IMAGE: { metrics: IMAGE_METRICS, hasId: true, fields: { RVMS: 'rvms' } },
};

/** Any quota entry seen as plain numbers (`id` plus limit and *Used fields). */
export type QuotaEntry = Readonly<Record<string, number>>;

export const EMPTY_QUOTAS: QuotaSet = { vm: null, datastore: [], network: [], image: [] };

export function quotaEntries(quotas: QuotaSet, kind: QuotaKind): readonly QuotaEntry[] {
  switch (kind) {
    case 'VM':
      return quotas.vm === null ? [] : [quotas.vm as unknown as QuotaEntry];
    case 'DATASTORE':
      return quotas.datastore as unknown as readonly QuotaEntry[];
    case 'NETWORK':
      return quotas.network as unknown as readonly QuotaEntry[];
    case 'IMAGE':
      return quotas.image as unknown as readonly QuotaEntry[];
  }
}

export function withQuotaEntries(
  quotas: QuotaSet,
  kind: QuotaKind,
  entries: readonly QuotaEntry[],
): QuotaSet {
  switch (kind) {
    case 'VM':
      return { ...quotas, vm: (entries[0] as unknown as VmQuota | undefined) ?? null };
    case 'DATASTORE':
      return { ...quotas, datastore: entries as unknown as readonly DatastoreQuota[] };
    case 'NETWORK':
      return { ...quotas, network: entries as unknown as readonly NetworkQuota[] };
    case 'IMAGE':
      return { ...quotas, image: entries as unknown as readonly ImageQuota[] };
  }
}

export function limitField(kind: QuotaKind, metric: QuotaMetric): string {
  const field = QUOTA_KINDS[kind].fields[metric];
  if (field === undefined) throw new RangeError(`${metric} is not a ${kind} quota metric`);
  return field;
}

export function usedField(kind: QuotaKind, metric: QuotaMetric): string {
  return `${limitField(kind, metric)}Used`;
}

/** A new entry with every limit at `limit` and every counter at 0. */
export function newQuotaEntry(kind: QuotaKind, id: number | null, limit: number): QuotaEntry {
  const entry: Record<string, number> = {};
  if (QUOTA_KINDS[kind].hasId) entry.id = id ?? -1;
  for (const metric of QUOTA_KINDS[kind].metrics) {
    entry[limitField(kind, metric)] = limit;
    entry[usedField(kind, metric)] = 0;
  }
  return entry;
}

/** Quota counters are floats (CPU); keep sums free of binary noise. */
export function roundQuota(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

/**
 * A number as OpenNebula prints a float quota value in messages (C++ `ostream << float`: six
 * significant digits, %g style): 2 → "2", 0.5 → "0.5", 2048000 → "2.048e+06".
 */
export function formatQuotaNumber(value: number): string {
  const x = Math.fround(value);
  if (x === 0) return '0';
  if (!Number.isFinite(x)) return String(x);
  const [mantissa = '', exponentText = '0'] = x.toExponential(5).split('e');
  const exponent = Number(exponentText);
  const trim = (s: string): string => (s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s);
  if (exponent < -4 || exponent >= 6) {
    const sign = exponent < 0 ? '-' : '+';
    return `${trim(mantissa)}e${sign}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  return trim(x.toFixed(5 - exponent));
}
