/**
 * VM STATE and LCM_STATE (reference §3.1, §3.2; `one:include/VirtualMachine.h`). The numbers are
 * OpenNebula's and go on the wire unchanged; the names are the enum names, so the code, the
 * reference and the VM log ("New LCM state is PROLOG") read alike.
 */

export const VmState = {
  INIT: 0,
  PENDING: 1,
  HOLD: 2,
  ACTIVE: 3,
  STOPPED: 4,
  SUSPENDED: 5,
  DONE: 6,
  /** [4.x only]; reserved in 5.x/6.x, never entered by Nimbus. */
  FAILED: 7,
  POWEROFF: 8,
  UNDEPLOYED: 9,
  CLONING: 10,
  CLONING_FAILURE: 11,
} as const;
export type VmStateName = keyof typeof VmState;
export type VmState = (typeof VmState)[VmStateName];

export const LcmState = {
  LCM_INIT: 0,
  PROLOG: 1,
  BOOT: 2,
  RUNNING: 3,
  MIGRATE: 4,
  SAVE_STOP: 5,
  SAVE_SUSPEND: 6,
  SAVE_MIGRATE: 7,
  PROLOG_MIGRATE: 8,
  PROLOG_RESUME: 9,
  EPILOG_STOP: 10,
  EPILOG: 11,
  SHUTDOWN: 12,
  /** Removed in 5.0 ([4.x] hard shutdown); never entered by Nimbus. */
  CANCEL: 13,
  /** Removed in 5.0 ([4.x] → FAILED); never entered by Nimbus. */
  FAILURE: 14,
  CLEANUP_RESUBMIT: 15,
  UNKNOWN: 16,
  HOTPLUG: 17,
  SHUTDOWN_POWEROFF: 18,
  BOOT_UNKNOWN: 19,
  BOOT_POWEROFF: 20,
  BOOT_SUSPENDED: 21,
  BOOT_STOPPED: 22,
  CLEANUP_DELETE: 23,
  HOTPLUG_SNAPSHOT: 24,
  HOTPLUG_NIC: 25,
  HOTPLUG_SAVEAS: 26,
  HOTPLUG_SAVEAS_POWEROFF: 27,
  HOTPLUG_SAVEAS_SUSPENDED: 28,
  SHUTDOWN_UNDEPLOY: 29,
  EPILOG_UNDEPLOY: 30,
  PROLOG_UNDEPLOY: 31,
  BOOT_UNDEPLOY: 32,
  HOTPLUG_PROLOG_POWEROFF: 33,
  HOTPLUG_EPILOG_POWEROFF: 34,
  BOOT_MIGRATE: 35,
  BOOT_FAILURE: 36,
  BOOT_MIGRATE_FAILURE: 37,
  PROLOG_MIGRATE_FAILURE: 38,
  PROLOG_FAILURE: 39,
  EPILOG_FAILURE: 40,
  EPILOG_STOP_FAILURE: 41,
  EPILOG_UNDEPLOY_FAILURE: 42,
  PROLOG_MIGRATE_POWEROFF: 43,
  PROLOG_MIGRATE_POWEROFF_FAILURE: 44,
  PROLOG_MIGRATE_SUSPEND: 45,
  PROLOG_MIGRATE_SUSPEND_FAILURE: 46,
  BOOT_UNDEPLOY_FAILURE: 47,
  BOOT_STOPPED_FAILURE: 48,
  PROLOG_RESUME_FAILURE: 49,
  PROLOG_UNDEPLOY_FAILURE: 50,
  DISK_SNAPSHOT_POWEROFF: 51,
  DISK_SNAPSHOT_REVERT_POWEROFF: 52,
  DISK_SNAPSHOT_DELETE_POWEROFF: 53,
  DISK_SNAPSHOT_SUSPENDED: 54,
  /** Defined but never entered by OpenNebula 6.10. */
  DISK_SNAPSHOT_REVERT_SUSPENDED: 55,
  DISK_SNAPSHOT_DELETE_SUSPENDED: 56,
  DISK_SNAPSHOT: 57,
  /** Defined but never entered by OpenNebula 6.10. */
  DISK_SNAPSHOT_REVERT: 58,
  DISK_SNAPSHOT_DELETE: 59,
  PROLOG_MIGRATE_UNKNOWN: 60,
  PROLOG_MIGRATE_UNKNOWN_FAILURE: 61,
  DISK_RESIZE: 62,
  DISK_RESIZE_POWEROFF: 63,
  DISK_RESIZE_UNDEPLOYED: 64,
  HOTPLUG_NIC_POWEROFF: 65,
  HOTPLUG_RESIZE: 66,
  HOTPLUG_SAVEAS_UNDEPLOYED: 67,
  HOTPLUG_SAVEAS_STOPPED: 68,
  BACKUP: 69,
  BACKUP_POWEROFF: 70,
  RESTORE: 71,
} as const;
export type LcmStateName = keyof typeof LcmState;
export type LcmState = (typeof LcmState)[LcmStateName];

/** CLI `STAT` strings of the VM states (`one:src/oca/ruby/opennebula/virtual_machine.rb`). */
export const VM_STATE_SHORT: Readonly<Record<VmStateName, string>> = {
  INIT: 'init',
  PENDING: 'pend',
  HOLD: 'hold',
  ACTIVE: 'actv',
  STOPPED: 'stop',
  SUSPENDED: 'susp',
  DONE: 'done',
  FAILED: 'fail',
  POWEROFF: 'poff',
  UNDEPLOYED: 'unde',
  CLONING: 'clon',
  CLONING_FAILURE: 'fail',
};

/**
 * CLI `STAT` strings of the LCM states. DISK_RESIZE* print `drsz` as in the CLI code; the docs'
 * `dsrz` is a typo (reference §13.6).
 */
export const LCM_STATE_SHORT: Readonly<Record<LcmStateName, string>> = {
  LCM_INIT: 'init',
  PROLOG: 'prol',
  BOOT: 'boot',
  RUNNING: 'runn',
  MIGRATE: 'migr',
  SAVE_STOP: 'save',
  SAVE_SUSPEND: 'save',
  SAVE_MIGRATE: 'save',
  PROLOG_MIGRATE: 'migr',
  PROLOG_RESUME: 'prol',
  EPILOG_STOP: 'epil',
  EPILOG: 'epil',
  SHUTDOWN: 'shut',
  CANCEL: 'shut',
  FAILURE: 'fail',
  CLEANUP_RESUBMIT: 'clea',
  UNKNOWN: 'unkn',
  HOTPLUG: 'hotp',
  SHUTDOWN_POWEROFF: 'shut',
  BOOT_UNKNOWN: 'boot',
  BOOT_POWEROFF: 'boot',
  BOOT_SUSPENDED: 'boot',
  BOOT_STOPPED: 'boot',
  CLEANUP_DELETE: 'clea',
  HOTPLUG_SNAPSHOT: 'snap',
  HOTPLUG_NIC: 'hotp',
  HOTPLUG_SAVEAS: 'hotp',
  HOTPLUG_SAVEAS_POWEROFF: 'hotp',
  HOTPLUG_SAVEAS_SUSPENDED: 'hotp',
  SHUTDOWN_UNDEPLOY: 'shut',
  EPILOG_UNDEPLOY: 'epil',
  PROLOG_UNDEPLOY: 'prol',
  BOOT_UNDEPLOY: 'boot',
  HOTPLUG_PROLOG_POWEROFF: 'hotp',
  HOTPLUG_EPILOG_POWEROFF: 'hotp',
  BOOT_MIGRATE: 'boot',
  BOOT_FAILURE: 'fail',
  BOOT_MIGRATE_FAILURE: 'fail',
  PROLOG_MIGRATE_FAILURE: 'fail',
  PROLOG_FAILURE: 'fail',
  EPILOG_FAILURE: 'fail',
  EPILOG_STOP_FAILURE: 'fail',
  EPILOG_UNDEPLOY_FAILURE: 'fail',
  PROLOG_MIGRATE_POWEROFF: 'migr',
  PROLOG_MIGRATE_POWEROFF_FAILURE: 'fail',
  PROLOG_MIGRATE_SUSPEND: 'migr',
  PROLOG_MIGRATE_SUSPEND_FAILURE: 'fail',
  BOOT_UNDEPLOY_FAILURE: 'fail',
  BOOT_STOPPED_FAILURE: 'fail',
  PROLOG_RESUME_FAILURE: 'fail',
  PROLOG_UNDEPLOY_FAILURE: 'fail',
  DISK_SNAPSHOT_POWEROFF: 'snap',
  DISK_SNAPSHOT_REVERT_POWEROFF: 'snap',
  DISK_SNAPSHOT_DELETE_POWEROFF: 'snap',
  DISK_SNAPSHOT_SUSPENDED: 'snap',
  DISK_SNAPSHOT_REVERT_SUSPENDED: 'snap',
  DISK_SNAPSHOT_DELETE_SUSPENDED: 'snap',
  DISK_SNAPSHOT: 'snap',
  DISK_SNAPSHOT_REVERT: 'snap',
  DISK_SNAPSHOT_DELETE: 'snap',
  PROLOG_MIGRATE_UNKNOWN: 'migr',
  PROLOG_MIGRATE_UNKNOWN_FAILURE: 'fail',
  DISK_RESIZE: 'drsz',
  DISK_RESIZE_POWEROFF: 'drsz',
  DISK_RESIZE_UNDEPLOYED: 'drsz',
  HOTPLUG_NIC_POWEROFF: 'hotp',
  HOTPLUG_RESIZE: 'hotp',
  HOTPLUG_SAVEAS_UNDEPLOYED: 'hotp',
  HOTPLUG_SAVEAS_STOPPED: 'hotp',
  BACKUP: 'back',
  BACKUP_POWEROFF: 'back',
  RESTORE: 'rest',
};

function invert<K extends string>(table: Readonly<Record<K, number>>): ReadonlyMap<number, K> {
  return new Map(Object.entries<number>(table).map(([name, n]) => [n, name as K]));
}

/** VM state name by number (OpenNebula's `vm_state_to_str`). */
export const VM_STATE_NAME_BY_NUMBER: ReadonlyMap<number, VmStateName> = invert(VmState);
/** LCM state name by number (OpenNebula's `lcm_state_to_str`). */
export const LCM_STATE_NAME_BY_NUMBER: ReadonlyMap<number, LcmStateName> = invert(LcmState);

export function isVmState(n: number): n is VmState {
  return VM_STATE_NAME_BY_NUMBER.has(n);
}

export function isLcmState(n: number): n is LcmState {
  return LCM_STATE_NAME_BY_NUMBER.has(n);
}

/** `PENDING` for 1; `STATE_99` for a number OpenNebula does not define. */
export function stateName(state: number): string {
  return VM_STATE_NAME_BY_NUMBER.get(state) ?? `STATE_${state}`;
}

/** `PROLOG` for 1; `LCM_STATE_99` for a number OpenNebula does not define. */
export function lcmStateName(lcm: number): string {
  return LCM_STATE_NAME_BY_NUMBER.get(lcm) ?? `LCM_STATE_${lcm}`;
}

/** Number of a VM state name (`stateFromName('POWEROFF') === 8`), or undefined. */
export function stateFromName(name: string): VmState | undefined {
  return Object.hasOwn(VmState, name) ? VmState[name as VmStateName] : undefined;
}

/** Number of an LCM state name (`lcmStateFromName('PROLOG') === 1`), or undefined. */
export function lcmStateFromName(name: string): LcmState | undefined {
  return Object.hasOwn(LcmState, name) ? LcmState[name as LcmStateName] : undefined;
}

/** The CLI `STAT` column: the VM short string unless STATE is ACTIVE, then the LCM one. */
export function vmShortState(state: number, lcm: number): string {
  if (state === VmState.ACTIVE) {
    const name = LCM_STATE_NAME_BY_NUMBER.get(lcm);
    return name === undefined ? '-' : LCM_STATE_SHORT[name];
  }
  const name = VM_STATE_NAME_BY_NUMBER.get(state);
  return name === undefined ? '-' : VM_STATE_SHORT[name];
}

/**
 * What OpenNebula's `state_str()` prints in error messages: the LCM name while ACTIVE, the VM
 * state name otherwise (`RUNNING`, `POWEROFF`).
 */
export function stateLabel(state: number, lcm: number): string {
  return state === VmState.ACTIVE ? lcmStateName(lcm) : stateName(state);
}

/** The per-phase failure states of 5.x+ (`*_FAILURE`, short `fail`); the 4.x FAILURE (14) is not one. */
export const FAILURE_LCM_STATES: readonly LcmState[] = [
  LcmState.BOOT_FAILURE,
  LcmState.BOOT_MIGRATE_FAILURE,
  LcmState.PROLOG_MIGRATE_FAILURE,
  LcmState.PROLOG_FAILURE,
  LcmState.EPILOG_FAILURE,
  LcmState.EPILOG_STOP_FAILURE,
  LcmState.EPILOG_UNDEPLOY_FAILURE,
  LcmState.PROLOG_MIGRATE_POWEROFF_FAILURE,
  LcmState.PROLOG_MIGRATE_SUSPEND_FAILURE,
  LcmState.BOOT_UNDEPLOY_FAILURE,
  LcmState.BOOT_STOPPED_FAILURE,
  LcmState.PROLOG_RESUME_FAILURE,
  LcmState.PROLOG_UNDEPLOY_FAILURE,
  LcmState.PROLOG_MIGRATE_UNKNOWN_FAILURE,
];

const FAILURE_SET: ReadonlySet<number> = new Set(FAILURE_LCM_STATES);

/** True for the `*_FAILURE` LCM states: a driver step failed and `recover` is needed. */
export function isFailureState(lcm: number): boolean {
  return FAILURE_SET.has(lcm);
}

/**
 * A (STATE, LCM_STATE) pair named by one word, as the reference writes it: the VM state name when
 * not ACTIVE (`POWEROFF` = 8/0), the LCM name when ACTIVE (`RUNNING` = 3/3). The two name sets
 * do not overlap, so the word is unambiguous.
 */
export type StateKey = Exclude<VmStateName, 'ACTIVE'> | Exclude<LcmStateName, 'LCM_INIT'>;

export interface StatePair {
  readonly state: number;
  readonly lcmState: number;
}

export function stateKey(pair: StatePair): StateKey | undefined {
  if (pair.state === VmState.ACTIVE) {
    const name = LCM_STATE_NAME_BY_NUMBER.get(pair.lcmState);
    return name === undefined || name === 'LCM_INIT' ? undefined : name;
  }
  if (pair.lcmState !== LcmState.LCM_INIT) return undefined;
  const name = VM_STATE_NAME_BY_NUMBER.get(pair.state);
  return name === undefined || name === 'ACTIVE' ? undefined : name;
}

export function statePair(key: StateKey): StatePair {
  if (Object.hasOwn(LcmState, key)) return { state: VmState.ACTIVE, lcmState: LcmState[key as LcmStateName] };
  return { state: VmState[key as VmStateName], lcmState: LcmState.LCM_INIT };
}

/** Pairs OpenNebula 6.10 defines but never enters; Nimbus never enters them either. */
export const UNUSED_STATE_KEYS: readonly StateKey[] = [
  'FAILED',
  'CANCEL',
  'FAILURE',
  'DISK_SNAPSHOT_REVERT_SUSPENDED',
  'DISK_SNAPSHOT_REVERT',
];

/** Every (STATE, LCM_STATE) pair a 6.10 VM can be in, by key. */
export const STATE_KEYS_IN_USE: readonly StateKey[] = [
  ...(Object.keys(VmState) as VmStateName[]).filter(
    (n): n is Exclude<VmStateName, 'ACTIVE'> => n !== 'ACTIVE',
  ),
  ...(Object.keys(LcmState) as LcmStateName[]).filter(
    (n): n is Exclude<LcmStateName, 'LCM_INIT'> => n !== 'LCM_INIT',
  ),
].filter((k) => !UNUSED_STATE_KEYS.includes(k));

const IN_USE: ReadonlySet<string> = new Set(STATE_KEYS_IN_USE);

/** True when (state, lcm) is a pair a VM can be in: lcm 0 unless ACTIVE, and not an unused one. */
export function isDefinedPair(pair: StatePair): boolean {
  const key = stateKey(pair);
  return key !== undefined && IN_USE.has(key);
}
