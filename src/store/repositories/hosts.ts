import type { Expression, SqlBool } from 'kysely';
import type { HostRecord } from '../../domain/host/record.js';
import type { Template } from '../../domain/template/types.js';
import { fromJson, toJson } from '../codec.js';
import type { Executor } from '../executor.js';
import type { HostsTable } from '../schema.js';
import { oneOrMany, poolConditions, SqlPoolRepository } from './pool.js';
import type { PoolFilter, PoolRepository, Row, Where } from './pool.js';

export interface HostFilter extends PoolFilter {
  readonly state?: number | readonly number[];
  readonly clusterId?: number;
}

export type HostRepository = PoolRepository<HostRecord, HostFilter>;

function toRow(r: Omit<HostRecord, 'version'>): Omit<HostsTable, 'version'> {
  return {
    id: r.id,
    name: r.name,
    state: r.state,
    prev_state: r.prevState,
    im_mad: r.imMad,
    vm_mad: r.vmMad,
    cluster_id: r.clusterId,
    mem_usage: r.share.memUsage,
    cpu_usage: r.share.cpuUsage,
    total_mem: r.share.totalMem,
    total_cpu: r.share.totalCpu,
    max_mem: r.share.maxMem,
    max_cpu: r.share.maxCpu,
    running_vms: r.share.runningVms,
    vms: toJson(r.vms),
    template: toJson(r.template),
    monitoring: toJson(r.monitoring),
    last_mon_time: r.lastMonTime,
  };
}

function fromRow(row: HostsTable): HostRecord {
  return {
    id: row.id,
    name: row.name,
    state: row.state,
    prevState: row.prev_state,
    imMad: row.im_mad,
    vmMad: row.vm_mad,
    clusterId: row.cluster_id,
    share: {
      memUsage: row.mem_usage,
      cpuUsage: row.cpu_usage,
      totalMem: row.total_mem,
      totalCpu: row.total_cpu,
      maxMem: row.max_mem,
      maxCpu: row.max_cpu,
      runningVms: row.running_vms,
    },
    vms: fromJson<number[]>(row.vms),
    template: fromJson<Template>(row.template),
    monitoring: fromJson<Record<string, string>>(row.monitoring),
    lastMonTime: row.last_mon_time,
    version: row.version,
  };
}

function where(eb: Where, f: HostFilter): Expression<SqlBool>[] {
  const conditions = poolConditions(eb, f);
  if (f.state !== undefined) conditions.push(oneOrMany(eb, 'state', f.state));
  if (f.clusterId !== undefined) conditions.push(eb('cluster_id', '=', f.clusterId));
  return conditions;
}

export function createHostRepository(exec: Executor): HostRepository {
  return new SqlPoolRepository<HostRecord, HostFilter>(exec, {
    table: 'hosts',
    pool: 'host',
    noun: 'host',
    nameScope: 'global',
    toRow,
    fromRow: (row: Row) => fromRow(row as unknown as HostsTable),
    where,
  });
}
