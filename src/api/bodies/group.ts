import type { GroupView } from '../../controller/groups.js';
import type { QuotaSet } from '../../domain/quota/record.js';
import { idsBody, templateBody } from './common.js';
import { quotaBody } from './user.js';

/** GROUP body (reference §2.9): ID, NAME, TEMPLATE, USERS, ADMINS, then the quota blocks. */
export function groupBody({ group, users }: GroupView): Record<string, unknown> {
  return {
    ID: group.id,
    NAME: group.name,
    TEMPLATE: templateBody(group.template),
    USERS: idsBody(users),
    ADMINS: idsBody(group.admins),
    ...quotaBody(group.quotas),
  };
}

/** The quota blocks of one user or group, as stored by OpenNebula: `QUOTAS{ID, ...blocks}`. */
export function quotasBody(id: number, quotas: QuotaSet): Record<string, unknown> {
  return { QUOTAS: { ID: id, ...quotaBody(quotas) } };
}
