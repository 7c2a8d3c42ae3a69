/**
 * Lifecycle benchmark: the controller's own overhead from instantiate to RUNNING, on dummy hosts
 * whose operations take no time (DUMMY_DELAY_MS 0), nimbusd in-process on SQLite in a temporary
 * directory, requests through `app.inject`, RUNNING seen through `engine.onStep` (no polling).
 *
 * - Sequential: one VM at a time, `POST /api/v1/vms` then wait for RUNNING; p50 / p95 and the
 *   phases (API answer, placement's deploy step, PROLOG, BOOT). Baseline in the same run: the
 *   POST alone (the allocate transaction), the part of the time that is not the lifecycle.
 * - Burst: `POST /api/v1/templates/:id/instantiate` with `multiple: 1000`, spread by the
 *   placement over 10 dummy hosts sized for 100 VMs each (CPU / MEMORY in the host template),
 *   until all are RUNNING. Baseline: the same request on a nimbusd with the placement off
 *   (allocate only).
 * - Memory: a child process (bench/lib/lifecycle-memory.ts, compiled to JavaScript first, as
 *   nimbusd runs) with 20,000 VMs RUNNING on 1,000 dummy hosts reporting monitoring every
 *   `--monitor-s` seconds (5: six rounds in the 30 s period, where a real cloud reports every 30 s);
 *   its RSS after a forced collection is nimbusd's alone. The VMs arrive 1,000 per request, each
 *   request's VMs RUNNING before the next (`--memory-fill all`: every request at once).
 *
 *   node --expose-gc --import tsx bench/lifecycle.ts [--sequential N] [--burst N] [--burst-hosts N]
 *     [--hosts N] [--vms N] [--monitor-s S] [--settle-s S] [--memory-fill batches|all]
 *     [--parts sequential,burst,memory]
 *
 * State directories are made with os.tmpdir(): `TMPDIR=/dev/shm` shows what the agents' fsyncs
 * cost. Human lines first; the last line is one JSON object.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { runParts, type Figures } from './lib/parts.js';
import {
  createDummyHosts,
  percentile,
  round,
  RunningWatch,
  startBenchCloud,
  benchVmTemplate,
  type BenchCloud,
} from './lib/lifecycle-cloud.js';
import type { MemoryFigures } from './lib/lifecycle-memory.js';

const WARMUP_VMS = 20;
/** The API's limit on `multiple` in one instantiate. */
const MAX_MULTIPLE = 1_000;

interface Args {
  sequential: number;
  burst: number;
  burstHosts: number;
  hosts: number;
  vms: number;
  monitorS: number;
  settleS: number;
  memoryFill: 'batches' | 'all';
  parts: ReadonlySet<Part>;
}

const PARTS = ['sequential', 'burst', 'memory'] as const;
type Part = (typeof PARTS)[number];
const USAGE =
  'usage: bench/lifecycle.ts [--sequential N] [--burst N] [--burst-hosts N] [--hosts N] [--vms N] ' +
  '[--monitor-s S] [--settle-s S] [--memory-fill batches|all] [--parts sequential,burst,memory]';

function parseArgs(argv: readonly string[]): Args {
  const out: Args = {
    sequential: 200,
    burst: 1_000,
    burstHosts: 10,
    hosts: 1_000,
    vms: 20_000,
    monitorS: 5,
    settleS: 30,
    memoryFill: 'batches',
    parts: new Set(PARTS),
  };
  const numeric: Record<string, keyof Args> = {
    '--sequential': 'sequential',
    '--burst': 'burst',
    '--burst-hosts': 'burstHosts',
    '--hosts': 'hosts',
    '--vms': 'vms',
    '--monitor-s': 'monitorS',
    '--settle-s': 'settleS',
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    if (flag === '--memory-fill') {
      const fill = argv[++i];
      if (fill !== 'batches' && fill !== 'all') throw new Error(`--memory-fill is batches or all; ${USAGE}`);
      out.memoryFill = fill;
      continue;
    }
    if (flag === '--parts') {
      const names = (argv[++i] ?? '').split(',');
      const unknown = names.filter((n) => !(PARTS as readonly string[]).includes(n));
      if (unknown.length > 0) throw new Error(`--parts: unknown ${unknown.join(', ')}; ${USAGE}`);
      out.parts = new Set(names as Part[]);
      continue;
    }
    const key = numeric[flag];
    const value = Number(argv[++i]);
    if (key === undefined) throw new Error(`unknown argument ${flag}; ${USAGE}`);
    if (!Number.isInteger(value) || value <= 0) throw new Error(`${flag} needs a positive integer`);
    (out[key] as number) = value;
  }
  if (out.burst % out.burstHosts !== 0) throw new Error('--burst must be a multiple of --burst-hosts');
  if (out.vms % out.hosts !== 0) throw new Error('--vms must be a multiple of --hosts');
  return out;
}

interface SequentialFigures {
  readonly totals: number[];
  readonly posts: number[];
  readonly placing: number[];
  readonly prolog: number[];
  readonly boot: number[];
}

/** One VM at a time: POST, then wait for RUNNING; per-VM totals and phases in ms. */
async function sequential(count: number): Promise<SequentialFigures> {
  const cloud = await startBenchCloud({ placement: true });
  try {
    await createDummyHosts(cloud, 1, WARMUP_VMS + count);
    const watch = new RunningWatch(cloud.nimbus);
    const figures: SequentialFigures = { totals: [], posts: [], placing: [], prolog: [], boot: [] };
    globalThis.gc?.();
    for (let i = 0; i < WARMUP_VMS + count; i++) {
      const started = performance.now();
      const { ID } = await cloud.api<{ ID: number }>('POST', '/api/v1/vms', {
        template: benchVmTemplate(`seq-${i}`),
      });
      const answered = performance.now();
      await watch.vmRunning(ID, 10_000);
      if (i < WARMUP_VMS) continue;
      const m = watch.milestones.get(ID)!;
      figures.totals.push(m.running! - started);
      figures.posts.push(answered - started);
      figures.placing.push(m.deployed! - answered);
      figures.prolog.push(m.booting! - m.deployed!);
      figures.boot.push(m.running! - m.booting!);
    }
    return figures;
  } finally {
    await cloud.close();
  }
}

async function createBenchTemplate(cloud: BenchCloud): Promise<number> {
  const { ID } = await cloud.api<{ ID: number }>('POST', '/api/v1/templates', {
    template: benchVmTemplate('bench'),
  });
  return ID;
}

/** `count` VMs from the template, in requests of at most MAX_MULTIPLE sent back to back. */
async function instantiate(cloud: BenchCloud, templateId: number, count: number): Promise<number[]> {
  const ids: number[] = [];
  for (let done = 0; done < count; done += MAX_MULTIPLE) {
    const { IDS } = await cloud.api<{ IDS: number[] }>(
      'POST',
      `/api/v1/templates/${templateId}/instantiate`,
      {
        multiple: Math.min(MAX_MULTIPLE, count - done),
      },
    );
    ids.push(...IDS);
  }
  return ids;
}

/** Allocate only: the same instantiate on a nimbusd whose placement is off (the VMs stay PENDING). */
async function burstBaseline(count: number): Promise<number> {
  const cloud = await startBenchCloud({ placement: false });
  try {
    const templateId = await createBenchTemplate(cloud);
    // Warm the routes with a small instantiate first.
    await cloud.api('POST', `/api/v1/templates/${templateId}/instantiate`, { multiple: 10 });
    globalThis.gc?.();
    const started = performance.now();
    const ids = await instantiate(cloud, templateId, count);
    const ms = performance.now() - started;
    if (ids.length !== count) throw new Error(`instantiate made ${ids.length} VMs, expected ${count}`);
    return ms;
  } finally {
    await cloud.close();
  }
}

interface BurstFigures {
  readonly apiMs: number;
  readonly allDeployedMs: number;
  readonly allRunningMs: number;
  readonly perHost: number[];
}

/** `count` VMs instantiated at once, placed over `hosts` dummy hosts, until all are RUNNING. */
async function burst(count: number, hosts: number): Promise<BurstFigures> {
  const cloud = await startBenchCloud({ placement: true });
  try {
    const hostIds = await createDummyHosts(cloud, hosts, count / hosts);
    const templateId = await createBenchTemplate(cloud);
    const watch = new RunningWatch(cloud.nimbus);
    // Warm the routes with VMs on hold: placed, they would take room sized for the burst.
    await cloud.api('POST', `/api/v1/templates/${templateId}/instantiate`, { multiple: 10, hold: true });
    globalThis.gc?.();
    const started = performance.now();
    const IDS = await instantiate(cloud, templateId, count);
    const apiMs = performance.now() - started;
    await watch.countRunning(count, 120_000);
    const allRunningMs = performance.now() - started;
    const deployed = IDS.map((id) => watch.milestones.get(id)?.deployed ?? Infinity);
    const allDeployedMs = Math.max(...deployed) - started;
    const records = (await cloud.nimbus.store.hosts.list(undefined, { limit: 1_000_000 })).items;
    const perHost = hostIds.map((id) => records.find((h) => h.id === id)?.vms.length ?? 0);
    return { apiMs, allDeployedMs, allRunningMs, perHost };
  } finally {
    await cloud.close();
  }
}

/**
 * The sources as `tsc` would emit them (per-file transpile: the project has isolatedModules), in a
 * temporary directory whose node_modules is a link to ours: nimbusd runs from compiled JavaScript
 * (bin/nimbusd.js -> dist/), and the tsx loader would add its own thread and caches (~60 MB) to
 * the RSS measured.
 */
async function compileForChild(): Promise<string> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const out = await mkdtemp(join(tmpdir(), 'nimbus-bench-lifecycle-js-'));
  try {
    for (const dir of ['src', join('bench', 'lib')]) {
      const files = (await readdir(join(root, dir), { recursive: true })).filter((f) => f.endsWith('.ts'));
      for (const file of files) {
        const source = await readFile(join(root, dir, file), 'utf8');
        const { outputText } = ts.transpileModule(source, {
          compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022 },
          fileName: file,
        });
        const target = join(out, dir, file.replace(/\.ts$/, '.js'));
        await mkdir(dirname(target), { recursive: true });
        await writeFile(target, outputText);
      }
    }
    await writeFile(join(out, 'package.json'), '{ "type": "module" }\n');
    await symlink(join(root, 'node_modules'), join(out, 'node_modules'), 'dir');
    return out;
  } catch (error) {
    await rm(out, { recursive: true, force: true });
    throw error;
  }
}

/** The memory part in a child process, so its RSS is nimbusd's alone; its last stdout line is JSON. */
async function memoryInChild(args: Args): Promise<MemoryFigures> {
  const compiled = await compileForChild();
  try {
    return await runChild(join(compiled, 'bench', 'lib', 'lifecycle-memory.js'), [
      '--hosts',
      String(args.hosts),
      '--vms',
      String(args.vms),
      '--monitor-s',
      String(args.monitorS),
      '--settle-s',
      String(args.settleS),
      '--fill',
      args.memoryFill,
    ]);
  } finally {
    await rm(compiled, { recursive: true, force: true });
  }
}

function runChild(script: string, argv: readonly string[]): Promise<MemoryFigures> {
  // The flags nimbusd runs with (bin/nimbusd.js, `make start`): a 2 MB young generation.
  const child = spawn(process.execPath, ['--expose-gc', '--max-semi-space-size=2', script, ...argv], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => (stdout += chunk));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code !== 0) {
        reject(new Error(`memory child exited with ${code ?? signal}: ${stdout.slice(-500)}`));
        return;
      }
      const last = stdout.trim().split('\n').at(-1) ?? '';
      try {
        resolve(JSON.parse(last) as MemoryFigures);
      } catch {
        reject(new Error(`memory child printed no JSON line: ${stdout.slice(-500)}`));
      }
    });
  });
}

async function runSequential(args: Args): Promise<Figures> {
  process.stderr.write(`  sequential: ${WARMUP_VMS} warm-up VMs, then ${args.sequential} measured\n`);
  const seq = await sequential(args.sequential);
  const p50 = percentile(seq.totals, 50);
  const p95 = percentile(seq.totals, 95);
  const postP50 = percentile(seq.posts, 50);
  const quarter = Math.max(1, Math.floor(seq.totals.length / 4));
  const firstQuarter = seq.totals.slice(0, quarter);
  const lastQuarter = seq.totals.slice(-quarter);
  console.log(
    `instantiate -> RUNNING, one VM at a time (${args.sequential} VMs, dummy host, no delay): ` +
      `p50 ${p50.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, max ${Math.max(...seq.totals).toFixed(1)} ms (goal p50 < 20 ms)`,
  );
  console.log(
    `  first quarter p50 ${percentile(firstQuarter, 50).toFixed(1)} ms, last quarter ${percentile(lastQuarter, 50).toFixed(1)} ms ` +
      '(all on one host: a growing figure is a per-VM cost that grows with the VMs of the host)',
  );
  console.log(
    `  phases (p50): POST /api/v1/vms answered ${postP50.toFixed(1)} ms (baseline: allocate only), ` +
      `placement deploy step ${percentile(seq.placing, 50).toFixed(1)} ms, ` +
      `PROLOG ${percentile(seq.prolog, 50).toFixed(1)} ms, BOOT ${percentile(seq.boot, 50).toFixed(1)} ms; ` +
      `lifecycle / allocate x${(p50 / postP50).toFixed(1)}`,
  );
  return {
    to_running_ms_p50: round(p50, 2),
    to_running_ms_p95: round(p95, 2),
    to_running_ms_p50_first_quarter: round(percentile(firstQuarter, 50), 2),
    to_running_ms_p50_last_quarter: round(percentile(lastQuarter, 50), 2),
    to_running_post_ms_p50: round(postP50, 2),
    to_running_place_ms_p50: round(percentile(seq.placing, 50), 2),
    to_running_prolog_ms_p50: round(percentile(seq.prolog, 50), 2),
    to_running_boot_ms_p50: round(percentile(seq.boot, 50), 2),
    sequential_vms: args.sequential,
  };
}

async function runBurst(args: Args): Promise<Figures> {
  process.stderr.write(`  burst: ${args.burst} VMs over ${args.burstHosts} hosts (baseline first)\n`);
  const baselineMs = await burstBaseline(args.burst);
  const b = await burst(args.burst, args.burstHosts);
  console.log(
    `${args.burst} VMs instantiated at once (multiple: ${Math.min(args.burst, MAX_MULTIPLE)}) on ${args.burstHosts} dummy hosts: ` +
      `all RUNNING in ${(b.allRunningMs / 1000).toFixed(2)} s (goal < 10 s); answer ${b.apiMs.toFixed(0)} ms, ` +
      `all deploy steps committed at ${(b.allDeployedMs / 1000).toFixed(2)} s; VMs per host ${b.perHost.join(' ')}`,
  );
  console.log(
    `  baseline: the same instantiate with the placement off (allocate only) ${baselineMs.toFixed(0)} ms; ` +
      `full lifecycle x${(b.allRunningMs / baselineMs).toFixed(1)}`,
  );
  return {
    thousand_vms_s: round(b.allRunningMs / 1000, 2),
    burst_vms: args.burst,
    burst_hosts: args.burstHosts,
    burst_api_ms: Math.round(b.apiMs),
    burst_deployed_s: round(b.allDeployedMs / 1000, 2),
    burst_baseline_allocate_ms: Math.round(baselineMs),
  };
}

async function runMemory(args: Args): Promise<Figures> {
  process.stderr.write(
    `  memory: child process, ${args.vms} VMs on ${args.hosts} dummy hosts, monitoring every ${args.monitorS} s\n`,
  );
  const m = await memoryInChild(args);
  console.log(
    `nimbusd with ${m.vms} VMs RUNNING on ${m.hosts} dummy hosts, monitoring every ${m.monitor_s} s ` +
      `for ${m.settle_s} s (${m.vm_samples_per_vm} VM samples per VM): ` +
      `RSS ${m.rss_mb} MB after gc (goal < 300 MB), heap used ${m.heap_mb} MB of ${m.heap_total_mb} MB, ` +
      `peak RSS ${m.max_rss_mb} MB (VMs filled: ${m.fill === 'all' ? 'all requests at once' : '1,000 at a time'})`,
  );
  console.log(
    `  baseline: RSS of the same nimbusd just started (no host, no VM) ${m.rss_empty_mb} MB; ` +
      `with all VMs RUNNING, before the monitoring period ${m.rss_running_mb} MB`,
  );
  console.log(
    `  set-up: ${m.hosts} hosts in ${m.hosts_s} s, ${m.vms} VMs instantiated and RUNNING in ${m.vms_running_s} s; ` +
      `while monitoring: CPU ${m.monitor_cpu_pct} % of one core, event-loop delay p99 ${m.loop_delay_p99_ms} ms`,
  );
  return {
    rss_mb: m.rss_mb,
    heap_mb: m.heap_mb,
    heap_total_mb: m.heap_total_mb,
    max_rss_mb: m.max_rss_mb,
    rss_empty_mb: m.rss_empty_mb,
    rss_running_mb: m.rss_running_mb,
    hosts: m.hosts,
    vms: m.vms,
    monitor_s: m.monitor_s,
    memory_settle_s: m.settle_s,
    memory_fill: m.fill,
    memory_hosts_s: m.hosts_s,
    memory_vms_running_s: m.vms_running_s,
    memory_monitor_cpu_pct: m.monitor_cpu_pct,
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  await runParts('lifecycle', [
    [args.parts.has('sequential'), () => runSequential(args)],
    [args.parts.has('burst'), () => runBurst(args)],
    [args.parts.has('memory'), () => runMemory(args)],
  ]);
}

await main();
