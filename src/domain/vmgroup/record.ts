import type { OwnedObject } from '../object.js';
import type { VectorValue } from '../template/types.js';

/** A role's placement policy among its own VMs (`VMGroupPolicy`); NONE when POLICY is absent. */
export type VmGroupPolicy = 'AFFINED' | 'ANTI_AFFINED' | 'NONE';

/** One ROLE of a VM group (`VMGroupRole`): a class of VMs sharing placement constraints. */
export interface VmGroupRole {
  /** 0, 1, … in the order the roles were added; never changes. */
  readonly id: number;
  /** Unique within the group. */
  readonly name: string;
  readonly policy: VmGroupPolicy;
  /** HOST_AFFINED: the only hosts the role's VMs may run on (sorted, no duplicates; [] = any). */
  readonly hostAffined: readonly number[];
  /** HOST_ANTI_AFFINED: hosts the role's VMs must not run on (sorted, no duplicates). */
  readonly hostAntiAffined: readonly number[];
  /** VMS: the VMs in the role (sorted); a system attribute only allocate and DONE change. */
  readonly vms: readonly number[];
  /** Any other attributes written in the ROLE vector, kept as OpenNebula keeps them. */
  readonly extra: VectorValue;
}

/**
 * The roles and the template (AFFINED / ANTI_AFFINED rules and user attributes) of a VM group:
 * what the group rules read and change.
 */
export interface VmGroupContent {
  readonly roles: readonly VmGroupRole[];
  /** Without NAME and ROLE (those are the object's name and `roles`). */
  readonly template: OwnedObject['template'];
}

/** A VM group (VM_GROUP, `vm_group.xsd`): owned object, ROLES, TEMPLATE. */
export interface VmGroupRecord extends OwnedObject, VmGroupContent {}
