/** Builders shared by the vnet unit tests. */
import assert from 'node:assert/strict';
import type { Result } from '../../../src/domain/errors.js';
import type { Template, VectorValue } from '../../../src/domain/template/types.js';
import {
  DEFAULT_MAC_PREFIX,
  defineAddressRange,
  defineVnet,
  VnetLeases,
  type AddressRangeRecord,
  type LeaseRecord,
  type VnetRecord,
} from '../../../src/domain/vnet/index.js';

export function unwrap<T>(result: Result<T>): T {
  if (!result.ok) assert.fail(`expected ok, got ${result.error.code}: ${result.error.message}`);
  return result.value;
}

export function errorOf<T>(result: Result<T>): { code: string; message: string; field?: string } {
  if (result.ok) assert.fail(`expected an error, got ${JSON.stringify(result.value)}`);
  return result.error;
}

/** A deterministic random32 (xorshift32) for tests. */
export function seededRandom32(seed = 0x9e3779b9): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

export function ar(vector: VectorValue, arId = 0, existing: AddressRangeRecord[] = []): AddressRangeRecord {
  return unwrap(
    defineAddressRange(vector, {
      arId,
      macPrefix: DEFAULT_MAC_PREFIX,
      random32: seededRandom32(arId + 1),
      existing,
    }),
  );
}

/** A READY network record from a VNET template (AR vectors included). */
export function vnetFromTemplate(
  template: Template,
  id = 0,
  overrides: Partial<VnetRecord> = {},
): VnetRecord {
  const def = unwrap(
    defineVnet(template, { vnetId: id, macPrefix: DEFAULT_MAC_PREFIX, random32: seededRandom32() }),
  );
  return {
    id,
    uid: 0,
    gid: 0,
    name: def.name,
    permissions: 0o600,
    lock: null,
    template: def.template,
    version: 0,
    clusters: [0],
    bridge: def.bridge,
    bridgeType: def.bridgeType,
    state: 1,
    prevState: 0,
    parentNetworkId: null,
    vnMad: def.vnMad,
    phydev: def.phydev,
    vlanId: def.vlanId,
    outerVlanId: def.outerVlanId,
    vlanIdAutomatic: def.vlanIdAutomatic,
    outerVlanIdAutomatic: def.outerVlanIdAutomatic,
    ars: def.ars,
    ...overrides,
  };
}

/** A network with the given AR vectors on the bridge driver. */
export function vnetWithArs(ars: VectorValue[], id = 0, overrides: Partial<VnetRecord> = {}): VnetRecord {
  return vnetFromTemplate({ NAME: [`net${id}`], VN_MAD: ['bridge'], AR: ars }, id, overrides);
}

export function leasesOf(vnet: VnetRecord, records: LeaseRecord[] = []): VnetLeases {
  return VnetLeases.fromRecords(vnet, records);
}
