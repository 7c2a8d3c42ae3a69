import { aclResourceTypes, aclRights, aclRuleToHex, aclRuleToString } from '../../domain/auth/acl.js';
import type { AclRecord } from '../../domain/auth/record.js';

/**
 * ACL body (reference §2.9): ID, USER, RESOURCE, RIGHTS, ZONE as lower-case hex without 0x and
 * STRING, plus the resource types and rights spelled out.
 */
export function aclBody(rule: AclRecord): Record<string, unknown> {
  const hex = aclRuleToHex(rule);
  return {
    ID: rule.id,
    USER: hex.user,
    RESOURCE: hex.resource,
    RIGHTS: hex.rights,
    ZONE: hex.zone,
    STRING: aclRuleToString(rule),
    RESOURCE_TYPES: aclResourceTypes(rule.resource),
    RIGHT_NAMES: aclRights(rule.rights),
  };
}
