import { fail, ok, type Result } from '../errors.js';
import type { Template } from '../template/types.js';
import { validateObjectName } from '../object.js';
import type { HostRecord } from './record.js';
import { HostState } from './enums.js';
import { EMPTY_HOST_SHARE, parseReservation } from './share.js';

/**
 * Validation for `one.host.allocate(name, im_mad, vm_mad, cluster_id)` (`HostPool::allocate`).
 *
 * NAME follows the pool-object rule and, being the host's name on the network, has no blanks.
 * Nimbus runs three drivers: `kvm` (QEMU with KVM), `qemu` (the same driver with TCG, for hosts
 * without usable KVM) and `dummy` (simulated hosts). IM_MAD and VM_MAD must agree: a dummy host
 * is dummy for both; kvm and qemu mix freely (they monitor the same way).
 */

export const HOST_DRIVERS: readonly string[] = ['kvm', 'qemu', 'dummy'];

export interface HostCreateSpec {
  readonly name: string;
  readonly imMad: string;
  readonly vmMad: string;
  readonly clusterId: number;
}

export function validateHostCreate(input: {
  readonly name: string;
  readonly imMad: string;
  readonly vmMad: string;
  /** -1 (as OpenNebula clients send) means the default cluster 0. */
  readonly clusterId?: number;
}): Result<HostCreateSpec> {
  const name = validateObjectName(input.name.trim());
  if (!name.ok) return name;
  if (/[\s\p{Cc}]/u.test(name.value)) {
    return fail(
      'TEMPLATE_INVALID',
      `Invalid NAME "${name.value}": a host name cannot contain blanks or control characters`,
      'NAME',
    );
  }
  const imMad = input.imMad.trim().toLowerCase();
  const vmMad = input.vmMad.trim().toLowerCase();
  if (imMad === '') return fail('TEMPLATE_INVALID', 'IM_MAD_NAME cannot be empty.', 'IM_MAD');
  if (vmMad === '') return fail('TEMPLATE_INVALID', 'VMM_MAD_NAME cannot be empty.', 'VM_MAD');
  if (!HOST_DRIVERS.includes(imMad)) {
    return fail(
      'TEMPLATE_INVALID',
      `IM_MAD "${input.imMad}" is not supported; use kvm, qemu or dummy`,
      'IM_MAD',
    );
  }
  if (!HOST_DRIVERS.includes(vmMad)) {
    return fail(
      'TEMPLATE_INVALID',
      `VM_MAD "${input.vmMad}" is not supported; use kvm, qemu or dummy`,
      'VM_MAD',
    );
  }
  if ((imMad === 'dummy') !== (vmMad === 'dummy')) {
    return fail(
      'TEMPLATE_INVALID',
      `IM_MAD "${imMad}" and VM_MAD "${vmMad}" do not match: a dummy host uses dummy for both`,
      'VM_MAD',
    );
  }
  const clusterId = input.clusterId === undefined || input.clusterId < 0 ? 0 : input.clusterId;
  return ok({ name: name.value, imMad, vmMad, clusterId });
}

/** RESERVED_CPU / RESERVED_MEM in a host or cluster template update must parse. */
export function validateReservations(template: Template): Result<Template> {
  for (const attr of ['RESERVED_CPU', 'RESERVED_MEM']) {
    const value = template[attr]?.[0];
    if (typeof value !== 'string') continue;
    const parsed = parseReservation(value);
    if (!parsed.ok) return fail(parsed.error.code, `${attr}: ${parsed.error.message}`, attr);
  }
  return ok(template);
}

/** A new host: INIT, no capacity until its first monitor report. */
export function newHostRecord(spec: HostCreateSpec, id: number): HostRecord {
  return {
    id,
    name: spec.name,
    state: HostState.INIT,
    prevState: HostState.INIT,
    imMad: spec.imMad,
    vmMad: spec.vmMad,
    clusterId: spec.clusterId,
    share: EMPTY_HOST_SHARE,
    vms: [],
    template: { IM_MAD: [spec.imMad], VM_MAD: [spec.vmMad] },
    monitoring: {},
    lastMonTime: 0,
    version: 0,
  };
}
