import type { VmTemplateRecord } from '../../domain/vmtemplate/record.js';
import type { Executor } from '../executor.js';
import type { VmTemplatesTable } from '../schema.js';
import { ownedFromColumns, ownedToColumns } from './owned.js';
import { ownedConditions, SqlPoolRepository } from './pool.js';
import type { OwnedFilter, PoolRepository, Row } from './pool.js';

export type VmTemplateFilter = OwnedFilter;
export type VmTemplateRepository = PoolRepository<VmTemplateRecord, VmTemplateFilter>;

export function createVmTemplateRepository(exec: Executor): VmTemplateRepository {
  return new SqlPoolRepository<VmTemplateRecord, VmTemplateFilter>(exec, {
    table: 'vm_templates',
    pool: 'template',
    noun: 'template',
    nameScope: 'owner',
    toRow: (r): Omit<VmTemplatesTable, 'version'> => ({ ...ownedToColumns(r), regtime: r.regtime }),
    fromRow: (row: Row) => {
      const t = row as unknown as VmTemplatesTable;
      return { ...ownedFromColumns(t), regtime: t.regtime };
    },
    where: ownedConditions,
  });
}
