import { fail, ok, type Result } from '../errors.js';
import type { DatastoreRecord } from './record.js';

/**
 * Datastore capacity accounting in MB (reference §9.1, `Datastore::get_avail_mb`). FREE_MB and
 * USED_MB come from the DS monitor; between two monitors the controller reserves the size of
 * each image it creates and releases it when one is removed, so two registrations in a row cannot
 * both take the last free gigabyte. Figures never go negative.
 */

type Capacity = Pick<DatastoreRecord, 'id' | 'name' | 'template' | 'totalMb' | 'freeMb' | 'usedMb'>;

function single(ds: Capacity, name: string): string | undefined {
  const first = ds.template[name]?.[0];
  return typeof first === 'string' ? first.trim() : undefined;
}

/** FREE_MB, capped by LIMIT_MB − USED_MB when LIMIT_MB is set; never below 0. */
export function availableMb(ds: Capacity): number {
  let available = ds.freeMb;
  const limit = single(ds, 'LIMIT_MB');
  if (limit !== undefined && /^\d+$/.test(limit)) available = Math.min(available, Number(limit) - ds.usedMb);
  return Math.max(0, available);
}

/**
 * Does an image of `sizeMb` fit? The check is skipped when DATASTORE_CAPACITY_CHECK is NO (the
 * datastore's template, else `capacityCheck`, oned.conf's default "yes"), and while the datastore
 * has never been monitored (TOTAL_MB 0 and no LIMIT_MB): refusing every image on a fresh
 * installation before the first monitor would only get in the way.
 */
export function checkImageFits(ds: Capacity, sizeMb: number, capacityCheck = true): Result<number> {
  const setting = single(ds, 'DATASTORE_CAPACITY_CHECK')?.toUpperCase();
  const check = setting === 'YES' ? true : setting === 'NO' ? false : capacityCheck;
  const limited = (single(ds, 'LIMIT_MB') ?? '') !== '';
  if (!check || (ds.totalMb === 0 && !limited)) return ok(sizeMb);
  const available = availableMb(ds);
  if (sizeMb > available) {
    return fail(
      'DATASTORE_FULL',
      `Not enough space in datastore ${ds.id} "${ds.name}": the image needs ${sizeMb} MB, ${available} MB are available`,
    );
  }
  return ok(sizeMb);
}

/** Account for `sizeMb` now in use: FREE_MB down (not below 0), USED_MB up. */
export function reserveCapacity<T extends Capacity>(ds: T, sizeMb: number): T {
  const size = Math.max(0, sizeMb);
  return { ...ds, freeMb: Math.max(0, ds.freeMb - size), usedMb: ds.usedMb + size };
}

/** Give `sizeMb` back: USED_MB down (not below 0), FREE_MB up (not above TOTAL_MB once known). */
export function releaseCapacity<T extends Capacity>(ds: T, sizeMb: number): T {
  const size = Math.max(0, sizeMb);
  const free = ds.freeMb + size;
  return {
    ...ds,
    usedMb: Math.max(0, ds.usedMb - size),
    freeMb: ds.totalMb > 0 ? Math.min(ds.totalMb, free) : free,
  };
}

/** A DS monitor report (`USED_MB= TOTAL_MB= FREE_MB=`) replaces the figures. */
export function applyDatastoreMonitor<T extends Capacity>(
  ds: T,
  report: { readonly totalMb: number; readonly freeMb: number; readonly usedMb: number },
): T {
  const clean = (n: number): number => (Number.isFinite(n) && n > 0 ? Math.floor(n) : 0);
  return {
    ...ds,
    totalMb: clean(report.totalMb),
    freeMb: clean(report.freeMb),
    usedMb: clean(report.usedMb),
  };
}
