import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  REMOVED_ACTION_CODES,
  VmActionCode,
  vmActionCode,
  vmActionName,
} from '../../../src/domain/vm/index.js';

describe('VM action codes (§3.6)', () => {
  it('spot-checks OpenNebula numbers and names', () => {
    const expected: [string, number][] = [
      ['none', 0],
      ['migrate', 1],
      ['live-migrate', 2],
      ['undeploy', 5],
      ['undeploy-hard', 6],
      ['hold', 7],
      ['stop', 9],
      ['resume', 11],
      ['delete', 13],
      ['delete-recreate', 14],
      ['reboot-hard', 16],
      ['poweroff', 19],
      ['poweroff-hard', 20],
      ['disk-snapshot-create', 25],
      ['terminate', 27],
      ['terminate-hard', 28],
      ['disk-resize', 29],
      ['deploy', 30],
      ['updateconf', 33],
      ['resize', 35],
      ['snapshot-create', 37],
      ['recover', 42],
      ['retry', 43],
      ['monitor', 44],
      ['poweroff-migrate', 48],
      ['poweroff-hard-migrate', 49],
      ['backup', 50],
      ['backup-cancel', 52],
      ['pci-detach', 59],
      ['restore', 60],
    ];
    for (const [name, code] of expected) {
      assert.equal(vmActionCode(name), code, name);
      assert.equal(vmActionName(code), name);
    }
  });

  it('covers 0..60 with one name each', () => {
    const codes = Object.values(VmActionCode).sort((a, b) => a - b);
    assert.deepEqual(
      codes,
      Array.from({ length: 61 }, (_, i) => i),
    );
    assert.equal(vmActionName(61), undefined);
    assert.equal(vmActionCode('snapshot-resize'), undefined, 'the OCA typo is not a name');
    assert.equal(vmActionCode('constructor'), undefined);
    assert.deepEqual(REMOVED_ACTION_CODES, [3, 4, 12]);
  });
});
