/**
 * In-memory allocation state of address ranges, sized by the leases taken (never by SIZE).
 *
 * The planning functions in leases.ts only read this state and return a LeaseChange (rows to
 * insert, rows to delete, cursors to move). The caller persists the change and then applies it
 * with applyLeaseChange, the one mutator; invertLeaseChange undoes an applied change when the
 * transaction that carried it fails. So decisions are pure and a failed write never leaves the
 * index out of step with the store.
 */
import { NimbusError } from '../errors.js';
import type { LeaseOccupancy } from './address-range.js';
import type { LeaseOwner, LeaseRecord, VnetRecord } from './record.js';
import { SparseBitSet } from './sparse-bitset.js';

export const LEASE_STATE_CONFLICT = 'LEASE_STATE_CONFLICT';

/** The hold owner (VM = -1) is one shared object. */
export const HOLD_OWNER: LeaseOwner = Object.freeze({ kind: 'hold' });

export function sameOwner(a: LeaseOwner, b: LeaseOwner): boolean {
  if (a.kind === 'vm') return b.kind === 'vm' && a.id === b.id && a.nicId === b.nicId;
  if (a.kind === 'vnet') return b.kind === 'vnet' && a.id === b.id;
  return b.kind === 'hold';
}

/**
 * Leases of one address range: a sparse bitset of taken indices (first free / first taken at
 * or after i in O(7) map lookups) plus a Map index -> owner. Memory O(leases).
 */
export class ArLeaseState implements LeaseOccupancy {
  private readonly taken = new SparseBitSet();
  private readonly owners = new Map<number, LeaseOwner>();

  constructor(
    readonly arId: number,
    /** SIZE of the range. */
    public size: number,
    /** Round-robin cursor: the index last handed out (OpenNebula AddressRangeInternal `next`). */
    public next = 0,
  ) {}

  get used(): number {
    return this.owners.size;
  }

  get free(): number {
    return this.size - this.owners.size;
  }

  isFree(index: number): boolean {
    return !this.taken.has(index);
  }

  ownerOf(index: number): LeaseOwner | undefined {
    return this.owners.get(index);
  }

  /**
   * First free index scanning from `from` (inclusive) to the end, then from 0: OpenNebula's
   * get_single_addr. -1 when the range is full.
   */
  firstFreeFrom(from: number): number {
    if (this.owners.size >= this.size) return -1;
    const start = from >= 0 && from < this.size ? from : 0;
    const hit = this.taken.nextClear(start);
    if (hit < this.size) return hit;
    const wrapped = this.taken.nextClear(0);
    return wrapped < start ? wrapped : -1;
  }

  /** First index >= from that is taken, or Infinity. */
  firstTakenFrom(from: number): number {
    return this.taken.nextSet(from);
  }

  hasLeaseAtOrAfter(index: number): boolean {
    return this.taken.nextSet(index) !== Infinity;
  }

  /** True when indices [start, start + count) are inside the range and all free. */
  isRunFree(start: number, count: number): boolean {
    return (
      start >= 0 && count > 0 && start + count <= this.size && this.taken.nextSet(start) >= start + count
    );
  }

  /** Lowest start of `count` consecutive free indices (first fit, as get_range_addr), or -1. */
  firstFreeRun(count: number): number {
    if (count <= 0 || count > this.free) return -1;
    let start = this.taken.nextClear(0);
    while (start + count <= this.size) {
      const end = this.taken.nextSet(start);
      if (end >= start + count) return start;
      start = this.taken.nextClear(end);
    }
    return -1;
  }

  /** Leases in index order. O(leases × 7). */
  *leases(): IterableIterator<[number, LeaseOwner]> {
    for (let i = this.taken.nextSet(0); i !== Infinity; i = this.taken.nextSet(i + 1)) {
      yield [i, this.owners.get(i) as LeaseOwner];
    }
  }

  /** Summary words held by the bitset (for memory checks in tests and benchmarks). */
  get indexWords(): number {
    return this.taken.wordCount;
  }

  /** Mutator used by applyLeaseChange. */
  take(index: number, owner: LeaseOwner): void {
    if (index < 0 || index >= this.size || !Number.isInteger(index)) {
      throw new NimbusError(
        LEASE_STATE_CONFLICT,
        `AR ${this.arId}: lease index ${index} is outside SIZE ${this.size}`,
      );
    }
    if (!this.taken.add(index)) {
      throw new NimbusError(LEASE_STATE_CONFLICT, `AR ${this.arId}: lease index ${index} is already taken`);
    }
    this.owners.set(index, owner.kind === 'hold' ? HOLD_OWNER : owner);
  }

  /** Mutator used by applyLeaseChange. */
  release(index: number): void {
    if (!this.taken.delete(index)) {
      throw new NimbusError(LEASE_STATE_CONFLICT, `AR ${this.arId}: lease index ${index} is not taken`);
    }
    this.owners.delete(index);
  }
}

/** A cursor move; `previous` lets the change be inverted. */
export interface CursorMove {
  readonly arId: number;
  readonly next: number;
  readonly previous: number;
}

/** What an operation does to the leases of one network: the store persists exactly this. */
export interface LeaseChange {
  readonly vnetId: number;
  readonly taken: readonly LeaseRecord[];
  readonly freed: readonly LeaseRecord[];
  readonly cursors: readonly CursorMove[];
}

export function emptyLeaseChange(vnetId: number): LeaseChange {
  return { vnetId, taken: [], freed: [], cursors: [] };
}

/** The leases of every range of one network. */
export class VnetLeases {
  private readonly ranges = new Map<number, ArLeaseState>();

  constructor(readonly vnetId: number) {}

  /** Builds the state from the network's ranges and its lease rows. */
  static fromRecords(vnet: VnetRecord, records: Iterable<LeaseRecord>): VnetLeases {
    const state = new VnetLeases(vnet.id);
    state.syncRanges(vnet);
    for (const lease of records) {
      const ar = state.ranges.get(lease.arId);
      if (ar === undefined) {
        throw new NimbusError(
          LEASE_STATE_CONFLICT,
          `vnet ${vnet.id}: lease for missing address range ${lease.arId}`,
        );
      }
      ar.take(lease.index, lease.owner);
    }
    return state;
  }

  /** Adds states for new ranges, drops removed ones, follows SIZE and cursor changes. */
  syncRanges(vnet: VnetRecord): void {
    const ids = new Set<number>();
    for (const ar of vnet.ars) {
      ids.add(ar.arId);
      const current = this.ranges.get(ar.arId);
      if (current === undefined) {
        this.ranges.set(ar.arId, new ArLeaseState(ar.arId, ar.size, ar.next));
      } else {
        current.size = ar.size;
        current.next = ar.next < ar.size ? ar.next : 0;
      }
    }
    for (const id of [...this.ranges.keys()]) if (!ids.has(id)) this.ranges.delete(id);
  }

  ar(arId: number): ArLeaseState | undefined {
    return this.ranges.get(arId);
  }

  /** Ranges in ascending AR_ID order (the order OpenNebula's std::map tries them in). */
  arsInOrder(): ArLeaseState[] {
    return [...this.ranges.values()].sort((a, b) => a.arId - b.arId);
  }

  get used(): number {
    let n = 0;
    for (const ar of this.ranges.values()) n += ar.used;
    return n;
  }
}

function rangeOf(leases: VnetLeases, arId: number): ArLeaseState {
  const ar = leases.ar(arId);
  if (ar === undefined) {
    throw new NimbusError(LEASE_STATE_CONFLICT, `vnet ${leases.vnetId}: no address range ${arId}`);
  }
  return ar;
}

/** Applies a persisted change to the in-memory state: frees first, then takes, then cursors. */
export function applyLeaseChange(leases: VnetLeases, change: LeaseChange): void {
  if (change.vnetId !== leases.vnetId) {
    throw new NimbusError(
      LEASE_STATE_CONFLICT,
      `change for vnet ${change.vnetId} applied to vnet ${leases.vnetId}`,
    );
  }
  for (const lease of change.freed) rangeOf(leases, lease.arId).release(lease.index);
  for (const lease of change.taken) rangeOf(leases, lease.arId).take(lease.index, lease.owner);
  for (const move of change.cursors) rangeOf(leases, move.arId).next = move.next;
}

/** The change that undoes `change`. */
export function invertLeaseChange(change: LeaseChange): LeaseChange {
  return {
    vnetId: change.vnetId,
    taken: change.freed,
    freed: change.taken,
    cursors: [...change.cursors].reverse().map((m) => ({ arId: m.arId, next: m.previous, previous: m.next })),
  };
}
