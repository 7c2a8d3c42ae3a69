import { aclRulesToDelete } from '../domain/auth/acl.js';
import type { UserRecord } from '../domain/auth/record.js';
import {
  changePrimaryGroup,
  checkPasswordChange,
  setUserEnabled,
  userAuthObject,
  validatePassword,
  validateUserName,
} from '../domain/auth/users.js';
import { NimbusError } from '../domain/errors.js';
import { EMPTY_QUOTAS } from '../domain/quota/metrics.js';
import { applyTemplateUpdate } from '../domain/template/index.js';
import type { Template } from '../domain/template/types.js';
import { unwrap } from './results.js';
import { hashPassword } from './auth.js';
import type { Caller } from './caller.js';
import type { ControllerContext } from './context.js';

const USERS_GID = 1;

/** Users (`oneuser`): create, password, group change, enable / disable, template, delete. */
export class UserService {
  constructor(private readonly ctx: ControllerContext) {}

  async create(
    caller: Caller,
    input: { name: string; password: string; group?: number | undefined },
  ): Promise<number> {
    const gid = input.group ?? USERS_GID;
    this.ctx.authorize(caller, { operation: 'CREATE', type: 'USER', gid }, 'one.user.allocate');
    const name = unwrap(validateUserName(input.name));
    unwrap(validatePassword(input.password));
    const group = await this.ctx.store.groups.find(gid);
    if (group === undefined) throw new NimbusError('NOT_FOUND', `group ${gid} does not exist`, 'group');
    const password = await hashPassword(input.password);
    const id = await this.ctx.store.users.insert({
      gid,
      groups: [gid],
      name,
      password,
      authDriver: 'core',
      enabled: true,
      loginTokens: [],
      template: {},
      quotas: EMPTY_QUOTAS,
    });
    this.ctx.names.invalidate();
    return id;
  }

  async get(caller: Caller, id: number): Promise<UserRecord> {
    const user = await this.ctx.store.users.get(id);
    this.ctx.authorize(caller, { operation: 'USE', object: userAuthObject(user) }, 'one.user.info');
    return user;
  }

  /** Users the caller may see: itself, and all for oneadmin or where an ACL grants USE. */
  async list(caller: Caller, filter: { name?: string | undefined } = {}): Promise<UserRecord[]> {
    const all = await this.ctx.store.users.list(
      filter.name !== undefined && filter.name !== '' ? { nameContains: filter.name } : undefined,
      { limit: 1_000_000 },
    );
    return all.items.filter((u) => caller.authorizer.allows({ operation: 'USE', object: userAuthObject(u) }));
  }

  async changePassword(caller: Caller, id: number, password: string): Promise<void> {
    await this.ctx.store.transaction(
      async (tx) => {
        const user = await tx.users.get(id);
        this.ctx.authorize(caller, { operation: 'MANAGE', object: userAuthObject(user) }, 'one.user.passwd');
        unwrap(
          checkPasswordChange(user, password, { isAdmin: caller.isOneadmin, passwordChangeAllowed: true }),
        );
        // A new password ends every session: cached credentials and login tokens.
        await tx.users.update({ ...user, password: await hashPassword(password), loginTokens: [] });
      },
      { retries: 3 },
    );
    this.ctx.forgetCredentials(id);
  }

  async changeGroup(caller: Caller, id: number, gid: number): Promise<void> {
    await this.ctx.store.transaction(
      async (tx) => {
        const user = await tx.users.get(id);
        const group = await tx.groups.find(gid);
        if (group === undefined) throw new NimbusError('NOT_FOUND', `group ${gid} does not exist`, 'group');
        this.ctx.authorize(
          caller,
          [
            { operation: 'MANAGE', object: userAuthObject(user) },
            { operation: 'MANAGE', object: { type: 'GROUP', id: gid, uid: 0, gid, permissions: 0o640 } },
          ],
          'one.user.chgrp',
        );
        await tx.users.update(unwrap(changePrimaryGroup(user, gid)));
      },
      { retries: 3 },
    );
    this.ctx.forgetCredentials(id);
  }

  async setEnabled(caller: Caller, id: number, enabled: boolean): Promise<void> {
    await this.ctx.store.transaction(
      async (tx) => {
        const user = await tx.users.get(id);
        this.ctx.authorize(caller, { operation: 'ADMIN', object: userAuthObject(user) }, 'one.user.enable');
        await tx.users.update(unwrap(setUserEnabled(user, enabled)));
      },
      { retries: 3 },
    );
    this.ctx.forgetCredentials(id);
  }

  async updateTemplate(caller: Caller, id: number, template: Template, merge: boolean): Promise<void> {
    await this.ctx.store.transaction(
      async (tx) => {
        const user = await tx.users.get(id);
        this.ctx.authorize(caller, { operation: 'MANAGE', object: userAuthObject(user) }, 'one.user.update');
        await tx.users.update({
          ...user,
          template: applyTemplateUpdate(user.template, template, merge),
        });
      },
      { retries: 3 },
    );
    this.ctx.forgetCredentials(id);
  }

  /** Refused while the user still owns objects: nothing is left orphaned. */
  async delete(caller: Caller, id: number): Promise<void> {
    await this.ctx.store.transaction(async (tx) => {
      const user = await tx.users.get(id);
      this.ctx.authorize(caller, { operation: 'ADMIN', object: userAuthObject(user) }, 'one.user.delete');
      if (id <= 1)
        throw new NimbusError('ACTION', `user [${id}] ${user.name} is a system user and cannot be deleted`);
      const owned: string[] = [];
      const vms = await tx.vms.count({ uid: id, stateNot: 6 });
      if (vms > 0) owned.push(`${vms} VMs`);
      const counts: [string, number][] = [
        ['images', await tx.images.count({ uid: id })],
        ['templates', await tx.vmTemplates.count({ uid: id })],
        ['virtual networks', await tx.vnets.count({ uid: id })],
      ];
      for (const [what, n] of counts) if (n > 0) owned.push(`${n} ${what}`);
      if (owned.length > 0) {
        throw new NimbusError(
          'IN_USE',
          `user [${id}] ${user.name} still owns ${owned.join(', ')}: chown or delete them first`,
        );
      }
      await tx.users.delete(id);
      for (const ruleId of aclRulesToDelete(await tx.acl.list(), { user: id })) await tx.acl.delete(ruleId);
    });
    this.ctx.acl.invalidate();
    this.ctx.forgetCredentials(id);
    this.ctx.names.invalidate();
  }
}
