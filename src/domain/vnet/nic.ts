/**
 * A lease as NIC attributes (reference §2.2 "NIC after allocation", VirtualNetwork::nic_attribute
 * and AddressRange::allocate_by_index), and the AR-then-VNET attribute lookup that context
 * variables use (§6.3).
 */
import type { Template } from '../template/types.js';
import { addressRangeAttribute, leaseAddresses } from './address-range.js';
import type { AddressRangeRecord, LeaseOwner, LeaseRecord, VnetRecord } from './record.js';
import { parseIdList, singleValue } from './template-read.js';

export interface NicLeaseInput {
  readonly vnet: VnetRecord;
  readonly lease: LeaseRecord;
  /** The NIC as the user wrote it (NIC_ID, MODEL, TARGET, SECURITY_GROUPS, ...). */
  readonly nic: Readonly<Record<string, string>>;
  readonly vmId: number;
  /** oned.conf INHERIT_VNET_ATTR: copied from the AR, then the VNET, when the NIC lacks them. */
  readonly inheritAttributes?: readonly string[];
}

function templateString(template: Template, name: string): string | undefined {
  const v = singleValue(template, name);
  return v === undefined || v === '' ? undefined : v;
}

/** Security group ids of the network template, with the default group 0 as VirtualNetwork::insert adds it. */
function vnetSecurityGroups(vnet: VnetRecord): number[] {
  return parseIdList(templateString(vnet.template, 'SECURITY_GROUPS') ?? '0') ?? [0];
}

/**
 * The NIC after allocation: the user's NIC plus NETWORK, NETWORK_ID, BRIDGE, BRIDGE_TYPE,
 * VN_MAD, PHYDEV, VLAN_ID, OUTER_VLAN_ID, PARENT_NETWORK_ID, TARGET (`one-<vm>-<nic>` unless
 * set), CLUSTER_ID, the lease addresses (MAC, IP, IP6_LINK, IP6_ULA, IP6_GLOBAL, IP6), AR_ID,
 * the AR's VN_MAD / BRIDGE / PHYDEV / VLAN_ID overrides, inherited attributes and the union of
 * NIC, VNET and AR security groups.
 */
export function nicAttributes(input: NicLeaseInput): Record<string, string> {
  const { vnet, lease, vmId } = input;
  const ar = vnet.ars.find((r) => r.arId === lease.arId);
  const nic: Record<string, string> = { ...input.nic };
  const setIf = (name: string, value: string | undefined | null) => {
    if (value !== undefined && value !== null && value !== '') nic[name] = value;
  };

  nic['NETWORK'] = vnet.name;
  nic['NETWORK_ID'] = String(vnet.id);
  nic['BRIDGE'] = vnet.bridge;
  setIf('VN_MAD', vnet.vnMad);
  setIf('PHYDEV', vnet.phydev);
  setIf('VLAN_ID', vnet.vlanId);
  setIf('OUTER_VLAN_ID', vnet.outerVlanId);
  if (vnet.parentNetworkId !== null) nic['PARENT_NETWORK_ID'] = String(vnet.parentNetworkId);
  if ((nic['TARGET'] ?? '') === '') nic['TARGET'] = `one-${vmId}-${nic['NIC_ID'] ?? ''}`;
  nic['CLUSTER_ID'] = [...vnet.clusters].sort((a, b) => a - b).join(',');
  setIf('BRIDGE_TYPE', vnet.bridgeType);

  if (ar !== undefined) {
    const a = leaseAddresses(ar, lease.index);
    for (const name of ['IP', 'IP6', 'IP6_LINK', 'IP6_ULA', 'IP6_GLOBAL']) delete nic[name];
    nic['MAC'] = a.mac;
    setIf('EXTERNAL_PORT_RANGE', a.externalPortRange);
    setIf('INTERNAL_PORT_RANGE', a.internalPortRange);
    setIf('IP', a.ip);
    setIf('IP6_LINK', a.ip6Link);
    setIf('IP6_ULA', a.ip6Ula);
    setIf('IP6_GLOBAL', a.ip6Global);
    setIf('IP6', a.ip6);
    nic['AR_ID'] = String(ar.arId);
    for (const name of ['VN_MAD', 'BRIDGE', 'PHYDEV', 'VLAN_ID'])
      setIf(name, addressRangeAttribute(ar, name));
  }

  for (const name of input.inheritAttributes ?? []) {
    if ((nic[name] ?? '') !== '') continue;
    const value =
      (ar === undefined ? undefined : addressRangeAttribute(ar, name)) ?? templateString(vnet.template, name);
    setIf(name, value);
  }

  const groups = new Set<number>(parseIdList(nic['SECURITY_GROUPS'] ?? '') ?? []);
  for (const id of vnetSecurityGroups(vnet)) groups.add(id);
  const arGroups = ar === undefined ? undefined : addressRangeAttribute(ar, 'SECURITY_GROUPS');
  for (const id of parseIdList(arGroups ?? '') ?? []) groups.add(id);
  nic['SECURITY_GROUPS'] = [...groups].sort((a, b) => a - b).join(',');
  return nic;
}

/**
 * An attribute for a NIC as `$NETWORK[name, NIC_ID=n]` resolves it: the AR first, then the
 * VNET template (VirtualNetwork::get_template_attribute). Used for ETHn_GATEWAY, _DNS, _MASK ...
 */
export function lookupNetworkAttribute(vnet: VnetRecord, arId: number, name: string): string | undefined {
  const ar = vnet.ars.find((r) => r.arId === arId);
  const fromAr = ar === undefined ? undefined : addressRangeAttribute(ar, name);
  if (fromAr !== undefined && fromAr !== '') return fromAr;
  return templateString(vnet.template, name);
}

/** A LEASE element of one.vn.info (reference §2.6), attributes in alphabetical order. */
export function leaseAttributes(
  ar: AddressRangeRecord,
  index: number,
  owner: LeaseOwner,
): [string, string][] {
  const a = leaseAddresses(ar, index);
  const out: [string, string][] = [];
  const add = (name: string, value: string | undefined) => {
    if (value !== undefined) out.push([name, value]);
  };
  add('EXTERNAL_PORT_RANGE', a.externalPortRange);
  add('INTERNAL_PORT_RANGE', a.internalPortRange);
  add('IP', a.ip);
  add('IP6', a.ip6);
  add('IP6_GLOBAL', a.ip6Global);
  add('IP6_LINK', a.ip6Link);
  add('IP6_ULA', a.ip6Ula);
  add('MAC', a.mac);
  if (owner.kind === 'vnet') add('VNET', String(owner.id));
  else add('VM', owner.kind === 'vm' ? String(owner.id) : '-1');
  return out;
}
