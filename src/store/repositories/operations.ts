import type { Executor } from '../executor.js';
import type { VmOperationsTable } from '../schema.js';

/** A driver operation the controller has sent and waits for (see VmOperationsTable). */
export interface VmOperationRow {
  readonly opId: string;
  readonly vmId: number;
  readonly hostId: number;
  readonly driver: 'vmm' | 'tm';
  readonly op: string;
  readonly args: unknown;
  readonly action: string;
  /** Epoch ms. */
  readonly started: number;
  /** Epoch ms. */
  readonly deadline: number;
  /**
   * `step`: its result settles the VM's pending step; `chain`: runs before the step's operation
   * and its failure fails the step; `fire`: its result is only logged; `abandoned`: superseded
   * (recover, a hard override), a late result is ignored.
   */
  readonly state: VmOperationState;
}

export type VmOperationState = 'step' | 'chain' | 'fire' | 'abandoned';
const STATES: readonly string[] = ['step', 'chain', 'fire', 'abandoned'];

export interface VmOperationRepository {
  insert(row: VmOperationRow): Promise<void>;
  get(opId: string): Promise<VmOperationRow | undefined>;
  /** Operations of a VM, oldest first. */
  byVm(vmId: number): Promise<VmOperationRow[]>;
  /** Operations waiting on a host, oldest first (re-sent when its agent connects). */
  byHost(hostId: number): Promise<VmOperationRow[]>;
  /** Every operation, oldest first (start-up: re-send, time out). */
  all(): Promise<VmOperationRow[]>;
  /** Operations whose deadline has passed (epoch ms), oldest first. */
  due(nowMs: number): Promise<VmOperationRow[]>;
  /** Removes it; false when it was already gone (a duplicate result). */
  delete(opId: string): Promise<boolean>;
  /** Marks every operation of the VM abandoned; returns the ones that were not already. */
  abandonVm(vmId: number): Promise<VmOperationRow[]>;
  updateArgs(opId: string, args: unknown): Promise<void>;
}

function toRow(r: VmOperationRow): VmOperationsTable {
  return {
    op_id: r.opId,
    vm_id: r.vmId,
    host_id: r.hostId,
    driver: r.driver,
    op: r.op,
    args: JSON.stringify(r.args ?? {}),
    action: r.action,
    started: r.started,
    deadline: r.deadline,
    state: r.state,
  };
}

function fromRow(row: VmOperationsTable): VmOperationRow {
  return {
    opId: row.op_id,
    vmId: Number(row.vm_id),
    hostId: Number(row.host_id),
    driver: row.driver === 'tm' ? 'tm' : 'vmm',
    op: row.op,
    args: JSON.parse(row.args) as unknown,
    action: row.action,
    started: Number(row.started),
    deadline: Number(row.deadline),
    state: (STATES.includes(row.state) ? row.state : 'abandoned') as VmOperationState,
  };
}

export function createVmOperationRepository(exec: Executor): VmOperationRepository {
  const select = () => exec.db.selectFrom('vm_operations').selectAll();
  return {
    async insert(row) {
      await exec.db.insertInto('vm_operations').values(toRow(row)).execute();
    },
    async get(opId) {
      const row = await select().where('op_id', '=', opId).executeTakeFirst();
      return row === undefined ? undefined : fromRow(row);
    },
    async byVm(vmId) {
      return (await select().where('vm_id', '=', vmId).orderBy('started').orderBy('op_id').execute()).map(
        fromRow,
      );
    },
    async byHost(hostId) {
      return (await select().where('host_id', '=', hostId).orderBy('started').orderBy('op_id').execute()).map(
        fromRow,
      );
    },
    async all() {
      return (await select().orderBy('started').orderBy('op_id').execute()).map(fromRow);
    },
    async due(nowMs) {
      return (
        await select().where('deadline', '<=', nowMs).orderBy('started').orderBy('op_id').execute()
      ).map(fromRow);
    },
    async delete(opId) {
      const r = await exec.db.deleteFrom('vm_operations').where('op_id', '=', opId).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },
    async abandonVm(vmId) {
      const live = (await select().where('vm_id', '=', vmId).where('state', '<>', 'abandoned').execute()).map(
        fromRow,
      );
      if (live.length > 0) {
        await exec.db
          .updateTable('vm_operations')
          .set({ state: 'abandoned' })
          .where('vm_id', '=', vmId)
          .where('state', '<>', 'abandoned')
          .execute();
      }
      return live;
    },
    async updateArgs(opId, args) {
      await exec.db
        .updateTable('vm_operations')
        .set({ args: JSON.stringify(args) })
        .where('op_id', '=', opId)
        .execute();
    },
  };
}
