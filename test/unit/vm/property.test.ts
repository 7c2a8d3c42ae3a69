import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  RECOVER_OPS,
  STATE_KEYS_IN_USE,
  USER_ACTIONS,
  VM_EVENT_KINDS,
  VmActionCode as A,
  VmState,
  applyEvent,
  isDefinedPair,
  planAction,
  recover,
  stateKey,
  type ActionPlan,
} from '../../../src/domain/vm/index.js';
import type { Result } from '../../../src/domain/errors.js';
import { HOST_A, HOST_B, advance, vmIn } from './model.js';

const command = fc.oneof(
  fc.record({
    type: fc.constant('action' as const),
    action: fc.constantFrom(...USER_ACTIONS),
    host: fc.constantFrom(HOST_A, HOST_B),
  }),
  fc.record({
    type: fc.constant('event' as const),
    kind: fc.constantFrom(...VM_EVENT_KINDS),
    message: fc.option(fc.string(), { nil: undefined }),
    deployId: fc.option(fc.constantFrom('', 'one-7'), { nil: undefined }),
    onHold: fc.boolean(),
  }),
  fc.record({ type: fc.constant('recover' as const), op: fc.constantFrom(...RECOVER_OPS) }),
);

const driver = fc.record({
  keepSnapshots: fc.boolean(),
  coldNicAttach: fc.boolean(),
  liveResize: fc.boolean(),
});

describe('lifecycle properties', () => {
  it('never reaches an undefined (STATE, LCM_STATE) pair; LCM is 0 unless ACTIVE; DONE is final', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...STATE_KEYS_IN_USE),
        fc.constantFrom(
          null,
          A.none,
          A.stop,
          A.undeploy,
          A['poweroff-migrate'],
          A['disk-detach'],
          A.terminate,
        ),
        driver,
        fc.array(command, { maxLength: 60 }),
        (start, action, caps, commands) => {
          let vm = vmIn(start, action);
          let now = 1000;
          for (const c of commands) {
            now += 60;
            let r: Result<ActionPlan>;
            if (c.type === 'action') r = planAction(vm, c.action, { target: c.host, driver: caps });
            else if (c.type === 'recover') r = recover(vm, c.op, { driver: caps });
            else {
              const event = {
                kind: c.kind,
                onHold: c.onHold,
                ...(c.message === undefined ? {} : { message: c.message }),
                ...(c.deployId === undefined ? {} : { deployId: c.deployId }),
              };
              r = applyEvent(vm, event, { now, timeZone: 'UTC', driver: caps });
            }
            if (!r.ok) {
              assert.ok(r.error.message.length > 0);
              continue;
            }
            const plan = r.value;
            assert.deepEqual(plan.from, { state: vm.state, lcmState: vm.lcmState });
            for (const t of plan.transitions) {
              assert.ok(isDefinedPair(t), `${JSON.stringify(t)} after ${JSON.stringify(c)}`);
              assert.ok(t.state === VmState.ACTIVE || t.lcmState === 0);
            }
            assert.deepEqual(plan.next, plan.transitions.at(-1) ?? plan.from);
            const wasDone = vm.state === VmState.DONE;
            vm = advance(vm, plan, now);
            if (wasDone) assert.equal(vm.state, VmState.DONE, 'nothing leaves DONE');
            assert.ok(isDefinedPair(vm));
          }
          // Whatever happened, the operator can always finish the VM.
          const out = recover(vm, 'delete', { driver: caps });
          assert.ok(out.ok);
          assert.equal(stateKey(out.value.next), 'DONE');
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('keeps the HISTORY consistent: SEQ increases by one, times never go backwards within a record', () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 40 }), (commands) => {
        let vm = vmIn('PENDING');
        let now = 1000;
        for (const c of commands) {
          now += 60;
          const r =
            c.type === 'action'
              ? planAction(vm, c.action, { target: c.host })
              : c.type === 'recover'
                ? recover(vm, c.op)
                : applyEvent(vm, { kind: c.kind }, { now });
          if (r.ok) vm = advance(vm, r.value, now);
        }
        vm.history.forEach((h, i) => {
          assert.equal(h.seq, i);
          assert.equal(h.oid, 7);
          for (const t of [h.etime, h.pstime, h.rstime, h.estime]) assert.ok(t === 0 || t >= h.stime);
        });
      }),
      { numRuns: 500 },
    );
  });
});
