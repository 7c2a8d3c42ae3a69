import type { Expression, SqlBool } from 'kysely';
import type { DatastoreRecord } from '../../domain/datastore/record.js';
import { fromJson, toJson } from '../codec.js';
import type { Executor } from '../executor.js';
import type { DatastoresTable } from '../schema.js';
import { ownedFromColumns, ownedToColumns } from './owned.js';
import { memberOf, oneOrMany, ownedConditions, SqlPoolRepository } from './pool.js';
import type { MembershipSpec, OwnedFilter, PoolRepository, Row, Where } from './pool.js';

export interface DatastoreFilter extends OwnedFilter {
  /** Datastores that list this cluster. */
  readonly clusterId?: number;
  /** 0 IMAGE_DS, 1 SYSTEM_DS, 2 FILE_DS, 3 BACKUP_DS */
  readonly type?: number | readonly number[];
  readonly state?: number;
}

export type DatastoreRepository = PoolRepository<DatastoreRecord, DatastoreFilter>;

const clusterMembership: MembershipSpec<Omit<DatastoreRecord, 'version'>> = {
  table: 'datastore_clusters',
  ownerColumn: 'datastore_id',
  memberColumn: 'cluster_id',
  members: (r) => r.clusters,
};

function toRow(r: Omit<DatastoreRecord, 'version'>): Omit<DatastoresTable, 'version'> {
  return {
    ...ownedToColumns(r),
    ds_mad: r.dsMad,
    tm_mad: r.tmMad,
    base_path: r.basePath,
    type: r.type,
    disk_type: r.diskType,
    state: r.state,
    clusters: toJson(r.clusters),
    total_mb: r.totalMb,
    free_mb: r.freeMb,
    used_mb: r.usedMb,
  };
}

function fromRow(row: DatastoresTable): DatastoreRecord {
  return {
    ...ownedFromColumns(row),
    dsMad: row.ds_mad,
    tmMad: row.tm_mad,
    basePath: row.base_path,
    type: row.type,
    diskType: row.disk_type,
    state: row.state,
    clusters: fromJson<number[]>(row.clusters),
    totalMb: row.total_mb,
    freeMb: row.free_mb,
    usedMb: row.used_mb,
  };
}

function where(eb: Where, f: DatastoreFilter): Expression<SqlBool>[] {
  const conditions = ownedConditions(eb, f);
  if (f.clusterId !== undefined) conditions.push(memberOf(eb, clusterMembership, f.clusterId));
  if (f.type !== undefined) conditions.push(oneOrMany(eb, 'type', f.type));
  if (f.state !== undefined) conditions.push(eb('state', '=', f.state));
  return conditions;
}

export function createDatastoreRepository(exec: Executor): DatastoreRepository {
  return new SqlPoolRepository<DatastoreRecord, DatastoreFilter>(exec, {
    table: 'datastores',
    pool: 'datastore',
    noun: 'datastore',
    nameScope: 'global',
    toRow,
    fromRow: (row: Row) => fromRow(row as unknown as DatastoresTable),
    where,
    membership: clusterMembership,
  });
}
