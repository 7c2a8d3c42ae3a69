import type { VmGroupRecord, VmGroupRole } from '../../domain/vmgroup/record.js';
import { fromJson, toJson } from '../codec.js';
import type { Executor } from '../executor.js';
import type { VmGroupsTable } from '../schema.js';
import { ownedFromColumns, ownedToColumns } from './owned.js';
import { ownedConditions, SqlPoolRepository } from './pool.js';
import type { OwnedFilter, PoolRepository, Row } from './pool.js';

export type VmGroupFilter = OwnedFilter;
/**
 * VM groups (`vm_group_pool`). Membership changes (a VM joining or leaving a role) are whole-record
 * updates with the version check, inside the transaction that creates or ends the VM.
 */
export type VmGroupRepository = PoolRepository<VmGroupRecord, VmGroupFilter>;

export function createVmGroupRepository(exec: Executor): VmGroupRepository {
  return new SqlPoolRepository<VmGroupRecord, VmGroupFilter>(exec, {
    table: 'vm_groups',
    pool: 'vmgroup',
    noun: 'VM group',
    nameScope: 'owner',
    toRow: (r): Omit<VmGroupsTable, 'version'> => ({ ...ownedToColumns(r), roles: toJson(r.roles) }),
    fromRow: (row: Row) => {
      const t = row as unknown as VmGroupsTable;
      return { ...ownedFromColumns(t), roles: fromJson<VmGroupRole[]>(t.roles) };
    },
    where: ownedConditions,
  });
}
