/**
 * The lifecycle engine: user actions (dispatch) and driver results (lifecycle) applied through
 * the domain's tables, one transaction per step, one step at a time per VM. Driver operations are
 * rows in `vm_operations` (the VM's operation lock) written with the step; they are sent after the
 * commit, re-sent after a restart or a reconnect (their ids make that safe), and time out.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { AuthObject } from '../../domain/auth/authorize.js';
import type { DatastoreRecord } from '../../domain/datastore/record.js';
import { NimbusError } from '../../domain/errors.js';
import { fitsOnHost } from '../../domain/host/share.js';
import type { HostRecord } from '../../domain/host/record.js';
import { isLockedState } from '../../domain/image/index.js';
import { getSingle, getVectors, setSingle } from '../../domain/template/attributes.js';
import type { Template, VectorValue } from '../../domain/template/types.js';
import {
  allowedActions,
  applyEvent,
  lifecycleView,
  DEFAULT_DRIVER_CAPS,
  errorAttributeText,
  pendingStep,
  planAction,
  recover as planRecover,
  stateLabel,
  VmState,
  LcmState,
  type ActionPlan,
  type Actor,
  type DriverCaps,
  type LogEntry,
  type LifecycleVm,
  type PlacementTarget,
  type RecoverOpName,
  type UserAction,
  type VmEventKind,
} from '../../domain/vm/index.js';
import type { HistoryRecord, VmRecord } from '../../domain/vm/record.js';
import type { AgentCapabilities, MonitorVms, Operation, OperationResult } from '../../protocol/agent.js';
import type { Repositories } from '../../store/index.js';
import type { VmOperationRow } from '../../store/repositories/operations.js';
import type { Caller } from '../caller.js';
import type { ControllerContext } from '../context.js';
import { hostAuthObject } from '../hosts.js';
import { ownedAuthObject } from '../ownership.js';
import { prepareAttachment, resolveAutoNics } from '../vm-allocate.js';
import { applyStep, type StepInput } from './apply.js';
import { allocationOf } from './capacity.js';
import type { PendingChange } from './changes.js';
import type { PlannedOperation } from './operations.js';
import { VmLogFiles } from './vm-log.js';
import { placeVncPort } from './vnc.js';

/** Where the engine sends operations: the agent hub (or a test double). */
export interface OperationSink {
  send(hostId: number, operation: Operation): boolean;
  connected(hostId: number): boolean;
  capabilities(hostId: number): AgentCapabilities | undefined;
}

/** oned.conf VM_ADMIN_OPERATIONS defaults (reference §1.5); everything else is MANAGE. */
const ADMIN_ACTIONS: ReadonlySet<string> = new Set([
  'migrate',
  'live-migrate',
  'poweroff-migrate',
  'poweroff-hard-migrate',
  'delete',
  'recover',
  'retry',
  'deploy',
  'resched',
  'unresched',
  'backup',
  'restore',
  'delete-recreate',
]);

/** Seconds an operation may take before it counts as failed (TIMEOUT). */
export function operationTimeoutS(driver: 'vmm' | 'tm', op: string): number {
  if (driver === 'tm') return op.startsWith('prolog') || op === 'epilog' || op === 'saveas' ? 3600 : 600;
  if (op === 'shutdown') return 300;
  if (op === 'save' || op === 'restore' || op === 'migrate') return 1800;
  return 300;
}

export interface LifecycleRequest {
  readonly action: UserAction;
  /** deploy / migrate: the host and (optional) system datastore. */
  readonly hostId?: number;
  readonly datastoreId?: number;
  /** Check the host's capacity (deploy, migrate, resize). */
  readonly enforce?: boolean;
  /** resize: new figures (missing ones keep the current value). */
  readonly resize?: { readonly cpu?: number; readonly vcpu?: number; readonly memory?: number };
  /** disk-attach / nic-attach: the DISK or NIC vector (read after authorization, so a stranger gets 403/404, not a template error). */
  readonly element?: () => VectorValue;
  readonly diskId?: number;
  readonly nicId?: number;
  /** disk-resize: MB. */
  readonly size?: number;
}

export interface StepAnswer {
  readonly vm: VmRecord;
  readonly notice?: string;
  /** DISK_ID / NIC_ID of an attach. */
  readonly elementId?: number;
}

const INTERNAL: Actor = { uid: 0, gid: 0, requestId: -1 };

function capsOf(c: AgentCapabilities | undefined): DriverCaps {
  return c === undefined
    ? DEFAULT_DRIVER_CAPS
    : { keepSnapshots: c.keepSnapshots, coldNicAttach: c.coldNicAttach, liveResize: c.liveResize };
}

/** A unique, ordered operation id: `v<vm>-<ms base36>-<counter>-<random>`. */
let opCounter = 0;
function newOpId(vmId: number, now: number): string {
  opCounter = (opCounter + 1) % 1_000_000;
  return `v${vmId}-${now.toString(36).padStart(9, '0')}-${String(opCounter).padStart(6, '0')}-${randomBytes(3).toString('hex')}`;
}

interface BuiltStep {
  readonly plan: ActionPlan;
  readonly input?: Partial<StepInput>;
  /** Earlier operations of the VM are superseded (recover, a hard override, a monitor event). */
  readonly supersede?: boolean;
  readonly elementId?: number;
}

export class LifecycleEngine {
  readonly logs: VmLogFiles;
  readonly #queues = new Map<number, Promise<unknown>>();
  /** Operations sent on the current links (cleared per host when its link drops). */
  readonly #sent = new Map<string, number>();
  readonly #lostTimers = new Map<number, NodeJS.Timeout>();
  #sweepTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** Called after each committed step (tests, the scheduler issue's event loop). */
  onStep: (vm: VmRecord, plan: ActionPlan) => void = () => undefined;
  /** Placement passes are asked for when true (the scheduler service sets the hooks below). */
  placement = true;
  /** Set by the scheduler service: asks for a pass soon. */
  onPlacementNeeded: () => void = () => undefined;
  /** Set by the scheduler service: the pass running or queued, if any (for idle()). */
  placementWork: () => Promise<void> | undefined = () => undefined;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly sink: OperationSink,
    private readonly options: { readonly hostLostAfterS: number } = { hostLostAfterS: 30 },
  ) {
    this.logs = new VmLogFiles(join(ctx.config.home, 'vms'), (vmId, error) =>
      ctx.log.error({ vm: vmId, err: error }, 'cannot write vm.log'),
    );
  }

  // ---- start / stop ---------------------------------------------------------------------------

  /** Re-sends what is waiting, starts the timeout sweep and asks for a first placement pass. */
  async start(): Promise<void> {
    // (The scheduler runs its own safety-net pass every scheduler.intervalS.)
    this.#sweepTimer = setInterval(() => void this.#sweep(), 1000);
    this.#sweepTimer.unref();
    const vms = new Set((await this.ctx.store.operations.all()).map((r) => r.vmId));
    for (const vmId of vms) await this.#dispatch(vmId);
    this.kickPlacement();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#sweepTimer !== undefined) clearInterval(this.#sweepTimer);
    for (const t of this.#lostTimers.values()) clearTimeout(t);
    await Promise.allSettled([...this.#queues.values()]);
    await this.placementWork();
    await this.logs.flush();
  }

  /** Resolves when every step queued so far has run (tests). */
  async idle(): Promise<void> {
    for (;;) {
      const pending = [...this.#queues.values()];
      const placement = this.placementWork();
      if (pending.length === 0 && placement === undefined) return;
      await Promise.allSettled([...pending, placement]);
      await new Promise((r) => setImmediate(r));
    }
  }

  // ---- per-VM serialization --------------------------------------------------------------------

  #serialize<T>(vmId: number, work: () => Promise<T>): Promise<T> {
    const previous = this.#queues.get(vmId) ?? Promise.resolve();
    const run = previous.then(work, work);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.#queues.set(vmId, tail);
    void tail.then(() => {
      if (this.#queues.get(vmId) === tail) this.#queues.delete(vmId);
    });
    return run;
  }

  /**
   * One step: in a transaction read the VM, build the plan, apply it, write the operations; then
   * append the log lines and send. `build` throws a NimbusError to refuse.
   */
  async #step(
    vmId: number,
    actor: Actor,
    build: (
      tx: Repositories,
      vm: VmRecord,
      history: HistoryRecord[],
      lvm: LifecycleVm,
    ) => Promise<BuiltStep | null>,
  ): Promise<StepAnswer> {
    return this.#serialize(vmId, async () => {
      const done = await this.ctx.store.transaction(
        async (tx) => {
          const vm = await tx.vms.get(vmId);
          const history = await tx.history.listByVm(vmId);
          const built = await build(tx, vm, history, lifecycleView(vm, history));
          if (built === null) return null;
          const { plan } = built;
          const abandoned = built.supersede === true ? await tx.operations.abandonVm(vmId) : [];
          if (plan.notice !== undefined && plan.transitions.length === 0 && plan.effects.length === 0) {
            return { vm, plan, log: plan.log, elementId: built.elementId };
          }
          const outcome = await applyStep(tx, this.ctx, {
            vm: built.input?.vm ?? vm,
            history,
            plan,
            actor,
            ...built.input,
          });
          await this.#insertOperations(tx, outcome.vm.id, plan.trigger, outcome.operations, abandoned);
          return { vm: outcome.vm, plan, log: outcome.log, elementId: built.elementId };
        },
        { retries: 5 },
      );
      if (done === null) return { vm: await this.ctx.store.vms.get(vmId) };
      await this.#afterCommit(vmId, done.log, done.vm, done.plan);
      return {
        vm: done.vm,
        ...(done.plan.notice !== undefined ? { notice: done.plan.notice } : {}),
        ...(done.elementId !== undefined ? { elementId: done.elementId } : {}),
      };
    });
  }

  /**
   * What follows a committed step: its vm.log lines, the step hook, the VM's next operation, and
   * a placement pass when capacity may have freed or the VM waits for a host.
   */
  async #afterCommit(
    vmId: number,
    log: readonly LogEntry[],
    vm: VmRecord,
    plan: ActionPlan | undefined,
  ): Promise<void> {
    void this.logs.append(vmId, log);
    if (plan !== undefined) this.onStep(vm, plan);
    await this.#dispatch(vmId);
    const freed = plan?.effects.some((e) => e.kind === 'capacity' || e.kind === 'release-resources') ?? false;
    if (freed || (plan !== undefined && vm.state === VmState.PENDING)) this.kickPlacement();
  }

  async #insertOperations(
    tx: Repositories,
    vmId: number,
    trigger: string,
    operations: readonly PlannedOperation[],
    abandoned: readonly VmOperationRow[],
  ): Promise<void> {
    const nowMs = Date.now();
    const last = operations.length - 1;
    for (const [i, op] of operations.entries()) {
      let args = op.args;
      if (op.op === 'driver-cancel') {
        const target = [...abandoned].reverse().find((r) => r.hostId === op.hostId && r.driver === op.driver);
        if (target === undefined) continue; // nothing in flight to cancel
        args = { ...args, target: target.opId };
      }
      const timeoutS = operationTimeoutS(op.driver, op.op);
      await tx.operations.insert({
        opId: newOpId(vmId, nowMs),
        vmId,
        hostId: op.hostId,
        driver: op.driver,
        op: op.op,
        args,
        action: trigger,
        started: nowMs + i,
        deadline: nowMs + timeoutS * 1000,
        state: op.settles ? 'step' : i < last && operations[last]?.settles === true ? 'chain' : 'fire',
      });
    }
  }

  /** Sends the VM's next operation (one at a time per VM, in order) if its host is connected. */
  async #dispatch(vmId: number): Promise<void> {
    const rows = await this.ctx.store.operations.byVm(vmId);
    const head = rows.find((r) => r.state !== 'abandoned');
    if (head === undefined || this.#sent.has(head.opId)) return;
    const operation = {
      type: 'operation',
      opId: head.opId,
      vmId: head.vmId,
      driver: head.driver,
      op: head.op,
      args: head.args,
      timeoutS: Math.max(1, Math.ceil((head.deadline - head.started) / 1000)),
    } as unknown as Operation;
    if (this.sink.send(head.hostId, operation)) this.#sent.set(head.opId, head.hostId);
  }

  // ---- user actions ----------------------------------------------------------------------------

  #authorize(caller: Caller, vm: VmRecord, action: string): void {
    const operation = ADMIN_ACTIONS.has(action) ? 'ADMIN' : 'MANAGE';
    this.ctx.authorize(caller, { operation, object: ownedAuthObject('VM', vm) }, `one.vm.${action}`);
  }

  /** A user action (`one.vm.action`, deploy, migrate, resize, attach …). */
  async request(caller: Caller, vmId: number, req: LifecycleRequest): Promise<StepAnswer> {
    const actor: Actor = { uid: caller.uid, gid: caller.gid, requestId: -1 };
    return this.#step(vmId, actor, async (tx, vm, history, lvm) => {
      this.#authorize(caller, vm, req.action);
      const current = history[history.length - 1];
      const caps = capsOf(current === undefined ? undefined : this.sink.capabilities(current.hid));
      let target: PlacementTarget | undefined;
      if (req.hostId !== undefined) target = await this.#target(tx, caller, vm, req, current);
      const planned = planAction(lvm, req.action, {
        ...(target !== undefined ? { target } : {}),
        driver: caps,
      });
      if (!planned.ok) throw await this.#refusal(tx, vm, planned.error);
      const plan = planned.value;
      if (plan.notice !== undefined) return { plan };
      const prepared = await this.#prepare(tx, caller, vm, req);
      const placedVm =
        target === undefined
          ? prepared.vm
          : await placeVncPort(
              tx,
              this.ctx.config.vncPorts,
              prepared.vm,
              history,
              target.clusterId,
              req.action,
            );
      return {
        plan,
        input: {
          vm: placedVm,
          ...(prepared.change !== undefined ? { change: prepared.change } : {}),
          ...(prepared.resize !== undefined ? { resize: prepared.resize } : {}),
          enforce: req.enforce ?? false,
        },
        supersede: plan.effects.some((e) => e.kind === 'vmm' && e.op === 'driver-cancel'),
        ...(prepared.elementId !== undefined ? { elementId: prepared.elementId } : {}),
      };
    });
  }

  /** `one.vm.recover`: success, failure, retry, delete, delete-recreate, delete-db. */
  async recover(caller: Caller, vmId: number, op: RecoverOpName): Promise<StepAnswer> {
    const actor: Actor = { uid: caller.uid, gid: caller.gid, requestId: -1 };
    if (op === 'retry') {
      // An operation still in flight is re-sent under its own id: the agent joins the run or
      // answers from its record, so a retry never runs finished work twice.
      const resent = await this.#resend(caller, vmId);
      if (resent !== undefined) return resent;
    }
    return this.#step(vmId, actor, async (_tx, vm, history, lvm) => {
      this.ctx.authorize(caller, { operation: 'ADMIN', object: ownedAuthObject('VM', vm) }, 'one.vm.recover');
      const current = history[history.length - 1];
      const caps = capsOf(current === undefined ? undefined : this.sink.capabilities(current.hid));
      const plan = planRecover(lvm, op, { driver: caps });
      if (!plan.ok) throw new NimbusError(plan.error.code, plan.error.message, 'operation');
      return { plan: plan.value, supersede: true };
    });
  }

  async #resend(caller: Caller, vmId: number): Promise<StepAnswer | undefined> {
    return this.#serialize(vmId, async () => {
      const vm = await this.ctx.store.vms.get(vmId);
      this.ctx.authorize(caller, { operation: 'ADMIN', object: ownedAuthObject('VM', vm) }, 'one.vm.recover');
      const live = (await this.ctx.store.operations.byVm(vmId)).filter(
        (r) => r.state !== 'abandoned' && r.deadline > Date.now(),
      );
      const head = live[0];
      if (head === undefined) return undefined;
      this.#sent.delete(head.opId);
      await this.#dispatch(vmId);
      void this.logs.append(vmId, [
        {
          module: 'LCM',
          level: 'I',
          message: `Retrying ${head.driver} ${head.op} (operation ${head.opId} re-sent)`,
        },
      ]);
      return {
        vm,
        notice: `${head.driver} ${head.op} of VM ${vmId} is still in flight on host ${head.hostId}: re-sent`,
      };
    });
  }

  /** Actions allowed now, and the reason for the others (what the UI and CLI show). */
  allowed(vm: VmRecord, history: readonly HistoryRecord[]): ReturnType<typeof allowedActions> {
    const current = history[history.length - 1];
    const caps = capsOf(current === undefined ? undefined : this.sink.capabilities(current.hid));
    return allowedActions(lifecycleView(vm, history), { driver: caps });
  }

  async #refusal(
    tx: Repositories,
    vm: VmRecord,
    error: { code: string; message: string; field?: string },
  ): Promise<NimbusError> {
    const ops = (await tx.operations.byVm(vm.id)).filter((r) => r.state !== 'abandoned');
    const head = ops[0];
    if (error.code !== 'ACTION_NOT_ALLOWED' || head === undefined) {
      return new NimbusError(error.code, error.message, error.field);
    }
    const now = Date.now();
    const age = Math.max(0, Math.round((now - head.started) / 1000));
    const left = Math.max(0, Math.round((head.deadline - now) / 1000));
    return new NimbusError(
      'ACTION_NOT_ALLOWED',
      `${error.message} (busy: ${head.driver} ${head.op} on host ${head.hostId} for ${head.action}, started ${age} s ago, times out in ${left} s)`,
    );
  }

  async #target(
    tx: Repositories,
    caller: Caller,
    vm: VmRecord,
    req: LifecycleRequest,
    current: HistoryRecord | undefined,
  ): Promise<PlacementTarget> {
    const host = await tx.hosts.find(req.hostId as number);
    if (host === undefined) throw new NimbusError('NOT_FOUND', `host ${req.hostId} does not exist`, 'host');
    this.ctx.authorize(caller, { operation: 'MANAGE', object: hostAuthObject(host) }, `one.vm.${req.action}`);
    if (host.state === 8)
      throw new NimbusError('HOST_STATE', `host ${host.id} "${host.name}" is OFFLINE`, 'host');
    const migrating = req.action !== 'deploy';
    if (migrating && current !== undefined && current.hid === host.id && req.datastoreId === undefined) {
      throw new NimbusError(
        'INVALID_ARGUMENT',
        `VM ${vm.id} is already on host ${host.id} "${host.name}"`,
        'host',
      );
    }
    const ds =
      req.datastoreId !== undefined
        ? await tx.datastores.find(req.datastoreId)
        : migrating && current !== undefined
          ? await tx.datastores.find(current.dsId)
          : await this.#systemDatastore(tx, host.clusterId);
    if (ds === undefined) {
      throw new NimbusError(
        'NOT_FOUND',
        req.datastoreId !== undefined
          ? `datastore ${req.datastoreId} does not exist`
          : `cluster ${host.clusterId} of host ${host.id} has no system datastore`,
        'datastore',
      );
    }
    if (ds.type !== 1)
      throw new NimbusError(
        'INVALID_ARGUMENT',
        `datastore ${ds.id} "${ds.name}" is not a system datastore`,
        'datastore',
      );
    const dsAuth: AuthObject = {
      type: 'DATASTORE',
      id: ds.id,
      uid: ds.uid,
      gid: ds.gid,
      permissions: ds.permissions,
      clusterIds: [...ds.clusters],
    };
    this.ctx.authorize(caller, { operation: 'USE', object: dsAuth }, `one.vm.${req.action}`);
    if (req.enforce === true) {
      const alloc = allocationOf(vm.template);
      const free = {
        cpu: host.share.maxCpu - host.share.cpuUsage,
        mem: host.share.maxMem - host.share.memUsage,
      };
      if (alloc.cpu > free.cpu || alloc.mem > free.mem) {
        throw new NimbusError(
          'HOST_CAPACITY',
          `host ${host.id} "${host.name}" has not enough capacity: CPU ${alloc.cpu}/${Math.max(0, free.cpu)}, memory ${alloc.mem}/${Math.max(0, free.mem)} KB`,
          'host',
        );
      }
    }
    return placementTarget(host, ds);
  }

  async #systemDatastore(tx: Repositories, clusterId: number) {
    const all = await tx.datastores.list(undefined, { limit: 100_000 });
    return all.items.find((d) => d.type === 1 && d.state === 0 && d.clusters.includes(clusterId));
  }

  /** Template changes a request makes before its plan runs (attach markers, resize figures). */
  async #prepare(
    tx: Repositories,
    caller: Caller,
    vm: VmRecord,
    req: LifecycleRequest,
  ): Promise<{ vm: VmRecord; change?: PendingChange; resize?: StepInput['resize']; elementId?: number }> {
    const vectors = (name: string): VectorValue[] => getVectors(vm.template, name);
    const replace = (name: string, list: readonly VectorValue[]): Template => ({
      ...vm.template,
      [name]: list,
    });
    switch (req.action) {
      case 'disk-attach':
      case 'nic-attach': {
        const kind = req.action === 'disk-attach' ? 'DISK' : 'NIC';
        if (req.element === undefined)
          throw new NimbusError('INVALID_ARGUMENT', `${req.action} needs a ${kind}`, 'template');
        if (vectors(kind).some((v) => (v['ATTACH'] ?? '').toUpperCase() === 'YES')) {
          throw new NimbusError('ACTION_NOT_ALLOWED', `VM ${vm.id} has a ${kind} attach or detach in flight`);
        }
        const built = await prepareAttachment(
          tx,
          this.ctx,
          caller,
          vm,
          kind,
          req.element(),
          `one.vm.${req.action.replace('-', '')}`,
        );
        const next = { ...vm, template: replace(kind, [...vectors(kind), built.element]) };
        return {
          vm: next,
          change: kind === 'DISK' ? { diskId: built.id } : { nicId: built.id },
          elementId: built.id,
        };
      }
      case 'disk-detach':
      case 'nic-detach':
      case 'disk-resize': {
        const kind = req.action === 'nic-detach' ? 'NIC' : 'DISK';
        const idKey = kind === 'DISK' ? 'DISK_ID' : 'NIC_ID';
        const id = kind === 'DISK' ? req.diskId : req.nicId;
        const list = vectors(kind);
        const found = list.find((v) => Number(v[idKey]) === id);
        if (found === undefined) {
          throw new NimbusError(
            'NOT_FOUND',
            `VM ${vm.id} has no ${kind} with ${idKey} ${id}`,
            kind === 'DISK' ? 'diskId' : 'nicId',
          );
        }
        if (req.action === 'disk-resize') {
          const size = req.size ?? 0;
          const current = Number(found['SIZE'] ?? 0);
          if (!Number.isInteger(size) || size <= current) {
            throw new NimbusError(
              'INVALID_ARGUMENT',
              `new size ${size} MB must be an integer above the current ${current} MB`,
              'size',
            );
          }
          const next = {
            ...vm,
            template: replace(
              'DISK',
              list.map((v) => (v === found ? { ...v, RESIZE: String(size) } : v)),
            ),
          };
          return { vm: next, change: { diskId: id as number, size } };
        }
        const next = {
          ...vm,
          template: replace(
            kind,
            list.map((v) => (v === found ? { ...v, ATTACH: 'YES' } : v)),
          ),
        };
        return { vm: next, change: kind === 'DISK' ? { diskId: id as number } : { nicId: id as number } };
      }
      case 'resize': {
        const r = req.resize ?? {};
        if (r.cpu === undefined && r.vcpu === undefined && r.memory === undefined) {
          throw new NimbusError('INVALID_ARGUMENT', 'give CPU, VCPU or MEMORY', 'CPU');
        }
        const number = (name: string): number => Number(getSingle(vm.template, name) ?? 0);
        const cpu = r.cpu ?? number('CPU');
        const memory = r.memory ?? number('MEMORY');
        const vcpu = r.vcpu ?? (number('VCPU') || Math.max(1, Math.ceil(cpu)));
        if (!(cpu > 0)) throw new NimbusError('INVALID_ARGUMENT', 'CPU must be a positive number', 'CPU');
        if (!Number.isInteger(vcpu) || vcpu < 1)
          throw new NimbusError('INVALID_ARGUMENT', 'VCPU must be a positive integer', 'VCPU');
        if (!Number.isInteger(memory) || memory < 1)
          throw new NimbusError('INVALID_ARGUMENT', 'MEMORY must be a positive integer (MB)', 'MEMORY');
        return { vm, resize: { cpu, vcpu, memory } };
      }
      default:
        return { vm };
    }
  }

  // ---- driver results --------------------------------------------------------------------------

  async onResult(hostId: number | null, result: OperationResult): Promise<void> {
    // After stop() the row stays and is re-sent at the next start (its id makes that safe).
    if (this.#stopped) return;
    await this.#serialize(result.vmId, async () => {
      const done = await this.ctx.store.transaction(
        async (tx) => {
          const row = await tx.operations.get(result.opId);
          if (row === undefined || (hostId !== null && row.hostId !== hostId)) return null;
          await tx.operations.delete(row.opId);
          const vm = await tx.vms.find(row.vmId);
          if (vm === undefined) return null;
          const failure = result.ok ? undefined : result.error;
          const opName = `${row.driver} ${row.op}`;
          if (row.state === 'abandoned') {
            const log =
              failure === undefined
                ? []
                : [
                    {
                      module: row.driver === 'tm' ? 'TrM' : 'VMM',
                      level: 'W',
                      message: `Ignored: ${opName} of a superseded step failed: ${failure.message}`,
                    } as const,
                  ];
            return { vm, log, plan: undefined };
          }
          if (row.state === 'fire') {
            // No step waits for it (reboot, a cleanup): OpenNebula's protocol handler logs the
            // failure and keeps it in USER_TEMPLATE/ERROR; the state does not change.
            if (failure === undefined) return { vm, log: [], plan: undefined };
            const line = driverErrorLine(row, failure.message);
            const written = await tx.vms.update({
              ...vm,
              userTemplate: setSingle(vm.userTemplate, 'ERROR', errorAttributeText(new Date(), line.message)),
            });
            return { vm: written, log: [line], plan: undefined };
          }
          if (row.state === 'chain') {
            if (result.ok) {
              if (row.op === 'migrate' && result.value.target !== undefined) {
                const next = (await tx.operations.byVm(row.vmId)).find((r) => r.state !== 'abandoned');
                if (next !== undefined && next.op === 'migrate') {
                  await tx.operations.updateArgs(next.opId, { role: 'send', target: result.value.target });
                }
              }
              return { vm, log: [], plan: undefined };
            }
            await tx.operations.abandonVm(row.vmId);
          }
          const history = await tx.history.listByVm(vm.id);
          const lvm = lifecycleView(vm, history);
          const step = pendingStep(lvm);
          if (step === undefined) {
            return {
              vm,
              log: [
                {
                  module: 'VMM',
                  level: 'W',
                  message: `Ignored: ${opName} result for VM in ${stateLabel(vm.state, vm.lcmState)}`,
                } as const,
              ],
              plan: undefined,
            };
          }
          const kind: VmEventKind = result.ok ? step.success : step.failure;
          const caps = capsOf(this.sink.capabilities(row.hostId));
          const planned = applyEvent(
            lvm,
            {
              kind,
              ...(failure !== undefined ? { message: failure.message } : {}),
              ...(result.ok && result.value.deployId !== undefined
                ? { deployId: result.value.deployId }
                : {}),
            },
            { now: Math.floor(this.ctx.now()), driver: caps },
          );
          if (!planned.ok) {
            return {
              vm,
              log: [{ module: 'LCM', level: 'E', message: planned.error.message } as const],
              plan: undefined,
            };
          }
          let plan = planned.value;
          if (failure !== undefined && !plan.effects.some((e) => e.kind === 'error-message')) {
            // The rule has no driver report of its own: log and keep the driver's message the way
            // OpenNebula's protocol handler does for every failure.
            const line = driverErrorLine(row, failure.message);
            plan = {
              ...plan,
              log: [line, ...plan.log],
              effects: [
                {
                  kind: 'error-message',
                  message: line.message,
                  text: errorAttributeText(new Date(), line.message),
                },
                ...plan.effects,
              ],
            };
          }
          const outcome = await applyStep(tx, this.ctx, {
            vm,
            history,
            plan,
            actor: INTERNAL,
          });
          await this.#insertOperations(tx, vm.id, plan.trigger, outcome.operations, []);
          return { vm: outcome.vm, log: outcome.log, plan };
        },
        { retries: 5 },
      );
      this.#sent.delete(result.opId);
      if (done === null) return;
      await this.#afterCommit(result.vmId, done.log, done.vm, done.plan);
    });
  }

  /** Operations past their deadline fail with TIMEOUT; abandoned ones are forgotten. */
  async #sweep(): Promise<void> {
    if (this.#stopped) return;
    try {
      const now = Date.now();
      for (const row of await this.ctx.store.operations.due(now)) {
        if (row.state === 'abandoned') {
          await this.ctx.store.operations.delete(row.opId);
          this.#sent.delete(row.opId);
          continue;
        }
        const seconds = Math.round((row.deadline - row.started) / 1000);
        await this.onResult(null, {
          type: 'result',
          opId: row.opId,
          vmId: row.vmId,
          ok: false,
          error: {
            code: 'TIMEOUT',
            message: `${row.op} of one-${row.vmId} on host ${row.hostId} did not answer in ${seconds} s`,
            step: row.op,
          },
        });
      }
    } catch (e) {
      if (!this.#stopped) this.ctx.log.error({ err: e }, 'operation timeout sweep failed');
    }
  }

  // ---- image copies ---------------------------------------------------------------------------

  /**
   * An image copy ended: VMs waiting for it in CLONING move on — to PENDING (HOLD when submitted
   * on hold) once none of their images is still being copied, or to CLONING_FAILURE.
   */
  async imageCopyEnded(imageId: number, ok: boolean): Promise<void> {
    const image = await this.ctx.store.images.find(imageId);
    if (image === undefined) return;
    for (const vmId of image.vms) {
      await this.#step(vmId, INTERNAL, async (tx, vm, _history, lvm) => {
        if (vm.state !== VmState.CLONING && vm.state !== VmState.CLONING_FAILURE) return null;
        if (ok) {
          for (const disk of getVectors(vm.template, 'DISK')) {
            const other =
              disk['IMAGE_ID'] === undefined ? undefined : await tx.images.find(Number(disk['IMAGE_ID']));
            if (other !== undefined && isLockedState(other.state)) return null; // still copying
          }
        }
        const onHold =
          (
            getSingle(vm.userTemplate, 'SUBMIT_ON_HOLD') ??
            getSingle(vm.template, 'SUBMIT_ON_HOLD') ??
            ''
          ).toUpperCase() === 'YES';
        const planned = applyEvent(
          lvm,
          {
            kind: ok ? 'clone-success' : 'clone-failure',
            onHold,
            ...(ok ? {} : { message: `image ${imageId} could not be copied` }),
          },
          { now: Math.floor(this.ctx.now()) },
        );
        return planned.ok && planned.value.transitions.length > 0 ? { plan: planned.value } : null;
      }).catch((e: unknown) =>
        this.ctx.log.warn({ vm: vmId, image: imageId, err: e }, 'CLONING VM not moved on'),
      );
    }
  }

  // ---- hosts and monitoring ---------------------------------------------------------------------

  /** A host's agent connected: send what waits for it. */
  async hostConnected(hostId: number): Promise<void> {
    const timer = this.#lostTimers.get(hostId);
    if (timer !== undefined) clearTimeout(timer);
    this.#lostTimers.delete(hostId);
    for (const [opId, host] of this.#sent) if (host === hostId) this.#sent.delete(opId);
    const vms = new Set((await this.ctx.store.operations.byHost(hostId)).map((r) => r.vmId));
    for (const vmId of vms) await this.#dispatch(vmId);
  }

  /** The link dropped: after `hostLostAfterS` without a new one, the host is ERROR and its VMs UNKNOWN. */
  hostDisconnected(hostId: number): void {
    for (const [opId, host] of this.#sent) if (host === hostId) this.#sent.delete(opId);
    if (this.#stopped || this.#lostTimers.has(hostId)) return;
    const timer = setTimeout(() => {
      this.#lostTimers.delete(hostId);
      if (this.#stopped || this.sink.connected(hostId)) return;
      void this.#hostLost(hostId).catch((e: unknown) =>
        this.ctx.log.error({ err: e, host: hostId }, 'host loss handling failed'),
      );
    }, this.options.hostLostAfterS * 1000);
    timer.unref();
    this.#lostTimers.set(hostId, timer);
  }

  async #hostLost(hostId: number): Promise<void> {
    await this.ctx.store.transaction(
      async (tx) => {
        const host = await tx.hosts.find(hostId);
        if (host === undefined || host.state === 3 || host.state === 4 || host.state === 8) return;
        await tx.hosts.update({ ...host, prevState: host.state, state: 3 });
      },
      { retries: 5 },
    );
    this.ctx.log.warn({ host: hostId }, 'host agent lost: host ERROR, its VMs UNKNOWN');
    const vms = await this.ctx.store.vms.list({ hostId, state: VmState.ACTIVE }, { limit: 1_000_000 });
    for (const vm of vms.items) {
      if (vm.lcmState !== LcmState.RUNNING) continue;
      await this.monitorEvent(vm.id, 'vm-missing', hostId);
    }
  }

  /** First report after a (re)connect: INIT or ERROR hosts are MONITORED again. */
  async hostReported(hostId: number): Promise<void> {
    const host = await this.ctx.store.hosts.find(hostId);
    if (host === undefined || (host.state !== 0 && host.state !== 3)) return;
    await this.ctx.store.transaction(
      async (tx) => {
        const h = await tx.hosts.get(hostId);
        if (h.state === 0 || h.state === 3) await tx.hosts.update({ ...h, prevState: h.state, state: 2 });
      },
      { retries: 5 },
    );
    this.kickPlacement();
  }

  /** What a VM report means for each VM the controller has on the host (reference §3.7). */
  async onVmsReport(hostId: number, report: MonitorVms): Promise<void> {
    const reported = new Map<number, MonitorVms['vms'][number]>();
    for (const r of report.vms) if (r.ID !== undefined) reported.set(r.ID, r);
    const placed = await this.ctx.store.vms.placedOn(hostId, [
      VmState.ACTIVE,
      VmState.POWEROFF,
      VmState.SUSPENDED,
    ]);
    const lastOf = await this.ctx.store.history.lastOf(placed.map((v) => v.id));
    for (const vm of placed) {
      const last = lastOf.get(vm.id);
      if (last === undefined || last.hid !== hostId) continue;
      const r = reported.get(vm.id);
      let kind: VmEventKind | undefined;
      if (r === undefined) {
        // A report taken before the VM started running does not say it is gone.
        if (!report.complete || report.timestamp <= Math.max(last.rstime, last.stime)) continue;
        if (vm.state === VmState.ACTIVE && vm.lcmState === LcmState.RUNNING) kind = 'vm-missing';
        else if (vm.state === VmState.ACTIVE && isShutdown(vm.lcmState)) kind = 'vm-gone-while-shutdown';
      } else if (r.STATE === 'RUNNING') {
        if (
          (vm.state === VmState.ACTIVE && vm.lcmState === LcmState.UNKNOWN) ||
          vm.state === VmState.POWEROFF ||
          vm.state === VmState.SUSPENDED
        ) {
          kind = 'vm-found-running';
        }
      } else if (r.STATE === 'POWEROFF') {
        if (
          vm.state === VmState.ACTIVE &&
          (vm.lcmState === LcmState.RUNNING || vm.lcmState === LcmState.UNKNOWN || isShutdown(vm.lcmState))
        ) {
          kind = 'vm-reported-poweroff';
        }
      } else if (r.STATE === 'SUSPENDED') {
        if (
          vm.state === VmState.ACTIVE &&
          (vm.lcmState === LcmState.RUNNING || vm.lcmState === LcmState.UNKNOWN)
        )
          kind = 'vm-reported-suspended';
      }
      if (kind !== undefined) await this.monitorEvent(vm.id, kind, hostId);
    }
  }

  /** A monitoring event for one VM; ignored (no transaction) when it changes nothing. */
  async monitorEvent(vmId: number, kind: VmEventKind, hostId: number): Promise<void> {
    await this.#step(vmId, INTERNAL, async (_tx, _vm, history, lvm) => {
      if (history[history.length - 1]?.hid !== hostId) return null;
      const planned = applyEvent(
        lvm,
        { kind },
        { now: Math.floor(this.ctx.now()), driver: capsOf(this.sink.capabilities(hostId)) },
      );
      if (!planned.ok || (planned.value.transitions.length === 0 && planned.value.effects.length === 0))
        return null;
      return { plan: planned.value, supersede: true };
    }).catch((e: unknown) =>
      this.ctx.log.warn({ vm: vmId, event: kind, err: e }, 'monitoring event not applied'),
    );
  }

  // ---- placement: the scheduler service decides, the engine deploys --------------------------

  /** Asks the scheduler for a pass soon (a VM became PENDING, capacity freed, a host appeared). */
  kickPlacement(): void {
    if (!this.placement || this.#stopped) return;
    this.onPlacementNeeded();
  }

  /**
   * Deploys (or, for a RESCHED VM, migrates) a VM where the scheduler placed it, in one step:
   * the host, datastore and capacity are checked again in the transaction, leases are taken for
   * `NETWORK_MODE = "auto"` NICs, and SCHED_MESSAGE is cleared. False when the VM or the host
   * moved on meanwhile (the next pass looks again).
   */
  async place(
    owner: Caller,
    placement: {
      readonly vmId: number;
      readonly hostId: number;
      readonly dsId: number;
      readonly nics: readonly { readonly nicId: number; readonly networkId: number }[];
      readonly resched: boolean;
    },
    options: { readonly live: boolean } = { live: false },
  ): Promise<boolean> {
    if (this.#stopped) return false;
    let placed = false;
    await this.#step(placement.vmId, INTERNAL, async (tx, fresh, history, lvm) => {
      placed = false; // a retried transaction decides again
      if (placement.resched ? !fresh.resched : fresh.state !== VmState.PENDING) return null;
      const host = await tx.hosts.find(placement.hostId);
      const ds = await tx.datastores.find(placement.dsId);
      if (host === undefined || ds === undefined || (host.state !== 1 && host.state !== 2)) return null;
      if (!fitsOnHost(host.share, allocationOf(fresh.template)).ok) {
        this.ctx.log.debug(
          { vm: fresh.id, host: host.id },
          `Host ${host.id} no longer meets requirements for VM ${fresh.id}`,
        );
        return null;
      }
      const target = placementTarget(host, ds);
      const action = placement.resched ? (options.live ? 'live-migrate' : 'migrate') : 'deploy';
      const plan = planAction(lvm, action, { target, driver: capsOf(this.sink.capabilities(host.id)) });
      if (!plan.ok) return null;
      const withNics = await resolveAutoNics(tx, this.ctx, owner, fresh, placement.nics);
      const withPort = await placeVncPort(
        tx,
        this.ctx.config.vncPorts,
        withNics,
        history,
        host.clusterId,
        action,
      );
      const { SCHED_MESSAGE: _cleared, ...userTemplate } = withPort.userTemplate;
      placed = true;
      return { plan: plan.value, input: { vm: { ...withPort, userTemplate } } };
    });
    return placed;
  }

  /**
   * Writes SCHED_MESSAGE into PENDING VMs' user templates (`one.vm.update … 1` in OpenNebula),
   * up to 200 VMs per transaction. Not serialized with the VMs' steps: a step that changed a VM
   * meanwhile makes the version check fail and the batch is retried on fresh records.
   */
  async setSchedMessages(
    messages: readonly { readonly vmId: number; readonly message: string }[],
  ): Promise<void> {
    for (let i = 0; i < messages.length && !this.#stopped; i += 200) {
      const batch = messages.slice(i, i + 200);
      await this.ctx.store.transaction(
        async (tx) => {
          for (const { vmId, message } of batch) {
            const vm = await tx.vms.find(vmId);
            if (vm === undefined || vm.state !== VmState.PENDING) continue;
            if (getSingle(vm.userTemplate, 'SCHED_MESSAGE') === message) continue;
            await tx.vms.update({
              ...vm,
              userTemplate: setSingle(vm.userTemplate, 'SCHED_MESSAGE', message),
            });
          }
        },
        { retries: 5 },
      );
    }
  }

  /** SCHED_PENDING_TIMEOUT: a PENDING VM the scheduler cannot place goes to HOLD, saying why. */
  async holdPending(vmId: number, message: string): Promise<boolean> {
    if (this.#stopped) return false;
    let held = false;
    await this.#step(vmId, INTERNAL, async (_tx, fresh, _history, lvm) => {
      held = false; // a retried transaction decides again
      if (fresh.state !== VmState.PENDING) return null;
      const plan = planAction(lvm, 'hold', { driver: DEFAULT_DRIVER_CAPS });
      if (!plan.ok) return null;
      held = true;
      return {
        plan: plan.value,
        input: { vm: { ...fresh, userTemplate: setSingle(fresh.userTemplate, 'SCHED_MESSAGE', message) } },
      };
    });
    if (held)
      void this.logs.append(vmId, [
        { module: 'VM', level: 'I', message: `Held by the scheduler: ${message}` },
      ]);
    return held;
  }
}

/** `[VMM][E]: REBOOT: <driver message>` (reference §10.2: the driver failure line). */
function driverErrorLine(row: VmOperationRow, message: string): LogEntry {
  const detail = message.trim() === '' ? 'failed' : message.trim();
  return {
    module: row.driver === 'tm' ? 'TrM' : 'VMM',
    level: 'E',
    message: `${row.op.toUpperCase().replace(/-/g, '_')}: ${detail}`,
  };
}

/** Where a deploy or migration goes: the host and the system datastore. */
function placementTarget(
  host: Pick<HostRecord, 'id' | 'name' | 'clusterId' | 'vmMad'>,
  ds: Pick<DatastoreRecord, 'id' | 'tmMad'>,
): PlacementTarget {
  return {
    hostId: host.id,
    hostname: host.name,
    clusterId: host.clusterId,
    vmMad: host.vmMad,
    tmMad: ds.tmMad,
    dsId: ds.id,
  };
}

function isShutdown(lcm: number): boolean {
  return (
    lcm === LcmState.SHUTDOWN || lcm === LcmState.SHUTDOWN_POWEROFF || lcm === LcmState.SHUTDOWN_UNDEPLOY
  );
}
