import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  EVENT_RULES,
  STATE_KEYS_IN_USE,
  VM_EVENT_KINDS,
  VmActionCode as A,
  applyEvent,
  findEventRule,
  statePair,
  type StateKey,
  type VmEventKind,
} from '../../../src/domain/vm/index.js';
import { keysOf, lines, vmIn } from './model.js';

// Thu Aug  7 22:17:06 2014 UTC
const NOW = Date.UTC(2014, 7, 7, 22, 17, 6) / 1000;
const CTX = { now: NOW, timeZone: 'UTC' };

describe('every event in every state', () => {
  for (const kind of VM_EVENT_KINDS) {
    it(kind, () => {
      for (const key of STATE_KEYS_IN_USE) {
        const vm = vmIn(key, A.none);
        const r = applyEvent(vm, { kind, message: 'boom' }, CTX);
        const rule = findEventRule(vm, kind, key, { kind });
        if (r.ok) {
          const p = r.value;
          for (const t of p.transitions) assert.ok(t.state === 3 || t.lcmState === 0, `${kind} in ${key}`);
          if (rule !== undefined && p.notice === undefined)
            assert.deepEqual(keysOf(p).slice(-rule.enter.length || 0), rule.enter);
          if (p.notice !== undefined) assert.deepEqual(p.transitions, []);
        } else {
          assert.equal(r.error.code, 'EVENT_WRONG_STATE', `${kind} in ${key}`);
          assert.match(r.error.message, /^[a-z_]+, VM in a wrong state$/);
          assert.equal(vm.state, 3, 'only ACTIVE VMs refuse; others ignore');
        }
      }
    });
  }

  it('names OpenNebula handlers in refusals', () => {
    const cases: [VmEventKind, StateKey, string][] = [
      ['prolog-success', 'RUNNING', 'prolog_success_action, VM in a wrong state'],
      ['prolog-failure', 'BOOT', 'prolog_failure_action, VM in a wrong state'],
      ['boot-success', 'PROLOG', 'deploy_success_action, VM in a wrong state'],
      ['migrate-failure', 'RUNNING', 'deploy_failure_action, VM in a wrong state'],
      ['epilog-failure', 'RUNNING', 'epilog_failure_action, VM in a wrong state'],
      ['save-success', 'RUNNING', 'save_success_action, VM in a wrong state'],
      ['nic-attach-success', 'RUNNING', 'attach_nic_success_action, VM in a wrong state'],
      ['cleanup-done', 'RUNNING', 'cleanup_callback_action, VM in a wrong state'],
      ['disk-resize-failure', 'RUNNING', 'disk_resize_failure, VM in a wrong state'],
    ];
    for (const [kind, key, message] of cases) {
      const r = applyEvent(vmIn(key, A.none), { kind }, CTX);
      assert.ok(!r.ok);
      assert.equal(r.error.message, message);
    }
  });

  it('ignores driver results for a VM that is not ACTIVE', () => {
    const r = applyEvent(vmIn('POWEROFF', A.none), { kind: 'boot-failure', message: 'late' }, CTX);
    assert.ok(r.ok);
    assert.deepEqual(lines(r.value), ['[VMM][W] Ignored: boot-failure late']);
    const t = applyEvent(vmIn('DONE'), { kind: 'epilog-success' }, CTX);
    assert.ok(t.ok);
    assert.deepEqual(lines(t.value), ['[TrM][W] Ignored: epilog-success']);
  });

  it('refuses an undefined pair', () => {
    const r = applyEvent({ id: 7, state: 3, lcmState: 0 }, { kind: 'boot-success' }, CTX);
    assert.ok(!r.ok);
    assert.equal(r.error.code, 'UNDEFINED_STATE');
  });

  it('has rows only for states in use', () => {
    for (const rule of EVENT_RULES) {
      for (const k of [rule.from, ...rule.enter])
        assert.ok(STATE_KEYS_IN_USE.includes(k), `${rule.event}: ${k}`);
    }
  });
});

describe('failures (§3.8)', () => {
  const expected: [VmEventKind, StateKey, StateKey][] = [
    ['prolog-failure', 'PROLOG', 'PROLOG_FAILURE'],
    ['prolog-failure', 'PROLOG_MIGRATE', 'PROLOG_MIGRATE_FAILURE'],
    ['prolog-failure', 'PROLOG_RESUME', 'PROLOG_RESUME_FAILURE'],
    ['prolog-failure', 'PROLOG_UNDEPLOY', 'PROLOG_UNDEPLOY_FAILURE'],
    ['prolog-failure', 'PROLOG_MIGRATE_POWEROFF', 'PROLOG_MIGRATE_POWEROFF_FAILURE'],
    ['prolog-failure', 'PROLOG_MIGRATE_SUSPEND', 'PROLOG_MIGRATE_SUSPEND_FAILURE'],
    ['prolog-failure', 'PROLOG_MIGRATE_UNKNOWN', 'PROLOG_MIGRATE_UNKNOWN_FAILURE'],
    ['boot-failure', 'BOOT', 'BOOT_FAILURE'],
    ['boot-failure', 'BOOT_MIGRATE', 'BOOT_MIGRATE_FAILURE'],
    ['boot-failure', 'BOOT_STOPPED', 'BOOT_STOPPED_FAILURE'],
    ['boot-failure', 'BOOT_UNDEPLOY', 'BOOT_UNDEPLOY_FAILURE'],
    ['boot-failure', 'BOOT_UNKNOWN', 'UNKNOWN'],
    ['boot-failure', 'BOOT_POWEROFF', 'POWEROFF'],
    ['boot-failure', 'BOOT_SUSPENDED', 'SUSPENDED'],
    ['epilog-failure', 'EPILOG', 'EPILOG_FAILURE'],
    ['epilog-failure', 'EPILOG_STOP', 'EPILOG_STOP_FAILURE'],
    ['epilog-failure', 'EPILOG_UNDEPLOY', 'EPILOG_UNDEPLOY_FAILURE'],
    ['epilog-failure', 'CLEANUP_RESUBMIT', 'PENDING'],
    ['shutdown-failure', 'SHUTDOWN', 'RUNNING'],
    ['shutdown-failure', 'SHUTDOWN_POWEROFF', 'RUNNING'],
    ['shutdown-failure', 'SHUTDOWN_UNDEPLOY', 'RUNNING'],
    ['shutdown-failure', 'SAVE_MIGRATE', 'RUNNING'],
    ['save-failure', 'SAVE_STOP', 'RUNNING'],
    ['save-failure', 'SAVE_SUSPEND', 'RUNNING'],
    ['save-failure', 'SAVE_MIGRATE', 'RUNNING'],
    ['migrate-failure', 'MIGRATE', 'RUNNING'],
    ['disk-attach-failure', 'HOTPLUG', 'RUNNING'],
    ['disk-attach-failure', 'HOTPLUG_PROLOG_POWEROFF', 'POWEROFF'],
    ['disk-detach-failure', 'HOTPLUG', 'RUNNING'],
    ['disk-detach-failure', 'HOTPLUG_EPILOG_POWEROFF', 'POWEROFF'],
    ['nic-attach-failure', 'HOTPLUG_NIC', 'RUNNING'],
    ['nic-detach-failure', 'HOTPLUG_NIC_POWEROFF', 'POWEROFF'],
    ['snapshot-failure', 'HOTPLUG_SNAPSHOT', 'RUNNING'],
    ['disk-snapshot-failure', 'DISK_SNAPSHOT', 'RUNNING'],
    ['disk-snapshot-failure', 'DISK_SNAPSHOT_POWEROFF', 'POWEROFF'],
    ['disk-snapshot-failure', 'DISK_SNAPSHOT_SUSPENDED', 'SUSPENDED'],
    ['disk-snapshot-failure', 'DISK_SNAPSHOT_REVERT_POWEROFF', 'POWEROFF'],
    ['disk-snapshot-failure', 'DISK_SNAPSHOT_DELETE', 'RUNNING'],
    ['disk-snapshot-failure', 'DISK_SNAPSHOT_DELETE_POWEROFF', 'POWEROFF'],
    ['disk-snapshot-failure', 'DISK_SNAPSHOT_DELETE_SUSPENDED', 'SUSPENDED'],
    ['disk-resize-failure', 'DISK_RESIZE', 'RUNNING'],
    ['disk-resize-failure', 'DISK_RESIZE_POWEROFF', 'POWEROFF'],
    ['disk-resize-failure', 'DISK_RESIZE_UNDEPLOYED', 'UNDEPLOYED'],
    ['resize-failure', 'HOTPLUG_RESIZE', 'RUNNING'],
    ['disk-saveas-failure', 'HOTPLUG_SAVEAS', 'RUNNING'],
    ['disk-saveas-failure', 'HOTPLUG_SAVEAS_POWEROFF', 'POWEROFF'],
    ['disk-saveas-failure', 'HOTPLUG_SAVEAS_SUSPENDED', 'SUSPENDED'],
    ['disk-saveas-failure', 'HOTPLUG_SAVEAS_UNDEPLOYED', 'UNDEPLOYED'],
    ['disk-saveas-failure', 'HOTPLUG_SAVEAS_STOPPED', 'STOPPED'],
    ['updateconf-failure', 'HOTPLUG', 'RUNNING'],
    ['backup-failure', 'BACKUP', 'RUNNING'],
    ['backup-failure', 'BACKUP_POWEROFF', 'POWEROFF'],
    ['restore-failure', 'RESTORE', 'POWEROFF'],
    ['cleanup-failure', 'CLEANUP_RESUBMIT', 'PENDING'],
  ];

  for (const [kind, from, to] of expected) {
    it(`${kind}: ${from} → ${to}, with the driver error logged and stored`, () => {
      const r = applyEvent(vmIn(from, A.none), { kind, message: 'disk full' }, CTX);
      assert.ok(r.ok, r.ok ? '' : r.error.message);
      assert.deepEqual(r.value.next, statePair(to));
      const errors = r.value.log.filter((l) => l.level === 'E' && (l.module === 'VMM' || l.module === 'TrM'));
      assert.equal(errors.length, 1);
      const [line] = errors;
      assert.ok(line?.message.endsWith(': disk full'), line?.message);
      const stored = r.value.effects.find((e) => e.kind === 'error-message');
      assert.ok(stored && stored.kind === 'error-message');
      assert.equal(stored.message, line?.message);
      assert.equal(stored.text, `Thu Aug  7 22:17:06 2014: ${line?.message}`);
    });
  }

  it('boot failure: [VMM][E] Error deploying virtual machine', () => {
    const r = applyEvent(vmIn('BOOT'), { kind: 'boot-failure', message: 'Could not create domain' }, CTX);
    assert.ok(r.ok);
    assert.deepEqual(lines(r.value), [
      '[VMM][E] Error deploying virtual machine: Could not create domain',
      '[VM][I] New LCM state is BOOT_FAILURE',
    ]);
  });

  it('prolog failure: [TrM][E] Error executing image transfer script', () => {
    const r = applyEvent(vmIn('PROLOG'), { kind: 'prolog-failure', message: 'cp failed' }, CTX);
    assert.ok(r.ok);
    assert.deepEqual(lines(r.value), [
      '[TrM][E] Error executing image transfer script: cp failed',
      '[VM][I] New LCM state is PROLOG_FAILURE',
    ]);
  });

  it('shutdown failure assumes the VM still runs', () => {
    const soft = applyEvent(
      vmIn('SHUTDOWN', A.terminate),
      { kind: 'shutdown-failure', message: 'timeout' },
      CTX,
    );
    assert.ok(soft.ok);
    assert.deepEqual(lines(soft.value), [
      '[VMM][E] Error shutting down VM: timeout',
      '[VM][I] New LCM state is RUNNING',
      '[LCM][I] Fail to shutdown VM. Assuming that the VM is still RUNNING.',
    ]);
    const hard = applyEvent(vmIn('SHUTDOWN_POWEROFF', A['poweroff-hard']), { kind: 'shutdown-failure' }, CTX);
    assert.ok(hard.ok);
    assert.equal(lines(hard.value)[0], '[VMM][E] Error canceling VM');
  });

  it('save and live-migrate failures', () => {
    const save = applyEvent(vmIn('SAVE_STOP'), { kind: 'save-failure' }, CTX);
    assert.ok(save.ok);
    assert.equal(
      lines(save.value).at(-1),
      '[LCM][I] Fail to save VM state. Assuming that the VM is still RUNNING.',
    );
    const mig = applyEvent(vmIn('MIGRATE'), { kind: 'migrate-failure' }, CTX);
    assert.ok(mig.ok);
    assert.equal(
      lines(mig.value).at(-1),
      '[LCM][I] Fail to live migrate VM. Assuming that the VM is still RUNNING.',
    );
    assert.ok(
      mig.value.effects.some((e) => e.kind === 'history' && e.op === 'copy' && e.from === 'previous'),
    );
  });

  it('stores no ERROR when the driver gave no detail', () => {
    for (const message of [undefined, '', '-']) {
      const r = applyEvent(
        vmIn('BOOT'),
        { kind: 'boot-failure', ...(message === undefined ? {} : { message }) },
        CTX,
      );
      assert.ok(r.ok);
      assert.equal(lines(r.value)[0], '[VMM][E] Error deploying virtual machine');
      assert.ok(!r.value.effects.some((e) => e.kind === 'error-message'));
    }
  });

  it('treats a deploy without a hypervisor id as a failure', () => {
    const r = applyEvent(vmIn('BOOT'), { kind: 'boot-success', deployId: '' }, CTX);
    assert.ok(r.ok);
    assert.deepEqual(lines(r.value), [
      '[VMM][E] Empty deploy ID for virtual machine',
      '[VM][I] New LCM state is BOOT_FAILURE',
    ]);
    const good = applyEvent(vmIn('BOOT'), { kind: 'boot-success', deployId: 'one-7' }, CTX);
    assert.ok(good.ok);
    assert.deepEqual(good.value.effects[0], { kind: 'deploy-id', value: 'one-7' });
  });
});

describe('successes', () => {
  it('logs the driver and LCM texts of hotplug operations', () => {
    const attach = applyEvent(vmIn('HOTPLUG', A['disk-attach']), { kind: 'disk-attach-success' }, CTX);
    assert.ok(attach.ok);
    assert.deepEqual(lines(attach.value), [
      '[VMM][I] VM Disk successfully attached.',
      '[LCM][I] VM Disk successfully attached.',
      '[VM][I] New LCM state is RUNNING',
    ]);
    const snap = applyEvent(vmIn('DISK_SNAPSHOT_POWEROFF'), { kind: 'disk-snapshot-success' }, CTX);
    assert.ok(snap.ok);
    assert.deepEqual(lines(snap.value), [
      '[LCM][I] VM disk snapshot operation completed.',
      '[VM][I] New state is POWEROFF',
      '[VM][I] New LCM state is LCM_INIT',
    ]);
    const resize = applyEvent(vmIn('HOTPLUG_RESIZE'), { kind: 'resize-success' }, CTX);
    assert.ok(resize.ok);
    assert.deepEqual(lines(resize.value), [
      '[VM][I] New LCM state is RUNNING',
      '[LCM][I] VM resize operation completed.',
    ]);
  });

  it('picks the system snapshot operation from the HISTORY action', () => {
    const revert = applyEvent(
      vmIn('HOTPLUG_SNAPSHOT', A['snapshot-revert']),
      { kind: 'snapshot-success' },
      CTX,
    );
    assert.ok(revert.ok);
    assert.equal(lines(revert.value)[0], '[VMM][I] VM Snapshot successfully reverted.');
    const create = applyEvent(
      vmIn('HOTPLUG_SNAPSHOT', A['snapshot-create']),
      { kind: 'snapshot-failure', message: 'x' },
      CTX,
    );
    assert.ok(create.ok);
    assert.equal(lines(create.value)[0], '[VMM][E] Error creating new VM Snapshot: x');
    const offline = applyEvent(vmIn('POWEROFF', A['snapshot-delete']), { kind: 'snapshot-success' }, CTX);
    assert.ok(offline.ok);
    assert.deepEqual(offline.value.transitions, []);
    assert.deepEqual(lines(offline.value), ['[VMM][I] VM Snapshot successfully deleted.']);
    assert.deepEqual(offline.value.effects, [
      { kind: 'finish-change', change: 'snapshot-delete', outcome: 'commit' },
    ]);
  });

  it('resubmits after the cleanup of a delete-recreate, LCM first', () => {
    const r = applyEvent(vmIn('CLEANUP_RESUBMIT'), { kind: 'cleanup-done' }, CTX);
    assert.ok(r.ok);
    assert.deepEqual(lines(r.value), [
      '[VMM][I] Host successfully cleaned.',
      '[VM][I] New LCM state is LCM_INIT',
      '[VM][I] New state is PENDING',
    ]);
    assert.ok(r.value.effects.some((e) => e.kind === 'deploy-id' && e.value === ''));
  });

  it('leaves CLONING for PENDING, or HOLD when submitted on hold', () => {
    const pending = applyEvent(vmIn('CLONING'), { kind: 'clone-success' }, CTX);
    const hold = applyEvent(vmIn('CLONING_FAILURE'), { kind: 'clone-success', onHold: true }, CTX);
    const failed = applyEvent(vmIn('CLONING'), { kind: 'clone-failure' }, CTX);
    assert.ok(pending.ok && hold.ok && failed.ok);
    assert.deepEqual(keysOf(pending.value), ['PENDING']);
    assert.deepEqual(keysOf(hold.value), ['HOLD']);
    assert.deepEqual(keysOf(failed.value), ['CLONING_FAILURE']);
  });
});

describe('monitoring (§3.7)', () => {
  it('RUNNING and the VM is missing → UNKNOWN', () => {
    const r = applyEvent(vmIn('RUNNING'), { kind: 'vm-missing' }, CTX);
    assert.ok(r.ok);
    assert.deepEqual(lines(r.value), ['[VM][I] New LCM state is UNKNOWN']);
    assert.ok(r.value.effects.some((e) => e.kind === 'resched' && !e.value));
    const ignored = applyEvent(vmIn('PROLOG'), { kind: 'vm-missing' }, CTX);
    assert.ok(ignored.ok);
    assert.ok(ignored.value.notice);
    assert.deepEqual(ignored.value.transitions, []);
  });

  it('found running: UNKNOWN, POWEROFF, BOOT*', () => {
    const unknown = applyEvent(vmIn('UNKNOWN'), { kind: 'vm-found-running' }, CTX);
    assert.ok(unknown.ok);
    assert.deepEqual(lines(unknown.value), [
      '[LCM][I] VM found again by the drivers',
      '[VM][I] New LCM state is RUNNING',
    ]);
    const off = applyEvent(vmIn('POWEROFF'), { kind: 'vm-found-running' }, CTX);
    assert.ok(off.ok);
    assert.deepEqual(lines(off.value), [
      '[VMM][I] VM found again by the drivers',
      '[VM][I] New state is ACTIVE',
      '[VM][I] New LCM state is RUNNING',
    ]);
    const boot = applyEvent(vmIn('BOOT_FAILURE'), { kind: 'vm-found-running' }, CTX);
    assert.ok(boot.ok);
    assert.deepEqual(lines(boot.value), [
      '[LCM][I] VM reported RUNNING by the drivers',
      '[VM][I] New LCM state is RUNNING',
    ]);
  });

  it('ignores "found running" right after a state change', () => {
    const vm = { ...vmIn('POWEROFF'), runningEtime: NOW - 10 };
    const r = applyEvent(vm, { kind: 'vm-found-running' }, CTX);
    assert.ok(r.ok);
    assert.deepEqual(lines(r.value), ['[VMM][I] Ignoring VM state update']);
    const later = applyEvent({ ...vm, runningEtime: NOW - 31 }, { kind: 'vm-found-running' }, CTX);
    assert.ok(later.ok);
    assert.deepEqual(keysOf(later.value), ['RUNNING']);
  });

  it('reported poweroff: RUNNING/UNKNOWN → SHUTDOWN_POWEROFF → POWEROFF', () => {
    for (const from of ['RUNNING', 'UNKNOWN'] as const) {
      const r = applyEvent(vmIn(from), { kind: 'vm-reported-poweroff' }, CTX);
      assert.ok(r.ok);
      assert.deepEqual(lines(r.value), [
        '[LCM][I] VM running but monitor state is POWEROFF',
        '[VM][I] New LCM state is SHUTDOWN_POWEROFF',
        '[VM][I] New state is POWEROFF',
        '[VM][I] New LCM state is LCM_INIT',
      ]);
      assert.equal(r.value.historyAction, A.monitor);
    }
  });

  it('gone while shutting down: the shutdown succeeded', () => {
    for (const kind of ['vm-gone-while-shutdown', 'vm-reported-poweroff'] as const) {
      const r = applyEvent(vmIn('SHUTDOWN', A.terminate), { kind }, CTX);
      assert.ok(r.ok);
      assert.deepEqual(lines(r.value), [
        '[LCM][I] VM reported SHUTDOWN by the drivers',
        '[VM][I] New LCM state is EPILOG',
      ]);
    }
    const undeploy = applyEvent(vmIn('SHUTDOWN_UNDEPLOY'), { kind: 'vm-gone-while-shutdown' }, CTX);
    assert.ok(undeploy.ok);
    assert.deepEqual(keysOf(undeploy.value), ['EPILOG_UNDEPLOY']);
    const notShutting = applyEvent(vmIn('RUNNING'), { kind: 'vm-gone-while-shutdown' }, CTX);
    assert.ok(notShutting.ok);
    assert.ok(notShutting.value.notice);
  });

  it('reported suspended: RUNNING → SAVE_SUSPEND → SUSPENDED', () => {
    const r = applyEvent(vmIn('RUNNING'), { kind: 'vm-reported-suspended' }, CTX);
    assert.ok(r.ok);
    assert.deepEqual(lines(r.value), [
      '[LCM][I] Polling reports that the VM is suspended.',
      '[VM][I] New LCM state is SAVE_SUSPEND',
      '[VM][I] New state is SUSPENDED',
      '[VM][I] New LCM state is LCM_INIT',
    ]);
  });
});
