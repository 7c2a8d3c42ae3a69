/**
 * Scheduler benchmark.
 *
 * - Pure (in-process): one `schedule()` pass of 10,000 pending VMs over 1,000 hosts in 10
 *   clusters with 2 system datastores each (bench/lib/scheduler-cloud.ts: mixed requirements and
 *   ranks, 20 % of the VMs in VM groups, ACL-based permissions, some hosts filling up). Timed with
 *   compiled expressions, then with `compiled: false` (every expression parsed from text on every
 *   evaluation) as the baseline; median of `--runs`, each on a fresh copy of the input. The result
 *   is checked (bench/lib/scheduler-check.ts) and the baseline must place the same VMs alike.
 * - Latency (end to end): PENDING → deploy step on an idle in-process nimbusd with 100 dummy
 *   hosts, one VM at a time (bench/lib/scheduler-latency.ts).
 *
 *   node --expose-gc --import tsx bench/scheduler.ts [--vms N] [--hosts N] [--runs N]
 *     [--samples N] [--latency-hosts N] [--parts pure,latency]
 *
 * Human lines first; the last line is one JSON object.
 */
import { DEFAULT_SCHED_OPTIONS, type SchedInput } from '../src/scheduler/model.js';
import { schedule, type PassResult } from '../src/scheduler/pass.js';
import { runParts, type Figures } from './lib/parts.js';
import { percentile, round } from './lib/lifecycle-cloud.js';
import { buildSchedInput, DEFAULT_SHAPE, type CloudShape } from './lib/scheduler-cloud.js';
import { checkPass } from './lib/scheduler-check.js';
import { pendingToDeploy } from './lib/scheduler-latency.js';
import { PeakRss } from './lib/scheduler-memory.js';

const GOAL_SECONDS = 1;
const GOAL_RSS_MB = 500;
const MB = 1024 * 1024;

const PARTS = ['pure', 'latency'] as const;
type Part = (typeof PARTS)[number];
const USAGE =
  'usage: bench/scheduler.ts [--vms N] [--hosts N] [--runs N] [--samples N] [--latency-hosts N] [--parts pure,latency]';

interface Args {
  vms: number;
  hosts: number;
  runs: number;
  samples: number;
  latencyHosts: number;
  parts: ReadonlySet<Part>;
}

function parseArgs(argv: readonly string[]): Args {
  const out: Args = {
    vms: DEFAULT_SHAPE.vms,
    hosts: DEFAULT_SHAPE.hosts,
    runs: 3,
    samples: 200,
    latencyHosts: 100,
    parts: new Set(PARTS),
  };
  const numeric: Record<string, 'vms' | 'hosts' | 'runs' | 'samples' | 'latencyHosts'> = {
    '--vms': 'vms',
    '--hosts': 'hosts',
    '--runs': 'runs',
    '--samples': 'samples',
    '--latency-hosts': 'latencyHosts',
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
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
    out[key] = value;
  }
  return out;
}

interface TimedPass {
  readonly seconds: number;
  readonly result: PassResult;
  readonly rss: number;
  readonly peakRss: number;
}

/** One pass on a fresh input, after a full collection; RSS right after it and its peak. */
function timePass(input: SchedInput, compiled: boolean, peak: PeakRss): TimedPass {
  globalThis.gc?.();
  peak.reset();
  const started = performance.now();
  const result = schedule(input, { ...DEFAULT_SCHED_OPTIONS, compiled });
  const seconds = (performance.now() - started) / 1000;
  return { seconds, result, rss: process.memoryUsage.rss(), peakRss: peak.read() };
}

function medianOf(passes: readonly TimedPass[]): TimedPass {
  const sorted = [...passes].sort((a, b) => a.seconds - b.seconds);
  return sorted[(sorted.length - 1) >> 1]!;
}

/** The same VMs on the same hosts and datastores, in the same order. */
function samePlacements(a: PassResult, b: PassResult): string | null {
  if (a.placements.length !== b.placements.length)
    return `${a.placements.length} placements against ${b.placements.length}`;
  for (let i = 0; i < a.placements.length; i++) {
    const p = a.placements[i]!;
    const q = b.placements[i]!;
    if (p.vmId !== q.vmId || p.hostId !== q.hostId || p.dsId !== q.dsId)
      return `placement ${i}: VM ${p.vmId} → host ${p.hostId} ds ${p.dsId}, baseline VM ${q.vmId} → host ${q.hostId} ds ${q.dsId}`;
  }
  return null;
}

/** The most frequent unplaced messages, with their counts. */
function topMessages(result: PassResult, n: number): [string, number][] {
  const counts = new Map<string, number>();
  for (const u of result.unplaced) counts.set(u.message, (counts.get(u.message) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]).slice(0, n);
}

/** Hosts left with less than half a CPU or 1 GB free after the pass. */
function hostsFull(input: SchedInput, result: PassResult): number {
  const vms = new Map(input.vms.map((v) => [v.id, v]));
  const used = new Map(input.hosts.map((h) => [h.id, { cpu: h.cpuUsage, mem: h.memUsage }]));
  for (const p of result.placements) {
    const u = used.get(p.hostId)!;
    u.cpu += vms.get(p.vmId)!.cpu;
    u.mem += vms.get(p.vmId)!.mem;
  }
  return input.hosts.filter((h) => {
    const u = used.get(h.id)!;
    return h.maxCpu - u.cpu < 50 || h.maxMem - u.mem < 1024 * 1024;
  }).length;
}

async function runPure(args: Args): Promise<Figures> {
  const shape: CloudShape = { ...DEFAULT_SHAPE, vms: args.vms, hosts: args.hosts };
  const buildStarted = performance.now();
  const sample = buildSchedInput(shape);
  const buildS = (performance.now() - buildStarted) / 1000;
  const grouped = sample.vms.filter((v) => v.group !== undefined).length;
  // What the pass shares work by: owner, expressions, rank and group role (see src/scheduler/pass.ts).
  const classes = new Set(
    sample.vms.map((v) =>
      [v.uid, v.gid, v.automaticRequirements, v.requirements, v.rank, v.group?.groupId, v.group?.role].join(
        '\u0000',
      ),
    ),
  ).size;
  console.log(
    `input: ${sample.vms.length} pending VMs (${grouped} in ${sample.groups.length} VM groups), ` +
      `${sample.hosts.length} hosts in ${shape.clusters} clusters, ${sample.datastores.length} system datastores, ` +
      `${sample.networks.length} networks; ${classes} distinct (owner, requirements, rank, group role); built in ${buildS.toFixed(2)} s (not timed)`,
  );
  const peak = await PeakRss.start();
  try {
    const compiled: TimedPass[] = [];
    const baseline: TimedPass[] = [];
    for (let run = 0; run < args.runs; run++) {
      compiled.push(timePass(buildSchedInput(shape), true, peak));
      process.stderr.write(`  compiled run ${run + 1}: ${compiled[run]!.seconds.toFixed(3)} s\n`);
    }
    for (let run = 0; run < args.runs; run++) {
      baseline.push(timePass(buildSchedInput(shape), false, peak));
      process.stderr.write(`  baseline run ${run + 1}: ${baseline[run]!.seconds.toFixed(3)} s\n`);
    }
    const m = medianOf(compiled);
    const b = medianOf(baseline);
    const problems = checkPass(sample, m.result);
    const mismatch = samePlacements(m.result, b.result);
    const r = m.result;
    const vmsHosts = sample.vms.length * sample.hosts.length;
    const nsPerPair = (m.seconds * 1e9) / vmsHosts;
    const nsPerEvaluation = (m.seconds * 1e9) / r.evaluations;
    const rssMb = m.rss / MB;
    const peakMb = Math.max(...compiled.map((p) => p.peakRss)) / MB;
    const meetsTime = m.seconds < GOAL_SECONDS;
    const meetsRss = peakMb < GOAL_RSS_MB;
    console.log(
      `schedule(), compiled expressions, median of ${args.runs} (${compiled.map((p) => p.seconds.toFixed(3)).join(', ')} s): ` +
        `${m.seconds.toFixed(3)} s — ${r.placements.length} placed, ${r.unplaced.length} unplaced, ` +
        `${Math.round(r.placements.length / m.seconds).toLocaleString('en')} VMs placed/s ` +
        `(goal < ${GOAL_SECONDS} s: ${meetsTime ? 'met' : 'MISSED'})`,
    );
    console.log(
      `  ${nsPerPair.toFixed(1)} ns per VM × host (${vmsHosts.toLocaleString('en')} pairs); ` +
        `${r.evaluations.toLocaleString('en')} evaluations made, ${nsPerEvaluation.toFixed(0)} ns each; ` +
        `${hostsFull(sample, r)} hosts full after the pass`,
    );
    for (const [message, count] of topMessages(r, 5)) console.log(`  unplaced ×${count}: ${message}`);
    console.log(
      `  baseline (compiled: false, expressions parsed on every evaluation), median of ${args.runs} ` +
        `(${baseline.map((p) => p.seconds.toFixed(3)).join(', ')} s): ${b.seconds.toFixed(3)} s; ` +
        `compiled is ×${(b.seconds / m.seconds).toFixed(1)} faster; same placements: ${mismatch === null ? 'yes' : `NO (${mismatch})`}`,
    );
    console.log(
      `  RSS after the pass ${rssMb.toFixed(0)} MB, peak during the compiled passes ${peakMb.toFixed(0)} MB ` +
        `(goal < ${GOAL_RSS_MB} MB: ${meetsRss ? 'met' : 'MISSED'}; input and tsx included)`,
    );
    console.log(
      `  result check: ${problems.length === 0 ? 'sound' : `${problems.length} problem(s):\n    ${problems.join('\n    ')}`}`,
    );
    return {
      vms: sample.vms.length,
      hosts: sample.hosts.length,
      seconds: round(m.seconds, 3),
      baseline_seconds: round(b.seconds, 3),
      ratio: round(b.seconds / m.seconds, 1),
      placed: r.placements.length,
      unplaced: r.unplaced.length,
      vms_per_second: Math.round(r.placements.length / m.seconds),
      ns_per_evaluation: round(nsPerPair, 1),
      ns_per_actual_evaluation: Math.round(nsPerEvaluation),
      evaluations: r.evaluations,
      vm_classes: classes,
      rss_mb: Math.round(rssMb),
      peak_rss_mb: Math.round(peakMb),
      goal_met: meetsTime && meetsRss,
      result_sound: problems.length === 0,
      baseline_same_placements: mismatch === null,
    };
  } finally {
    await peak.stop();
  }
}

async function runLatency(args: Args): Promise<Figures> {
  process.stderr.write(`  latency: nimbusd in-process, ${args.latencyHosts} dummy hosts\n`);
  const f = await pendingToDeploy(args.samples, args.latencyHosts, (what) =>
    process.stderr.write(`  latency: ${what}\n`),
  );
  const p = (values: readonly number[], q: number): number => round(percentile(values, q), 2);
  console.log(
    `PENDING → deploy step, one VM at a time on ${args.latencyHosts} idle dummy hosts (${args.samples} VMs each way):`,
  );
  console.log(
    `  created PENDING (POST /api/v1/vms answered → deploy step committed): p50 ${p(f.created, 50)} ms, ` +
      `p95 ${p(f.created, 95)} ms; from the request sent: p50 ${p(f.createdFromRequest, 50)} ms`,
  );
  console.log(
    `  released from HOLD (PENDING step committed → deploy step committed): p50 ${p(f.released, 50)} ms, ` +
      `p95 ${p(f.released, 95)} ms`,
  );
  return {
    pending_to_deploy_ms_p50: p(f.created, 50),
    pending_to_deploy_ms_p95: p(f.created, 95),
    request_to_deploy_ms_p50: p(f.createdFromRequest, 50),
    released_to_deploy_ms_p50: p(f.released, 50),
    released_to_deploy_ms_p95: p(f.released, 95),
    latency_samples: args.samples,
    latency_hosts: args.latencyHosts,
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  await runParts('scheduler', [
    [args.parts.has('pure'), () => runPure(args)],
    [args.parts.has('latency'), () => runLatency(args)],
  ]);
}

await main();
