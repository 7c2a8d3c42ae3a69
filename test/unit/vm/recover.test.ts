import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CLEANUP_EFFECTS,
  FAILURE_LCM_STATES,
  PENDING_STEPS,
  RECOVER_OPS,
  RecoverOp,
  STATE_KEYS_IN_USE,
  USER_ACTIONS,
  VM_EVENT_KINDS,
  VmActionCode as A,
  allowedRecoverOps,
  applyEvent,
  isDefinedPair,
  lcmStateName,
  pendingStep,
  planAction,
  recover,
  stateKey,
  statePair,
  type StateKey,
} from '../../../src/domain/vm/index.js';
import { HOST_B, advance, keysOf, lines, vmIn } from './model.js';

const ACTIVE_KEYS = STATE_KEYS_IN_USE.filter((k) => statePair(k).state === 3);
const FAILURE_KEYS = FAILURE_LCM_STATES.map((n) => lcmStateName(n) as StateKey);

describe('recover, every op in every state', () => {
  for (const op of RECOVER_OPS) {
    it(op, () => {
      for (const key of STATE_KEYS_IN_USE) {
        const vm = vmIn(key, A.none, '');
        const r = recover(vm, op);
        if (!r.ok) {
          assert.equal(r.error.code, 'ACTION_NOT_ALLOWED', `${op} in ${key}`);
          assert.ok(r.error.message.includes(key) || r.error.message.includes('VM 7'), r.error.message);
          continue;
        }
        const p = r.value;
        assert.equal(p.trigger, `recover:${op}`);
        for (const t of p.transitions) assert.ok(isDefinedPair(t), `${op} in ${key}`);
        if (p.notice !== undefined) assert.deepEqual(p.transitions, []);
      }
    });
  }

  it('accepts numeric ops and refuses unknown ones', () => {
    assert.deepEqual(RecoverOp, {
      failure: 0,
      success: 1,
      retry: 2,
      delete: 3,
      'delete-recreate': 4,
      'delete-db': 5,
    });
    const r = recover(vmIn('PROLOG_FAILURE'), 1);
    assert.ok(r.ok);
    const bad = recover(vmIn('RUNNING'), 9 as never);
    assert.ok(!bad.ok);
    assert.equal(bad.error.code, 'INVALID_ARGUMENT');
  });

  it('refuses success/failure outside ACTIVE with OpenNebula words', () => {
    const r = recover(vmIn('POWEROFF'), 'success');
    assert.ok(!r.ok);
    assert.match(r.error.message, /^Could not perform a recover operation on VM 7, wrong state POWEROFF\./);
    const retry = recover(vmIn('DONE'), 'retry');
    assert.ok(!retry.ok);
    assert.equal(retry.error.message, 'Could not perform a retry on VM 7, wrong state DONE.');
  });
});

describe('recover --success (op 1) re-fires the success of the pending step', () => {
  const cases: [StateKey, StateKey[]][] = [
    ['PROLOG_FAILURE', ['BOOT']],
    ['PROLOG_RESUME_FAILURE', ['BOOT_STOPPED']],
    ['PROLOG_UNDEPLOY_FAILURE', ['BOOT_UNDEPLOY']],
    ['PROLOG_MIGRATE_FAILURE', ['BOOT_MIGRATE']],
    ['PROLOG_MIGRATE_POWEROFF_FAILURE', ['POWEROFF']],
    ['PROLOG_MIGRATE_SUSPEND_FAILURE', ['SUSPENDED']],
    ['PROLOG_MIGRATE_UNKNOWN_FAILURE', ['BOOT']],
    ['BOOT_FAILURE', ['RUNNING']],
    ['BOOT_MIGRATE_FAILURE', ['RUNNING']],
    ['BOOT_STOPPED_FAILURE', ['RUNNING']],
    ['BOOT_UNDEPLOY_FAILURE', ['RUNNING']],
    ['EPILOG_FAILURE', ['EPILOG', 'DONE']],
    ['EPILOG_STOP_FAILURE', ['EPILOG_STOP', 'STOPPED']],
    ['EPILOG_UNDEPLOY_FAILURE', ['EPILOG_UNDEPLOY', 'UNDEPLOYED']],
    ['UNKNOWN', ['RUNNING']],
    ['CLEANUP_DELETE', ['DONE']],
    ['CLEANUP_RESUBMIT', ['PENDING']],
    ['PROLOG', ['BOOT']],
    ['BOOT', ['RUNNING']],
    ['SHUTDOWN', ['EPILOG']],
    ['SAVE_STOP', ['EPILOG_STOP']],
    ['MIGRATE', ['RUNNING']],
    ['HOTPLUG_PROLOG_POWEROFF', ['POWEROFF']],
  ];
  for (const [from, path] of cases) {
    it(`${from} → ${path.join(' → ')}`, () => {
      const r = recover(vmIn(from, A.none, ''), 'success');
      assert.ok(r.ok, r.ok ? '' : r.error.message);
      assert.deepEqual(keysOf(r.value), path);
      assert.equal(r.value.historyAction, from.startsWith('CLEANUP') ? r.value.historyAction : A.recover);
      assert.ok(!r.value.log.some((l) => l.module === 'VMM' || l.module === 'TrM'), 'no driver report lines');
    });
  }

  it('sets DEPLOY_ID one-<id> when a boot is recovered without one', () => {
    const r = recover(vmIn('BOOT_FAILURE', A.none, ''), 'success');
    assert.ok(r.ok);
    assert.ok(r.value.effects.some((e) => e.kind === 'deploy-id' && e.value === 'one-7'));
    const known = recover(vmIn('BOOT_FAILURE', A.none, 'one-7'), 'success');
    assert.ok(known.ok);
    assert.ok(!known.value.effects.some((e) => e.kind === 'deploy-id'));
  });

  it('logs the return to EPILOG before DONE', () => {
    const r = recover(vmIn('EPILOG_FAILURE'), 'success');
    assert.ok(r.ok);
    assert.deepEqual(lines(r.value), [
      '[VM][I] New LCM state is EPILOG',
      '[VM][I] New state is DONE',
      '[VM][I] New LCM state is LCM_INIT',
    ]);
  });

  it('is a no-op for a RUNNING VM', () => {
    const r = recover(vmIn('RUNNING'), 'success');
    assert.ok(r.ok);
    assert.match(r.value.notice ?? '', /nothing to recover/);
  });

  it('settles the operation in flight in HOTPLUG and HOTPLUG_NIC', () => {
    const detach = recover(vmIn('HOTPLUG', A['disk-detach']), 'success');
    assert.ok(detach.ok);
    assert.ok(detach.value.effects.some((e) => e.kind === 'finish-change' && e.change === 'disk-detach'));
    const conf = recover(vmIn('HOTPLUG', A.updateconf), 'failure');
    assert.ok(conf.ok);
    assert.ok(conf.value.effects.some((e) => e.kind === 'finish-change' && e.change === 'updateconf'));
    const nic = recover(vmIn('HOTPLUG_NIC', A['nic-detach']), 'success');
    assert.ok(nic.ok);
    assert.ok(nic.value.effects.some((e) => e.kind === 'finish-change' && e.change === 'nic-detach'));
    const poff = recover(vmIn('SAVE_MIGRATE', A['poweroff-migrate']), 'failure');
    assert.ok(poff.ok);
    assert.deepEqual(keysOf(poff.value), ['RUNNING']);
  });

  it('rechecks the images of a CLONING_FAILURE VM', () => {
    const r = recover(vmIn('CLONING_FAILURE'), 'success');
    assert.ok(r.ok);
    assert.deepEqual(r.value.effects, [{ kind: 'images', op: 'recheck-clones' }]);
  });
});

describe('recover --failure (op 0)', () => {
  it('fails a stuck step', () => {
    const prolog = recover(vmIn('PROLOG'), 'failure');
    const boot = recover(vmIn('BOOT'), 'failure');
    assert.ok(prolog.ok && boot.ok);
    assert.deepEqual(keysOf(prolog.value), ['PROLOG_FAILURE']);
    assert.deepEqual(keysOf(boot.value), ['BOOT_FAILURE']);
    assert.deepEqual(lines(boot.value), ['[VM][I] New LCM state is BOOT_FAILURE']);
  });

  it('rolls a failed migration back to the source host', () => {
    const r = recover(vmIn('PROLOG_MIGRATE_FAILURE', A.migrate), 'failure');
    assert.ok(r.ok);
    assert.deepEqual(keysOf(r.value), ['PROLOG_MIGRATE', 'BOOT_MIGRATE']);
    const vm = advance(vmIn('PROLOG_MIGRATE_FAILURE', A.migrate), r.value);
    const [closed, back] = vm.history.slice(-2);
    assert.equal(closed?.hostname, 'node-a');
    assert.ok(closed !== undefined && closed.etime > 0);
    assert.equal(back?.hostname, 'node-b', 'continues on the host of the previous record');
    const poff = recover(vmIn('PROLOG_MIGRATE_FAILURE', A['poweroff-migrate']), 'failure');
    assert.ok(poff.ok);
    assert.deepEqual(
      keysOf(poff.value),
      ['PROLOG_MIGRATE', 'BOOT'],
      'a shut-down guest is deployed, not restored',
    );
    const suspended = recover(vmIn('PROLOG_MIGRATE_SUSPEND_FAILURE'), 'failure');
    assert.ok(suspended.ok);
    assert.deepEqual(keysOf(suspended.value), ['PROLOG_MIGRATE_SUSPEND', 'SUSPENDED']);
  });

  it('has nothing to do in the other failure states', () => {
    for (const key of ['PROLOG_FAILURE', 'BOOT_FAILURE', 'EPILOG_FAILURE', 'BOOT_STOPPED_FAILURE'] as const) {
      const r = recover(vmIn(key), 'failure');
      assert.ok(r.ok);
      assert.match(r.value.notice ?? '', new RegExp(`already in ${key}`));
    }
    const unknown = recover(vmIn('UNKNOWN'), 'failure');
    assert.ok(unknown.ok && unknown.value.notice);
  });
});

describe('recover --retry (op 2)', () => {
  const cases: [StateKey, number, StateKey[], string][] = [
    ['BOOT_FAILURE', A.none, ['BOOT'], 'vmm:deploy'],
    ['BOOT_MIGRATE_FAILURE', A.none, ['BOOT_MIGRATE'], 'vmm:restore'],
    ['BOOT_STOPPED_FAILURE', A.none, ['BOOT_STOPPED'], 'vmm:restore'],
    ['BOOT_UNDEPLOY_FAILURE', A.none, ['BOOT_UNDEPLOY'], 'vmm:deploy'],
    ['PROLOG_FAILURE', A.none, ['PROLOG'], 'tm:prolog'],
    ['PROLOG_MIGRATE_FAILURE', A.none, ['PROLOG_MIGRATE'], 'tm:prolog-migrate'],
    ['PROLOG_RESUME_FAILURE', A.none, ['PROLOG_RESUME'], 'tm:prolog-resume'],
    ['PROLOG_UNDEPLOY_FAILURE', A.none, ['PROLOG_UNDEPLOY'], 'tm:prolog-resume'],
    ['EPILOG_FAILURE', A.none, ['EPILOG'], 'tm:epilog'],
    ['EPILOG_STOP_FAILURE', A.none, ['EPILOG_STOP'], 'tm:epilog-stop'],
    ['EPILOG_UNDEPLOY_FAILURE', A.none, ['EPILOG_UNDEPLOY'], 'tm:epilog-stop'],
    ['BOOT_UNDEPLOY', A.none, [], 'vmm:deploy'],
    ['BOOT_SUSPENDED', A.none, [], 'vmm:restore'],
    ['SHUTDOWN', A.terminate, [], 'vmm:shutdown'],
    ['SHUTDOWN_POWEROFF', A.poweroff, [], 'vmm:shutdown'],
    ['SHUTDOWN_POWEROFF', A['poweroff-hard'], [], 'vmm:cancel'],
    ['SAVE_MIGRATE', A.migrate, [], 'vmm:save'],
    ['SAVE_MIGRATE', A['poweroff-migrate'], [], 'vmm:shutdown'],
    ['SAVE_MIGRATE', A['poweroff-hard-migrate'], [], 'vmm:cancel'],
    ['MIGRATE', A.none, [], 'vmm:migrate'],
    ['PROLOG', A.none, [], 'tm:prolog'],
    ['EPILOG_UNDEPLOY', A.none, [], 'tm:epilog-stop'],
  ];
  for (const [from, action, enter, op] of cases) {
    it(`${from} → ${enter.join(' → ') || 'stays'} and sends ${op}`, () => {
      const r = recover(vmIn(from, action), 'retry');
      assert.ok(r.ok);
      assert.deepEqual(keysOf(r.value), enter);
      assert.deepEqual(
        r.value.effects.map((e) => ('op' in e ? `${e.kind}:${e.op}` : e.kind)),
        [op],
      );
      assert.equal(r.value.historyAction, A.retry);
    });
  }

  it('has nothing to retry where no driver operation is pending', () => {
    for (const key of ['RUNNING', 'UNKNOWN', 'HOTPLUG', 'DISK_RESIZE', 'CLEANUP_DELETE'] as const) {
      const r = recover(vmIn(key), 'retry');
      assert.ok(r.ok);
      assert.match(r.value.notice ?? '', /no driver operation to retry/);
    }
  });
});

describe('recover --delete (op 3)', () => {
  it('cleans up any ACTIVE state and ends DONE', () => {
    for (const key of ACTIVE_KEYS) {
      const r = recover(vmIn(key, A.none), 'delete');
      assert.ok(r.ok, key);
      const keys = keysOf(r.value);
      assert.equal(keys.at(-1), 'DONE', key);
      assert.ok(keys.includes('CLEANUP_DELETE') || key === 'CLEANUP_DELETE', key);
      assert.ok(
        r.value.effects.some((e) => e.kind === 'release-resources' && e.persistentImagesToError),
        key,
      );
      if (!key.startsWith('CLEANUP')) {
        assert.ok(
          r.value.effects.some((e) => e.kind === 'tm' || e.kind === 'vmm'),
          `${key}: some driver operation cleans the host`,
        );
      }
    }
  });

  it('from POWEROFF/SUSPENDED/STOPPED/UNDEPLOYED deletes the files and is DONE at once', () => {
    for (const key of ['POWEROFF', 'SUSPENDED', 'STOPPED', 'UNDEPLOYED'] as const) {
      const r = recover(vmIn(key), 'delete');
      assert.ok(r.ok);
      assert.deepEqual(keysOf(r.value), ['DONE']);
      assert.ok(r.value.effects.some((e) => e.kind === 'tm' && e.op === 'epilog-delete'));
      assert.ok(r.value.effects.some((e) => e.kind === 'release-resources' && !e.persistentImagesToError));
      assert.equal(
        r.value.effects.some((e) => e.kind === 'capacity'),
        key === 'POWEROFF' || key === 'SUSPENDED',
      );
    }
  });

  it('from INIT/PENDING/HOLD/CLONING* goes straight to DONE; DONE is a no-op', () => {
    for (const key of ['INIT', 'PENDING', 'HOLD', 'CLONING', 'CLONING_FAILURE'] as const) {
      const r = recover(vmIn(key), 'delete');
      assert.ok(r.ok);
      assert.deepEqual(lines(r.value), ['[VM][I] New state is DONE']);
    }
    const done = recover(vmIn('DONE'), 'delete');
    assert.ok(done.ok && done.value.notice);
  });

  it('has cleanup effects for every ACTIVE state', () => {
    for (const key of ACTIVE_KEYS) assert.ok(CLEANUP_EFFECTS[key] !== undefined, key);
  });
});

describe('recover --delete-recreate (op 4) and the delete-recreate action', () => {
  it('cleans up an ACTIVE VM, waits in CLEANUP_RESUBMIT, then PENDING with the same id', () => {
    const vm = vmIn('RUNNING', A.none);
    const r = recover(vm, 'delete-recreate');
    assert.ok(r.ok);
    assert.deepEqual(keysOf(r.value), ['CLEANUP_RESUBMIT']);
    assert.ok(r.value.effects.some((e) => e.kind === 'vmm' && e.op === 'cleanup'));
    const after = advance(vm, r.value);
    const done = applyEvent(after, { kind: pendingStep(after)?.success ?? 'cleanup-done' }, { now: 1 });
    assert.ok(done.ok);
    assert.deepEqual(keysOf(done.value), ['PENDING']);
    assert.equal(done.value.vmId, 7);
  });

  it('is what the delete-recreate action does', () => {
    for (const key of STATE_KEYS_IN_USE) {
      const a = planAction(vmIn(key, A.none), 'delete-recreate');
      const b = recover(vmIn(key, A.none), 'delete-recreate');
      assert.equal(a.ok, b.ok, key);
      if (a.ok && b.ok) assert.deepEqual(a.value.transitions, b.value.transitions, key);
    }
  });

  it('refuses POWEROFF, SUSPENDED, DONE and CLEANUP_DELETE with a reason', () => {
    const expected: [StateKey, RegExp][] = [
      ['POWEROFF', /it is POWEROFF; resume it first/],
      ['SUSPENDED', /it is SUSPENDED; resume it first/],
      ['DONE', /already DONE/],
      ['CLEANUP_DELETE', /being deleted/],
    ];
    for (const [key, re] of expected) {
      const r = recover(vmIn(key), 'delete-recreate');
      assert.ok(!r.ok, key);
      assert.match(r.error.message, re);
    }
  });

  it('sends HOLD, STOPPED and UNDEPLOYED back to PENDING at once (LCM first)', () => {
    for (const key of ['HOLD', 'STOPPED', 'UNDEPLOYED'] as const) {
      const r = recover(vmIn(key, A.stop), 'delete-recreate');
      assert.ok(r.ok);
      assert.deepEqual(lines(r.value), ['[VM][I] New state is PENDING']);
      assert.ok(
        r.value.effects.some(
          (e) => e.kind === 'history' && e.op === 'set-action' && e.action === A['delete-recreate'],
        ),
      );
    }
    const pending = recover(vmIn('PENDING'), 'delete-recreate');
    assert.ok(pending.ok && pending.value.notice);
  });
});

describe('recover --delete-db (op 5)', () => {
  it('ends DONE without any driver operation, from any state but DONE', () => {
    for (const key of STATE_KEYS_IN_USE.filter((k) => k !== 'DONE')) {
      const r = recover(vmIn(key), 'delete-db');
      assert.ok(r.ok, key);
      assert.equal(stateKey(r.value.next), 'DONE');
      assert.ok(!r.value.effects.some((e) => e.kind === 'tm' || e.kind === 'vmm'), key);
    }
    const odd = recover({ id: 9, state: 8, lcmState: 3 }, 'delete-db');
    assert.ok(odd.ok, 'even an undefined pair gets out');
    assert.equal(stateKey(odd.value.next), 'DONE');
    const done = recover(vmIn('DONE'), 'delete-db');
    assert.ok(done.ok && done.value.notice);
  });
});

describe('no state ever needs a database edit', () => {
  it('every non-terminal state in use has a way out that changes the state', () => {
    for (const key of STATE_KEYS_IN_USE.filter((k) => k !== 'DONE')) {
      const vm = vmIn(key, A.none);
      const exits: string[] = [];
      for (const action of USER_ACTIONS) {
        const r = planAction(vm, action, { target: HOST_B });
        if (r.ok && r.value.transitions.length > 0) exits.push(action);
      }
      for (const op of RECOVER_OPS) {
        const r = recover(vm, op);
        if (r.ok && r.value.transitions.length > 0) exits.push(`recover:${op}`);
      }
      for (const kind of VM_EVENT_KINDS) {
        const r = applyEvent(vm, { kind }, { now: 1 });
        if (r.ok && r.value.transitions.length > 0) exits.push(`event:${kind}`);
      }
      assert.ok(exits.length > 0, key);
      // The operator's own exits, whatever the drivers do:
      assert.ok(exits.includes('recover:delete') && exits.includes('recover:delete-db'), key);
    }
  });

  it('every transient ACTIVE state can be forced either way', () => {
    for (const key of ACTIVE_KEYS) {
      if (PENDING_STEPS[key] === undefined) continue;
      for (const op of ['success', 'failure'] as const) {
        const r = recover(vmIn(key, A.none), op);
        assert.ok(r.ok, `${op} in ${key}: ${r.ok ? '' : r.error.message}`);
      }
    }
  });

  it('every *_FAILURE state can be retried, forced to success, or deleted', () => {
    for (const key of FAILURE_KEYS) {
      const allowed = allowedRecoverOps(vmIn(key, A.none));
      for (const op of ['retry', 'success', 'delete', 'delete-recreate', 'delete-db'] as const) {
        const a = allowed[op];
        assert.ok(a.allowed && a.changesState, `${op} in ${key}`);
      }
    }
  });

  it('allowedRecoverOps agrees with recover', () => {
    for (const key of STATE_KEYS_IN_USE) {
      const vm = vmIn(key, A.none);
      const allowed = allowedRecoverOps(vm);
      for (const op of RECOVER_OPS) {
        const r = recover(vm, op);
        assert.equal(allowed[op].allowed, r.ok && r.value.notice === undefined, `${op} in ${key}`);
      }
    }
  });
});
