/**
 * The memory part of bench/lifecycle.ts, run as its own process so the RSS is nimbusd's alone:
 * an in-process nimbusd (placement on) with `--hosts` dummy hosts and `--vms` VMs instantiated
 * through the API (1,000 per request; by default each request's VMs RUNNING before the next), then `--settle-s` seconds of monitoring with
 * the agents reporting every `--monitor-s` seconds; RSS and heap after a forced collection.
 *
 *   node --expose-gc bench/lib/lifecycle-memory.js [--hosts N] [--vms N] [--monitor-s S] [--settle-s S]
 *     [--fill batches|all]
 *
 * bench/lifecycle.ts runs it compiled to JavaScript (as nimbusd runs); under `--import tsx` the
 * loader adds ~60 MB to the RSS.
 *
 * Progress goes to stderr; stdout's last line is one JSON object (MemoryFigures).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import BetterSqlite3 from 'better-sqlite3';
import {
  createDummyHosts,
  round,
  RunningWatch,
  startBenchCloud,
  benchVmTemplate,
} from './lifecycle-cloud.js';

export interface MemoryFigures {
  readonly fill: 'batches' | 'all';
  readonly hosts: number;
  readonly vms: number;
  readonly monitor_s: number;
  readonly settle_s: number;
  /** RSS and heap used after a forced collection, at the end of the monitoring period. */
  readonly rss_mb: number;
  readonly heap_mb: number;
  /** V8 heap committed: above heap_mb by what the set-up's peak left behind. */
  readonly heap_total_mb: number;
  readonly external_mb: number;
  /** Peak RSS of the whole run (set-up included). */
  readonly max_rss_mb: number;
  /** RSS after start-up, before any host; and once every VM is RUNNING (both after a collection). */
  readonly rss_empty_mb: number;
  readonly rss_running_mb: number;
  readonly hosts_s: number;
  readonly vms_running_s: number;
  /** VM monitoring samples stored per VM (the number of monitoring rounds that landed). */
  readonly vm_samples_per_vm: number;
  /** CPU time of the process over the monitoring period, in % of one core. */
  readonly monitor_cpu_pct: number;
  readonly loop_delay_p99_ms: number;
}

const PER_REQUEST = 1_000;

interface MemoryArgs {
  hosts: number;
  vms: number;
  monitorS: number;
  settleS: number;
  /** `batches`: each request's VMs RUNNING before the next; `all`: every request at once. */
  fill: 'batches' | 'all';
}

function parseArgs(argv: readonly string[]): MemoryArgs {
  const out: MemoryArgs = { hosts: 1_000, vms: 20_000, monitorS: 5, settleS: 30, fill: 'batches' };
  const keys: Record<string, 'hosts' | 'vms' | 'monitorS' | 'settleS'> = {
    '--hosts': 'hosts',
    '--vms': 'vms',
    '--monitor-s': 'monitorS',
    '--settle-s': 'settleS',
  };
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i] as string;
    if (flag === '--fill') {
      const fill = argv[i + 1];
      if (fill !== 'batches' && fill !== 'all') throw new Error('--fill is batches or all');
      out.fill = fill;
      continue;
    }
    const key = keys[flag];
    const value = Number(argv[i + 1]);
    if (key === undefined) throw new Error(`unknown argument ${flag}`);
    if (!Number.isInteger(value) || value <= 0) throw new Error(`${flag} needs a positive integer`);
    out[key] = value;
  }
  if (out.vms % out.hosts !== 0) throw new Error('--vms must be a multiple of --hosts');
  return out;
}

function collect(): void {
  if (globalThis.gc === undefined) throw new Error('run with node --expose-gc');
  globalThis.gc();
  globalThis.gc();
}

/** RssAnon / RssFile / RssShmem of /proc/self/status (Linux), to tell the heap and malloc from mapped files. */
function rssParts(): string {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    return ['RssAnon', 'RssFile', 'RssShmem']
      .map(
        (k) => `${k} ${Math.round(Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024)} MB`,
      )
      .join(', ');
  } catch {
    return 'no /proc';
  }
}

function heapSpaces(): string {
  return getHeapSpaceStatistics()
    .filter((s) => s.space_size > 1024 ** 2)
    .map((s) => `${s.space_name} ${mb(s.space_used_size)}/${mb(s.space_size)}`)
    .join(', ');
}

const mb = (bytes: number): number => round(bytes / 1024 ** 2, 1);
const log = (line: string): void => void process.stderr.write(`  memory: ${line}\n`);

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const cloud = await startBenchCloud({
    placement: true,
    intervals: { monitorHostS: args.monitorS, monitorVmsS: args.monitorS },
  });
  try {
    collect();
    const rssEmpty = process.memoryUsage().rss;

    const hostsStarted = performance.now();
    const step = Math.max(1, Math.floor(args.hosts / 10));
    await createDummyHosts(cloud, args.hosts, args.vms / args.hosts, (done) => {
      if (done % step === 0)
        log(`hosts ${done}/${args.hosts} (${((performance.now() - hostsStarted) / 1000).toFixed(1)} s)`);
    });
    const hostsS = (performance.now() - hostsStarted) / 1000;

    const { ID: templateId } = await cloud.api<{ ID: number }>('POST', '/api/v1/templates', {
      template: benchVmTemplate('bench'),
    });
    const watch = new RunningWatch(cloud.nimbus);
    const vmsStarted = performance.now();
    // By default a cloud fills over time: each request's VMs are RUNNING before the next, so what
    // is measured afterwards is the steady state. `--fill all` sends every request at once: the
    // placement then queues a deploy step for every PENDING VM together (peak memory, fairness).
    const elapsed = (): string => `${((performance.now() - vmsStarted) / 1000).toFixed(1)} s`;
    for (let done = 0; done < args.vms; done += PER_REQUEST) {
      const multiple = Math.min(PER_REQUEST, args.vms - done);
      await cloud.api('POST', `/api/v1/templates/${templateId}/instantiate`, { multiple });
      if (args.fill === 'batches') await watch.countRunning(done + multiple, 120_000);
      log(`instantiated ${done + multiple}/${args.vms}, ${watch.running} RUNNING (${elapsed()})`);
    }
    const progress = setInterval(() => log(`${watch.running}/${args.vms} RUNNING (${elapsed()})`), 5_000);
    try {
      await watch.countRunning(args.vms, 300_000);
    } finally {
      clearInterval(progress);
    }
    watch.forget();
    const vmsRunningS = (performance.now() - vmsStarted) / 1000;
    log(`all ${args.vms} RUNNING after ${vmsRunningS.toFixed(1)} s`);
    collect();
    const rssRunning = process.memoryUsage().rss;
    log(`RSS with all RUNNING, after gc: ${mb(rssRunning)} MB (${rssParts()})`);

    log(`monitoring for ${args.settleS} s (reports every ${args.monitorS} s from ${args.hosts} hosts)`);
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const cpuBefore = process.cpuUsage();
    const settleStarted = performance.now();
    const timeline = setInterval(() => {
      const u = process.memoryUsage();
      log(
        `  ${((performance.now() - settleStarted) / 1000).toFixed(0)} s: RSS ${mb(u.rss)} MB, heap ${mb(u.heapUsed)}/${mb(u.heapTotal)} MB`,
      );
    }, 5_000);
    await new Promise((resolve) => setTimeout(resolve, args.settleS * 1000));
    clearInterval(timeline);
    const cpu = process.cpuUsage(cpuBefore);
    const settleMs = performance.now() - settleStarted;
    delay.disable();

    collect();
    const usage = process.memoryUsage();
    const maxRss = process.resourceUsage().maxRSS * 1024;

    const db = new BetterSqlite3(join(cloud.home, 'nimbus.db'), { readonly: true });
    const samples = (
      db.prepare('SELECT count(*) AS n FROM vm_monitoring WHERE resolution = 0').get() as { n: number }
    ).n;
    db.close();

    const figures: MemoryFigures = {
      fill: args.fill,
      hosts: args.hosts,
      vms: args.vms,
      monitor_s: args.monitorS,
      settle_s: args.settleS,
      rss_mb: mb(usage.rss),
      heap_mb: mb(usage.heapUsed),
      heap_total_mb: mb(usage.heapTotal),
      external_mb: mb(usage.external),
      max_rss_mb: mb(maxRss),
      rss_empty_mb: mb(rssEmpty),
      rss_running_mb: mb(rssRunning),
      hosts_s: round(hostsS, 1),
      vms_running_s: round(vmsRunningS, 1),
      vm_samples_per_vm: round(samples / args.vms, 1),
      monitor_cpu_pct: round(((cpu.user + cpu.system) / 1000 / settleMs) * 100, 0),
      loop_delay_p99_ms: round(delay.percentile(99) / 1e6, 1),
    };
    log(
      `RSS ${figures.rss_mb} MB (${rssParts()}), heap used ${figures.heap_mb} of ${figures.heap_total_mb} MB, ` +
        `external ${figures.external_mb} MB, peak RSS ${figures.max_rss_mb} MB`,
    );
    log(`V8 spaces (used/size MB): ${heapSpaces()}`);
    const closeStarted = performance.now();
    await cloud.close();
    log(`nimbusd closed in ${((performance.now() - closeStarted) / 1000).toFixed(1)} s`);
    console.log(JSON.stringify(figures));
  } catch (error) {
    await cloud.close();
    throw error;
  }
}

await main();
