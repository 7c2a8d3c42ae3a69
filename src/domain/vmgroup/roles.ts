/**
 * Role calls and VM membership of a VM group (`one.vmgroup.roleadd / roledelete / roleupdate`,
 * `VMGroupPool::vmgroup_attribute / del_vm`): pure functions returning the changed content.
 */
import { fail, ok, type Result } from '../errors.js';
import type { VectorValue } from '../template/types.js';
import { checkVmGroupConsistency, MAX_ROLES, parseRole, roleVector } from './definition.js';
import type { VmGroupContent, VmGroupRole } from './record.js';

const INVALID = 'TEMPLATE_INVALID';

function withRoles<C extends VmGroupContent>(content: C, roles: readonly VmGroupRole[]): Result<C> {
  const next = { ...content, roles };
  const checked = checkVmGroupConsistency(next);
  return checked.ok ? ok(next) : checked;
}

function roleById(content: VmGroupContent, roleId: number): Result<VmGroupRole> {
  const role = content.roles.find((r) => r.id === roleId);
  return role === undefined ? fail('NOT_FOUND', `VM group has no role ${roleId}`, 'roleId') : ok(role);
}

/** `VMGroup::add_role`: the next role id (one past the highest), no VMs, unique name. */
export function addVmGroupRole<C extends VmGroupContent>(content: C, vector: VectorValue): Result<C> {
  if (content.roles.length >= MAX_ROLES)
    return fail(INVALID, `Maximum number of roles in a VM Group reached (${MAX_ROLES})`, 'ROLE');
  const id = content.roles.reduce((max, r) => Math.max(max, r.id + 1), 0);
  const role = parseRole(vector, id, [], 'ROLE');
  if (!role.ok) return role;
  if (content.roles.some((r) => r.name === role.value.name))
    return fail(INVALID, `Role "${role.value.name}" already exists`, 'ROLE/NAME');
  return withRoles(content, [...content.roles, role.value]);
}

/** `VMGroup::del_role`: refused while the role has VMs or a rule still names it. */
export function deleteVmGroupRole<C extends VmGroupContent>(content: C, roleId: number): Result<C> {
  const role = roleById(content, roleId);
  if (!role.ok) return fail('NOT_FOUND', `Unable to delete role ${roleId}, the role doesn't exist`, 'roleId');
  if (role.value.vms.length > 0)
    return fail(
      'IN_USE',
      `Unable to delete role ${roleId} "${role.value.name}", the role has VMs (${role.value.vms.join(', ')})`,
    );
  return withRoles(
    content,
    content.roles.filter((r) => r.id !== roleId),
  );
}

/**
 * `VMGroup::update_role`: `vector` is merged over the role (VMS and ID cannot be set), a new
 * NAME must be free; refused while the role has VMs.
 */
export function updateVmGroupRole<C extends VmGroupContent>(
  content: C,
  roleId: number,
  vector: VectorValue,
): Result<C> {
  const found = roleById(content, roleId);
  if (!found.ok) return found;
  const role = found.value;
  if (role.vms.length > 0)
    return fail('IN_USE', `Role ${roleId} "${role.name}" has VMs (${role.vms.join(', ')}), unable to update`);
  const { VMS: _vms, ID: _id, ...given } = vector;
  const merged = { ...roleVector(role), ...given };
  const next = parseRole(merged, role.id, [], 'ROLE');
  if (!next.ok) return next;
  if (next.value.name !== role.name && content.roles.some((r) => r.name === next.value.name))
    return fail(
      INVALID,
      `Role ${roleId} can not update name, role with name ${next.value.name} already exists`,
      'ROLE/NAME',
    );
  return withRoles(
    content,
    content.roles.map((r) => (r.id === roleId ? next.value : r)),
  );
}

/** A VM joins role `roleName` (`VMGroupRoles::add_vm`); already there is no change. */
export function addVmToRole<C extends VmGroupContent>(content: C, roleName: string, vmId: number): Result<C> {
  const role = content.roles.find((r) => r.name === roleName);
  if (role === undefined) {
    const names = content.roles.map((r) => r.name).join(', ');
    return fail(
      'NOT_FOUND',
      `Role does not exist in VM Group: no role "${roleName}" (roles: ${names === '' ? 'none' : names})`,
      'ROLE',
    );
  }
  if (role.vms.includes(vmId)) return ok(content);
  const vms = [...role.vms, vmId].sort((a, b) => a - b);
  return ok({ ...content, roles: content.roles.map((r) => (r === role ? { ...r, vms } : r)) });
}

/** A VM leaves role `roleName` (`VMGroupRoles::del_vm`); not there is no change. */
export function removeVmFromRole<C extends VmGroupContent>(
  content: C,
  roleName: string,
  vmId: number,
): Result<C> {
  const role = content.roles.find((r) => r.name === roleName);
  if (role === undefined) return fail('NOT_FOUND', `Role does not exist in VM Group: "${roleName}"`, 'ROLE');
  if (!role.vms.includes(vmId)) return ok(content);
  const vms = role.vms.filter((id) => id !== vmId);
  return ok({ ...content, roles: content.roles.map((r) => (r === role ? { ...r, vms } : r)) });
}
