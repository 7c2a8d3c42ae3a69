import { aclRuleFromHex, checkNewAclRule, parseAclRule, type AclRuleBits } from '../domain/auth/acl.js';
import { authorizationMessage } from '../domain/auth/authorize.js';
import type { AclRecord } from '../domain/auth/record.js';
import { NimbusError } from '../domain/errors.js';
import { unwrap } from './results.js';
import type { Caller } from './caller.js';
import type { ControllerContext } from './context.js';

/** A new rule: the string form, or the hex words of `one.acl.addrule`. */
export type AclRuleInput =
  | { readonly rule: string }
  | { readonly user: string; readonly resource: string; readonly rights: string; readonly zone?: string };

/**
 * The ACL table (`oneacl`). As in OpenNebula, every `one.acl.*` call needs MANAGE on the ACL
 * object, which no rule can grant: only oneadmin and members of group 0 get through.
 */
export class AclService {
  constructor(private readonly ctx: ControllerContext) {}

  async create(caller: Caller, input: AclRuleInput): Promise<number> {
    this.requireAdmin(caller, 'one.acl.addrule');
    const parsed =
      'rule' in input
        ? parseAclRule(input.rule)
        : aclRuleFromHex({
            user: input.user,
            resource: input.resource,
            rights: input.rights,
            ...(input.zone !== undefined ? { zone: input.zone } : {}),
          });
    if (!parsed.ok) {
      const field = parsed.error.field ?? ('rule' in input ? 'rule' : undefined);
      throw new NimbusError(parsed.error.code, parsed.error.message, field);
    }
    const rule: AclRuleBits = parsed.value;
    const id = await this.ctx.store.transaction(async (tx) => {
      unwrap(checkNewAclRule(await tx.acl.list(), rule));
      return tx.acl.insert(rule);
    });
    this.ctx.acl.invalidate();
    return id;
  }

  async list(caller: Caller): Promise<AclRecord[]> {
    this.requireAdmin(caller, 'one.acl.info');
    return this.ctx.store.acl.list();
  }

  async delete(caller: Caller, id: number): Promise<void> {
    this.requireAdmin(caller, 'one.acl.delrule');
    await this.ctx.store.acl.delete(id);
    this.ctx.acl.invalidate();
  }

  private requireAdmin(caller: Caller, method: string): void {
    if (!caller.isOneadmin) {
      throw new NimbusError(
        'AUTHORIZATION',
        authorizationMessage(method, caller.uid, 'Not authorized to perform MANAGE ACL'),
      );
    }
  }
}
