import { groupRules } from './definition.js';
import type { VmGroupPolicy, VmGroupRecord } from './record.js';

/** One role as the scheduler reads it. */
export interface VmGroupRoleRules {
  readonly id: number;
  readonly name: string;
  readonly policy: VmGroupPolicy;
  /** The only hosts the role's VMs may run on ([] = any). */
  readonly hostAffined: readonly number[];
  /** Hosts the role's VMs must not run on. */
  readonly hostAntiAffined: readonly number[];
  /** VMs in the role (placed or not). */
  readonly vms: readonly number[];
}

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
    roles: record.roles.map((r) => ({
      id: r.id,
      name: r.name,
      policy: r.policy,
      hostAffined: r.hostAffined,
      hostAntiAffined: r.hostAntiAffined,
      vms: r.vms,
    })),
    affined: groupRules(record.template, 'AFFINED'),
    antiAffined: groupRules(record.template, 'ANTI_AFFINED'),
  };
}
