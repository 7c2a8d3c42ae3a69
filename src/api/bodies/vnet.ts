import { VNET_STATE_NAMES } from '../../controller/vnets.js';
import {
  leaseAttributes,
  renderAddressRange,
  type AddressRangeRecord,
  type LeaseRecord,
  type VnetRecord,
} from '../../domain/vnet/index.js';
import { idsBody, ownedHeader, templateBody, type Names } from './common.js';

/** AR and LEASE attributes that are numbers in JSON; everything else stays text. */
const NUMERIC = new Set([
  'AR_ID',
  'SIZE',
  'USED_LEASES',
  'PARENT_NETWORK_AR_ID',
  'PREFIX_LENGTH',
  'VM',
  'VNET',
]);

function attributesBody(entries: readonly [string, string][]): Record<string, string | number> {
  const body: Record<string, string | number> = {};
  for (const [name, value] of entries) body[name] = NUMERIC.has(name) ? Number(value) : value;
  return body;
}

/** One LEASE: IP, IP6, IP6_GLOBAL, IP6_LINK, IP6_ULA, MAC, then VM (-1 when held) or VNET. */
export function leaseBody(ar: AddressRangeRecord, lease: LeaseRecord): Record<string, string | number> {
  return attributesBody(leaseAttributes(ar, lease.index, lease.owner));
}

/**
 * One AR of AR_POOL (reference §2.6): stored attributes alphabetically, computed fields,
 * USED_LEASES, and LEASES only when given (show).
 */
export function addressRangeBody(
  ar: AddressRangeRecord,
  used: number,
  leases?: readonly LeaseRecord[],
): Record<string, unknown> {
  const body: Record<string, unknown> = attributesBody(renderAddressRange(ar, used));
  if (leases !== undefined) body.LEASES = { LEASE: leases.map((l) => leaseBody(ar, l)) };
  return body;
}

/**
 * VNET body (reference §2.6) in serializer order, JSON with numbers. `leases` (every lease of
 * the network) are listed per AR only in `show`, as one.vn.info does.
 */
export function vnetBody(
  vnet: VnetRecord,
  names: Names,
  used: ReadonlyMap<number, number>,
  leases?: readonly LeaseRecord[],
): Record<string, unknown> {
  let total = 0;
  for (const n of used.values()) total += n;
  const leasesByAr = new Map<number, LeaseRecord[]>();
  for (const l of leases ?? []) {
    const list = leasesByAr.get(l.arId) ?? [];
    list.push(l);
    leasesByAr.set(l.arId, list);
  }
  return {
    ...ownedHeader(vnet, names),
    CLUSTERS: idsBody(vnet.clusters),
    BRIDGE: vnet.bridge,
    BRIDGE_TYPE: vnet.bridgeType,
    STATE: vnet.state,
    STATE_NAME: VNET_STATE_NAMES[vnet.state] ?? String(vnet.state),
    PREV_STATE: vnet.prevState,
    PARENT_NETWORK_ID: vnet.parentNetworkId ?? '',
    VN_MAD: vnet.vnMad,
    PHYDEV: vnet.phydev,
    VLAN_ID: vnet.vlanId,
    OUTER_VLAN_ID: vnet.outerVlanId,
    VLAN_ID_AUTOMATIC: vnet.vlanIdAutomatic ? 1 : 0,
    OUTER_VLAN_ID_AUTOMATIC: vnet.outerVlanIdAutomatic ? 1 : 0,
    USED_LEASES: total,
    VROUTERS: idsBody([]),
    UPDATED_VMS: idsBody([]),
    OUTDATED_VMS: idsBody([]),
    UPDATING_VMS: idsBody([]),
    ERROR_VMS: idsBody([]),
    TEMPLATE: templateBody(vnet.template),
    AR_POOL: {
      AR: vnet.ars.map((ar) =>
        addressRangeBody(
          ar,
          used.get(ar.arId) ?? 0,
          leases === undefined ? undefined : (leasesByAr.get(ar.arId) ?? []),
        ),
      ),
    },
  };
}

/** A lease in `GET /vnets/:id/leases`: its AR_ID first, then the LEASE attributes. */
export function leaseListBody(vnet: VnetRecord, leases: readonly LeaseRecord[]): Record<string, unknown>[] {
  const ars = new Map(vnet.ars.map((ar) => [ar.arId, ar]));
  return leases.flatMap((l) => {
    const ar = ars.get(l.arId);
    return ar === undefined ? [] : [{ AR_ID: l.arId, ...leaseBody(ar, l) }];
  });
}
