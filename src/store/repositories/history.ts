import { sql } from 'kysely';
import type { Expression, Kysely, SqlBool } from 'kysely';
import { NimbusError } from '../../domain/errors.js';
import type { HistoryRecord } from '../../domain/vm/record.js';
import { notFound, StoreErrorCode, translateDriverErrors } from '../errors.js';
import type { Executor } from '../executor.js';
import type { Database, HistoryTable } from '../schema.js';

/** History records: one per placement of a VM (reference §2.2 HISTORY), SEQ 0, 1, 2 ... per VM. */
export interface HistoryRepository {
  /** Adds the VM's next record (SEQ = last + 1) and returns it; NOT_FOUND if the VM does not exist. */
  append(record: Omit<HistoryRecord, 'seq'>): Promise<HistoryRecord>;
  /** All records of a VM, by SEQ. */
  listByVm(vmId: number): Promise<HistoryRecord[]>;
  last(vmId: number): Promise<HistoryRecord | undefined>;
  /** Rewrites the VM's last record (times, action as the VM moves on); CONFLICT if it is no longer the last. */
  updateLast(record: HistoryRecord): Promise<void>;
  /** Rewrites record (oid, seq), last or not (a migration closes the previous one); NOT_FOUND if absent. */
  update(record: HistoryRecord): Promise<void>;
  /** Accounting: records matching the filter, by VM then SEQ. */
  list(filter: HistoryFilter): Promise<HistoryRecord[]>;
  /**
   * The last record of each of these VMs (VMs without records are absent). Outside transactions
   * the decoded records are cached under (vm, seq, rev), so listing thousands of VMs reads three
   * integers per VM once the records are known.
   */
  lastOf(vmIds: readonly number[]): Promise<Map<number, HistoryRecord>>;
}

/** Last records by VM, under the (seq, rev) they were read at; see `lastOf`. */
export class LastHistoryCache {
  readonly #entries = new Map<number, { seq: number; rev: number; record: HistoryRecord }>();
  constructor(private readonly capacity = 200_000) {}

  get(vmId: number, seq: number, rev: number): HistoryRecord | undefined {
    const e = this.#entries.get(vmId);
    return e !== undefined && e.seq === seq && e.rev === rev ? e.record : undefined;
  }

  put(vmId: number, seq: number, rev: number, record: HistoryRecord): void {
    if (this.#entries.size >= this.capacity) this.#entries.clear();
    this.#entries.set(vmId, { seq, rev, record });
  }
}

/** VM ids per statement; a longer list is read as one id range and filtered here. */
const LAST_OF_CHUNK = 5_000;

export interface HistoryFilter {
  readonly vmIds?: readonly number[];
  readonly hostId?: number;
  readonly uid?: number;
  readonly gid?: number;
  /** Records still open or ended at or after this epoch (one.vmpool.accounting start_time). */
  readonly from?: number;
  /** Records started at or before this epoch (end_time). */
  readonly to?: number;
}

function toRow(r: HistoryRecord): Omit<HistoryTable, 'rev'> {
  return {
    vm_id: r.oid,
    seq: r.seq,
    hostname: r.hostname,
    hid: r.hid,
    cid: r.cid,
    stime: r.stime,
    etime: r.etime,
    vm_mad: r.vmMad,
    tm_mad: r.tmMad,
    ds_id: r.dsId,
    pstime: r.pstime,
    petime: r.petime,
    rstime: r.rstime,
    retime: r.retime,
    estime: r.estime,
    eetime: r.eetime,
    action: r.action,
    uid: r.uid,
    gid: r.gid,
    request_id: r.requestId,
  };
}

function fromRow(row: Omit<HistoryTable, 'rev'>): HistoryRecord {
  return {
    oid: row.vm_id,
    seq: row.seq,
    hostname: row.hostname,
    hid: row.hid,
    cid: row.cid,
    stime: row.stime,
    etime: row.etime,
    vmMad: row.vm_mad,
    tmMad: row.tm_mad,
    dsId: row.ds_id,
    pstime: row.pstime,
    petime: row.petime,
    rstime: row.rstime,
    retime: row.retime,
    estime: row.estime,
    eetime: row.eetime,
    action: row.action,
    uid: row.uid,
    gid: row.gid,
    requestId: row.request_id,
  };
}

export function createHistoryRepository(exec: Executor, cache?: LastHistoryCache): HistoryRepository {
  const lastSeq = async (db: Kysely<Database>, vmId: number): Promise<number | null> => {
    const row = await db
      .selectFrom('history')
      .select((eb) => eb.fn.max('seq').as('seq'))
      .where('vm_id', '=', vmId)
      .executeTakeFirst();
    return row?.seq ?? null;
  };

  return {
    append(record) {
      return exec.atomic(async (db) => {
        const seq = ((await lastSeq(db, record.oid)) ?? -1) + 1;
        const full: HistoryRecord = { ...record, seq };
        await translateDriverErrors(() => db.insertInto('history').values(toRow(full)).execute(), {
          onForeignKey: () => notFound('VM', record.oid),
          onUnique: () =>
            new NimbusError(
              StoreErrorCode.CONFLICT,
              `history record ${seq} of VM ${record.oid} was added by another request; retry`,
            ),
        });
        return full;
      });
    },

    async listByVm(vmId) {
      const rows = await exec.db
        .selectFrom('history')
        .selectAll()
        .where('vm_id', '=', vmId)
        .orderBy('seq')
        .execute();
      return rows.map(fromRow);
    },

    async last(vmId) {
      const row = await exec.db
        .selectFrom('history')
        .selectAll()
        .where('vm_id', '=', vmId)
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row === undefined ? undefined : fromRow(row);
    },

    async updateLast(record) {
      await exec.atomic(async (db) => {
        const { vm_id, seq, ...columns } = toRow(record);
        const result = await db
          .updateTable('history')
          .set({ ...columns, rev: sql<number>`rev + 1` })
          .where('vm_id', '=', vm_id)
          .where('seq', '=', seq)
          .where(({ not, exists, selectFrom }) =>
            not(
              exists(
                selectFrom('history as later')
                  .select('later.seq')
                  .where('later.vm_id', '=', vm_id)
                  .where('later.seq', '>', seq),
              ),
            ),
          )
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) > 0) return;
        const last = await lastSeq(db, vm_id);
        if (last === null || last < seq) throw notFound(`history record ${seq} of VM`, vm_id);
        throw new NimbusError(
          StoreErrorCode.CONFLICT,
          `history record ${seq} of VM ${vm_id} is no longer the last one (${last} is); retry`,
        );
      });
    },

    async update(record) {
      const { vm_id, seq, ...columns } = toRow(record);
      const result = await exec.db
        .updateTable('history')
        .set({ ...columns, rev: sql<number>`rev + 1` })
        .where('vm_id', '=', vm_id)
        .where('seq', '=', seq)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) throw notFound(`history record ${seq} of VM`, vm_id);
    },

    async lastOf(vmIds) {
      const out = new Map<number, HistoryRecord>();
      if (vmIds.length === 0) return out;
      const wanted = new Set(vmIds);
      const sorted = [...wanted].sort((a, b) => a - b);
      const keyQuery = exec.db.selectFrom('history').select(['vm_id', 'seq', 'rev']);
      const keys =
        sorted.length > LAST_OF_CHUNK
          ? await keyQuery
              .where('vm_id', '>=', sorted[0]!)
              .where('vm_id', '<=', sorted[sorted.length - 1]!)
              .execute()
          : await keyQuery.where('vm_id', 'in', sorted).execute();
      const last = new Map<number, { seq: number; rev: number }>();
      for (const k of keys) {
        const vm = Number(k.vm_id);
        if (!wanted.has(vm)) continue;
        const seen = last.get(vm);
        if (seen === undefined || Number(k.seq) > seen.seq)
          last.set(vm, { seq: Number(k.seq), rev: Number(k.rev) });
      }
      const missing: number[] = [];
      for (const [vm, k] of last) {
        const hit = cache?.get(vm, k.seq, k.rev);
        if (hit !== undefined) out.set(vm, hit);
        else missing.push(vm);
      }
      for (let i = 0; i < missing.length; i += LAST_OF_CHUNK) {
        const rows = await exec.db
          .selectFrom('history')
          .selectAll()
          .where('vm_id', 'in', missing.slice(i, i + LAST_OF_CHUNK))
          .execute();
        for (const row of rows) {
          const vm = Number(row.vm_id);
          const k = last.get(vm);
          if (k === undefined || Number(row.seq) !== k.seq) continue;
          const record = fromRow(row);
          out.set(vm, record);
          // Only reads outside transactions see committed rows alone, so only they fill the cache.
          cache?.put(vm, k.seq, Number(row.rev), record);
        }
      }
      return out;
    },
    async list(filter) {
      const rows = await exec.db
        .selectFrom('history')
        .selectAll()
        .where((eb) => {
          const conditions: Expression<SqlBool>[] = [];
          if (filter.vmIds !== undefined) {
            conditions.push(filter.vmIds.length > 0 ? eb('vm_id', 'in', filter.vmIds) : eb.lit(false));
          }
          if (filter.hostId !== undefined) conditions.push(eb('hid', '=', filter.hostId));
          if (filter.uid !== undefined) conditions.push(eb('uid', '=', filter.uid));
          if (filter.gid !== undefined) conditions.push(eb('gid', '=', filter.gid));
          if (filter.from !== undefined) {
            conditions.push(eb.or([eb('etime', '=', 0), eb('etime', '>=', filter.from)]));
          }
          if (filter.to !== undefined) conditions.push(eb('stime', '<=', filter.to));
          return eb.and(conditions);
        })
        .orderBy('vm_id')
        .orderBy('seq')
        .execute();
      return rows.map(fromRow);
    },
  };
}
