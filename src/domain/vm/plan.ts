/**
 * What a lifecycle step is made of: the states a VM enters, the effects the controller performs
 * (in order, in one transaction for the records, then the driver operations), the HISTORY action
 * and the VM log lines. `planAction`, `applyEvent` and `recover` all return an `ActionPlan`.
 */
import type { HistoryEffect, PlacementTarget } from './history.js';
import type { LogEntry } from './log.js';
import type { HistoryRecord } from './record.js';
import {
  LcmState,
  VmState,
  lcmStateName,
  statePair,
  stateName,
  type StateKey,
  type StatePair,
} from './states.js';

/** Transfer manager operations (TM_MAD, reference §9.3), run by the agent of the host. */
export type TmOp =
  | 'prolog'
  | 'prolog-migrate'
  | 'prolog-resume'
  | 'prolog-attach'
  | 'epilog'
  /** Epilog of a VM whose files are in the system datastore, not on a host (STOPPED/UNDEPLOYED). */
  | 'epilog-local'
  | 'epilog-stop'
  | 'epilog-detach'
  | 'epilog-delete'
  /** Delete on both the current and the previous host (an interrupted migration). */
  | 'epilog-delete-both'
  | 'snapshot-create'
  | 'snapshot-revert'
  | 'snapshot-delete'
  | 'resize'
  | 'saveas'
  | 'restore'
  /** Abort the TM operation in flight. */
  | 'driver-cancel';

/** Virtualization driver operations (the qemu or dummy driver on the host). */
export type VmmOp =
  | 'deploy'
  | 'restore'
  | 'shutdown'
  /** Hard power-off (destroy). */
  | 'cancel'
  | 'save'
  | 'migrate'
  | 'reboot'
  | 'reset'
  | 'attach-disk'
  | 'detach-disk'
  | 'attach-nic'
  | 'detach-nic'
  | 'snapshot-create'
  | 'snapshot-revert'
  | 'snapshot-delete'
  | 'disk-snapshot-create'
  | 'disk-resize'
  | 'resize'
  | 'update-conf'
  | 'backup'
  | 'backup-cancel'
  | 'cleanup'
  /** Clean the previous host (an interrupted cold migration). */
  | 'cleanup-previous'
  /** Clean both hosts (an interrupted live migration). */
  | 'cleanup-both'
  /** Abort the VMM operation in flight. */
  | 'driver-cancel';

/** A pending change set up by a request and settled by the driver result. */
export type ChangeKind =
  | 'disk-attach'
  | 'disk-detach'
  | 'nic-attach'
  | 'nic-detach'
  | 'snapshot-create'
  | 'snapshot-revert'
  | 'snapshot-delete'
  | 'disk-snapshot-create'
  | 'disk-snapshot-revert'
  | 'disk-snapshot-delete'
  | 'disk-snapshot-rename'
  | 'disk-resize'
  | 'resize'
  | 'disk-saveas'
  | 'updateconf'
  | 'backup'
  | 'restore';

/** Record-only changes (no state change): the controller edits the VM body. */
export type RecordOp = 'update' | 'rename' | 'chown' | 'chmod' | 'updateconf' | 'disk-snapshot-rename';

export type Effect =
  | { readonly kind: 'tm'; readonly op: TmOp }
  | { readonly kind: 'vmm'; readonly op: VmmOp }
  /** Host capacity bookkeeping; `previous` is a no-op when both records are on the same host. */
  | { readonly kind: 'capacity'; readonly op: 'add' | 'remove'; readonly host: 'current' | 'previous' }
  /** Check and set the new CPU/MEMORY/VCPU (`resize`). */
  | { readonly kind: 'capacity'; readonly op: 'resize' }
  | HistoryEffect
  | { readonly kind: 'resched'; readonly value: boolean }
  /** Recompute AUTOMATIC_REQUIREMENTS (release, resume to PENDING, resched). */
  | { readonly kind: 'requirements' }
  | { readonly kind: 'deploy-id'; readonly value: string }
  /** USER_TEMPLATE/ERROR: `text` is `"<ctime>: <message>"`. */
  | { readonly kind: 'error-message'; readonly message: string; readonly text: string }
  /** Drop the system (hypervisor) snapshots: the driver does not keep them across this step. */
  | { readonly kind: 'drop-system-snapshots' }
  /** Drop the disk snapshots of non-persistent disks (delete-recreate). */
  | { readonly kind: 'drop-disk-snapshots' }
  /**
   * Settle a pending change: `commit` keeps it, `rollback` undoes it (a saved-as image goes to
   * ERROR), `clear` drops the pending marker and keeps the template as it is.
   */
  | {
      readonly kind: 'finish-change';
      readonly change: ChangeKind;
      readonly outcome: 'commit' | 'rollback' | 'clear';
    }
  | { readonly kind: 'record'; readonly op: RecordOp }
  | { readonly kind: 'vnc-port'; readonly op: 'release' | 'release-previous' | 'rollback-previous' }
  /**
   * `free_vm_resources`: leases, VM group, images (persistent ones to ERROR when the VM dies while
   * its disks may be inconsistent), quotas. The VM is DONE.
   */
  | { readonly kind: 'release-resources'; readonly persistentImagesToError: boolean }
  /** Look at the images a CLONING VM waits for and fire `clone-success`/`clone-failure`. */
  | { readonly kind: 'images'; readonly op: 'recheck-clones' };

/** What the hypervisor driver of the VM's host can do (OpenNebula's VM_MAD attributes). */
export interface DriverCaps {
  /** KEEP_SNAPSHOTS: system snapshots survive poweroff, suspend and migration. */
  readonly keepSnapshots: boolean;
  /** COLD_NIC_ATTACH: attaching a NIC to a powered-off VM calls the driver. */
  readonly coldNicAttach: boolean;
  /** LIVE_RESIZE: CPU/memory hotplug on a running VM. */
  readonly liveResize: boolean;
}

/** Defaults of OpenNebula's shipped kvm VM_MAD (oned.conf): the qemu driver matches them. */
export const DEFAULT_DRIVER_CAPS: DriverCaps = {
  keepSnapshots: true,
  coldNicAttach: false,
  liveResize: true,
};

/** The part of a VM the lifecycle rules look at. A `VmRecord` plus its last HISTORY ACTION fits. */
export interface LifecycleVm {
  readonly id: number;
  readonly state: number;
  readonly lcmState: number;
  readonly deployId?: string;
  /**
   * ACTION (§3.6) of the latest HISTORY record, or null/undefined when the VM has none. It says
   * e.g. that a PENDING VM was stopped (deploy → PROLOG_RESUME) or which snapshot operation a
   * HOTPLUG_SNAPSHOT VM is in.
   */
  readonly historyAction?: number | null;
  /** RETIME of the latest HISTORY record (epoch seconds), for the monitoring race guard. */
  readonly runningEtime?: number;
}

/**
 * The lifecycle view of a stored VM: its states, and the ACTION and latest time of its last
 * HISTORY record (when it last changed host state, for the monitoring race guard).
 */
export function lifecycleView(
  vm: { readonly id: number; readonly state: number; readonly lcmState: number; readonly deployId: string },
  history: readonly HistoryRecord[],
): LifecycleVm {
  const last = history[history.length - 1];
  return {
    id: vm.id,
    state: vm.state,
    lcmState: vm.lcmState,
    deployId: vm.deployId,
    historyAction: last?.action ?? null,
    runningEtime: last === undefined ? 0 : Math.max(last.stime, last.rstime, last.retime),
  };
}

export interface ActionPlan {
  readonly vmId: number;
  /** What produced the plan: `suspend`, `event:prolog-success`, `recover:retry`. */
  readonly trigger: string;
  readonly from: StatePair;
  /** Every (STATE, LCM_STATE) entered, in order; empty when the state does not change. */
  readonly transitions: readonly StatePair[];
  /** The state after this plan (the last transition, or `from`). */
  readonly next: StatePair;
  readonly effects: readonly Effect[];
  /** The VMActions code of the request (§3.6); `none` (0) for driver and monitor events. */
  readonly historyAction: number;
  /** VM log lines in order, unstamped (see `formatLogLine`). */
  readonly log: readonly LogEntry[];
  /** Why nothing happens, for requests OpenNebula accepts as no-ops (terminate of a DONE VM). */
  readonly notice?: string;
}

/** The lines `VirtualMachine::set_state` writes when a VM moves from `from` to `to`. */
export function stateChangeLines(from: StatePair, to: StatePair, lcmFirst = false): LogEntry[] {
  const lines: LogEntry[] = [];
  const stateLine = (): void => {
    if (to.state !== from.state)
      lines.push({ module: 'VM', level: 'I', message: `New state is ${stateName(to.state)}` });
  };
  const lcmLine = (): void => {
    // OpenNebula logs every LCM set_state, even re-entering the same one (terminate-hard in SHUTDOWN).
    if (to.state === VmState.ACTIVE || from.lcmState !== LcmState.LCM_INIT) {
      lines.push({ module: 'VM', level: 'I', message: `New LCM state is ${lcmStateName(to.lcmState)}` });
    }
  };
  if (lcmFirst) {
    lcmLine();
    stateLine();
  } else {
    stateLine();
    lcmLine();
  }
  return lines;
}

/** Assembles a plan step by step. The one mutable thing in the VM domain: used inside the planners, never kept. */
export class PlanBuilder {
  private current: StatePair;
  private readonly transitions: StatePair[] = [];
  private readonly effects: Effect[] = [];
  private readonly log: LogEntry[] = [];

  constructor(
    private readonly vm: LifecycleVm,
    private readonly trigger: string,
    private readonly historyAction: number,
  ) {
    this.current = { state: vm.state, lcmState: vm.lcmState };
  }

  enter(key: StateKey, lcmFirst = false): this {
    const to = statePair(key);
    this.log.push(...stateChangeLines(this.current, to, lcmFirst));
    this.transitions.push(to);
    this.current = to;
    return this;
  }

  effect(...effects: readonly Effect[]): this {
    this.effects.push(...effects);
    return this;
  }

  line(...entries: readonly LogEntry[]): this {
    this.log.push(...entries);
    return this;
  }

  build(notice?: string): ActionPlan {
    return {
      vmId: this.vm.id,
      trigger: this.trigger,
      from: { state: this.vm.state, lcmState: this.vm.lcmState },
      transitions: [...this.transitions],
      next: this.current,
      effects: [...this.effects],
      historyAction: this.historyAction,
      log: [...this.log],
      ...(notice === undefined ? {} : { notice }),
    };
  }
}

// ---- effect constructors, so the tables below read like the reference ----------------------

export const tm = (op: TmOp): Effect => ({ kind: 'tm', op });
export const vmm = (op: VmmOp): Effect => ({ kind: 'vmm', op });
export const capacity = (op: 'add' | 'remove', host: 'current' | 'previous' = 'current'): Effect => ({
  kind: 'capacity',
  op,
  host,
});
export const resched = (value: boolean): Effect => ({ kind: 'resched', value });
export const finishChange = (change: ChangeKind, outcome: 'commit' | 'rollback' | 'clear'): Effect => ({
  kind: 'finish-change',
  change,
  outcome,
});
export const DROP_SNAPSHOTS: Effect = { kind: 'drop-system-snapshots' };

export const history = {
  open: (target?: PlacementTarget): Effect =>
    target === undefined ? { kind: 'history', op: 'open' } : { kind: 'history', op: 'open', target },
  copy: (from: 'current' | 'previous' = 'current'): Effect => ({ kind: 'history', op: 'copy', from }),
  stamp: (
    field: 'stime' | 'etime' | 'pstime' | 'petime' | 'rstime' | 'retime' | 'estime' | 'eetime',
    record: 'current' | 'previous' = 'current',
    value: 'now' | 'zero' = 'now',
  ): Effect => ({ kind: 'history', op: 'stamp', record, field, value }),
  action: (action: number, record: 'current' | 'previous' = 'current'): Effect => ({
    kind: 'history',
    op: 'set-action',
    record,
    action,
  }),
  internalAction: (action: number, ifNone = false): Effect =>
    ifNone
      ? { kind: 'history', op: 'set-action', record: 'current', action, internal: true, ifNone: true }
      : { kind: 'history', op: 'set-action', record: 'current', action, internal: true },
  close: (record: 'current' | 'previous' = 'current'): Effect => ({ kind: 'history', op: 'close', record }),
  closeCopy: (action: number): Effect => ({ kind: 'history', op: 'close-copy', action }),
  finish: (): Effect => ({ kind: 'history', op: 'finish' }),
} as const;

export const info = (module: LogEntry['module'], message: string): LogEntry => ({
  module,
  level: 'I',
  message,
});
export const error = (module: LogEntry['module'], message: string): LogEntry => ({
  module,
  level: 'E',
  message,
});

/** Removes the effects a driver makes unnecessary (system snapshots it keeps anyway). */
export function forDriver(effects: readonly Effect[], caps: DriverCaps): Effect[] {
  return effects.filter((e) => !(e.kind === 'drop-system-snapshots' && caps.keepSnapshots));
}
