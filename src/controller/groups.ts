import { aclRulesEqual, aclRulesToDelete, newGroupAclRules } from '../domain/auth/acl.js';
import type { GroupRecord } from '../domain/auth/record.js';
import {
  addGroupAdmin,
  checkGroupDeletable,
  checkUniqueName,
  groupAuthObject,
  removeGroupAdmin,
  userAuthObject,
  validateGroupName,
} from '../domain/auth/users.js';
import { EMPTY_QUOTAS } from '../domain/quota/metrics.js';
import { applyTemplateUpdate } from '../domain/template/index.js';
import type { Template } from '../domain/template/types.js';
import { unwrap } from './results.js';
import type { Caller } from './caller.js';
import type { ControllerContext } from './context.js';

/** A group with its members (USERS is derived from the users' group lists). */
export interface GroupView {
  readonly group: GroupRecord;
  readonly users: readonly number[];
}

const ALL = { limit: 1_000_000 };

/** Groups (`onegroup`): create with the default ACL rules, admins, template, delete when empty. */
export class GroupService {
  constructor(private readonly ctx: ControllerContext) {}

  /** `one.group.allocate` plus the rules `onegroup create` adds: default VDC rules and the CREATE rule. */
  async create(caller: Caller, input: { name: string }): Promise<number> {
    this.ctx.authorize(caller, { operation: 'CREATE', type: 'GROUP' }, 'one.group.allocate');
    const name = unwrap(validateGroupName(input.name));
    const id = await this.ctx.store.transaction(async (tx) => {
      const same = await tx.groups.findByName(name);
      unwrap(checkUniqueName('GROUP', name, same === undefined ? [] : [same]));
      const gid = await tx.groups.insert({ name, admins: [], template: {}, quotas: EMPTY_QUOTAS });
      for (const rule of newGroupAclRules(gid)) await tx.acl.insert(rule);
      return gid;
    });
    this.ctx.acl.invalidate();
    this.ctx.names.invalidate();
    return id;
  }

  async get(caller: Caller, id: number): Promise<GroupView> {
    const group = await this.ctx.store.groups.get(id);
    this.ctx.authorize(caller, { operation: 'USE', object: groupAuthObject(group) }, 'one.group.info');
    const members = await this.ctx.store.users.list({ groupId: id }, ALL);
    return { group, users: members.items.map((u) => u.id) };
  }

  /** Groups the caller may see: its own, and all for oneadmin or where an ACL grants USE. */
  async list(caller: Caller, filter: { name?: string | undefined } = {}): Promise<GroupView[]> {
    const groups = await this.ctx.store.groups.list(
      filter.name === undefined ? undefined : { name: filter.name },
      ALL,
    );
    const visible = groups.items.filter((g) =>
      caller.authorizer.allows({ operation: 'USE', object: groupAuthObject(g) }),
    );
    const members = new Map<number, number[]>();
    for (const user of (await this.ctx.store.users.list(undefined, ALL)).items) {
      for (const gid of user.groups) members.set(gid, [...(members.get(gid) ?? []), user.id]);
    }
    return visible.map((group) => ({ group, users: members.get(group.id) ?? [] }));
  }

  async updateTemplate(caller: Caller, id: number, template: Template, merge: boolean): Promise<void> {
    await this.ctx.store.transaction(
      async (tx) => {
        const group = await tx.groups.get(id);
        this.ctx.authorize(
          caller,
          { operation: 'MANAGE', object: groupAuthObject(group) },
          'one.group.update',
        );
        await tx.groups.update({
          ...group,
          template: applyTemplateUpdate(group.template, template, merge),
        });
      },
      { retries: 3 },
    );
  }

  /** `one.group.addadmin`: the user must be a member; it gets the group admin ACL rules. */
  async addAdmin(caller: Caller, id: number, uid: number): Promise<void> {
    await this.ctx.store.transaction(
      async (tx) => {
        const group = await tx.groups.get(id);
        const user = await tx.users.get(uid);
        this.ctx.authorize(
          caller,
          [
            { operation: 'ADMIN', object: groupAuthObject(group) },
            { operation: 'MANAGE', object: userAuthObject(user) },
          ],
          'one.group.addadmin',
        );
        const change = unwrap(addGroupAdmin(group, user));
        await tx.groups.update(change.group);
        const existing = await tx.acl.list();
        for (const rule of change.rules) {
          if (!existing.some((r) => aclRulesEqual(r, rule))) await tx.acl.insert(rule);
        }
      },
      { retries: 3 },
    );
    this.ctx.acl.invalidate();
  }

  /** `one.group.deladmin`: drops the admin and its group admin ACL rules. */
  async removeAdmin(caller: Caller, id: number, uid: number): Promise<void> {
    await this.ctx.store.transaction(
      async (tx) => {
        const group = await tx.groups.get(id);
        const user = await tx.users.find(uid);
        this.ctx.authorize(
          caller,
          [
            { operation: 'ADMIN', object: groupAuthObject(group) },
            ...(user === undefined ? [] : [{ operation: 'MANAGE' as const, object: userAuthObject(user) }]),
          ],
          'one.group.deladmin',
        );
        const change = unwrap(removeGroupAdmin(group, uid));
        await tx.groups.update(change.group);
        for (const rule of await tx.acl.list()) {
          if (change.rules.some((r) => aclRulesEqual(r, rule))) await tx.acl.delete(rule.id);
        }
      },
      { retries: 3 },
    );
    this.ctx.acl.invalidate();
  }

  /** `one.group.delete`: refused for system groups and groups with users; its ACL rules go too. */
  async delete(caller: Caller, id: number): Promise<void> {
    await this.ctx.store.transaction(async (tx) => {
      const group = await tx.groups.get(id);
      this.ctx.authorize(caller, { operation: 'ADMIN', object: groupAuthObject(group) }, 'one.group.delete');
      unwrap(checkGroupDeletable(group, await tx.users.count({ groupId: id })));
      const rules = await tx.acl.list();
      const doomed = new Set([
        ...aclRulesToDelete(rules, { group: id }),
        ...aclRulesToDelete(rules, { object: { type: 'GROUP', id } }),
      ]);
      for (const ruleId of doomed) await tx.acl.delete(ruleId);
      await tx.groups.delete(id, group.version);
    });
    this.ctx.acl.invalidate();
    this.ctx.names.invalidate();
  }
}
