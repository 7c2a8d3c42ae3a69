import type { ClusterRecord } from '../../domain/cluster/record.js';
import type { Template } from '../../domain/template/types.js';
import { fromJson, toJson } from '../codec.js';
import type { Executor } from '../executor.js';
import type { ClustersTable } from '../schema.js';
import { poolConditions, SqlPoolRepository } from './pool.js';
import type { PoolFilter, PoolRepository, Row } from './pool.js';

export type ClusterFilter = PoolFilter;
export type ClusterRepository = PoolRepository<ClusterRecord, ClusterFilter>;

export function createClusterRepository(exec: Executor): ClusterRepository {
  return new SqlPoolRepository<ClusterRecord, ClusterFilter>(exec, {
    table: 'clusters',
    pool: 'cluster',
    noun: 'cluster',
    nameScope: 'global',
    toRow: (r): Omit<ClustersTable, 'version'> => ({ id: r.id, name: r.name, template: toJson(r.template) }),
    fromRow: (row: Row) => {
      const c = row as unknown as ClustersTable;
      return { id: c.id, name: c.name, template: fromJson<Template>(c.template), version: c.version };
    },
    where: poolConditions,
  });
}
