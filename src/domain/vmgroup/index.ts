/** VM groups (affinity): roles, AFFINED / ANTI_AFFINED rules, VM membership, the scheduler's view. */
export type { VmGroupContent, VmGroupPolicy, VmGroupRecord, VmGroupRole } from './record.js';
export {
  checkVmGroupConsistency,
  groupRules,
  MAX_ROLES,
  parseRole,
  parseVmGroupTemplate,
  roleVector,
  ruleRoleNames,
  updateVmGroupTemplate,
  vmGroupVmCount,
  type VmGroupDefinition,
  type VmGroupRuleKind,
} from './definition.js';
export {
  addVmGroupRole,
  addVmToRole,
  deleteVmGroupRole,
  removeVmFromRole,
  updateVmGroupRole,
} from './roles.js';
export { vmGroupRules, type VmGroupRoleRules, type VmGroupRules } from './rules.js';
