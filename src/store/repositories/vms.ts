import type { Expression, SqlBool } from 'kysely';
import type { ObjectLock } from '../../domain/object.js';
import type { Template } from '../../domain/template/types.js';
import type { VmRecord } from '../../domain/vm/record.js';
import { fromFlag, fromJson, toFlag, toJson } from '../codec.js';
import type { Executor } from '../executor.js';
import type { VmsTable } from '../schema.js';
import { ownedToColumns } from './owned.js';
import { oneOrMany, ownedConditions, SqlPoolRepository } from './pool.js';
import type { RecordCache } from './pool.js';
import type { OwnedFilter, PoolRepository, Row, Where } from './pool.js';

export interface VmFilter extends OwnedFilter {
  readonly state?: number | readonly number[];
  /** OpenNebula's state filter -1: every state but this one (DONE). */
  readonly stateNot?: number;
  readonly lcmState?: number | readonly number[];
  readonly hostId?: number;
  /** Only VMs flagged (or not) for rescheduling. */
  readonly resched?: boolean;
}

/** The few columns monitoring needs per report (no template decoded, nothing cached). */
export interface VmPlacement {
  readonly id: number;
  readonly state: number;
  readonly lcmState: number;
}

export interface VmRepository extends PoolRepository<VmRecord, VmFilter> {
  /** VMs on a host in these states: id and states only. */
  placedOn(hostId: number, states: readonly number[]): Promise<VmPlacement[]>;
}

function toRow(r: Omit<VmRecord, 'version'>): Omit<VmsTable, 'version'> {
  return {
    ...ownedToColumns(r),
    state: r.state,
    lcm_state: r.lcmState,
    prev_state: r.prevState,
    prev_lcm_state: r.prevLcmState,
    resched: toFlag(r.resched),
    stime: r.stime,
    etime: r.etime,
    deploy_id: r.deployId,
    last_poll: r.lastPoll,
    monitoring: toJson(r.monitoring),
    user_template: toJson(r.userTemplate),
    host_id: r.hostId,
  };
}

// Spelled out rather than spread from ownedFromColumns: this runs for every row of a 100k list.
function fromRow(row: VmsTable): VmRecord {
  return {
    id: row.id,
    uid: row.uid,
    gid: row.gid,
    name: row.name,
    permissions: row.permissions,
    lock: row.lock === null ? null : fromJson<ObjectLock>(row.lock),
    template: fromJson<Template>(row.template),
    version: row.version,
    state: row.state,
    lcmState: row.lcm_state,
    prevState: row.prev_state,
    prevLcmState: row.prev_lcm_state,
    resched: fromFlag(row.resched),
    stime: row.stime,
    etime: row.etime,
    deployId: row.deploy_id,
    lastPoll: row.last_poll,
    monitoring: fromJson<Record<string, string>>(row.monitoring),
    userTemplate: fromJson<Template>(row.user_template),
    hostId: row.host_id,
  };
}

function where(eb: Where, f: VmFilter): Expression<SqlBool>[] {
  const conditions = ownedConditions(eb, f);
  if (f.state !== undefined) conditions.push(oneOrMany(eb, 'state', f.state));
  if (f.stateNot !== undefined) conditions.push(eb('state', '<>', f.stateNot));
  if (f.lcmState !== undefined) conditions.push(oneOrMany(eb, 'lcm_state', f.lcmState));
  if (f.hostId !== undefined) conditions.push(eb('host_id', '=', f.hostId));
  if (f.resched !== undefined) conditions.push(eb('resched', '=', toFlag(f.resched)));
  return conditions;
}

export function createVmRepository(exec: Executor, cache?: RecordCache<VmRecord>): VmRepository {
  const pool = new SqlPoolRepository<VmRecord, VmFilter>(
    exec,
    {
      table: 'vms',
      pool: 'vm',
      noun: 'VM',
      nameScope: 'none',
      toRow: (r) => toRow(r),
      fromRow: (row: Row) => fromRow(row as unknown as VmsTable),
      where,
    },
    cache,
  );
  return Object.assign(pool, {
    async placedOn(hostId: number, states: readonly number[]): Promise<VmPlacement[]> {
      if (states.length === 0) return [];
      const rows = await exec.db
        .selectFrom('vms')
        .select(['id', 'state', 'lcm_state'])
        .where('host_id', '=', hostId)
        .where('state', 'in', [...states])
        .orderBy('id')
        .execute();
      return rows.map((r) => ({ id: Number(r.id), state: Number(r.state), lcmState: Number(r.lcm_state) }));
    },
  });
}
