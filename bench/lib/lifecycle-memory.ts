/**
 * The memory part of bench/lifecycle.ts, run as its own process so the RSS is nimbusd's alone:
 * an in-process nimbusd (placement on) with `--hosts` dummy hosts and `--vms` VMs instantiated
 * through the API (1,000 per request) and RUNNING, then `--settle-s` seconds of monitoring with
 * the agents reporting every `--monitor-s` seconds; RSS and heap after a forced collection.
 *
 *   node --expose-gc --import tsx bench/lib/lifecycle-memory.ts [--hosts N] [--vms N] [--monitor-s S] [--settle-s S]
 *
 * Progress goes to stderr; stdout's last line is one JSON object (MemoryFigures).
 */
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import BetterSqlite3 from 'better-sqlite3';
import { createDummyHosts, round, RunningWatch, startBenchCloud, benchVmTemplate } from './lifecycle-cloud.js';

export interface MemoryFigures {
  readonly hosts: number;
  readonly vms: number;
  readonly monitor_s: number;
  readonly settle_s: number;
  /** RSS and heap used after a forced collection, at the end of the monitoring period. */
  readonly rss_mb: number;
  readonly heap_mb: number;
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

function parseArgs(argv: readonly string[]): { hosts: number; vms: number; monitorS: number; settleS: number } {
  const out = { hosts: 1_000, vms: 20_000, monitorS: 5, settleS: 30 };
  const keys: Record<string, keyof typeof out> = {
    '--hosts': 'hosts',
    '--vms': 'vms',
    '--monitor-s': 'monitorS',
    '--settle-s': 'settleS',
  };
  for (let i = 0; i < argv.length; i += 2) {
    const key = keys[argv[i] as string];
    const value = Number(argv[i + 1]);
    if (key === undefined) throw new Error(`unknown argument ${argv[i]}`);
    if (!Number.isInteger(value) || value <= 0) throw new Error(`${argv[i]} needs a positive integer`);
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
      if (done % step === 0) log(`hosts ${done}/${args.hosts} (${((performance.now() - hostsStarted) / 1000).toFixed(1)} s)`);
    });
    const hostsS = (performance.now() - hostsStarted) / 1000;

    const { ID: templateId } = await cloud.api<{ ID: number }>('POST', '/api/v1/templates', {
      template: benchVmTemplate('bench'),
    });
    const watch = new RunningWatch(cloud.nimbus);
    const vmsStarted = performance.now();
    for (let done = 0; done < args.vms; done += PER_REQUEST) {
      const multiple = Math.min(PER_REQUEST, args.vms - done);
      await cloud.api('POST', `/api/v1/templates/${templateId}/instantiate`, { multiple });
      log(
        `instantiated ${done + multiple}/${args.vms}, ${watch.running} RUNNING ` +
          `(${((performance.now() - vmsStarted) / 1000).toFixed(1)} s)`,
      );
    }
    const progress = setInterval(
      () => log(`${watch.running}/${args.vms} RUNNING (${((performance.now() - vmsStarted) / 1000).toFixed(1)} s)`),
      5_000,
    );
    try {
      await watch.countRunning(args.vms, 240_000);
    } finally {
      clearInterval(progress);
    }
    const vmsRunningS = (performance.now() - vmsStarted) / 1000;
    log(`all ${args.vms} RUNNING after ${vmsRunningS.toFixed(1)} s`);
    collect();
    const rssRunning = process.memoryUsage().rss;

    log(`monitoring for ${args.settleS} s (reports every ${args.monitorS} s from ${args.hosts} hosts)`);
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const cpuBefore = process.cpuUsage();
    const settleStarted = performance.now();
    await new Promise((resolve) => setTimeout(resolve, args.settleS * 1000));
    const cpu = process.cpuUsage(cpuBefore);
    const settleMs = performance.now() - settleStarted;
    delay.disable();

    collect();
    const usage = process.memoryUsage();
    const maxRss = process.resourceUsage().maxRSS * 1024;

    const db = new BetterSqlite3(join(cloud.home, 'nimbus.db'), { readonly: true });
    const samples = (db.prepare('SELECT count(*) AS n FROM vm_monitoring WHERE resolution = 0').get() as { n: number })
      .n;
    db.close();

    const figures: MemoryFigures = {
      hosts: args.hosts,
      vms: args.vms,
      monitor_s: args.monitorS,
      settle_s: args.settleS,
      rss_mb: mb(usage.rss),
      heap_mb: mb(usage.heapUsed),
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
      `RSS ${figures.rss_mb} MB, heap used ${figures.heap_mb} MB, external ${figures.external_mb} MB, ` +
        `peak RSS ${figures.max_rss_mb} MB`,
    );
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
