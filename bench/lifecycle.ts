/**
 * Lifecycle benchmark: the controller's own overhead from instantiate to RUNNING, on dummy hosts
 * whose operations take no time (DUMMY_DELAY_MS 0), nimbusd in-process on SQLite in a temporary
 * directory, requests through `app.inject`, RUNNING seen through `engine.onStep` (no polling).
 *
 * - Sequential: one VM at a time, `POST /api/v1/vms` then wait for RUNNING; p50 / p95 and the
 *   phases (API answer, placement's deploy step, PROLOG, BOOT). Baseline in the same run: the
 *   POST alone (the allocate transaction), the part of the time that is not the lifecycle.
 * - Burst: `POST /api/v1/templates/:id/instantiate` with `multiple: 1000`, spread by the
 *   placement over 10 dummy hosts sized for 100 VMs each, until all are RUNNING. Baseline: the
 *   same request on a nimbusd with the placement off (allocate only).
 * - Memory: a child process (bench/lib/lifecycle-memory.ts) with 20,000 VMs RUNNING on 1,000
 *   dummy hosts reporting monitoring; its RSS after a forced collection is nimbusd's alone.
 *
 *   node --expose-gc --import tsx bench/lifecycle.ts [--sequential N] [--burst N] [--burst-hosts N]
 *     [--hosts N] [--vms N] [--monitor-s S] [--settle-s S] [--skip-memory]
 *
 * Human lines first; the last line is one JSON object.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
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

interface Args {
  sequential: number;
  burst: number;
  burstHosts: number;
  hosts: number;
  vms: number;
  monitorS: number;
  settleS: number;
  skipMemory: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const out: Args = {
    sequential: 200,
    burst: 1_000,
    burstHosts: 10,
    hosts: 1_000,
    vms: 20_000,
    monitorS: 5,
    settleS: 30,
    skipMemory: false,
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
    if (flag === '--skip-memory') {
      out.skipMemory = true;
      continue;
    }
    const key = numeric[flag];
    const value = Number(argv[++i]);
    if (key === undefined)
      throw new Error(
        `unknown argument ${flag}; usage: bench/lifecycle.ts [--sequential N] [--burst N] [--burst-hosts N] ` +
          '[--hosts N] [--vms N] [--monitor-s S] [--settle-s S] [--skip-memory]',
      );
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

/** Allocate only: the same instantiate on a nimbusd whose placement is off (the VMs stay PENDING). */
async function burstBaseline(count: number): Promise<number> {
  const cloud = await startBenchCloud({ placement: false });
  try {
    const templateId = await createBenchTemplate(cloud);
    // Warm the routes with a small instantiate first.
    await cloud.api('POST', `/api/v1/templates/${templateId}/instantiate`, { multiple: 10 });
    globalThis.gc?.();
    const started = performance.now();
    const { IDS } = await cloud.api<{ IDS: number[] }>('POST', `/api/v1/templates/${templateId}/instantiate`, {
      multiple: count,
    });
    const ms = performance.now() - started;
    if (IDS.length !== count) throw new Error(`instantiate made ${IDS.length} VMs, expected ${count}`);
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

/** `count` VMs in one instantiate, placed over `hosts` dummy hosts, until all are RUNNING. */
async function burst(count: number, hosts: number): Promise<BurstFigures> {
  const cloud = await startBenchCloud({ placement: true });
  try {
    const hostIds = await createDummyHosts(cloud, hosts, count / hosts);
    const templateId = await createBenchTemplate(cloud);
    const watch = new RunningWatch(cloud.nimbus);
    // Warm-up on the same hosts would take room: a spare VM's worth is not there, so warm on hold.
    await cloud.api('POST', `/api/v1/templates/${templateId}/instantiate`, { multiple: 10, hold: true });
    globalThis.gc?.();
    const started = performance.now();
    const { IDS } = await cloud.api<{ IDS: number[] }>('POST', `/api/v1/templates/${templateId}/instantiate`, {
      multiple: count,
    });
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
    ]);
  } finally {
    await rm(compiled, { recursive: true, force: true });
  }
}

function runChild(script: string, argv: readonly string[]): Promise<MemoryFigures> {
  const child = spawn(process.execPath, ['--expose-gc', script, ...argv], { stdio: ['ignore', 'pipe', 'inherit'] });
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

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (globalThis.gc === undefined) process.stderr.write('  (run with --expose-gc for a collection between runs)\n');
  const benchStarted = performance.now();

  process.stderr.write(`  sequential: ${WARMUP_VMS} warm-up VMs, then ${args.sequential} measured\n`);
  const seq = await sequential(args.sequential);
  const p50 = percentile(seq.totals, 50);
  const p95 = percentile(seq.totals, 95);
  const postP50 = percentile(seq.posts, 50);
  console.log(
    `instantiate -> RUNNING, one VM at a time (${args.sequential} VMs, dummy host, no delay): ` +
      `p50 ${p50.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, max ${Math.max(...seq.totals).toFixed(1)} ms (goal p50 < 20 ms)`,
  );
  console.log(
    `  phases (p50): POST /api/v1/vms answered ${postP50.toFixed(1)} ms (baseline: allocate only), ` +
      `placement deploy step ${percentile(seq.placing, 50).toFixed(1)} ms, ` +
      `PROLOG ${percentile(seq.prolog, 50).toFixed(1)} ms, BOOT ${percentile(seq.boot, 50).toFixed(1)} ms; ` +
      `lifecycle / allocate x${(p50 / postP50).toFixed(1)}`,
  );

  process.stderr.write(`  burst: ${args.burst} VMs over ${args.burstHosts} hosts (baseline first)\n`);
  const baselineMs = await burstBaseline(args.burst);
  const b = await burst(args.burst, args.burstHosts);
  console.log(
    `${args.burst} VMs in one instantiate (multiple: ${args.burst}) on ${args.burstHosts} dummy hosts: ` +
      `all RUNNING in ${(b.allRunningMs / 1000).toFixed(2)} s (goal < 10 s); answer ${b.apiMs.toFixed(0)} ms, ` +
      `all deploy steps committed at ${(b.allDeployedMs / 1000).toFixed(2)} s; VMs per host ${b.perHost.join(' ')}`,
  );
  console.log(
    `  baseline: the same instantiate with the placement off (allocate only) ${baselineMs.toFixed(0)} ms; ` +
      `full lifecycle x${(b.allRunningMs / baselineMs).toFixed(1)}`,
  );

  let memory: MemoryFigures | null = null;
  if (!args.skipMemory) {
    process.stderr.write(
      `  memory: child process, ${args.vms} VMs on ${args.hosts} dummy hosts, monitoring every ${args.monitorS} s\n`,
    );
    memory = await memoryInChild(args);
    console.log(
      `nimbusd with ${memory.vms} VMs RUNNING on ${memory.hosts} dummy hosts, monitoring every ${memory.monitor_s} s ` +
        `for ${memory.settle_s} s (${memory.vm_samples_per_vm} VM samples per VM): ` +
        `RSS ${memory.rss_mb} MB after gc (goal < 300 MB), heap used ${memory.heap_mb} MB, ` +
        `peak RSS ${memory.max_rss_mb} MB`,
    );
    console.log(
      `  set-up: ${memory.hosts} hosts in ${memory.hosts_s} s, ${memory.vms} VMs instantiated and RUNNING in ` +
        `${memory.vms_running_s} s; while monitoring: CPU ${memory.monitor_cpu_pct} % of one core, ` +
        `event-loop delay p99 ${memory.loop_delay_p99_ms} ms; RSS after start ${memory.rss_empty_mb} MB, ` +
        `when all RUNNING ${memory.rss_running_mb} MB`,
    );
  }
  const benchS = (performance.now() - benchStarted) / 1000;
  console.log(`bench took ${benchS.toFixed(0)} s`);
  console.log(
    JSON.stringify({
      bench: 'lifecycle',
      to_running_ms_p50: round(p50, 2),
      to_running_ms_p95: round(p95, 2),
      to_running_post_ms_p50: round(postP50, 2),
      to_running_place_ms_p50: round(percentile(seq.placing, 50), 2),
      to_running_prolog_ms_p50: round(percentile(seq.prolog, 50), 2),
      to_running_boot_ms_p50: round(percentile(seq.boot, 50), 2),
      sequential_vms: args.sequential,
      thousand_vms_s: round(b.allRunningMs / 1000, 2),
      burst_vms: args.burst,
      burst_hosts: args.burstHosts,
      burst_api_ms: Math.round(b.apiMs),
      burst_deployed_s: round(b.allDeployedMs / 1000, 2),
      burst_baseline_allocate_ms: Math.round(baselineMs),
      rss_mb: memory?.rss_mb ?? null,
      heap_mb: memory?.heap_mb ?? null,
      max_rss_mb: memory?.max_rss_mb ?? null,
      rss_empty_mb: memory?.rss_empty_mb ?? null,
      rss_running_mb: memory?.rss_running_mb ?? null,
      hosts: memory?.hosts ?? null,
      vms: memory?.vms ?? null,
      monitor_s: memory?.monitor_s ?? null,
      memory_settle_s: memory?.settle_s ?? null,
      memory_vms_running_s: memory?.vms_running_s ?? null,
      memory_monitor_cpu_pct: memory?.monitor_cpu_pct ?? null,
      bench_s: Math.round(benchS),
    }),
  );
}

await main();
