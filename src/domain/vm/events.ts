/**
 * The driver-result side of the lifecycle: what the life-cycle manager does when a transfer (TM)
 * or virtualization (VMM) operation ends, or when monitoring reports something about the VM
 * (reference §3.7 "Monitoring-driven transitions", §3.8). Mirrors `one:src/lcm/LifeCycleStates.cc`,
 * `one:src/dm/DispatchManagerStates.cc` and the protocol handlers of
 * `one:src/vmm/VirtualMachineManagerProtocol.cc` (their log texts).
 */
import { fail, ok, type Result } from '../errors.js';
import { VmActionCode } from './actions.js';
import { errorAttributeText, type LogEntry } from './log.js';
import {
  DEFAULT_DRIVER_CAPS,
  DROP_SNAPSHOTS,
  PlanBuilder,
  capacity,
  error,
  finishChange,
  forDriver,
  history,
  info,
  resched,
  tm,
  vmm,
  type ActionPlan,
  type ChangeKind,
  type DriverCaps,
  type Effect,
  type LifecycleVm,
} from './plan.js';
import { VmState, stateKey, type StateKey } from './states.js';

/** Driver operations whose end the controller reports with `<op>-success` / `<op>-failure`. */
export const DRIVER_OPS = [
  'prolog',
  'boot',
  'shutdown',
  'save',
  'epilog',
  'migrate',
  'disk-attach',
  'disk-detach',
  'nic-attach',
  'nic-detach',
  'snapshot',
  'disk-snapshot',
  'disk-resize',
  'resize',
  'disk-saveas',
  'updateconf',
  'backup',
  'restore',
] as const;
export type DriverOp = (typeof DRIVER_OPS)[number];

export const MONITOR_EVENTS = [
  'vm-missing',
  'vm-found-running',
  'vm-reported-poweroff',
  'vm-reported-suspended',
  'vm-gone-while-shutdown',
] as const;
export type MonitorEventKind = (typeof MONITOR_EVENTS)[number];

export type VmEventKind =
  | `${DriverOp}-success`
  | `${DriverOp}-failure`
  | 'cleanup-done'
  | 'cleanup-failure'
  | 'clone-success'
  | 'clone-failure'
  | MonitorEventKind;

export const VM_EVENT_KINDS: readonly VmEventKind[] = [
  ...DRIVER_OPS.flatMap((op) => [`${op}-success`, `${op}-failure`] as const),
  'cleanup-done',
  'cleanup-failure',
  'clone-success',
  'clone-failure',
  ...MONITOR_EVENTS,
];

export interface VmEvent {
  readonly kind: VmEventKind;
  /** The driver's error text (failures); empty or starting with `-` means "no detail". */
  readonly message?: string;
  /** The hypervisor id the driver returned with `boot-success` of a deploy. */
  readonly deployId?: string;
  /** `clone-success`: the VM was submitted on hold (SUBMIT_ON_HOLD), so it goes to HOLD. */
  readonly onHold?: boolean;
}

export interface EventContext {
  /** When the result arrived, epoch seconds: stamps USER_TEMPLATE/ERROR. */
  readonly now: number;
  /** IANA zone of the ERROR timestamp (default: the process's). */
  readonly timeZone?: string;
  readonly driver?: Partial<DriverCaps>;
}

/** The line a driver protocol handler writes: an info text on success, an error prefix on failure. */
export interface DriverReport {
  readonly module: 'VMM' | 'TrM';
  readonly text: string;
}

export interface EventRule {
  readonly event: VmEventKind;
  readonly from: StateKey;
  /** Extra condition: the latest HISTORY ACTION is one of these / the VM was submitted on hold. */
  readonly when?: { readonly historyAction?: readonly number[]; readonly onHold?: boolean };
  readonly enter: readonly StateKey[];
  /** Log the LCM change before the VM state change (OpenNebula's order for a few paths). */
  readonly lcmFirst?: boolean;
  readonly effects: readonly Effect[];
  readonly report?: DriverReport;
  /** LCM/DiM lines written before the state change lines… */
  readonly log?: readonly LogEntry[];
  /** …and after them. */
  readonly logAfter?: readonly LogEntry[];
}

const TM_ERROR: DriverReport = { module: 'TrM', text: 'Error executing image transfer script' };
const vmmReport = (text: string): DriverReport => ({ module: 'VMM', text });

const A = VmActionCode;
const POFF_MIGRATE = [A['poweroff-migrate'], A['poweroff-hard-migrate']];
const HARD_ACTIONS = [
  A['terminate-hard'],
  A['poweroff-hard'],
  A['undeploy-hard'],
  A['poweroff-hard-migrate'],
];

/** `deploy_success`: RUNNING, ACTION cleared, the record open again. */
const BOOT_OK: readonly Effect[] = [
  history.internalAction(A.none),
  history.stamp('etime', 'current', 'zero'),
  history.stamp('retime', 'current', 'zero'),
];

/** `start_prolog_migrate`: leave the source host, copy the files to the target. */
const START_PROLOG_MIGRATE: readonly Effect[] = [
  DROP_SNAPSHOTS,
  history.close('previous'),
  history.stamp('retime', 'previous'),
  history.stamp('pstime'),
  capacity('remove', 'previous'),
  { kind: 'vnc-port', op: 'release-previous' },
  tm('prolog-migrate'),
];

/** `revert_migrate_after_failure` / live-migrate failure: stay on the source host, new record there. */
const REVERT_MIGRATE: readonly Effect[] = [
  history.close('current'),
  capacity('remove', 'current'),
  { kind: 'vnc-port', op: 'rollback-previous' },
  history.close('previous'),
  history.stamp('retime', 'previous'),
  history.copy('previous'),
  history.stamp('rstime'),
];

/** `poweroff_success` / `suspend_success`: the record stays open, the VM is no longer running. */
const STOPPED_RUNNING: readonly Effect[] = [history.stamp('retime')];

type Row = Omit<EventRule, 'event'>;

function rows(event: VmEventKind, list: readonly Row[]): EventRule[] {
  return list.map((r) => ({ event, ...r }));
}

function sameFor(froms: readonly StateKey[], row: Omit<Row, 'from'>): Row[] {
  return froms.map((from) => ({ from, ...row }));
}

const FAIL_AFTER_SHUTDOWN = info('LCM', 'Fail to shutdown VM. Assuming that the VM is still RUNNING.');

function snapshotRows(success: boolean): Row[] {
  const ops: readonly [number, ChangeKind, string, string][] = [
    [
      A['snapshot-revert'],
      'snapshot-revert',
      'VM Snapshot successfully reverted.',
      'Error reverting VM Snapshot',
    ],
    [
      A['snapshot-delete'],
      'snapshot-delete',
      'VM Snapshot successfully deleted.',
      'Error deleting VM Snapshot',
    ],
    // Anything else in flight in HOTPLUG_SNAPSHOT is a create (the history ACTION is set by Nimbus).
    [-1, 'snapshot-create', 'VM Snapshot successfully created.', 'Error creating new VM Snapshot'],
  ];
  return ops.flatMap(([action, change, okText, errText]): Row[] => {
    const when = action === -1 ? {} : { when: { historyAction: [action] } };
    const base = {
      ...when,
      effects: [finishChange(change, success ? 'commit' : 'rollback')],
      report: vmmReport(success ? okText : errText),
    };
    const running: Row = { from: 'HOTPLUG_SNAPSHOT', enter: ['RUNNING'], ...base };
    // Nimbus keeps POWEROFF/LCM_INIT while deleting a snapshot of a powered-off VM: OpenNebula sets
    // LCM=HOTPLUG_SNAPSHOT with STATE=POWEROFF there, an undefined pair (DispatchManagerActions.cc).
    const poweroff: Row = {
      from: 'POWEROFF',
      when: { historyAction: [A['snapshot-delete']] },
      enter: [],
      ...base,
    };
    return action === A['snapshot-delete'] ? [running, poweroff] : [running];
  });
}

/** The whole event table. The first row whose `from` and `when` match applies. */
export const EVENT_RULES: readonly EventRule[] = [
  // ---- TM prolog --------------------------------------------------------------------------
  ...rows('prolog-success', [
    {
      from: 'PROLOG',
      enter: ['BOOT'],
      effects: [history.stamp('petime'), history.stamp('rstime'), vmm('deploy')],
    },
    {
      from: 'PROLOG_RESUME',
      enter: ['BOOT_STOPPED'],
      effects: [history.stamp('petime'), history.stamp('rstime'), vmm('restore')],
    },
    {
      from: 'PROLOG_UNDEPLOY',
      enter: ['BOOT_UNDEPLOY'],
      effects: [history.stamp('petime'), history.stamp('rstime'), vmm('deploy')],
    },
    {
      from: 'PROLOG_MIGRATE',
      when: { historyAction: POFF_MIGRATE },
      enter: ['BOOT'],
      effects: [history.stamp('petime'), history.stamp('rstime'), vmm('deploy')],
    },
    {
      from: 'PROLOG_MIGRATE',
      enter: ['BOOT_MIGRATE'],
      effects: [history.stamp('petime'), history.stamp('rstime'), vmm('restore')],
    },
    {
      from: 'PROLOG_MIGRATE_UNKNOWN',
      enter: ['BOOT'],
      effects: [history.stamp('petime'), history.stamp('rstime'), vmm('deploy')],
    },
    {
      from: 'PROLOG_MIGRATE_POWEROFF',
      enter: ['POWEROFF'],
      effects: [DROP_SNAPSHOTS, history.stamp('petime'), ...STOPPED_RUNNING],
    },
    {
      from: 'PROLOG_MIGRATE_SUSPEND',
      enter: ['SUSPENDED'],
      effects: [DROP_SNAPSHOTS, history.stamp('petime'), ...STOPPED_RUNNING],
    },
  ]),
  ...rows(
    'prolog-failure',
    (
      [
        ['PROLOG', 'PROLOG_FAILURE'],
        ['PROLOG_MIGRATE', 'PROLOG_MIGRATE_FAILURE'],
        ['PROLOG_MIGRATE_POWEROFF', 'PROLOG_MIGRATE_POWEROFF_FAILURE'],
        ['PROLOG_MIGRATE_SUSPEND', 'PROLOG_MIGRATE_SUSPEND_FAILURE'],
        ['PROLOG_MIGRATE_UNKNOWN', 'PROLOG_MIGRATE_UNKNOWN_FAILURE'],
        ['PROLOG_RESUME', 'PROLOG_RESUME_FAILURE'],
        ['PROLOG_UNDEPLOY', 'PROLOG_UNDEPLOY_FAILURE'],
      ] as const
    ).map(([from, to]): Row => ({ from, enter: [to], effects: [], report: TM_ERROR })),
  ),

  // ---- VMM deploy / restore (OpenNebula's deploy_success / deploy_failure) -----------------
  ...rows(
    'boot-success',
    sameFor(
      [
        'BOOT',
        'BOOT_POWEROFF',
        'BOOT_UNKNOWN',
        'BOOT_SUSPENDED',
        'BOOT_STOPPED',
        'BOOT_UNDEPLOY',
        'BOOT_MIGRATE',
      ],
      {
        enter: ['RUNNING'],
        effects: BOOT_OK,
      },
    ),
  ),
  ...rows('boot-failure', [
    {
      from: 'BOOT',
      enter: ['BOOT_FAILURE'],
      effects: [history.stamp('retime')],
      report: vmmReport('Error deploying virtual machine'),
    },
    {
      from: 'BOOT_MIGRATE',
      enter: ['BOOT_MIGRATE_FAILURE'],
      effects: [history.stamp('retime')],
      report: vmmReport('Error restoring VM'),
    },
    {
      from: 'BOOT_UNKNOWN',
      enter: ['UNKNOWN'],
      effects: [history.stamp('retime')],
      report: vmmReport('Error deploying virtual machine'),
    },
    {
      from: 'BOOT_POWEROFF',
      enter: ['POWEROFF'],
      effects: [history.stamp('retime')],
      report: vmmReport('Error deploying virtual machine'),
    },
    {
      from: 'BOOT_SUSPENDED',
      enter: ['SUSPENDED'],
      effects: [history.stamp('retime')],
      report: vmmReport('Error restoring VM'),
    },
    {
      from: 'BOOT_STOPPED',
      enter: ['BOOT_STOPPED_FAILURE'],
      effects: [history.close(), history.stamp('retime')],
      report: vmmReport('Error restoring VM'),
    },
    {
      from: 'BOOT_UNDEPLOY',
      enter: ['BOOT_UNDEPLOY_FAILURE'],
      effects: [history.close(), history.stamp('retime')],
      report: vmmReport('Error deploying virtual machine'),
    },
  ]),

  // ---- VMM shutdown / cancel ---------------------------------------------------------------
  ...rows('shutdown-success', [
    {
      from: 'SHUTDOWN',
      enter: ['EPILOG'],
      effects: [DROP_SNAPSHOTS, history.stamp('estime'), history.stamp('retime'), tm('epilog')],
    },
    { from: 'SHUTDOWN_POWEROFF', enter: ['POWEROFF'], effects: [DROP_SNAPSHOTS, ...STOPPED_RUNNING] },
    {
      from: 'SHUTDOWN_UNDEPLOY',
      enter: ['EPILOG_UNDEPLOY'],
      effects: [DROP_SNAPSHOTS, history.stamp('estime'), history.stamp('retime'), tm('epilog-stop')],
    },
    // poweroff-migrate: the guest was shut down instead of saved.
    { from: 'SAVE_MIGRATE', enter: ['PROLOG_MIGRATE'], effects: START_PROLOG_MIGRATE },
  ]),
  ...rows('shutdown-failure', [
    ...(['SHUTDOWN', 'SHUTDOWN_POWEROFF', 'SHUTDOWN_UNDEPLOY'] as const).flatMap((from): Row[] => [
      {
        from,
        when: { historyAction: HARD_ACTIONS },
        enter: ['RUNNING'],
        effects: [history.internalAction(A.none)],
        report: vmmReport('Error canceling VM'),
        logAfter: [FAIL_AFTER_SHUTDOWN],
      },
      {
        from,
        enter: ['RUNNING'],
        effects: [history.internalAction(A.none)],
        report: vmmReport('Error shutting down VM'),
        logAfter: [FAIL_AFTER_SHUTDOWN],
      },
    ]),
    {
      from: 'SAVE_MIGRATE',
      enter: ['RUNNING'],
      effects: REVERT_MIGRATE,
      report: vmmReport('Error shutting down VM'),
      logAfter: [
        info('LCM', 'Fail to save VM state while migrating. Assuming that the VM is still RUNNING.'),
      ],
    },
  ]),

  // ---- VMM save ----------------------------------------------------------------------------
  ...rows('save-success', [
    { from: 'SAVE_MIGRATE', enter: ['PROLOG_MIGRATE'], effects: START_PROLOG_MIGRATE },
    { from: 'SAVE_SUSPEND', enter: ['SUSPENDED'], effects: [DROP_SNAPSHOTS, ...STOPPED_RUNNING] },
    {
      from: 'SAVE_STOP',
      enter: ['EPILOG_STOP'],
      effects: [DROP_SNAPSHOTS, history.stamp('estime'), history.stamp('retime'), tm('epilog-stop')],
    },
  ]),
  ...rows('save-failure', [
    {
      from: 'SAVE_MIGRATE',
      enter: ['RUNNING'],
      effects: REVERT_MIGRATE,
      report: vmmReport('Error saving VM state'),
      logAfter: [
        info('LCM', 'Fail to save VM state while migrating. Assuming that the VM is still RUNNING.'),
      ],
    },
    ...sameFor(['SAVE_SUSPEND', 'SAVE_STOP'], {
      enter: ['RUNNING'],
      effects: [history.internalAction(A.none)],
      report: vmmReport('Error saving VM state'),
      logAfter: [info('LCM', 'Fail to save VM state. Assuming that the VM is still RUNNING.')],
    }),
  ]),

  // ---- TM epilog ---------------------------------------------------------------------------
  ...rows('epilog-success', [
    {
      from: 'EPILOG',
      enter: ['DONE'],
      effects: [
        history.stamp('eetime'),
        history.close(),
        { kind: 'vnc-port', op: 'release' },
        capacity('remove'),
        history.finish(),
        { kind: 'release-resources', persistentImagesToError: false },
      ],
    },
    {
      // The VNC port stays: it is in the checkpoint file (LifeCycleStates.cc epilog_success).
      from: 'EPILOG_STOP',
      enter: ['STOPPED'],
      effects: [
        history.stamp('eetime'),
        history.close(),
        capacity('remove'),
        history.internalAction(A.stop, true),
      ],
    },
    {
      from: 'EPILOG_UNDEPLOY',
      enter: ['UNDEPLOYED'],
      effects: [
        history.stamp('eetime'),
        history.close(),
        { kind: 'vnc-port', op: 'release' },
        capacity('remove'),
        history.internalAction(A.undeploy, true),
      ],
    },
    {
      from: 'CLEANUP_RESUBMIT',
      enter: ['PENDING'],
      lcmFirst: true,
      effects: [{ kind: 'deploy-id', value: '' }],
    },
  ]),
  ...rows('epilog-failure', [
    { from: 'EPILOG', enter: ['EPILOG_FAILURE'], effects: [], report: TM_ERROR },
    { from: 'EPILOG_STOP', enter: ['EPILOG_STOP_FAILURE'], effects: [], report: TM_ERROR },
    { from: 'EPILOG_UNDEPLOY', enter: ['EPILOG_UNDEPLOY_FAILURE'], effects: [], report: TM_ERROR },
    {
      from: 'CLEANUP_RESUBMIT',
      enter: ['PENDING'],
      lcmFirst: true,
      effects: [{ kind: 'deploy-id', value: '' }],
      report: TM_ERROR,
    },
  ]),

  // ---- VMM live migration ------------------------------------------------------------------
  ...rows('migrate-success', [
    {
      from: 'MIGRATE',
      enter: ['RUNNING'],
      effects: [
        history.stamp('rstime'),
        history.close('previous'),
        history.stamp('retime', 'previous'),
        capacity('remove', 'previous'),
        DROP_SNAPSHOTS,
        { kind: 'vnc-port', op: 'release-previous' },
      ],
    },
  ]),
  ...rows('migrate-failure', [
    {
      from: 'MIGRATE',
      enter: ['RUNNING'],
      // Nimbus also cleans the destination (now the previous record): a receiver prepared there
      // would otherwise stay forever. OpenNebula leaves it.
      effects: [...REVERT_MIGRATE, vmm('cleanup-previous')],
      report: vmmReport('Error live migrating VM'),
      logAfter: [info('LCM', 'Fail to live migrate VM. Assuming that the VM is still RUNNING.')],
    },
  ]),

  // ---- hotplug: disks ----------------------------------------------------------------------
  ...rows('disk-attach-success', [
    {
      from: 'HOTPLUG',
      enter: ['RUNNING'],
      effects: [finishChange('disk-attach', 'commit')],
      report: vmmReport('VM Disk successfully attached.'),
      log: [info('LCM', 'VM Disk successfully attached.')],
    },
    {
      from: 'HOTPLUG_PROLOG_POWEROFF',
      enter: ['POWEROFF'],
      effects: [finishChange('disk-attach', 'commit'), ...STOPPED_RUNNING],
      log: [info('LCM', 'VM Disk successfully attached.')],
    },
  ]),
  ...rows('disk-attach-failure', [
    {
      from: 'HOTPLUG',
      enter: ['RUNNING'],
      effects: [finishChange('disk-attach', 'rollback')],
      report: vmmReport('Error attaching new VM Disk'),
    },
    {
      from: 'HOTPLUG_PROLOG_POWEROFF',
      enter: ['POWEROFF'],
      effects: [finishChange('disk-attach', 'rollback'), ...STOPPED_RUNNING],
      report: TM_ERROR,
      log: [info('LCM', 'VM Disk attach failure.')],
    },
  ]),
  ...rows('disk-detach-success', [
    {
      from: 'HOTPLUG',
      enter: ['RUNNING'],
      effects: [finishChange('disk-detach', 'commit')],
      report: vmmReport('VM Disk successfully detached.'),
    },
    {
      from: 'HOTPLUG_EPILOG_POWEROFF',
      enter: ['POWEROFF'],
      effects: [finishChange('disk-detach', 'commit'), ...STOPPED_RUNNING],
      log: [info('LCM', 'VM Disk successfully detached.')],
    },
  ]),
  ...rows('disk-detach-failure', [
    {
      from: 'HOTPLUG',
      enter: ['RUNNING'],
      effects: [finishChange('disk-detach', 'clear')],
      report: vmmReport('Error detaching VM Disk'),
    },
    {
      from: 'HOTPLUG_EPILOG_POWEROFF',
      enter: ['POWEROFF'],
      effects: [finishChange('disk-detach', 'clear'), ...STOPPED_RUNNING],
      report: TM_ERROR,
      log: [info('LCM', 'VM Disk detach failure.')],
    },
  ]),

  // ---- hotplug: NICs -----------------------------------------------------------------------
  ...(['attach', 'detach'] as const).flatMap((verb) => {
    const change: ChangeKind = `nic-${verb}`;
    const okText = verb === 'attach' ? 'VM NIC Successfully attached.' : 'VM NIC Successfully detached.';
    const errText = verb === 'attach' ? 'Error attaching new VM NIC' : 'Error detaching VM NIC';
    const failOutcome = verb === 'attach' ? 'rollback' : 'clear';
    return [
      ...rows(`nic-${verb}-success`, [
        {
          from: 'HOTPLUG_NIC',
          enter: ['RUNNING'],
          effects: [finishChange(change, 'commit')],
          report: vmmReport(okText),
        },
        {
          from: 'HOTPLUG_NIC_POWEROFF',
          enter: ['POWEROFF'],
          effects: [finishChange(change, 'commit'), ...STOPPED_RUNNING],
          report: vmmReport(okText),
        },
      ]),
      ...rows(`nic-${verb}-failure`, [
        {
          from: 'HOTPLUG_NIC',
          enter: ['RUNNING'],
          effects: [finishChange(change, failOutcome)],
          report: vmmReport(errText),
        },
        {
          from: 'HOTPLUG_NIC_POWEROFF',
          enter: ['POWEROFF'],
          effects: [finishChange(change, failOutcome), ...STOPPED_RUNNING],
          report: vmmReport(errText),
        },
      ]),
    ];
  }),

  // ---- system snapshots --------------------------------------------------------------------
  ...rows('snapshot-success', snapshotRows(true)),
  ...rows('snapshot-failure', snapshotRows(false)),

  // ---- disk snapshots ----------------------------------------------------------------------
  ...rows('disk-snapshot-success', [
    {
      from: 'DISK_SNAPSHOT',
      enter: ['RUNNING'],
      effects: [finishChange('disk-snapshot-create', 'commit')],
      report: vmmReport('VM disk snapshot successfully created.'),
      logAfter: [info('LCM', 'VM disk snapshot operation completed.')],
    },
    ...(
      [
        [
          'DISK_SNAPSHOT_POWEROFF',
          'POWEROFF',
          'disk-snapshot-create',
          'VM disk snapshot operation completed.',
        ],
        [
          'DISK_SNAPSHOT_SUSPENDED',
          'SUSPENDED',
          'disk-snapshot-create',
          'VM disk snapshot operation completed.',
        ],
        [
          'DISK_SNAPSHOT_REVERT_POWEROFF',
          'POWEROFF',
          'disk-snapshot-revert',
          'VM disk snapshot operation completed.',
        ],
        ['DISK_SNAPSHOT_DELETE_POWEROFF', 'POWEROFF', 'disk-snapshot-delete', 'VM disk snapshot deleted.'],
        ['DISK_SNAPSHOT_DELETE_SUSPENDED', 'SUSPENDED', 'disk-snapshot-delete', 'VM disk snapshot deleted.'],
      ] as const
    ).map(([from, to, change, text]): Row => ({
      from,
      enter: [to],
      effects: [finishChange(change, 'commit'), ...STOPPED_RUNNING],
      log: [info('LCM', text)],
    })),
    {
      from: 'DISK_SNAPSHOT_DELETE',
      enter: ['RUNNING'],
      effects: [finishChange('disk-snapshot-delete', 'commit')],
      logAfter: [info('LCM', 'VM disk snapshot deleted.')],
    },
  ]),
  ...rows('disk-snapshot-failure', [
    {
      from: 'DISK_SNAPSHOT',
      enter: ['RUNNING'],
      effects: [finishChange('disk-snapshot-create', 'rollback')],
      report: vmmReport('Error creating new disk snapshot'),
      logAfter: [error('LCM', 'Could not take disk snapshot.')],
    },
    ...(
      [
        ['DISK_SNAPSHOT_POWEROFF', 'POWEROFF', 'disk-snapshot-create', 'Could not take disk snapshot.'],
        ['DISK_SNAPSHOT_SUSPENDED', 'SUSPENDED', 'disk-snapshot-create', 'Could not take disk snapshot.'],
        [
          'DISK_SNAPSHOT_REVERT_POWEROFF',
          'POWEROFF',
          'disk-snapshot-revert',
          'VM disk snapshot operation failed.',
        ],
        [
          'DISK_SNAPSHOT_DELETE_POWEROFF',
          'POWEROFF',
          'disk-snapshot-delete',
          'VM disk snapshot operation failed.',
        ],
        [
          'DISK_SNAPSHOT_DELETE_SUSPENDED',
          'SUSPENDED',
          'disk-snapshot-delete',
          'VM disk snapshot operation failed.',
        ],
      ] as const
    ).map(([from, to, change, text]): Row => ({
      from,
      enter: [to],
      effects: [
        finishChange(change, change === 'disk-snapshot-create' ? 'rollback' : 'clear'),
        ...STOPPED_RUNNING,
      ],
      report: TM_ERROR,
      log: [error('LCM', text)],
    })),
    {
      from: 'DISK_SNAPSHOT_DELETE',
      enter: ['RUNNING'],
      effects: [finishChange('disk-snapshot-delete', 'clear')],
      report: TM_ERROR,
      logAfter: [error('LCM', 'VM disk snapshot operation failed.')],
    },
  ]),

  // ---- disk resize -------------------------------------------------------------------------
  ...rows('disk-resize-success', [
    {
      from: 'DISK_RESIZE',
      enter: ['RUNNING'],
      effects: [finishChange('disk-resize', 'commit')],
      report: vmmReport('VM disk successfully resized'),
      logAfter: [info('LCM', 'VM disk resize operation completed.')],
    },
    {
      from: 'DISK_RESIZE_POWEROFF',
      enter: ['POWEROFF'],
      effects: [finishChange('disk-resize', 'commit'), ...STOPPED_RUNNING],
      log: [info('LCM', 'VM disk resize operation completed.')],
    },
    {
      from: 'DISK_RESIZE_UNDEPLOYED',
      enter: ['UNDEPLOYED'],
      effects: [finishChange('disk-resize', 'commit'), history.internalAction(A.undeploy, true)],
      log: [info('LCM', 'VM disk resize operation completed.')],
    },
  ]),
  // OpenNebula logs "VM disk resize operation completed." on failure too (a copy-paste in
  // LifeCycleStates.cc disk_resize_failure); Nimbus says what happened.
  ...rows('disk-resize-failure', [
    {
      from: 'DISK_RESIZE',
      enter: ['RUNNING'],
      effects: [finishChange('disk-resize', 'rollback')],
      report: vmmReport('Error resizing disk'),
      logAfter: [error('LCM', 'VM disk resize operation failed.')],
    },
    {
      from: 'DISK_RESIZE_POWEROFF',
      enter: ['POWEROFF'],
      effects: [finishChange('disk-resize', 'rollback'), ...STOPPED_RUNNING],
      report: TM_ERROR,
      log: [error('LCM', 'VM disk resize operation failed.')],
    },
    {
      from: 'DISK_RESIZE_UNDEPLOYED',
      enter: ['UNDEPLOYED'],
      effects: [finishChange('disk-resize', 'rollback'), history.internalAction(A.undeploy, true)],
      report: TM_ERROR,
      log: [error('LCM', 'VM disk resize operation failed.')],
    },
  ]),

  // ---- CPU/memory hotplug ------------------------------------------------------------------
  ...rows('resize-success', [
    {
      from: 'HOTPLUG_RESIZE',
      enter: ['RUNNING'],
      effects: [finishChange('resize', 'commit')],
      logAfter: [info('LCM', 'VM resize operation completed.')],
    },
  ]),
  ...rows('resize-failure', [
    {
      from: 'HOTPLUG_RESIZE',
      enter: ['RUNNING'],
      effects: [finishChange('resize', 'rollback')],
      report: vmmReport('Error resizing VM'),
      logAfter: [info('LCM', 'VM hotplug resize operation fails')],
    },
  ]),

  // ---- disk save-as ------------------------------------------------------------------------
  ...(['success', 'failure'] as const).flatMap((result) =>
    rows(
      `disk-saveas-${result}`,
      (
        [
          ['HOTPLUG_SAVEAS', 'RUNNING'],
          ['HOTPLUG_SAVEAS_POWEROFF', 'POWEROFF'],
          ['HOTPLUG_SAVEAS_SUSPENDED', 'SUSPENDED'],
          ['HOTPLUG_SAVEAS_UNDEPLOYED', 'UNDEPLOYED'],
          ['HOTPLUG_SAVEAS_STOPPED', 'STOPPED'],
        ] as const
      ).map(([from, to]): Row => ({
        from,
        enter: [to],
        effects: [finishChange('disk-saveas', result === 'success' ? 'commit' : 'rollback')],
        ...(result === 'failure' ? { report: TM_ERROR } : {}),
      })),
    ),
  ),

  // ---- live updateconf ---------------------------------------------------------------------
  ...rows('updateconf-success', [
    {
      from: 'HOTPLUG',
      enter: ['RUNNING'],
      effects: [finishChange('updateconf', 'commit')],
      report: vmmReport('VM update conf succesfull.'),
    },
  ]),
  ...rows('updateconf-failure', [
    {
      from: 'HOTPLUG',
      enter: ['RUNNING'],
      effects: [finishChange('updateconf', 'rollback')],
      report: vmmReport('Error updating conf for VM'),
    },
  ]),

  // ---- backup / restore --------------------------------------------------------------------
  ...(['success', 'failure'] as const).flatMap((result) => [
    ...rows(`backup-${result}`, [
      {
        from: 'BACKUP',
        enter: ['RUNNING'],
        effects: [finishChange('backup', result === 'success' ? 'commit' : 'rollback')],
        ...(result === 'failure' ? { report: vmmReport('Error creating VM backup') } : {}),
      },
      {
        from: 'BACKUP_POWEROFF',
        enter: ['POWEROFF'],
        effects: [finishChange('backup', result === 'success' ? 'commit' : 'rollback')],
        ...(result === 'failure' ? { report: vmmReport('Error creating VM backup') } : {}),
      },
    ]),
    ...rows(`restore-${result}`, [
      {
        from: 'RESTORE',
        enter: ['POWEROFF'],
        effects: [finishChange('restore', result === 'success' ? 'commit' : 'rollback')],
        ...(result === 'failure' ? { report: TM_ERROR } : {}),
      },
    ]),
  ]),

  // ---- cleanup of a delete-recreate (VMM cleanup callback) ---------------------------------
  ...rows('cleanup-done', [
    {
      from: 'CLEANUP_RESUBMIT',
      enter: ['PENDING'],
      lcmFirst: true,
      effects: [{ kind: 'deploy-id', value: '' }],
      report: vmmReport('Host successfully cleaned.'),
    },
  ]),
  ...rows('cleanup-failure', [
    {
      from: 'CLEANUP_RESUBMIT',
      enter: ['PENDING'],
      lcmFirst: true,
      effects: [{ kind: 'deploy-id', value: '' }],
      report: vmmReport('Error cleaning Host'),
    },
  ]),

  // ---- image copies of a CLONING VM (LifeCycleStates.cc disk_lock_success) -------------------
  ...rows('clone-success', [
    ...sameFor(['CLONING', 'CLONING_FAILURE'], { when: { onHold: true }, enter: ['HOLD'], effects: [] }),
    ...sameFor(['CLONING', 'CLONING_FAILURE'], { enter: ['PENDING'], effects: [] }),
  ]),
  ...rows('clone-failure', [{ from: 'CLONING', enter: ['CLONING_FAILURE'], effects: [] }]),

  // ---- monitoring --------------------------------------------------------------------------
  ...rows('vm-missing', [{ from: 'RUNNING', enter: ['UNKNOWN'], effects: [resched(false)] }]),
  ...rows('vm-found-running', [
    { from: 'UNKNOWN', enter: ['RUNNING'], effects: [], log: [info('LCM', 'VM found again by the drivers')] },
    ...sameFor(['POWEROFF', 'SUSPENDED'], {
      enter: ['RUNNING'],
      effects: [history.close(), history.copy(), history.stamp('rstime')],
      log: [info('VMM', 'VM found again by the drivers')],
    }),
    ...sameFor(
      [
        'BOOT',
        'BOOT_POWEROFF',
        'BOOT_UNKNOWN',
        'BOOT_SUSPENDED',
        'BOOT_STOPPED',
        'BOOT_UNDEPLOY',
        'BOOT_MIGRATE',
        'BOOT_MIGRATE_FAILURE',
        'BOOT_STOPPED_FAILURE',
        'BOOT_UNDEPLOY_FAILURE',
        'BOOT_FAILURE',
      ],
      { enter: ['RUNNING'], effects: BOOT_OK, log: [info('LCM', 'VM reported RUNNING by the drivers')] },
    ),
  ]),
  ...rows('vm-reported-poweroff', [
    ...sameFor(['RUNNING', 'UNKNOWN'], {
      enter: ['SHUTDOWN_POWEROFF', 'POWEROFF'],
      effects: [DROP_SNAPSHOTS, resched(false), history.internalAction(A.monitor), ...STOPPED_RUNNING],
      log: [info('LCM', 'VM running but monitor state is POWEROFF')],
    }),
  ]),
  ...rows('vm-reported-suspended', [
    ...sameFor(['RUNNING', 'UNKNOWN'], {
      enter: ['SAVE_SUSPEND', 'SUSPENDED'],
      effects: [resched(false), DROP_SNAPSHOTS, history.internalAction(A.monitor), ...STOPPED_RUNNING],
      log: [info('LCM', 'Polling reports that the VM is suspended.')],
    }),
  ]),
];

/** "The VM is gone" while shutting down means the shutdown worked (LifeCycleStates.cc monitor_poweroff). */
const SHUTDOWN_STATES: readonly StateKey[] = ['SHUTDOWN', 'SHUTDOWN_POWEROFF', 'SHUTDOWN_UNDEPLOY'];

/** OpenNebula's handler names, for `<handler>, VM in a wrong state`. */
const HANDLER_NAMES: Readonly<Record<string, string>> = {
  prolog: 'prolog_%_action',
  boot: 'deploy_%_action',
  shutdown: 'shutdown_%_action',
  save: 'save_%_action',
  epilog: 'epilog_%_action',
  migrate: 'deploy_%_action',
  'disk-attach': 'attach_%_action',
  'disk-detach': 'detach_%_action',
  'nic-attach': 'attach_nic_%_action',
  'nic-detach': 'detach_nic_%_action',
  snapshot: 'snapshot_%',
  'disk-snapshot': 'disk_snapshot_%',
  'disk-resize': 'disk_resize_%',
  resize: 'hotplug_resize_%',
  'disk-saveas': 'saveas_%_action',
  updateconf: 'update_conf_%',
  backup: 'backup_%',
  restore: 'restore_%',
  cleanup: 'cleanup_callback_action',
};

function handlerName(kind: VmEventKind): string {
  const m = /^(.*)-(success|failure|done)$/.exec(kind);
  const op = m?.[1] ?? kind;
  const result = m?.[2] === 'failure' ? 'failure' : 'success';
  return (HANDLER_NAMES[op] ?? `${op.replace(/-/g, '_')}_%_action`).replace('%', result);
}

const isDriverEvent = (kind: VmEventKind): boolean =>
  !(MONITOR_EVENTS as readonly string[]).includes(kind) && !kind.startsWith('clone-');

const isFailureEvent = (kind: VmEventKind): boolean => kind.endsWith('-failure');

function guardHolds(rule: { readonly when?: EventRule['when'] }, vm: LifecycleVm, event?: VmEvent): boolean {
  const when = rule.when;
  if (when === undefined) return true;
  if (when.historyAction !== undefined && !when.historyAction.includes(vm.historyAction ?? A.none))
    return false;
  if (when.onHold !== undefined && when.onHold !== (event?.onHold ?? false)) return false;
  return true;
}

/** The rule for `event` in state `from` (or undefined). */
export function findEventRule(
  vm: LifecycleVm,
  event: VmEventKind,
  from: StateKey,
  details?: VmEvent,
): EventRule | undefined {
  return EVENT_RULES.find((r) => r.event === event && r.from === from && guardHolds(r, vm, details));
}

export interface EventPlanOptions {
  readonly caps: DriverCaps;
  /** The driver's report to log: its message (failures) and the time for USER_TEMPLATE/ERROR. */
  readonly report?: { readonly message?: string; readonly now: number; readonly timeZone?: string };
  /** Replace the rule's report text (e.g. "Empty deploy ID for virtual machine"). */
  readonly reportText?: DriverReport;
  readonly trigger: string;
  readonly historyAction?: number;
  /** States to enter before the rule's own (recover from a *_FAILURE state). */
  readonly prefix?: readonly StateKey[];
  readonly extraEffects?: readonly Effect[];
  readonly extraLog?: readonly LogEntry[];
}

/** Builds the plan of one event rule. Shared with `recover`, which re-fires these rules. */
export function planEventRule(vm: LifecycleVm, rule: EventRule, opts: EventPlanOptions): ActionPlan {
  const b = new PlanBuilder(vm, opts.trigger, opts.historyAction ?? A.none);
  const report = opts.reportText ?? rule.report;
  if (opts.report !== undefined && report !== undefined) {
    if (isFailureEvent(rule.event) || opts.reportText !== undefined) {
      const detail = opts.report.message ?? '';
      const hasDetail = detail !== '' && !detail.startsWith('-');
      const message = hasDetail ? `${report.text}: ${detail}` : report.text;
      b.line(error(report.module, message));
      if (hasDetail) {
        b.effect({
          kind: 'error-message',
          message,
          text: errorAttributeText(opts.report.now, message, opts.report.timeZone),
        });
      }
    } else {
      b.line(info(report.module, report.text));
    }
  }
  b.line(...(opts.extraLog ?? []), ...(rule.log ?? []));
  for (const key of [...(opts.prefix ?? []), ...rule.enter]) b.enter(key, rule.lcmFirst ?? false);
  b.effect(...(opts.extraEffects ?? []), ...forDriver(rule.effects, opts.caps));
  b.line(...(rule.logAfter ?? []));
  return b.build();
}

export function driverCaps(partial: Partial<DriverCaps> | undefined): DriverCaps {
  return { ...DEFAULT_DRIVER_CAPS, ...partial };
}

function ignored(vm: LifecycleVm, trigger: string, notice: string, line?: LogEntry): ActionPlan {
  const b = new PlanBuilder(vm, trigger, A.none);
  if (line !== undefined) b.line(line);
  return b.build(notice);
}

/** How long after a state change a monitoring "it runs" is ignored (LifeCycleStates.cc monitor_poweron). */
export const MONITOR_RACE_SECONDS = 30;

/**
 * What the life-cycle manager does when a driver operation ends or monitoring reports the VM.
 *
 * * Driver results for a VM in a state that does not expect them are refused with OpenNebula's
 *   text (`prolog_success_action, VM in a wrong state`); results for a VM that is not ACTIVE are
 *   ignored with a `[VMM][W] Ignored:` line, as OpenNebula's protocol handlers do.
 * * Monitoring and image-copy reports that do not apply are ignored (ok, with a `notice`).
 */
export function applyEvent(vm: LifecycleVm, event: VmEvent, ctx: EventContext): Result<ActionPlan> {
  const trigger = `event:${event.kind}`;
  const caps = driverCaps(ctx.driver);
  const from = stateKey(vm);
  const report = {
    now: ctx.now,
    ...(event.message === undefined ? {} : { message: event.message }),
    ...(ctx.timeZone === undefined ? {} : { timeZone: ctx.timeZone }),
  };

  if (from === undefined) {
    return fail(
      'UNDEFINED_STATE',
      `VM ${vm.id} is in an undefined state ${vm.state}/${vm.lcmState}; use recover --delete-db`,
    );
  }

  let kind = event.kind;
  let reportText: DriverReport | undefined;
  const extraLog: LogEntry[] = [];

  if (
    kind === 'vm-gone-while-shutdown' ||
    (kind === 'vm-reported-poweroff' && SHUTDOWN_STATES.includes(from))
  ) {
    if (!SHUTDOWN_STATES.includes(from)) return ok(ignored(vm, trigger, `VM ${vm.id} is not shutting down`));
    kind = 'shutdown-success';
    extraLog.push(info('LCM', 'VM reported SHUTDOWN by the drivers'));
  }

  if (kind === 'vm-found-running' && (from === 'POWEROFF' || from === 'SUSPENDED')) {
    const since = vm.runningEtime ?? 0;
    if (since !== 0 && ctx.now - since < MONITOR_RACE_SECONDS) {
      return ok(
        ignored(
          vm,
          trigger,
          'state update within 30 s of a state change',
          info('VMM', 'Ignoring VM state update'),
        ),
      );
    }
  }

  // A deploy that returns no hypervisor id failed (VirtualMachineManagerProtocol.cc _deploy).
  if (kind === 'boot-success' && event.deployId === '') {
    kind = 'boot-failure';
    reportText = { module: 'VMM', text: 'Empty deploy ID for virtual machine' };
  }

  const rule = findEventRule(vm, kind, from, event);
  if (rule === undefined) {
    if (!isDriverEvent(kind)) {
      return ok(ignored(vm, trigger, `${event.kind} does not apply to a VM in ${from}`));
    }
    // A late result for a VM that is no longer ACTIVE (VirtualMachineManagerProtocol.cc check_vm_state).
    if (vm.state !== VmState.ACTIVE) {
      const module = kind.startsWith('prolog') || kind.startsWith('epilog') ? 'TrM' : 'VMM';
      const message = `Ignored: ${kind}${event.message ? ` ${event.message}` : ''}`;
      return ok(ignored(vm, trigger, `VM ${vm.id} is not ACTIVE`, { module, level: 'W', message }));
    }
    return fail('EVENT_WRONG_STATE', `${handlerName(kind)}, VM in a wrong state`);
  }

  const extraEffects: Effect[] = [];
  if (kind === 'boot-success' && event.deployId)
    extraEffects.push({ kind: 'deploy-id', value: event.deployId });
  const monitorAction = event.kind === 'vm-reported-poweroff' || event.kind === 'vm-reported-suspended';

  return ok(
    planEventRule(vm, rule, {
      caps,
      trigger,
      report,
      extraLog,
      extraEffects,
      ...(reportText === undefined ? {} : { reportText }),
      historyAction: monitorAction && kind === event.kind ? A.monitor : A.none,
    }),
  );
}
