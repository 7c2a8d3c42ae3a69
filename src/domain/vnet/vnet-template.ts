/**
 * The VNET template for one.vn.allocate (reference §7.1, VirtualNetwork::insert): NAME, VN_MAD
 * and its driver-specific mandatory attributes, BRIDGE (default onebr<id> / onebr.<VLAN_ID>),
 * VLAN ids, SECURITY_GROUPS (always with 0), MTU, and the AR vectors.
 */
import { fail, ok, type DomainError, type Result } from '../errors.js';
import type { Template, TemplateValue } from '../template/types.js';
import { defineAddressRange } from './address-range.js';
import type { AddressRangeRecord } from './record.js';
import { parseCount, parseIdList, parseYesNo, singleValue, vectorValues } from './template-read.js';

export const VNET_TEMPLATE_INVALID = 'VNET_TEMPLATE_INVALID';

export type BridgeType = 'linux' | 'openvswitch' | 'openvswitch_dpdk' | 'vcenter_port_groups' | 'none';

/** oned.conf VN_MAD_CONF defaults of 6.10: driver -> BRIDGE_TYPE. */
export const DEFAULT_VN_MAD_CONF: Readonly<Record<string, BridgeType>> = {
  dummy: 'linux',
  '802.1Q': 'linux',
  ebtables: 'linux',
  fw: 'linux',
  ovswitch: 'openvswitch',
  vxlan: 'linux',
  vcenter: 'vcenter_port_groups',
  ovswitch_vxlan: 'openvswitch',
  bridge: 'linux',
  elastic: 'linux',
  nodeport: 'linux',
};

/** Linux interface names are at most 15 bytes (IFNAMSIZ - 1). */
const IFNAME_MAX = 15;
const VLAN_MAX = 4095;
const VXLAN_VNI_MAX = 0xffffff;

export interface VnetTemplateContext {
  /** The id the network will get: the default bridge name uses it. */
  readonly vnetId: number;
  /** oned.conf MAC_PREFIX (address.ts DEFAULT_MAC_PREFIX). */
  readonly macPrefix: number;
  /** Unsigned 32-bit random integers, for MACs of non-IPv4 ranges. */
  readonly random32: () => number;
  /** VN_MAD_CONF; DEFAULT_VN_MAD_CONF when absent. */
  readonly drivers?: Readonly<Record<string, BridgeType>>;
}

/** What the template defines; the controller adds ownership, clusters and state. */
export interface VnetDefinition {
  readonly name: string;
  readonly vnMad: string;
  readonly bridge: string;
  readonly bridgeType: BridgeType;
  readonly phydev: string;
  readonly vlanId: string;
  readonly outerVlanId: string;
  readonly vlanIdAutomatic: boolean;
  readonly outerVlanIdAutomatic: boolean;
  readonly securityGroups: readonly number[];
  /** The template to store: without NAME, AR and AUTOMATIC_*; with VN_MAD, BRIDGE, BRIDGE_TYPE,
   * PHYDEV, VLAN_ID / OUTER_VLAN_ID (when given) and SECURITY_GROUPS normalised. */
  readonly template: Template;
  readonly ars: readonly AddressRangeRecord[];
}

function invalid(message: string, field?: string): { readonly ok: false; readonly error: DomainError } {
  return fail(VNET_TEMPLATE_INVALID, message, field);
}

/** `onebr.<VLAN_ID>` when a VLAN id is known, else `onebr<vnet id>`; "" for BRIDGE_TYPE none. */
export function defaultBridgeName(vnetId: number, vlanId: string, bridgeType: BridgeType = 'linux'): string {
  if (bridgeType === 'none') return '';
  return vlanId !== '' ? `onebr.${vlanId}` : `onebr${vnetId}`;
}

function readSingle(template: Template, name: string): Result<string> {
  const values = template[name] ?? [];
  if (values.some((v) => typeof v !== 'string'))
    return invalid(`${name}: must be a single value, not a vector`, name);
  return ok((singleValue(template, name) ?? '').trim());
}

function readVlan(
  template: Template,
  idName: string,
  autoName: string,
  max: number,
): Result<{ id: string; auto: boolean }> {
  const id = readSingle(template, idName);
  if (!id.ok) return id;
  if (id.value !== '') {
    const n = parseCount(id.value);
    if (n === undefined || n > max)
      return invalid(`${idName}: "${id.value}" must be an integer from 0 to ${max}`, idName);
    return ok({ id: String(n), auto: false });
  }
  const autoText = readSingle(template, autoName);
  if (!autoText.ok) return autoText;
  if (autoText.value === '') return ok({ id: '', auto: false });
  const auto = parseYesNo(autoText.value);
  if (auto === undefined) return invalid(`${autoName}: "${autoText.value}" must be YES or NO`, autoName);
  return ok({ id: '', auto });
}

/** Validates a VNET template for creation and returns what to store. */
export function defineVnet(template: Template, ctx: VnetTemplateContext): Result<VnetDefinition> {
  const drivers = ctx.drivers ?? DEFAULT_VN_MAD_CONF;

  const name = readSingle(template, 'NAME');
  if (!name.ok) return name;
  if (name.value === '') return invalid('No NAME in template for Virtual Network.', 'NAME');

  const vnMad = readSingle(template, 'VN_MAD');
  if (!vnMad.ok) return vnMad;
  if (vnMad.value === '') return invalid('No VN_MAD in template for Virtual Network.', 'VN_MAD');
  const bridgeType = drivers[vnMad.value];
  if (bridgeType === undefined) {
    return invalid(
      `VN_MAD named "${vnMad.value}" is not defined (known drivers: ${Object.keys(drivers).join(', ')})`,
      'VN_MAD',
    );
  }

  const phydev = readSingle(template, 'PHYDEV');
  if (!phydev.ok) return phydev;
  const bridgeGiven = readSingle(template, 'BRIDGE');
  if (!bridgeGiven.ok) return bridgeGiven;
  const vlan = readVlan(
    template,
    'VLAN_ID',
    'AUTOMATIC_VLAN_ID',
    vnMad.value === 'vxlan' ? VXLAN_VNI_MAX : VLAN_MAX,
  );
  if (!vlan.ok) return vlan;
  const outer = readVlan(template, 'OUTER_VLAN_ID', 'AUTOMATIC_OUTER_VLAN_ID', VLAN_MAX);
  if (!outer.ok) return outer;

  // Driver requirements (VirtualNetwork::parse_phydev_vlans).
  const driver = vnMad.value;
  if ((driver === '802.1Q' || driver === 'vxlan') && phydev.value === '') {
    return invalid(`PHYDEV is mandatory for driver ${driver}`, 'PHYDEV');
  }
  if (driver === 'dummy' && bridgeGiven.value === '')
    return invalid(`BRIDGE is mandatory for driver ${driver}`, 'BRIDGE');
  if ((driver === '802.1Q' || driver === 'vxlan') && vlan.value.id === '' && !vlan.value.auto) {
    return invalid(`VLAN_ID (or AUTOMATIC_VLAN_ID) is mandatory for driver ${driver}`, 'VLAN_ID');
  }
  if (driver === 'ovswitch_vxlan' && outer.value.id === '' && !outer.value.auto) {
    return invalid(`OUTER_VLAN_ID (or AUTOMATIC) is mandatory for driver ${driver}`, 'OUTER_VLAN_ID');
  }

  const bridge =
    bridgeGiven.value !== '' ? bridgeGiven.value : defaultBridgeName(ctx.vnetId, vlan.value.id, bridgeType);
  if (
    (bridgeType === 'linux' || bridgeType === 'openvswitch' || bridgeType === 'openvswitch_dpdk') &&
    bridge !== ''
  ) {
    if (bridge.length > IFNAME_MAX || !/^[A-Za-z0-9_.:-]+$/.test(bridge)) {
      return invalid(
        `BRIDGE: "${bridge}" is not a usable interface name (at most ${IFNAME_MAX} characters from A-Z a-z 0-9 _ . : -)`,
        'BRIDGE',
      );
    }
  }

  const sgText = readSingle(template, 'SECURITY_GROUPS');
  if (!sgText.ok) return sgText;
  const groups = parseIdList(sgText.value);
  if (groups === undefined) {
    return invalid(
      `SECURITY_GROUPS: "${sgText.value}" is not a comma-separated list of security group ids`,
      'SECURITY_GROUPS',
    );
  }
  const securityGroups = [...new Set([...groups, 0])].sort((a, b) => a - b);

  const mtu = readSingle(template, 'MTU');
  if (!mtu.ok) return mtu;
  if (mtu.value !== '') {
    const n = parseCount(mtu.value);
    if (n === undefined || n < 68 || n > 65535)
      return invalid(`MTU: "${mtu.value}" must be an integer from 68 to 65535`, 'MTU');
  }

  const ars: AddressRangeRecord[] = [];
  for (const [position, vector] of vectorValues(template, 'AR').entries()) {
    const ar = defineAddressRange(vector, {
      arId: position,
      macPrefix: ctx.macPrefix,
      random32: ctx.random32,
      field: `AR[${position}]`,
      existing: ars,
    });
    if (!ar.ok) return ar;
    ars.push(ar.value);
  }

  const stored: Record<string, TemplateValue[]> = {};
  for (const [key, values] of Object.entries(template)) {
    if (key === 'NAME' || key === 'AR' || key === 'AUTOMATIC_VLAN_ID' || key === 'AUTOMATIC_OUTER_VLAN_ID')
      continue;
    stored[key] = [...values];
  }
  stored['VN_MAD'] = [driver];
  stored['PHYDEV'] = [phydev.value];
  stored['BRIDGE'] = [bridge];
  stored['BRIDGE_TYPE'] = [bridgeType];
  stored['SECURITY_GROUPS'] = [securityGroups.join(',')];
  if (vlan.value.id !== '') stored['VLAN_ID'] = [vlan.value.id];
  else delete stored['VLAN_ID'];
  if (outer.value.id !== '') stored['OUTER_VLAN_ID'] = [outer.value.id];
  else delete stored['OUTER_VLAN_ID'];

  return ok({
    name: name.value,
    vnMad: driver,
    bridge,
    bridgeType,
    phydev: phydev.value,
    vlanId: vlan.value.id,
    outerVlanId: outer.value.id,
    vlanIdAutomatic: vlan.value.auto,
    outerVlanIdAutomatic: outer.value.auto,
    securityGroups,
    template: stored,
    ars,
  });
}
