/**
 * Address arithmetic for virtual networks (reference §7.2): IPv4, MAC, IPv6, the MAC-from-IPv4
 * rule and the modified EUI-64 interface id used for SLAAC addresses.
 *
 * Representations: an IPv4 address is an unsigned 32-bit number, a MAC is a 16-bit prefix plus
 * an unsigned 32-bit low part (as OpenNebula stores it, so "first MAC + i" is plain addition on
 * `low`), an IPv6 address is a 128-bit bigint.
 */
import { fail, ok, type Result } from '../errors.js';

export const ADDRESS_INVALID = 'ADDRESS_INVALID';

/** oned.conf MAC_PREFIX default. */
export const DEFAULT_MAC_PREFIX = 0x0200;
/** What OpenNebula falls back to when MAC_PREFIX is malformed ("00:01"). */
export const FALLBACK_MAC_PREFIX = 0x0001;

const TWO_32 = 0x1_0000_0000;

// ---------------------------------------------------------------------------------------------
// IPv4
// ---------------------------------------------------------------------------------------------

/** Strict dotted quad: four decimal octets 0-255, no leading zeros (inet_aton reads 010 as 8). */
export function parseIpv4(text: string): Result<number> {
  const parts = text.split('.');
  const bad = (why: string) => fail(ADDRESS_INVALID, `"${text}" is not an IPv4 address (${why})`);
  if (parts.length !== 4) return bad(`expected 4 dot-separated octets, got ${parts.length}`);
  let value = 0;
  for (const part of parts) {
    if (!/^[0-9]{1,3}$/.test(part)) {
      return bad(part === '' ? 'empty octet' : `octet "${part}" is not a decimal number 0-255`);
    }
    if (part.length > 1 && part.startsWith('0')) return bad(`octet "${part}" has a leading zero`);
    const octet = Number(part);
    if (octet > 255) return bad(`octet ${octet} is above 255`);
    value = value * 256 + octet;
  }
  return ok(value);
}

export function formatIpv4(value: number): string {
  return `${(value >>> 24) & 255}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

// ---------------------------------------------------------------------------------------------
// MAC
// ---------------------------------------------------------------------------------------------

export interface Mac {
  /** First two octets (the MAC_PREFIX part), 0..0xffff. */
  readonly high: number;
  /** Last four octets as an unsigned 32-bit number. */
  readonly low: number;
}

const MAC_PATTERN =
  /^([0-9a-fA-F]{2}):([0-9a-fA-F]{2}):([0-9a-fA-F]{2}):([0-9a-fA-F]{2}):([0-9a-fA-F]{2}):([0-9a-fA-F]{2})$/;

/** Six colon-separated pairs of hex digits, either case. */
export function parseMac(text: string): Result<Mac> {
  const m = MAC_PATTERN.exec(text);
  if (m === null) {
    return fail(
      ADDRESS_INVALID,
      `"${text}" is not a MAC address (expected six hex pairs like 02:00:0a:00:00:01)`,
    );
  }
  const octet = (i: number) => parseInt(m[i] as string, 16);
  return ok({
    high: octet(1) * 256 + octet(2),
    low: ((octet(3) << 24) | (octet(4) << 16) | (octet(5) << 8) | octet(6)) >>> 0,
  });
}

function hex2(n: number): string {
  return (n & 255).toString(16).padStart(2, '0');
}

/** Lower-case colon form, as OpenNebula prints it. */
export function formatMac(mac: Mac): string {
  const { high, low } = mac;
  return `${hex2(high >>> 8)}:${hex2(high)}:${hex2(low >>> 24)}:${hex2(low >>> 16)}:${hex2(low >>> 8)}:${hex2(low)}`;
}

/** MAC of address i of a range: the low 32 bits advance, the prefix stays. */
export function macPlus(mac: Mac, offset: number): Mac {
  return { high: mac.high, low: (mac.low + offset) >>> 0 };
}

/** The MAC-from-IPv4 rule: prefix + the four IPv4 octets. 192.168.70.150 -> 02:00:c0:a8:46:96. */
export function macFromIpv4(prefix: number, ip: number): Mac {
  return { high: prefix & 0xffff, low: ip >>> 0 };
}

/** A unicast MAC has bit 0x01 of its first octet clear; QEMU refuses multicast MACs. */
export function isUnicastMac(mac: Mac): boolean {
  return (mac.high & 0x0100) === 0;
}

/** MAC_PREFIX from configuration: two hex octets, "02:00". */
export function parseMacPrefix(text: string): Result<number> {
  const m = /^([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})$/.exec(text.trim());
  if (m === null) {
    return fail(ADDRESS_INVALID, `MAC_PREFIX "${text}" is not two hex octets like 02:00`, 'MAC_PREFIX');
  }
  return ok(parseInt(m[1] as string, 16) * 256 + parseInt(m[2] as string, 16));
}

/**
 * MAC_PREFIX as oned applies it: the default 02:00 when unset, 00:01 plus a warning when
 * malformed (one:VirtualNetworkPool.cc logs "Wrong MAC prefix format, using default").
 */
export function macPrefixFromConfig(text: string | undefined): {
  readonly prefix: number;
  readonly warning?: string;
} {
  if (text === undefined || text.trim() === '') return { prefix: DEFAULT_MAC_PREFIX };
  const parsed = parseMacPrefix(text);
  if (parsed.ok) return { prefix: parsed.value };
  return { prefix: FALLBACK_MAC_PREFIX, warning: `${parsed.error.message}; using 00:01 as OpenNebula does` };
}

// ---------------------------------------------------------------------------------------------
// IPv6
// ---------------------------------------------------------------------------------------------

const MASK_16 = 0xffffn;
const MASK_64 = (1n << 64n) - 1n;
export const IPV6_MAX = (1n << 128n) - 1n;
/** fe80::/64 */
export const LINK_LOCAL_PREFIX = 0xfe80n << 112n;

function parseHexGroups(part: string, text: string): Result<number[]> {
  if (part === '') return ok([]);
  const groups: number[] = [];
  for (const g of part.split(':')) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) {
      return fail(ADDRESS_INVALID, `"${text}" is not an IPv6 address (group "${g}" is not 1-4 hex digits)`);
    }
    groups.push(parseInt(g, 16));
  }
  return ok(groups);
}

/** RFC 4291 text forms: hex groups, one "::", an optional trailing dotted quad. No zone, no /len. */
export function parseIpv6(text: string): Result<bigint> {
  const bad = (why: string) => fail(ADDRESS_INVALID, `"${text}" is not an IPv6 address (${why})`);
  if (text.includes('/')) return bad('a prefix length is not allowed here');
  if (text.includes('%')) return bad('a zone index is not allowed here');
  let body = text;
  const tail: number[] = [];
  const lastColon = body.lastIndexOf(':');
  if (lastColon >= 0 && body.slice(lastColon + 1).includes('.')) {
    const v4 = parseIpv4(body.slice(lastColon + 1));
    if (!v4.ok) return bad(`embedded ${v4.error.message}`);
    tail.push(v4.value >>> 16, v4.value & 0xffff);
    // Keep "::" whole ("::1.2.3.4", "64:ff9b::1.2.3.4"); drop a lone separator ("::ffff:1.2.3.4").
    const hexPart = body.slice(0, lastColon + 1);
    body = hexPart.endsWith('::') ? hexPart : hexPart.slice(0, -1);
  }
  const halves = body.split('::');
  if (halves.length > 2) return bad('"::" appears more than once');
  const head = parseHexGroups(halves[0] as string, text);
  if (!head.ok) return head;
  let groups: number[];
  if (halves.length === 2) {
    const rest = parseHexGroups(halves[1] as string, text);
    if (!rest.ok) return rest;
    const missing = 8 - head.value.length - rest.value.length - tail.length;
    if (missing < 1) return bad('too many groups around "::"');
    groups = [...head.value, ...new Array<number>(missing).fill(0), ...rest.value, ...tail];
  } else {
    groups = [...head.value, ...tail];
    if (groups.length !== 8) return bad(`expected 8 groups, got ${groups.length}`);
  }
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(g);
  return ok(value);
}

/** RFC 5952 §4 canonical text: lower case, no leading zeros, the longest run (>= 2) of zero
 * groups compressed to "::" (the first one on a tie). Always hexadecimal, never mixed notation. */
export function formatIpv6(value: bigint): string {
  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((value >> shift) & MASK_16));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

/** A /64 prefix (GLOBAL_PREFIX, ULA_PREFIX): an IPv6 address whose last 64 bits are zero. */
export function parseIpv6Prefix64(text: string): Result<bigint> {
  const parsed = parseIpv6(text);
  if (!parsed.ok) return parsed;
  if ((parsed.value & MASK_64) !== 0n) {
    return fail(ADDRESS_INVALID, `"${text}" is not a /64 prefix (its last 64 bits must be zero)`);
  }
  return parsed;
}

/**
 * Modified EUI-64 interface id of a MAC (RFC 4291 appendix A): flip bit 0x02 of the first
 * octet and insert ff:fe between the third and fourth octets. 02:00:c0:a8:46:96 -> 0:c0ff:fea8:4696.
 */
export function eui64InterfaceId(mac: Mac): bigint {
  const upper = ((mac.high ^ 0x0200) * 0x10000 + ((mac.low >>> 24) << 8) + 0xff) >>> 0;
  const lower = (0xfe000000 + (mac.low & 0xffffff)) >>> 0;
  return (BigInt(upper) << 32n) | BigInt(lower);
}

/** SLAAC address: a /64 prefix (last 64 bits zero) plus the EUI-64 id of the MAC. */
export function slaacAddress(prefix64: bigint, mac: Mac): bigint {
  return (prefix64 & ~MASK_64 & IPV6_MAX) | eui64InterfaceId(mac);
}

export function linkLocalAddress(mac: Mac): bigint {
  return slaacAddress(LINK_LOCAL_PREFIX, mac);
}

/** Number of addresses in a /len network: 2^(128-len). */
export function ipv6NetworkSize(prefixLength: number): bigint {
  return 1n << BigInt(128 - prefixLength);
}

/** Addresses left in the 32-bit space from `first` on (IPv4 and MAC low parts). */
export function roomIn32Bits(first: number): number {
  return TWO_32 - first;
}
