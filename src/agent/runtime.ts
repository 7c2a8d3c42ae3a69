/**
 * The host agent: dials the controller, says hello, and once welcomed runs the operations it is
 * sent (each at most once per opId, through the OperationRecord), pushes monitoring, and keeps
 * the link alive with pings. A lost link is dialled again with exponential backoff and full
 * jitter; VMs keep running while the agent is away. Transport-agnostic: `connect` hands it an
 * AgentLinkEnd (WebSocket for remote hosts, an in-memory pair for simulated ones).
 */
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { NimbusError, type Result } from '../domain/errors.js';
import {
  AGENT_PROTOCOL_VERSION,
  VMM_OPS,
  deployIdOf,
  type AgentCapabilities,
  type AgentMessage,
  type AgentToController,
  type Hello,
  type Operation,
  type OperationFailure,
  type OperationValue,
  type Refusal,
  type VmReport,
  type Welcome,
} from '../protocol/agent.js';
import type { AgentLinkEnd } from '../protocol/link.js';
import { OperationRecord } from './operations.js';
import { openTransfer, transferOperations, type TransferDriver } from './transfer.js';
import {
  DRIVER_NAMES,
  VMM_OPS_RUN_BY_DRIVERS,
  loadDriver,
  performVmmOperation,
  type DriverCapabilities,
  type DriverClock,
  type HypervisorDriver,
  type OperationContext,
  type PolledVm,
} from './vmm/index.js';

export const AGENT_VERSION = '0.1.0';

/** What an operation answers; the record keeps it so a re-sent operation gets the same answer. */
export type OperationOutcome = Result<OperationValue, OperationFailure>;

export type AgentState = 'connecting' | 'connected' | 'stopped' | 'refused';

/** The subset of pino the runtime logs with. */
export interface AgentLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug?(obj: object, msg?: string): void;
}

export interface AgentBackoff {
  /** First reconnect delay cap (ms), doubled per failed attempt. */
  readonly initialMs?: number;
  readonly maxMs?: number;
  /** A connection that lasted this long starts the doubling again from initialMs. */
  readonly resetAfterMs?: number;
}

export interface AgentRuntimeOptions {
  readonly hostId: number;
  readonly credential: Hello['credential'];
  /** VM_MAD: `dummy`, `qemu`. */
  readonly driverName: string;
  /** `<stateDir>/operations.json` is the operation record; drivers keep their files here too. */
  readonly stateDir: string;
  /** Dials the controller once; rejects on failure. */
  connect(signal: AbortSignal): Promise<AgentLinkEnd>;
  /** Welcome carried a host key: persist it. Later dials use it whatever this answers. */
  onHostKey?(key: string): Promise<void>;
  readonly log?: AgentLog;
  readonly clock?: DriverClock;
  readonly backoff?: AgentBackoff;
  /** Jitter source in [0, 1). */
  readonly random?: () => number;
  readonly agentVersion?: string;
  /**
   * The operation record and driver state files: how many finished operations to remember
   * (default 10,000) and whether writes are fsync'd (default true). Simulated hosts inside nimbusd
   * keep fewer and skip fsync: they die with nimbusd, and the controller re-sends.
   */
  readonly records?: { readonly capacity?: number; readonly durable?: boolean };
}

export interface AgentRuntimeEvents {
  state: [state: AgentState];
  welcome: [welcome: Welcome];
  disconnected: [reason: string];
  /** An operation answered (also when replayed from the record). */
  result: [opId: string, outcome: OperationOutcome, replayed: boolean];
}

export const DEFAULT_BACKOFF = { initialMs: 500, maxMs: 30_000, resetAfterMs: 60_000 } as const;
/** A link that says nothing after hello is closed and dialled again. */
export const WELCOME_TIMEOUT_MS = 30_000;
/** Missed pongs in a row that close the link. */
export const MISSED_PONGS_LIMIT = 3;
/** At most one progress message per operation in this period (100 % always goes). */
export const PROGRESS_INTERVAL_MS = 250;
/** stop() waits this long for running operations. */
export const STOP_GRACE_MS = 5_000;
/** After an abort, how long a driver gets to stop before the abort is answered anyway. */
export const ABORT_GRACE_MS = 5_000;

/**
 * Capabilities per VM_MAD, known before welcome (the driver loads only once welcome brings the
 * host attributes). A test checks them against the loaded drivers.
 */
export const DRIVER_CAPABILITIES: Readonly<Record<string, DriverCapabilities>> = {
  dummy: { keepSnapshots: true, coldNicAttach: false, liveResize: true, liveMigrate: true },
};

/**
 * Hello's capabilities for `driverName`. One flat list of op names serves VMM and TM: a TM op
 * whose name is also a VMM op this agent does not run (snapshot-create ...) is left out, so the
 * list never claims what one of the two cannot do. Throws for a driver this agent cannot run.
 */
export function helloCapabilities(driverName: string): AgentCapabilities {
  const caps = DRIVER_CAPABILITIES[driverName];
  if (caps === undefined) {
    throw (DRIVER_NAMES as readonly string[]).includes(driverName)
      ? new NimbusError(
          'DRIVER_NOT_AVAILABLE',
          `hypervisor driver "${driverName}" is not available yet in this build of the agent; use "dummy"`,
        )
      : new NimbusError(
          'DRIVER_UNKNOWN',
          `hypervisor driver "${driverName}" is unknown; drivers are ${DRIVER_NAMES.join(', ')}`,
        );
  }
  const vmmRun: readonly string[] = [...VMM_OPS_RUN_BY_DRIVERS, 'driver-cancel'];
  const vmmAll: readonly string[] = VMM_OPS;
  const tm = transferOperations(driverName).filter((op) => !vmmAll.includes(op) || vmmRun.includes(op));
  return { ...caps, operations: [...new Set([...vmmRun, ...tm])] };
}

interface RunningOperation {
  readonly operation: Operation;
  readonly controller: AbortController;
  abortedBy?:
    | { readonly kind: 'timeout' }
    | { readonly kind: 'cancel'; readonly by: string }
    | { readonly kind: 'stop' };
}

/** One dialled link and what lives as long as it does. */
class Session {
  welcomeTimer: NodeJS.Timeout | undefined;
  timers: NodeJS.Timeout[] = [];
  /** Set by welcome: resolves true once the driver is loaded and operations may run. */
  ready: Promise<boolean> | undefined;
  welcomed = false;
  pingSeq = 0;
  missedPongs = 0;
  readonly busy = { host: false, vms: false };

  constructor(readonly link: AgentLinkEnd) {}

  clearTimers(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
  }

  end(): void {
    clearTimeout(this.welcomeTimer);
    this.clearTimers();
  }
}

const SILENT: AgentLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

const errorText = (error: unknown): string =>
  error instanceof NimbusError
    ? `${error.code}: ${error.message}`
    : error instanceof Error
      ? error.message
      : String(error);

export class AgentRuntime {
  readonly events = new EventEmitter<AgentRuntimeEvents>();
  private currentState: AgentState = 'stopped';
  private welcomes = 0;
  private lastRefusal: Refusal | undefined;

  private readonly log: AgentLog;
  private readonly backoffMs: Required<AgentBackoff>;
  private readonly random: () => number;
  private readonly capabilities: AgentCapabilities;
  private credential: Hello['credential'];

  private record: OperationRecord<OperationOutcome> | undefined;
  private driver: HypervisorDriver | undefined;

  /** The loaded driver (after the first welcome): fault injection in tests (`DummyDriver.simulate`). */
  get loadedDriver(): HypervisorDriver | undefined {
    return this.driver;
  }
  private transfer: TransferDriver | undefined;
  /** The host attributes the driver was loaded with (canonical JSON). */
  private driverAttributes: string | undefined;
  /** Driver loads and reloads, one at a time. */
  private driverQueue: Promise<unknown> = Promise.resolve();

  private session: Session | undefined;
  private readonly running = new Map<string, RunningOperation>();
  /** Operation handlers in flight (run and answer), for stop(). */
  private readonly inflight = new Set<Promise<void>>();
  private readonly lifetime = new AbortController();
  private loop: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private attempt = 0;

  constructor(private readonly options: AgentRuntimeOptions) {
    this.log = options.log ?? SILENT;
    this.backoffMs = {
      initialMs: options.backoff?.initialMs ?? DEFAULT_BACKOFF.initialMs,
      maxMs: options.backoff?.maxMs ?? DEFAULT_BACKOFF.maxMs,
      resetAfterMs: options.backoff?.resetAfterMs ?? DEFAULT_BACKOFF.resetAfterMs,
    };
    this.random = options.random ?? Math.random;
    this.credential = options.credential;
    this.capabilities = helloCapabilities(options.driverName);
  }

  /** 'stopped' before start() and after stop(). */
  get state(): AgentState {
    return this.currentState;
  }

  /** Welcomes received (successful connections). */
  get connections(): number {
    return this.welcomes;
  }

  /** The last refusal; with `state === 'refused'` the one that stopped the agent. */
  get refusal(): Refusal | undefined {
    return this.lastRefusal;
  }

  /** Opens the operation record and starts dialling; resolves once the first dial has begun. */
  async start(): Promise<void> {
    if (this.loop !== undefined || this.stopping !== undefined) {
      throw new NimbusError('AGENT_STARTED', `the agent of host ${this.options.hostId} was already started`);
    }
    this.record = await OperationRecord.open<OperationOutcome>({
      file: join(this.options.stateDir, 'operations.json'),
      ...(this.options.records?.capacity !== undefined ? { capacity: this.options.records.capacity } : {}),
      durable: this.options.records?.durable ?? true,
    });
    this.loop = this.dialLoop().catch((error: unknown) =>
      this.log.error({ err: errorText(error) }, `agent loop failed: ${errorText(error)}`),
    );
  }

  /**
   * Stops dialling, closes the link, waits for running operations (at most 5 s, then aborts
   * them: they are not recorded and run again when re-sent), closes the driver, flushes the record.
   */
  stop(): Promise<void> {
    return this.shutdown('stopped');
  }

  // ---- the connection loop ---------------------------------------------------------------------

  private async dialLoop(): Promise<void> {
    const signal = this.lifetime.signal;
    while (!signal.aborted) {
      this.setState('connecting');
      let link: AgentLinkEnd;
      try {
        link = await this.options.connect(signal);
      } catch (error) {
        if (signal.aborted) break;
        this.log.warn(
          { err: errorText(error), attempt: this.attempt },
          `cannot reach the controller: ${errorText(error)}`,
        );
        await this.pauseBeforeDial();
        continue;
      }
      if (signal.aborted) {
        link.close('agent stopping');
        break;
      }
      const since = performance.now();
      await this.serve(link);
      if (signal.aborted) break;
      if (performance.now() - since >= this.backoffMs.resetAfterMs) this.attempt = 0;
      await this.pauseBeforeDial();
    }
  }

  /** Full jitter: random() x min(maxMs, initialMs x 2^attempt). */
  private async pauseBeforeDial(): Promise<void> {
    const cap = Math.min(this.backoffMs.maxMs, this.backoffMs.initialMs * 2 ** Math.min(this.attempt, 30));
    const delayMs = Math.round(this.random() * cap);
    this.attempt++;
    this.log.info({ delayMs, attempt: this.attempt }, `dialling the controller again in ${delayMs} ms`);
    const signal = this.lifetime.signal;
    if (signal.aborted) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, delayMs);
      function done(): void {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** Says hello on `link` and serves it; resolves with the close reason. */
  private serve(link: AgentLinkEnd): Promise<string> {
    return new Promise<string>((resolve) => {
      const session = new Session(link);
      this.session = session;
      link.onMessage((message) => this.receive(session, message));
      link.onInvalid((error) =>
        this.log.warn(
          { code: error.code, peer: link.peer },
          `invalid frame from the controller: ${error.message}`,
        ),
      );
      link.onClose((reason) => {
        session.end();
        if (this.session === session) this.session = undefined;
        this.log.info({ peer: link.peer, reason }, `link to the controller closed: ${reason}`);
        this.events.emit('disconnected', reason);
        if (!this.lifetime.signal.aborted) this.setState('connecting');
        resolve(reason);
      });
      session.welcomeTimer = setTimeout(
        () => link.close(`no welcome within ${WELCOME_TIMEOUT_MS / 1000} s of hello`),
        WELCOME_TIMEOUT_MS,
      );
      this.log.info(
        { peer: link.peer, credential: this.credential.kind },
        `connected to ${link.peer}, saying hello`,
      );
      this.sendOn(link, {
        type: 'hello',
        protocol: AGENT_PROTOCOL_VERSION,
        hostId: this.options.hostId,
        credential: this.credential,
        agentVersion: this.options.agentVersion ?? AGENT_VERSION,
        driver: this.options.driverName,
        capabilities: this.capabilities,
      });
    });
  }

  private receive(session: Session, message: AgentMessage): void {
    switch (message.type) {
      case 'welcome':
        this.welcome(session, message);
        return;
      case 'refusal':
        this.refused(session, message);
        return;
      case 'operation':
        this.track(this.operation(session, message));
        return;
      case 'ping':
        this.sendOn(session.link, { type: 'pong', seq: message.seq });
        return;
      case 'pong':
        session.missedPongs = 0;
        return;
      default:
        this.log.warn(
          { type: message.type },
          `the controller sent "${message.type}", which only agents send`,
        );
    }
  }

  // ---- welcome and refusal -------------------------------------------------------------------

  private welcome(session: Session, welcome: Welcome): void {
    clearTimeout(session.welcomeTimer);
    const link = session.link;
    if (welcome.hostId !== this.options.hostId || welcome.protocol !== AGENT_PROTOCOL_VERSION) {
      const why =
        welcome.hostId !== this.options.hostId
          ? `welcome is for host ${welcome.hostId}, this agent is host ${this.options.hostId}`
          : `welcome speaks protocol ${welcome.protocol}, this agent ${AGENT_PROTOCOL_VERSION}`;
      this.log.error({ peer: link.peer }, why);
      link.close(why);
      return;
    }
    session.ready = (async (): Promise<boolean> => {
      if (welcome.hostKey !== undefined) await this.adoptHostKey(welcome.hostKey);
      const loaded = await this.ensureDriver(welcome.hostAttributes);
      if (!loaded.ok) {
        const why = `driver "${this.options.driverName}" did not load: ${loaded.error.code}: ${loaded.error.message}`;
        this.log.error({ code: loaded.error.code }, why);
        link.close(why);
        return false;
      }
      if (link.closed) return false;
      session.welcomed = true;
      this.welcomes++;
      this.log.info(
        { peer: link.peer, connections: this.welcomes },
        `welcomed by ${link.peer} as host ${welcome.hostId}`,
      );
      this.setState('connected');
      this.events.emit('welcome', welcome);
      this.startMonitoring(session, welcome.intervals);
      return true;
    })();
  }

  private refused(session: Session, refusal: Refusal): void {
    this.lastRefusal = refusal;
    this.log.error(
      { code: refusal.code, retry: refusal.retry },
      `the controller refused this agent: ${refusal.code}: ${refusal.message}`,
    );
    if (refusal.retry) {
      session.link.close(`refused: ${refusal.code}`);
      return;
    }
    this.setState('refused');
    void this.shutdown('refused');
  }

  private async adoptHostKey(key: string): Promise<void> {
    if (this.credential.kind === 'host-key' && this.credential.key === key) return;
    try {
      await this.options.onHostKey?.(key);
      this.log.info({}, 'host key received and stored; later dials use it');
    } catch (error) {
      this.log.error(
        { err: errorText(error) },
        `could not store the host key (${errorText(error)}): this run uses it, but a restart will need a new join token`,
      );
    }
    this.credential = { kind: 'host-key', key };
  }

  /** Loads the driver once; reloads it when the host attributes changed and nothing runs. */
  private ensureDriver(attributes: Readonly<Record<string, string>>): Promise<Result<void>> {
    const next = this.driverQueue.then(async (): Promise<Result<void>> => {
      if (this.lifetime.signal.aborted) {
        return { ok: false, error: { code: 'AGENT_STOPPING', message: 'the agent is stopping' } };
      }
      const key = JSON.stringify(Object.entries(attributes).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
      if (this.driver !== undefined) {
        if (key === this.driverAttributes) return { ok: true, value: undefined };
        if (this.running.size > 0) {
          this.log.info(
            { running: this.running.size },
            'host attributes changed; keeping the loaded driver while operations run',
          );
          return { ok: true, value: undefined };
        }
        this.log.info({}, 'host attributes changed; reloading the driver');
        const old = this.driver;
        this.driver = undefined;
        this.transfer = undefined;
        await old.close();
      }
      try {
        const driverOptions = {
          hostId: this.options.hostId,
          stateDir: this.options.stateDir,
          attributes,
          durable: this.options.records?.durable ?? true,
          ...(this.options.clock === undefined ? {} : { clock: this.options.clock }),
        };
        const driver = await loadDriver(this.options.driverName, driverOptions);
        try {
          this.transfer = openTransfer(this.options.driverName, driverOptions);
        } catch (error) {
          await driver.close();
          throw error;
        }
        this.driver = driver;
        this.driverAttributes = key;
        return { ok: true, value: undefined };
      } catch (error) {
        const code = error instanceof NimbusError ? error.code : 'DRIVER_LOAD_FAILED';
        return {
          ok: false,
          error: { code, message: error instanceof Error ? error.message : String(error) },
        };
      }
    });
    this.driverQueue = next;
    return next;
  }

  // ---- monitoring and heartbeat --------------------------------------------------------------

  private startMonitoring(session: Session, intervals: Welcome['intervals']): void {
    session.clearTimers();
    session.missedPongs = 0;
    void this.reportHost(session).then(() => this.reportVms(session));
    session.timers.push(
      setInterval(() => void this.reportHost(session), intervals.monitorHostS * 1000),
      setInterval(() => void this.reportVms(session), intervals.monitorVmsS * 1000),
      setInterval(() => this.ping(session), intervals.pingS * 1000),
    );
  }

  private async reportHost(session: Session): Promise<void> {
    const driver = this.driver;
    if (driver === undefined || session.busy.host) return;
    session.busy.host = true;
    try {
      const report = await driver.hostInfo();
      if (!report.ok) {
        this.log.warn({ code: report.error.code }, `host monitoring failed: ${report.error.message}`);
        return;
      }
      this.sendOn(session.link, {
        type: 'monitor-host',
        timestamp: report.value.timestamp,
        host: report.value.host,
      });
    } catch (error) {
      this.log.error({ err: errorText(error) }, `host monitoring failed: ${errorText(error)}`);
    } finally {
      session.busy.host = false;
    }
  }

  private async reportVms(session: Session): Promise<void> {
    const driver = this.driver;
    if (driver === undefined || session.busy.vms) return;
    session.busy.vms = true;
    try {
      const report = await driver.poll();
      if (!report.ok) {
        this.log.warn({ code: report.error.code }, `VM monitoring failed: ${report.error.message}`);
        return;
      }
      this.sendOn(session.link, {
        type: 'monitor-vms',
        timestamp: report.value.timestamp,
        complete: true,
        vms: report.value.vms.map(vmReport),
      });
    } catch (error) {
      this.log.error({ err: errorText(error) }, `VM monitoring failed: ${errorText(error)}`);
    } finally {
      session.busy.vms = false;
    }
  }

  private ping(session: Session): void {
    if (session.missedPongs >= MISSED_PONGS_LIMIT) {
      session.link.close(`no pong to ${MISSED_PONGS_LIMIT} pings in a row`);
      return;
    }
    session.missedPongs++;
    this.sendOn(session.link, { type: 'ping', seq: session.pingSeq++ });
  }

  // ---- operations ----------------------------------------------------------------------------

  private async operation(session: Session, operation: Operation): Promise<void> {
    const ready = await session.ready;
    if (ready !== true) {
      if (ready === undefined) {
        this.log.warn(
          { opId: operation.opId },
          `operation ${operation.opId} arrived before welcome; ignored`,
        );
      }
      return;
    }
    const record = this.record!;
    const { opId, vmId, op } = operation;
    const description = `${operation.driver} ${op} vm ${vmId}`;
    const known = record.get(opId);
    // A re-send of a running operation: its result goes out on the current link when it ends.
    if (known?.state === 'running' && known.description === description) {
      this.log.debug?.({ opId }, `operation ${opId} is running already; its result follows`);
      return;
    }
    let outcome: OperationOutcome;
    let replayed = false;
    try {
      const answer = await record.runOnce(opId, description, () => this.perform(operation));
      if (answer.ok) {
        outcome = answer.value.result;
        replayed = answer.value.replayed;
      } else {
        outcome = { ok: false, error: { code: answer.error.code, message: answer.error.message, step: op } };
      }
    } catch (error) {
      if (this.lifetime.signal.aborted) return; // interrupted by stop(): not recorded, runs again when re-sent
      this.log.error(
        { opId, err: errorText(error) },
        `operation ${opId} (${description}) failed in the agent`,
      );
      outcome = {
        ok: false,
        error: {
          code: 'AGENT_FAULT',
          message: `${op} of ${this.deployIdOf(operation)}: ${errorText(error)}`,
          step: op,
        },
      };
    }
    const logLine = outcome.ok
      ? `${description} (${opId}) done${replayed ? ' (from the record)' : ''}`
      : `${description} (${opId}) failed: ${outcome.error.code}: ${outcome.error.message}`;
    this.log.info({ opId, ok: outcome.ok, replayed }, logLine);
    const fromRecord = replayed ? { replayed: true } : {};
    this.sendLive(
      outcome.ok
        ? { type: 'result', opId, vmId, ok: true, value: outcome.value, ...fromRecord }
        : { type: 'result', opId, vmId, ok: false, error: outcome.error, ...fromRecord },
    );
    this.events.emit('result', opId, outcome, replayed);
  }

  /** One run of an operation; throws (so nothing is recorded) only when stop() interrupted it. */
  private async perform(operation: Operation): Promise<OperationOutcome> {
    if (operation.op === 'driver-cancel') return this.cancelTarget(operation);
    const driver = this.driver;
    if (driver === undefined) {
      throw new NimbusError('DRIVER_NOT_LOADED', 'no driver is loaded (the link closed meanwhile)');
    }
    const entry: RunningOperation = { operation, controller: new AbortController() };
    this.running.set(operation.opId, entry);
    const timer =
      operation.timeoutS === undefined
        ? undefined
        : setTimeout(() => this.abort(entry, { kind: 'timeout' }), operation.timeoutS * 1000);
    const ctx: OperationContext = {
      signal: entry.controller.signal,
      progress: this.progressSender(operation.opId),
    };
    try {
      let work: Promise<OperationOutcome>;
      if (operation.driver === 'vmm') work = performVmmOperation(driver, operation, ctx);
      else if (this.transfer !== undefined) work = this.transfer.perform(operation, ctx);
      else {
        work = Promise.resolve({
          ok: false,
          error: {
            code: 'NOT_SUPPORTED',
            message: `the ${this.options.driverName} host has no transfer driver yet; "${operation.op}" is not run`,
            step: operation.op,
          },
        });
      }
      const outcome = await this.settleAfterAbort(work, entry.controller.signal);
      if (outcome?.ok === true) return outcome;
      return this.abortOutcome(entry) ?? outcome!;
    } finally {
      clearTimeout(timer);
      this.running.delete(operation.opId);
    }
  }

  private cancelTarget(operation: Operation): OperationOutcome {
    const target = (operation.args as { target?: string }).target;
    if (target === undefined) {
      return {
        ok: false,
        error: {
          code: 'BAD_OPERATION',
          message: 'driver-cancel names no args.target',
          step: 'driver-cancel',
        },
      };
    }
    const entry = this.running.get(target);
    if (entry === undefined) {
      this.log.info(
        { opId: operation.opId, target },
        `driver-cancel: ${target} is not running; nothing to cancel`,
      );
    } else {
      this.log.info({ opId: operation.opId, target }, `driver-cancel: aborting ${target}`);
      this.abort(entry, { kind: 'cancel', by: operation.opId });
    }
    return { ok: true, value: {} };
  }

  private abort(entry: RunningOperation, why: NonNullable<RunningOperation['abortedBy']>): void {
    if (entry.abortedBy !== undefined) return;
    entry.abortedBy = why;
    const { op } = entry.operation;
    entry.controller.abort(
      why.kind === 'timeout'
        ? `${op} timed out`
        : why.kind === 'cancel'
          ? `cancelled by ${why.by}`
          : 'the agent is stopping',
    );
  }

  /**
   * The driver's answer; once aborted it gets ABORT_GRACE_MS to stop, then undefined (a stuck
   * driver does not hold the answer forever).
   */
  private settleAfterAbort(
    work: Promise<OperationOutcome>,
    signal: AbortSignal,
  ): Promise<OperationOutcome | undefined> {
    return new Promise((resolve, reject) => {
      let grace: NodeJS.Timeout | undefined;
      const onAbort = (): void => {
        grace = setTimeout(() => resolve(undefined), ABORT_GRACE_MS);
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      const finish = (): void => {
        clearTimeout(grace);
        signal.removeEventListener('abort', onAbort);
      };
      work.then(
        (outcome) => {
          finish();
          resolve(outcome);
        },
        (error: unknown) => {
          finish();
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }

  /** The answer of an aborted operation, or undefined when it was not aborted. */
  private abortOutcome(entry: RunningOperation): OperationOutcome | undefined {
    const why = entry.abortedBy;
    if (why === undefined) return undefined;
    const { op, timeoutS } = entry.operation;
    const subject = `${op} of ${this.deployIdOf(entry.operation)}`;
    if (why.kind === 'stop')
      throw new NimbusError('AGENT_STOPPING', `${subject} interrupted: the agent is stopping`);
    if (why.kind === 'timeout') {
      return {
        ok: false,
        error: { code: 'TIMEOUT', message: `${subject} did not finish in ${timeoutS} s`, step: op },
      };
    }
    return {
      ok: false,
      error: { code: 'CANCELLED', message: `${subject} was cancelled by operation ${why.by}`, step: op },
    };
  }

  private progressSender(opId: string): (percent: number, message: string) => void {
    let last = -Infinity;
    return (percent, message) => {
      const now = performance.now();
      if (percent < 100 && now - last < PROGRESS_INTERVAL_MS) return;
      last = now;
      this.sendLive({
        type: 'progress',
        opId,
        percent: Math.max(0, Math.min(100, percent)),
        message: message.slice(0, 1024),
      });
    };
  }

  private deployIdOf(operation: Operation): string {
    return operation.deployId ?? deployIdOf(operation.vmId);
  }

  // ---- sending, state, shutdown --------------------------------------------------------------

  private sendOn(link: AgentLinkEnd, message: AgentToController): void {
    if (link.closed) return;
    try {
      link.send(message);
    } catch (error) {
      this.log.error(
        { type: message.type, err: errorText(error) },
        `could not send ${message.type}: ${errorText(error)}`,
      );
    }
  }

  /** On the current welcomed link; dropped otherwise (the controller re-sends what it misses). */
  private sendLive(message: AgentToController): void {
    const session = this.session;
    if (session?.welcomed === true) this.sendOn(session.link, message);
    else this.log.debug?.({ type: message.type }, `no link: ${message.type} not sent`);
  }

  private track(work: Promise<void>): void {
    const tracked = work.catch((error: unknown) =>
      this.log.error({ err: errorText(error) }, `operation handler failed: ${errorText(error)}`),
    );
    this.inflight.add(tracked);
    void tracked.finally(() => this.inflight.delete(tracked));
  }

  private setState(state: AgentState): void {
    if (this.currentState === state || this.currentState === 'refused') return;
    this.currentState = state;
    this.events.emit('state', state);
  }

  private shutdown(final: 'stopped' | 'refused'): Promise<void> {
    this.stopping ??= (async () => {
      this.lifetime.abort();
      const session = this.session;
      session?.end();
      session?.link.close(
        final === 'refused' ? `refused: ${this.lastRefusal?.code ?? ''}` : 'agent stopping',
      );
      if (!(await settlesWithin(Promise.allSettled([...this.inflight]), STOP_GRACE_MS))) {
        this.log.warn(
          { running: this.running.size },
          `operations still running after ${STOP_GRACE_MS / 1000} s; aborting them`,
        );
        for (const entry of this.running.values()) this.abort(entry, { kind: 'stop' });
        await settlesWithin(Promise.allSettled([...this.inflight]), ABORT_GRACE_MS);
      }
      if (this.loop !== undefined) await settlesWithin(this.loop, STOP_GRACE_MS);
      await this.driverQueue.catch(() => undefined);
      const driver = this.driver;
      this.driver = undefined;
      this.transfer = undefined;
      try {
        await driver?.close();
        await this.record?.flush();
      } catch (error) {
        this.log.error({ err: errorText(error) }, `could not flush the agent's state: ${errorText(error)}`);
      }
      this.setState(final);
      this.log.info(
        { state: this.currentState },
        `agent of host ${this.options.hostId} ${this.currentState}`,
      );
    })();
    return this.stopping;
  }
}

function vmReport(vm: PolledVm): VmReport {
  return {
    DEPLOY_ID: vm.deployId,
    ...(vm.vmId === undefined ? {} : { ID: vm.vmId }),
    STATE: vm.state,
    MONITOR: vm.monitor,
  };
}

/** True when `work` settled within `ms`. */
async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([work.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
