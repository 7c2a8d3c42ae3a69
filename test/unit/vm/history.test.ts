import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  VmActionCode as A,
  applyHistoryEffect,
  applyHistoryEffects,
  closeAndCopyHistory,
  closeHistory,
  copyHistory,
  currentHistory,
  finishHistory,
  openHistory,
  previousHistory,
  setHistoryAction,
  stampHistory,
} from '../../../src/domain/vm/index.js';
import { ACTOR, HOST_A, HOST_B } from './model.js';

describe('HISTORY helpers', () => {
  it('opens records with SEQ 0, 1, … and STIME', () => {
    let h = openHistory([], 7, HOST_A, 100);
    assert.equal(h.length, 1);
    assert.deepEqual(
      {
        seq: h[0]?.seq,
        oid: h[0]?.oid,
        hid: h[0]?.hid,
        hostname: h[0]?.hostname,
        stime: h[0]?.stime,
        etime: h[0]?.etime,
      },
      { seq: 0, oid: 7, hid: 1, hostname: 'node-a', stime: 100, etime: 0 },
    );
    assert.equal(h[0]?.action, A.none);
    assert.equal(h[0]?.uid, -1);
    h = openHistory(h, 7, HOST_B, 200);
    assert.equal(currentHistory(h)?.seq, 1);
    assert.equal(currentHistory(h)?.hostname, 'node-b');
    assert.equal(previousHistory(h)?.hostname, 'node-a');
  });

  it('stamps, closes once, and records the action with the actor', () => {
    let h = openHistory([], 7, HOST_A, 100);
    h = stampHistory(h, 'current', 'pstime', 101);
    h = closeHistory(h, 'current', 150);
    h = closeHistory(h, 'current', 160);
    h = setHistoryAction(h, 'current', A.stop, ACTOR);
    assert.equal(h[0]?.pstime, 101);
    assert.equal(h[0]?.etime, 150, 'an ETIME is not overwritten');
    const withAction = closeHistory(openHistory([], 7, HOST_A, 100), 'current', 170, A.terminate, ACTOR);
    assert.deepEqual(
      [withAction[0]?.etime, withAction[0]?.action, withAction[0]?.uid],
      [170, A.terminate, 0],
    );
    assert.deepEqual([h[0]?.action, h[0]?.uid, h[0]?.requestId], [A.stop, 0, 1]);
    assert.deepEqual(stampHistory([], 'current', 'etime', 1), [], 'no record: nothing to stamp');
    assert.deepEqual(copyHistory([], 'previous', 1), []);
    assert.equal(stampHistory(h, 'previous', 'etime', 1), h, 'no previous record');
  });

  it('copies the current or the previous placement', () => {
    let h = openHistory([], 7, HOST_A, 100);
    h = openHistory(h, 7, HOST_B, 200);
    h = copyHistory(h, 'previous', 300);
    assert.equal(currentHistory(h)?.seq, 2);
    assert.equal(currentHistory(h)?.hostname, 'node-a');
    assert.equal(currentHistory(h)?.stime, 300);
    h = copyHistory(h, 'current', 400);
    assert.equal(currentHistory(h)?.hostname, 'node-a');
    assert.equal(currentHistory(h)?.seq, 3);
  });

  it('close-copy keeps the former ACTION in the new record (so deploy still sees undeploy)', () => {
    let h = openHistory([], 7, HOST_A, 100);
    h = setHistoryAction(h, 'current', A.undeploy, ACTOR);
    h = stampHistory(h, 'current', 'retime', 120);
    h = closeAndCopyHistory(h, A['disk-resize'], 130, ACTOR);
    assert.equal(h.length, 2);
    assert.deepEqual([h[0]?.action, h[0]?.etime, h[0]?.retime], [A['disk-resize'], 130, 120]);
    assert.deepEqual([h[1]?.action, h[1]?.stime, h[1]?.rstime, h[1]?.retime], [A.undeploy, 130, 130, 130]);
    assert.deepEqual(closeAndCopyHistory([], 1, 1), []);
  });

  it('close-copy of a running VM leaves the copy running', () => {
    let h = openHistory([], 7, HOST_A, 100);
    h = closeAndCopyHistory(h, A['disk-attach'], 130, ACTOR);
    assert.deepEqual([h[0]?.retime, h[0]?.etime], [130, 130]);
    assert.deepEqual([h[1]?.rstime, h[1]?.retime, h[1]?.etime], [130, 0, 0]);
  });

  it('finish stamps RETIME only if the VM ran, ETIME only if open', () => {
    let h = openHistory([], 7, HOST_A, 100);
    assert.deepEqual([finishHistory(h, 200)[0]?.retime, finishHistory(h, 200)[0]?.etime], [0, 200]);
    h = stampHistory(h, 'current', 'rstime', 110);
    assert.deepEqual([finishHistory(h, 200)[0]?.retime, finishHistory(h, 200)[0]?.etime], [200, 200]);
  });

  it('applies plan effects, skipping non-history ones', () => {
    const ctx = { oid: 7, now: 500, actor: ACTOR };
    let h = applyHistoryEffects(
      [],
      [
        { kind: 'history', op: 'open', target: HOST_A },
        { kind: 'tm', op: 'prolog' },
        { kind: 'history', op: 'stamp', record: 'current', field: 'pstime', value: 'now' },
      ],
      ctx,
    );
    assert.equal(h[0]?.pstime, 500);
    assert.equal(
      applyHistoryEffect(h, { kind: 'history', op: 'open' }, ctx),
      h,
      'open without a target is a no-op',
    );
    h = applyHistoryEffect(
      h,
      { kind: 'history', op: 'stamp', record: 'current', field: 'pstime', value: 'zero' },
      ctx,
    );
    assert.equal(h[0]?.pstime, 0);
    h = applyHistoryEffect(h, { kind: 'history', op: 'set-action', record: 'current', action: A.stop }, ctx);
    const internal = applyHistoryEffect(
      h,
      {
        kind: 'history',
        op: 'set-action',
        record: 'current',
        action: A.undeploy,
        internal: true,
        ifNone: true,
      },
      ctx,
    );
    assert.equal(internal[0]?.action, A.stop, 'ifNone keeps an existing action');
    h = applyHistoryEffect(
      h,
      { kind: 'history', op: 'set-action', record: 'current', action: A.none, internal: true },
      ctx,
    );
    assert.deepEqual([h[0]?.action, h[0]?.uid], [A.none, -1]);
    h = applyHistoryEffect(h, { kind: 'history', op: 'copy', from: 'current' }, ctx);
    h = applyHistoryEffect(h, { kind: 'history', op: 'close', record: 'previous' }, ctx);
    h = applyHistoryEffect(h, { kind: 'history', op: 'close-copy', action: A.backup }, ctx);
    h = applyHistoryEffect(h, { kind: 'history', op: 'finish' }, ctx);
    assert.equal(h.length, 3);
    assert.equal(h[1]?.action, A.backup);
  });
});
