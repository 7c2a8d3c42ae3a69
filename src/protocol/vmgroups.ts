import { Type, type Static } from 'typebox';
import { TemplateInput } from './common.js';

/**
 * `POST /api/v1/vmgroups`: `{ "template": ... }` (text, XML or JSON form), or the OpenNebula text
 * itself as `text/plain`: NAME, ROLE = [ NAME, POLICY, HOST_AFFINED, HOST_ANTI_AFFINED ] …,
 * AFFINED = "r1, r2", ANTI_AFFINED = "r1, r2".
 */
export const VmGroupCreate = Type.Union([
  Type.String({ maxLength: 1_048_576 }),
  Type.Object({ template: TemplateInput }, { additionalProperties: false }),
]);
export type VmGroupCreate = Static<typeof VmGroupCreate>;

/** `one.vmgroup.roleadd` / `roleupdate`: a template holding one `ROLE = [ … ]` vector. */
export const VmGroupRoleTemplate = Type.Union([
  Type.String({ maxLength: 65_536 }),
  Type.Object({ template: TemplateInput }, { additionalProperties: false }),
]);
export type VmGroupRoleTemplate = Static<typeof VmGroupRoleTemplate>;

/** `:id` and `:roleId` of the role routes. */
export const VmGroupRoleParams = Type.Object({
  id: Type.Integer({ minimum: 0, maximum: 2147483647 }),
  roleId: Type.Integer({ minimum: 0, maximum: 2147483647 }),
});
export type VmGroupRoleParams = Static<typeof VmGroupRoleParams>;
