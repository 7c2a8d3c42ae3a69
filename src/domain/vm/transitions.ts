/**
 * Which user action is accepted in which (STATE, LCM_STATE), and what it starts (reference §3.7;
 * `one:src/dm/DispatchManagerActions.cc`, `one:src/lcm/LifeCycleActions.cc`,
 * `one:src/rm/RequestManagerVirtualMachine.cc`). The table is data: one row per (action, state),
 * exported so tests, the UI and the CLI can enumerate it. `planAction` reads it; a pair with no
 * row is refused with a reason that names the state and what the action needs.
 */
import { fail, ok, type Result } from '../errors.js';
import { VmActionCode } from './actions.js';
import { planDelete, planDeleteRecreate } from './cleanup.js';
import { driverCaps } from './events.js';
import type { PlacementTarget } from './history.js';
import type { LogEntry } from './log.js';
import {
  DROP_SNAPSHOTS,
  PlanBuilder,
  capacity,
  finishChange,
  forDriver,
  history,
  info,
  resched,
  tm,
  vmm,
  type ActionPlan,
  type DriverCaps,
  type Effect,
  type LifecycleVm,
  type RecordOp,
} from './plan.js';
import {
  FAILURE_LCM_STATES,
  LCM_STATE_NAME_BY_NUMBER,
  STATE_KEYS_IN_USE,
  VmState,
  isFailureState,
  stateKey,
  stateLabel,
  type StateKey,
} from './states.js';

export { applyEvent } from './events.js';

/** The actions a user (or the scheduler, for `deploy`) asks for. Names are OpenNebula's (§3.6). */
export const USER_ACTIONS = [
  'deploy',
  'hold',
  'release',
  'terminate',
  'terminate-hard',
  'poweroff',
  'poweroff-hard',
  'undeploy',
  'undeploy-hard',
  'suspend',
  'stop',
  'resume',
  'reboot',
  'reboot-hard',
  'resched',
  'unresched',
  'migrate',
  'live-migrate',
  'poweroff-migrate',
  'poweroff-hard-migrate',
  'disk-attach',
  'disk-detach',
  'nic-attach',
  'nic-detach',
  'disk-resize',
  'resize',
  'snapshot-create',
  'snapshot-revert',
  'snapshot-delete',
  'disk-snapshot-create',
  'disk-snapshot-revert',
  'disk-snapshot-delete',
  'disk-snapshot-rename',
  'disk-saveas',
  'updateconf',
  'update',
  'rename',
  'chown',
  'chmod',
  'backup',
  'backup-cancel',
  'restore',
  'delete-recreate',
] as const;
export type UserAction = (typeof USER_ACTIONS)[number];

/** A condition on a row besides the state. */
export type ActionGuard =
  /** The ACTION of the latest HISTORY record: `stop`, `undeploy`/`undeploy-hard`, or anything else. */
  | { readonly previousAction: 'stop' | 'undeploy' | 'other' }
  /** A capability of the host's hypervisor driver. */
  | { readonly driver: keyof DriverCaps; readonly is: boolean };

export interface ActionRule {
  readonly action: UserAction;
  readonly from: StateKey;
  readonly when?: ActionGuard;
  /** States entered now, in order ([] = the state does not change). */
  readonly enter: readonly StateKey[];
  readonly lcmFirst?: boolean;
  /** In order. A `history open` gets the placement target of the request. */
  readonly effects: readonly Effect[];
  /** The HISTORY ACTION code; default: the action's own code. */
  readonly historyAction?: number;
  /** Lines written before the state change lines. */
  readonly log?: readonly LogEntry[];
  /** The states the VM goes through on the success path until it is stable again (for tests and docs). */
  readonly path: readonly StateKey[];
  /** Accepted as a no-op (OpenNebula returns success): why nothing happens. */
  readonly noop?: string;
  /** The plan is built by `cleanup.ts` (`planDelete`). */
  readonly delegate?: 'delete';
}

const A = VmActionCode;
const FAILURE_KEYS: readonly StateKey[] = FAILURE_LCM_STATES.map(
  (n) => LCM_STATE_NAME_BY_NUMBER.get(n) as StateKey,
);

type Spec = Omit<ActionRule, 'action' | 'from'>;

function rule(action: UserAction, from: StateKey | readonly StateKey[], spec: Spec): ActionRule[] {
  return (typeof from === 'string' ? [from] : from).map((f) => ({ action, from: f, ...spec }));
}

const everyStateBut = (...excluded: StateKey[]): StateKey[] =>
  STATE_KEYS_IN_USE.filter((k) => !excluded.includes(k));

const deployEffects = (op: 'prolog' | 'prolog-resume'): Effect[] => [
  history.open(),
  capacity('add'),
  history.stamp('pstime'),
  tm(op),
];

/** Bypass SAVE_MIGRATE: the files move, the guest is not running (LifeCycleActions.cc trigger_migrate). */
const migrateStopped = (unknown: boolean): Effect[] => [
  history.open(),
  history.stamp('retime', 'previous'),
  history.close('previous'),
  resched(false),
  DROP_SNAPSHOTS,
  history.action(A.migrate),
  ...(unknown ? [history.action(A.migrate, 'previous')] : []),
  capacity('add'),
  capacity('remove', 'previous'),
  { kind: 'vnc-port', op: 'release-previous' } as const,
  history.stamp('pstime'),
  tm('prolog-migrate'),
];

const record = (op: RecordOp): Effect => ({ kind: 'record', op });

function terminateRows(action: 'terminate' | 'terminate-hard'): ActionRule[] {
  const hard = action === 'terminate-hard';
  const shutdown: Effect[] = [history.action(A[action]), vmm(hard ? 'cancel' : 'shutdown'), resched(false)];
  return [
    ...rule(action, ['RUNNING', 'UNKNOWN'], {
      enter: ['SHUTDOWN'],
      effects: shutdown,
      path: ['SHUTDOWN', 'EPILOG', 'DONE'],
    }),
    ...(hard
      ? rule(action, 'SHUTDOWN', {
          enter: ['SHUTDOWN'],
          effects: [vmm('driver-cancel'), ...shutdown],
          path: ['SHUTDOWN', 'EPILOG', 'DONE'],
        })
      : []),
    // "Hard has no effect, VM is not RUNNING" (DispatchManagerActions.cc terminate): recorded as terminate.
    ...rule(action, ['POWEROFF', 'SUSPENDED'], {
      enter: ['EPILOG'],
      effects: [history.action(A.terminate), history.stamp('estime'), tm('epilog')],
      historyAction: A.terminate,
      path: ['EPILOG', 'DONE'],
    }),
    ...rule(action, ['STOPPED', 'UNDEPLOYED'], {
      enter: ['EPILOG'],
      effects: [history.action(A.terminate), history.stamp('estime'), tm('epilog-local')],
      historyAction: A.terminate,
      path: ['EPILOG', 'DONE'],
    }),
    ...rule(action, ['INIT', 'PENDING', 'HOLD', 'CLONING', 'CLONING_FAILURE'], {
      enter: ['DONE'],
      effects: [history.finish(), { kind: 'release-resources', persistentImagesToError: false }],
      path: ['DONE'],
    }),
    ...rule(action, FAILURE_KEYS, {
      enter: ['CLEANUP_DELETE', 'DONE'],
      effects: [],
      historyAction: A.delete,
      path: ['CLEANUP_DELETE', 'DONE'],
      delegate: 'delete',
    }),
    ...rule(action, 'DONE', { enter: [], effects: [], path: [], noop: 'it is already DONE' }),
  ];
}

function stopRows(
  action: 'poweroff' | 'poweroff-hard' | 'undeploy' | 'undeploy-hard',
  shutdownState: 'SHUTDOWN_POWEROFF' | 'SHUTDOWN_UNDEPLOY',
  path: readonly StateKey[],
): ActionRule[] {
  const hard = action.endsWith('-hard');
  const effects: Effect[] = [resched(false), history.action(A[action]), vmm(hard ? 'cancel' : 'shutdown')];
  return [
    ...rule(action, ['RUNNING', 'UNKNOWN'], { enter: [shutdownState], effects, path }),
    // A stuck soft shutdown can be overridden by the hard one.
    ...(hard
      ? rule(action, shutdownState, {
          enter: [shutdownState],
          effects: [vmm('driver-cancel'), ...effects],
          path,
        })
      : []),
  ];
}

function hotplugRows(
  action: 'disk-attach' | 'disk-detach' | 'nic-attach' | 'nic-detach',
  running: { state: StateKey; op: 'attach-disk' | 'detach-disk' | 'attach-nic' | 'detach-nic' },
): ActionRule[] {
  // Nimbus also records the operation on the new record: HOTPLUG and HOTPLUG_NIC serve several
  // operations and `recover` must settle the one in flight (OpenNebula always assumes an attach).
  const common: Effect[] = [resched(false), history.closeCopy(A[action]), history.action(A[action])];
  return rule(action, 'RUNNING', {
    enter: [running.state],
    effects: [...common, vmm(running.op)],
    path: [running.state, 'RUNNING'],
  });
}

function nicPoweroffRows(action: 'nic-attach' | 'nic-detach'): ActionRule[] {
  const common: Effect[] = [resched(false), history.closeCopy(A[action])];
  const verb = action === 'nic-attach' ? 'attached' : 'detached';
  return [
    ...rule(action, 'POWEROFF', {
      when: { driver: 'coldNicAttach', is: true },
      enter: ['HOTPLUG_NIC_POWEROFF'],
      effects: [
        ...common,
        history.action(A[action]),
        vmm(action === 'nic-attach' ? 'attach-nic' : 'detach-nic'),
      ],
      path: ['HOTPLUG_NIC_POWEROFF', 'POWEROFF'],
    }),
    // Without COLD_NIC_ATTACH the change is only in the VM body; the NIC appears at next boot.
    ...rule(action, 'POWEROFF', {
      when: { driver: 'coldNicAttach', is: false },
      enter: [],
      effects: [...common, finishChange(action, 'commit')],
      log: [info('DiM', `VM NIC Successfully ${verb}.`)],
      path: [],
    }),
  ];
}

const recordRows = (action: 'update' | 'rename' | 'chown' | 'chmod' | 'disk-snapshot-rename'): ActionRule[] =>
  // OpenNebula has no state check here; Nimbus keeps DONE records (accounting) unchanged.
  rule(action, everyStateBut('DONE'), { enter: [], effects: [record(action)], path: [] });

const snapshotRow = (
  action: 'snapshot-create' | 'snapshot-revert' | 'snapshot-delete',
  from: StateKey,
): ActionRule[] =>
  // Nimbus records the snapshot operation in the HISTORY ACTION so that `recover` knows which one
  // is in flight (OpenNebula keeps it in the SNAPSHOT's ACTIVE attribute).
  rule(action, from, {
    enter: ['HOTPLUG_SNAPSHOT'],
    effects: [resched(false), history.action(A[action]), vmm(action)],
    path: ['HOTPLUG_SNAPSHOT', 'RUNNING'],
  });

const diskSnapshotRows = (
  action: 'disk-snapshot-create' | 'disk-snapshot-revert' | 'disk-snapshot-delete',
  list: readonly (readonly [StateKey, StateKey, Effect])[],
): ActionRule[] =>
  list.flatMap(([from, to, op]) =>
    rule(action, from, { enter: [to], effects: [history.closeCopy(A[action]), op], path: [to, from] }),
  );

/** The action × state table. The first row whose state and guard match applies. */
export const ACTION_RULES: readonly ActionRule[] = [
  // ---- deploy (the scheduler, or `onevm deploy`) --------------------------------------------
  ...(['PENDING', 'HOLD'] as const).flatMap((from) => [
    ...rule('deploy', from, {
      when: { previousAction: 'stop' },
      enter: ['PROLOG_RESUME'],
      effects: deployEffects('prolog-resume'),
      path: ['PROLOG_RESUME', 'BOOT_STOPPED', 'RUNNING'],
    }),
    ...rule('deploy', from, {
      when: { previousAction: 'undeploy' },
      enter: ['PROLOG_UNDEPLOY'],
      effects: deployEffects('prolog-resume'),
      path: ['PROLOG_UNDEPLOY', 'BOOT_UNDEPLOY', 'RUNNING'],
    }),
    ...rule('deploy', from, {
      when: { previousAction: 'other' },
      enter: ['PROLOG'],
      effects: deployEffects('prolog'),
      path: ['PROLOG', 'BOOT', 'RUNNING'],
    }),
  ]),
  // The state says where the disks are; OpenNebula reads the previous ACTION, which agrees.
  ...rule('deploy', 'STOPPED', {
    enter: ['PROLOG_RESUME'],
    effects: deployEffects('prolog-resume'),
    path: ['PROLOG_RESUME', 'BOOT_STOPPED', 'RUNNING'],
  }),
  ...rule('deploy', 'UNDEPLOYED', {
    enter: ['PROLOG_UNDEPLOY'],
    effects: deployEffects('prolog-resume'),
    path: ['PROLOG_UNDEPLOY', 'BOOT_UNDEPLOY', 'RUNNING'],
  }),

  ...rule('hold', 'PENDING', { enter: ['HOLD'], effects: [], path: ['HOLD'] }),
  ...rule('release', 'HOLD', { enter: ['PENDING'], effects: [{ kind: 'requirements' }], path: ['PENDING'] }),

  ...terminateRows('terminate'),
  ...terminateRows('terminate-hard'),

  ...stopRows('poweroff', 'SHUTDOWN_POWEROFF', ['SHUTDOWN_POWEROFF', 'POWEROFF']),
  ...stopRows('poweroff-hard', 'SHUTDOWN_POWEROFF', ['SHUTDOWN_POWEROFF', 'POWEROFF']),
  ...stopRows('undeploy', 'SHUTDOWN_UNDEPLOY', ['SHUTDOWN_UNDEPLOY', 'EPILOG_UNDEPLOY', 'UNDEPLOYED']),
  ...stopRows('undeploy-hard', 'SHUTDOWN_UNDEPLOY', ['SHUTDOWN_UNDEPLOY', 'EPILOG_UNDEPLOY', 'UNDEPLOYED']),
  ...(['undeploy', 'undeploy-hard'] as const).flatMap((action) =>
    rule(action, 'POWEROFF', {
      enter: ['EPILOG_UNDEPLOY'],
      effects: [history.action(A.undeploy), history.stamp('estime'), tm('epilog-stop')],
      historyAction: A.undeploy,
      path: ['EPILOG_UNDEPLOY', 'UNDEPLOYED'],
    }),
  ),

  ...rule('suspend', 'RUNNING', {
    enter: ['SAVE_SUSPEND'],
    effects: [resched(false), history.action(A.suspend), vmm('save')],
    path: ['SAVE_SUSPEND', 'SUSPENDED'],
  }),
  ...rule('stop', 'RUNNING', {
    enter: ['SAVE_STOP'],
    effects: [resched(false), history.action(A.stop), vmm('save')],
    path: ['SAVE_STOP', 'EPILOG_STOP', 'STOPPED'],
  }),
  ...rule('stop', 'SUSPENDED', {
    enter: ['EPILOG_STOP'],
    effects: [history.action(A.stop), history.stamp('estime'), tm('epilog-stop')],
    path: ['EPILOG_STOP', 'STOPPED'],
  }),

  ...rule('resume', ['STOPPED', 'UNDEPLOYED'], {
    enter: ['PENDING'],
    effects: [{ kind: 'requirements' }],
    path: ['PENDING'],
  }),
  ...rule('resume', 'SUSPENDED', {
    enter: ['BOOT_SUSPENDED'],
    effects: [
      history.close(),
      history.copy(),
      history.stamp('rstime'),
      history.action(A.resume),
      vmm('restore'),
    ],
    log: [info('LCM', 'Restoring VM')],
    path: ['BOOT_SUSPENDED', 'RUNNING'],
  }),
  ...rule('resume', 'POWEROFF', {
    enter: ['BOOT_POWEROFF'],
    effects: [
      history.close(),
      history.copy(),
      history.stamp('rstime'),
      history.action(A.resume),
      vmm('deploy'),
    ],
    path: ['BOOT_POWEROFF', 'RUNNING'],
  }),
  ...rule('resume', 'UNKNOWN', {
    enter: ['BOOT_UNKNOWN'],
    effects: [vmm('deploy')],
    path: ['BOOT_UNKNOWN', 'RUNNING'],
  }),

  // "Rebooting cancels re-scheduling actions" (DispatchManagerActions.cc reboot).
  ...rule('reboot', 'RUNNING', { enter: [], effects: [vmm('reboot'), resched(false)], path: [] }),
  ...rule('reboot-hard', 'RUNNING', { enter: [], effects: [vmm('reset'), resched(false)], path: [] }),
  ...rule('resched', ['RUNNING', 'UNKNOWN', 'POWEROFF'], {
    enter: [],
    effects: [{ kind: 'requirements' }, resched(true)],
    path: [],
  }),
  ...rule('unresched', ['RUNNING', 'UNKNOWN', 'POWEROFF'], {
    enter: [],
    effects: [resched(false)],
    path: [],
  }),

  // ---- migrations ---------------------------------------------------------------------------
  ...(
    [
      ['migrate', vmm('save'), ['SAVE_MIGRATE', 'PROLOG_MIGRATE', 'BOOT_MIGRATE', 'RUNNING']],
      ['poweroff-migrate', vmm('shutdown'), ['SAVE_MIGRATE', 'PROLOG_MIGRATE', 'BOOT', 'RUNNING']],
      ['poweroff-hard-migrate', vmm('cancel'), ['SAVE_MIGRATE', 'PROLOG_MIGRATE', 'BOOT', 'RUNNING']],
    ] as const
  ).flatMap(([action, op, path]) => [
    ...rule(action, 'RUNNING', {
      enter: ['SAVE_MIGRATE'],
      effects: [
        resched(false),
        history.open(),
        capacity('add'),
        history.action(A[action]),
        history.action(A[action], 'previous'),
        op,
      ],
      path,
    }),
    ...rule(action, 'POWEROFF', {
      enter: ['PROLOG_MIGRATE_POWEROFF'],
      lcmFirst: true,
      effects: migrateStopped(false),
      historyAction: A.migrate,
      path: ['PROLOG_MIGRATE_POWEROFF', 'POWEROFF'],
    }),
    ...rule(action, 'SUSPENDED', {
      enter: ['PROLOG_MIGRATE_SUSPEND'],
      lcmFirst: true,
      effects: migrateStopped(false),
      historyAction: A.migrate,
      path: ['PROLOG_MIGRATE_SUSPEND', 'SUSPENDED'],
    }),
    ...rule(action, 'UNKNOWN', {
      enter: ['PROLOG_MIGRATE_UNKNOWN'],
      effects: migrateStopped(true),
      historyAction: A.migrate,
      path: ['PROLOG_MIGRATE_UNKNOWN', 'BOOT', 'RUNNING'],
    }),
  ]),
  ...rule('live-migrate', 'RUNNING', {
    enter: ['MIGRATE'],
    effects: [
      resched(false),
      history.open(),
      capacity('add'),
      history.action(A['live-migrate'], 'previous'),
      vmm('migrate'),
    ],
    path: ['MIGRATE', 'RUNNING'],
  }),

  // ---- hotplug ------------------------------------------------------------------------------
  ...hotplugRows('disk-attach', { state: 'HOTPLUG', op: 'attach-disk' }),
  ...rule('disk-attach', 'POWEROFF', {
    enter: ['HOTPLUG_PROLOG_POWEROFF'],
    effects: [resched(false), history.closeCopy(A['disk-attach']), tm('prolog-attach')],
    path: ['HOTPLUG_PROLOG_POWEROFF', 'POWEROFF'],
  }),
  ...hotplugRows('disk-detach', { state: 'HOTPLUG', op: 'detach-disk' }),
  ...rule('disk-detach', 'POWEROFF', {
    enter: ['HOTPLUG_EPILOG_POWEROFF'],
    effects: [resched(false), history.closeCopy(A['disk-detach']), tm('epilog-detach')],
    path: ['HOTPLUG_EPILOG_POWEROFF', 'POWEROFF'],
  }),
  ...hotplugRows('nic-attach', { state: 'HOTPLUG_NIC', op: 'attach-nic' }),
  ...nicPoweroffRows('nic-attach'),
  ...hotplugRows('nic-detach', { state: 'HOTPLUG_NIC', op: 'detach-nic' }),
  ...nicPoweroffRows('nic-detach'),

  ...snapshotRow('snapshot-create', 'RUNNING'),
  ...snapshotRow('snapshot-revert', 'RUNNING'),
  ...snapshotRow('snapshot-delete', 'RUNNING'),
  // Deleting a snapshot of a powered-off VM needs a driver that keeps them (DispatchManagerActions.cc).
  ...rule('snapshot-delete', 'POWEROFF', {
    when: { driver: 'keepSnapshots', is: true },
    enter: [],
    effects: [history.action(A['snapshot-delete']), vmm('snapshot-delete')],
    path: [],
  }),

  ...diskSnapshotRows('disk-snapshot-create', [
    ['RUNNING', 'DISK_SNAPSHOT', vmm('disk-snapshot-create')],
    ['POWEROFF', 'DISK_SNAPSHOT_POWEROFF', tm('snapshot-create')],
    ['SUSPENDED', 'DISK_SNAPSHOT_SUSPENDED', tm('snapshot-create')],
  ]),
  ...diskSnapshotRows('disk-snapshot-revert', [
    ['POWEROFF', 'DISK_SNAPSHOT_REVERT_POWEROFF', tm('snapshot-revert')],
  ]),
  ...diskSnapshotRows('disk-snapshot-delete', [
    ['RUNNING', 'DISK_SNAPSHOT_DELETE', tm('snapshot-delete')],
    ['POWEROFF', 'DISK_SNAPSHOT_DELETE_POWEROFF', tm('snapshot-delete')],
    ['SUSPENDED', 'DISK_SNAPSHOT_DELETE_SUSPENDED', tm('snapshot-delete')],
  ]),
  ...recordRows('disk-snapshot-rename'),

  ...(
    [
      ['RUNNING', 'DISK_RESIZE', vmm('disk-resize')],
      ['POWEROFF', 'DISK_RESIZE_POWEROFF', tm('resize')],
      ['UNDEPLOYED', 'DISK_RESIZE_UNDEPLOYED', tm('resize')],
    ] as const
  ).flatMap(([from, to, op]) =>
    rule('disk-resize', from, {
      enter: [to],
      effects: [history.closeCopy(A['disk-resize']), op],
      path: [to, from],
    }),
  ),

  ...rule('resize', ['INIT', 'PENDING', 'HOLD', 'POWEROFF', 'UNDEPLOYED', 'CLONING', 'CLONING_FAILURE'], {
    enter: [],
    effects: [{ kind: 'capacity', op: 'resize' }],
    path: [],
  }),
  ...rule('resize', 'RUNNING', {
    when: { driver: 'liveResize', is: true },
    enter: ['HOTPLUG_RESIZE'],
    effects: [{ kind: 'capacity', op: 'resize' }, resched(false), vmm('resize')],
    path: ['HOTPLUG_RESIZE', 'RUNNING'],
  }),

  // VirtualMachine::updateconf states; a RUNNING VM gets it live (6.8+ live_updateconf).
  ...rule('updateconf', ['PENDING', 'HOLD', 'POWEROFF', 'UNDEPLOYED', 'CLONING', 'CLONING_FAILURE'], {
    enter: [],
    effects: [record('updateconf')],
    path: [],
  }),
  ...rule('updateconf', 'RUNNING', {
    enter: ['HOTPLUG'],
    effects: [record('updateconf'), resched(false), history.action(A.updateconf), vmm('update-conf')],
    path: ['HOTPLUG', 'RUNNING'],
  }),

  ...(
    [
      ['RUNNING', 'HOTPLUG_SAVEAS'],
      ['POWEROFF', 'HOTPLUG_SAVEAS_POWEROFF'],
      ['SUSPENDED', 'HOTPLUG_SAVEAS_SUSPENDED'],
      ['UNDEPLOYED', 'HOTPLUG_SAVEAS_UNDEPLOYED'],
      ['STOPPED', 'HOTPLUG_SAVEAS_STOPPED'],
    ] as const
  ).flatMap(([from, to]) =>
    rule('disk-saveas', from, { enter: [to], effects: [tm('saveas')], path: [to, from] }),
  ),

  ...(
    [
      ['RUNNING', 'BACKUP'],
      ['POWEROFF', 'BACKUP_POWEROFF'],
    ] as const
  ).flatMap(([from, to]) =>
    rule('backup', from, {
      enter: [to],
      effects: [resched(false), history.closeCopy(A.backup), vmm('backup')],
      path: [to, from],
    }),
  ),
  // The driver answers a cancel with backup-failure.
  ...rule('backup-cancel', ['BACKUP', 'BACKUP_POWEROFF'], {
    enter: [],
    effects: [vmm('backup-cancel')],
    path: [],
  }),
  ...rule('restore', 'POWEROFF', {
    enter: ['RESTORE'],
    effects: [tm('restore')],
    path: ['RESTORE', 'POWEROFF'],
  }),

  ...recordRows('update'),
  ...recordRows('rename'),
  ...recordRows('chown'),
  ...recordRows('chmod'),
];

export interface ActionOptions {
  /** Host and system datastore for `deploy` and the migrations (a new HISTORY record). */
  readonly target?: PlacementTarget;
  /** Capabilities of the hypervisor driver of the VM's host (default: kvm's). */
  readonly driver?: Partial<DriverCaps>;
}

function guardHolds(guard: ActionGuard | undefined, vm: LifecycleVm, caps: DriverCaps): boolean {
  if (guard === undefined) return true;
  if ('driver' in guard) return caps[guard.driver] === guard.is;
  const last = vm.historyAction ?? A.none;
  const previous =
    last === A.stop ? 'stop' : last === A.undeploy || last === A['undeploy-hard'] ? 'undeploy' : 'other';
  return guard.previousAction === previous;
}

const GUARD_REASONS: Readonly<Record<keyof DriverCaps, string>> = {
  keepSnapshots: "the host's hypervisor driver does not keep snapshots of a powered-off VM (KEEP_SNAPSHOTS)",
  liveResize:
    "the host's hypervisor driver cannot hotplug CPU and memory (LIVE_RESIZE); power the VM off first",
  coldNicAttach: "the host's hypervisor driver does not attach NICs to a powered-off VM (COLD_NIC_ATTACH)",
};

/** The rows of one action, in table order. */
export function rulesFor(action: UserAction): readonly ActionRule[] {
  return ACTION_RULES.filter((r) => r.action === action);
}

/** The states an action does something in (some rows may still depend on a guard; no-op rows excluded). */
export function acceptedStates(action: UserAction): StateKey[] {
  return [
    ...new Set(
      rulesFor(action)
        .filter((r) => r.noop === undefined)
        .map((r) => r.from),
    ),
  ];
}

function describeStates(keys: readonly StateKey[]): string {
  const excluded = STATE_KEYS_IN_USE.filter((k) => !keys.includes(k));
  if (excluded.length > 0 && excluded.length <= 3) return `any state but ${excluded.join(', ')}`;
  const hasAllFailures = FAILURE_KEYS.every((k) => keys.includes(k));
  const named = hasAllFailures ? keys.filter((k) => !FAILURE_KEYS.includes(k)) : [...keys];
  const parts = [...named, ...(hasAllFailures ? ['a *_FAILURE state'] : [])];
  if (parts.length <= 1) return parts.join('');
  return `${parts.slice(0, -1).join(', ')} or ${parts[parts.length - 1] ?? ''}`;
}

function hintFor(vm: LifecycleVm, label: string): string {
  if (isFailureState(vm.lcmState) && vm.state === VmState.ACTIVE) {
    return `; use recover (retry, success, failure or delete) to get it out of ${label}`;
  }
  const key = stateKey(vm);
  if (vm.state === VmState.ACTIVE && key !== 'RUNNING' && key !== 'UNKNOWN') {
    return `; it is busy (${label}): wait for the operation to finish, or use recover if it is stuck`;
  }
  return '';
}

type Lookup = { readonly rule: ActionRule } | { readonly reason: string };

function lookup(vm: LifecycleVm, action: UserAction, caps: DriverCaps): Lookup {
  const label = stateLabel(vm.state, vm.lcmState);
  const from = stateKey(vm);
  const candidates = from === undefined ? [] : rulesFor(action).filter((r) => r.from === from);
  const match = candidates.find((r) => guardHolds(r.when, vm, caps));
  if (match !== undefined) return { rule: match };
  if (candidates.length > 0) {
    const guard = candidates.find((r) => r.when !== undefined && 'driver' in r.when)?.when;
    const why =
      guard !== undefined && 'driver' in guard ? GUARD_REASONS[guard.driver] : 'a condition is not met';
    return { reason: `cannot ${action} VM ${vm.id} in ${label}: ${why}` };
  }
  if (from === undefined) {
    return {
      reason: `cannot ${action} VM ${vm.id}: it is in an undefined state ${vm.state}/${vm.lcmState}; use recover --delete-db`,
    };
  }
  return {
    reason: `cannot ${action} VM ${vm.id}: it is ${label}; ${action} needs ${describeStates(acceptedStates(action))}${hintFor(vm, label)}`,
  };
}

const NEEDS_TARGET: ReadonlySet<UserAction> = new Set([
  'deploy',
  'migrate',
  'live-migrate',
  'poweroff-migrate',
  'poweroff-hard-migrate',
]);

/**
 * Plans a user action: the states to enter now, the effects in order, the HISTORY action and the
 * log lines; or `ACTION_NOT_ALLOWED` with a reason that names the state and what is needed.
 */
export function planAction(
  vm: LifecycleVm,
  action: UserAction,
  options: ActionOptions = {},
): Result<ActionPlan> {
  const caps = driverCaps(options.driver);
  if (action === 'delete-recreate') return planDeleteRecreate(vm, action, caps);

  const found = lookup(vm, action, caps);
  if ('reason' in found) return fail('ACTION_NOT_ALLOWED', found.reason);
  const { rule: row } = found;

  if (row.delegate === 'delete') return planDelete(vm, action, caps, row.historyAction ?? A.delete);

  const historyAction = row.historyAction ?? A[action];
  const b = new PlanBuilder(vm, action, historyAction);
  if (row.noop !== undefined) return ok(b.build(`${action} of VM ${vm.id}: nothing to do, ${row.noop}`));

  const opensRecord = row.effects.some((e) => e.kind === 'history' && e.op === 'open');
  if (opensRecord && options.target === undefined && NEEDS_TARGET.has(action)) {
    return fail(
      'TARGET_REQUIRED',
      `${action} of VM ${vm.id} needs a target host and system datastore`,
      'target',
    );
  }

  b.line(...(row.log ?? []));
  for (const key of row.enter) b.enter(key, row.lcmFirst ?? false);
  const effects = forDriver(row.effects, caps).map((e) =>
    e.kind === 'history' && e.op === 'open' ? history.open(options.target) : e,
  );
  b.effect(...effects);
  return ok(b.build());
}

export type ActionAvailability =
  { readonly allowed: true } | { readonly allowed: false; readonly reason: string };

/** For every user action: allowed, or not with the reason (from the same table as `planAction`). */
export function allowedActions(
  vm: LifecycleVm,
  options: Pick<ActionOptions, 'driver'> = {},
): Readonly<Record<UserAction, ActionAvailability>> {
  const caps = driverCaps(options.driver);
  const entries = USER_ACTIONS.map((action): [UserAction, ActionAvailability] => {
    if (action === 'delete-recreate') {
      const plan = planDeleteRecreate(vm, action, caps);
      if (!plan.ok) return [action, { allowed: false, reason: plan.error.message }];
      return [
        action,
        plan.value.notice === undefined ? { allowed: true } : { allowed: false, reason: plan.value.notice },
      ];
    }
    const found = lookup(vm, action, caps);
    if ('reason' in found) return [action, { allowed: false, reason: found.reason }];
    if (found.rule.noop !== undefined) {
      return [
        action,
        { allowed: false, reason: `${action} of VM ${vm.id}: nothing to do, ${found.rule.noop}` },
      ];
    }
    return [action, { allowed: true }];
  });
  return Object.fromEntries(entries) as Record<UserAction, ActionAvailability>;
}
