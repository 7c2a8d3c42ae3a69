import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  applyLeaseChange,
  leaseAddresses,
  planAddressRangeRemoval,
  planHold,
  planLease,
  planNicRelease,
  planRelease,
  planReservation,
  planReservationReturn,
  sameOwner,
  type LeaseChange,
  type LeaseOwner,
  type VnetLeases,
  type VnetRecord,
} from '../../../src/domain/vnet/index.js';
import { leasesOf, vnetWithArs } from './fixtures.js';

type Op =
  | { kind: 'allocate'; vm: number }
  | { kind: 'specific'; vm: number; ar: number; offset: number }
  | { kind: 'hold'; ar: number; offset: number }
  | { kind: 'release'; ar: number; offset: number }
  | { kind: 'releaseNic'; pick: number }
  | { kind: 'reserve'; size: number; ar: number | null }
  | { kind: 'freeReservation'; pick: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('allocate' as const), vm: fc.nat(50) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('specific' as const),
      vm: fc.nat(50),
      ar: fc.nat(2),
      offset: fc.nat(14),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('hold' as const), ar: fc.nat(2), offset: fc.nat(14) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('release' as const), ar: fc.nat(2), offset: fc.nat(14) }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('releaseNic' as const), pick: fc.nat(1000) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('reserve' as const),
      size: fc.integer({ min: 1, max: 5 }),
      ar: fc.option(fc.nat(2)),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('freeReservation' as const), pick: fc.nat(1000) }) },
);

const ip = (ar: number, offset: number) => `10.${ar}.0.${1 + offset}`;

/** Naive model: index -> owner per AR, cursors, and a linear cyclic scan. */
class Model {
  readonly taken: Map<number, LeaseOwner>[];
  readonly next: number[];
  constructor(readonly sizes: number[]) {
    this.taken = sizes.map(() => new Map());
    this.next = sizes.map(() => 0);
  }
  firstFree(ar: number): number {
    const size = this.sizes[ar]!;
    for (let i = 0, n = this.next[ar]!; i < size; i++, n = (n + 1) % size)
      if (!this.taken[ar]!.has(n)) return n;
    return -1;
  }
}

function checkInvariants(vnet: VnetRecord, leases: VnetLeases, model: Model): void {
  const seen = new Set<string>();
  let total = 0;
  for (const arRec of vnet.ars) {
    const state = leases.ar(arRec.arId)!;
    const list = [...state.leases()];
    assert.equal(state.used, list.length, 'used count equals the leases');
    assert.equal(list.length, model.taken[arRec.arId]!.size, 'same number of leases as the model');
    for (const [index, owner] of list) {
      assert.ok(index >= 0 && index < arRec.size, `index ${index} inside SIZE ${arRec.size}`);
      const expected = model.taken[arRec.arId]!.get(index);
      assert.ok(
        expected !== undefined && sameOwner(owner, expected),
        `lease ${arRec.arId}:${index} as in the model`,
      );
      const a = leaseAddresses(arRec, index);
      for (const address of [a.ip, a.mac]) {
        assert.ok(!seen.has(address!), `address ${address} leased once`);
        seen.add(address!);
      }
    }
    total += list.length;
    assert.equal(state.next, model.next[arRec.arId]);
  }
  assert.equal(leases.used, total);
}

describe('lease operations: properties', () => {
  it('random sequences never double-lease, never leave the range, and match a naive model', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 3 }),
        fc.array(opArb, { maxLength: 80 }),
        (sizes, ops) => {
          const vnet = vnetWithArs(
            sizes.map((size, i) => ({ TYPE: 'IP4', IP: ip(i, 0), SIZE: String(size) })),
          );
          const leases = leasesOf(vnet);
          const model = new Model(sizes);
          const reservations: { childId: number; arId: number; start: number; size: number }[] = [];
          let nextChild = 100;

          for (const op of ops) {
            switch (op.kind) {
              case 'allocate': {
                const owner: LeaseOwner = { kind: 'vm', id: op.vm, nicId: 0 };
                const result = planLease(vnet, leases, { owner });
                const expectedAr = sizes.findIndex((_, i) => model.firstFree(i) >= 0);
                if (expectedAr < 0) {
                  assert.equal(result.ok, false, 'fails only when every range is full');
                  break;
                }
                assert.ok(result.ok);
                const index = model.firstFree(expectedAr);
                assert.deepEqual(
                  [result.value.lease.arId, result.value.lease.index],
                  [expectedAr, index],
                  'same pick as a linear scan',
                );
                applyLeaseChange(leases, result.value.change);
                model.taken[expectedAr]!.set(index, owner);
                model.next[expectedAr] = index;
                break;
              }
              case 'specific':
              case 'hold': {
                const arId = op.ar;
                const inside = arId < sizes.length && op.offset < sizes[arId]!;
                const free = inside && !model.taken[arId]!.has(op.offset);
                const owner: LeaseOwner =
                  op.kind === 'hold' ? { kind: 'hold' } : { kind: 'vm', id: op.vm, nicId: 1 };
                let change: LeaseChange | null = null;
                if (op.kind === 'hold') {
                  const r = planHold(vnet, leases, { LEASES: [{ IP: ip(arId, op.offset) }] });
                  if (r.ok) change = r.value;
                } else {
                  const r = planLease(vnet, leases, { owner, ip: ip(arId, op.offset) });
                  if (r.ok) change = r.value.change;
                }
                assert.equal(
                  change !== null,
                  free,
                  `${op.kind} ${ip(arId, op.offset)} succeeds iff inside and free`,
                );
                if (change !== null) {
                  applyLeaseChange(leases, change);
                  model.taken[arId]!.set(op.offset, owner);
                }
                break;
              }
              case 'release': {
                const arId = op.ar;
                const result = planRelease(vnet, leases, { LEASES: [{ IP: ip(arId, op.offset) }] });
                assert.ok(result.ok);
                const held = arId < sizes.length && model.taken[arId]!.get(op.offset)?.kind === 'hold';
                assert.equal(result.value.freed.length, held ? 1 : 0, 'release frees holds only');
                applyLeaseChange(leases, result.value);
                if (held) {
                  model.taken[arId]!.delete(op.offset);
                  // the released address can be had again
                  assert.ok(
                    planLease(vnet, leases, {
                      owner: { kind: 'vm', id: 999, nicId: 0 },
                      ip: ip(arId, op.offset),
                    }).ok,
                  );
                }
                break;
              }
              case 'releaseNic': {
                const vmLeases = model.taken.flatMap((m, arId) =>
                  [...m].filter(([, o]) => o.kind === 'vm').map(([i, o]) => ({ arId, i, o })),
                );
                if (vmLeases.length === 0) break;
                const pick = vmLeases[op.pick % vmLeases.length]!;
                const mac = leaseAddresses(vnet.ars[pick.arId]!, pick.i).mac;
                const change = planNicRelease(vnet, leases, { arId: pick.arId, mac, owner: pick.o });
                assert.equal(change.freed.length, 1);
                applyLeaseChange(leases, change);
                model.taken[pick.arId]!.delete(pick.i);
                break;
              }
              case 'reserve': {
                const childId = nextChild++;
                const arId = op.ar !== null && op.ar < sizes.length ? op.ar : null;
                const result = planReservation(
                  vnet,
                  leases,
                  { size: op.size, name: 'r', networkId: null, arId, address: null },
                  { vnetId: childId, arId: 0 },
                );
                const candidates = arId === null ? sizes.map((_, i) => i) : [arId];
                const firstFit = (a: number) => {
                  for (let s = 0; s + op.size <= sizes[a]!; s++) {
                    let ok = true;
                    for (let j = s; j < s + op.size; j++) if (model.taken[a]!.has(j)) ok = false;
                    if (ok) return s;
                  }
                  return -1;
                };
                const expected = candidates.map((a) => [a, firstFit(a)] as const).find(([, s]) => s >= 0);
                assert.equal(
                  result.ok,
                  expected !== undefined,
                  'reservation succeeds iff a contiguous run exists',
                );
                if (result.ok && expected !== undefined) {
                  assert.equal(result.value.childAr.parentNetworkArId, expected[0]);
                  assert.deepEqual(result.value.change.taken.map((l) => l.index)[0], expected[1]);
                  applyLeaseChange(leases, result.value.change);
                  for (let j = 0; j < op.size; j++)
                    model.taken[expected[0]]!.set(expected[1] + j, { kind: 'vnet', id: childId });
                  reservations.push({ childId, arId: expected[0], start: expected[1], size: op.size });
                  // the child network can remove its (unused) range and give it back
                  const child: VnetRecord = {
                    ...vnet,
                    id: childId,
                    parentNetworkId: vnet.id,
                    ars: [result.value.childAr],
                  };
                  const removal = planAddressRangeRemoval(child, leasesOf(child), 0);
                  assert.ok(removal.ok && removal.value.returnToParent !== null);
                }
                break;
              }
              case 'freeReservation': {
                if (reservations.length === 0) break;
                const [r] = reservations.splice(op.pick % reservations.length, 1);
                const change = planReservationReturn(vnet, leases, {
                  parentVnetId: vnet.id,
                  parentArId: r!.arId,
                  childVnetId: r!.childId,
                  mac: leaseAddresses(vnet.ars[r!.arId]!, r!.start).mac,
                  size: r!.size,
                });
                assert.equal(change.freed.length, r!.size);
                applyLeaseChange(leases, change);
                for (let j = 0; j < r!.size; j++) model.taken[r!.arId]!.delete(r!.start + j);
                break;
              }
            }
            checkInvariants(vnet, leases, model);
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});
