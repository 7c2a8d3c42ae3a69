import type { SecurityGroupRecord } from '../../domain/secgroup/record.js';
import type { Executor } from '../executor.js';
import type { SecurityGroupsTable } from '../schema.js';
import { ownedFromColumns, ownedToColumns } from './owned.js';
import { ownedConditions, SqlPoolRepository } from './pool.js';
import type { OwnedFilter, PoolRepository, Row } from './pool.js';

export type SecurityGroupFilter = OwnedFilter;
export type SecurityGroupRepository = PoolRepository<SecurityGroupRecord, SecurityGroupFilter>;

export function createSecurityGroupRepository(exec: Executor): SecurityGroupRepository {
  return new SqlPoolRepository<SecurityGroupRecord, SecurityGroupFilter>(exec, {
    table: 'security_groups',
    pool: 'secgroup',
    noun: 'security group',
    nameScope: 'owner',
    toRow: (r) => ownedToColumns(r),
    fromRow: (row: Row) => ownedFromColumns(row as unknown as SecurityGroupsTable),
    where: ownedConditions,
  });
}
