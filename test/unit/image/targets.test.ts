import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  assignDiskTargets,
  parseTarget,
  suffixIndex,
  targetSuffix,
  type DiskTargetRequest,
  type TargetAssignmentRequest,
} from '../../../src/domain/image/index.js';

function targets(request: Partial<TargetAssignmentRequest> & { disks: readonly DiskTargetRequest[] }): {
  disks: Record<number, string>;
  context: string | null;
} {
  const r = assignDiskTargets({ vmId: 42, ...request });
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  return {
    disks: Object.fromEntries(r.value.disks.map((d) => [d.diskId, d.target])),
    context: r.value.context,
  };
}

function refusal(
  request: Partial<TargetAssignmentRequest> & { disks: readonly DiskTargetRequest[] },
): string {
  const r = assignDiskTargets({ vmId: 42, ...request });
  assert.ok(!r.ok, 'expected a refusal');
  return r.error.message;
}

describe('target suffixes', () => {
  it('spreadsheet columns: a…z, aa, ab …', () => {
    assert.deepEqual([0, 1, 25, 26, 27, 51, 52, 255, 701, 702].map(targetSuffix), [
      'a',
      'b',
      'z',
      'aa',
      'ab',
      'az',
      'ba',
      'iv',
      'zz',
      'aaa',
    ]);
    for (let i = 0; i < 1000; i++) assert.equal(suffixIndex(targetSuffix(i)), i);
    assert.equal(suffixIndex('A1'), undefined);
  });
  it('parseTarget', () => {
    assert.deepEqual(parseTarget('sdab'), { prefix: 'sd', index: 27 });
    assert.equal(parseTarget('xvda'), undefined);
    assert.equal(parseTarget('sd'), undefined);
  });
});

describe('assignDiskTargets golden cases', () => {
  it('reference §9.6: OS → sda, context CD → hda, datablock → sdb, volatile swap → sdc', () => {
    assert.deepEqual(
      targets({
        disks: [
          { diskId: 0, kind: 'OS' },
          { diskId: 1, kind: 'DATABLOCK' },
          { diskId: 2, kind: 'VOLATILE' },
        ],
        context: {},
      }),
      { disks: { 0: 'sda', 1: 'sdb', 2: 'sdc' }, context: 'hda' },
    );
  });
  it('the first OS disk gets "a" even when listed after a datablock', () => {
    assert.deepEqual(
      targets({
        disks: [
          { diskId: 0, kind: 'DATABLOCK' },
          { diskId: 1, kind: 'OS' },
          { diskId: 2, kind: 'OS' },
        ],
      }),
      { disks: { 0: 'sdb', 1: 'sda', 2: 'sdc' }, context: null },
    );
  });
  it('CDROM images come before the context CD', () => {
    assert.deepEqual(
      targets({
        disks: [
          { diskId: 0, kind: 'CDROM' },
          { diskId: 1, kind: 'OS' },
          { diskId: 2, kind: 'CDROM' },
        ],
        context: {},
      }),
      { disks: { 0: 'hda', 1: 'sda', 2: 'hdb' }, context: 'hdc' },
    );
  });
  it('prefix precedence: DISK DEV_PREFIX > image DEV_PREFIX > default; CONTEXT DEV_PREFIX', () => {
    assert.deepEqual(
      targets({
        disks: [
          { diskId: 0, kind: 'OS', devPrefix: 'vd', imageDevPrefix: 'hd' },
          { diskId: 1, kind: 'DATABLOCK', imageDevPrefix: 'VD' },
          { diskId: 2, kind: 'CDROM', imageDevPrefix: 'sd' },
          { diskId: 3, kind: 'DATABLOCK' },
        ],
        context: { devPrefix: 'sd' },
      }),
      { disks: { 0: 'vda', 1: 'vdb', 2: 'sda', 3: 'sdc' }, context: 'sdb' },
    );
  });
  it('configured defaults (4.x style hd)', () => {
    assert.deepEqual(
      targets({
        disks: [
          { diskId: 0, kind: 'OS' },
          { diskId: 1, kind: 'DATABLOCK' },
        ],
        context: {},
        defaultDevPrefix: 'hd',
      }),
      { disks: { 0: 'hda', 1: 'hdc' }, context: 'hdb' },
    );
  });
  it('explicit TARGETs are reserved first and skipped by the others', () => {
    assert.deepEqual(
      targets({
        disks: [
          { diskId: 0, kind: 'OS' },
          { diskId: 1, kind: 'DATABLOCK', target: 'sda' },
          { diskId: 2, kind: 'DATABLOCK' },
        ],
        context: { target: 'HDA' },
      }),
      { disks: { 0: 'sdb', 1: 'sda', 2: 'sdc' }, context: 'hda' },
    );
  });
  it('the lowest unused name fills a gap', () => {
    assert.deepEqual(
      targets({
        disks: [
          { diskId: 0, kind: 'DATABLOCK', target: 'vdb' },
          { diskId: 1, kind: 'OS', devPrefix: 'vd' },
          { diskId: 2, kind: 'DATABLOCK', devPrefix: 'vd' },
        ],
      }),
      { disks: { 0: 'vdb', 1: 'vda', 2: 'vdc' }, context: null },
    );
  });
  it('after z comes aa', () => {
    const disks = Array.from({ length: 28 }, (_, i) => ({ diskId: i, kind: 'DATABLOCK' as const }));
    const out = targets({ disks });
    assert.equal(out.disks[25], 'sdz');
    assert.equal(out.disks[26], 'sdaa');
    assert.equal(out.disks[27], 'sdab');
  });
});

describe('assignDiskTargets refusals', () => {
  it('two disks with one target', () => {
    assert.equal(
      refusal({
        disks: [
          { diskId: 0, kind: 'OS', target: 'vda' },
          { diskId: 1, kind: 'DATABLOCK', target: 'vda' },
        ],
      }),
      'Two disks have defined the same target vda',
    );
    assert.equal(
      refusal({ disks: [{ diskId: 0, kind: 'CDROM', target: 'hda' }], context: { target: 'hda' } }),
      'Two disks have defined the same target hda',
    );
  });
  it('more than 4 hd disks on a non-q35 machine; fine on q35', () => {
    const disks = Array.from({ length: 4 }, (_, i) => ({ diskId: i, kind: 'CDROM' as const }));
    assert.equal(refusal({ disks, context: {} }), 'Non-q35 VM 42 has more than 4 hd disks');
    assert.equal(targets({ disks, context: {}, q35: true }).context, 'hde');
    assert.equal(targets({ disks }).disks[3], 'hdd');
  });
  it('more than 256 sd disks', () => {
    const disks = Array.from({ length: 257 }, (_, i) => ({ diskId: i, kind: 'DATABLOCK' as const }));
    assert.equal(refusal({ disks }), 'VM 42 has more than 256 sd disks');
    assert.equal(targets({ disks: disks.slice(0, 256) }).disks[255], 'sdiv');
  });
  it('targets and prefixes Nimbus cannot attach', () => {
    assert.equal(
      refusal({ disks: [{ diskId: 0, kind: 'OS', target: 'xvdc:cdrom' }] }),
      'TARGET "xvdc:cdrom" is not valid; use hd, sd or vd followed by letters, e.g. vdb',
    );
    assert.equal(
      refusal({ disks: [{ diskId: 0, kind: 'OS', devPrefix: 'xvd' }] }),
      'DEV_PREFIX "xvd" is not supported; use hd, sd or vd',
    );
    const ctx = assignDiskTargets({ vmId: 42, disks: [], context: { devPrefix: 'fd' } });
    assert.ok(!ctx.ok);
    assert.equal(ctx.error.field, 'CONTEXT/DEV_PREFIX');
    const ctxTarget = assignDiskTargets({ vmId: 42, disks: [], context: { target: 'cdrom' } });
    assert.ok(!ctxTarget.ok);
    assert.equal(ctxTarget.error.field, 'CONTEXT/TARGET');
  });
});
