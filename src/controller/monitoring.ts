/**
 * Monitoring samples from agents: stored as reported, folded into buckets after a while, expired
 * (docs/decisions/monitoring.md). The only series state in memory is each VM's latest sample.
 */
import {
  bucketStart,
  compactionCutoff,
  expiryCutoff,
  hostFigures,
  hostMonitoringAttributes,
  maintenancePeriodS,
  mergeSeries,
  MONITORING_KINDS,
  vmFigures,
  type MonitoringKind,
  type MonitoringPolicy,
  type SeriesPoint,
  type TimedFigures,
} from '../domain/monitoring/index.js';
import type { MonitorHost, MonitorVms } from '../protocol/agent.js';
import type { Caller } from './caller.js';
import type { ControllerContext } from './context.js';
import { applyReservations, hostAuthObject } from './hosts.js';
import { ownedAuthObject } from './ownership.js';

export interface SeriesQuery {
  /** Epoch s, inclusive. */
  readonly since: number;
  /** Epoch s, inclusive; absent: up to the newest. */
  readonly until?: number | undefined;
  /** 0: raw samples; N: buckets of N s; absent: buckets before the raw window, then raw samples. */
  readonly resolution?: number | undefined;
}

export interface MaintenanceReport {
  /** Raw samples folded into buckets. */
  readonly compacted: number;
  /** Buckets written. */
  readonly buckets: number;
  /** Buckets deleted for age. */
  readonly expired: number;
}

export class MonitoringService {
  /** Each VM's newest sample (VM rows are not written per report). */
  readonly #latest = new Map<number, TimedFigures>();
  #timer: NodeJS.Timeout | null = null;
  #pass: Promise<void> | null = null;

  constructor(
    private readonly ctx: ControllerContext,
    readonly policy: MonitoringPolicy,
  ) {}

  /**
   * A `monitor-host` report: its sample, and in the same transaction the host's MONITORING,
   * LAST_MON_TIME and HOST_SHARE totals (MAX_* again from the reservations). One host write per
   * report; a report older than the record's (re-sent after a reconnect) only adds its sample.
   */
  async recordHost(hostId: number, msg: MonitorHost): Promise<void> {
    const sample = { objectId: hostId, ts: msg.timestamp, data: hostFigures(msg.host) };
    await this.ctx.store.transaction(
      async (tx) => {
        const host = await tx.hosts.get(hostId);
        await tx.monitoring.insert('host', [sample]);
        if (msg.timestamp < host.lastMonTime) return;
        const cluster = await tx.clusters.find(host.clusterId);
        const next = applyReservations(
          {
            ...host,
            share: { ...host.share, totalCpu: msg.host.TOTALCPU, totalMem: msg.host.TOTALMEMORY },
            monitoring: hostMonitoringAttributes(msg.host),
            lastMonTime: msg.timestamp,
          },
          cluster?.template,
        );
        await tx.hosts.update(next);
      },
      { retries: 5 },
    );
  }

  /**
   * A `monitor-vms` report: one sample per VM Nimbus knows (reports without ID are VMs it did not
   * create), in one batch. VM STATE is the lifecycle engine's business, not stored here.
   */
  async recordVms(hostId: number, msg: MonitorVms): Promise<void> {
    const samples = msg.vms.flatMap((vm) =>
      vm.ID === undefined ? [] : [{ objectId: vm.ID, ts: msg.timestamp, data: vmFigures(vm.MONITOR) }],
    );
    if (samples.length === 0) return;
    const stored = await this.ctx.store.monitoring.insert('vm', samples);
    for (const s of samples) this.#remember(s.objectId, s);
    this.ctx.log.trace({ hostId, vms: samples.length, stored }, 'VM monitoring stored');
  }

  /** The VM's newest sample, if it reported within the raw window (or since start-up). */
  latestVm(vmId: number): TimedFigures | undefined {
    return this.#latest.get(vmId);
  }

  async latestHost(hostId: number): Promise<TimedFigures | undefined> {
    const [sample] = await this.ctx.store.monitoring.latest('host', [hostId]);
    return sample === undefined ? undefined : { ts: sample.ts, data: sample.data };
  }

  /** Drop a VM's latest sample (the VM is DONE); its stored samples expire with the policy. */
  forgetVm(vmId: number): void {
    this.#latest.delete(vmId);
  }

  /**
   * The samples of one object, oldest first. Without a resolution: the buckets that start before
   * the first raw sample in range, then the raw samples.
   */
  async series(kind: MonitoringKind, id: number, query: SeriesQuery): Promise<SeriesPoint[]> {
    const repo = this.ctx.store.monitoring;
    const until = query.until;
    if (query.resolution !== undefined) {
      const resolution = query.resolution;
      const since = resolution > 0 ? bucketStart(query.since, resolution) : query.since;
      const rows = await repo.range(kind, id, { since, until, resolution });
      return rows.map((r) => ({ ...r, resolution }));
    }
    const bucketS = this.policy.bucketS;
    const raw = await repo.range(kind, id, { since: query.since, until, resolution: 0 });
    const buckets = await repo.range(kind, id, {
      since: bucketStart(query.since, bucketS),
      until,
      resolution: bucketS,
    });
    return mergeSeries(raw, buckets, bucketS);
  }

  /** `one.host.monitoring`: USE on the host. */
  async hostSeries(caller: Caller, hostId: number, query: SeriesQuery): Promise<SeriesPoint[]> {
    const host = await this.ctx.store.hosts.get(hostId);
    this.ctx.authorize(caller, { operation: 'USE', object: hostAuthObject(host) }, 'one.host.monitoring');
    return this.series('host', hostId, query);
  }

  /** `one.vm.monitoring`: USE on the VM, locked or not (as `one.vm.info`). */
  async vmSeries(caller: Caller, vmId: number, query: SeriesQuery): Promise<SeriesPoint[]> {
    const vm = await this.ctx.store.vms.get(vmId);
    this.ctx.authorize(
      caller,
      { operation: 'USE', object: ownedAuthObject('VM', vm), ignoreLock: true },
      'one.vm.monitoring',
    );
    return this.series('vm', vmId, query);
  }

  /** At start-up: the newest stored sample of every VM that is not DONE. Returns how many. */
  async load(): Promise<number> {
    // Newest raw sample of every VM that has one (VMs that ended drop out at the next maintain,
    // as they report no more); no VM record is read, so nothing is decoded or cached here.
    const silentSince = this.ctx.now() - this.policy.rawRetentionS;
    const latest = (await this.ctx.store.monitoring.latest('vm')).filter((s) => s.ts >= silentSince);
    for (const s of latest) this.#remember(s.objectId, s);
    return latest.length;
  }

  /**
   * One maintenance pass: raw samples past the raw window (cut at a bucket boundary, so buckets
   * are written whole) become buckets; buckets past their retention go; VMs silent for the raw
   * window leave the latest map.
   */
  async maintain(now: number = this.ctx.now()): Promise<MaintenanceReport> {
    const repo = this.ctx.store.monitoring;
    const olderThan = compactionCutoff(now, this.policy);
    let compacted = 0;
    let buckets = 0;
    let expired = 0;
    for (const kind of MONITORING_KINDS) {
      const c = await repo.compact(kind, { olderThan, bucketS: this.policy.bucketS });
      compacted += c.samples;
      buckets += c.buckets;
      expired += await repo.expire(kind, { olderThan: expiryCutoff(now, this.policy) });
    }
    const silentSince = now - this.policy.rawRetentionS;
    for (const [vmId, sample] of this.#latest) if (sample.ts < silentSince) this.#latest.delete(vmId);
    return { compacted, buckets, expired };
  }

  /** Maintenance every min(rawRetentionS / 4, 300) s; the timer does not keep the process alive. */
  start(): void {
    if (this.#timer !== null) return;
    this.#timer = setInterval(
      () => void this.#maintainInBackground(),
      maintenancePeriodS(this.policy) * 1000,
    );
    this.#timer.unref();
  }

  /** Stops the timer; resolves when a pass in flight has finished. */
  async stop(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    await this.#pass;
  }

  #remember(vmId: number, sample: TimedFigures): void {
    const known = this.#latest.get(vmId);
    if (known === undefined || known.ts <= sample.ts)
      this.#latest.set(vmId, { ts: sample.ts, data: sample.data });
  }

  async #maintainInBackground(): Promise<void> {
    if (this.#pass !== null) return; // the previous pass is still running: skip this tick
    this.#pass = this.maintain().then(
      (report) => this.ctx.log.debug(report, 'monitoring maintenance'),
      (error: unknown) =>
        this.ctx.log.error({ err: error }, 'monitoring maintenance failed; the next pass retries'),
    );
    try {
      await this.#pass;
    } finally {
      this.#pass = null;
    }
  }
}
