/**
 * Quota usage (reference §11.6, `Quota::check_quota`, `Quotas::quota_check`,
 * `Request::quota_authorization`): check a request against the limits and add it to the
 * counters, or release it.
 *
 * A limit of -1 takes the default quota of the same block (same ID) and is unlimited when there
 * is none; -2 is unlimited; 0 forbids. The owner's user quota and group quota must both pass;
 * oneadmin (uid 0) and the oneadmin group (gid 0) are not counted. Counters never go below 0.
 */
import { fail, ok, type Result } from '../errors.js';
import { authorizationMessage } from '../auth/authorize.js';
import {
  formatQuotaNumber,
  limitField,
  newQuotaEntry,
  QUOTA_DEFAULT,
  QUOTA_KINDS,
  QUOTA_UNLIMITED,
  quotaEntries,
  roundQuota,
  usedField,
  withQuotaEntries,
  type DatastoreMetric,
  type ImageMetric,
  type NetworkMetric,
  type QuotaEntry,
  type QuotaKind,
  type QuotaMetric,
  type QuotaUsage,
  type VmMetric,
} from './metrics.js';
import { cleanupQuotaEntry } from './limits.js';
import type { QuotaSet } from './record.js';

/** Everything one operation consumes, block by block. */
export interface QuotaRequest {
  /** One entry per NIC that takes a lease (LEASES 1 each unless given). */
  readonly network?: readonly { readonly id: number; readonly leases?: number }[];
  readonly vm?: QuotaUsage<VmMetric>;
  /** One entry per DISK with an IMAGE_ID (RVMS 1 each unless given). */
  readonly image?: readonly { readonly id: number; readonly rvms?: number }[];
  /** Image datastore space: SIZE in MB, IMAGES 1 unless given. */
  readonly datastore?: readonly { readonly id: number; readonly size: number; readonly images?: number }[];
}

interface Step {
  readonly kind: QuotaKind;
  readonly id: number | null;
  readonly usage: QuotaUsage;
}

/** The request as `check_quota` calls, in OpenNebula's order: NETWORK, VM, IMAGE, then DATASTORE. */
function steps(request: QuotaRequest): Step[] {
  const list: Step[] = [];
  for (const nic of request.network ?? []) {
    list.push({
      kind: 'NETWORK',
      id: nic.id,
      usage: { LEASES: nic.leases ?? 1 } satisfies QuotaUsage<NetworkMetric>,
    });
  }
  if (request.vm !== undefined) list.push({ kind: 'VM', id: null, usage: request.vm });
  for (const disk of request.image ?? []) {
    list.push({
      kind: 'IMAGE',
      id: disk.id,
      usage: { RVMS: disk.rvms ?? 1 } satisfies QuotaUsage<ImageMetric>,
    });
  }
  for (const ds of request.datastore ?? []) {
    const usage: QuotaUsage<DatastoreMetric> = { SIZE: ds.size, IMAGES: ds.images ?? 1 };
    list.push({ kind: 'DATASTORE', id: ds.id, usage });
  }
  return list;
}

function findIndex(entries: readonly QuotaEntry[], kind: QuotaKind, id: number | null): number {
  return QUOTA_KINDS[kind].hasId ? entries.findIndex((e) => e.id === id) : entries.length > 0 ? 0 : -1;
}

function addToEntry(entry: QuotaEntry, kind: QuotaKind, usage: QuotaUsage, sign: 1 | -1): QuotaEntry {
  const next: Record<string, number> = { ...entry };
  for (const metric of QUOTA_KINDS[kind].metrics) {
    const amount = usage[metric];
    if (amount === undefined) continue;
    const field = usedField(kind, metric);
    next[field] = Math.max(0, roundQuota((next[field] ?? 0) + sign * amount));
  }
  return next;
}

/** The limit that applies to a metric: the entry's, or the default quota's when it says -1. */
function effectiveLimit(
  entry: QuotaEntry,
  kind: QuotaKind,
  id: number | null,
  metric: QuotaMetric,
  defaults: QuotaSet,
): number {
  const limit = entry[limitField(kind, metric)] ?? QUOTA_DEFAULT;
  if (limit !== QUOTA_DEFAULT) return limit;
  const defaultEntries = quotaEntries(defaults, kind);
  const defaultEntry = defaultEntries[findIndex(defaultEntries, kind, id)];
  const fallback = defaultEntry?.[limitField(kind, metric)];
  return fallback === undefined || fallback < 0 ? QUOTA_UNLIMITED : fallback;
}

/**
 * `Quota::check_quota` for one block: the entry is created (limits -1) when missing; every metric
 * of the request must fit, then all are added. Fails with OpenNebula's text:
 * `limit of 2 reached for VMS quota in VM`, `... in DATASTORE with ID: 1`.
 */
export function checkAndAddQuota(
  quotas: QuotaSet,
  kind: QuotaKind,
  id: number | null,
  usage: QuotaUsage,
  defaults: QuotaSet,
): Result<QuotaSet> {
  const entries = quotaEntries(quotas, kind);
  const index = findIndex(entries, kind, id);
  const entry = index === -1 ? newQuotaEntry(kind, id, QUOTA_DEFAULT) : (entries[index] as QuotaEntry);
  for (const metric of QUOTA_KINDS[kind].metrics) {
    const amount = usage[metric];
    if (amount === undefined) continue;
    const limit = effectiveLimit(entry, kind, id, metric, defaults);
    const used = entry[usedField(kind, metric)] ?? 0;
    if (limit !== QUOTA_UNLIMITED && roundQuota(used + amount) > limit) {
      const where = QUOTA_KINDS[kind].hasId ? ` with ID: ${id}` : '';
      return fail(
        'AUTHORIZATION',
        `limit of ${formatQuotaNumber(limit)} reached for ${metric} quota in ${kind}${where}`,
        kind,
      );
    }
  }
  const updated = addToEntry(entry, kind, usage, 1);
  const next = index === -1 ? [...entries, updated] : entries.map((e, i) => (i === index ? updated : e));
  return ok(withQuotaEntries(quotas, kind, next));
}

/** `Quota::del_quota`: subtract (never below 0) and drop an entry left with nothing in it. */
export function releaseQuotaUsage(
  quotas: QuotaSet,
  kind: QuotaKind,
  id: number | null,
  usage: QuotaUsage,
): QuotaSet {
  const entries = quotaEntries(quotas, kind);
  const index = findIndex(entries, kind, id);
  if (index === -1) return quotas;
  const updated = addToEntry(entries[index] as QuotaEntry, kind, usage, -1);
  const next = entries.map((e, i) => (i === index ? updated : e));
  return withQuotaEntries(quotas, kind, cleanupQuotaEntry(next, kind, id));
}

/**
 * `Quota::add_quota`: add to the counters without checking limits (usage that exists already,
 * e.g. rebuilding counters); a missing entry is created with default limits.
 */
export function addQuotaUsage(
  quotas: QuotaSet,
  kind: QuotaKind,
  id: number | null,
  usage: QuotaUsage,
): QuotaSet {
  const entries = quotaEntries(quotas, kind);
  const index = findIndex(entries, kind, id);
  const entry = index === -1 ? newQuotaEntry(kind, id, QUOTA_DEFAULT) : (entries[index] as QuotaEntry);
  const updated = addToEntry(entry, kind, usage, 1);
  const next = index === -1 ? [...entries, updated] : entries.map((e, i) => (i === index ? updated : e));
  return withQuotaEntries(quotas, kind, next);
}

/** Check and add a whole request on one quota set; all or nothing. */
export function checkQuotaRequest(
  quotas: QuotaSet,
  request: QuotaRequest,
  defaults: QuotaSet,
): Result<QuotaSet> {
  let current = quotas;
  for (const step of steps(request)) {
    const result = checkAndAddQuota(current, step.kind, step.id, step.usage, defaults);
    if (!result.ok) return result;
    current = result.value;
  }
  return ok(current);
}

/** Release a whole request from one quota set. */
export function releaseQuotaRequest(quotas: QuotaSet, request: QuotaRequest): QuotaSet {
  return steps(request).reduce((q, step) => releaseQuotaUsage(q, step.kind, step.id, step.usage), quotas);
}

// ---------------------------------------------------------------------------------------------
// User and group together (Request::quota_authorization)
// ---------------------------------------------------------------------------------------------

/** Whose quotas an operation counts against: the owner of the object and its group. */
export interface QuotaOwners {
  readonly uid: number;
  readonly gid: number;
  readonly userQuotas: QuotaSet;
  readonly groupQuotas: QuotaSet;
}

export interface DefaultQuotas {
  readonly user: QuotaSet;
  readonly group: QuotaSet;
}

export interface QuotaContext {
  /** XML-RPC method name for the message, e.g. `one.vm.allocate`. */
  readonly method: string;
  /** The user making the call, when not the owner (chown). Defaults to the owner. */
  readonly callerUid?: number;
}

/** uid/gid 0 are exempt; -1 means "do not count" (as in OpenNebula's chown). */
const counted = (id: number): boolean => id > 0;

/**
 * Checks the owner's user quota, then its group quota, and returns both updated. Refusals are
 * AUTHORIZATION errors with OpenNebula's text:
 * `[one.vm.allocate] User [3] : user [3] limit of 2 reached for VMS quota in VM.` or
 * `[one.vm.allocate] User [3] : group [100] limit of 8192 reached for MEMORY quota in VM.`
 */
export function authorizeQuota(
  owners: QuotaOwners,
  request: QuotaRequest,
  defaults: DefaultQuotas,
  context: QuotaContext,
): Result<{ userQuotas: QuotaSet; groupQuotas: QuotaSet }> {
  const caller = context.callerUid ?? owners.uid;
  let { userQuotas, groupQuotas } = owners;
  if (counted(owners.uid)) {
    const result = checkQuotaRequest(userQuotas, request, defaults.user);
    if (!result.ok) {
      const reason = `user [${owners.uid}] ${result.error.message}`;
      return fail('AUTHORIZATION', authorizationMessage(context.method, caller, reason), result.error.field);
    }
    userQuotas = result.value;
  }
  if (counted(owners.gid)) {
    const result = checkQuotaRequest(groupQuotas, request, defaults.group);
    if (!result.ok) {
      const reason = `group [${owners.gid}] ${result.error.message}`;
      return fail('AUTHORIZATION', authorizationMessage(context.method, caller, reason), result.error.field);
    }
    groupQuotas = result.value;
  }
  return ok({ userQuotas, groupQuotas });
}

/** Gives back what a request took from the owner's user and group quotas. */
export function releaseQuota(
  owners: QuotaOwners,
  request: QuotaRequest,
): { userQuotas: QuotaSet; groupQuotas: QuotaSet } {
  return {
    userQuotas: counted(owners.uid) ? releaseQuotaRequest(owners.userQuotas, request) : owners.userQuotas,
    groupQuotas: counted(owners.gid) ? releaseQuotaRequest(owners.groupQuotas, request) : owners.groupQuotas,
  };
}

// ---------------------------------------------------------------------------------------------
// What operations consume
// ---------------------------------------------------------------------------------------------

export interface VmQuotaInput {
  /** MB */
  readonly memory: number;
  readonly cpu: number;
  /** MB of disks created in the system datastore (volatile disks, non-persistent clones, snapshots). */
  readonly systemDiskSize?: number;
}

/** VMS, MEMORY, CPU and SYSTEM_DISK_SIZE of a VM, plus the RUNNING_* counters when `running`. */
export function vmQuotaUsage(vm: VmQuotaInput, running: boolean): QuotaUsage<VmMetric> {
  const usage: QuotaUsage<VmMetric> = {
    VMS: 1,
    MEMORY: vm.memory,
    CPU: vm.cpu,
    SYSTEM_DISK_SIZE: vm.systemDiskSize ?? 0,
  };
  return running ? { ...usage, ...vmRunningQuotaUsage(vm) } : usage;
}

/**
 * RUNNING_VMS, RUNNING_MEMORY, RUNNING_CPU: counted while the VM is ACTIVE, HOLD, PENDING or
 * CLONING; released on poweroff/undeploy/stop/suspend, taken again on resume.
 */
export function vmRunningQuotaUsage(vm: Pick<VmQuotaInput, 'memory' | 'cpu'>): QuotaUsage<VmMetric> {
  return { RUNNING_VMS: 1, RUNNING_MEMORY: vm.memory, RUNNING_CPU: vm.cpu };
}

export interface VmAllocateQuotaInput extends VmQuotaInput {
  /** Network IDs of the NICs that take a lease, one entry per NIC. */
  readonly networkIds?: readonly number[];
  /** Image IDs of the DISKs, one entry per disk. */
  readonly imageIds?: readonly number[];
  /** A VM allocated on hold or pending counts as running (default true). */
  readonly running?: boolean;
}

/** What `one.vm.allocate` / `one.template.instantiate` consume (reference §11.6). */
export function vmAllocateQuotaRequest(vm: VmAllocateQuotaInput): Result<QuotaRequest> {
  if (!Number.isFinite(vm.memory) || vm.memory < 0) {
    return fail('AUTHORIZATION', 'MEMORY attribute must be a positive integer value', 'MEMORY');
  }
  if (!Number.isFinite(vm.cpu) || vm.cpu < 0) {
    return fail('AUTHORIZATION', 'CPU attribute must be a positive float or integer value', 'CPU');
  }
  return ok({
    network: (vm.networkIds ?? []).map((id) => ({ id })),
    vm: vmQuotaUsage(vm, vm.running ?? true),
    image: (vm.imageIds ?? []).map((id) => ({ id })),
  });
}

/** What a new image takes from its datastore quota: IMAGES 1 and SIZE MB. */
export function imageQuotaRequest(datastoreId: number, sizeMb: number): Result<QuotaRequest> {
  if (!Number.isFinite(sizeMb) || sizeMb < 0) {
    return fail('AUTHORIZATION', 'Image size must be a positive integer value', 'SIZE');
  }
  return ok({ datastore: [{ id: datastoreId, size: sizeMb }] });
}

/** Leases taken on a network (a NIC attach, a reservation). */
export function leaseQuotaRequest(networkId: number, leases = 1): QuotaRequest {
  return { network: [{ id: networkId, leases }] };
}
