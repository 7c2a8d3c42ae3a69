import { groupRules } from './definition.js';
import type { VmGroupRecord, VmGroupRole } from './record.js';

/** One role as the scheduler reads it: the stored role without its extra attributes. */
export type VmGroupRoleRules = Omit<VmGroupRole, 'extra'>;

/** A VM group's placement constraints, all the scheduler needs of it. */
export interface VmGroupRules {
  readonly id: number;
  readonly name: string;
  readonly roles: readonly VmGroupRoleRules[];
  /** AFFINED rules: each a list of role names whose VMs must share a host. */
  readonly affined: readonly (readonly string[])[];
  /** ANTI_AFFINED rules: each a list of role names whose VMs must not share a host. */
  readonly antiAffined: readonly (readonly string[])[];
}

/** The placement constraints of a stored (hence consistent) VM group. */
export function vmGroupRules(record: VmGroupRecord): VmGroupRules {
  return {
    id: record.id,
    name: record.name,
    roles: record.roles.map(({ extra: _extra, ...rules }) => rules),
    affined: groupRules(record.template, 'AFFINED'),
    antiAffined: groupRules(record.template, 'ANTI_AFFINED'),
  };
}
