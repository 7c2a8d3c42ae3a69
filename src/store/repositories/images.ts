import type { Expression, SqlBool } from 'kysely';
import type { ImageRecord } from '../../domain/image/record.js';
import { fromFlag, fromJson, toFlag, toJson } from '../codec.js';
import type { Executor } from '../executor.js';
import type { ImagesTable } from '../schema.js';
import { ownedFromColumns, ownedToColumns } from './owned.js';
import { oneOrMany, ownedConditions, SqlPoolRepository } from './pool.js';
import type { OwnedFilter, PoolRepository, Row, Where } from './pool.js';

export interface ImageFilter extends OwnedFilter {
  readonly state?: number | readonly number[];
  readonly datastoreId?: number;
  readonly type?: number;
  readonly persistent?: boolean;
}

export type ImageRepository = PoolRepository<ImageRecord, ImageFilter>;

function toRow(r: Omit<ImageRecord, 'version'>): Omit<ImagesTable, 'version'> {
  return {
    ...ownedToColumns(r),
    type: r.type,
    disk_type: r.diskType,
    persistent: toFlag(r.persistent),
    regtime: r.regtime,
    source: r.source,
    path: r.path,
    format: r.format,
    fs: r.fs,
    size_mb: r.size,
    state: r.state,
    prev_state: r.prevState,
    running_vms: r.runningVms,
    cloning_ops: r.cloningOps,
    cloning_id: r.cloningId,
    target_snapshot: r.targetSnapshot,
    datastore_id: r.datastoreId,
    vms: toJson(r.vms),
    clones: toJson(r.clones),
  };
}

function fromRow(row: ImagesTable): ImageRecord {
  return {
    ...ownedFromColumns(row),
    type: row.type,
    diskType: row.disk_type,
    persistent: fromFlag(row.persistent),
    regtime: row.regtime,
    source: row.source,
    path: row.path,
    format: row.format,
    fs: row.fs,
    size: row.size_mb,
    state: row.state,
    prevState: row.prev_state,
    runningVms: row.running_vms,
    cloningOps: row.cloning_ops,
    cloningId: row.cloning_id,
    targetSnapshot: row.target_snapshot,
    datastoreId: row.datastore_id,
    vms: fromJson<number[]>(row.vms),
    clones: fromJson<number[]>(row.clones),
  };
}

function where(eb: Where, f: ImageFilter): Expression<SqlBool>[] {
  const conditions = ownedConditions(eb, f);
  if (f.state !== undefined) conditions.push(oneOrMany(eb, 'state', f.state));
  if (f.datastoreId !== undefined) conditions.push(eb('datastore_id', '=', f.datastoreId));
  if (f.type !== undefined) conditions.push(eb('type', '=', f.type));
  if (f.persistent !== undefined) conditions.push(eb('persistent', '=', toFlag(f.persistent)));
  return conditions;
}

export function createImageRepository(exec: Executor): ImageRepository {
  return new SqlPoolRepository<ImageRecord, ImageFilter>(exec, {
    table: 'images',
    pool: 'image',
    noun: 'image',
    nameScope: 'owner',
    toRow,
    fromRow: (row: Row) => fromRow(row as unknown as ImagesTable),
    where,
  });
}
