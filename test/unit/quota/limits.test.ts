import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { checkQuotaOwner, setQuotas } from '../../../src/domain/quota/limits.js';
import {
  EMPTY_QUOTAS,
  formatQuotaNumber,
  limitField,
  newQuotaEntry,
  usedField,
} from '../../../src/domain/quota/metrics.js';
import type { QuotaSet, VmQuota } from '../../../src/domain/quota/record.js';
import type { Template } from '../../../src/domain/template/types.js';

const vmQuota = (over: Partial<VmQuota> = {}): VmQuota => ({
  vms: -1,
  vmsUsed: 0,
  cpu: -1,
  cpuUsed: 0,
  memory: -1,
  memoryUsed: 0,
  runningVms: -1,
  runningVmsUsed: 0,
  runningCpu: -1,
  runningCpuUsed: 0,
  runningMemory: -1,
  runningMemoryUsed: 0,
  systemDiskSize: -1,
  systemDiskSizeUsed: 0,
  ...over,
});

function set(current: QuotaSet, template: Template, isDefault = false): QuotaSet {
  const r = setQuotas(current, template, { isDefault });
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  return r.value;
}

function error(current: QuotaSet, template: Template, isDefault = false): string {
  const r = setQuotas(current, template, { isDefault });
  assert.equal(r.ok, false);
  return r.ok ? '' : r.error.message;
}

describe('setting quotas', () => {
  it('creates blocks with missing limits at -1 and counters at 0', () => {
    const q = set(EMPTY_QUOTAS, { VM: [{ VMS: '4', MEMORY: '2048', CPU: '2.5' }] });
    assert.deepEqual(q.vm, vmQuota({ vms: 4, memory: 2048, cpu: 2.5 }));
    const ds = set(EMPTY_QUOTAS, { DATASTORE: [{ ID: '1', SIZE: '10240' }] });
    assert.deepEqual(ds.datastore, [{ id: 1, size: 10240, sizeUsed: 0, images: -1, imagesUsed: 0 }]);
    const net = set(EMPTY_QUOTAS, { NETWORK: [{ ID: '0', LEASES: '2' }], IMAGE: [{ ID: '5', RVMS: '-2' }] });
    assert.deepEqual(net.network, [{ id: 0, leases: 2, leasesUsed: 0 }]);
    assert.deepEqual(net.image, [{ id: 5, rvms: -2, rvmsUsed: 0 }]);
  });

  it('replaces every limit of a matching block and keeps its counters', () => {
    const current: QuotaSet = {
      ...EMPTY_QUOTAS,
      vm: vmQuota({ vms: 4, vmsUsed: 2, memory: 2048, memoryUsed: 1024 }),
    };
    const q = set(current, { VM: [{ MEMORY: '4096' }] });
    // VMS was not given: back to -1 (the default quota), as OpenNebula's update_limits does.
    assert.deepEqual(q.vm, vmQuota({ vms: -1, vmsUsed: 2, memory: 4096, memoryUsed: 1024 }));
  });

  it('matches blocks by ID and leaves the others alone', () => {
    const current = set(EMPTY_QUOTAS, {
      DATASTORE: [
        { ID: '1', SIZE: '100' },
        { ID: '2', SIZE: '200', IMAGES: '3' },
      ],
    });
    const q = set(current, { DATASTORE: [{ ID: '2', IMAGES: '5' }], NETWORK: [{ ID: '3', LEASES: '1' }] });
    assert.deepEqual(q.datastore, [
      { id: 1, size: 100, sizeUsed: 0, images: -1, imagesUsed: 0 },
      { id: 2, size: -1, sizeUsed: 0, images: 5, imagesUsed: 0 },
    ]);
    assert.deepEqual(q.network, [{ id: 3, leases: 1, leasesUsed: 0 }]);
  });

  it('drops a block left with default limits and no usage', () => {
    const current = set(EMPTY_QUOTAS, { VM: [{ VMS: '4' }], DATASTORE: [{ ID: '1', SIZE: '100' }] });
    const q = set(current, { VM: [{ VMS: '-1' }], DATASTORE: [{ ID: '1' }] });
    assert.equal(q.vm, null);
    assert.deepEqual(q.datastore, []);
    const used = { ...EMPTY_QUOTAS, vm: vmQuota({ vms: 4, vmsUsed: 1 }) };
    assert.deepEqual(set(used, { VM: [{}] }).vm, vmQuota({ vmsUsed: 1 }));
  });

  it('default quotas: missing limits are unlimited and -1 is refused', () => {
    const q = set(EMPTY_QUOTAS, { VM: [{ VMS: '10' }] }, true);
    assert.deepEqual(
      q.vm,
      vmQuota({
        vms: 10,
        cpu: -2,
        memory: -2,
        runningVms: -2,
        runningCpu: -2,
        runningMemory: -2,
        systemDiskSize: -2,
      }),
    );
    assert.equal(set(q, { VM: [{}] }, true).vm, null);
    assert.equal(
      error(EMPTY_QUOTAS, { VM: [{ VMS: '-1' }] }, true),
      'Negative limits or bad format in quota VM = [ VMS=-1 ]',
    );
  });

  it('refuses negative limits, bad numbers and bad IDs with the block in the message', () => {
    assert.equal(
      error(EMPTY_QUOTAS, { DATASTORE: [{ ID: '1', SIZE: '-5' }] }),
      'Negative limits or bad format in quota DATASTORE = [ ID=1,SIZE=-5 ]',
    );
    assert.equal(
      error(EMPTY_QUOTAS, { VM: [{ MEMORY: 'lots' }] }),
      'Negative limits or bad format in quota VM = [ MEMORY=lots ]',
    );
    assert.equal(
      error(EMPTY_QUOTAS, { NETWORK: [{ LEASES: '2' }] }),
      'Negative limits or bad format in quota NETWORK = [ LEASES=2 ]',
    );
    assert.equal(
      error(EMPTY_QUOTAS, { IMAGE: [{ ID: 'x', RVMS: '2' }] }),
      'Negative limits or bad format in quota IMAGE = [ ID=x,RVMS=2 ]',
    );
    const r = setQuotas(EMPTY_QUOTAS, { VM: [{ VMS: '-3' }] });
    assert.equal(!r.ok && r.error.field, 'VM');
  });

  it('ignores single attributes and unknown blocks', () => {
    assert.deepEqual(set(EMPTY_QUOTAS, { VM: ['5'], FOO: [{ A: '1' }] }), EMPTY_QUOTAS);
  });

  it('refuses quotas for the oneadmin user and group', () => {
    assert.deepEqual(checkQuotaOwner({ user: 0 }), {
      ok: false,
      error: { code: 'ACTION', message: 'Cannot set quotas for oneadmin user' },
    });
    assert.deepEqual(checkQuotaOwner({ group: 0 }), {
      ok: false,
      error: { code: 'ACTION', message: 'Cannot set quotas for oneadmin group' },
    });
    assert.equal(checkQuotaOwner({ user: 3 }).ok, true);
    assert.equal(checkQuotaOwner({ group: 1 }).ok, true);
  });
});

describe('quota metrics helpers', () => {
  it('formats numbers like C++ ostream << float', () => {
    const cases: [number, string][] = [
      [2, '2'],
      [0, '0'],
      [0.5, '0.5'],
      [0.1, '0.1'],
      [2.25, '2.25'],
      [1024, '1024'],
      [999999, '999999'],
      [1048576, '1.04858e+06'],
      [2048000, '2.048e+06'],
      [0.0001, '0.0001'],
      [0.00001, '1e-05'],
      [-2, '-2'],
      [Infinity, 'Infinity'],
    ];
    for (const [value, text] of cases) assert.equal(formatQuotaNumber(value), text, String(value));
  });

  it('maps metrics to record fields', () => {
    assert.equal(limitField('VM', 'RUNNING_MEMORY'), 'runningMemory');
    assert.equal(usedField('DATASTORE', 'SIZE'), 'sizeUsed');
    assert.throws(() => limitField('VM', 'LEASES'), RangeError);
    assert.deepEqual(newQuotaEntry('NETWORK', null, -1), { id: -1, leases: -1, leasesUsed: 0 });
  });
});
