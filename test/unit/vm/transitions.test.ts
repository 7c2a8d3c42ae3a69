import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ACTION_RULES,
  FAILURE_LCM_STATES,
  STATE_KEYS_IN_USE,
  USER_ACTIONS,
  VmActionCode as A,
  acceptedStates,
  allowedActions,
  applyEvent,
  findEventRule,
  lcmStateName,
  pendingStep,
  planAction,
  rulesFor,
  stateKey,
  statePair,
  type ActionPlan,
  type ActionRule,
  type DriverCaps,
  type LogEntry,
  type StateKey,
} from '../../../src/domain/vm/index.js';
import { HOST_B, advance, expectedStateLines, keysOf, lines, vmIn, type TestVm } from './model.js';

const CTX = { now: 2000, timeZone: 'UTC' };

/** The VM a row is about: the HISTORY action its guard reads. */
function vmFor(row: ActionRule): { vm: TestVm; driver: Partial<DriverCaps> } {
  const guard = row.when;
  if (guard !== undefined && 'previousAction' in guard) {
    const action =
      guard.previousAction === 'stop' ? A.stop : guard.previousAction === 'undeploy' ? A.undeploy : null;
    return { vm: vmIn(row.from, action), driver: {} };
  }
  if (guard !== undefined && 'driver' in guard)
    return { vm: vmIn(row.from, A.none), driver: { [guard.driver]: guard.is } };
  return { vm: vmIn(row.from, A.none), driver: {} };
}

/** State lines of a plan must be what §10.3 says for each change, nothing else logged by module VM. */
function assertStateLines(plan: ActionPlan, lcmFirst: boolean): void {
  const expected: LogEntry[] = [];
  let prev = plan.from;
  for (const t of plan.transitions) {
    expected.push(...expectedStateLines(prev, t, lcmFirst));
    prev = t;
  }
  assert.deepEqual(
    plan.log.filter((l) => l.module === 'VM'),
    expected,
  );
  assert.deepEqual(plan.next, plan.transitions.at(-1) ?? plan.from);
}

/** Drives the success events of whatever the VM waits for, until it is stable. */
function driveToStable(vm: TestVm, path: StateKey[]): TestVm {
  let cur = vm;
  for (let i = 0; i < 10; i++) {
    const step = pendingStep(cur);
    if (step === undefined) return cur;
    const ev = applyEvent(cur, { kind: step.success }, CTX);
    assert.ok(ev.ok, `${step.success} in ${String(stateKey(cur))}: ${ev.ok ? '' : ev.error.message}`);
    assertStateLines(
      ev.value,
      findEventRule(cur, step.success, stateKey(cur) as StateKey)?.lcmFirst ?? false,
    );
    path.push(...keysOf(ev.value));
    cur = advance(cur, ev.value);
  }
  assert.fail('no stable state after 10 events');
}

describe('the action table', () => {
  it('has rows only for user actions and states in use, and no duplicate unguarded row', () => {
    const seen = new Set<string>();
    for (const row of ACTION_RULES) {
      assert.ok((USER_ACTIONS as readonly string[]).includes(row.action));
      assert.ok(STATE_KEYS_IN_USE.includes(row.from), `${row.action} from ${row.from}`);
      for (const k of [...row.enter, ...row.path])
        assert.ok(STATE_KEYS_IN_USE.includes(k), `${row.action}: ${k}`);
      const id = `${row.action}/${row.from}/${JSON.stringify(row.when ?? null)}`;
      assert.ok(!seen.has(id), `duplicate row ${id}`);
      seen.add(id);
    }
  });

  it('matches §3.7 for the headline actions', () => {
    assert.deepEqual(acceptedStates('deploy').sort(), ['HOLD', 'PENDING', 'STOPPED', 'UNDEPLOYED']);
    assert.deepEqual(acceptedStates('hold'), ['PENDING']);
    assert.deepEqual(acceptedStates('release'), ['HOLD']);
    assert.deepEqual(acceptedStates('suspend'), ['RUNNING']);
    assert.deepEqual(acceptedStates('stop').sort(), ['RUNNING', 'SUSPENDED']);
    assert.deepEqual(acceptedStates('poweroff').sort(), ['RUNNING', 'UNKNOWN']);
    assert.deepEqual(acceptedStates('poweroff-hard').sort(), ['RUNNING', 'SHUTDOWN_POWEROFF', 'UNKNOWN']);
    assert.deepEqual(acceptedStates('undeploy-hard').sort(), [
      'POWEROFF',
      'RUNNING',
      'SHUTDOWN_UNDEPLOY',
      'UNKNOWN',
    ]);
    assert.deepEqual(acceptedStates('resume').sort(), [
      'POWEROFF',
      'STOPPED',
      'SUSPENDED',
      'UNDEPLOYED',
      'UNKNOWN',
    ]);
    assert.deepEqual(acceptedStates('resched').sort(), ['POWEROFF', 'RUNNING', 'UNKNOWN']);
    assert.deepEqual(acceptedStates('live-migrate'), ['RUNNING']);
    assert.deepEqual(acceptedStates('migrate').sort(), ['POWEROFF', 'RUNNING', 'SUSPENDED', 'UNKNOWN']);
    assert.deepEqual(acceptedStates('disk-resize').sort(), ['POWEROFF', 'RUNNING', 'UNDEPLOYED']);
    const terminate = acceptedStates('terminate');
    for (const k of [
      'RUNNING',
      'UNKNOWN',
      'POWEROFF',
      'SUSPENDED',
      'STOPPED',
      'UNDEPLOYED',
      'INIT',
      'PENDING',
      'HOLD',
    ]) {
      assert.ok(terminate.includes(k as StateKey), k);
    }
    for (const n of FAILURE_LCM_STATES) assert.ok(terminate.includes(lcmStateName(n) as StateKey));
    assert.ok(!terminate.includes('SHUTDOWN') && acceptedStates('terminate-hard').includes('SHUTDOWN'));
    assert.ok(!terminate.includes('DONE'), 'DONE is a no-op, not an accepted state');
  });

  // The whole table: every action in every (STATE, LCM_STATE) in use.
  for (const action of USER_ACTIONS.filter((a) => a !== 'delete-recreate')) {
    describe(action, () => {
      for (const key of STATE_KEYS_IN_USE) {
        const rows = rulesFor(action).filter((r) => r.from === key);
        if (rows.length === 0) {
          it(`is refused in ${key}`, () => {
            const result = planAction(vmIn(key, A.none), action, { target: HOST_B });
            assert.ok(!result.ok);
            assert.equal(result.error.code, 'ACTION_NOT_ALLOWED');
            assert.match(
              result.error.message,
              new RegExp(`^cannot ${action} VM 7: it is ${key}; ${action} needs `),
            );
            const availability = allowedActions(vmIn(key, A.none))[action];
            assert.equal(availability.allowed, false);
          });
          continue;
        }
        for (const row of rows) {
          const variant = row.when === undefined ? '' : ` (${JSON.stringify(row.when)})`;
          it(`from ${key}${variant}: ${row.noop ? 'no-op' : row.path.join(' → ') || 'stays'}`, () => {
            const { vm, driver } = vmFor(row);
            const result = planAction(vm, action, { target: HOST_B, driver });
            assert.ok(result.ok, result.ok ? '' : result.error.message);
            const plan = result.value;
            assert.equal(plan.vmId, 7);
            assert.equal(plan.trigger, action);
            assert.equal(plan.historyAction, row.historyAction ?? A[action]);
            if (row.noop !== undefined) {
              assert.ok(plan.notice?.includes(row.noop));
              assert.deepEqual(plan.transitions, []);
              assert.equal(allowedActions(vm, { driver })[action].allowed, false);
              return;
            }
            assert.equal(allowedActions(vm, { driver })[action].allowed, true);
            assert.deepEqual(keysOf(plan), row.enter);
            assertStateLines(plan, row.lcmFirst ?? false);
            if (row.delegate === undefined) {
              assert.deepEqual(
                plan.log.filter((l) => l.module !== 'VM'),
                row.log ?? [],
              );
            }
            for (const t of plan.transitions) assert.ok(t.state === 3 || t.lcmState === 0);
            const opens = plan.effects.filter((e) => e.kind === 'history' && e.op === 'open');
            for (const e of opens) assert.deepEqual(e, { kind: 'history', op: 'open', target: HOST_B });

            const path = keysOf(plan);
            if (plan.transitions.length > 0) driveToStable(advance(vm, plan), path);
            assert.deepEqual(path, row.path);
          });
        }
      }
    });
  }
});

describe('full sequences with their log lines (§10.3)', () => {
  function run(
    vm: TestVm,
    steps: readonly (string | { event: string; message?: string })[],
  ): { vm: TestVm; log: string[] } {
    let cur = vm;
    const log: string[] = [];
    for (const s of steps) {
      const r =
        typeof s === 'string'
          ? planAction(cur, s as (typeof USER_ACTIONS)[number], { target: HOST_B })
          : applyEvent(cur, { kind: s.event as never, ...(s.message ? { message: s.message } : {}) }, CTX);
      assert.ok(r.ok, r.ok ? '' : r.error.message);
      log.push(...lines(r.value));
      cur = advance(cur, r.value);
    }
    return { vm: cur, log };
  }

  it('deploy: PENDING → ACTIVE/PROLOG → BOOT → RUNNING', () => {
    const { vm, log } = run(vmIn('PENDING'), [
      'deploy',
      { event: 'prolog-success' },
      { event: 'boot-success' },
    ]);
    assert.deepEqual(log, [
      '[VM][I] New state is ACTIVE',
      '[VM][I] New LCM state is PROLOG',
      '[VM][I] New LCM state is BOOT',
      '[VM][I] New LCM state is RUNNING',
    ]);
    assert.equal(stateKey(vm), 'RUNNING');
    const h = vm.history.at(-1);
    assert.ok(h);
    assert.equal(h.hostname, 'node-b');
    assert.deepEqual([h.pstime, h.petime, h.rstime, h.retime, h.etime], [1000, 1000, 1000, 0, 0]);
  });

  it('stop: RUNNING → SAVE_STOP → EPILOG_STOP → STOPPED, then resume and deploy resumes the files', () => {
    const { vm, log } = run(vmIn('RUNNING', A.none), [
      'stop',
      { event: 'save-success' },
      { event: 'epilog-success' },
    ]);
    assert.deepEqual(log, [
      '[VM][I] New LCM state is SAVE_STOP',
      '[VM][I] New LCM state is EPILOG_STOP',
      '[VM][I] New state is STOPPED',
      '[VM][I] New LCM state is LCM_INIT',
    ]);
    assert.equal(vm.historyAction, A.stop);
    const again = run(vm, ['resume', 'deploy']);
    assert.deepEqual(again.log, [
      '[VM][I] New state is PENDING',
      '[VM][I] New state is ACTIVE',
      '[VM][I] New LCM state is PROLOG_RESUME',
    ]);
  });

  it('cold migrate: SAVE_MIGRATE → PROLOG_MIGRATE → BOOT_MIGRATE → RUNNING, two records', () => {
    const start = vmIn('RUNNING', A.none);
    const { vm, log } = run(start, [
      'migrate',
      { event: 'save-success' },
      { event: 'prolog-success' },
      { event: 'boot-success' },
    ]);
    assert.deepEqual(log, [
      '[VM][I] New LCM state is SAVE_MIGRATE',
      '[VM][I] New LCM state is PROLOG_MIGRATE',
      '[VM][I] New LCM state is BOOT_MIGRATE',
      '[VM][I] New LCM state is RUNNING',
    ]);
    assert.equal(vm.history.length, start.history.length + 1);
    const [prev, cur] = vm.history.slice(-2);
    assert.equal(prev?.action, A.migrate);
    assert.ok(prev !== undefined && prev.etime > 0 && prev.retime > 0);
    assert.equal(cur?.hostname, 'node-b');
    assert.equal(cur?.action, A.none);
  });

  it('undeploy: RUNNING → SHUTDOWN_UNDEPLOY → EPILOG_UNDEPLOY → UNDEPLOYED, then deploy uses PROLOG_UNDEPLOY', () => {
    const { vm, log } = run(vmIn('RUNNING', A.none), [
      'undeploy',
      { event: 'shutdown-success' },
      { event: 'epilog-success' },
    ]);
    assert.deepEqual(log, [
      '[VM][I] New LCM state is SHUTDOWN_UNDEPLOY',
      '[VM][I] New LCM state is EPILOG_UNDEPLOY',
      '[VM][I] New state is UNDEPLOYED',
      '[VM][I] New LCM state is LCM_INIT',
    ]);
    const resumed = run(vm, ['resume', 'deploy', { event: 'prolog-success' }, { event: 'boot-success' }]);
    assert.deepEqual(resumed.log.slice(-3), [
      '[VM][I] New LCM state is PROLOG_UNDEPLOY',
      '[VM][I] New LCM state is BOOT_UNDEPLOY',
      '[VM][I] New LCM state is RUNNING',
    ]);
  });

  it('a disk resize while UNDEPLOYED keeps the undeploy for the next deploy', () => {
    const undeployed = run(vmIn('POWEROFF', A.poweroff), ['undeploy', { event: 'epilog-success' }]).vm;
    const resized = run(undeployed, ['disk-resize', { event: 'disk-resize-success' }, 'resume', 'deploy']);
    assert.equal(resized.log.at(-1), '[VM][I] New LCM state is PROLOG_UNDEPLOY');
  });

  it('poweroff and resume', () => {
    const { vm, log } = run(vmIn('RUNNING', A.none), [
      'poweroff',
      { event: 'shutdown-success' },
      'resume',
      { event: 'boot-success' },
    ]);
    assert.deepEqual(log, [
      '[VM][I] New LCM state is SHUTDOWN_POWEROFF',
      '[VM][I] New state is POWEROFF',
      '[VM][I] New LCM state is LCM_INIT',
      '[VM][I] New state is ACTIVE',
      '[VM][I] New LCM state is BOOT_POWEROFF',
      '[VM][I] New LCM state is RUNNING',
    ]);
    const [closed, open] = vm.history.slice(-2);
    assert.ok(closed !== undefined && closed.etime > 0);
    assert.deepEqual([open?.etime, open?.retime, open?.action], [0, 0, A.none]);
  });

  it('suspend and resume log "Restoring VM"', () => {
    const { log } = run(vmIn('RUNNING', A.none), [
      'suspend',
      { event: 'save-success' },
      'resume',
      { event: 'boot-success' },
    ]);
    assert.deepEqual(log, [
      '[VM][I] New LCM state is SAVE_SUSPEND',
      '[VM][I] New state is SUSPENDED',
      '[VM][I] New LCM state is LCM_INIT',
      '[LCM][I] Restoring VM',
      '[VM][I] New state is ACTIVE',
      '[VM][I] New LCM state is BOOT_SUSPENDED',
      '[VM][I] New LCM state is RUNNING',
    ]);
  });

  it('terminate from every accepted state ends in DONE', () => {
    for (const action of ['terminate', 'terminate-hard'] as const) {
      for (const key of acceptedStates(action)) {
        let vm = vmIn(key, A.none);
        const plan = planAction(vm, action);
        assert.ok(plan.ok, `${action} ${key}`);
        vm = advance(vm, plan.value);
        const path = keysOf(plan.value);
        vm = driveToStable(vm, path);
        assert.equal(stateKey(vm), 'DONE', `${action} from ${key}: ${path.join(' → ')}`);
        const last = vm.history.at(-1);
        if (last !== undefined) assert.ok(last.etime > 0, `${key}: the last record is closed`);
      }
    }
  });

  it('terminate of a DONE VM is an accepted no-op', () => {
    const plan = planAction(vmIn('DONE'), 'terminate');
    assert.ok(plan.ok);
    assert.match(plan.value.notice ?? '', /already DONE/);
    assert.deepEqual(plan.value.effects, []);
  });

  it('terminate-hard overrides a stuck soft shutdown', () => {
    const plan = planAction(vmIn('SHUTDOWN', A.terminate), 'terminate-hard');
    assert.ok(plan.ok);
    assert.deepEqual(
      plan.value.effects.filter((e) => e.kind === 'vmm'),
      [
        { kind: 'vmm', op: 'driver-cancel' },
        { kind: 'vmm', op: 'cancel' },
      ],
    );
    assert.deepEqual(lines(plan.value), ['[VM][I] New LCM state is SHUTDOWN']);
  });

  it('terminate from a *_FAILURE state cleans up and puts persistent images in ERROR', () => {
    const plan = planAction(vmIn('PROLOG_FAILURE', A.none), 'terminate');
    assert.ok(plan.ok);
    assert.deepEqual(keysOf(plan.value), ['CLEANUP_DELETE', 'DONE']);
    assert.equal(plan.value.historyAction, A.delete);
    assert.ok(plan.value.effects.some((e) => e.kind === 'tm' && e.op === 'epilog-delete'));
    assert.ok(plan.value.effects.some((e) => e.kind === 'release-resources' && e.persistentImagesToError));
  });
});

describe('refusals name the state and what is needed', () => {
  it('says what suspend needs', () => {
    const r = planAction(vmIn('POWEROFF'), 'suspend');
    assert.ok(!r.ok);
    assert.equal(r.error.message, 'cannot suspend VM 7: it is POWEROFF; suspend needs RUNNING');
  });

  it('tells a busy VM to wait, a failed one to recover', () => {
    const busy = planAction(vmIn('SAVE_STOP'), 'poweroff');
    assert.ok(!busy.ok);
    assert.match(
      busy.error.message,
      /it is SAVE_STOP; poweroff needs RUNNING or UNKNOWN; it is busy \(SAVE_STOP\)/,
    );
    const failed = planAction(vmIn('BOOT_FAILURE'), 'resume');
    assert.ok(!failed.ok);
    assert.match(
      failed.error.message,
      /use recover \(retry, success, failure or delete\) to get it out of BOOT_FAILURE/,
    );
  });

  it('summarises terminate and record-only actions', () => {
    const r = planAction(vmIn('SAVE_MIGRATE'), 'terminate');
    assert.ok(!r.ok);
    assert.match(r.error.message, /or a \*_FAILURE state/);
    const done = planAction(vmIn('DONE'), 'rename');
    assert.ok(!done.ok);
    assert.equal(done.error.message, 'cannot rename VM 7: it is DONE; rename needs any state but DONE');
  });

  it('explains driver capabilities', () => {
    const resize = planAction(vmIn('RUNNING'), 'resize', { driver: { liveResize: false } });
    assert.ok(!resize.ok);
    assert.match(resize.error.message, /cannot resize VM 7 in RUNNING: .*LIVE_RESIZE/);
    const snap = planAction(vmIn('POWEROFF'), 'snapshot-delete', { driver: { keepSnapshots: false } });
    assert.ok(!snap.ok);
    assert.match(snap.error.message, /KEEP_SNAPSHOTS/);
  });

  it('refuses an undefined pair and asks for a target', () => {
    const r = planAction({ id: 7, state: 8, lcmState: 3 }, 'resume');
    assert.ok(!r.ok);
    assert.match(r.error.message, /undefined state 8\/3; use recover --delete-db/);
    const t = planAction(vmIn('PENDING'), 'deploy');
    assert.ok(!t.ok);
    assert.equal(t.error.code, 'TARGET_REQUIRED');
    assert.equal(t.error.field, 'target');
  });
});

describe('driver capabilities', () => {
  it('drops system snapshots only when the driver does not keep them', () => {
    const keep = planAction(vmIn('POWEROFF', A.poweroff), 'migrate', { target: HOST_B });
    const drop = planAction(vmIn('POWEROFF', A.poweroff), 'migrate', {
      target: HOST_B,
      driver: { keepSnapshots: false },
    });
    assert.ok(keep.ok && drop.ok);
    assert.ok(!keep.value.effects.some((e) => e.kind === 'drop-system-snapshots'));
    assert.ok(drop.value.effects.some((e) => e.kind === 'drop-system-snapshots'));
  });

  it('attaches a NIC to a powered-off VM in the record only, unless COLD_NIC_ATTACH', () => {
    const plain = planAction(vmIn('POWEROFF'), 'nic-attach');
    assert.ok(plain.ok);
    assert.deepEqual(lines(plain.value), ['[DiM][I] VM NIC Successfully attached.']);
    const cold = planAction(vmIn('POWEROFF'), 'nic-attach', { driver: { coldNicAttach: true } });
    assert.ok(cold.ok);
    assert.deepEqual(keysOf(cold.value), ['HOTPLUG_NIC_POWEROFF']);
  });
});

describe('allowedActions', () => {
  it('agrees with planAction everywhere', () => {
    for (const key of STATE_KEYS_IN_USE) {
      const vm = vmIn(key, A.none);
      const allowed = allowedActions(vm);
      for (const action of USER_ACTIONS) {
        const plan = planAction(vm, action, { target: HOST_B });
        const effective = plan.ok && plan.value.notice === undefined;
        assert.equal(allowed[action].allowed, effective, `${action} in ${key}`);
        if (!allowed[action].allowed) assert.ok(allowed[action].reason.length > 0);
      }
    }
  });

  it('lists what a RUNNING VM can do', () => {
    const allowed = allowedActions({ id: 1, ...statePair('RUNNING') });
    const yes = USER_ACTIONS.filter((a) => allowed[a].allowed);
    for (const a of [
      'terminate',
      'poweroff',
      'suspend',
      'stop',
      'reboot',
      'migrate',
      'live-migrate',
      'disk-attach',
    ]) {
      assert.ok(yes.includes(a as never), a);
    }
    for (const a of ['deploy', 'hold', 'release', 'resume', 'restore', 'backup-cancel'])
      assert.ok(!yes.includes(a as never), a);
  });
});
