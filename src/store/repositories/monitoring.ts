import { sql, type Kysely } from 'kysely';
import { NimbusError } from '../../domain/errors.js';
import {
  bucketStart,
  downsample,
  type MonitoringKind,
  type TimedFigures,
} from '../../domain/monitoring/index.js';
import { fromJson, toJson } from '../codec.js';
import { StoreErrorCode } from '../errors.js';
import type { Executor } from '../executor.js';
import type { Database } from '../schema.js';
import { chunk } from './pool.js';

/** A raw sample (resolution 0) of one host or VM. */
export interface MonitoringSample extends TimedFigures {
  readonly objectId: number;
}

export interface MonitoringRange {
  /** Epoch s, inclusive. */
  readonly since: number;
  /** Epoch s, inclusive; absent: up to the newest. */
  readonly until?: number | undefined;
  /** 0 (default) for raw samples, else the bucket size in seconds. */
  readonly resolution?: number | undefined;
}

export interface CompactionResult {
  /** Raw samples folded and deleted. */
  readonly samples: number;
  /** Buckets written (new or merged). */
  readonly buckets: number;
}

/**
 * Monitoring samples of hosts and VMs (`host_monitoring`, `vm_monitoring`): raw samples at
 * resolution 0, downsampled buckets at resolution = their seconds (docs/decisions/monitoring.md).
 */
export interface MonitoringRepository {
  /**
   * Raw samples, in multi-row statements; a sample already stored for (object, ts) is ignored
   * (an agent re-sending a report). Returns how many were new.
   */
  insert(kind: MonitoringKind, samples: readonly MonitoringSample[]): Promise<number>;
  /** Samples or buckets of one object in a time range, oldest first. */
  range(kind: MonitoringKind, objectId: number, range: MonitoringRange): Promise<TimedFigures[]>;
  /** The newest raw sample of each object (of these objects, when given), by object id. */
  latest(kind: MonitoringKind, objectIds?: readonly number[]): Promise<MonitoringSample[]>;
  /**
   * Folds raw samples older than `olderThan` into buckets of `bucketS` (merged into a bucket
   * already stored) and deletes them, at most 20,000 samples per batch, each batch in one
   * transaction.
   * A batch that meets a concurrent compaction fails with CONFLICT and changes nothing.
   */
  compact(kind: MonitoringKind, options: { olderThan: number; bucketS: number }): Promise<CompactionResult>;
  /** Deletes rows of one resolution (absent: every bucket resolution) older than `olderThan`. */
  expire(
    kind: MonitoringKind,
    options: { olderThan: number; resolution?: number | undefined },
  ): Promise<number>;
  /** Every sample and bucket of one object (a host or VM that is gone). */
  deleteObject(kind: MonitoringKind, objectId: number): Promise<number>;
}

const TABLES = { host: 'host_monitoring', vm: 'vm_monitoring' } as const;

/**
 * Both tables have the same columns (MonitoringTable); queries are typed against one of them so
 * Kysely does not have to carry a union of table names through every clause.
 */
type MonitoringTableName = 'vm_monitoring';

function tableOf(kind: MonitoringKind): MonitoringTableName {
  return TABLES[kind] as MonitoringTableName;
}

/** 4 parameters a row: far under SQLite's 32,766 and PostgreSQL's 65,535 per statement. */
const ROWS_PER_INSERT = 1_000;
/** Ids bound in one IN list. */
const IDS_PER_STATEMENT = 5_000;
/** Raw samples folded in one compaction transaction (bounds memory and the write lock's hold). */
const SAMPLES_PER_COMPACTION = 20_000;

interface DataRow {
  readonly object_id: number | string;
  readonly ts: number | string;
  readonly data: string;
}

function sampleOf(row: DataRow): MonitoringSample {
  return {
    objectId: Number(row.object_id),
    ts: Number(row.ts),
    data: fromJson<Record<string, unknown>>(row.data),
  };
}

/** Another compaction (a second nimbusd on the same PostgreSQL) wrote the same buckets. */
function conflict(what: string): NimbusError {
  return new NimbusError(
    StoreErrorCode.CONFLICT,
    `${what} by a concurrent compaction; this batch was rolled back and the next pass folds its samples`,
  );
}

async function insertRows(
  db: Kysely<Database>,
  table: MonitoringTableName,
  rows: readonly { object_id: number; resolution: number; ts: number; data: string }[],
): Promise<number> {
  let inserted = 0;
  for (const part of chunk(rows, ROWS_PER_INSERT)) {
    const r = await db
      .insertInto(table)
      .values(part)
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    inserted += Number(r.numInsertedOrUpdatedRows ?? 0);
  }
  return inserted;
}

/** Groups (object_id, count) into id lists of at most SAMPLES_PER_COMPACTION samples each. */
function compactionBatches(
  counts: readonly { object_id: number | string; n: number | string | bigint }[],
): number[][] {
  const batches: number[][] = [];
  let ids: number[] = [];
  let samples = 0;
  for (const c of counts) {
    const n = Number(c.n);
    if (ids.length > 0 && (samples + n > SAMPLES_PER_COMPACTION || ids.length >= IDS_PER_STATEMENT)) {
      batches.push(ids);
      ids = [];
      samples = 0;
    }
    ids.push(Number(c.object_id));
    samples += n;
  }
  if (ids.length > 0) batches.push(ids);
  return batches;
}

async function compactBatch(
  db: Kysely<Database>,
  kind: MonitoringKind,
  ids: readonly number[],
  olderThan: number,
  bucketS: number,
): Promise<CompactionResult> {
  const table = tableOf(kind);
  // Delete first and fold exactly what was deleted: a sample arriving meanwhile is never lost.
  const deleted = await db
    .deleteFrom(table)
    .where('resolution', '=', 0)
    .where('ts', '<', olderThan)
    .where('object_id', 'in', ids)
    .returning(['object_id', 'ts', 'data'])
    .execute();
  if (deleted.length === 0) return { samples: 0, buckets: 0 };
  const byObject = new Map<number, TimedFigures[]>();
  let first = Infinity;
  let last = -Infinity;
  for (const row of deleted) {
    const s = sampleOf(row);
    first = Math.min(first, s.ts);
    last = Math.max(last, s.ts);
    const list = byObject.get(s.objectId);
    if (list === undefined) byObject.set(s.objectId, [s]);
    else list.push(s);
  }
  const stored = new Map<string, string>();
  for (const part of chunk([...byObject.keys()], IDS_PER_STATEMENT)) {
    const rows = await db
      .selectFrom(table)
      .select(['object_id', 'ts', 'data'])
      .where('resolution', '=', bucketS)
      .where('object_id', 'in', part)
      .where('ts', '>=', bucketStart(first, bucketS))
      .where('ts', '<=', last)
      .execute();
    for (const row of rows) stored.set(`${Number(row.object_id)}:${Number(row.ts)}`, row.data);
  }

  const fresh: { object_id: number; resolution: number; ts: number; data: string }[] = [];
  let merged = 0;
  for (const [objectId, samples] of byObject) {
    const starts = new Set(samples.map((s) => bucketStart(s.ts, bucketS)));
    const earlier: TimedFigures[] = [];
    for (const ts of starts) {
      const text = stored.get(`${objectId}:${ts}`);
      if (text !== undefined) earlier.push({ ts, data: fromJson<Record<string, unknown>>(text) });
    }
    // A stored bucket goes first in its group: its SAMPLES weigh in, the newer samples' counters win.
    for (const bucket of downsample([...earlier, ...samples], bucketS)) {
      const key = `${objectId}:${bucket.ts}`;
      const previous = stored.get(key);
      const data = toJson(bucket.data);
      if (previous === undefined) {
        fresh.push({ object_id: objectId, resolution: bucketS, ts: bucket.ts, data });
        continue;
      }
      const r = await db
        .updateTable(table)
        .set({ data })
        .where('object_id', '=', objectId)
        .where('resolution', '=', bucketS)
        .where('ts', '=', bucket.ts)
        .where('data', '=', previous)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) {
        throw conflict(`${kind} ${objectId}'s monitoring bucket at ${bucket.ts} was changed`);
      }
      merged++;
    }
  }
  const inserted = await insertRows(db, table, fresh);
  if (inserted !== fresh.length) {
    throw conflict(
      `${fresh.length - inserted} of ${fresh.length} new ${kind} monitoring buckets were written`,
    );
  }
  return { samples: deleted.length, buckets: merged + inserted };
}

export function createMonitoringRepository(exec: Executor): MonitoringRepository {
  return {
    async insert(kind, samples) {
      if (samples.length === 0) return 0;
      const rows = samples.map((s) => ({
        object_id: s.objectId,
        resolution: 0,
        ts: s.ts,
        data: toJson(s.data),
      }));
      const table = tableOf(kind);
      return rows.length <= ROWS_PER_INSERT
        ? insertRows(exec.db, table, rows)
        : exec.atomic((db) => insertRows(db, table, rows));
    },

    async range(kind, objectId, range) {
      let query = exec.db
        .selectFrom(tableOf(kind))
        .select(['ts', 'data'])
        .where('object_id', '=', objectId)
        .where('resolution', '=', range.resolution ?? 0)
        .where('ts', '>=', range.since);
      if (range.until !== undefined) query = query.where('ts', '<=', range.until);
      const rows = await query.orderBy('ts').execute();
      return rows.map((row) => ({ ts: Number(row.ts), data: fromJson<Record<string, unknown>>(row.data) }));
    },

    async latest(kind, objectIds) {
      const table = sql.table(tableOf(kind));
      const query = (ids: readonly number[] | undefined) => sql<DataRow>`
        select m.object_id, m.ts, m.data from ${table} m
        join (
          select object_id, max(ts) as ts from ${table}
          where resolution = 0 ${ids === undefined ? sql`` : sql`and object_id in (${sql.join(ids)})`}
          group by object_id
        ) l on l.object_id = m.object_id and l.ts = m.ts
        where m.resolution = 0
        order by m.object_id`;
      if (objectIds === undefined) return (await query(undefined).execute(exec.db)).rows.map(sampleOf);
      const out: MonitoringSample[] = [];
      for (const part of chunk(objectIds, IDS_PER_STATEMENT)) {
        out.push(...(await query(part).execute(exec.db)).rows.map(sampleOf));
      }
      return out.sort((a, b) => a.objectId - b.objectId);
    },

    async compact(kind, { olderThan, bucketS }) {
      if (!Number.isInteger(bucketS) || bucketS <= 0) {
        throw new RangeError(`a bucket is a whole number of seconds above 0, got ${bucketS}`);
      }
      const counts = await exec.db
        .selectFrom(tableOf(kind))
        .select((eb) => ['object_id', eb.fn.countAll<number>().as('n')])
        .where('resolution', '=', 0)
        .where('ts', '<', olderThan)
        .groupBy('object_id')
        .orderBy('object_id')
        .execute();
      let samples = 0;
      let buckets = 0;
      for (const ids of compactionBatches(counts)) {
        const r = await exec.atomic((db) => compactBatch(db, kind, ids, olderThan, bucketS));
        samples += r.samples;
        buckets += r.buckets;
      }
      return { samples, buckets };
    },

    async expire(kind, { olderThan, resolution }) {
      const r = await exec.db
        .deleteFrom(tableOf(kind))
        .where('resolution', resolution === undefined ? '>' : '=', resolution ?? 0)
        .where('ts', '<', olderThan)
        .executeTakeFirst();
      return Number(r.numDeletedRows);
    },

    async deleteObject(kind, objectId) {
      const r = await exec.db.deleteFrom(tableOf(kind)).where('object_id', '=', objectId).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}
