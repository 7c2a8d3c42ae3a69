/**
 * The scheduler in the controller: event-driven passes over a store snapshot. A pass runs as soon
 * as a VM becomes PENDING, capacity frees or a host appears (the lifecycle engine asks through
 * `kickPlacement`), and every `intervalS` as a safety net; one pass at a time, and the next one
 * starts after the previous one's deploys committed, so capacity is never counted twice.
 *
 * For every VM it cannot place it writes SCHED_MESSAGE (`<ctime>: <text>`), logs the match-making
 * result in sched.log, and after SCHED_PENDING_TIMEOUT moves the VM to HOLD.
 */
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { DatastoreRecord } from '../../domain/datastore/record.js';
import { getSingle } from '../../domain/template/attributes.js';
import { ctime, formatLogLine } from '../../domain/vm/log.js';
import type { VmRecord } from '../../domain/vm/record.js';
import { schedOptions, type SchedulerConfig } from '../../scheduler/config.js';
import { atLevel, passLogLines, type SchedLogLine } from '../../scheduler/log.js';
import type { SchedGroup, SchedOptions } from '../../scheduler/model.js';
import {
  explainPlacement,
  schedule,
  type PassResult,
  type PlacementExplanation,
} from '../../scheduler/pass.js';
import type { Store } from '../../store/index.js';
import { AuthService } from '../auth.js';
import type { Caller } from '../caller.js';
import type { ControllerContext } from '../context.js';
import { DatastoreService } from '../datastores.js';
import type { LifecycleEngine } from '../lifecycle/engine.js';
import { readSnapshot, schedVm } from './snapshot.js';

/** Deploy steps started together; each batch commits before the next starts. */
const DISPATCH_BATCH = 200;
const MEASURE_EVERY_MS = 10_000;

export interface PassSummary {
  readonly at: number;
  readonly vms: number;
  readonly placed: number;
  readonly unplaced: number;
  readonly deferred: number;
  readonly ms: number;
}

export class SchedulerService {
  readonly #pendingSince = new Map<number, number>();
  /** The last message written per VM (not rewritten while unchanged). */
  readonly #messages = new Map<number, string>();
  readonly #auth: AuthService;
  readonly #datastores: DatastoreService;
  readonly #measuredAt = new Map<number, number>();
  readonly #logFile: string;
  #timer: NodeJS.Timeout | undefined;
  #queued = false;
  #running: Promise<void> | undefined;
  #stopped = false;
  #logTail: Promise<void> = Promise.resolve();
  /** VMs found by the last pass that had any (sched.log's `Found <n>` line). */
  #lastFound = 0;
  /** The current MAX_DISPATCH / MAX_HOST window. */
  #window = { start: 0, dispatched: 0, perHost: new Map<number, number>() };
  /** The latest pass that had VMs to consider, for status and tests. */
  last: PassSummary | undefined;
  /** Passes run since start (including those that found nothing to do). */
  passes = 0;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly engine: LifecycleEngine,
    private readonly config: SchedulerConfig,
    private readonly groups: (store: Store) => Promise<SchedGroup[]> = async () => [],
    private readonly log: Logger = ctx.log,
  ) {
    this.#auth = new AuthService(ctx);
    this.#datastores = new DatastoreService(ctx);
    this.#logFile = join(ctx.config.home, 'sched.log');
  }

  start(): void {
    this.engine.onPlacementNeeded = () => this.kick();
    this.engine.placementWork = () => this.#work();
    this.#timer = setInterval(() => this.kick(), this.config.intervalS * 1000);
    this.#timer.unref();
    this.kick();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.#running;
    await this.#logTail;
  }

  /** Asks for a pass soon; requests while one runs coalesce into one more pass after it. */
  kick(): void {
    if (this.#stopped || this.#queued) return;
    this.#queued = true;
    setImmediate(() => {
      this.#queued = false;
      if (this.#running !== undefined) {
        void this.#running.then(() => this.kick());
        return;
      }
      this.#running = this.#pass()
        .catch((e: unknown) => this.log.error({ err: e }, 'scheduling pass failed'))
        .finally(() => {
          this.#running = undefined;
        });
    });
  }

  #work(): Promise<void> | undefined {
    if (this.#running !== undefined) return this.#running;
    if (this.#queued) return new Promise((r) => setImmediate(r)).then(() => this.#running);
    return undefined;
  }

  async #pass(): Promise<void> {
    const started = performance.now();
    this.passes++;
    const { input, vms } = await readSnapshot(this.ctx, this.groups, {
      resched: true,
      measure: (ds) => this.#measured(ds),
    });
    if (input.vms.length === 0) {
      this.#pendingSince.clear();
      this.#messages.clear();
      this.#lastFound = 0;
      return;
    }
    const now = Date.now();
    const result = schedule(input, this.#limitedOptions(now));
    this.#countDispatched(result);
    const lines = passLogLines(
      input.vms,
      result,
      (vmId, message) => this.#messages.get(vmId) !== message,
      this.config.maxDispatch,
    );
    // A pass with nothing new to say (the same VMs waiting for the same reasons) is not logged.
    if (lines.length > 1 || input.vms.length !== this.#lastFound) this.#appendLog(lines);
    this.#lastFound = input.vms.length;
    const failed = await this.#dispatch(result, vms);
    await this.#explainUnplaced([...result.unplaced, ...failed], vms, now);
    // Forget VMs no longer pending.
    const live = new Set(input.vms.map((v) => v.id));
    for (const id of this.#pendingSince.keys()) if (!live.has(id)) this.#pendingSince.delete(id);
    for (const id of this.#messages.keys()) if (!live.has(id)) this.#messages.delete(id);
    this.last = {
      at: now,
      vms: input.vms.length,
      placed: result.placements.length,
      unplaced: result.unplaced.length,
      deferred: result.deferred.length,
      ms: Math.round((performance.now() - started) * 10) / 10,
    };
  }

  /**
   * MAX_DISPATCH and MAX_HOST, when set, count per `intervalS` window across passes (OpenNebula
   * counts them per cycle); event-driven passes in between only use what is left of the window.
   */
  #limitedOptions(now: number): SchedOptions {
    const options = schedOptions(this.config);
    if (this.config.maxDispatch === 0 && this.config.maxHost === 0) return options;
    if (now - this.#window.start >= this.config.intervalS * 1000) {
      this.#window = { start: now, dispatched: 0, perHost: new Map() };
    }
    return {
      ...options,
      maxDispatch: Math.max(0, options.maxDispatch - this.#window.dispatched),
      dispatchedToHost: this.#window.perHost,
    };
  }

  #countDispatched(result: PassResult): void {
    if (this.config.maxDispatch === 0 && this.config.maxHost === 0) return;
    this.#window.dispatched += result.placements.length;
    for (const p of result.placements)
      this.#window.perHost.set(p.hostId, (this.#window.perHost.get(p.hostId) ?? 0) + 1);
  }

  /** Deploys the placements; returns the VMs whose deploy was refused, with the reason. */
  async #dispatch(
    result: PassResult,
    vms: ReadonlyMap<number, VmRecord>,
  ): Promise<{ vmId: number; message: string }[]> {
    const failed: { vmId: number; message: string }[] = [];
    const owners = new Map<number, Promise<Caller | undefined>>();
    const ownerOf = (uid: number): Promise<Caller | undefined> => {
      let c = owners.get(uid);
      if (c === undefined) {
        c = this.ctx.store.users
          .find(uid)
          .then((u) => (u === undefined ? undefined : this.#auth.callerFor(u, null)));
        owners.set(uid, c);
      }
      return c;
    };
    for (let i = 0; i < result.placements.length && !this.#stopped; i += DISPATCH_BATCH) {
      await Promise.all(
        result.placements.slice(i, i + DISPATCH_BATCH).map(async (p) => {
          const vm = vms.get(p.vmId);
          const owner = vm === undefined ? undefined : await ownerOf(vm.uid);
          if (owner === undefined) return;
          try {
            const placed = await this.engine.place(owner, p, { live: this.config.liveRescheds });
            if (placed) {
              this.#pendingSince.delete(p.vmId);
              this.#messages.delete(p.vmId);
            }
          } catch (e) {
            // A refusal in the deploy step (a quota on the leases of auto NICs, a race the
            // snapshot could not see): the VM stays PENDING and says why; logged when new.
            const reason = (e as Error).message;
            const message = `Cannot dispatch VM: ${reason}`;
            if (this.#messages.get(p.vmId) !== message) {
              this.#appendLog([
                {
                  module: 'VM',
                  level: 'E',
                  message: `Error deploying virtual machine ${p.vmId} to HID: ${p.hostId}. Reason: ${reason}`,
                },
              ]);
              this.log.warn({ vm: p.vmId, host: p.hostId, err: e }, 'scheduled deploy failed');
            }
            failed.push({ vmId: p.vmId, message });
          }
        }),
      );
    }
    return failed;
  }

  async #explainUnplaced(
    unplaced: readonly { readonly vmId: number; readonly message: string }[],
    vms: ReadonlyMap<number, VmRecord>,
    now: number,
  ): Promise<void> {
    const stamp = ctime(new Date(now));
    const messages: { vmId: number; message: string }[] = [];
    for (const u of unplaced) {
      if (this.#stopped) return;
      const vm = vms.get(u.vmId);
      if (vm === undefined || vm.resched) continue;
      const since = this.#pendingSince.get(u.vmId) ?? now;
      this.#pendingSince.set(u.vmId, since);
      const timeout = pendingTimeoutS(vm, this.config.pendingTimeoutS);
      if (timeout > 0 && now - since >= timeout * 1000) {
        const message = `${stamp}: ${u.message} (held after ${Math.round((now - since) / 1000)} s pending, SCHED_PENDING_TIMEOUT = ${timeout})`;
        if (await this.engine.holdPending(u.vmId, message)) {
          this.#appendLog([{ module: 'SCHED', level: 'I', message: `VM ${u.vmId} held: ${message}` }]);
          this.#pendingSince.delete(u.vmId);
          this.#messages.delete(u.vmId);
        }
        continue;
      }
      if (this.#messages.get(u.vmId) === u.message) continue;
      this.#messages.set(u.vmId, u.message);
      messages.push({ vmId: u.vmId, message: `${stamp}: ${u.message}` });
    }
    try {
      await this.engine.setSchedMessages(messages);
    } catch (e) {
      for (const m of messages) this.#messages.delete(m.vmId); // written again next pass
      throw e;
    }
  }

  /** The full placement explanation of one VM, on the current figures (nothing is placed). */
  async explain(vm: VmRecord): Promise<PlacementExplanation> {
    const { input } = await readSnapshot(this.ctx, this.groups, {
      resched: false,
      emptyPass: true,
      measure: (ds) => this.#measured(ds),
    });
    const history = vm.resched ? (await this.ctx.store.history.lastOf([vm.id])).get(vm.id) : undefined;
    const target = schedVm(
      vm,
      history === undefined ? undefined : { hostId: history.hid, dsId: history.dsId },
    );
    return explainPlacement(
      { ...input, vms: [...input.vms.filter((v) => v.id !== vm.id), target] },
      schedOptions(this.config),
      target,
    );
  }

  /** System datastores are measured (statfs) at most every MEASURE_EVERY_MS each. */
  async #measured(ds: DatastoreRecord): Promise<DatastoreRecord> {
    const at = this.#measuredAt.get(ds.id) ?? 0;
    if (ds.totalMb > 0 && Date.now() - at < MEASURE_EVERY_MS) return ds;
    this.#measuredAt.set(ds.id, Date.now());
    try {
      return await this.#datastores.measure(ds);
    } catch (e) {
      this.log.warn({ ds: ds.id, err: e }, 'cannot measure system datastore');
      return ds;
    }
  }

  /** When the VM was first seen pending by this process (epoch ms), if it is. */
  pendingSince(vmId: number): number | undefined {
    return this.#pendingSince.get(vmId);
  }

  /** Appends the lines at or below `scheduler.logLevel` to sched.log. */
  #appendLog(all: readonly SchedLogLine[]): void {
    const lines = atLevel(all, this.config.logLevel);
    if (lines.length === 0) return;
    const now = new Date();
    const text = lines.map((l) => formatLogLine(now, { zone: 0, ...l })).join('\n');
    this.#logTail = this.#logTail
      .then(() => appendFile(this.#logFile, `${text}\n`, { mode: 0o640 }))
      .catch((e: unknown) => this.log.error({ err: e }, 'cannot write sched.log'));
  }
}

/** SCHED_PENDING_TIMEOUT of the VM (seconds), or the configured default. */
export function pendingTimeoutS(vm: VmRecord, fallback: number): number {
  const own =
    getSingle(vm.userTemplate, 'SCHED_PENDING_TIMEOUT') ?? getSingle(vm.template, 'SCHED_PENDING_TIMEOUT');
  const n = own === undefined ? NaN : Number(own);
  return Number.isFinite(n) && n >= 0 ? n : fallback;
}
