import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  FAILURE_LCM_STATES,
  LCM_STATE_SHORT,
  LcmState,
  STATE_KEYS_IN_USE,
  UNUSED_STATE_KEYS,
  VM_STATE_SHORT,
  VmState,
  isDefinedPair,
  isFailureState,
  isLcmState,
  isVmState,
  lcmStateFromName,
  lcmStateName,
  stateFromName,
  stateKey,
  stateLabel,
  stateName,
  statePair,
  vmShortState,
} from '../../../src/domain/vm/index.js';

describe('VM STATE (§3.1)', () => {
  it('has OpenNebula numbers', () => {
    assert.deepEqual(VmState, {
      INIT: 0,
      PENDING: 1,
      HOLD: 2,
      ACTIVE: 3,
      STOPPED: 4,
      SUSPENDED: 5,
      DONE: 6,
      FAILED: 7,
      POWEROFF: 8,
      UNDEPLOYED: 9,
      CLONING: 10,
      CLONING_FAILURE: 11,
    });
  });

  it('maps names and numbers both ways', () => {
    for (const [name, n] of Object.entries(VmState)) {
      assert.equal(stateName(n), name);
      assert.equal(stateFromName(name), n);
      assert.ok(isVmState(n));
    }
    assert.equal(stateName(12), 'STATE_12');
    assert.equal(stateFromName('RUNNING'), undefined);
    assert.equal(stateFromName('toString'), undefined);
    assert.ok(!isVmState(12));
  });

  it('has the CLI short strings', () => {
    assert.equal(VM_STATE_SHORT.PENDING, 'pend');
    assert.equal(VM_STATE_SHORT.POWEROFF, 'poff');
    assert.equal(VM_STATE_SHORT.UNDEPLOYED, 'unde');
    assert.equal(VM_STATE_SHORT.CLONING_FAILURE, 'fail');
    assert.equal(VM_STATE_SHORT.SUSPENDED, 'susp');
  });
});

describe('LCM_STATE (§3.2)', () => {
  it('spot-checks numbers', () => {
    const expected: Record<string, number> = {
      LCM_INIT: 0,
      PROLOG: 1,
      BOOT: 2,
      RUNNING: 3,
      MIGRATE: 4,
      SAVE_STOP: 5,
      EPILOG: 11,
      SHUTDOWN: 12,
      CANCEL: 13,
      FAILURE: 14,
      CLEANUP_RESUBMIT: 15,
      UNKNOWN: 16,
      HOTPLUG: 17,
      CLEANUP_DELETE: 23,
      SHUTDOWN_UNDEPLOY: 29,
      BOOT_UNDEPLOY: 32,
      BOOT_FAILURE: 36,
      PROLOG_FAILURE: 39,
      PROLOG_MIGRATE_POWEROFF: 43,
      PROLOG_UNDEPLOY_FAILURE: 50,
      DISK_SNAPSHOT_POWEROFF: 51,
      DISK_SNAPSHOT: 57,
      PROLOG_MIGRATE_UNKNOWN_FAILURE: 61,
      DISK_RESIZE: 62,
      HOTPLUG_NIC_POWEROFF: 65,
      HOTPLUG_SAVEAS_STOPPED: 68,
      BACKUP: 69,
      BACKUP_POWEROFF: 70,
      RESTORE: 71,
    };
    for (const [name, n] of Object.entries(expected)) {
      assert.equal(LcmState[name as keyof typeof LcmState], n, name);
      assert.equal(lcmStateName(n), name);
      assert.equal(lcmStateFromName(name), n);
    }
  });

  it('is dense from 0 to 71', () => {
    const numbers = Object.values(LcmState).sort((a, b) => a - b);
    assert.deepEqual(
      numbers,
      Array.from({ length: 72 }, (_, i) => i),
    );
    assert.ok(isLcmState(71) && !isLcmState(72));
    assert.equal(lcmStateName(72), 'LCM_STATE_72');
    assert.equal(lcmStateFromName('PENDING'), undefined);
  });

  it('has the CLI short strings, with drsz for DISK_RESIZE*', () => {
    assert.equal(LCM_STATE_SHORT.DISK_RESIZE, 'drsz');
    assert.equal(LCM_STATE_SHORT.DISK_RESIZE_POWEROFF, 'drsz');
    assert.equal(LCM_STATE_SHORT.DISK_RESIZE_UNDEPLOYED, 'drsz');
    assert.equal(LCM_STATE_SHORT.RUNNING, 'runn');
    assert.equal(LCM_STATE_SHORT.CLEANUP_RESUBMIT, 'clea');
    assert.equal(LCM_STATE_SHORT.HOTPLUG_SNAPSHOT, 'snap');
    assert.equal(LCM_STATE_SHORT.BACKUP, 'back');
    assert.equal(LCM_STATE_SHORT.RESTORE, 'rest');
    assert.equal(LCM_STATE_SHORT.UNKNOWN, 'unkn');
  });
});

describe('vmShortState', () => {
  it('prints the VM short unless ACTIVE, then the LCM short', () => {
    assert.equal(vmShortState(VmState.PENDING, 0), 'pend');
    assert.equal(vmShortState(VmState.POWEROFF, 0), 'poff');
    assert.equal(vmShortState(VmState.ACTIVE, LcmState.RUNNING), 'runn');
    assert.equal(vmShortState(VmState.ACTIVE, LcmState.PROLOG_MIGRATE), 'migr');
    assert.equal(vmShortState(VmState.ACTIVE, LcmState.DISK_RESIZE_POWEROFF), 'drsz');
    assert.equal(vmShortState(VmState.ACTIVE, LcmState.BOOT_FAILURE), 'fail');
    assert.equal(vmShortState(VmState.ACTIVE, 99), '-');
    assert.equal(vmShortState(42, 0), '-');
  });

  it('labels states as OpenNebula does in errors', () => {
    assert.equal(stateLabel(VmState.ACTIVE, LcmState.SAVE_STOP), 'SAVE_STOP');
    assert.equal(stateLabel(VmState.POWEROFF, 0), 'POWEROFF');
  });
});

describe('failure states', () => {
  it('are exactly the *_FAILURE LCM states', () => {
    const byName = Object.entries(LcmState)
      .filter(([name]) => name.endsWith('_FAILURE'))
      .map(([, n]) => n)
      .sort((a, b) => a - b);
    assert.deepEqual(
      [...FAILURE_LCM_STATES].sort((a, b) => a - b),
      byName,
    );
    assert.equal(byName.length, 14);
    for (const n of byName) assert.ok(isFailureState(n));
    assert.ok(!isFailureState(LcmState.FAILURE), 'the 4.x FAILURE is not in use');
    assert.ok(!isFailureState(LcmState.RUNNING));
  });
});

describe('state keys', () => {
  it('round-trip every pair in use', () => {
    for (const key of STATE_KEYS_IN_USE) {
      const pair = statePair(key);
      assert.equal(stateKey(pair), key);
      assert.ok(isDefinedPair(pair));
      assert.ok(pair.state === VmState.ACTIVE || pair.lcmState === 0);
    }
    assert.equal(STATE_KEYS_IN_USE.length, 11 + 71 - UNUSED_STATE_KEYS.length);
  });

  it('reject undefined pairs', () => {
    assert.equal(stateKey({ state: VmState.POWEROFF, lcmState: LcmState.RUNNING }), undefined);
    assert.equal(stateKey({ state: VmState.ACTIVE, lcmState: LcmState.LCM_INIT }), undefined);
    assert.equal(stateKey({ state: VmState.ACTIVE, lcmState: 99 }), undefined);
    assert.equal(stateKey({ state: 99, lcmState: 0 }), undefined);
    assert.ok(!isDefinedPair({ state: VmState.ACTIVE, lcmState: LcmState.CANCEL }));
    assert.ok(!isDefinedPair({ state: VmState.FAILED, lcmState: 0 }));
  });
});
