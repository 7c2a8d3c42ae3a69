/**
 * Lease operations on a virtual network (reference §7.2): take the next free address, take a
 * requested IP / MAC / IP6, hold and release (`LEASES=[IP=x]`), reserve addresses into a
 * reservation network, free a reservation, remove an address range.
 *
 * Every function here is a planner: it reads the network record and its VnetLeases and returns
 * a LeaseChange without touching either (see lease-state.ts for why).
 */
import { fail, ok, type DomainError, type Result } from '../errors.js';
import type { Template } from '../template/types.js';
import { formatMac, macPlus } from './address.js';
import {
  hasIpv4,
  hasStaticIpv6,
  indexOfIp,
  indexOfIp6,
  indexOfMac,
  layoutOf,
  leaseAddresses,
} from './address-range.js';
import {
  emptyLeaseChange,
  HOLD_OWNER,
  sameOwner,
  type ArLeaseState,
  type LeaseChange,
  type VnetLeases,
} from './lease-state.js';
import type { AddressRangeRecord, LeaseOwner, LeaseRecord, VnetRecord } from './record.js';
import { parseCount, singleValue, vectorField, vectorValues } from './template-read.js';

export const NO_FREE_LEASE = 'NO_FREE_LEASE';
export const ADDRESS_UNAVAILABLE = 'ADDRESS_UNAVAILABLE';
export const LEASE_DESCRIPTION_INVALID = 'LEASE_DESCRIPTION_INVALID';
export const RESERVATION_INVALID = 'RESERVATION_INVALID';
export const AR_NOT_FOUND = 'AR_NOT_FOUND';
export const AR_IN_USE = 'AR_IN_USE';
export const VNET_WRONG_STATE = 'VNET_WRONG_STATE';

/** OpenNebula's text when a requested address cannot be had. */
export const ADDRESS_NOT_AVAILABLE_MESSAGE = 'Address is not part of the address range or in use.';

/** VNet STATE names (reference §3.5), for messages. */
const VNET_STATE_NAMES = ['INIT', 'READY', 'LOCK_CREATE', 'LOCK_DELETE', 'DONE', 'ERROR', 'UPDATE_FAILURE'];

type AddressKind = 'MAC' | 'IP' | 'IP6';

/** One requested address. */
export interface AddressRequest {
  readonly kind: AddressKind;
  readonly value: string;
}

function arRecord(vnet: VnetRecord, arId: number): AddressRangeRecord | undefined {
  return vnet.ars.find((ar) => ar.arId === arId);
}

function indexOfAddress(ar: AddressRangeRecord, address: AddressRequest): number | undefined {
  switch (address.kind) {
    case 'MAC':
      return indexOfMac(ar, address.value);
    case 'IP':
      return indexOfIp(ar, address.value);
    case 'IP6':
      return indexOfIp6(ar, address.value);
  }
}

function lease(vnetId: number, arId: number, index: number, owner: LeaseOwner): LeaseRecord {
  return { vnetId, arId, index, owner };
}

/** Ranges of the network paired with their lease state, in ascending AR_ID order. */
function rangesInOrder(vnet: VnetRecord, leases: VnetLeases): [AddressRangeRecord, ArLeaseState][] {
  const out: [AddressRangeRecord, ArLeaseState][] = [];
  for (const state of leases.arsInOrder()) {
    const ar = arRecord(vnet, state.arId);
    if (ar !== undefined) out.push([ar, state]);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// NIC leases
// ---------------------------------------------------------------------------------------------

export interface LeaseRequest {
  readonly owner: LeaseOwner;
  /** At most one of ip, mac, ip6 (the NIC's requested address). */
  readonly ip?: string;
  readonly mac?: string;
  readonly ip6?: string;
}

export interface LeaseGrant {
  readonly change: LeaseChange;
  readonly lease: LeaseRecord;
  readonly ar: AddressRangeRecord;
}

function requestedAddress(req: { ip?: string; mac?: string; ip6?: string }): Result<AddressRequest | null> {
  const given: AddressRequest[] = [];
  if (req.mac !== undefined && req.mac.trim() !== '') given.push({ kind: 'MAC', value: req.mac.trim() });
  if (req.ip !== undefined && req.ip.trim() !== '') given.push({ kind: 'IP', value: req.ip.trim() });
  if (req.ip6 !== undefined && req.ip6.trim() !== '') given.push({ kind: 'IP6', value: req.ip6.trim() });
  if (given.length > 1)
    return fail(LEASE_DESCRIPTION_INVALID, 'Only one attribute MAC, IP or IP6 can be set.');
  return ok(given[0] ?? null);
}

/**
 * A lease for a NIC (VirtualNetwork::nic_attribute). Without an address, ranges are tried in
 * ascending AR_ID order and each scans round-robin from its cursor; the first free address
 * wins. With IP / MAC / IP6, the first range holding that address free wins.
 */
export function planLease(vnet: VnetRecord, leases: VnetLeases, request: LeaseRequest): Result<LeaseGrant> {
  const wanted = requestedAddress(request);
  if (!wanted.ok) return wanted;
  const address = wanted.value;
  for (const [ar, state] of rangesInOrder(vnet, leases)) {
    let index: number;
    if (address === null) {
      index = state.firstFreeFrom(state.next);
      if (index < 0) continue;
    } else {
      const found = indexOfAddress(ar, address);
      if (found === undefined || !state.isFree(found)) continue;
      index = found;
    }
    const taken = lease(vnet.id, ar.arId, index, request.owner);
    const cursors = address === null ? [{ arId: ar.arId, next: index, previous: state.next }] : [];
    return ok({ change: { vnetId: vnet.id, taken: [taken], freed: [], cursors }, lease: taken, ar });
  }
  if (address !== null) return fail(ADDRESS_UNAVAILABLE, ADDRESS_NOT_AVAILABLE_MESSAGE, address.kind);
  return fail(NO_FREE_LEASE, `Cannot get IP/MAC lease from virtual network ${vnet.id}.`);
}

/**
 * Releases the lease a NIC holds (detach, VM done): only when `owner` holds it, as
 * AddressRange::free_addr checks. Releasing something the owner does not hold frees nothing.
 */
export function planNicRelease(
  vnet: VnetRecord,
  leases: VnetLeases,
  nic: { readonly arId: number; readonly mac: string; readonly owner: LeaseOwner },
): LeaseChange {
  const ar = arRecord(vnet, nic.arId);
  const state = leases.ar(nic.arId);
  const index = ar === undefined ? undefined : indexOfMac(ar, nic.mac);
  const owner = index === undefined ? undefined : state?.ownerOf(index);
  if (index === undefined || owner === undefined || !sameOwner(owner, nic.owner))
    return emptyLeaseChange(vnet.id);
  return { vnetId: vnet.id, taken: [], freed: [lease(vnet.id, nic.arId, index, owner)], cursors: [] };
}

// ---------------------------------------------------------------------------------------------
// Hold / release (one.vn.hold, one.vn.release)
// ---------------------------------------------------------------------------------------------

export interface LeaseDescription {
  readonly address: AddressRequest;
  readonly arId: number | null;
}

/** Reads `LEASES = [IP = x]` (or MAC / IP6, optional AR_ID) with OpenNebula's messages. */
export function parseLeaseDescription(template: Template): Result<LeaseDescription> {
  const vector = vectorValues(template, 'LEASES')[0];
  if (vector === undefined) return fail(LEASE_DESCRIPTION_INVALID, 'Empty lease description.');
  const wanted = requestedAddress({
    ip: vectorField(vector, 'IP'),
    mac: vectorField(vector, 'MAC'),
    ip6: vectorField(vector, 'IP6'),
  });
  if (!wanted.ok) return wanted;
  if (wanted.value === null) return fail(LEASE_DESCRIPTION_INVALID, 'Missing MAC, IP or IP6.');
  const arText = vectorField(vector, 'AR_ID');
  let arId: number | null = null;
  if (arText !== undefined) {
    const parsed = parseCount(arText);
    if (parsed === undefined) {
      return fail(
        LEASE_DESCRIPTION_INVALID,
        `LEASES/AR_ID: "${arText}" is not an address range id`,
        'LEASES/AR_ID',
      );
    }
    arId = parsed;
  }
  return ok({ address: wanted.value, arId });
}

/** The ranges a description targets: one AR_ID, or every range in ascending order. */
function targetRanges(
  vnet: VnetRecord,
  leases: VnetLeases,
  arId: number | null,
): [AddressRangeRecord, ArLeaseState][] {
  const all = rangesInOrder(vnet, leases);
  return arId === null ? all : all.filter(([ar]) => ar.arId === arId);
}

/**
 * one.vn.hold: the address becomes a lease owned by VM -1. Without AR_ID every range holding
 * the address free takes the hold (AddressRangePool::hold_by_*); it fails only if none can.
 */
export function planHold(vnet: VnetRecord, leases: VnetLeases, template: Template): Result<LeaseChange> {
  const parsed = parseLeaseDescription(template);
  if (!parsed.ok) return parsed;
  const { address, arId } = parsed.value;
  const taken: LeaseRecord[] = [];
  for (const [ar, state] of targetRanges(vnet, leases, arId)) {
    const index = indexOfAddress(ar, address);
    if (index !== undefined && state.isFree(index)) taken.push(lease(vnet.id, ar.arId, index, HOLD_OWNER));
  }
  if (taken.length === 0)
    return fail(ADDRESS_UNAVAILABLE, ADDRESS_NOT_AVAILABLE_MESSAGE, `LEASES/${address.kind}`);
  return ok({ vnetId: vnet.id, taken, freed: [], cursors: [] });
}

/**
 * one.vn.release: frees the address where it is on hold. Like OpenNebula it succeeds when the
 * address is not on hold (nothing is freed; `change.freed` is empty), and never frees a lease
 * owned by a VM or a reservation.
 */
export function planRelease(vnet: VnetRecord, leases: VnetLeases, template: Template): Result<LeaseChange> {
  const parsed = parseLeaseDescription(template);
  if (!parsed.ok) return parsed;
  const { address, arId } = parsed.value;
  const freed: LeaseRecord[] = [];
  for (const [ar, state] of targetRanges(vnet, leases, arId)) {
    const index = indexOfAddress(ar, address);
    if (index !== undefined && state.ownerOf(index)?.kind === 'hold') {
      freed.push(lease(vnet.id, ar.arId, index, HOLD_OWNER));
    }
  }
  return ok({ vnetId: vnet.id, taken: [], freed, cursors: [] });
}

// ---------------------------------------------------------------------------------------------
// Reservations (one.vn.reserve, one.vn.free_ar)
// ---------------------------------------------------------------------------------------------

export interface ReservationRequest {
  readonly size: number;
  /** Name of a new reservation network (mandatory unless networkId is set). */
  readonly name: string | null;
  /** Add to this existing reservation network instead of creating one. */
  readonly networkId: number | null;
  readonly arId: number | null;
  readonly address: AddressRequest | null;
}

function reservationError(
  message: string,
  field?: string,
): { readonly ok: false; readonly error: DomainError } {
  return fail(RESERVATION_INVALID, message, field);
}

/** Reads a one.vn.reserve template (SIZE, NAME, NETWORK_ID, AR_ID, IP / MAC / IP6). */
export function parseReservationRequest(template: Template): Result<ReservationRequest> {
  const read = (name: string) => {
    const v = singleValue(template, name)?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const sizeText = read('SIZE');
  const size = sizeText === undefined ? undefined : parseCount(sizeText);
  if (size === undefined || size <= 0)
    return reservationError('Reservation SIZE must be a greater than 0', 'SIZE');

  const networkText = read('NETWORK_ID');
  const networkId = networkText === undefined ? null : parseCount(networkText);
  if (networkId === undefined)
    return reservationError('NETWORK_ID must be equal or greater than 0', 'NETWORK_ID');

  const name = read('NAME') ?? null;
  if (name === null && networkId === null)
    return reservationError('NAME for reservation has to be set', 'NAME');

  const arText = read('AR_ID');
  const arId = arText === undefined ? null : parseCount(arText);
  if (arId === undefined) return reservationError('AR_ID must be equal or greater than 0', 'AR_ID');

  const wanted = requestedAddress({ ip: read('IP'), mac: read('MAC'), ip6: read('IP6') });
  if (!wanted.ok) return wanted;
  if (wanted.value !== null && arId === null) {
    return reservationError('AR_ID must be specified for IP/MAC based reservations', 'AR_ID');
  }
  return ok({ size, name, networkId, arId, address: wanted.value });
}

/**
 * Checks the parent and, when adding to an existing reservation, the target network
 * (RequestManagerVirtualNetwork reserve).
 */
export function checkReservationNetworks(parent: VnetRecord, target: VnetRecord | null): Result<true> {
  if (target !== null) {
    if (target.id === parent.id) return reservationError('Cannot add a reservation from the same network');
    if (target.parentNetworkId === null)
      return reservationError('Cannot add reservations to a non-reservation VNET');
    if (target.parentNetworkId !== parent.id) {
      return reservationError(
        `New reservations for virtual network ${target.id} have to be from network ${target.parentNetworkId}`,
      );
    }
  }
  if (parent.parentNetworkId !== null)
    return reservationError('Cannot reserve addresses from a reserved VNET');
  return ok(true);
}

export interface ReservationPlan {
  /** Parent network leases: `size` consecutive addresses owned by the reservation network. */
  readonly change: LeaseChange;
  /** The range to add to the reservation network. */
  readonly childAr: AddressRangeRecord;
}

/**
 * Carves `request.size` consecutive addresses of the parent into a new range of the reservation
 * network `childVnetId` (whose new AR gets `childArId`). Without AR_ID, the first range (in
 * AR_ID order) with a long enough free run wins, first fit from its start; with IP / MAC / IP6
 * the run must start there.
 */
export function planReservation(
  parent: VnetRecord,
  leases: VnetLeases,
  request: ReservationRequest,
  child: { readonly vnetId: number; readonly arId: number },
): Result<ReservationPlan> {
  if (parent.parentNetworkId !== null)
    return reservationError('Cannot reserve addresses from a reserved VNET');
  const missing =
    request.arId === null
      ? 'Not enough free addresses in an address range'
      : `Not enough free addresses in address range ${request.arId}, or it does not exist`;
  for (const [ar, state] of targetRanges(parent, leases, request.arId)) {
    let start: number;
    if (request.address === null) {
      start = state.firstFreeRun(request.size);
    } else {
      const index = indexOfAddress(ar, request.address);
      start = index !== undefined && state.isRunFree(index, request.size) ? index : -1;
    }
    if (start < 0) continue;
    const owner: LeaseOwner = { kind: 'vnet', id: child.vnetId };
    const taken: LeaseRecord[] = [];
    for (let i = 0; i < request.size; i++) taken.push(lease(parent.id, ar.arId, start + i, owner));
    return ok({
      change: { vnetId: parent.id, taken, freed: [], cursors: [] },
      childAr: reservedRange(ar, start, request.size, child.arId),
    });
  }
  return reservationError(missing, request.arId === null ? 'SIZE' : 'AR_ID');
}

/** The child range: a copy of the parent range starting at `start` (AddressRange::reserve_addr). */
function reservedRange(
  parent: AddressRangeRecord,
  start: number,
  size: number,
  arId: number,
): AddressRangeRecord {
  const first = leaseAddresses(parent, start);
  const attributes = { ...parent.attributes };
  delete attributes['IPAM_MAD'];
  return {
    ...parent,
    arId,
    mac: formatMac(macPlus(layoutOf(parent).mac, start)),
    ip: hasIpv4(parent.type) ? (first.ip ?? null) : null,
    ip6: hasStaticIpv6(parent.type) ? (first.ip6 ?? null) : null,
    size,
    parentNetworkArId: parent.arId,
    next: 0,
    attributes,
  };
}

/** Where a removed reservation range goes back to in its parent network. */
export interface ReservationReturn {
  readonly parentVnetId: number;
  readonly parentArId: number;
  readonly childVnetId: number;
  /** First MAC of the child range, and its size: the parent leases to free. */
  readonly mac: string;
  readonly size: number;
}

export interface AddressRangeRemoval {
  readonly arId: number;
  /** With force, the range's own leases are dropped with it. */
  readonly change: LeaseChange;
  /** For a reservation range: the parent leases to free with planReservationReturn. */
  readonly returnToParent: ReservationReturn | null;
}

/**
 * one.vn.rm_ar (and one.vn.free_ar, which is rm_ar without force): refused while the range has
 * leases unless forced, and while the network is neither READY nor UPDATE_FAILURE.
 */
export function planAddressRangeRemoval(
  vnet: VnetRecord,
  leases: VnetLeases,
  arId: number,
  options: { readonly force: boolean } = { force: false },
): Result<AddressRangeRemoval> {
  if (vnet.state !== 1 && vnet.state !== 6) {
    const name = VNET_STATE_NAMES[vnet.state] ?? String(vnet.state);
    return fail(
      VNET_WRONG_STATE,
      `Could not remove Adress Range, Virtual Network is in wrong state: ${name}`,
    );
  }
  const ar = arRecord(vnet, arId);
  const state = leases.ar(arId);
  if (ar === undefined || state === undefined)
    return fail(AR_NOT_FOUND, 'Address Range does not exist', 'AR_ID');
  if (!options.force && state.used > 0) return fail(AR_IN_USE, 'Address Range has leases in use', 'AR_ID');
  const freed: LeaseRecord[] = [];
  for (const [index, owner] of state.leases()) freed.push(lease(vnet.id, arId, index, owner));
  const returnToParent =
    vnet.parentNetworkId !== null && ar.parentNetworkArId !== null
      ? {
          parentVnetId: vnet.parentNetworkId,
          parentArId: ar.parentNetworkArId,
          childVnetId: vnet.id,
          mac: ar.mac,
          size: ar.size,
        }
      : null;
  return ok({ arId, change: { vnetId: vnet.id, taken: [], freed, cursors: [] }, returnToParent });
}

/** Frees, in the parent, the leases a removed reservation range held (free_addr_by_range). */
export function planReservationReturn(
  parent: VnetRecord,
  leases: VnetLeases,
  ret: ReservationReturn,
): LeaseChange {
  const freed: LeaseRecord[] = [];
  const ar = arRecord(parent, ret.parentArId);
  const state = leases.ar(ret.parentArId);
  const start = ar === undefined ? undefined : indexOfMac(ar, ret.mac);
  if (ar !== undefined && state !== undefined && start !== undefined) {
    const owner: LeaseOwner = { kind: 'vnet', id: ret.childVnetId };
    const end = Math.min(start + ret.size, ar.size);
    for (let i = start; i < end; i++) {
      const held = state.ownerOf(i);
      if (held !== undefined && sameOwner(held, owner)) freed.push(lease(parent.id, ar.arId, i, held));
    }
  }
  return { vnetId: parent.id, taken: [], freed, cursors: [] };
}

/** AR_ID for a range added to the network: one more than the highest (0 for the first). */
export function nextArId(vnet: VnetRecord): number {
  return vnet.ars.reduce((max, ar) => Math.max(max, ar.arId + 1), 0);
}
