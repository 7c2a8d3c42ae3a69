/**
 * Applies one lifecycle plan (`planAction`, `applyEvent`, `recover`) to the records, inside the
 * caller's transaction: the VM's state and attributes, its HISTORY, host capacity, released
 * resources, pending hotplug changes, and the driver operations to send once it commits.
 */
import { diskMayHaveBeenWritten, vmFailurePhase } from '../../domain/image/index.js';
import { getSingle, getVectors, removeAttribute, setSingle } from '../../domain/template/attributes.js';
import {
  applyHistoryEffect,
  LcmState,
  lcmStateName,
  pendingStep,
  stateName,
  VmState,
  type ActionPlan,
  type Actor,
  type HistoryEffect,
  type LogEntry,
} from '../../domain/vm/index.js';
import type { HistoryRecord, VmRecord } from '../../domain/vm/record.js';
import type { Repositories } from '../../store/index.js';
import type { ControllerContext } from '../context.js';
import { chargeQuota, releaseQuota } from '../quotas.js';
import { recomputeAutomaticRequirements, releaseHeldResources } from '../vm-allocate.js';
import { withGraphics } from './vnc.js';
import { allocationOf, figure, holdsCapacity, moveCapacity } from './capacity.js';
import { finishChange, type PendingChange } from './changes.js';
import { plannedOperations, type PlannedOperation } from './operations.js';

const RUNNING_QUOTA_STATES: ReadonlySet<number> = new Set([
  VmState.INIT,
  VmState.PENDING,
  VmState.HOLD,
  VmState.ACTIVE,
  VmState.CLONING,
  VmState.CLONING_FAILURE,
]);

/** A VM on its way down (EPILOG*, CLEANUP*) no longer counts as running. */
const ENDING_LCM: ReadonlySet<number> = new Set([
  LcmState.EPILOG,
  LcmState.EPILOG_STOP,
  LcmState.EPILOG_UNDEPLOY,
  LcmState.EPILOG_FAILURE,
  LcmState.EPILOG_STOP_FAILURE,
  LcmState.EPILOG_UNDEPLOY_FAILURE,
  LcmState.CLEANUP_RESUBMIT,
  LcmState.CLEANUP_DELETE,
]);

function holdsRunningQuota(state: number, lcmState = 0): boolean {
  return RUNNING_QUOTA_STATES.has(state) && !(state === VmState.ACTIVE && ENDING_LCM.has(lcmState));
}

export interface StepInput {
  readonly vm: VmRecord;
  readonly history: readonly HistoryRecord[];
  readonly plan: ActionPlan;
  readonly actor: Actor;
  /** A resize request: the new figures (the `capacity resize` effect checks and sets them). */
  readonly resize?: { readonly cpu: number; readonly vcpu: number; readonly memory: number };
  /** Check capacity when placing (an admin's deploy/migrate without --enforce skips it). */
  readonly enforce?: boolean;
  /** The disk / NIC a hotplug or disk resize is about. */
  readonly change?: PendingChange;
  /** Images whose own read or copy failed (release rules after a failure). */
  readonly faultImageIds?: readonly number[];
}

export interface StepOutcome {
  readonly vm: VmRecord;
  readonly history: readonly HistoryRecord[];
  readonly operations: readonly PlannedOperation[];
  readonly log: readonly LogEntry[];
}

/** Runs the plan's effects; the records are written, the operations returned (not sent). */
export async function applyStep(
  tx: Repositories,
  ctx: ControllerContext,
  input: StepInput,
): Promise<StepOutcome> {
  const { plan } = input;
  const now = Math.floor(ctx.now());
  let vm = input.vm;
  let history: readonly HistoryRecord[] = input.history;
  const historyCtx = { oid: vm.id, now, actor: input.actor };
  const log: LogEntry[] = [...plan.log];
  let release: { persistentImagesToError: boolean } | undefined;
  const hostOf = (ref: 'current' | 'previous'): HistoryRecord | undefined =>
    history[ref === 'current' ? history.length - 1 : history.length - 2];

  for (const effect of plan.effects) {
    switch (effect.kind) {
      case 'history':
        history = applyHistoryEffect(history, effect as HistoryEffect, historyCtx);
        break;
      case 'capacity': {
        if (effect.op === 'resize') {
          const r = input.resize;
          if (r === undefined) break;
          const before = allocationOf(vm.template);
          let template = setSingle(vm.template, 'CPU', String(r.cpu));
          template = setSingle(template, 'VCPU', String(r.vcpu));
          template = setSingle(template, 'MEMORY', String(r.memory));
          const after = allocationOf(template);
          // CPU / MEMORY quota follow the new figures (and RUNNING_* while they are held).
          const dCpu = r.cpu - figure(vm.template, 'CPU');
          const dMem = r.memory - figure(vm.template, 'MEMORY');
          const running = holdsRunningQuota(vm.state, vm.lcmState);
          if (dCpu > 0 || dMem > 0) {
            await chargeQuota(
              tx,
              vm,
              { vmPart: { cpu: Math.max(0, dCpu), memory: Math.max(0, dMem), totals: true, running } },
              'one.vm.resize',
            );
          }
          if (dCpu < 0 || dMem < 0) {
            await releaseQuota(tx, vm, {
              vmPart: { cpu: Math.max(0, -dCpu), memory: Math.max(0, -dMem), totals: true, running },
            });
          }
          if (vm.hostId !== null && holdsCapacity(vm)) {
            await moveCapacity(tx, vm.hostId, vm.id, 'remove', before, false);
            await moveCapacity(tx, vm.hostId, vm.id, 'add', after, input.enforce ?? true);
          }
          const live = plan.effects.some((e) => e.kind === 'vmm' && e.op === 'resize');
          if (live) {
            const previous: Record<string, string> = {};
            for (const name of ['CPU', 'VCPU', 'MEMORY']) {
              const value = getSingle(vm.template, name);
              if (value !== undefined) previous[name] = value;
            }
            template = { ...template, RESIZE_PREVIOUS: [previous] };
          }
          vm = { ...vm, template };
          break;
        }
        const record = hostOf(effect.host);
        if (record === undefined) break;
        if (effect.host === 'previous' && record.hid === hostOf('current')?.hid) break;
        await moveCapacity(tx, record.hid, vm.id, effect.op, allocationOf(vm.template), false);
        break;
      }
      case 'resched':
        vm = { ...vm, resched: effect.value };
        break;
      case 'deploy-id':
        vm = { ...vm, deployId: effect.value };
        break;
      case 'error-message':
        vm = { ...vm, userTemplate: setSingle(vm.userTemplate, 'ERROR', effect.text) };
        break;
      case 'drop-system-snapshots':
        vm = { ...vm, template: removeAttribute(vm.template, 'SNAPSHOT') };
        break;
      case 'finish-change':
        vm = await finishChange(tx, ctx, vm, effect.change, effect.outcome);
        break;
      case 'release-resources':
        release = { persistentImagesToError: effect.persistentImagesToError };
        break;
      case 'requirements':
        vm = await recomputeAutomaticRequirements(tx, ctx, vm);
        break;
      case 'vnc-port':
        vm = await applyVncEffect(tx, vm, effect.op, hostOf('current'), hostOf('previous'));
        break;
      case 'drop-disk-snapshots':
      case 'record':
      case 'images':
      case 'tm':
      case 'vmm':
        break;
    }
  }

  const next = plan.next;
  const changed = next.state !== plan.from.state || next.lcmState !== plan.from.lcmState;
  vm = {
    ...vm,
    state: next.state,
    lcmState: next.lcmState,
    ...(changed ? { prevState: plan.from.state, prevLcmState: plan.from.lcmState } : {}),
    hostId: history[history.length - 1]?.hid ?? vm.hostId,
    ...(next.state === VmState.DONE && vm.etime === 0 ? { etime: now } : {}),
  };

  // RUNNING_* quota (reference §11.6): held while the VM is INIT, PENDING, HOLD, ACTIVE or
  // CLONING; given back when it powers off, suspends, stops or undeploys, taken again (and
  // checked: a resume past the quota is refused) when it comes back.
  const runningBefore = holdsRunningQuota(plan.from.state, plan.from.lcmState);
  const runningAfter = holdsRunningQuota(next.state, next.lcmState);
  if (next.state !== VmState.DONE && runningBefore !== runningAfter) {
    const alloc = {
      cpu: figure(vm.template, 'CPU'),
      memory: figure(vm.template, 'MEMORY'),
      totals: false,
      running: true,
    };
    if (runningAfter) await chargeQuota(tx, vm, { vmPart: alloc }, `one.vm.${plan.trigger}`);
    else await releaseQuota(tx, vm, { vmPart: alloc });
  }

  if (release !== undefined) {
    const phase = vmFailurePhase(stateName(plan.from.state), lcmStateName(plan.from.lcmState));
    const failed = release.persistentImagesToError || (input.faultImageIds?.length ?? 0) > 0;
    await releaseHeldResources(
      tx,
      ctx,
      vm,
      failed
        ? {
            phase,
            faultImageIds: input.faultImageIds ?? [],
            // OpenNebula errors every persistent image here; Nimbus only when a guest may have
            // written it (it reached RUNNING) — a failed prolog or boot never did.
            diskWasWritten: release.persistentImagesToError && diskMayHaveBeenWritten(phase),
            reason: getSingle(vm.userTemplate, 'ERROR') ?? '',
          }
        : undefined,
      runningBefore,
    );
    // A VM that ends no longer sits on a host, whatever state it ended from.
    for (const record of history.slice(-2))
      await moveCapacity(tx, record.hid, vm.id, 'remove', allocationOf(vm.template), false);
  }

  // HISTORY: new records are appended, changed ones rewritten.
  const before = new Map(input.history.map((h) => [h.seq, h]));
  for (const record of history) {
    const old = before.get(record.seq);
    if (old === undefined) {
      const { seq: _seq, ...rest } = record;
      await tx.history.append(rest);
    } else if (old !== record) {
      await tx.history.update(record);
    }
  }
  const written = await tx.vms.update(vm);

  const waits =
    pendingStep({ ...written, historyAction: history[history.length - 1]?.action ?? null }) !== undefined;
  const operations = plannedOperations(
    plan.effects,
    {
      vm: written,
      history,
      datastoreLocation: ctx.config.datastoreLocation,
      ...(input.change?.diskId !== undefined ? { diskId: input.change.diskId } : {}),
      ...(input.change?.nicId !== undefined ? { nicId: input.change.nicId } : {}),
      ...(input.change?.size !== undefined ? { size: input.change.size } : {}),
    },
    waits,
  );
  return { vm: written, history, operations, log };
}

/**
 * `vnc-port` effects: `release` gives the VM's ports back (the GRAPHICS/PORT attribute stays, as
 * in OpenNebula: the next deploy asks for it again); after a migration between clusters
 * `release-previous` frees the source cluster's port, `rollback-previous` the target's, putting
 * GRAPHICS/PORT back.
 */
async function applyVncEffect(
  tx: Repositories,
  vm: VmRecord,
  op: 'release' | 'release-previous' | 'rollback-previous',
  current: HistoryRecord | undefined,
  previous: HistoryRecord | undefined,
): Promise<VmRecord> {
  if (op === 'release') {
    await tx.vncPorts.release(vm.id);
    return vm;
  }
  const graphics = getVectors(vm.template, 'GRAPHICS')[0];
  if (graphics === undefined || current === undefined || previous === undefined) return vm;
  if (current.cid === previous.cid) return vm;
  const { PREVIOUS_PORT: before, ...rest } = graphics;
  if (op === 'release-previous') {
    await tx.vncPorts.release(vm.id, previous.cid);
    return before === undefined ? vm : withGraphics(vm, rest);
  }
  await tx.vncPorts.release(vm.id, current.cid);
  return before === undefined ? vm : withGraphics(vm, { ...rest, PORT: before });
}
