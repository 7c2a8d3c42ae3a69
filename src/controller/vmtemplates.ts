/**
 * VM templates (`onetemplate`): create, list, show, update, rename, chown, chmod, clone, delete,
 * and instantiate through the shared allocate path.
 */
import { defaultPermissions, parseUmask } from '../domain/auth/permissions.js';
import { NimbusError } from '../domain/errors.js';
import { validateObjectName } from '../domain/object.js';
import { getSingle, applyTemplateUpdate, removeAttribute } from '../domain/template/index.js';
import type { Template } from '../domain/template/types.js';
import type { VmTemplateRecord } from '../domain/vmtemplate/record.js';
import type { PageResult } from '../store/index.js';
import type { Caller } from './caller.js';
import type { ControllerContext } from './context.js';
import { allocateVm, checkVmTemplate, refuseRestricted } from './vm-allocate.js';
import { checkedName, ownedAuthObject, ownedListFilter, planChown, planPermissions } from './ownership.js';

export interface InstantiateRequest {
  /** "" or undefined: `<template name>-<vmid>`; `%i` is replaced by the VM's index (0, 1 …). */
  readonly name?: string | undefined;
  readonly hold?: boolean | undefined;
  readonly multiple?: number | undefined;
  /** Merged over the template: each attribute given replaces all of that name (DISK, NIC …). */
  readonly extra?: Template | undefined;
}

export interface VmTemplateListOptions {
  readonly filter: number;
  readonly name?: string | undefined;
  readonly limit?: number | undefined;
  readonly after?: number | undefined;
}

/** A template as stored: NAME is the object's name, not an attribute. */
function withoutName(template: Template): Template {
  return Object.hasOwn(template, 'NAME') ? removeAttribute(template, 'NAME') : template;
}

export class VmTemplateService {
  constructor(private readonly ctx: ControllerContext) {}

  /** `one.template.allocate`: NAME is required; the rest is checked as far as it can be now. */
  async create(caller: Caller, template: Template): Promise<number> {
    this.ctx.authorize(caller, { operation: 'CREATE', type: 'TEMPLATE' }, 'one.template.allocate');
    const named = validateObjectName(getSingle(template, 'NAME'));
    if (!named.ok) throw new NimbusError(named.error.code, named.error.message, 'NAME');
    checkVmTemplate(template, { capacityRequired: false });
    refuseRestricted(caller, template);
    const umask = parseUmask(caller.umask);
    return this.ctx.store.vmTemplates.insert({
      uid: caller.uid,
      gid: caller.gid,
      name: named.value,
      permissions: defaultPermissions({
        uid: caller.uid,
        gid: caller.gid,
        ...(umask.ok ? { umask: umask.value } : {}),
      }),
      lock: null,
      template: withoutName(template),
      regtime: this.ctx.now(),
    });
  }

  async get(caller: Caller, id: number): Promise<VmTemplateRecord> {
    const template = await this.ctx.store.vmTemplates.get(id);
    this.ctx.authorize(
      caller,
      { operation: 'USE', object: ownedAuthObject('TEMPLATE', template), ignoreLock: true },
      'one.template.info',
    );
    return template;
  }

  async list(caller: Caller, options: VmTemplateListOptions): Promise<PageResult<VmTemplateRecord>> {
    const filter = await ownedListFilter(this.ctx, caller, 'TEMPLATE', options.filter);
    return this.ctx.store.vmTemplates.list(
      {
        ...filter,
        ...(options.name !== undefined && options.name !== '' ? { nameContains: options.name } : {}),
      },
      {
        ...(options.limit !== undefined ? { limit: options.limit } : {}),
        ...(options.after !== undefined ? { afterId: options.after } : {}),
      },
    );
  }

  /** `one.template.update`: replace or merge; NAME is changed with rename only. */
  async update(caller: Caller, id: number, template: Template, merge: boolean): Promise<void> {
    await this.ctx.store.transaction(
      async (tx) => {
        const current = await tx.vmTemplates.get(id);
        this.ctx.authorize(
          caller,
          { operation: 'MANAGE', object: ownedAuthObject('TEMPLATE', current) },
          'one.template.update',
        );
        const update = withoutName(template);
        const next = applyTemplateUpdate(current.template, update, merge);
        checkVmTemplate(next, { capacityRequired: false });
        refuseRestricted(caller, next);
        await tx.vmTemplates.update({ ...current, template: next });
      },
      { retries: 3 },
    );
  }

  async rename(caller: Caller, id: number, name: string): Promise<void> {
    const valid = checkedName(name);
    await this.ctx.store.transaction(
      async (tx) => {
        const current = await tx.vmTemplates.get(id);
        this.ctx.authorize(
          caller,
          { operation: 'MANAGE', object: ownedAuthObject('TEMPLATE', current) },
          'one.template.rename',
        );
        await tx.vmTemplates.update({ ...current, name: valid });
      },
      { retries: 3 },
    );
  }

  async chown(
    caller: Caller,
    id: number,
    request: { uid?: number | undefined; gid?: number | undefined },
  ): Promise<void> {
    await this.ctx.store.transaction(
      async (tx) => {
        const current = await tx.vmTemplates.get(id);
        const owner = await planChown(
          tx,
          this.ctx,
          caller,
          ownedAuthObject('TEMPLATE', current),
          request,
          'one.template.chown',
        );
        await tx.vmTemplates.update({ ...current, ...owner });
      },
      { retries: 3 },
    );
  }

  async chmod(caller: Caller, id: number, octet: string): Promise<void> {
    await this.ctx.store.transaction(
      async (tx) => {
        const current = await tx.vmTemplates.get(id);
        const permissions = planPermissions(
          this.ctx,
          caller,
          ownedAuthObject('TEMPLATE', current),
          octet,
          'one.template.chmod',
        );
        await tx.vmTemplates.update({ ...current, permissions });
      },
      { retries: 3 },
    );
  }

  /** `one.template.clone`: a copy owned by the caller (USE on the original, CREATE TEMPLATE). */
  async clone(caller: Caller, id: number, name: string): Promise<number> {
    const valid = checkedName(name);
    return this.ctx.store.transaction(async (tx) => {
      const source = await tx.vmTemplates.get(id);
      this.ctx.authorize(
        caller,
        [
          { operation: 'USE', object: ownedAuthObject('TEMPLATE', source) },
          { operation: 'CREATE', type: 'TEMPLATE' },
        ],
        'one.template.clone',
      );
      const umask = parseUmask(caller.umask);
      return tx.vmTemplates.insert({
        uid: caller.uid,
        gid: caller.gid,
        name: valid,
        permissions: defaultPermissions({
          uid: caller.uid,
          gid: caller.gid,
          ...(umask.ok ? { umask: umask.value } : {}),
        }),
        lock: null,
        template: source.template,
        regtime: this.ctx.now(),
      });
    });
  }

  async delete(caller: Caller, id: number): Promise<void> {
    await this.ctx.store.transaction(async (tx) => {
      const current = await tx.vmTemplates.get(id);
      this.ctx.authorize(
        caller,
        { operation: 'MANAGE', object: ownedAuthObject('TEMPLATE', current) },
        'one.template.delete',
      );
      await tx.vmTemplates.delete(id, current.version);
    });
  }

  /**
   * `one.template.instantiate`, `multiple` times in one transaction (all VMs or none). Needs USE
   * on the template; `extra` is merged over it.
   */
  async instantiate(caller: Caller, id: number, request: InstantiateRequest): Promise<number[]> {
    const count = request.multiple ?? 1;
    return this.ctx.store.transaction(
      async (tx) => {
        const source = await tx.vmTemplates.get(id);
        this.ctx.authorize(
          caller,
          { operation: 'USE', object: ownedAuthObject('TEMPLATE', source) },
          'one.template.instantiate',
        );
        // Outside the oneadmin group: what the caller adds may not set restricted attributes,
        // and neither may the template unless its owner is in the oneadmin group (oned.conf).
        if (request.extra !== undefined) refuseRestricted(caller, request.extra);
        const owner = await tx.users.find(source.uid);
        if (owner === undefined || !owner.groups.includes(0)) refuseRestricted(caller, source.template);
        const template =
          request.extra === undefined
            ? source.template
            : applyTemplateUpdate(source.template, request.extra, true);
        const ids: number[] = [];
        for (let i = 0; i < count; i++) {
          const name =
            request.name === undefined || request.name === ''
              ? undefined
              : request.name.replaceAll('%i', String(i));
          ids.push(
            await allocateVm(tx, this.ctx, caller, {
              template,
              hold: request.hold ?? false,
              name,
              defaultName: (vmId) => `${source.name}-${vmId}`,
              templateId: source.id,
              method: 'one.template.instantiate',
            }),
          );
        }
        return ids;
      },
      { retries: 3 },
    );
  }
}
