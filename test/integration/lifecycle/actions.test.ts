/**
 * Every user action in every state it is allowed in, through the REST API, the lifecycle engine,
 * the embedded agents and the dummy driver: the VM goes through the row's full state sequence,
 * vm.log has the state-change lines, and where the action is not allowed it is refused with a
 * reason naming the state.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ACTION_RULES,
  acceptedStates,
  lcmStateName,
  stateKey,
  stateName,
  statePair,
  type StateKey,
  type UserAction,
} from '../../../src/domain/vm/index.js';
import { startTestNimbus, type TestNimbus } from '../api/harness.js';
import { LifecycleProbe } from './probe.js';

/** States a test can put a fresh VM in, and how. */
const REACHABLE: readonly StateKey[] = [
  'PENDING',
  'HOLD',
  'RUNNING',
  'POWEROFF',
  'SUSPENDED',
  'STOPPED',
  'UNDEPLOYED',
  'UNKNOWN',
  'DONE',
  'BOOT_FAILURE',
  'PROLOG_FAILURE',
  'EPILOG_FAILURE',
];

/** Actions with a REST route the dummy driver fully runs (snapshots, backups, saveas: later issues). */
const TESTED: readonly UserAction[] = [
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
];

describe('every action in every state', { timeout: 300_000 }, () => {
  let t: TestNimbus;
  let probe: LifecycleProbe;

  before(async () => {
    t = await startTestNimbus({ placement: false });
    probe = await LifecycleProbe.start(t);
  });
  after(async () => t.close());

  const rows = ACTION_RULES.filter(
    (r) =>
      REACHABLE.includes(r.from) && TESTED.includes(r.action) && r.noop === undefined && r.when === undefined,
  );

  for (const row of rows) {
    it(`${row.action} from ${row.from}: ${row.path.join(' → ') || '(no state change)'}`, async () => {
      const vm = await probe.vmIn(row.from);
      probe.record(vm);
      const answer = await probe.act(vm, row.action);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      const final = await probe.settle(vm);
      const expectedFinal = row.path.length === 0 ? row.from : row.path[row.path.length - 1]!;
      assert.equal(final, expectedFinal, `final state; visited ${probe.visited(vm).join(' → ')}`);
      assert.deepEqual(probe.visited(vm), [...row.path], 'the full state sequence');
      const log = await probe.log(vm);
      for (const key of row.path) {
        const pair = statePair(key);
        const line =
          pair.state === 3
            ? `New LCM state is ${lcmStateName(pair.lcmState)}`
            : `New state is ${stateName(pair.state)}`;
        assert.ok(log.includes(line), `vm.log has "${line}":\n${log}`);
      }
    });
  }

  for (const action of TESTED) {
    const refused = REACHABLE.filter(
      (s) =>
        !acceptedStates(action).includes(s) && !ACTION_RULES.some((r) => r.action === action && r.from === s),
    );
    if (refused.length === 0) continue;
    it(`${action} is refused with the reason in ${refused.join(', ')}`, async () => {
      for (const state of refused) {
        const vm = await probe.vmIn(state);
        const answer = await probe.act(vm, action);
        assert.equal(answer.status, 409, `${action} in ${state}: ${JSON.stringify(answer.body)}`);
        assert.equal(answer.body.code, 'ACTION_NOT_ALLOWED');
        assert.match(answer.body.message, new RegExp(`cannot ${action} VM ${vm}`));
        const show = (await t.admin('GET', `/api/v1/vms/${vm}`)).body.VM;
        assert.equal(
          stateKey({ state: show.STATE, lcmState: show.LCM_STATE }),
          state,
          'a refusal changes nothing',
        );
        assert.ok(show.DENIED_ACTIONS[action], `the body says why ${action} is not allowed`);
      }
    });
  }
});
