/**
 * A tiny in-memory VM for the lifecycle tests: state pair, deploy id and HISTORY records, advanced
 * by applying a plan the way the controller will (history effects through history.ts).
 */
import type { HistoryRecord } from '../../../src/domain/vm/record.js';
import {
  LcmState,
  VmState,
  applyHistoryEffects,
  lcmStateName,
  stateKey,
  statePair,
  type ActionPlan,
  type LifecycleVm,
  type LogEntry,
  type PlacementTarget,
  type StateKey,
  type StatePair,
} from '../../../src/domain/vm/index.js';

export interface TestVm extends LifecycleVm {
  readonly deployId: string;
  readonly history: readonly HistoryRecord[];
}

export const HOST_A: PlacementTarget = {
  hostId: 1,
  hostname: 'node-a',
  clusterId: 0,
  vmMad: 'qemu',
  tmMad: 'qcow2',
  dsId: 0,
};
export const HOST_B: PlacementTarget = {
  hostId: 2,
  hostname: 'node-b',
  clusterId: 0,
  vmMad: 'qemu',
  tmMad: 'qcow2',
  dsId: 0,
};

export const ACTOR = { uid: 0, gid: 0, requestId: 1 };

function record(seq: number, host: PlacementTarget, action: number): HistoryRecord {
  return {
    oid: 7,
    seq,
    hostname: host.hostname,
    hid: host.hostId,
    cid: host.clusterId,
    stime: 100,
    etime: 0,
    vmMad: host.vmMad,
    tmMad: host.tmMad,
    dsId: host.dsId,
    pstime: 100,
    petime: 110,
    rstime: 110,
    retime: 0,
    estime: 0,
    eetime: 0,
    action,
    uid: 0,
    gid: 0,
    requestId: 0,
  };
}

/** A VM with id 7 in `key`, with two HISTORY records (the last one with ACTION `action`). */
export function vmIn(key: StateKey, action: number | null = null, deployId = 'one-7'): TestVm {
  const pair = statePair(key);
  const history = action === null ? [] : [record(0, HOST_B, 0), record(1, HOST_A, action)];
  return { id: 7, ...pair, deployId, history, historyAction: action };
}

/** Applies a plan to the test VM: next state, deploy id, history effects at time `now`. */
export function advance(vm: TestVm, plan: ActionPlan, now = 1000): TestVm {
  let deployId = vm.deployId;
  for (const e of plan.effects) if (e.kind === 'deploy-id') deployId = e.value;
  const history = applyHistoryEffects(vm.history, plan.effects, { oid: vm.id, now, actor: ACTOR });
  const current = history[history.length - 1];
  return {
    ...vm,
    ...plan.next,
    deployId,
    history,
    historyAction: current === undefined ? null : current.action,
    runningEtime: current?.retime ?? 0,
  };
}

/** The lines an independent reading of §10.3 expects for one state change. */
export function expectedStateLines(from: StatePair, to: StatePair, lcmFirst = false): LogEntry[] {
  const s: LogEntry[] =
    from.state === to.state
      ? []
      : [{ module: 'VM', level: 'I', message: `New state is ${stateNameOf(to.state)}` }];
  const l: LogEntry[] =
    to.state === VmState.ACTIVE || from.lcmState !== LcmState.LCM_INIT
      ? [{ module: 'VM', level: 'I', message: `New LCM state is ${lcmStateName(to.lcmState)}` }]
      : [];
  return lcmFirst ? [...l, ...s] : [...s, ...l];
}

const STATE_NAMES = Object.fromEntries(Object.entries(VmState).map(([k, v]) => [v, k])) as Record<
  number,
  string
>;
function stateNameOf(n: number): string {
  return STATE_NAMES[n] ?? '?';
}

/** The keys a plan enters. */
export function keysOf(plan: ActionPlan): StateKey[] {
  return plan.transitions.map((t) => stateKey(t) as StateKey);
}

/** Log lines as `[MODULE][L] message` strings, easy to compare. */
export function lines(plan: ActionPlan): string[] {
  return plan.log.map((l) => `[${l.module}][${l.level}] ${l.message}`);
}
