import type { OwnedObject } from '../object.js';
import type { Template } from '../template/types.js';

/** AR TYPE strings (reference §3.5, §7.2). */
export type AddressRangeType = 'ETHER' | 'IP4' | 'IP6' | 'IP4_6' | 'IP6_STATIC' | 'IP4_6_STATIC';

/**
 * An address range. Only its definition is stored here; the leases taken from it are separate
 * rows (LeaseRecord), so memory and storage grow with the leases, not with SIZE.
 */
export interface AddressRangeRecord {
  readonly arId: number;
  readonly type: AddressRangeType;
  /** First MAC, lower-case colon form. */
  readonly mac: string;
  /** First IPv4 address (IPv4 types). */
  readonly ip: string | null;
  readonly size: number;
  readonly globalPrefix: string | null;
  readonly ulaPrefix: string | null;
  /** First IPv6 address (static IPv6 types). */
  readonly ip6: string | null;
  readonly prefixLength: number | null;
  readonly parentNetworkArId: number | null;
  /** Round-robin allocation cursor (reference §7.2 `next`). */
  readonly next: number;
  /** Other AR attributes (GATEWAY, DNS, SECURITY_GROUPS overrides ...). */
  readonly attributes: Template;
}

/** Who holds a lease: a VM (NIC), a reservation VNET, or an operator hold (VM = -1). */
export type LeaseOwner =
  | { readonly kind: 'vm'; readonly id: number; readonly nicId: number }
  | { readonly kind: 'vnet'; readonly id: number }
  | { readonly kind: 'hold' };

/** One taken address of an AR, by its index in the range (address = first + index). */
export interface LeaseRecord {
  readonly vnetId: number;
  readonly arId: number;
  readonly index: number;
  readonly owner: LeaseOwner;
}

/** A virtual network (reference §2.6, §7.1). STATE per §3.5. */
export interface VnetRecord extends OwnedObject {
  readonly clusters: readonly number[];
  readonly bridge: string;
  readonly bridgeType: string;
  readonly state: number;
  readonly prevState: number;
  readonly parentNetworkId: number | null;
  readonly vnMad: string;
  readonly phydev: string;
  readonly vlanId: string;
  readonly outerVlanId: string;
  readonly vlanIdAutomatic: boolean;
  readonly outerVlanIdAutomatic: boolean;
  readonly ars: readonly AddressRangeRecord[];
}
