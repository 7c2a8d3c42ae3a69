import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  WAIT_STATE_NAMES,
  parseWantedState,
  unknownStateMessage,
  waitFailureMessage,
  waitForVmState,
  waitVerdict,
  type VmStateView,
  type WaitClock,
  type WantedState,
} from '../../../src/cli/vm-wait.js';
import { LcmState, VmState } from '../../../src/domain/vm/index.js';

const vm = (STATE: number, LCM_STATE = 0, error?: string): VmStateView => ({
  STATE,
  LCM_STATE,
  USER_TEMPLATE: error === undefined ? {} : { ERROR: error },
});
const active = (lcm: number, error?: string): VmStateView => vm(VmState.ACTIVE, lcm, error);

function wanted(word: string): WantedState {
  const w = parseWantedState(word);
  assert.ok(w !== undefined, word);
  return w;
}

describe('parseWantedState', () => {
  it('RUNNING is ACTIVE + LCM RUNNING, in any case', () => {
    for (const word of ['RUNNING', 'running', 'Running', ' RUNNING ']) {
      const w = wanted(word);
      assert.equal(w.label, 'RUNNING');
      assert.deepEqual([...w.keys], ['RUNNING']);
    }
  });

  it('VM state names mean that state (LCM_INIT)', () => {
    assert.deepEqual([...wanted('poweroff').keys], ['POWEROFF']);
    assert.deepEqual([...wanted('DONE').keys], ['DONE']);
    assert.deepEqual([...wanted('pending').keys], ['PENDING']);
    assert.deepEqual([...wanted('boot_failure').keys], ['BOOT_FAILURE']);
  });

  it('ACTIVE is every LCM state', () => {
    const w = wanted('active');
    assert.ok(w.keys.has('RUNNING') && w.keys.has('PROLOG') && w.keys.has('BOOT_FAILURE'));
    assert.ok(!w.keys.has('POWEROFF'));
  });

  it('short names mean every pair onevm list prints that way', () => {
    assert.deepEqual([...wanted('runn').keys], ['RUNNING']);
    assert.equal(wanted('runn').label, 'runn');
    assert.deepEqual([...wanted('POFF').keys], ['POWEROFF']);
    assert.deepEqual([...wanted('unde').keys], ['UNDEPLOYED']);
    const fail = wanted('fail');
    assert.ok(
      fail.keys.has('CLONING_FAILURE') && fail.keys.has('BOOT_FAILURE') && fail.keys.has('EPILOG_FAILURE'),
    );
    assert.ok(!fail.keys.has('RUNNING'));
    assert.deepEqual([...wanted('save').keys].sort(), ['SAVE_MIGRATE', 'SAVE_STOP', 'SAVE_SUSPEND']);
  });

  it('a full name wins over the short name spelled alike (BOOT is the LCM state only)', () => {
    assert.deepEqual([...wanted('boot').keys], ['BOOT']);
    assert.deepEqual([...wanted('hold').keys], ['HOLD']);
  });

  it('unknown and never-entered names are refused with the valid ones listed on one line', () => {
    for (const word of ['runing', '', 'LCM_INIT', 'FAILED', 'CANCEL', 'actv', '3'])
      assert.equal(parseWantedState(word), undefined, word);
    const message = unknownStateMessage('runing');
    assert.doesNotMatch(message, /\n/);
    assert.match(message, /^nimbus: --state: unknown VM state "runing"; use one of INIT, PENDING, HOLD, /);
    for (const name of ['RUNNING', 'POWEROFF', 'DONE', 'ACTIVE', 'BOOT_FAILURE', 'runn', 'poff', 'fail'])
      assert.ok(WAIT_STATE_NAMES.includes(name), name);
    assert.equal(new Set(WAIT_STATE_NAMES).size, WAIT_STATE_NAMES.length);
  });
});

describe('waitVerdict', () => {
  const running = wanted('RUNNING');

  it('reached when the pair is wanted', () => {
    assert.equal(waitVerdict(active(LcmState.RUNNING), running), 'reached');
    assert.equal(waitVerdict(vm(VmState.POWEROFF), wanted('poff')), 'reached');
    assert.equal(waitVerdict(vm(VmState.DONE), wanted('DONE')), 'reached');
    assert.equal(waitVerdict(active(LcmState.BOOT_FAILURE), wanted('fail')), 'reached');
  });

  it('waiting through transient states', () => {
    for (const pair of [
      vm(VmState.PENDING),
      active(LcmState.PROLOG),
      active(LcmState.BOOT),
      active(LcmState.UNKNOWN),
    ])
      assert.equal(waitVerdict(pair, running), 'waiting');
  });

  it('failed in a *_FAILURE state, CLONING_FAILURE or DONE that was not wanted', () => {
    assert.equal(waitVerdict(active(LcmState.BOOT_FAILURE), running), 'failed');
    assert.equal(waitVerdict(active(LcmState.PROLOG_FAILURE), wanted('POWEROFF')), 'failed');
    assert.equal(waitVerdict(vm(VmState.CLONING_FAILURE), running), 'failed');
    assert.equal(waitVerdict(vm(VmState.DONE), running), 'failed');
    assert.equal(waitVerdict(active(LcmState.EPILOG_FAILURE), wanted('BOOT_FAILURE')), 'failed');
  });
});

/** A clock that advances only when slept on. */
function fakeClock(): WaitClock & { slept: number[] } {
  let now = 1_000;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
  };
}

describe('waitForVmState', () => {
  it('polls until the state is reached, reporting each state once', async () => {
    const states = [
      vm(VmState.PENDING),
      active(LcmState.PROLOG),
      active(LcmState.PROLOG),
      active(LcmState.RUNNING),
    ];
    const seen: string[] = [];
    const clock = fakeClock();
    const outcome = await waitForVmState(async () => states.shift()!, wanted('RUNNING'), {
      timeoutMs: 60_000,
      intervalMs: 250,
      clock,
      onState: (label) => seen.push(label),
    });
    assert.equal(outcome.kind, 'reached');
    assert.deepEqual(seen, ['PENDING', 'PROLOG', 'RUNNING']);
    assert.deepEqual(clock.slept, [250, 250, 250]);
  });

  it('stops at a failure state and says why, with USER_TEMPLATE/ERROR', async () => {
    const states = [
      active(LcmState.BOOT),
      active(LcmState.BOOT_FAILURE, 'Mon Jan 1 00:00:00 2024: qemu exited: no kvm'),
    ];
    const w = wanted('RUNNING');
    const outcome = await waitForVmState(async () => states.shift()!, w, {
      timeoutMs: 60_000,
      intervalMs: 250,
      clock: fakeClock(),
    });
    assert.equal(outcome.kind, 'failed');
    assert.equal(
      waitFailureMessage(7, outcome, w, 60),
      'nimbus: VM 7 is in BOOT_FAILURE (wanted RUNNING): Mon Jan 1 00:00:00 2024: qemu exited: no kvm',
    );
    assert.equal(
      waitFailureMessage(7, { kind: 'failed', vm: vm(VmState.DONE) }, w, 60),
      'nimbus: VM 7 is in DONE (wanted RUNNING)',
    );
  });

  it('times out with the state it was last seen in, sleeping no longer than the time left', async () => {
    const clock = fakeClock();
    const w = wanted('runn');
    const outcome = await waitForVmState(async () => active(LcmState.PROLOG), w, {
      timeoutMs: 1_000,
      intervalMs: 300,
      clock,
    });
    assert.equal(outcome.kind, 'timeout');
    assert.deepEqual(clock.slept, [300, 300, 300, 100]);
    assert.equal(
      waitFailureMessage(7, outcome, w, 1),
      'nimbus: timed out after 1 s waiting for VM 7 to be runn; it is PROLOG',
    );
  });

  it('a timeout of 0 looks once', async () => {
    let reads = 0;
    const outcome = await waitForVmState(
      async () => {
        reads++;
        return vm(VmState.PENDING);
      },
      wanted('RUNNING'),
      { timeoutMs: 0, intervalMs: 250, clock: fakeClock() },
    );
    assert.equal(outcome.kind, 'timeout');
    assert.equal(reads, 1);
    assert.equal(
      waitFailureMessage(1, { kind: 'reached', vm: active(LcmState.RUNNING) }, wanted('RUNNING'), 0),
      undefined,
    );
  });
});
