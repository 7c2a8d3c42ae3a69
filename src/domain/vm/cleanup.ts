/**
 * Deleting a VM that may be in the middle of anything, and `delete-recreate` (reference §3.8,
 * `one:src/lcm/LifeCycleActions.cc` trigger_delete / trigger_delete_recreate / clean_up_vm,
 * `one:src/dm/DispatchManagerActions.cc` delete_vm / delete_recreate / delete_vm_db).
 */
import { fail, ok, type Result } from '../errors.js';
import { VmActionCode } from './actions.js';
import {
  DROP_SNAPSHOTS,
  PlanBuilder,
  capacity,
  finishChange,
  forDriver,
  history,
  resched,
  tm,
  vmm,
  type ActionPlan,
  type DriverCaps,
  type Effect,
  type LifecycleVm,
} from './plan.js';
import { VmState, stateKey, stateLabel, type StateKey } from './states.js';

const A = VmActionCode;

const VMM_CLEANUP: readonly Effect[] = [history.stamp('retime'), vmm('driver-cancel'), vmm('cleanup')];
const TM_DELETE: readonly Effect[] = [tm('driver-cancel'), tm('epilog-delete')];

/**
 * What stops the operation in flight and removes the VM from its host(s), per LCM state
 * (`clean_up_vm`). Nimbus deviates where OpenNebula would leave something behind, each marked.
 */
export const CLEANUP_EFFECTS: Readonly<Partial<Record<StateKey, readonly Effect[]>>> = {
  PROLOG: [history.stamp('petime'), ...TM_DELETE],
  PROLOG_RESUME: [history.stamp('petime'), ...TM_DELETE],
  PROLOG_RESUME_FAILURE: [history.stamp('petime'), ...TM_DELETE],
  PROLOG_UNDEPLOY: [history.stamp('petime'), ...TM_DELETE],
  PROLOG_UNDEPLOY_FAILURE: [history.stamp('petime'), ...TM_DELETE],
  PROLOG_FAILURE: [history.stamp('petime'), ...TM_DELETE],

  BOOT: VMM_CLEANUP,
  BOOT_UNKNOWN: VMM_CLEANUP,
  BOOT_POWEROFF: VMM_CLEANUP,
  BOOT_SUSPENDED: VMM_CLEANUP,
  BOOT_STOPPED: VMM_CLEANUP,
  BOOT_UNDEPLOY: VMM_CLEANUP,
  BOOT_MIGRATE: VMM_CLEANUP,
  BOOT_FAILURE: VMM_CLEANUP,
  BOOT_MIGRATE_FAILURE: VMM_CLEANUP,
  BOOT_UNDEPLOY_FAILURE: VMM_CLEANUP,
  BOOT_STOPPED_FAILURE: VMM_CLEANUP,
  RUNNING: VMM_CLEANUP,
  UNKNOWN: VMM_CLEANUP,
  SHUTDOWN: VMM_CLEANUP,
  SHUTDOWN_POWEROFF: VMM_CLEANUP,
  SHUTDOWN_UNDEPLOY: VMM_CLEANUP,
  HOTPLUG_SNAPSHOT: [finishChange('snapshot-create', 'clear'), ...VMM_CLEANUP],
  BACKUP: [history.stamp('retime'), vmm('backup-cancel'), vmm('cleanup')],
  HOTPLUG: [finishChange('disk-attach', 'clear'), ...VMM_CLEANUP],
  HOTPLUG_NIC: [finishChange('nic-attach', 'clear'), ...VMM_CLEANUP],
  HOTPLUG_NIC_POWEROFF: [finishChange('nic-attach', 'clear'), ...VMM_CLEANUP],
  HOTPLUG_SAVEAS: [finishChange('disk-saveas', 'rollback'), ...VMM_CLEANUP],
  HOTPLUG_SAVEAS_POWEROFF: [finishChange('disk-saveas', 'rollback'), history.stamp('retime'), ...TM_DELETE],
  HOTPLUG_SAVEAS_SUSPENDED: [finishChange('disk-saveas', 'rollback'), history.stamp('retime'), ...TM_DELETE],
  // OpenNebula removes nothing here and its files stay in the system datastore; Nimbus deletes them.
  HOTPLUG_SAVEAS_UNDEPLOYED: [finishChange('disk-saveas', 'rollback'), ...TM_DELETE],
  HOTPLUG_SAVEAS_STOPPED: [finishChange('disk-saveas', 'rollback'), ...TM_DELETE],
  HOTPLUG_PROLOG_POWEROFF: [finishChange('disk-attach', 'clear'), ...TM_DELETE],
  HOTPLUG_EPILOG_POWEROFF: [finishChange('disk-detach', 'clear'), ...TM_DELETE],
  HOTPLUG_RESIZE: [finishChange('resize', 'clear'), ...VMM_CLEANUP],
  DISK_SNAPSHOT_POWEROFF: [finishChange('disk-snapshot-create', 'clear'), ...TM_DELETE],
  DISK_SNAPSHOT_REVERT_POWEROFF: [finishChange('disk-snapshot-revert', 'clear'), ...TM_DELETE],
  DISK_SNAPSHOT_DELETE_POWEROFF: [finishChange('disk-snapshot-delete', 'clear'), ...TM_DELETE],
  DISK_SNAPSHOT_SUSPENDED: [finishChange('disk-snapshot-create', 'clear'), ...TM_DELETE],
  DISK_SNAPSHOT_DELETE_SUSPENDED: [finishChange('disk-snapshot-delete', 'clear'), ...TM_DELETE],
  // A running VM: OpenNebula only runs a TM delete and leaves the guest running; Nimbus stops it.
  DISK_SNAPSHOT_DELETE: [finishChange('disk-snapshot-delete', 'clear'), tm('driver-cancel'), ...VMM_CLEANUP],
  BACKUP_POWEROFF: [vmm('driver-cancel'), tm('epilog-delete')],
  DISK_SNAPSHOT: [finishChange('disk-snapshot-create', 'clear'), ...VMM_CLEANUP],
  DISK_RESIZE: [finishChange('disk-resize', 'rollback'), ...VMM_CLEANUP],
  DISK_RESIZE_POWEROFF: [finishChange('disk-resize', 'rollback'), ...TM_DELETE],
  DISK_RESIZE_UNDEPLOYED: [finishChange('disk-resize', 'rollback'), ...TM_DELETE],
  MIGRATE: [
    history.stamp('retime'),
    history.close('previous'),
    history.stamp('retime', 'previous'),
    capacity('remove', 'previous'),
    vmm('driver-cancel'),
    vmm('cleanup-both'),
  ],
  SAVE_STOP: VMM_CLEANUP,
  SAVE_SUSPEND: VMM_CLEANUP,
  SAVE_MIGRATE: [
    history.stamp('retime'),
    history.close('previous'),
    history.stamp('retime', 'previous'),
    capacity('remove', 'previous'),
    vmm('driver-cancel'),
    vmm('cleanup-previous'),
  ],
  PROLOG_MIGRATE: [history.stamp('petime'), tm('driver-cancel'), tm('epilog-delete-both')],
  PROLOG_MIGRATE_FAILURE: [history.stamp('petime'), tm('driver-cancel'), tm('epilog-delete-both')],
  PROLOG_MIGRATE_POWEROFF: [history.stamp('petime'), tm('driver-cancel'), tm('epilog-delete-both')],
  PROLOG_MIGRATE_POWEROFF_FAILURE: [history.stamp('petime'), tm('driver-cancel'), tm('epilog-delete-both')],
  PROLOG_MIGRATE_SUSPEND: [history.stamp('petime'), tm('driver-cancel'), tm('epilog-delete-both')],
  PROLOG_MIGRATE_SUSPEND_FAILURE: [history.stamp('petime'), tm('driver-cancel'), tm('epilog-delete-both')],
  PROLOG_MIGRATE_UNKNOWN: [history.stamp('petime'), tm('driver-cancel'), tm('epilog-delete-both')],
  PROLOG_MIGRATE_UNKNOWN_FAILURE: [history.stamp('petime'), tm('driver-cancel'), tm('epilog-delete-both')],
  EPILOG_STOP: [history.stamp('eetime'), ...TM_DELETE],
  EPILOG_UNDEPLOY: [history.stamp('eetime'), ...TM_DELETE],
  EPILOG: [history.stamp('eetime'), ...TM_DELETE],
  EPILOG_FAILURE: [history.stamp('eetime'), ...TM_DELETE],
  EPILOG_STOP_FAILURE: [history.stamp('eetime'), ...TM_DELETE],
  EPILOG_UNDEPLOY_FAILURE: [history.stamp('eetime'), ...TM_DELETE],
  // 6.10 RESTORE (backup restore of a powered-off VM): cancel the transfer, remove the files.
  RESTORE: TM_DELETE,
  CLEANUP_RESUBMIT: [],
  CLEANUP_DELETE: [],
};

/** `clean_up_vm`: common part, then the per-state part. */
function cleanUpEffects(from: StateKey, action: number): Effect[] {
  return [
    history.action(action),
    resched(false),
    DROP_SNAPSHOTS,
    history.close(),
    capacity('remove'),
    { kind: 'vnc-port', op: 'release' },
    ...(CLEANUP_EFFECTS[from] ?? []),
  ];
}

const DONE_EFFECTS = (imagesToError: boolean): Effect[] => [
  history.finish(),
  { kind: 'release-resources', persistentImagesToError: imagesToError },
];

/**
 * `recover --delete` (op 3), also what `terminate` does from a *_FAILURE state: stop whatever is
 * running, clean the host(s), free everything, DONE. Persistent images of a VM deleted while
 * ACTIVE go to ERROR (their content may be half-written, reference §3.8).
 */
export function planDelete(
  vm: LifecycleVm,
  trigger: string,
  caps: DriverCaps,
  historyAction: number = A.delete,
): Result<ActionPlan> {
  const from = stateKey(vm);
  const b = new PlanBuilder(vm, trigger, historyAction);
  switch (from) {
    case undefined:
      return fail(
        'UNDEFINED_STATE',
        `VM ${vm.id} is in an undefined state ${vm.state}/${vm.lcmState}; use recover --delete-db`,
      );
    case 'DONE':
      return ok(b.build(`VM ${vm.id} is already DONE`));
    case 'SUSPENDED':
    case 'POWEROFF':
      return ok(
        b
          .effect(capacity('remove'), tm('epilog-delete'), ...DONE_EFFECTS(false))
          .enter('DONE')
          .build(),
      );
    case 'STOPPED':
    case 'UNDEPLOYED':
      return ok(
        b
          .effect(tm('epilog-delete'), ...DONE_EFFECTS(false))
          .enter('DONE')
          .build(),
      );
    case 'INIT':
    case 'PENDING':
    case 'HOLD':
    case 'CLONING':
    case 'CLONING_FAILURE':
    case 'FAILED':
      return ok(
        b
          .effect(...DONE_EFFECTS(false))
          .enter('DONE')
          .build(),
      );
    case 'CLEANUP_RESUBMIT':
      return ok(
        b
          .enter('CLEANUP_DELETE')
          .effect(...DONE_EFFECTS(true))
          .enter('DONE')
          .build(),
      );
    case 'CLEANUP_DELETE':
      return ok(
        b
          .effect(...DONE_EFFECTS(true))
          .enter('DONE')
          .build(),
      );
    default:
      // OpenNebula goes DONE right after triggering the cleanup (trigger_delete → trigger_done);
      // the cleanup runs on as agent operations.
      return ok(
        b
          .enter('CLEANUP_DELETE')
          .effect(...forDriver(cleanUpEffects(from, A.delete), caps), ...DONE_EFFECTS(true))
          .enter('DONE')
          .build(),
      );
  }
}

/**
 * `recover --delete-recreate` (op 4): back to PENDING with the same id, after cleaning the host.
 * From an ACTIVE state the VM waits in CLEANUP_RESUBMIT for `cleanup-done`.
 */
export function planDeleteRecreate(vm: LifecycleVm, trigger: string, caps: DriverCaps): Result<ActionPlan> {
  const from = stateKey(vm);
  const b = new PlanBuilder(vm, trigger, A['delete-recreate']);
  const refuse = (why: string): Result<ActionPlan> =>
    fail('ACTION_NOT_ALLOWED', `cannot delete-recreate VM ${vm.id}: ${why}`);
  switch (from) {
    case undefined:
      return fail(
        'UNDEFINED_STATE',
        `VM ${vm.id} is in an undefined state ${vm.state}/${vm.lcmState}; use recover --delete-db`,
      );
    case 'POWEROFF':
      return refuse('it is POWEROFF; resume it first (a powered-off VM cannot be delete-recreated)');
    case 'SUSPENDED':
      return refuse('it is SUSPENDED; resume it first (a suspended VM cannot be delete-recreated)');
    case 'DONE':
      return refuse('it is already DONE');
    case 'FAILED':
      return refuse('it is FAILED; use recover --delete');
    case 'INIT':
    case 'PENDING':
    case 'CLONING':
    case 'CLONING_FAILURE':
      return ok(b.build(`VM ${vm.id} is ${from}: it is already waiting to be deployed`));
    case 'STOPPED':
    case 'UNDEPLOYED':
      return ok(
        b
          .effect({ kind: 'drop-disk-snapshots' }, history.action(A['delete-recreate']))
          .enter('PENDING', true)
          .build(),
      );
    case 'HOLD':
      return ok(b.effect(history.action(A['delete-recreate'])).enter('PENDING', true).build());
    case 'CLEANUP_DELETE':
      return refuse('it is CLEANUP_DELETE: it is being deleted');
    case 'CLEANUP_RESUBMIT':
      return ok(b.enter('PENDING', true).effect({ kind: 'deploy-id', value: '' }).build());
    default:
      // Every ACTIVE state has a cleanup driver operation, whose end (`cleanup-done`, or an epilog
      // result) resubmits the VM. OpenNebula deletes the system snapshots here whatever the driver.
      return ok(
        b
          .enter('CLEANUP_RESUBMIT')
          .effect(
            ...forDriver(cleanUpEffects(from, A['delete-recreate']), caps),
            { kind: 'drop-disk-snapshots' },
            { kind: 'drop-system-snapshots' },
          )
          .build(),
      );
  }
}

/** `recover --delete-db` (op 5): DONE without any driver operation; works from any state but DONE. */
export function planDeleteDb(vm: LifecycleVm, trigger: string): Result<ActionPlan> {
  const b = new PlanBuilder(vm, trigger, A.delete);
  if (vm.state === VmState.DONE) return ok(b.build(`VM ${vm.id} is already DONE`));
  const onHost =
    vm.state === VmState.ACTIVE || vm.state === VmState.SUSPENDED || vm.state === VmState.POWEROFF;
  if (onHost) b.effect(capacity('remove'));
  b.effect(...DONE_EFFECTS(false));
  b.enter('DONE');
  return ok(b.build());
}

/** The label OpenNebula prints for a VM's state in its messages. */
export function vmStateLabel(vm: LifecycleVm): string {
  return stateLabel(vm.state, vm.lcmState);
}
