/**
 * A VM group's definition (OpenNebula `VMGroup.cc`, `VMGroupRole.cc`): NAME, ROLE vectors and
 * the group-level AFFINED / ANTI_AFFINED rules, validated with OpenNebula's messages where it
 * has them. See docs/reference/vm-groups.md.
 */
import { fail, ok, type Result } from '../errors.js';
import { validateObjectName } from '../object.js';
import { applyTemplateUpdate, getSingle, getSingles, removeAttribute } from '../template/index.js';
import type { Template, VectorValue } from '../template/types.js';
import type { VmGroupContent, VmGroupPolicy, VmGroupRole } from './record.js';

/** `VMGroupRoles::MAX_ROLES`. */
export const MAX_ROLES = 32;

/** The group-level rule attributes: each value a comma-separated list of role names. */
export type VmGroupRuleKind = 'AFFINED' | 'ANTI_AFFINED';

const INVALID = 'TEMPLATE_INVALID';
const ROLE_KEYS = new Set(['ID', 'NAME', 'POLICY', 'HOST_AFFINED', 'HOST_ANTI_AFFINED', 'VMS']);

/** `"2, 3,4"` → [2, 3, 4] (sorted, unique, as `one_util::split_unique` into a set). */
function hostList(text: string | undefined, field: string): Result<number[]> {
  if (text === undefined || text.trim() === '') return ok([]);
  const ids = new Set<number>();
  for (const part of text.split(',')) {
    const token = part.trim();
    if (!/^\d+$/.test(token) || Number(token) > 2147483647)
      return fail(INVALID, `${field} must be a comma-separated list of host ids, got "${text}"`, field);
    ids.add(Number(token));
  }
  return ok([...ids].sort((a, b) => a - b));
}

function policyOf(text: string | undefined, field: string): Result<VmGroupPolicy> {
  const value = (text ?? '').trim().toUpperCase();
  if (value === '' || value === 'NONE') return ok('NONE');
  if (value === 'AFFINED' || value === 'ANTI_AFFINED') return ok(value);
  return fail(INVALID, `${field} must be AFFINED, ANTI_AFFINED or NONE, got "${text}"`, field);
}

/**
 * One ROLE vector → a role with `id` and `vms` (ID and VMS in the vector are ignored: they are
 * system attributes). `field` is the vector's name in messages, e.g. `ROLE[1]`.
 */
export function parseRole(
  vector: VectorValue,
  id: number,
  vms: readonly number[],
  field: string,
): Result<VmGroupRole> {
  const name = (vector.NAME ?? '').trim();
  if (name === '') return fail(INVALID, 'Missing NAME in VM group role', `${field}/NAME`);
  if (name.includes(',')) return fail(INVALID, `Role NAME "${name}" cannot contain a comma`, `${field}/NAME`);
  const policy = policyOf(vector.POLICY, `${field}/POLICY`);
  if (!policy.ok) return policy;
  const affined = hostList(vector.HOST_AFFINED, `${field}/HOST_AFFINED`);
  if (!affined.ok) return affined;
  const anti = hostList(vector.HOST_ANTI_AFFINED, `${field}/HOST_ANTI_AFFINED`);
  if (!anti.ok) return anti;
  const both = affined.value.filter((h) => anti.value.includes(h));
  if (both.length > 0) {
    return fail(
      INVALID,
      `Role "${name}": host${both.length > 1 ? 's' : ''} ${both.join(', ')} cannot be both HOST_AFFINED and HOST_ANTI_AFFINED`,
      `${field}/HOST_ANTI_AFFINED`,
    );
  }
  const extra: Record<string, string> = {};
  for (const [key, value] of Object.entries(vector)) if (!ROLE_KEYS.has(key)) extra[key] = value;
  return ok({
    id,
    name,
    policy: policy.value,
    hostAffined: affined.value,
    hostAntiAffined: anti.value,
    vms: [...vms],
    extra,
  });
}

/** The ROLE vector of a role as OpenNebula stores it (VMS only when the role has VMs). */
export function roleVector(role: VmGroupRole): VectorValue {
  const v: Record<string, string> = { ...role.extra, ID: String(role.id), NAME: role.name };
  if (role.policy !== 'NONE') v.POLICY = role.policy;
  if (role.hostAffined.length > 0) v.HOST_AFFINED = role.hostAffined.join(',');
  if (role.hostAntiAffined.length > 0) v.HOST_ANTI_AFFINED = role.hostAntiAffined.join(',');
  if (role.vms.length > 0) v.VMS = role.vms.join(',');
  return v;
}

/** The role names of one rule value, `"db, apps"` → ['db', 'apps'] (trimmed, first occurrence kept). */
export function ruleRoleNames(text: string): string[] {
  return [...new Set(text.split(',').map((n) => n.trim()))];
}

/** The rules of one kind in a group template, as lists of role names. */
export function groupRules(template: Template, kind: VmGroupRuleKind): string[][] {
  return getSingles(template, kind).map(ruleRoleNames);
}

/**
 * `VMGroup::check_consistency`: every role named in an AFFINED / ANTI_AFFINED rule exists, no
 * rule is given twice, no role of an AFFINED rule has POLICY ANTI_AFFINED, and no role is in
 * both an AFFINED and an ANTI_AFFINED rule.
 */
export function checkVmGroupConsistency(content: VmGroupContent): Result<VmGroupContent> {
  const byName = new Map(content.roles.map((r) => [r.name, r]));
  const sets: Record<VmGroupRuleKind, Set<string>[]> = { AFFINED: [], ANTI_AFFINED: [] };
  for (const kind of ['AFFINED', 'ANTI_AFFINED'] as const) {
    for (const value of getSingles(content.template, kind)) {
      const names = ruleRoleNames(value);
      if (names.some((n) => !byName.has(n)))
        return fail(INVALID, `Some roles used in ${kind} attribute (${value}) are not defined`, kind);
      const set = new Set(names);
      if (sets[kind].some((s) => s.size === set.size && [...s].every((n) => set.has(n))))
        return fail(INVALID, `Duplicated ${kind} rule (${value}) detected.`, kind);
      sets[kind].push(set);
    }
  }
  const affined = new Set(sets.AFFINED.flatMap((s) => [...s]));
  for (const name of affined) {
    if (byName.get(name)?.policy === 'ANTI_AFFINED')
      return fail(
        INVALID,
        `Role ${name} is in an AFFINED rule but the role policy is ANTI_AFFINED`,
        'AFFINED',
      );
  }
  const both = content.roles
    .filter((r) => affined.has(r.name) && sets.ANTI_AFFINED.some((s) => s.has(r.name)))
    .map((r) => r.name);
  if (both.length > 0)
    return fail(
      INVALID,
      `Roles defined in AFFINED and ANTI_AFFINED rules: ${both.join(' ')}`,
      'ANTI_AFFINED',
    );
  return ok(content);
}

/** What `one.vmgroup.allocate` stores: the name, the roles (ids 0..n-1, no VMs), the rest of the template. */
export interface VmGroupDefinition extends VmGroupContent {
  readonly name: string;
}

/** Parses and checks a VM group template (`VMGroup::insert`). */
export function parseVmGroupTemplate(template: Template): Result<VmGroupDefinition> {
  const name = validateObjectName(getSingle(template, 'NAME'));
  if (!name.ok) return name;
  const values = template.ROLE ?? [];
  if (values.length > MAX_ROLES)
    return fail(INVALID, `Maximum number of roles in a VM Group reached (${MAX_ROLES})`, 'ROLE');
  const roles: VmGroupRole[] = [];
  for (const [i, value] of values.entries()) {
    const field = `ROLE[${i}]`;
    if (typeof value === 'string') return fail(INVALID, 'ROLE must be a vector attribute', field);
    const role = parseRole(value, roles.length, [], field);
    if (!role.ok) return role;
    if (roles.some((r) => r.name === role.value.name))
      return fail(INVALID, `Role "${role.value.name}" already exists`, `${field}/NAME`);
    roles.push(role.value);
  }
  let rest = removeAttribute(template, 'NAME');
  if (Object.hasOwn(rest, 'ROLE')) rest = removeAttribute(rest, 'ROLE');
  const checked = checkVmGroupConsistency({ roles, template: rest });
  if (!checked.ok) return checked;
  return ok({ name: name.value, roles, template: rest });
}

/** VMs in all roles of the group (`VMGroupRoles::vm_size`). */
export function vmGroupVmCount(content: VmGroupContent): number {
  return content.roles.reduce((n, r) => n + r.vms.length, 0);
}

/**
 * `one.vmgroup.update` (`VMGroup::post_update_template`): refused while any role has VMs; NAME
 * and ROLE are not changed this way (rename and the role calls do), so they are dropped from
 * `update`; the result is checked again.
 */
export function updateVmGroupTemplate<C extends VmGroupContent>(
  content: C,
  update: Template,
  merge: boolean,
): Result<C> {
  const vms = vmGroupVmCount(content);
  if (vms > 0)
    return fail(
      'IN_USE',
      `VM Group has ${vms} VM${vms > 1 ? 's' : ''}: its template cannot change until they leave (terminate them)`,
    );
  let given = update;
  for (const name of ['NAME', 'ROLE']) if (Object.hasOwn(given, name)) given = removeAttribute(given, name);
  const next = { ...content, template: applyTemplateUpdate(content.template, given, merge) };
  const checked = checkVmGroupConsistency(next);
  return checked.ok ? ok(next) : checked;
}
