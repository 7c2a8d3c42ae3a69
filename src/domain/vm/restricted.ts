import { fail, ok, type Result } from '../errors.js';
import type { Template } from '../template/types.js';

/**
 * OpenNebula 6.10's default `VM_RESTRICTED_ATTR` (oned.conf): attributes only the oneadmin group
 * may set, because they reach the host (MAC/VLAN/bridge, disk throttling, PCI devices, raw
 * hypervisor data, files copied into the context CD) or accounting (costs, priority).
 * `NAME/SUB` is a sub-attribute of a vector; a bare name is the whole attribute.
 */
export const VM_RESTRICTED_ATTRIBUTES: readonly string[] = [
  'CONTEXT/FILES',
  'NIC/MAC',
  'NIC/VLAN_ID',
  'NIC/BRIDGE',
  'NIC_DEFAULT/MAC',
  'NIC_DEFAULT/VLAN_ID',
  'NIC_DEFAULT/BRIDGE',
  'DISK/TOTAL_BYTES_SEC',
  'DISK/READ_BYTES_SEC',
  'DISK/WRITE_BYTES_SEC',
  'DISK/TOTAL_IOPS_SEC',
  'DISK/READ_IOPS_SEC',
  'DISK/WRITE_IOPS_SEC',
  'DISK/ORIGINAL_SIZE',
  'CPU_COST',
  'MEMORY_COST',
  'DISK_COST',
  'PCI',
  'USER_INPUTS',
  'DEPLOY_ID',
  'RAW/DATA',
  'RAW/DATA_VMX',
  'EMULATOR',
  'USER_PRIORITY',
];

/** The first restricted attribute the template sets, as `NAME` or `NAME/SUB`, or null. */
export function findRestrictedAttribute(
  template: Template,
  restricted: readonly string[] = VM_RESTRICTED_ATTRIBUTES,
): string | null {
  for (const path of restricted) {
    const [name, sub] = path.split('/') as [string, string | undefined];
    const values = template[name];
    if (values === undefined || values.length === 0) continue;
    if (sub === undefined) return name;
    if (values.some((v) => typeof v !== 'string' && Object.hasOwn(v, sub))) return path;
  }
  return null;
}

/** Refuses a template that sets a restricted attribute (`RequestManagerAllocate` wording). */
export function checkRestrictedAttributes(template: Template): Result<void> {
  const found = findRestrictedAttribute(template);
  return found === null
    ? ok(undefined)
    : fail('AUTHORIZATION', `VM Template includes a restricted attribute ${found}`, found);
}
