import { roleVector, type VmGroupRecord, type VmGroupRole } from '../../domain/vmgroup/index.js';
import { lockBody, permissionsBody, templateBody, type Names } from './common.js';

/** A ROLE as `VMGroupRole::to_xml` writes it: the vector's attributes in name order, ID a number. */
export function vmGroupRoleBody(role: VmGroupRole): Record<string, string | number> {
  const vector = roleVector(role);
  const body: Record<string, string | number> = {};
  for (const key of Object.keys(vector).sort()) body[key] = key === 'ID' ? role.id : vector[key]!;
  return body;
}

/**
 * VM_GROUP body in `vm_group.xsd` order: ID, UID, GID, UNAME, GNAME, NAME, PERMISSIONS, [LOCK],
 * ROLES, TEMPLATE (PERMISSIONS comes before LOCK here, unlike VMTEMPLATE).
 */
export function vmGroupBody(g: VmGroupRecord, names: Names): Record<string, unknown> {
  const body: Record<string, unknown> = {
    ID: g.id,
    UID: g.uid,
    GID: g.gid,
    UNAME: names.user(g.uid),
    GNAME: names.group(g.gid),
    NAME: g.name,
    PERMISSIONS: permissionsBody(g.permissions),
  };
  const lock = lockBody(g.lock);
  if (lock !== undefined) body.LOCK = lock;
  body.ROLES = { ROLE: g.roles.map(vmGroupRoleBody) };
  body.TEMPLATE = templateBody(g.template);
  return body;
}
