/**
 * `one.vm.recover` (reference §3.8; `one:src/rm/RequestManagerVirtualMachine.cc` VirtualMachineRecover,
 * `one:src/dm/DispatchManagerActions.cc` recover/retry/delete_vm/delete_recreate/delete_vm_db,
 * `one:src/lcm/LifeCycleActions.cc` recover/retry). The operator's way out of any state, so that
 * nothing ever needs a database edit.
 */
import { fail, ok, type Result } from '../errors.js';
import { VmActionCode } from './actions.js';
import { planDelete, planDeleteDb, planDeleteRecreate, vmStateLabel } from './cleanup.js';
import { driverCaps, findEventRule, planEventRule, type VmEventKind } from './events.js';
import {
  PlanBuilder,
  capacity,
  history,
  tm,
  vmm,
  type ActionPlan,
  type DriverCaps,
  type Effect,
  type LifecycleVm,
} from './plan.js';
import { VmState, stateKey, type StateKey } from './states.js';

/** The `op` argument of `one.vm.recover`. */
export const RecoverOp = {
  failure: 0,
  success: 1,
  retry: 2,
  delete: 3,
  'delete-recreate': 4,
  'delete-db': 5,
} as const;
export type RecoverOpName = keyof typeof RecoverOp;
export type RecoverOp = (typeof RecoverOp)[RecoverOpName];
export const RECOVER_OPS = Object.keys(RecoverOp) as RecoverOpName[];

const A = VmActionCode;

/** The operation a transient state waits for: the success and failure events that end it. */
export interface PendingStep {
  readonly success: VmEventKind;
  readonly failure: VmEventKind;
}

const step = (op: string): PendingStep => ({
  success: `${op}-success` as VmEventKind,
  failure: `${op}-failure` as VmEventKind,
});

/** What each transient ACTIVE state waits for (`LifeCycleManager::recover`). */
export const PENDING_STEPS: Readonly<Partial<Record<StateKey, PendingStep>>> = {
  PROLOG: step('prolog'),
  PROLOG_MIGRATE: step('prolog'),
  PROLOG_RESUME: step('prolog'),
  PROLOG_UNDEPLOY: step('prolog'),
  PROLOG_MIGRATE_POWEROFF: step('prolog'),
  PROLOG_MIGRATE_SUSPEND: step('prolog'),
  PROLOG_MIGRATE_UNKNOWN: step('prolog'),
  EPILOG: step('epilog'),
  EPILOG_STOP: step('epilog'),
  EPILOG_UNDEPLOY: step('epilog'),
  BOOT: step('boot'),
  BOOT_UNKNOWN: step('boot'),
  BOOT_POWEROFF: step('boot'),
  BOOT_SUSPENDED: step('boot'),
  BOOT_STOPPED: step('boot'),
  BOOT_UNDEPLOY: step('boot'),
  BOOT_MIGRATE: step('boot'),
  MIGRATE: step('migrate'),
  SHUTDOWN: step('shutdown'),
  SHUTDOWN_POWEROFF: step('shutdown'),
  SHUTDOWN_UNDEPLOY: step('shutdown'),
  SAVE_STOP: step('save'),
  SAVE_SUSPEND: step('save'),
  SAVE_MIGRATE: step('save'),
  HOTPLUG: step('disk-attach'),
  HOTPLUG_NIC: step('nic-attach'),
  HOTPLUG_NIC_POWEROFF: step('nic-attach'),
  HOTPLUG_SNAPSHOT: step('snapshot'),
  HOTPLUG_SAVEAS: step('disk-saveas'),
  HOTPLUG_SAVEAS_POWEROFF: step('disk-saveas'),
  HOTPLUG_SAVEAS_SUSPENDED: step('disk-saveas'),
  HOTPLUG_SAVEAS_UNDEPLOYED: step('disk-saveas'),
  HOTPLUG_SAVEAS_STOPPED: step('disk-saveas'),
  HOTPLUG_PROLOG_POWEROFF: step('disk-attach'),
  HOTPLUG_EPILOG_POWEROFF: step('disk-detach'),
  HOTPLUG_RESIZE: step('resize'),
  DISK_SNAPSHOT: step('disk-snapshot'),
  DISK_SNAPSHOT_POWEROFF: step('disk-snapshot'),
  DISK_SNAPSHOT_REVERT_POWEROFF: step('disk-snapshot'),
  DISK_SNAPSHOT_DELETE_POWEROFF: step('disk-snapshot'),
  DISK_SNAPSHOT_SUSPENDED: step('disk-snapshot'),
  DISK_SNAPSHOT_DELETE_SUSPENDED: step('disk-snapshot'),
  DISK_SNAPSHOT_DELETE: step('disk-snapshot'),
  DISK_RESIZE: step('disk-resize'),
  DISK_RESIZE_POWEROFF: step('disk-resize'),
  DISK_RESIZE_UNDEPLOYED: step('disk-resize'),
  BACKUP: step('backup'),
  BACKUP_POWEROFF: step('backup'),
  RESTORE: step('restore'),
  CLEANUP_RESUBMIT: { success: 'cleanup-done', failure: 'cleanup-failure' },
};

/**
 * The step a VM waits for, refined by its HISTORY ACTION where one state serves several
 * operations. OpenNebula always re-fires the disk/NIC *attach* events in HOTPLUG/HOTPLUG_NIC,
 * which clears the wrong pending change after a detach or an updateconf; Nimbus picks the one
 * in flight.
 */
export function pendingStep(vm: LifecycleVm): PendingStep | undefined {
  const key = stateKey(vm);
  if (key === undefined) return undefined;
  const action = vm.historyAction ?? A.none;
  if (key === 'HOTPLUG' && action === A['disk-detach']) return step('disk-detach');
  if (key === 'HOTPLUG' && action === A.updateconf) return step('updateconf');
  if ((key === 'HOTPLUG_NIC' || key === 'HOTPLUG_NIC_POWEROFF') && action === A['nic-detach'])
    return step('nic-detach');
  if (key === 'SAVE_MIGRATE' && (action === A['poweroff-migrate'] || action === A['poweroff-hard-migrate'])) {
    return step('shutdown');
  }
  return PENDING_STEPS[key];
}

/**
 * A *_FAILURE state and the state whose success event `recover --success` re-fires
 * (`trigger_prolog_success` etc. accept the failure states). EPILOG*_FAILURE first go back to
 * their EPILOG state, as OpenNebula does (logged).
 */
const FAILURE_ORIGIN: Readonly<
  Partial<Record<StateKey, { readonly origin: StateKey; readonly reenter: boolean }>>
> = {
  PROLOG_FAILURE: { origin: 'PROLOG', reenter: false },
  PROLOG_MIGRATE_FAILURE: { origin: 'PROLOG_MIGRATE', reenter: false },
  PROLOG_MIGRATE_POWEROFF_FAILURE: { origin: 'PROLOG_MIGRATE_POWEROFF', reenter: false },
  PROLOG_MIGRATE_SUSPEND_FAILURE: { origin: 'PROLOG_MIGRATE_SUSPEND', reenter: false },
  PROLOG_MIGRATE_UNKNOWN_FAILURE: { origin: 'PROLOG_MIGRATE_UNKNOWN', reenter: false },
  PROLOG_RESUME_FAILURE: { origin: 'PROLOG_RESUME', reenter: false },
  PROLOG_UNDEPLOY_FAILURE: { origin: 'PROLOG_UNDEPLOY', reenter: false },
  BOOT_FAILURE: { origin: 'BOOT', reenter: false },
  BOOT_MIGRATE_FAILURE: { origin: 'BOOT_MIGRATE', reenter: false },
  BOOT_STOPPED_FAILURE: { origin: 'BOOT_STOPPED', reenter: false },
  BOOT_UNDEPLOY_FAILURE: { origin: 'BOOT_UNDEPLOY', reenter: false },
  EPILOG_FAILURE: { origin: 'EPILOG', reenter: true },
  EPILOG_STOP_FAILURE: { origin: 'EPILOG_STOP', reenter: true },
  EPILOG_UNDEPLOY_FAILURE: { origin: 'EPILOG_UNDEPLOY', reenter: true },
};

/**
 * `recover --failure` on a failed migration rolls it back to the source host: close the record on
 * the target, continue in a copy of the source one, and finish the step there
 * (LifeCycleStates.cc trigger_prolog_failure, "recover failure from failure state").
 */
const MIGRATION_ROLLBACK: Readonly<Partial<Record<StateKey, StateKey>>> = {
  PROLOG_MIGRATE_FAILURE: 'PROLOG_MIGRATE',
  PROLOG_MIGRATE_POWEROFF_FAILURE: 'PROLOG_MIGRATE_POWEROFF',
  PROLOG_MIGRATE_SUSPEND_FAILURE: 'PROLOG_MIGRATE_SUSPEND',
  PROLOG_MIGRATE_UNKNOWN_FAILURE: 'PROLOG_MIGRATE_UNKNOWN',
};

/** `LifeCycleManager::retry`: the state to re-enter (if any) and the operation to send again. */
export const RETRY_STEPS: Readonly<
  Partial<Record<StateKey, { readonly enter?: StateKey; readonly effect: Effect }>>
> = {
  BOOT_FAILURE: { enter: 'BOOT', effect: vmm('deploy') },
  BOOT_MIGRATE_FAILURE: { enter: 'BOOT_MIGRATE', effect: vmm('restore') },
  BOOT_UNDEPLOY_FAILURE: { enter: 'BOOT_UNDEPLOY', effect: vmm('deploy') },
  BOOT_STOPPED_FAILURE: { enter: 'BOOT_STOPPED', effect: vmm('restore') },
  PROLOG_MIGRATE_FAILURE: { enter: 'PROLOG_MIGRATE', effect: tm('prolog-migrate') },
  PROLOG_MIGRATE_POWEROFF_FAILURE: { enter: 'PROLOG_MIGRATE_POWEROFF', effect: tm('prolog-migrate') },
  PROLOG_MIGRATE_SUSPEND_FAILURE: { enter: 'PROLOG_MIGRATE_SUSPEND', effect: tm('prolog-migrate') },
  PROLOG_MIGRATE_UNKNOWN_FAILURE: { enter: 'PROLOG_MIGRATE_UNKNOWN', effect: tm('prolog-migrate') },
  PROLOG_RESUME_FAILURE: { enter: 'PROLOG_RESUME', effect: tm('prolog-resume') },
  PROLOG_UNDEPLOY_FAILURE: { enter: 'PROLOG_UNDEPLOY', effect: tm('prolog-resume') },
  PROLOG_FAILURE: { enter: 'PROLOG', effect: tm('prolog') },
  EPILOG_FAILURE: { enter: 'EPILOG', effect: tm('epilog') },
  EPILOG_STOP_FAILURE: { enter: 'EPILOG_STOP', effect: tm('epilog-stop') },
  EPILOG_UNDEPLOY_FAILURE: { enter: 'EPILOG_UNDEPLOY', effect: tm('epilog-stop') },
  BOOT_MIGRATE: { effect: vmm('restore') },
  BOOT_SUSPENDED: { effect: vmm('restore') },
  BOOT_STOPPED: { effect: vmm('restore') },
  // OpenNebula sends `restore` here, but an undeployed VM has no checkpoint: it was deployed.
  BOOT_UNDEPLOY: { effect: vmm('deploy') },
  BOOT: { effect: vmm('deploy') },
  BOOT_POWEROFF: { effect: vmm('deploy') },
  BOOT_UNKNOWN: { effect: vmm('deploy') },
  SAVE_STOP: { effect: vmm('save') },
  SAVE_SUSPEND: { effect: vmm('save') },
  SAVE_MIGRATE: { effect: vmm('save') },
  MIGRATE: { effect: vmm('migrate') },
  PROLOG: { effect: tm('prolog') },
  PROLOG_MIGRATE: { effect: tm('prolog-migrate') },
  PROLOG_MIGRATE_POWEROFF: { effect: tm('prolog-migrate') },
  PROLOG_MIGRATE_SUSPEND: { effect: tm('prolog-migrate') },
  PROLOG_MIGRATE_UNKNOWN: { effect: tm('prolog-migrate') },
  PROLOG_RESUME: { effect: tm('prolog-resume') },
  PROLOG_UNDEPLOY: { effect: tm('prolog-resume') },
  EPILOG: { effect: tm('epilog') },
  EPILOG_STOP: { effect: tm('epilog-stop') },
  EPILOG_UNDEPLOY: { effect: tm('epilog-stop') },
};

/**
 * SHUTDOWN* and a poweroff-migrate in SAVE_MIGRATE resend what was asked: a soft shutdown or a
 * hard cancel. (OpenNebula resends `shutdown` only after `terminate` and `cancel` otherwise, so a
 * retried soft `poweroff` would become a hard one.)
 */
const HARD_SHUTDOWN = new Set<number>([
  A['terminate-hard'],
  A['poweroff-hard'],
  A['undeploy-hard'],
  A['poweroff-hard-migrate'],
]);

function retryEffect(key: StateKey, vm: LifecycleVm): Effect | undefined {
  const action = vm.historyAction ?? A.none;
  if (key === 'SHUTDOWN' || key === 'SHUTDOWN_POWEROFF' || key === 'SHUTDOWN_UNDEPLOY') {
    return HARD_SHUTDOWN.has(action) ? vmm('cancel') : vmm('shutdown');
  }
  if (key === 'SAVE_MIGRATE' && action === A['poweroff-migrate']) return vmm('shutdown');
  if (key === 'SAVE_MIGRATE' && action === A['poweroff-hard-migrate']) return vmm('cancel');
  return RETRY_STEPS[key]?.effect;
}

export interface RecoverOptions {
  readonly driver?: Partial<DriverCaps>;
}

function wrongState(vm: LifecycleVm, what: string, hint: string): Result<ActionPlan> {
  return fail(
    'ACTION_NOT_ALLOWED',
    `Could not perform ${what} on VM ${vm.id}, wrong state ${vmStateLabel(vm)}.${hint}`,
  );
}

const noop = (vm: LifecycleVm, trigger: string, action: number, notice: string): Result<ActionPlan> =>
  ok(new PlanBuilder(vm, trigger, action).build(notice));

function recoverSuccessOrFailure(vm: LifecycleVm, success: boolean, caps: DriverCaps): Result<ActionPlan> {
  const trigger = `recover:${success ? 'success' : 'failure'}`;
  const key = stateKey(vm);
  if (vm.state === VmState.CLONING_FAILURE) {
    // Look at the images again; the result comes back as clone-success / clone-failure.
    return ok(
      new PlanBuilder(vm, trigger, A.recover).effect({ kind: 'images', op: 'recheck-clones' }).build(),
    );
  }
  if (vm.state !== VmState.ACTIVE || key === undefined) {
    return wrongState(vm, 'a recover operation', ' Recover works on ACTIVE and CLONING_FAILURE VMs.');
  }
  switch (key) {
    case 'RUNNING':
      return noop(vm, trigger, A.recover, `VM ${vm.id} is RUNNING: nothing to recover`);
    case 'CLEANUP_DELETE':
      return planDelete(vm, trigger, caps, A.recover);
    case 'CLEANUP_RESUBMIT':
      return planDeleteRecreate(vm, trigger, caps);
    case 'UNKNOWN':
      return success
        ? ok(new PlanBuilder(vm, trigger, A.recover).enter('RUNNING').build())
        : noop(vm, trigger, A.recover, `VM ${vm.id} is UNKNOWN: there is no operation to fail`);
    default:
      break;
  }

  const deployId: Effect[] =
    success && (vm.deployId ?? '') === '' && (key.startsWith('BOOT') || key === 'MIGRATE')
      ? [{ kind: 'deploy-id', value: `one-${vm.id}` }] // what KVM names the domain (LifeCycleActions.cc recover)
      : [];

  const origin = FAILURE_ORIGIN[key];
  if (origin !== undefined) {
    if (!success) {
      const rollback = MIGRATION_ROLLBACK[key];
      if (rollback === undefined) {
        return noop(
          vm,
          trigger,
          A.recover,
          `VM ${vm.id} is already in ${key}; use recover --retry, --success or --delete`,
        );
      }
      const rule = findEventRule(vm, 'prolog-success', rollback);
      if (rule === undefined) return wrongState(vm, 'a recover operation', '');
      const undo: Effect[] = [
        history.stamp('petime'),
        history.close(),
        capacity('remove'),
        history.copy('previous'),
        history.stamp('pstime'),
        capacity('add'),
      ];
      return ok(
        planEventRule(vm, rule, {
          caps,
          trigger,
          historyAction: A.recover,
          prefix: [rollback],
          extraEffects: undo,
        }),
      );
    }
    const succeed = PENDING_STEPS[origin.origin]?.success;
    const rule = succeed === undefined ? undefined : findEventRule(vm, succeed, origin.origin);
    if (rule === undefined) return wrongState(vm, 'a recover operation', '');
    return ok(
      planEventRule(vm, rule, {
        caps,
        trigger,
        historyAction: A.recover,
        prefix: origin.reenter ? [origin.origin] : [],
        extraEffects: deployId,
      }),
    );
  }

  const pending = pendingStep(vm);
  const kind = pending === undefined ? undefined : success ? pending.success : pending.failure;
  const rule = kind === undefined ? undefined : findEventRule(vm, kind, key);
  if (rule === undefined) return wrongState(vm, 'a recover operation', '');
  return ok(planEventRule(vm, rule, { caps, trigger, historyAction: A.recover, extraEffects: deployId }));
}

function retry(vm: LifecycleVm): Result<ActionPlan> {
  const trigger = 'recover:retry';
  const key = stateKey(vm);
  if (vm.state !== VmState.ACTIVE || key === undefined) {
    return fail(
      'ACTION_NOT_ALLOWED',
      `Could not perform a retry on VM ${vm.id}, wrong state ${vmStateLabel(vm)}.`,
    );
  }
  const effect = retryEffect(key, vm);
  if (effect === undefined) {
    return noop(
      vm,
      trigger,
      A.retry,
      `VM ${vm.id} is ${key}: there is no driver operation to retry; use recover --success or --failure`,
    );
  }
  const b = new PlanBuilder(vm, trigger, A.retry);
  const enter = RETRY_STEPS[key]?.enter;
  if (enter !== undefined) b.enter(enter);
  return ok(b.effect(effect).build());
}

/**
 * `one.vm.recover(id, op)`: 0 failure, 1 success, 2 retry, 3 delete, 4 delete-recreate, 5 delete-db.
 * Returns the plan, or a refusal with OpenNebula's "Could not perform a recover operation on VM…".
 */
export function recover(
  vm: LifecycleVm,
  op: RecoverOp | RecoverOpName,
  options: RecoverOptions = {},
): Result<ActionPlan> {
  const caps = driverCaps(options.driver);
  const code = typeof op === 'number' ? op : RecoverOp[op];
  switch (code) {
    case RecoverOp.failure:
      return recoverSuccessOrFailure(vm, false, caps);
    case RecoverOp.success:
      return recoverSuccessOrFailure(vm, true, caps);
    case RecoverOp.retry:
      return retry(vm);
    case RecoverOp.delete:
      return planDelete(vm, 'recover:delete', caps);
    case RecoverOp['delete-recreate']:
      return planDeleteRecreate(vm, 'recover:delete-recreate', caps);
    case RecoverOp['delete-db']:
      return planDeleteDb(vm, 'recover:delete-db');
    default:
      return fail('INVALID_ARGUMENT', `Wrong recovery operation code ${String(code)}: use 0 to 5`, 'op');
  }
}

export type RecoverAvailability =
  | { readonly allowed: true; readonly changesState: boolean }
  | { readonly allowed: false; readonly reason: string };

/** For every recover op: allowed (and whether it changes the state now), or not with the reason. */
export function allowedRecoverOps(
  vm: LifecycleVm,
  options: RecoverOptions = {},
): Readonly<Record<RecoverOpName, RecoverAvailability>> {
  const entries = RECOVER_OPS.map((op): [RecoverOpName, RecoverAvailability] => {
    const plan = recover(vm, op, options);
    if (!plan.ok) return [op, { allowed: false, reason: plan.error.message }];
    if (plan.value.notice !== undefined) return [op, { allowed: false, reason: plan.value.notice }];
    return [op, { allowed: true, changesState: plan.value.transitions.length > 0 }];
  });
  return Object.fromEntries(entries) as Record<RecoverOpName, RecoverAvailability>;
}
