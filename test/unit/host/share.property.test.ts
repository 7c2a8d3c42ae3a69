import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import {
  EMPTY_HOST_SHARE,
  addVmToShare,
  removeVmFromShare,
  updateShareCapacity,
  type VmAllocation,
} from '../../../src/domain/host/index.js';

type Op =
  { readonly kind: 'add'; readonly vm: VmAllocation } | { readonly kind: 'remove'; readonly index: number };

const vmArb = fc.record({
  cpu: fc.integer({ min: 0, max: 800 }),
  mem: fc.integer({ min: 0, max: 16 * 1024 * 1024 }),
});
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), vm: vmArb }),
  fc.record({ kind: fc.constant('remove' as const), index: fc.nat() }),
);
const reservationArb = fc.oneof(
  fc.constant(''),
  fc.integer({ min: -1600, max: 1600 }).map(String),
  fc.integer({ min: -100, max: 100 }).map((p) => `${p}%`),
);

describe('HOST_SHARE property: add/remove sequences', () => {
  it('usage stays within [0, MAX]; above TOTAL only when a negative reservation overcommits', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 6400 }),
        fc.integer({ min: 0, max: 64 * 1024 * 1024 }),
        reservationArb,
        reservationArb,
        fc.array(opArb, { maxLength: 60 }),
        (totalCpu, totalMem, reservedCpu, reservedMem, ops) => {
          let share = updateShareCapacity(EMPTY_HOST_SHARE, { totalCpu, totalMem, reservedCpu, reservedMem });
          const placed: VmAllocation[] = [];
          for (const op of ops) {
            if (op.kind === 'add') {
              const r = addVmToShare(share, op.vm);
              if (r.ok) {
                share = r.value;
                placed.push(op.vm);
              } else {
                assert.ok(
                  op.vm.cpu > share.maxCpu - share.cpuUsage || op.vm.mem > share.maxMem - share.memUsage,
                );
              }
            } else if (placed.length > 0) {
              const [vm] = placed.splice(op.index % placed.length, 1);
              share = removeVmFromShare(share, vm as VmAllocation);
            } else {
              share = removeVmFromShare(share, { cpu: 100, mem: 1024 });
            }
            assert.ok(share.cpuUsage >= 0 && share.memUsage >= 0 && share.runningVms >= 0);
            assert.ok(share.cpuUsage <= share.maxCpu, `CPU ${share.cpuUsage} > MAX ${share.maxCpu}`);
            assert.ok(share.memUsage <= share.maxMem, `MEM ${share.memUsage} > MAX ${share.maxMem}`);
            const overcommitCpu = reservedCpu.startsWith('-');
            const overcommitMem = reservedMem.startsWith('-');
            if (!overcommitCpu) assert.ok(share.cpuUsage <= share.totalCpu);
            if (!overcommitMem) assert.ok(share.memUsage <= share.totalMem);
            assert.equal(share.runningVms, placed.length);
            assert.equal(
              share.cpuUsage,
              placed.reduce((s, v) => s + v.cpu, 0),
            );
            assert.equal(
              share.memUsage,
              placed.reduce((s, v) => s + v.mem, 0),
            );
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
