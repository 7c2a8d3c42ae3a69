/**
 * Setting quota limits: `one.user.quota`, `one.group.quota`, `one.userquota.update`,
 * `one.groupquota.update` (`Quotas::set`, `Quota::set`, `update_limits`, `cleanup_quota`).
 *
 * Merge semantics: blocks are matched by ID (VM has one block). A block in the template replaces
 * every limit of the matching entry — a metric it leaves out goes back to -1 (use the default
 * quota; -2 unlimited in the default quotas themselves) — and keeps the counters. Blocks not in
 * the template are untouched. An entry left with default limits and zero usage is removed.
 */
import { fail, ok, type Result } from '../errors.js';
import type { Template, VectorValue } from '../template/types.js';
import {
  limitField,
  newQuotaEntry,
  QUOTA_DEFAULT,
  QUOTA_KINDS,
  QUOTA_UNLIMITED,
  quotaEntries,
  usedField,
  withQuotaEntries,
  type QuotaEntry,
  type QuotaKind,
} from './metrics.js';
import type { QuotaSet } from './record.js';

export interface SetQuotaOptions {
  /** Setting the default user/group quotas: missing limits become -2 and -1 is refused. */
  readonly isDefault?: boolean;
}

/** Order of `Quotas::set`. */
const SET_ORDER: readonly QuotaKind[] = ['DATASTORE', 'NETWORK', 'IMAGE', 'VM'];

/** `VectorAttribute::marshall(",")`: sorted `KEY=value` pairs. */
function marshall(vector: VectorValue): string {
  return Object.keys(vector)
    .sort()
    .map((key) => `${key}=${vector[key] ?? ''}`)
    .join(',');
}

function parseLimit(text: string | undefined, isDefault: boolean): number | null {
  if (text === undefined || text.trim() === '') return isDefault ? QUOTA_UNLIMITED : QUOTA_DEFAULT;
  const trimmed = text.trim();
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(trimmed)) return null;
  const limit = Number(trimmed);
  if (limit >= 0 || limit === QUOTA_UNLIMITED) return limit;
  if (limit === QUOTA_DEFAULT && !isDefault) return limit;
  return null;
}

function parseId(text: string | undefined): number | null {
  if (text === undefined || !/^\s*[-+]?\d+\s*$/.test(text)) return null;
  const id = Number(text);
  return Number.isSafeInteger(id) ? id : null;
}

function entryId(kind: QuotaKind, entry: QuotaEntry): number | null {
  return QUOTA_KINDS[kind].hasId ? (entry.id ?? null) : null;
}

/** Remove the entry when every counter is 0 and every limit is the implicit one. */
export function cleanupQuotaEntry(
  entries: readonly QuotaEntry[],
  kind: QuotaKind,
  id: number | null,
  isDefault = false,
): QuotaEntry[] {
  const implicit = isDefault ? QUOTA_UNLIMITED : QUOTA_DEFAULT;
  return entries.filter((entry) => {
    if (entryId(kind, entry) !== id) return true;
    return !QUOTA_KINDS[kind].metrics.every(
      (m) => entry[usedField(kind, m)] === 0 && entry[limitField(kind, m)] === implicit,
    );
  });
}

/**
 * Applies a quota template (`VM=[VMS=4, MEMORY=2048]`, `DATASTORE=[ID=1, SIZE=10240]` …) to a
 * quota set. Errors: `Negative limits or bad format in quota DATASTORE = [ ID=1,SIZE=-5 ]`.
 */
export function setQuotas(
  current: QuotaSet,
  template: Template,
  options: SetQuotaOptions = {},
): Result<QuotaSet> {
  const isDefault = options.isDefault ?? false;
  let quotas = current;
  for (const kind of SET_ORDER) {
    for (const value of template[kind] ?? []) {
      if (typeof value === 'string') continue;
      const badFormat = fail(
        'INVALID_ARGUMENT',
        `Negative limits or bad format in quota ${kind} = [ ${marshall(value)} ]`,
        kind,
      );
      const spec = QUOTA_KINDS[kind];
      let id: number | null = null;
      if (spec.hasId) {
        id = parseId(value.ID);
        if (id === null) return badFormat;
      }
      const limits: Record<string, number> = {};
      for (const metric of spec.metrics) {
        const limit = parseLimit(value[metric], isDefault);
        if (limit === null) return badFormat;
        limits[limitField(kind, metric)] = limit;
      }
      const entries = quotaEntries(quotas, kind);
      const index = entries.findIndex((e) => entryId(kind, e) === id);
      const base = index === -1 ? newQuotaEntry(kind, id, 0) : (entries[index] as QuotaEntry);
      const updated: QuotaEntry = { ...base, ...limits };
      const next = index === -1 ? [...entries, updated] : entries.map((e, i) => (i === index ? updated : e));
      quotas = withQuotaEntries(quotas, kind, cleanupQuotaEntry(next, kind, id, isDefault));
    }
  }
  return ok(quotas);
}

/** `one.user.quota` / `one.group.quota` refuse the oneadmin user and group. */
export function checkQuotaOwner(owner: { readonly user: number } | { readonly group: number }): Result<void> {
  if ('user' in owner && owner.user === 0) return fail('ACTION', 'Cannot set quotas for oneadmin user');
  if ('group' in owner && owner.group === 0) return fail('ACTION', 'Cannot set quotas for oneadmin group');
  return ok(undefined);
}
