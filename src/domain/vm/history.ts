/**
 * HISTORY records (reference §2.2, `one:src/vm/History.cc`): one record per placement of a VM on
 * a host, `SEQ` 0, 1, 2 … The last record is OpenNebula's `history`, the one before it
 * `previous_history`. These helpers are pure: they take the list and return a new one; the
 * lifecycle plans say *which* stamp to set (`HistoryEffect`), the controller says *when* (`now`).
 */
import type { HistoryRecord } from './record.js';
import { VmActionCode } from './actions.js';

/** Where the scheduler (or the user, with `deploy`/`migrate`) puts the VM. */
export interface PlacementTarget {
  readonly hostId: number;
  readonly hostname: string;
  readonly clusterId: number;
  readonly vmMad: string;
  readonly tmMad: string;
  readonly dsId: number;
}

/** Who asked for the action (HISTORY UID, GID, REQUEST_ID). */
export interface Actor {
  readonly uid: number;
  readonly gid: number;
  readonly requestId: number;
}

/** The time fields of a record: start/end of the record, of PROLOG, of running, of EPILOG. */
export type HistoryTimeField =
  'stime' | 'etime' | 'pstime' | 'petime' | 'rstime' | 'retime' | 'estime' | 'eetime';

export type HistoryRecordRef = 'current' | 'previous';

/** A change to the HISTORY list, as a lifecycle plan describes it. */
export type HistoryEffect =
  /** A new record on a new host (deploy, migrate); STIME = now. */
  | { readonly kind: 'history'; readonly op: 'open'; readonly target?: PlacementTarget }
  /** A new record on the host of the current (`cp_history`) or previous (`cp_previous_history`) one. */
  | { readonly kind: 'history'; readonly op: 'copy'; readonly from: HistoryRecordRef }
  /** Set one time field to now, or back to 0. */
  | {
      readonly kind: 'history';
      readonly op: 'stamp';
      readonly record: HistoryRecordRef;
      readonly field: HistoryTimeField;
      readonly value: 'now' | 'zero';
    }
  /** Record the ACTION (with the actor; `internal` = by the core, UID/GID/REQUEST_ID -1). */
  | {
      readonly kind: 'history';
      readonly op: 'set-action';
      readonly record: HistoryRecordRef;
      readonly action: number;
      readonly internal?: boolean;
      /** Only when the record has no ACTION yet (`stop_success`, `undeploy_success`). */
      readonly ifNone?: boolean;
    }
  /** End the record: ETIME = now, unless it already has one. */
  | { readonly kind: 'history'; readonly op: 'close'; readonly record: HistoryRecordRef }
  /** The VM is DONE (`free_vm_resources`): RETIME if it was running, ETIME if still open. */
  | { readonly kind: 'history'; readonly op: 'finish' }
  /**
   * OpenNebula's `close_cp_history`: close the current record with `action` and continue on the
   * same host in a new record that keeps the former action (hotplug, disk snapshot, resize…).
   */
  | { readonly kind: 'history'; readonly op: 'close-copy'; readonly action: number };

export interface HistoryContext {
  readonly oid: number;
  /** Epoch seconds. */
  readonly now: number;
  readonly actor: Actor;
}

const NO_ACTOR: Actor = { uid: -1, gid: -1, requestId: -1 };

function blank(oid: number, seq: number, host: PlacementTarget, stime: number): HistoryRecord {
  return {
    oid,
    seq,
    hostname: host.hostname,
    hid: host.hostId,
    cid: host.clusterId,
    stime,
    etime: 0,
    vmMad: host.vmMad,
    tmMad: host.tmMad,
    dsId: host.dsId,
    pstime: 0,
    petime: 0,
    rstime: 0,
    retime: 0,
    estime: 0,
    eetime: 0,
    action: VmActionCode.none,
    uid: NO_ACTOR.uid,
    gid: NO_ACTOR.gid,
    requestId: NO_ACTOR.requestId,
  };
}

function placementOf(r: HistoryRecord): PlacementTarget {
  return {
    hostId: r.hid,
    hostname: r.hostname,
    clusterId: r.cid,
    vmMad: r.vmMad,
    tmMad: r.tmMad,
    dsId: r.dsId,
  };
}

function indexOf(history: readonly HistoryRecord[], ref: HistoryRecordRef): number {
  return ref === 'current' ? history.length - 1 : history.length - 2;
}

function replaceAt(
  history: readonly HistoryRecord[],
  ref: HistoryRecordRef,
  change: (r: HistoryRecord) => HistoryRecord,
): readonly HistoryRecord[] {
  const i = indexOf(history, ref);
  const record = history[i];
  if (record === undefined) return history; // OpenNebula: `if (history == 0) return`
  return history.map((r, j) => (j === i ? change(r) : r));
}

export function currentHistory(history: readonly HistoryRecord[]): HistoryRecord | undefined {
  return history[history.length - 1];
}

export function previousHistory(history: readonly HistoryRecord[]): HistoryRecord | undefined {
  return history[history.length - 2];
}

/** Appends a record for a new placement: SEQ = last + 1 (0 for the first), STIME = `stime`. */
export function openHistory(
  history: readonly HistoryRecord[],
  oid: number,
  target: PlacementTarget,
  stime: number,
): readonly HistoryRecord[] {
  const last = currentHistory(history);
  return [...history, blank(oid, last === undefined ? 0 : last.seq + 1, target, stime)];
}

/** Appends a copy (same host, system datastore and drivers) of the current or previous record. */
export function copyHistory(
  history: readonly HistoryRecord[],
  from: HistoryRecordRef,
  stime: number,
): readonly HistoryRecord[] {
  const source = history[indexOf(history, from)];
  const last = currentHistory(history);
  if (source === undefined || last === undefined) return history;
  return [...history, blank(last.oid, last.seq + 1, placementOf(source), stime)];
}

export function stampHistory(
  history: readonly HistoryRecord[],
  record: HistoryRecordRef,
  field: HistoryTimeField,
  value: number,
): readonly HistoryRecord[] {
  return replaceAt(history, record, (r) => ({ ...r, [field]: value }));
}

export function setHistoryAction(
  history: readonly HistoryRecord[],
  record: HistoryRecordRef,
  action: number,
  actor: Actor = NO_ACTOR,
): readonly HistoryRecord[] {
  return replaceAt(history, record, (r) => ({
    ...r,
    action,
    uid: actor.uid,
    gid: actor.gid,
    requestId: actor.requestId,
  }));
}

/** ETIME = `etime` on the given record unless it is already closed; with `action`, ACTION too. */
export function closeHistory(
  history: readonly HistoryRecord[],
  record: HistoryRecordRef,
  etime: number,
  action?: number,
  actor: Actor = NO_ACTOR,
): readonly HistoryRecord[] {
  const closed = replaceAt(history, record, (r) => (r.etime === 0 ? { ...r, etime } : r));
  return action === undefined ? closed : setHistoryAction(closed, record, action, actor);
}

/** `free_vm_resources`: RETIME if the VM ran and the stamp is missing, ETIME if the record is open. */
export function finishHistory(history: readonly HistoryRecord[], now: number): readonly HistoryRecord[] {
  return replaceAt(history, 'current', (r) => ({
    ...r,
    retime: r.rstime !== 0 && r.retime === 0 ? now : r.retime,
    etime: r.etime === 0 ? now : r.etime,
  }));
}

/**
 * `DispatchManager::close_cp_history`: end the current record (RETIME if still running, ETIME,
 * ACTION = `action`) and continue in a copy (STIME, RSTIME = now) that keeps the former ACTION, so
 * a later `deploy` still sees e.g. `undeploy` and picks PROLOG_UNDEPLOY. A VM that was not running
 * (RETIME already set) stays "not running" in the copy.
 */
export function closeAndCopyHistory(
  history: readonly HistoryRecord[],
  action: number,
  now: number,
  actor: Actor = NO_ACTOR,
): readonly HistoryRecord[] {
  const current = currentHistory(history);
  if (current === undefined) return history;
  const wasStopped = current.retime !== 0;
  let next = replaceAt(history, 'current', (r) => ({
    ...r,
    retime: wasStopped ? r.retime : now,
    etime: now,
    action,
    uid: actor.uid,
    gid: actor.gid,
    requestId: actor.requestId,
  }));
  next = copyHistory(next, 'current', now);
  return replaceAt(next, 'current', (r) => ({
    ...r,
    rstime: now,
    retime: wasStopped ? now : 0,
    action: current.action,
  }));
}

/** Applies one `HistoryEffect` of a lifecycle plan. */
export function applyHistoryEffect(
  history: readonly HistoryRecord[],
  effect: HistoryEffect,
  ctx: HistoryContext,
): readonly HistoryRecord[] {
  switch (effect.op) {
    case 'open':
      return effect.target === undefined ? history : openHistory(history, ctx.oid, effect.target, ctx.now);
    case 'copy':
      return copyHistory(history, effect.from, ctx.now);
    case 'stamp':
      return stampHistory(history, effect.record, effect.field, effect.value === 'now' ? ctx.now : 0);
    case 'set-action': {
      const target = history[indexOf(history, effect.record)];
      if (effect.ifNone && target !== undefined && target.action !== VmActionCode.none) return history;
      return setHistoryAction(history, effect.record, effect.action, effect.internal ? NO_ACTOR : ctx.actor);
    }
    case 'close':
      return closeHistory(history, effect.record, ctx.now);
    case 'finish':
      return finishHistory(history, ctx.now);
    case 'close-copy':
      return closeAndCopyHistory(history, effect.action, ctx.now, ctx.actor);
  }
}

/** Applies, in order, the history effects among a plan's effects (others are skipped). */
export function applyHistoryEffects<E extends { readonly kind: string }>(
  history: readonly HistoryRecord[],
  effects: readonly E[],
  ctx: HistoryContext,
): readonly HistoryRecord[] {
  return effects.reduce<readonly HistoryRecord[]>(
    (h, e) => (e.kind === 'history' ? applyHistoryEffect(h, e as unknown as HistoryEffect, ctx) : h),
    history,
  );
}
