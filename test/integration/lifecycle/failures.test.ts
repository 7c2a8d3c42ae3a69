/**
 * Failure injection at every driver operation the dummy hosts run (DUMMY_FAIL), and every
 * `recover` option on the failure states it leaves: the VM always ends in a defined state, the
 * driver's message is in vm.log and USER_TEMPLATE/ERROR, and nothing needs a database edit.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  recover,
  RECOVER_OPS,
  type RecoverOpName,
  type StateKey,
  type UserAction,
} from '../../../src/domain/vm/index.js';
import { startTestNimbus, type TestNimbus } from '../api/harness.js';
import { LifecycleProbe } from './probe.js';

/** DUMMY_FAIL value → how to make a VM run that operation, and where the VM ends. */
const INJECTIONS: readonly {
  readonly fail: string;
  readonly from: StateKey;
  readonly action: UserAction;
  /** The VM's state after the failed operation. */
  readonly ends: StateKey;
}[] = [
  { fail: 'prolog', from: 'PENDING', action: 'deploy', ends: 'PROLOG_FAILURE' },
  { fail: 'deploy', from: 'PENDING', action: 'deploy', ends: 'BOOT_FAILURE' },
  { fail: 'shutdown', from: 'RUNNING', action: 'poweroff', ends: 'RUNNING' },
  { fail: 'cancel', from: 'RUNNING', action: 'poweroff-hard', ends: 'RUNNING' },
  { fail: 'save', from: 'RUNNING', action: 'suspend', ends: 'RUNNING' },
  { fail: 'reboot', from: 'RUNNING', action: 'reboot', ends: 'RUNNING' },
  { fail: 'reset', from: 'RUNNING', action: 'reboot-hard', ends: 'RUNNING' },
  { fail: 'epilog', from: 'RUNNING', action: 'terminate', ends: 'EPILOG_FAILURE' },
  { fail: 'epilog-stop', from: 'SUSPENDED', action: 'stop', ends: 'EPILOG_STOP_FAILURE' },
  { fail: 'restore', from: 'SUSPENDED', action: 'resume', ends: 'SUSPENDED' },
  { fail: 'attach-disk', from: 'RUNNING', action: 'disk-attach', ends: 'RUNNING' },
  { fail: 'detach-disk', from: 'RUNNING', action: 'disk-detach', ends: 'RUNNING' },
  { fail: 'attach-nic', from: 'RUNNING', action: 'nic-attach', ends: 'RUNNING' },
  { fail: 'detach-nic', from: 'RUNNING', action: 'nic-detach', ends: 'RUNNING' },
  { fail: 'resize', from: 'RUNNING', action: 'resize', ends: 'RUNNING' },
  { fail: 'migrate-receive', from: 'RUNNING', action: 'live-migrate', ends: 'RUNNING' },
  { fail: 'prolog-migrate', from: 'POWEROFF', action: 'migrate', ends: 'PROLOG_MIGRATE_POWEROFF_FAILURE' },
];

describe('failure injection and recover', { timeout: 300_000 }, () => {
  let t: TestNimbus;
  let probe: LifecycleProbe;
  /** One host per injected operation. */
  const failing = new Map<string, number>();

  before(async () => {
    t = await startTestNimbus({ placement: false });
    probe = await LifecycleProbe.start(t);
    for (const fail of new Set(INJECTIONS.map((i) => i.fail))) {
      failing.set(
        fail,
        await probe.host(`inject-${fail}`, `CPU = 1000\nMEMORY = 4194304\nDUMMY_FAIL = "${fail}"`),
      );
    }
  });
  after(async () => t.close());

  /** A VM in `from`, placed on the host that fails `fail` (a migration starts on a healthy one). */
  async function vmOn(fail: string, from: StateKey, migrating: boolean): Promise<number> {
    const vm = await probe.create();
    if (from === 'PENDING') return vm;
    const host = migrating ? probe.hosts.main : failing.get(fail)!;
    assert.equal(await probe.must(vm, 'deploy', host), 'RUNNING');
    if (from === 'POWEROFF') assert.equal(await probe.must(vm, 'poweroff'), 'POWEROFF');
    if (from === 'SUSPENDED') assert.equal(await probe.must(vm, 'suspend'), 'SUSPENDED');
    return vm;
  }

  for (const inj of INJECTIONS) {
    it(`${inj.fail} fails during ${inj.action} from ${inj.from}: ${inj.ends}, with the driver's message`, async () => {
      const migrating = inj.action.includes('migrate');
      const vm = await vmOn(inj.fail, inj.from, migrating);
      const host = failing.get(inj.fail)!;
      const answer = await probe.act(vm, inj.action, host);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal(await probe.settle(vm), inj.ends);
      const s = await probe.state(vm);
      const error = (s.body.USER_TEMPLATE as Record<string, string>).ERROR ?? '';
      assert.match(error, new RegExp(`DUMMY_FAIL = "${inj.fail}"`), `USER_TEMPLATE/ERROR: ${error}`);
      const log = await probe.log(vm);
      assert.match(log, /\]\[(VMM|TrM)\]\[E\]: .*DUMMY_FAIL/, log);
    });
  }

  const FAILURE_STATES: readonly {
    readonly ends: StateKey;
    readonly fail: string;
    readonly action: UserAction;
    readonly from: StateKey;
  }[] = INJECTIONS.filter((i) => i.ends.endsWith('_FAILURE'));

  for (const inj of FAILURE_STATES) {
    for (const op of RECOVER_OPS) {
      it(`recover --${op} from ${inj.ends}`, async () => {
        const migrating = inj.action.includes('migrate');
        const vm = await vmOn(inj.fail, inj.from, migrating);
        assert.equal((await probe.act(vm, inj.action, failing.get(inj.fail)!)).status, 200);
        assert.equal(await probe.settle(vm), inj.ends);
        if (op === 'retry') {
          // The operator fixed the host: the retried operation now succeeds.
          await probe.host(`fixed-${inj.fail}-${vm}`, 'CPU = 1000\nMEMORY = 4194304');
          const h = failing.get(inj.fail)!;
          await t.admin('PUT', `/api/v1/hosts/${h}/template`, { template: 'DUMMY_FAIL = ""', merge: true });
          await probe.until('host fixed', async () =>
            (await t.admin('GET', `/api/v1/hosts/${h}`)).body.HOST.STATE === 2 ? true : undefined,
          );
        }
        const s = await probe.state(vm);
        const history = (s.body.HISTORY_RECORDS as { HISTORY: { ACTION: number }[] }).HISTORY;
        const lvm = {
          id: vm,
          state: s.body.STATE as number,
          lcmState: s.body.LCM_STATE as number,
          historyAction: history[history.length - 1]?.ACTION ?? null,
        };
        const plan = recover(lvm, op as RecoverOpName);
        const answer = await t.admin('POST', `/api/v1/vms/${vm}/recover`, { operation: op });
        if (!plan.ok) {
          assert.equal(answer.status, 409, JSON.stringify(answer.body));
          return;
        }
        assert.equal(answer.status, 200, JSON.stringify(answer.body));
        const final = await probe.settle(vm);
        const expected: Record<RecoverOpName, (k: StateKey | undefined) => boolean> = {
          success: (k) => k !== inj.ends && k !== undefined,
          failure: (k) => k !== undefined,
          retry: (k) => k !== inj.ends && k !== undefined,
          delete: (k) => k === 'DONE',
          'delete-recreate': (k) => k === 'PENDING',
          'delete-db': (k) => k === 'DONE',
        };
        assert.ok(expected[op as RecoverOpName](final), `recover --${op} from ${inj.ends} ended in ${final}`);
        if (op === 'retry') {
          await t.admin('PUT', `/api/v1/hosts/${failing.get(inj.fail)!}/template`, {
            template: `DUMMY_FAIL = "${inj.fail}"`,
            merge: true,
          });
        }
      });
    }
  }
});
