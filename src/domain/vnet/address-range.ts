/**
 * Address ranges (reference §7.2, §2.6): the definition from an `AR = [...]` vector, the
 * computed fields shown in AR_POOL, the addresses of lease i, and the AR update rules.
 *
 * Lease i of a range: MAC = first MAC + i (low 32 bits), IP = first IP + i, IP6 = first IP6 + i
 * (static types), IP6_LINK/ULA/GLOBAL = prefix + EUI-64(MAC) (SLAAC types).
 */
import { fail, NimbusError, ok, type DomainError, type Result } from '../errors.js';
import type { Template, VectorValue } from '../template/types.js';
import {
  formatIpv4,
  formatIpv6,
  formatMac,
  ipv6NetworkSize,
  isUnicastMac,
  linkLocalAddress,
  macFromIpv4,
  macPlus,
  parseIpv4,
  parseIpv6,
  parseIpv6Prefix64,
  parseMac,
  roomIn32Bits,
  slaacAddress,
  type Mac,
} from './address.js';
import type { AddressRangeRecord, AddressRangeType } from './record.js';
import { parseCount, parseIdList, vectorField } from './template-read.js';

export const AR_INVALID = 'AR_INVALID';
export const AR_CORRUPT = 'AR_CORRUPT';

export const AR_TYPES: readonly AddressRangeType[] = [
  'ETHER',
  'IP4',
  'IP6',
  'IP6_STATIC',
  'IP4_6',
  'IP4_6_STATIC',
];

/** The largest range a MAC low part can hold. */
export const MAX_AR_SIZE = 0x1_0000_0000;
/**
 * Cap for a SIZE derived from PREFIX_LENGTH (IP6_STATIC without SIZE). OpenNebula would derive
 * 2^64 for a /64; a MAC range holds at most 2^32 and a random MAC base needs room, so a derived
 * SIZE stops at 2^24 (as many addresses as an IPv4 /8). Give SIZE explicitly for more.
 */
export const MAX_DERIVED_SIZE = 0x100_0000;

const RANDOM_MAC_ATTEMPTS = 16;

export function hasIpv4(type: AddressRangeType): boolean {
  return type === 'IP4' || type === 'IP4_6' || type === 'IP4_6_STATIC';
}

/** IPv6 by SLAAC: IP6_LINK always, IP6_ULA / IP6_GLOBAL when the prefixes are set. */
export function hasSlaac(type: AddressRangeType): boolean {
  return type === 'IP6' || type === 'IP4_6';
}

/** IPv6 from a first address: IP6 = first IP6 + i. */
export function hasStaticIpv6(type: AddressRangeType): boolean {
  return type === 'IP6_STATIC' || type === 'IP4_6_STATIC';
}

// ---------------------------------------------------------------------------------------------
// Numeric layout of a record (parsed once per record object)
// ---------------------------------------------------------------------------------------------

export interface AddressRangeLayout {
  readonly mac: Mac;
  readonly ip4: number | null;
  readonly ip6: bigint | null;
  readonly ula: bigint | null;
  readonly global: bigint | null;
  readonly portStart: number;
  readonly portSize: number;
}

const layouts = new WeakMap<AddressRangeRecord, AddressRangeLayout>();

function mustParse<T>(ar: AddressRangeRecord, what: string, parsed: Result<T>): T {
  if (parsed.ok) return parsed.value;
  throw new NimbusError(
    AR_CORRUPT,
    `address range ${ar.arId}: stored ${what} is unreadable: ${parsed.error.message}`,
  );
}

/** The parsed addresses of a record; records are immutable, so this is memoised per object. */
export function layoutOf(ar: AddressRangeRecord): AddressRangeLayout {
  const cached = layouts.get(ar);
  if (cached !== undefined) return cached;
  const attr = (name: string) => {
    const v = ar.attributes[name]?.[0];
    return typeof v === 'string' ? parseCount(v.trim()) : undefined;
  };
  const layout: AddressRangeLayout = {
    mac: mustParse(ar, 'MAC', parseMac(ar.mac)),
    ip4: hasIpv4(ar.type) && ar.ip !== null ? mustParse(ar, 'IP', parseIpv4(ar.ip)) : null,
    ip6: hasStaticIpv6(ar.type) && ar.ip6 !== null ? mustParse(ar, 'IP6', parseIpv6(ar.ip6)) : null,
    ula:
      hasSlaac(ar.type) && ar.ulaPrefix !== null
        ? mustParse(ar, 'ULA_PREFIX', parseIpv6(ar.ulaPrefix))
        : null,
    global:
      hasSlaac(ar.type) && ar.globalPrefix !== null
        ? mustParse(ar, 'GLOBAL_PREFIX', parseIpv6(ar.globalPrefix))
        : null,
    portStart: attr('PORT_START') ?? 0,
    portSize: attr('PORT_SIZE') ?? 0,
  };
  layouts.set(ar, layout);
  return layout;
}

// ---------------------------------------------------------------------------------------------
// Addresses of a lease, and the lease of an address
// ---------------------------------------------------------------------------------------------

/** The addresses of lease `index`, as NIC / LEASE attributes carry them. */
export interface LeaseAddresses {
  readonly mac: string;
  readonly ip?: string;
  readonly ip6Link?: string;
  readonly ip6Ula?: string;
  readonly ip6Global?: string;
  readonly ip6?: string;
  /** PORT_START/PORT_SIZE ranges (elastic / nodeport drivers). */
  readonly externalPortRange?: string;
  readonly internalPortRange?: string;
}

export function leaseAddresses(ar: AddressRangeRecord, index: number): LeaseAddresses {
  const l = layoutOf(ar);
  const mac = macPlus(l.mac, index);
  const out: { -readonly [K in keyof LeaseAddresses]: LeaseAddresses[K] } = { mac: formatMac(mac) };
  if (l.ip4 !== null) out.ip = formatIpv4(l.ip4 + index);
  if (hasSlaac(ar.type)) {
    out.ip6Link = formatIpv6(linkLocalAddress(mac));
    if (l.ula !== null) out.ip6Ula = formatIpv6(slaacAddress(l.ula, mac));
    if (l.global !== null) out.ip6Global = formatIpv6(slaacAddress(l.global, mac));
  }
  if (l.ip6 !== null) out.ip6 = formatIpv6(l.ip6 + BigInt(index));
  if (l.portStart > 0 && l.portSize > 0) {
    const first = l.portStart + index * l.portSize + 1;
    out.externalPortRange = `${first}:${first + l.portSize - 1}`;
    out.internalPortRange = `1-${l.portSize}/${first}`;
  }
  return out;
}

/** Index of a MAC in the range, or undefined when it is malformed or outside. */
export function indexOfMac(ar: AddressRangeRecord, text: string): number | undefined {
  const parsed = parseMac(text);
  if (!parsed.ok) return undefined;
  const first = layoutOf(ar).mac;
  if (parsed.value.high !== first.high) return undefined;
  const index = parsed.value.low - first.low;
  return index >= 0 && index < ar.size ? index : undefined;
}

/** Index of an IPv4 address in the range (IPv4 types only). */
export function indexOfIp(ar: AddressRangeRecord, text: string): number | undefined {
  const first = layoutOf(ar).ip4;
  if (first === null) return undefined;
  const parsed = parseIpv4(text);
  if (!parsed.ok) return undefined;
  const index = parsed.value - first;
  return index >= 0 && index < ar.size ? index : undefined;
}

/** Index of an IPv6 address in the range (static IPv6 types only, as in OpenNebula). */
export function indexOfIp6(ar: AddressRangeRecord, text: string): number | undefined {
  const first = layoutOf(ar).ip6;
  if (first === null) return undefined;
  const parsed = parseIpv6(text);
  if (!parsed.ok) return undefined;
  const index = parsed.value - first;
  return index >= 0n && index < BigInt(ar.size) ? Number(index) : undefined;
}

// ---------------------------------------------------------------------------------------------
// Definition from an AR vector
// ---------------------------------------------------------------------------------------------

export interface AddressRangeContext {
  /** AR_ID to give the range (0.. in template order; max + 1 for one.vn.add_ar). */
  readonly arId: number;
  /** oned.conf MAC_PREFIX as a 16-bit number (address.ts DEFAULT_MAC_PREFIX). */
  readonly macPrefix: number;
  /** Injected randomness: an unsigned 32-bit integer per call, for MACs of non-IPv4 ranges. */
  readonly random32: () => number;
  /** Field prefix in error messages; default `AR[<arId>]`. */
  readonly field?: string;
  /** The other ranges of the same network, which this one must not overlap. */
  readonly existing?: readonly AddressRangeRecord[];
}

/** Attributes kept in record fields rather than in `attributes`. */
const RECORD_KEYS = new Set([
  'TYPE',
  'SIZE',
  'MAC',
  'IP',
  'IP6',
  'PREFIX_LENGTH',
  'GLOBAL_PREFIX',
  'ULA_PREFIX',
  'AR_ID',
  'PARENT_NETWORK_AR_ID',
]);
/** Internal and computed attributes: never taken from input (from_vattr removes them). */
const DROPPED_KEYS = new Set([
  'ALLOCATED',
  'USED_LEASES',
  'LEASES',
  'PARENT_NETWORK',
  'MAC_END',
  'IP_END',
  'IP6_END',
  'IP6_ULA',
  'IP6_ULA_END',
  'IP6_GLOBAL',
  'IP6_GLOBAL_END',
]);

function arError(
  field: string,
  name: string,
  text: string,
): { readonly ok: false; readonly error: DomainError } {
  return fail(AR_INVALID, `${field}/${name}: ${text}`, `${field}/${name}`);
}

function parseArType(text: string | undefined): AddressRangeType | undefined {
  const upper = text?.toUpperCase();
  return AR_TYPES.find((t) => t === upper);
}

function parseSize(text: string): number | undefined {
  const n = parseCount(text);
  return n !== undefined && n > 0 ? n : undefined;
}

/** Everything that is neither a record field nor internal: GATEWAY, DNS, SECURITY_GROUPS ... */
function otherAttributes(
  vector: VectorValue,
  field: string,
  skip: ReadonlySet<string> = RECORD_KEYS,
): Result<Record<string, string[]>> {
  const attributes: Record<string, string[]> = {};
  for (const name of Object.keys(vector).sort()) {
    if (skip.has(name) || DROPPED_KEYS.has(name)) continue;
    const value = vector[name] as string;
    const trimmed = value.trim();
    if (
      (name === 'PORT_START' || name === 'PORT_SIZE') &&
      trimmed !== '' &&
      parseCount(trimmed) === undefined
    ) {
      return arError(field, name, 'must be a non-negative integer');
    }
    if (name === 'SECURITY_GROUPS' && parseIdList(trimmed) === undefined) {
      return arError(field, name, `"${value}" is not a comma-separated list of security group ids`);
    }
    if (name === 'IPAM_MAD' && trimmed !== '' && trimmed !== 'internal') {
      return arError(field, name, `external IPAM driver "${trimmed}" is not supported (only "internal")`);
    }
    attributes[name] = [value];
  }
  return ok(attributes);
}

interface Span {
  readonly first: bigint;
  readonly last: bigint;
}

function overlaps(a: Span, b: Span): boolean {
  return a.first <= b.last && b.first <= a.last;
}

function macSpan(mac: Mac, size: number): Span {
  const first = (BigInt(mac.high) << 32n) | BigInt(mac.low);
  return { first, last: first + BigInt(size - 1) };
}

function macRangeText(mac: Mac, size: number): string {
  return `${formatMac(mac)}-${formatMac(macPlus(mac, size - 1))}`;
}

/** Checks against the other ranges of the network; IPv4 first, so the message names the IP. */
function checkOverlaps(
  field: string,
  mac: Mac,
  ip4: number | null,
  ip6: bigint | null,
  size: number,
  existing: readonly AddressRangeRecord[],
): Result<true> {
  for (const other of existing) {
    const o = layoutOf(other);
    if (ip4 !== null && o.ip4 !== null) {
      const mine = { first: BigInt(ip4), last: BigInt(ip4 + size - 1) };
      if (overlaps(mine, { first: BigInt(o.ip4), last: BigInt(o.ip4 + other.size - 1) })) {
        return arError(
          field,
          'IP',
          `${formatIpv4(ip4)}-${formatIpv4(ip4 + size - 1)} overlaps address range ${other.arId} ` +
            `(${formatIpv4(o.ip4)}-${formatIpv4(o.ip4 + other.size - 1)})`,
        );
      }
    }
    if (ip6 !== null && o.ip6 !== null) {
      const mine = { first: ip6, last: ip6 + BigInt(size - 1) };
      const theirs = { first: o.ip6, last: o.ip6 + BigInt(other.size - 1) };
      if (overlaps(mine, theirs)) {
        return arError(
          field,
          'IP6',
          `${formatIpv6(mine.first)}-${formatIpv6(mine.last)} overlaps address range ${other.arId} ` +
            `(${formatIpv6(theirs.first)}-${formatIpv6(theirs.last)})`,
        );
      }
    }
    if (overlaps(macSpan(mac, size), macSpan(o.mac, other.size))) {
      return arError(
        field,
        'MAC',
        `${macRangeText(mac, size)} overlaps the MACs of address range ${other.arId} (${macRangeText(o.mac, other.size)})`,
      );
    }
  }
  return ok(true);
}

function macCollides(mac: Mac, size: number, existing: readonly AddressRangeRecord[]): boolean {
  return existing.some((other) => overlaps(macSpan(mac, size), macSpan(layoutOf(other).mac, other.size)));
}

/** Addresses from `first` to the end of its /prefixLength network. */
function ip6RoomInNetwork(first: bigint, prefixLength: number): bigint {
  const net = ipv6NetworkSize(prefixLength);
  return net - (first & (net - 1n));
}

/**
 * Validates an `AR = [...]` vector (reference §7.2 table) and returns the range to store.
 * Errors name the field: `AR[0]/SIZE: must be a positive integer`.
 */
export function defineAddressRange(
  vector: VectorValue,
  ctx: AddressRangeContext,
): Result<AddressRangeRecord> {
  const field = ctx.field ?? `AR[${ctx.arId}]`;
  const existing = ctx.existing ?? [];

  const typeText = vectorField(vector, 'TYPE');
  const type = parseArType(typeText);
  if (type === undefined) {
    const known = AR_TYPES.join(', ');
    return typeText === undefined
      ? arError(field, 'TYPE', `is mandatory (one of ${known})`)
      : arError(field, 'TYPE', `"${typeText}" is not an address range TYPE (one of ${known})`);
  }

  // ---- IPv4 start
  let ip4: number | null = null;
  if (hasIpv4(type)) {
    const text = vectorField(vector, 'IP');
    if (text === undefined) return arError(field, 'IP', `is mandatory for TYPE ${type}`);
    const parsed = parseIpv4(text);
    if (!parsed.ok) return arError(field, 'IP', parsed.error.message);
    ip4 = parsed.value;
  }

  // ---- SLAAC prefixes
  let ula: bigint | null = null;
  let global: bigint | null = null;
  if (hasSlaac(type)) {
    for (const name of ['ULA_PREFIX', 'GLOBAL_PREFIX'] as const) {
      const text = vectorField(vector, name);
      if (text === undefined) continue;
      const parsed = parseIpv6Prefix64(text);
      if (!parsed.ok) return arError(field, name, parsed.error.message);
      if (name === 'ULA_PREFIX') ula = parsed.value;
      else global = parsed.value;
    }
  }

  // ---- static IPv6 start and prefix length
  let ip6: bigint | null = null;
  let prefixLength: number | null = null;
  if (hasStaticIpv6(type)) {
    const text = vectorField(vector, 'IP6');
    if (text === undefined) return arError(field, 'IP6', `is mandatory for TYPE ${type}`);
    const parsed = parseIpv6(text);
    if (!parsed.ok) return arError(field, 'IP6', parsed.error.message);
    ip6 = parsed.value;
    const plText = vectorField(vector, 'PREFIX_LENGTH');
    if (plText === undefined) return arError(field, 'PREFIX_LENGTH', `is mandatory for TYPE ${type}`);
    const pl = parseCount(plText);
    if (pl === undefined || pl < 1 || pl > 128) {
      return arError(field, 'PREFIX_LENGTH', `must be an integer from 1 to 128, got "${plText}"`);
    }
    prefixLength = pl;
  }

  // ---- explicit MAC
  let mac: Mac | null = null;
  const macText = vectorField(vector, 'MAC');
  if (macText !== undefined) {
    const parsed = parseMac(macText);
    if (!parsed.ok) return arError(field, 'MAC', parsed.error.message);
    if (!isUnicastMac(parsed.value)) {
      return arError(
        field,
        'MAC',
        `${formatMac(parsed.value)} is a multicast MAC (bit 0x01 of the first octet is set)`,
      );
    }
    mac = parsed.value;
  }

  // ---- SIZE (derived from PREFIX_LENGTH for static IPv6 when absent)
  const sizeText = vectorField(vector, 'SIZE');
  const macRoom = mac !== null ? roomIn32Bits(mac.low) : ip4 !== null ? roomIn32Bits(ip4) : MAX_AR_SIZE;
  const ipv4Room = ip4 !== null ? roomIn32Bits(ip4) : MAX_AR_SIZE;
  const ip6Room =
    ip6 !== null && prefixLength !== null ? ip6RoomInNetwork(ip6, prefixLength) : BigInt(MAX_AR_SIZE);
  let size: number;
  if (sizeText === undefined) {
    if (!hasStaticIpv6(type))
      return arError(field, 'SIZE', `is mandatory for TYPE ${type} (a positive integer)`);
    const room = ip6Room < BigInt(MAX_DERIVED_SIZE) ? Number(ip6Room) : MAX_DERIVED_SIZE;
    size = Math.min(room, ipv4Room, macRoom);
  } else {
    const parsed = parseSize(sizeText);
    if (parsed === undefined) return arError(field, 'SIZE', 'must be a positive integer');
    if (parsed > MAX_AR_SIZE) {
      return arError(field, 'SIZE', `must be at most ${MAX_AR_SIZE} (the 32-bit low part of a MAC)`);
    }
    size = parsed;
    if (ip4 !== null && size > ipv4Room) {
      return arError(
        field,
        'SIZE',
        `${size} addresses from IP ${formatIpv4(ip4)} run past 255.255.255.255 (at most ${ipv4Room} fit)`,
      );
    }
    if (ip6 !== null && BigInt(size) > ip6Room) {
      const last = ip6 + ip6Room - 1n;
      return arError(
        field,
        'SIZE',
        `${size} addresses from IP6 ${formatIpv6(ip6)} run past the end of its /${prefixLength} network ` +
          `${formatIpv6(last)} (at most ${ip6Room} fit)`,
      );
    }
    if (mac !== null && size > macRoom) {
      return arError(
        field,
        'SIZE',
        `${size} addresses from MAC ${formatMac(mac)} run past ${formatMac({ high: mac.high, low: 0xffffffff })} ` +
          `(at most ${macRoom} fit)`,
      );
    }
  }

  // ---- MAC when absent: the IPv4 address, or random low 32 bits that fit and do not collide
  if (mac === null) {
    if (ip4 !== null) {
      mac = macFromIpv4(ctx.macPrefix, ip4);
    } else {
      const span = MAX_AR_SIZE - size + 1;
      for (let attempt = 0; attempt < RANDOM_MAC_ATTEMPTS && mac === null; attempt++) {
        const candidate: Mac = { high: ctx.macPrefix & 0xffff, low: (ctx.random32() >>> 0) % span };
        if (!macCollides(candidate, size, existing)) mac = candidate;
      }
      if (mac === null) {
        return arError(
          field,
          'MAC',
          'no random MAC range of this SIZE avoids the other ranges; set MAC explicitly',
        );
      }
    }
  }

  const overlap = checkOverlaps(field, mac, ip4, ip6, size, existing);
  if (!overlap.ok) return overlap;

  const others = otherAttributes(vector, field);
  if (!others.ok) return others;

  return ok({
    arId: ctx.arId,
    type,
    mac: formatMac(mac),
    ip: ip4 === null ? null : formatIpv4(ip4),
    size,
    globalPrefix: global === null ? null : formatIpv6(global),
    ulaPrefix: ula === null ? null : formatIpv6(ula),
    ip6: ip6 === null ? null : formatIpv6(ip6),
    prefixLength,
    parentNetworkArId: null,
    next: 0,
    attributes: others.value,
  });
}

// ---------------------------------------------------------------------------------------------
// Update (one.vn.update_ar)
// ---------------------------------------------------------------------------------------------

/** What an update needs to know about the leases of the range. */
export interface LeaseOccupancy {
  /** True when some lease has an index >= `index`. */
  hasLeaseAtOrAfter(index: number): boolean;
}

export interface AddressRangeUpdateContext {
  readonly leases: LeaseOccupancy;
  /** The network is a reservation (its SIZE is fixed). */
  readonly isReservation: boolean;
  readonly field?: string;
}

/**
 * one.vn.update_ar with OpenNebula's replace semantics: the vector replaces the range's
 * attributes, except TYPE, MAC, IP, IP6, AR_ID, PARENT_NETWORK_AR_ID and IPAM_MAD, which keep
 * their values. SIZE may change (never for a reservation, never cutting off a used lease);
 * GLOBAL_PREFIX / ULA_PREFIX (SLAAC types; absent = removed) and PREFIX_LENGTH (static types;
 * absent = kept) may change; everything else (GATEWAY, DNS, SECURITY_GROUPS ...) is replaced.
 */
export function updateAddressRange(
  ar: AddressRangeRecord,
  vector: VectorValue,
  ctx: AddressRangeUpdateContext,
): Result<AddressRangeRecord> {
  const field = ctx.field ?? `AR[${ar.arId}]`;
  const l = layoutOf(ar);

  let prefixLength = ar.prefixLength;
  if (hasStaticIpv6(ar.type)) {
    const plText = vectorField(vector, 'PREFIX_LENGTH');
    if (plText !== undefined) {
      const pl = parseCount(plText);
      if (pl === undefined || pl < 1 || pl > 128) {
        return arError(field, 'PREFIX_LENGTH', `must be an integer from 1 to 128, got "${plText}"`);
      }
      prefixLength = pl;
    }
  }

  let size = ar.size;
  const sizeText = vectorField(vector, 'SIZE');
  if (sizeText !== undefined) {
    const parsed = parseSize(sizeText);
    if (parsed === undefined) return arError(field, 'SIZE', 'must be a positive integer');
    if (ctx.isReservation && parsed !== ar.size) {
      return fail(AR_INVALID, 'The SIZE of a reservation cannot be changed.', `${field}/SIZE`);
    }
    if (ctx.leases.hasLeaseAtOrAfter(parsed)) {
      return fail(
        AR_INVALID,
        'New SIZE cannot be applied. There are used leases that would fall outside the range.',
        `${field}/SIZE`,
      );
    }
    size = parsed;
  }
  const ip6Room =
    l.ip6 !== null && prefixLength !== null ? ip6RoomInNetwork(l.ip6, prefixLength) : BigInt(MAX_AR_SIZE);
  const room = Math.min(
    roomIn32Bits(l.mac.low),
    l.ip4 !== null ? roomIn32Bits(l.ip4) : MAX_AR_SIZE,
    ip6Room < BigInt(MAX_AR_SIZE) ? Number(ip6Room) : MAX_AR_SIZE,
  );
  if (size > room) {
    return arError(
      field,
      'SIZE',
      `${size} addresses do not fit from the start of the range (at most ${room})`,
    );
  }

  let globalPrefix: string | null = null;
  let ulaPrefix: string | null = null;
  if (hasSlaac(ar.type)) {
    for (const name of ['ULA_PREFIX', 'GLOBAL_PREFIX'] as const) {
      const text = vectorField(vector, name);
      if (text === undefined) continue;
      const parsed = parseIpv6Prefix64(text);
      if (!parsed.ok) return arError(field, name, parsed.error.message);
      if (name === 'ULA_PREFIX') ulaPrefix = formatIpv6(parsed.value);
      else globalPrefix = formatIpv6(parsed.value);
    }
  }

  const keep = new Set([...RECORD_KEYS, 'IPAM_MAD']);
  const others = otherAttributes(vector, field, keep);
  if (!others.ok) return others;
  const attributes: Record<string, string[]> = { ...others.value };
  const ipam = ar.attributes['IPAM_MAD'];
  if (ipam !== undefined) attributes['IPAM_MAD'] = ipam.filter((v): v is string => typeof v === 'string');

  return ok({
    ...ar,
    size,
    globalPrefix,
    ulaPrefix,
    prefixLength,
    next: ar.next >= size ? 0 : ar.next,
    attributes,
  });
}

// ---------------------------------------------------------------------------------------------
// Rendering (AR_POOL/AR) and attribute lookup
// ---------------------------------------------------------------------------------------------

function firstString(values: Template[string] | undefined): string | undefined {
  for (const v of values ?? []) if (typeof v === 'string') return v;
  return undefined;
}

/** The stored attributes of a range, alphabetically, as AR_POOL/AR lists them. */
export function addressRangeAttributes(ar: AddressRangeRecord): [string, string][] {
  const entries = new Map<string, string>();
  entries.set('AR_ID', String(ar.arId));
  entries.set('TYPE', ar.type);
  entries.set('MAC', ar.mac);
  entries.set('SIZE', String(ar.size));
  if (ar.ip !== null) entries.set('IP', ar.ip);
  if (ar.ip6 !== null) entries.set('IP6', ar.ip6);
  if (ar.prefixLength !== null) entries.set('PREFIX_LENGTH', String(ar.prefixLength));
  if (ar.globalPrefix !== null) entries.set('GLOBAL_PREFIX', ar.globalPrefix);
  if (ar.ulaPrefix !== null) entries.set('ULA_PREFIX', ar.ulaPrefix);
  if (ar.parentNetworkArId !== null) entries.set('PARENT_NETWORK_AR_ID', String(ar.parentNetworkArId));
  for (const name of Object.keys(ar.attributes)) {
    if (entries.has(name)) continue;
    const value = firstString(ar.attributes[name]);
    if (value !== undefined) entries.set(name, value);
  }
  return [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Computed fields, in OpenNebula's order: MAC_END, IP_END, IP6_ULA(_END), IP6_GLOBAL(_END), IP6_END. */
export function addressRangeComputed(ar: AddressRangeRecord): [string, string][] {
  const l = layoutOf(ar);
  const last = ar.size - 1;
  const lastMac = macPlus(l.mac, last);
  const out: [string, string][] = [['MAC_END', formatMac(lastMac)]];
  if (l.ip4 !== null) out.push(['IP_END', formatIpv4(l.ip4 + last)]);
  if (hasSlaac(ar.type)) {
    if (l.ula !== null) {
      out.push(['IP6_ULA', formatIpv6(slaacAddress(l.ula, l.mac))]);
      out.push(['IP6_ULA_END', formatIpv6(slaacAddress(l.ula, lastMac))]);
    }
    if (l.global !== null) {
      out.push(['IP6_GLOBAL', formatIpv6(slaacAddress(l.global, l.mac))]);
      out.push(['IP6_GLOBAL_END', formatIpv6(slaacAddress(l.global, lastMac))]);
    }
  }
  if (l.ip6 !== null) out.push(['IP6_END', formatIpv6(l.ip6 + BigInt(last))]);
  return out;
}

/** An AR as AR_POOL shows it: stored attributes, computed fields, USED_LEASES. */
export function renderAddressRange(ar: AddressRangeRecord, usedLeases: number): [string, string][] {
  return [...addressRangeAttributes(ar), ...addressRangeComputed(ar), ['USED_LEASES', String(usedLeases)]];
}

/** One attribute of a range (stored field or extra attribute), or undefined. */
export function addressRangeAttribute(ar: AddressRangeRecord, name: string): string | undefined {
  const hit = addressRangeAttributes(ar).find(([n]) => n === name);
  return hit?.[1];
}
