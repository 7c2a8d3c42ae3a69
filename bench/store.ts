/**
 * Store benchmark: insert N VMs (default 100,000) with realistic templates in transactions of
 * 1,000, read them back through the repository in one list and in pages of 10,000, and compare
 * with the driver's own query of the same rows (better-sqlite3 prepare().all(), pg query) — the
 * baseline; the ratio is repository list / raw query.
 *
 *   node --import tsx bench/store.ts [--db sqlite|postgres://…]... [--vms N]
 *
 * Default: SQLite, plus PostgreSQL when NIMBUS_BENCH_PG_URL is set. Each PostgreSQL run uses a
 * database of its own on that server, dropped afterwards. Human lines first; the last line is
 * one JSON object.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import type { VmRecord } from '../src/domain/vm/record.js';
import { openStore } from '../src/store/index.js';
import type { NewRecord, Store, StoreOptions } from '../src/store/index.js';
import { benchVmTemplate } from './lib/vm-template.js';

const BATCH = 1_000;
const PAGE = 10_000;
const READ_RUNS = 3;

interface Figures {
  insert_ms: number;
  read_all_ms: number;
  read_paged_ms: number;
  /** The same list again: the store's record cache answers from decoded rows. */
  read_all_warm_ms: number;
  raw_read_ms: number;
  ratio: number;
}

function parseArgs(argv: readonly string[]): { targets: string[]; vms: number } {
  const targets: string[] = [];
  let vms = 100_000;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = argv[i + 1];
    if ((arg === '--db' || arg === '--vms') && value === undefined) throw new Error(`${arg} needs a value`);
    if (arg === '--db') targets.push(value as string);
    else if (arg === '--vms') vms = Number(value);
    else
      throw new Error(
        `unknown argument ${arg}; usage: bench/store.ts [--db sqlite|postgres://…]... [--vms N]`,
      );
    i++;
  }
  if (!Number.isInteger(vms) || vms <= 0) throw new Error('--vms must be a positive integer');
  if (targets.length === 0) {
    targets.push('sqlite');
    if (process.env.NIMBUS_BENCH_PG_URL) targets.push(process.env.NIMBUS_BENCH_PG_URL);
  }
  for (const t of targets) {
    if (t !== 'sqlite' && !/^postgres(ql)?:\/\//.test(t))
      throw new Error(`--db ${t}: expected sqlite or a postgres:// URL`);
  }
  return { targets, vms };
}

/** A VM as instantiate leaves it: two disks, two NICs, context with a key and a script (~1.6 KB of JSON). */
function benchVm(i: number): NewRecord<VmRecord> {
  const template = benchVmTemplate(i);
  return {
    uid: i % 50,
    gid: i % 5,
    name: `web-${i}`,
    permissions: 0o640,
    lock: null,
    template,
    state: 3,
    lcmState: 3,
    prevState: 3,
    prevLcmState: 3,
    resched: false,
    stime: 1_700_000_000 + i,
    etime: 0,
    deployId: `one-${i}`,
    lastPoll: 1_700_000_000 + i,
    monitoring: { CPU: '3.5', MEMORY: '1048576', NETRX: '123456', NETTX: '654321', TIMESTAMP: '1700000000' },
    userTemplate: {
      DESCRIPTION: ['web tier'],
      LOGO: ['images/logos/debian.png'],
      SCHED_REQUIREMENTS: ['ID != 7'],
    },
    hostId: i % 20,
  };
}

// A full collection before each timed run, so one run does not pay for the garbage of the last.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

async function timed<T>(work: () => Promise<T> | T): Promise<[number, T]> {
  const start = performance.now();
  const result = await work();
  return [performance.now() - start, result];
}

async function repeat(runs: number, work: () => Promise<number>): Promise<number[]> {
  const times: number[] = [];
  for (let run = 0; run < runs; run++) times.push(await work());
  return times;
}

async function medianOf(runs: number, work: () => Promise<number> | number, expect: number): Promise<number> {
  const times: number[] = [];
  for (let run = 0; run < runs; run++) {
    collectGarbage();
    const [ms, count] = await timed(work);
    if (count !== expect) throw new Error(`read ${count} rows, expected ${expect}`);
    times.push(ms);
  }
  return median(times);
}

async function insertVms(store: Store, vms: number): Promise<number> {
  let lastReported = -1;
  const [ms] = await timed(async () => {
    for (let done = 0; done < vms; done += BATCH) {
      const records = Array.from({ length: Math.min(BATCH, vms - done) }, (_, k) => benchVm(done + k));
      await store.transaction((tx) => tx.vms.insertMany(records));
      const percent = Math.floor(((done + records.length) * 100) / vms / 10) * 10;
      if (percent !== lastReported) {
        process.stderr.write(`  inserting: ${percent}% (${done + records.length}/${vms})\n`);
        lastReported = percent;
      }
    }
  });
  return ms;
}

async function readPaged(store: Store): Promise<number> {
  let count = 0;
  let afterId: number | undefined;
  for (;;) {
    const page = await store.vms.list(undefined, {
      limit: PAGE,
      ...(afterId === undefined ? {} : { afterId }),
    });
    count += page.items.length;
    if (page.nextAfterId === null) return count;
    afterId = page.nextAfterId;
  }
}

async function benchStore(
  label: string,
  options: StoreOptions,
  vms: number,
  rawRead: () => Promise<number> | number,
): Promise<Figures> {
  const store = await openStore(options);
  try {
    const insertMs = await insertVms(store, vms);
    console.log(
      `${label}: inserted ${vms} VMs in ${insertMs.toFixed(0)} ms (${((vms / insertMs) * 1000).toFixed(0)} VMs/s)`,
    );
    // Cold reads: a fresh store per run, so every row is decoded (the record cache is empty).
    const cold = (read: (s: Store) => Promise<number>) => async () => {
      const fresh = await openStore(options);
      try {
        return await medianOf(1, () => read(fresh), vms);
      } finally {
        await fresh.close();
      }
    };
    const readAllMs = median(
      await repeat(
        READ_RUNS,
        cold(async (s) => (await s.vms.list()).items.length),
      ),
    );
    const readPagedMs = median(await repeat(READ_RUNS, cold(readPaged)));
    await store.vms.list();
    const warmMs = await medianOf(READ_RUNS, async () => (await store.vms.list()).items.length, vms);
    const rawMs = await medianOf(READ_RUNS, rawRead, vms);
    const figures: Figures = {
      insert_ms: Math.round(insertMs),
      read_all_ms: Math.round(readAllMs),
      read_paged_ms: Math.round(readPagedMs),
      read_all_warm_ms: Math.round(warmMs),
      raw_read_ms: Math.round(rawMs),
      ratio: Number((readAllMs / rawMs).toFixed(2)),
    };
    console.log(
      `${label}: read all ${figures.read_all_ms} ms, in pages of ${PAGE} ${figures.read_paged_ms} ms, ` +
        `again with the record cache warm ${figures.read_all_warm_ms} ms, ` +
        `raw driver query ${figures.raw_read_ms} ms -> repository/raw ${figures.ratio}x ` +
        '(the difference is mostly JSON.parse of templates, which the raw query leaves as text)',
    );
    return figures;
  } finally {
    await store.close();
  }
}

async function benchSqlite(vms: number): Promise<Figures> {
  const dir = mkdtempSync(join(tmpdir(), 'nimbus-bench-'));
  const path = join(dir, 'nimbus.db');
  let raw: BetterSqlite3.Database | undefined;
  try {
    return await benchStore('sqlite', { kind: 'sqlite', path }, vms, () => {
      raw ??= new BetterSqlite3(path, { readonly: true });
      return raw.prepare('SELECT * FROM vms ORDER BY id').all().length;
    });
  } finally {
    raw?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchPostgres(serverUrl: string, vms: number): Promise<Figures> {
  const name = `nimbus_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect().catch((error: Error) => {
    throw new Error(`PostgreSQL at ${serverUrl} is unreachable: ${error.message}`);
  });
  await admin.query(`drop database if exists ${name}`);
  await admin.query(`create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const raw = new pg.Client({ connectionString: url.toString() });
  try {
    await raw.connect();
    return await benchStore('postgres', { kind: 'postgres', url: url.toString() }, vms, async () => {
      const result = await raw.query('SELECT * FROM vms ORDER BY id');
      return result.rows.length;
    });
  } finally {
    await raw.end();
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

const { targets, vms } = parseArgs(process.argv.slice(2));
const result: { bench: 'store'; vms: number; sqlite: Figures | null; postgres: Figures | null } = {
  bench: 'store',
  vms,
  sqlite: null,
  postgres: null,
};
for (const target of targets) {
  if (target === 'sqlite') result.sqlite = await benchSqlite(vms);
  else result.postgres = await benchPostgres(target, vms);
}
console.log(JSON.stringify(result));
