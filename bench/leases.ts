/**
 * Lease allocation on a /8 (SIZE 16,777,216): the sparse lease index of src/domain/vnet against
 * a naive bitmap of the whole range scanned from index 0 for the first free address.
 *
 *   node --import tsx bench/leases.ts          (make bench B=leases adds --expose-gc)
 *
 * Human-readable lines, then one JSON object as the last line.
 */
import { performance } from 'node:perf_hooks';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import {
  applyLeaseChange,
  DEFAULT_MAC_PREFIX,
  defineVnet,
  leaseAddresses,
  planLease,
  planNicRelease,
  VnetLeases,
  type LeaseOwner,
  type VnetRecord,
} from '../src/domain/vnet/index.js';

const RANGE_8 = 16_777_216;
const RANGE_16 = 65_536;
const LEASES = 200_000;
const NAIVE_LEASES = 20_000;
const MEMORY_LEASES = 50_000;

function collectGarbage(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed !== undefined) return exposed;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}
const gc = collectGarbage();

function heapUsed(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

function xorshift32(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>>= 0);
  };
}

function network(size: number): VnetRecord {
  const def = defineVnet(
    { NAME: ['bench'], VN_MAD: ['bridge'], AR: [{ TYPE: 'IP4', IP: '10.0.0.0', SIZE: String(size) }] },
    { vnetId: 0, macPrefix: DEFAULT_MAC_PREFIX, random32: xorshift32(1) },
  );
  if (!def.ok) throw new Error(def.error.message);
  const d = def.value;
  return {
    id: 0,
    uid: 0,
    gid: 0,
    name: d.name,
    permissions: 0o600,
    lock: null,
    template: d.template,
    version: 0,
    clusters: [0],
    bridge: d.bridge,
    bridgeType: d.bridgeType,
    state: 1,
    prevState: 0,
    parentNetworkId: null,
    vnMad: d.vnMad,
    phydev: d.phydev,
    vlanId: d.vlanId,
    outerVlanId: d.outerVlanId,
    vlanIdAutomatic: false,
    outerVlanIdAutomatic: false,
    ars: d.ars,
  };
}

function allocate(vnet: VnetRecord, leases: VnetLeases, count: number, firstVm: number): LeaseOwner[] {
  const owners: LeaseOwner[] = [];
  for (let i = 0; i < count; i++) {
    const owner: LeaseOwner = { kind: 'vm', id: firstVm + i, nicId: 0 };
    const grant = planLease(vnet, leases, { owner });
    if (!grant.ok) throw new Error(grant.error.message);
    applyLeaseChange(leases, grant.value.change);
    owners.push(owner);
  }
  return owners;
}

/** Releases a random half of indices [0, count); returns how many. */
function releaseHalf(vnet: VnetRecord, leases: VnetLeases, owners: LeaseOwner[], seed: number): number {
  const ar = vnet.ars[0]!;
  const random = xorshift32(seed);
  let released = 0;
  for (let i = 0; i < owners.length; i++) {
    if ((random() & 1) === 0) continue;
    const change = planNicRelease(vnet, leases, {
      arId: 0,
      mac: leaseAddresses(ar, i).mac,
      owner: owners[i]!,
    });
    if (change.freed.length !== 1) throw new Error(`lease ${i} was not released`);
    applyLeaseChange(leases, change);
    released++;
  }
  return released;
}

function time<T>(run: () => T): [T, number] {
  const start = performance.now();
  const result = run();
  return [result, (performance.now() - start) / 1000];
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const us = (seconds: number, ops: number) => ((seconds / ops) * 1e6).toFixed(2);

// ---- warm-up (JIT), not measured
{
  const vnet = network(RANGE_16);
  const leases = VnetLeases.fromRecords(vnet, []);
  releaseHalf(vnet, leases, allocate(vnet, leases, 20_000, 0), 3);
  allocate(vnet, leases, 5_000, 50_000);
}

// ---- sparse index on a /8
const vnet8 = network(RANGE_8);
const leases8 = VnetLeases.fromRecords(vnet8, []);
const [owners, allocSeconds] = time(() => allocate(vnet8, leases8, LEASES, 0));
const [released, releaseSeconds] = time(() => releaseHalf(vnet8, leases8, owners, 7));
const [, reallocSeconds] = time(() => allocate(vnet8, leases8, released, LEASES));
const state8 = leases8.ar(0)!;
console.log(`sparse index, IP4 range of ${fmt(RANGE_8)} addresses (/8):`);
console.log(
  `  allocate ${fmt(LEASES)} leases    ${fmt(LEASES / allocSeconds)} ops/s (${us(allocSeconds, LEASES)} µs/op)`,
);
console.log(
  `  release  ${fmt(released)} at random ${fmt(released / releaseSeconds)} ops/s (${us(releaseSeconds, released)} µs/op)`,
);
console.log(
  `  allocate ${fmt(released)} again     ${fmt(released / reallocSeconds)} ops/s (${us(reallocSeconds, released)} µs/op)`,
);
console.log(
  `  state: ${fmt(state8.used)} leases, ${fmt(state8.indexWords)} bitset words, cursor at index ${fmt(state8.next)}`,
);

// ---- the index alone (no LeaseRecord / MAC text): ArLeaseState.firstFreeFrom + take, release
{
  const vnet = network(RANGE_8);
  const state = VnetLeases.fromRecords(vnet, []).ar(0)!;
  const owner: LeaseOwner = { kind: 'hold' };
  const [, takeSeconds] = time(() => {
    for (let i = 0; i < LEASES; i++) {
      state.next = state.firstFreeFrom(state.next);
      state.take(state.next, owner);
    }
  });
  const random = xorshift32(5);
  let n = 0;
  const [, freeSeconds] = time(() => {
    for (let i = 0; i < LEASES; i++) {
      if ((random() & 1) === 0) continue;
      state.release(i);
      n++;
    }
  });
  console.log(
    `  index alone: take ${fmt(LEASES / takeSeconds)} ops/s (${us(takeSeconds, LEASES)} µs/op), ` +
      `release ${fmt(n / freeSeconds)} ops/s (${us(freeSeconds, n)} µs/op)`,
  );
}

// ---- hole filling: a range exactly LEASES long, full, half released, refilled through the wrap
const vnetTight = network(LEASES);
const leasesTight = VnetLeases.fromRecords(vnetTight, []);
const ownersTight = allocate(vnetTight, leasesTight, LEASES, 0);
const releasedTight = releaseHalf(vnetTight, leasesTight, ownersTight, 11);
const [, refillSeconds] = time(() => allocate(vnetTight, leasesTight, releasedTight, LEASES));
console.log(
  `  refill ${fmt(releasedTight)} scattered holes of a full ${fmt(LEASES)}-address range: ` +
    `${fmt(releasedTight / refillSeconds)} ops/s (${us(refillSeconds, releasedTight)} µs/op)`,
);

// ---- naive baseline: whole-range bitmap, first free scanned from index 0
const naive = new Uint8Array(RANGE_8);
const naiveAlloc = () => {
  let i = 0;
  while (naive[i] === 1) i++;
  naive[i] = 1;
  return i;
};
const [, naiveSeconds] = time(() => {
  for (let n = 0; n < NAIVE_LEASES; n++) naiveAlloc();
});
const naiveRandom = xorshift32(7);
let naiveReleased = 0;
const [, naiveReleaseSeconds] = time(() => {
  for (let i = 0; i < NAIVE_LEASES; i++) {
    if ((naiveRandom() & 1) === 0) continue;
    naive[i] = 0;
    naiveReleased++;
  }
});
// the same scan once LEASES addresses are taken: the per-op cost at equal occupancy
naive.fill(1, 0, LEASES);
const NAIVE_AT_N = 1_000;
const [, naiveAtNSeconds] = time(() => {
  for (let n = 0; n < NAIVE_AT_N; n++) naiveAlloc();
});
const naiveOps = NAIVE_LEASES / naiveSeconds;
const allocOps = LEASES / allocSeconds;
console.log(
  `naive bitmap of ${fmt(RANGE_8)} bytes, first free scanned from 0 (only ${fmt(NAIVE_LEASES)} leases: it is O(n) per op):`,
);
console.log(
  `  allocate ${fmt(NAIVE_LEASES)} leases    ${fmt(naiveOps)} ops/s (${us(naiveSeconds, NAIVE_LEASES)} µs/op)`,
);
console.log(`  release  ${fmt(naiveReleased)} at random ${fmt(naiveReleased / naiveReleaseSeconds)} ops/s`);
console.log(
  `  allocate with ${fmt(LEASES)} taken   ${fmt(NAIVE_AT_N / naiveAtNSeconds)} ops/s ` +
    `(${us(naiveAtNSeconds, NAIVE_AT_N)} µs/op; ratio at equal occupancy ${(allocOps / (NAIVE_AT_N / naiveAtNSeconds)).toFixed(0)}x)`,
);
console.log(
  `  ratio sparse/naive allocate: ${(allocOps / naiveOps).toFixed(1)}x (naive averaged over its first ${fmt(NAIVE_LEASES)})`,
);

// ---- memory: the same number of leases on a /8 and on a /16
function leaseHeapMb(size: number): number {
  const vnet = network(size);
  const before = heapUsed();
  const leases = VnetLeases.fromRecords(vnet, []);
  allocate(vnet, leases, MEMORY_LEASES, 0);
  const after = heapUsed();
  if (leases.used !== MEMORY_LEASES) throw new Error('lost leases');
  return (after - before) / 2 ** 20;
}
const heap8 = leaseHeapMb(RANGE_8);
const heap16 = leaseHeapMb(RANGE_16);
console.log(`memory for ${fmt(MEMORY_LEASES)} leases (heapUsed delta after GC):`);
console.log(`  /8  (${fmt(RANGE_8)} addresses): ${heap8.toFixed(2)} MB`);
console.log(`  /16 (${fmt(RANGE_16)} addresses): ${heap16.toFixed(2)} MB`);
console.log(
  `  about ${((heap8 * 2 ** 20) / MEMORY_LEASES).toFixed(0)} bytes per lease; the naive bitmap alone is ${fmt(RANGE_8 / 2 ** 20)} MB for a /8`,
);

const round = (n: number, digits = 0) => Number(n.toFixed(digits));
console.log(
  JSON.stringify({
    bench: 'leases',
    range_size: RANGE_8,
    leases: LEASES,
    alloc_ops_per_s: round(allocOps),
    release_ops_per_s: round(released / releaseSeconds),
    naive_alloc_ops_per_s: round(naiveOps),
    ratio_vs_naive: round(allocOps / naiveOps, 1),
    heap_mb_8: round(heap8, 2),
    heap_mb_16: round(heap16, 2),
  }),
);
