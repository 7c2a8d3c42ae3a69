/**
 * API benchmark: an in-process nimbusd on SQLite in a temporary directory, listening on a
 * loopback port, with 20,000 running VMs (realistic templates, one history record each) inserted
 * straight through the store.
 *
 * - `GET /api/v1/vms` (all 20,000 in one answer) over real HTTP with keep-alive, median of
 *   several runs, against the in-run baselines: the store repository's list of the same rows (no
 *   rendering) and the raw better-sqlite3 query.
 * - Authenticated request rate on a trivial read (`GET /api/v1/users/0`, HTTP Basic) with N
 *   concurrent keep-alive clients for ~3 s: requests/s and p99 latency; then the same with the
 *   credential cache off (`credentialCacheMs: 0`) for a few hundred requests, the argon2 cost.
 *
 *   node --import tsx bench/api.ts [--vms N] [--clients N] [--seconds S]
 *
 * The HTTP client runs in a worker thread (its own event loop and heap), so receiving 20 MB of
 * JSON or driving 16 connections does not slow the server it measures. Human lines first; the
 * last line is one JSON object.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import { pino } from 'pino';
import { loadConfig, type ConfigOverrides } from '../src/controller/config.js';
import { startNimbus, type RunningNimbus } from '../src/daemon.js';
import type { HistoryRecord, VmRecord } from '../src/domain/vm/record.js';
import type { NewRecord } from '../src/store/index.js';
import { benchVmTemplate } from './lib/vm-template.js';

const ADMIN_PASSWORD = 'bench-admin-pw';
const BATCH = 1_000;
const LIST_RUNS = 5;
const NOCACHE_REQUESTS = 300;
const RUNNING = 3;

function parseArgs(argv: readonly string[]): { vms: number; clients: number; seconds: number } {
  const out = { vms: 20_000, clients: 16, seconds: 3 };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], Number(argv[i + 1])];
    if (!Number.isFinite(value) || value <= 0) throw new Error(`${flag} needs a positive number`);
    if (flag === '--vms') out.vms = Math.floor(value);
    else if (flag === '--clients') out.clients = Math.floor(value);
    else if (flag === '--seconds') out.seconds = value;
    else
      throw new Error(`unknown argument ${flag}; usage: bench/api.ts [--vms N] [--clients N] [--seconds S]`);
  }
  return out;
}

/** A VM as instantiate and deploy leave it: two disks, two NICs, context, VNC (~1.6 KB of JSON). */
function benchVm(i: number, now: number): NewRecord<VmRecord> {
  const template = benchVmTemplate(i);
  return {
    uid: 0,
    gid: 0,
    name: `web-${i}`,
    permissions: 0o600,
    lock: null,
    template,
    state: RUNNING,
    lcmState: RUNNING,
    prevState: RUNNING,
    prevLcmState: RUNNING,
    resched: false,
    stime: now - 86_400 + (i % 3600),
    etime: 0,
    deployId: `one-${i}`,
    lastPoll: now,
    monitoring: { CPU: '3.5', MEMORY: '1048576', NETRX: '123456', NETTX: '654321', TIMESTAMP: String(now) },
    userTemplate: { DESCRIPTION: ['web tier'], LOGO: ['images/logos/debian.png'] },
    hostId: 0,
  };
}

function historyOf(vmId: number, stime: number): Omit<HistoryRecord, 'seq'> {
  return {
    oid: vmId,
    hostname: 'localhost',
    hid: 0,
    cid: 0,
    stime,
    etime: 0,
    vmMad: 'dummy',
    tmMad: 'qcow2',
    dsId: 0,
    pstime: stime,
    petime: stime + 5,
    rstime: stime + 5,
    retime: 0,
    estime: 0,
    eetime: 0,
    action: 0,
    uid: 0,
    gid: 0,
    requestId: 0,
  };
}

async function startBenchNimbus(home: string, overrides: ConfigOverrides): Promise<RunningNimbus> {
  const config = await loadConfig(home, { port: 0, listen: '127.0.0.1', localHost: 'dummy', ...overrides });
  return startNimbus(config, {
    adminPassword: ADMIN_PASSWORD,
    logger: pino({ level: 'silent' }),
    listen: true,
  });
}

async function insertVms(nimbus: RunningNimbus, count: number): Promise<number> {
  const now = Math.floor(Date.now() / 1000);
  const started = performance.now();
  let reported = -1;
  for (let done = 0; done < count; done += BATCH) {
    const records = Array.from({ length: Math.min(BATCH, count - done) }, (_, k) => benchVm(done + k, now));
    await nimbus.store.transaction(async (tx) => {
      const ids = await tx.vms.insertMany(records);
      for (const [k, id] of ids.entries()) await tx.history.append(historyOf(id, records[k]!.stime));
    });
    const percent = Math.floor(((done + records.length) * 10) / count) * 10;
    if (percent !== reported) {
      process.stderr.write(`  inserting VMs: ${percent}% (${done + records.length}/${count})\n`);
      reported = percent;
    }
  }
  return performance.now() - started;
}

interface HttpAnswer {
  readonly status: number;
  readonly body: Buffer;
}

function get(agent: Agent, base: URL, path: string, authorization: string): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { agent, host: base.hostname, port: base.port, path, method: 'GET', headers: { authorization } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

async function medianMs(runs: number, work: () => Promise<unknown> | unknown): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    globalThis.gc?.();
    const started = performance.now();
    await work();
    times.push(performance.now() - started);
  }
  return median(times);
}

/** `clients` keep-alive connections each sending requests back to back until the time or count runs out. */
async function load(task: LoadTask): Promise<LoadResult> {
  const base = new URL(task.url);
  const agent = new Agent({ keepAlive: true, maxSockets: task.clients });
  const latencies: number[] = [];
  const deadline = task.seconds === undefined ? Infinity : performance.now() + task.seconds * 1000;
  let issued = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: task.clients }, async () => {
      while (performance.now() < deadline && (task.requests === undefined || issued < task.requests)) {
        issued++;
        const t0 = performance.now();
        const res = await get(agent, base, task.path, task.authorization);
        if (res.status !== 200)
          throw new Error(`GET ${task.path}: ${res.status} ${res.body.toString().slice(0, 200)}`);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    rps: latencies.length / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    requests: latencies.length,
  };
}

/** One connection fetching a big list `runs` times after a checked warm-up; the median time. */
async function fetchList(task: ListTask): Promise<ListResult> {
  const base = new URL(task.url);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const first = await get(agent, base, task.path, task.authorization);
  if (first.status !== 200)
    throw new Error(`GET ${task.path}: ${first.status} ${first.body.toString().slice(0, 300)}`);
  const count = (JSON.parse(first.body.toString()) as { VM_POOL: { VM: unknown[] } }).VM_POOL.VM.length;
  const times: number[] = [];
  for (let i = 0; i < task.runs; i++) {
    const started = performance.now();
    const res = await get(agent, base, task.path, task.authorization);
    if (res.status !== 200) throw new Error(`GET ${task.path}: ${res.status}`);
    times.push(performance.now() - started);
  }
  agent.destroy();
  return { medianMs: median(times), bytes: first.body.length, count };
}

interface LoadTask {
  readonly kind: 'load';
  readonly url: string;
  readonly path: string;
  readonly authorization: string;
  readonly clients: number;
  readonly seconds?: number;
  readonly requests?: number;
}
interface LoadResult {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly requests: number;
}
interface ListTask {
  readonly kind: 'list';
  readonly url: string;
  readonly path: string;
  readonly authorization: string;
  readonly runs: number;
}
interface ListResult {
  readonly medianMs: number;
  readonly bytes: number;
  readonly count: number;
}

/** Runs a client task in a worker thread (this file, started again). */
function inClientThread(task: LoadTask): Promise<LoadResult>;
function inClientThread(task: ListTask): Promise<ListResult>;
function inClientThread(task: LoadTask | ListTask): Promise<LoadResult | ListResult> {
  return new Promise((resolve, reject) => {
    // Node 20 does not carry `--import tsx` into workers: register tsx there, then load this file.
    const source = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
      .then((tsx) => { tsx.register(); return import(${JSON.stringify(import.meta.url)}); })`;
    const worker = new Worker(source, { eval: true, workerData: task });
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`client thread exited with ${code}`));
    });
  });
}

const round = (n: number, digits = 1): number => Number(n.toFixed(digits));

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const homes: string[] = [];
  const running: RunningNimbus[] = [];
  try {
    const home = await mkdtemp(join(tmpdir(), 'nimbus-bench-api-'));
    homes.push(home);
    const nimbus = await startBenchNimbus(home, { credentialCacheMs: 60_000 });
    running.push(nimbus);
    const authorization = `Basic ${Buffer.from(`oneadmin:${ADMIN_PASSWORD}`).toString('base64')}`;

    const insertMs = await insertVms(nimbus, args.vms);
    console.log(`inserted ${args.vms} VMs (+ one history record each) in ${insertMs.toFixed(0)} ms`);

    // GET /api/v1/vms over HTTP, one keep-alive connection; the first run warms caches and checks the answer.
    const list = await inClientThread({
      kind: 'list',
      url: nimbus.url,
      path: '/api/v1/vms',
      authorization,
      runs: LIST_RUNS,
    });
    if (list.count !== args.vms)
      throw new Error(`GET /api/v1/vms listed ${list.count} VMs, expected ${args.vms}`);
    const listMs = list.medianMs;
    const listBytes = list.bytes;

    // Baselines in the same run: the repository's list of the same rows, and the raw driver query.
    const repoMs = await medianMs(LIST_RUNS, async () => {
      const page = await nimbus.store.vms.list({ stateNot: 6 });
      if (page.items.length !== args.vms) throw new Error(`repository listed ${page.items.length}`);
    });
    const raw = new BetterSqlite3(join(home, 'nimbus.db'), { readonly: true });
    const rawMs = await medianMs(LIST_RUNS, () => {
      const rows = raw.prepare('SELECT * FROM vms WHERE state <> 6 ORDER BY id').all();
      if (rows.length !== args.vms) throw new Error(`raw query listed ${rows.length}`);
    });
    raw.close();
    const rssMb = process.memoryUsage().rss / 1024 ** 2;
    console.log(
      `GET /api/v1/vms (${args.vms} VMs, ${(listBytes / 1024 ** 2).toFixed(1)} MB of JSON, HTTP keep-alive): ` +
        `median ${listMs.toFixed(0)} ms of ${LIST_RUNS}; repository list ${repoMs.toFixed(0)} ms ` +
        `(×${(listMs / repoMs).toFixed(2)}), raw better-sqlite3 query ${rawMs.toFixed(0)} ms (×${(listMs / rawMs).toFixed(2)})`,
    );

    // Authenticated trivial read, credential cache on.
    const cached = await inClientThread({
      kind: 'load',
      url: nimbus.url,
      path: '/api/v1/users/0',
      authorization,
      clients: args.clients,
      seconds: args.seconds,
    });
    console.log(
      `GET /api/v1/users/0, Basic auth, cache on, ${args.clients} keep-alive clients, ${args.seconds} s: ` +
        `${cached.rps.toFixed(0)} req/s, p50 ${cached.p50.toFixed(2)} ms, p99 ${cached.p99.toFixed(2)} ms (${cached.requests} requests)`,
    );
    await nimbus.close();
    running.pop();

    // The same without the cache: every request verifies the password with argon2id.
    const coldHome = await mkdtemp(join(tmpdir(), 'nimbus-bench-api-nocache-'));
    homes.push(coldHome);
    const cold = await startBenchNimbus(coldHome, { credentialCacheMs: 0 });
    running.push(cold);
    const uncached = await inClientThread({
      kind: 'load',
      url: cold.url,
      path: '/api/v1/users/0',
      authorization,
      clients: args.clients,
      requests: NOCACHE_REQUESTS,
    });
    console.log(
      `GET /api/v1/users/0, Basic auth, cache off (argon2id per request), ${args.clients} clients, ${uncached.requests} requests: ` +
        `${uncached.rps.toFixed(0)} req/s, p50 ${uncached.p50.toFixed(1)} ms, p99 ${uncached.p99.toFixed(1)} ms ` +
        `(cache on is ×${(cached.rps / uncached.rps).toFixed(0)} faster)`,
    );
    const maxRssMb = process.resourceUsage().maxRSS / 1024;
    console.log(`rss after the list runs ${rssMb.toFixed(0)} MB; peak rss ${maxRssMb.toFixed(0)} MB`);
    console.log(
      JSON.stringify({
        bench: 'api',
        vms: args.vms,
        list_20k_ms: round(listMs),
        list_20k_repo_ms: round(repoMs),
        list_20k_raw_ms: round(rawMs),
        list_ratio_repo: round(listMs / repoMs, 2),
        list_ratio_raw: round(listMs / rawMs, 2),
        list_bytes: listBytes,
        auth_rps: Math.round(cached.rps),
        auth_p50_ms: round(cached.p50, 2),
        auth_p99_ms: round(cached.p99, 2),
        auth_nocache_rps: Math.round(uncached.rps),
        auth_nocache_p99_ms: round(uncached.p99),
        clients: args.clients,
        rss_mb: Math.round(rssMb),
        max_rss_mb: Math.round(maxRssMb),
      }),
    );
  } finally {
    for (const n of running) await n.close();
    for (const h of homes) await rm(h, { recursive: true, force: true });
  }
}

if (isMainThread) {
  await main();
} else {
  const task = workerData as LoadTask | ListTask;
  parentPort?.postMessage(task.kind === 'load' ? await load(task) : await fetchList(task));
}
