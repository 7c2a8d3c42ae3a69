import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';

import { setQuotas } from '../../../src/domain/quota/limits.js';
import { EMPTY_QUOTAS } from '../../../src/domain/quota/metrics.js';
import type { QuotaSet } from '../../../src/domain/quota/record.js';
import {
  addQuotaUsage,
  authorizeQuota,
  checkAndAddQuota,
  checkQuotaRequest,
  imageQuotaRequest,
  leaseQuotaRequest,
  releaseQuota,
  releaseQuotaRequest,
  releaseQuotaUsage,
  vmAllocateQuotaRequest,
  vmQuotaUsage,
  vmRunningQuotaUsage,
  type DefaultQuotas,
  type QuotaOwners,
  type QuotaRequest,
} from '../../../src/domain/quota/usage.js';
import type { Template } from '../../../src/domain/template/types.js';

function quotas(template: Template, isDefault = false): QuotaSet {
  const r = setQuotas(EMPTY_QUOTAS, template, { isDefault });
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  return r.value;
}

function request(r: ReturnType<typeof vmAllocateQuotaRequest>): QuotaRequest {
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  return r.value;
}

const NO_DEFAULTS: DefaultQuotas = { user: EMPTY_QUOTAS, group: EMPTY_QUOTAS };
const smallVm = request(vmAllocateQuotaRequest({ memory: 512, cpu: 0.5 }));

function owners(userQuotas: QuotaSet, groupQuotas: QuotaSet = EMPTY_QUOTAS, uid = 3, gid = 1): QuotaOwners {
  return { uid, gid, userQuotas, groupQuotas };
}

describe('VM allocate', () => {
  it('counts VMS, MEMORY, CPU, SYSTEM_DISK_SIZE and the RUNNING_* counters', () => {
    const r = authorizeQuota(
      owners(EMPTY_QUOTAS),
      request(vmAllocateQuotaRequest({ memory: 512, cpu: 0.5, systemDiskSize: 1024 })),
      NO_DEFAULTS,
      {
        method: 'one.vm.allocate',
      },
    );
    assert.ok(r.ok);
    for (const q of [r.value.userQuotas, r.value.groupQuotas]) {
      assert.deepEqual(q.vm, {
        vms: -1,
        vmsUsed: 1,
        cpu: -1,
        cpuUsed: 0.5,
        memory: -1,
        memoryUsed: 512,
        runningVms: -1,
        runningVmsUsed: 1,
        runningCpu: -1,
        runningCpuUsed: 0.5,
        runningMemory: -1,
        runningMemoryUsed: 512,
        systemDiskSize: -1,
        systemDiskSizeUsed: 1024,
      });
    }
  });

  it('refuses the third VM with a limit of 2 in the exact OpenNebula text', () => {
    let user = quotas({ VM: [{ VMS: '2' }] });
    for (let i = 0; i < 2; i++) {
      const r = authorizeQuota(owners(user), smallVm, NO_DEFAULTS, { method: 'one.vm.allocate' });
      assert.ok(r.ok);
      user = r.value.userQuotas;
    }
    assert.deepEqual(authorizeQuota(owners(user), smallVm, NO_DEFAULTS, { method: 'one.vm.allocate' }), {
      ok: false,
      error: {
        code: 'AUTHORIZATION',
        message: '[one.vm.allocate] User [3] : user [3] limit of 2 reached for VMS quota in VM.',
        field: 'VM',
      },
    });
  });

  it('checks the group quota too, in its own words', () => {
    const group = quotas({ VM: [{ MEMORY: '1024' }] });
    const big = request(vmAllocateQuotaRequest({ memory: 2048, cpu: 1 }));
    assert.deepEqual(
      authorizeQuota(owners(EMPTY_QUOTAS, group, 3, 100), big, NO_DEFAULTS, {
        method: 'one.template.instantiate',
      }),
      {
        ok: false,
        error: {
          code: 'AUTHORIZATION',
          message:
            '[one.template.instantiate] User [3] : group [100] limit of 1024 reached for MEMORY quota in VM.',
          field: 'VM',
        },
      },
    );
  });

  it('names the caller first when it is not the owner', () => {
    const r = authorizeQuota(
      owners(quotas({ VM: [{ VMS: '0' }] }), EMPTY_QUOTAS, 5, 1),
      smallVm,
      NO_DEFAULTS,
      {
        method: 'one.vm.chown',
        callerUid: 3,
      },
    );
    assert.equal(
      !r.ok && r.error.message,
      '[one.vm.chown] User [3] : user [5] limit of 0 reached for VMS quota in VM.',
    );
  });

  it('reports the first metric that does not fit, in OpenNebula order', () => {
    const user = quotas({ VM: [{ VMS: '0', MEMORY: '0', CPU: '0' }] });
    const r = checkQuotaRequest(user, smallVm, EMPTY_QUOTAS);
    assert.equal(!r.ok && r.error.message, 'limit of 0 reached for VMS quota in VM');
    const cpu = checkQuotaRequest(quotas({ VM: [{ CPU: '0.4' }] }), smallVm, EMPTY_QUOTAS);
    assert.equal(!cpu.ok && cpu.error.message, 'limit of 0.4 reached for CPU quota in VM');
    const both = checkQuotaRequest(
      quotas({ VM: [{ RUNNING_CPU: '0.25', CPU: '0.25' }] }),
      smallVm,
      EMPTY_QUOTAS,
    );
    assert.equal(!both.ok && both.error.message, 'limit of 0.25 reached for CPU quota in VM');
    const running = checkQuotaRequest(quotas({ VM: [{ RUNNING_CPU: '0.25' }] }), smallVm, EMPTY_QUOTAS);
    assert.equal(!running.ok && running.error.message, 'limit of 0.25 reached for RUNNING_CPU quota in VM');
  });

  it('validates MEMORY and CPU', () => {
    assert.deepEqual(vmAllocateQuotaRequest({ memory: -1, cpu: 1 }), {
      ok: false,
      error: {
        code: 'AUTHORIZATION',
        message: 'MEMORY attribute must be a positive integer value',
        field: 'MEMORY',
      },
    });
    assert.deepEqual(vmAllocateQuotaRequest({ memory: 1, cpu: Number.NaN }), {
      ok: false,
      error: {
        code: 'AUTHORIZATION',
        message: 'CPU attribute must be a positive float or integer value',
        field: 'CPU',
      },
    });
  });

  it('counts NIC leases and image RVMS per NIC and per disk', () => {
    const user = quotas({ NETWORK: [{ ID: '0', LEASES: '1' }], IMAGE: [{ ID: '7', RVMS: '1' }] });
    const oneNic = request(vmAllocateQuotaRequest({ memory: 1, cpu: 1, networkIds: [0], imageIds: [7] }));
    const r = checkQuotaRequest(user, oneNic, EMPTY_QUOTAS);
    assert.ok(r.ok);
    assert.deepEqual(r.value.network, [{ id: 0, leases: 1, leasesUsed: 1 }]);
    assert.deepEqual(r.value.image, [{ id: 7, rvms: 1, rvmsUsed: 1 }]);
    const twoNics = request(vmAllocateQuotaRequest({ memory: 1, cpu: 1, networkIds: [0, 0] }));
    const refused = checkQuotaRequest(user, twoNics, EMPTY_QUOTAS);
    assert.equal(
      !refused.ok && refused.error.message,
      'limit of 1 reached for LEASES quota in NETWORK with ID: 0',
    );
    const image = checkQuotaRequest(
      r.value,
      request(vmAllocateQuotaRequest({ memory: 1, cpu: 1, imageIds: [7] })),
      EMPTY_QUOTAS,
    );
    assert.equal(!image.ok && image.error.message, 'limit of 1 reached for RVMS quota in IMAGE with ID: 7');
  });

  it('a VM that is not running takes no RUNNING_* counters', () => {
    assert.deepEqual(vmQuotaUsage({ memory: 1, cpu: 2 }, false), {
      VMS: 1,
      MEMORY: 1,
      CPU: 2,
      SYSTEM_DISK_SIZE: 0,
    });
    const r = request(vmAllocateQuotaRequest({ memory: 1, cpu: 2, running: false }));
    assert.equal(r.vm?.RUNNING_VMS, undefined);
    assert.deepEqual(vmRunningQuotaUsage({ memory: 1, cpu: 2 }), {
      RUNNING_VMS: 1,
      RUNNING_MEMORY: 1,
      RUNNING_CPU: 2,
    });
  });
});

describe('limits', () => {
  it('-1 takes the default quota, and is unlimited without one', () => {
    const user = quotas({ VM: [{ VMS: '-1' }, { VMS: '-1' }] });
    const defaults: DefaultQuotas = { user: quotas({ VM: [{ VMS: '1' }] }, true), group: EMPTY_QUOTAS };
    const first = authorizeQuota(owners(EMPTY_QUOTAS), smallVm, defaults, { method: 'one.vm.allocate' });
    assert.ok(first.ok);
    const second = authorizeQuota(owners(first.value.userQuotas), smallVm, defaults, {
      method: 'one.vm.allocate',
    });
    assert.equal(
      !second.ok && second.error.message,
      '[one.vm.allocate] User [3] : user [3] limit of 1 reached for VMS quota in VM.',
    );
    // Without defaults -1 is unlimited.
    let q = user;
    for (let i = 0; i < 50; i++) {
      const r = checkQuotaRequest(q, smallVm, EMPTY_QUOTAS);
      assert.ok(r.ok);
      q = r.value;
    }
    assert.equal(q.vm?.vmsUsed, 50);
  });

  it('default datastore quotas apply per datastore ID', () => {
    const defaults = quotas({ DATASTORE: [{ ID: '1', SIZE: '100' }] }, true);
    const img = (ds: number, size: number): QuotaRequest => {
      const r = imageQuotaRequest(ds, size);
      assert.ok(r.ok);
      return r.value;
    };
    assert.equal(checkQuotaRequest(EMPTY_QUOTAS, img(1, 100), defaults).ok, true);
    const r = checkQuotaRequest(EMPTY_QUOTAS, img(1, 101), defaults);
    assert.equal(!r.ok && r.error.message, 'limit of 100 reached for SIZE quota in DATASTORE with ID: 1');
    assert.equal(checkQuotaRequest(EMPTY_QUOTAS, img(2, 10_000), defaults).ok, true);
  });

  it('-2 is unlimited even with a default quota; 0 forbids', () => {
    const defaults = quotas({ VM: [{ VMS: '0' }] }, true);
    assert.equal(checkQuotaRequest(quotas({ VM: [{ VMS: '-2' }] }), smallVm, defaults).ok, true);
    assert.equal(checkQuotaRequest(quotas({ VM: [{ VMS: '0' }] }), smallVm, EMPTY_QUOTAS).ok, false);
    assert.equal(checkQuotaRequest(quotas({ VM: [{ VMS: '-1' }] }), smallVm, defaults).ok, false);
  });

  it('counts images and size per datastore', () => {
    const q = quotas({ DATASTORE: [{ ID: '1', IMAGES: '1' }] });
    const first = checkQuotaRequest(q, imageRequest(imageQuotaRequest(1, 2048)), EMPTY_QUOTAS);
    assert.ok(first.ok);
    assert.deepEqual(first.value.datastore, [{ id: 1, size: -1, sizeUsed: 2048, images: 1, imagesUsed: 1 }]);
    const second = checkQuotaRequest(first.value, imageRequest(imageQuotaRequest(1, 1)), EMPTY_QUOTAS);
    assert.equal(
      !second.ok && second.error.message,
      'limit of 1 reached for IMAGES quota in DATASTORE with ID: 1',
    );
    assert.deepEqual(imageQuotaRequest(1, -5), {
      ok: false,
      error: { code: 'AUTHORIZATION', message: 'Image size must be a positive integer value', field: 'SIZE' },
    });
  });

  it('prints large limits as OpenNebula does', () => {
    const q = quotas({ VM: [{ MEMORY: '1048576' }] });
    const r = checkQuotaRequest(
      q,
      request(vmAllocateQuotaRequest({ memory: 2_000_000, cpu: 1 })),
      EMPTY_QUOTAS,
    );
    assert.equal(!r.ok && r.error.message, 'limit of 1.04858e+06 reached for MEMORY quota in VM');
  });
});

function imageRequest(r: ReturnType<typeof imageQuotaRequest>): QuotaRequest {
  assert.ok(r.ok);
  return r.value;
}

describe('exemptions and all-or-nothing', () => {
  it('does not count oneadmin (uid 0) nor the oneadmin group (gid 0)', () => {
    const zero = quotas({ VM: [{ VMS: '0' }] });
    const r = authorizeQuota({ uid: 0, gid: 0, userQuotas: zero, groupQuotas: zero }, smallVm, NO_DEFAULTS, {
      method: 'm',
    });
    assert.deepEqual(r, { ok: true, value: { userQuotas: zero, groupQuotas: zero } });
    const userOnly = authorizeQuota(
      { uid: 3, gid: 0, userQuotas: EMPTY_QUOTAS, groupQuotas: zero },
      smallVm,
      NO_DEFAULTS,
      {
        method: 'm',
      },
    );
    assert.ok(userOnly.ok);
    assert.equal(userOnly.value.userQuotas.vm?.vmsUsed, 1);
    assert.equal(userOnly.value.groupQuotas, zero);
    assert.deepEqual(releaseQuota({ uid: 0, gid: 0, userQuotas: zero, groupQuotas: zero }, smallVm), {
      userQuotas: zero,
      groupQuotas: zero,
    });
  });

  it('changes nothing when any block of the request is refused', () => {
    const user = quotas({ NETWORK: [{ ID: '0', LEASES: '5' }], IMAGE: [{ ID: '7', RVMS: '0' }] });
    const vmReq = request(vmAllocateQuotaRequest({ memory: 1, cpu: 1, networkIds: [0], imageIds: [7] }));
    const r = authorizeQuota(owners(user), vmReq, NO_DEFAULTS, { method: 'one.vm.allocate' });
    assert.equal(
      !r.ok && r.error.message,
      '[one.vm.allocate] User [3] : user [3] limit of 0 reached for RVMS quota in IMAGE with ID: 7.',
    );
    assert.deepEqual(user.network, [{ id: 0, leases: 5, leasesUsed: 0 }]);
  });
});

describe('releasing usage', () => {
  it('gives back what was taken and drops emptied default entries', () => {
    const taken = authorizeQuota(owners(EMPTY_QUOTAS), smallVm, NO_DEFAULTS, { method: 'm' });
    assert.ok(taken.ok);
    const back = releaseQuota(owners(taken.value.userQuotas, taken.value.groupQuotas), smallVm);
    assert.deepEqual(back, { userQuotas: EMPTY_QUOTAS, groupQuotas: EMPTY_QUOTAS });
  });

  it('keeps entries with limits, and never goes below 0', () => {
    const q = quotas({ VM: [{ VMS: '4' }] });
    const released = releaseQuotaRequest(q, smallVm);
    assert.equal(released.vm?.vmsUsed, 0);
    assert.equal(released.vm?.vms, 4);
    assert.equal(released.vm?.memoryUsed, 0);
    assert.equal(releaseQuotaUsage(EMPTY_QUOTAS, 'NETWORK', 3, { LEASES: 1 }), EMPTY_QUOTAS);
  });

  it('poweroff releases only the running counters, resume takes them again', () => {
    const taken = checkQuotaRequest(quotas({ VM: [{ RUNNING_VMS: '1' }] }), smallVm, EMPTY_QUOTAS);
    assert.ok(taken.ok);
    const running = { vm: vmRunningQuotaUsage({ memory: 512, cpu: 0.5 }) };
    const off = releaseQuotaRequest(taken.value, running);
    assert.equal(off.vm?.vmsUsed, 1);
    assert.equal(off.vm?.runningVmsUsed, 0);
    assert.equal(checkQuotaRequest(off, running, EMPTY_QUOTAS).ok, true);
  });

  it('adds usage without a check (rebuilding counters), creating the entry when needed', () => {
    const q = addQuotaUsage(EMPTY_QUOTAS, 'NETWORK', 4, { LEASES: 3 });
    assert.deepEqual(q.network, [{ id: 4, leases: -1, leasesUsed: 3 }]);
    assert.deepEqual(addQuotaUsage(q, 'NETWORK', 4, { LEASES: 1 }).network, [
      { id: 4, leases: -1, leasesUsed: 4 },
    ]);
    const leases = checkQuotaRequest(q, leaseQuotaRequest(4, 2), EMPTY_QUOTAS);
    assert.equal(leases.ok && leases.value.network[0]?.leasesUsed, 5);
  });

  it('resize deltas: negative amounts only lower usage', () => {
    const q = checkAndAddQuota(
      quotas({ VM: [{ MEMORY: '1024' }] }),
      'VM',
      null,
      { MEMORY: 1024 },
      EMPTY_QUOTAS,
    );
    assert.ok(q.ok);
    const shrink = checkAndAddQuota(q.value, 'VM', null, { MEMORY: -512 }, EMPTY_QUOTAS);
    assert.equal(shrink.ok && shrink.value.vm?.memoryUsed, 512);
  });
});

describe('usage properties', () => {
  it('counters never go negative and add-then-release returns to the start', () => {
    const amount = fc.integer({ min: 0, max: 4096 });
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            memory: amount,
            cpu: fc.integer({ min: 0, max: 800 }).map((n) => n / 100),
            take: fc.boolean(),
          }),
          { maxLength: 20 },
        ),
        (steps) => {
          let q: QuotaSet = EMPTY_QUOTAS;
          const taken: QuotaRequest[] = [];
          for (const s of steps) {
            const req = request(vmAllocateQuotaRequest({ memory: s.memory, cpu: s.cpu }));
            if (s.take) {
              const r = checkQuotaRequest(q, req, EMPTY_QUOTAS);
              assert.ok(r.ok);
              q = r.value;
              taken.push(req);
            } else {
              q = releaseQuotaRequest(q, req);
            }
            for (const [key, value] of Object.entries(q.vm ?? {})) {
              if (key.endsWith('Used')) assert.ok(value >= 0, `${key} = ${value}`);
            }
          }
          let back = q;
          for (const req of taken) back = releaseQuotaRequest(back, req);
          assert.equal(back.vm, null);
        },
      ),
      { numRuns: 500 },
    );
  });
});
