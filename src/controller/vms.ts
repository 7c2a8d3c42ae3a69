/**
 * VMs as records (`onevm` create, list, show, update, rename, chown, chmod, delete while they
 * have not reached a host). The lifecycle (deploy, poweroff, …) lives elsewhere.
 */
import type { AuthItem, AuthObject } from '../domain/auth/authorize.js';
import { poolFilter } from '../domain/auth/authorize.js';
import type { AclResourceType } from '../domain/auth/acl.js';
import { chmodRequestFromOctal, parseChmod, planChmod } from '../domain/auth/permissions.js';
import { groupAuthObject, userAuthObject } from '../domain/auth/users.js';
import { NimbusError } from '../domain/errors.js';
import type { OwnedObject } from '../domain/object.js';
import { validateObjectName } from '../domain/object.js';
import { mergeTemplate } from '../domain/template/index.js';
import type { Template } from '../domain/template/types.js';
import { stateLabel, VmState } from '../domain/vm/index.js';
import type { HistoryRecord, VmRecord } from '../domain/vm/record.js';
import type { OwnedFilter, Repositories, VisibleTo } from '../store/index.js';
import type { Caller } from './caller.js';
import type { ControllerContext } from './context.js';
import { chargeQuota, releaseQuota } from './quotas.js';
import { unwrap } from './results.js';
import { allocateVm, releaseVmResources, vmQuotaCharge } from './vm-allocate.js';

// -------------------------------------------------------------------------------------------------
// Owned-object helpers (VMs and VM templates share them)

/**
 * The store filter for OpenNebula's pool filter flag: -4 objects of my primary group, -3 mine,
 * -2 all I may see, -1 mine and my groups' (plus ACL grants), >= 0 that user's (as far as I may
 * see them). Visibility is the USE rule of §11 (owner, group and other bits, ACL grants).
 */
export async function ownedListFilter(
  ctx: ControllerContext,
  caller: Caller,
  type: AclResourceType,
  flag: number,
): Promise<OwnedFilter> {
  const pf = poolFilter(await ctx.acl.evaluator(), caller.authorizer.subject, type);
  const groups: VisibleTo = {
    uid: caller.uid,
    gids: pf.memberGroups,
    otherUse: false,
    aclGids: pf.groupIds,
    aclIds: pf.ids,
  };
  const visibleTo: VisibleTo | undefined = pf.all ? undefined : { ...groups, otherUse: true };
  const visible = visibleTo === undefined ? {} : { visibleTo };
  switch (flag) {
    case -4:
      return { gid: caller.gid, ...visible };
    case -3:
      return { uid: caller.uid };
    case -2:
      return visible;
    case -1:
      return { visibleTo: groups };
    default:
      if (flag < 0)
        throw new NimbusError('INVALID_ARGUMENT', `filter flag ${flag} is not -4..-1 or a user id`, 'filter');
      return { uid: flag, ...visible };
  }
}

export function ownedAuthObject(type: AclResourceType, o: OwnedObject): AuthObject {
  return { type, id: o.id, uid: o.uid, gid: o.gid, permissions: o.permissions, lock: o.lock };
}

/**
 * `one.*.chown`: the new owner and group (-1 or absent keeps them). Needs ADMIN on the object,
 * MANAGE on the new owner and USE on the new group; both must exist.
 */
export async function planChown(
  tx: Repositories,
  ctx: ControllerContext,
  caller: Caller,
  object: AuthObject,
  request: { readonly uid?: number | undefined; readonly gid?: number | undefined },
  method: string,
): Promise<{ uid: number; gid: number }> {
  const uid = request.uid ?? -1;
  const gid = request.gid ?? -1;
  const items: AuthItem[] = [{ operation: 'ADMIN', object }];
  if (uid >= 0) {
    const user = await tx.users.find(uid);
    if (user === undefined) throw new NimbusError('NOT_FOUND', `user ${uid} does not exist`, 'uid');
    items.push({ operation: 'MANAGE', object: userAuthObject(user) });
  }
  if (gid >= 0) {
    const group = await tx.groups.find(gid);
    if (group === undefined) throw new NimbusError('NOT_FOUND', `group ${gid} does not exist`, 'gid');
    items.push({ operation: 'USE', object: groupAuthObject(group) });
  }
  ctx.authorize(caller, items, method);
  return { uid: uid >= 0 ? uid : object.uid, gid: gid >= 0 ? gid : object.gid };
}

/** `one.*.chmod` with all nine bits given (octal "640" or "um-u-----"); returns the new bits. */
export function planPermissions(
  ctx: ControllerContext,
  caller: Caller,
  object: AuthObject,
  octet: string,
  method: string,
): number {
  const perms = parseChmod(octet);
  if (!perms.ok) throw new NimbusError(perms.error.code, perms.error.message, 'octet');
  const plan = unwrap(
    planChmod(object.permissions, chmodRequestFromOctal(perms.value), { isAdmin: caller.isOneadmin }),
  );
  ctx.authorize(caller, { operation: plan.operation, object }, method);
  return plan.permissions;
}

export function checkedName(name: string): string {
  const valid = validateObjectName(name);
  if (!valid.ok) throw new NimbusError(valid.error.code, valid.error.message, 'name');
  return valid.value;
}

// -------------------------------------------------------------------------------------------------
// VMs

/** States a VM holds nothing on a host in: `delete` ends it right away (terminate from PENDING). */
const DELETABLE_STATES: ReadonlySet<number> = new Set([
  VmState.INIT,
  VmState.PENDING,
  VmState.HOLD,
  VmState.CLONING,
  VmState.CLONING_FAILURE,
]);

export interface VmListOptions {
  readonly filter: number;
  /** -2 any, -1 any but DONE, or one STATE. */
  readonly state: number;
  readonly name?: string | undefined;
  readonly limit?: number | undefined;
  readonly after?: number | undefined;
  /** Every HISTORY record (extended bodies) instead of the last one per VM. */
  readonly allHistory: boolean;
}

export interface VmPage {
  readonly vms: VmRecord[];
  /** HISTORY records per VM id, by SEQ (only VMs that have any). */
  readonly history: Map<number, HistoryRecord[]>;
  readonly nextAfter: number | null;
}

/** How many VM ids go into one history query (bound parameters). */
const HISTORY_CHUNK = 5000;

function refuseDone(vm: VmRecord, verb: string): void {
  if (vm.state === VmState.DONE)
    throw new NimbusError('ACTION_NOT_ALLOWED', `cannot ${verb} VM ${vm.id}: it is DONE`);
}

export class VmService {
  constructor(private readonly ctx: ControllerContext) {}

  /** `one.vm.allocate`: PENDING, or HOLD when `hold` or SUBMIT_ON_HOLD = YES. */
  async allocate(caller: Caller, template: Template, hold: boolean): Promise<number> {
    return this.ctx.store.transaction(
      (tx) =>
        allocateVm(tx, this.ctx, caller, {
          template,
          hold,
          defaultName: (id) => `one-${id}`,
          method: 'one.vm.allocate',
        }),
      { retries: 3 },
    );
  }

  async get(caller: Caller, id: number): Promise<{ vm: VmRecord; history: HistoryRecord[] }> {
    const vm = await this.ctx.store.vms.get(id);
    this.ctx.authorize(
      caller,
      { operation: 'USE', object: ownedAuthObject('VM', vm), ignoreLock: true },
      'one.vm.info',
    );
    return { vm, history: await this.ctx.store.history.listByVm(id) };
  }

  async list(caller: Caller, options: VmListOptions): Promise<VmPage> {
    const base = await ownedListFilter(this.ctx, caller, 'VM', options.filter);
    const filter = {
      ...base,
      ...(options.state === -1
        ? { stateNot: VmState.DONE }
        : options.state >= 0
          ? { state: options.state }
          : {}),
      ...(options.name !== undefined && options.name !== '' ? { nameContains: options.name } : {}),
    };
    const page = await this.ctx.store.vms.list(filter, {
      ...(options.limit !== undefined ? { limit: options.limit } : {}),
      ...(options.after !== undefined ? { afterId: options.after } : {}),
    });
    return {
      vms: page.items,
      history: await this.historyOf(page.items, options.allHistory),
      nextAfter: page.nextAfterId,
    };
  }

  /** Only VMs that may have been on a host have records; the rest are skipped without a query. */
  private async historyOf(vms: readonly VmRecord[], all: boolean): Promise<Map<number, HistoryRecord[]>> {
    const out = new Map<number, HistoryRecord[]>();
    const ids = vms.filter((vm) => !neverPlaced(vm)).map((vm) => vm.id);
    for (let i = 0; i < ids.length; i += HISTORY_CHUNK) {
      const records = await this.ctx.store.history.list({ vmIds: ids.slice(i, i + HISTORY_CHUNK) });
      for (const r of records) {
        const list = out.get(r.oid);
        if (list === undefined) out.set(r.oid, [r]);
        else if (all) list.push(r);
        else list[0] = r;
      }
    }
    return out;
  }

  /** `one.vm.update`: USER_TEMPLATE only, replaced or merged. */
  async updateUserTemplate(caller: Caller, id: number, template: Template, merge: boolean): Promise<void> {
    await this.ctx.store.transaction(
      async (tx) => {
        const vm = await tx.vms.get(id);
        this.ctx.authorize(
          caller,
          { operation: 'MANAGE', object: ownedAuthObject('VM', vm) },
          'one.vm.update',
        );
        refuseDone(vm, 'update');
        await tx.vms.update({
          ...vm,
          userTemplate: merge ? mergeTemplate(vm.userTemplate, template) : template,
        });
      },
      { retries: 3 },
    );
  }

  async rename(caller: Caller, id: number, name: string): Promise<void> {
    const valid = checkedName(name);
    await this.ctx.store.transaction(
      async (tx) => {
        const vm = await tx.vms.get(id);
        this.ctx.authorize(
          caller,
          { operation: 'MANAGE', object: ownedAuthObject('VM', vm) },
          'one.vm.rename',
        );
        refuseDone(vm, 'rename');
        await tx.vms.update({ ...vm, name: valid });
      },
      { retries: 3 },
    );
  }

  /** `one.vm.chown`: the quota usage (VM, leases, images) moves from the old owner to the new one. */
  async chown(
    caller: Caller,
    id: number,
    request: { uid?: number | undefined; gid?: number | undefined },
  ): Promise<void> {
    await this.ctx.store.transaction(
      async (tx) => {
        const vm = await tx.vms.get(id);
        const owner = await planChown(
          tx,
          this.ctx,
          caller,
          ownedAuthObject('VM', vm),
          request,
          'one.vm.chown',
        );
        refuseDone(vm, 'chown');
        if (owner.uid === vm.uid && owner.gid === vm.gid) return;
        const charge = vmQuotaCharge(vm.template, await tx.leases.listByOwner({ kind: 'vm', id }));
        await releaseQuota(tx, { uid: vm.uid, gid: vm.gid }, charge);
        await chargeQuota(tx, owner, charge, 'one.vm.chown');
        await tx.vms.update({ ...vm, ...owner });
      },
      { retries: 3 },
    );
  }

  async chmod(caller: Caller, id: number, octet: string): Promise<void> {
    await this.ctx.store.transaction(
      async (tx) => {
        const vm = await tx.vms.get(id);
        const permissions = planPermissions(
          this.ctx,
          caller,
          ownedAuthObject('VM', vm),
          octet,
          'one.vm.chmod',
        );
        refuseDone(vm, 'chmod');
        await tx.vms.update({ ...vm, permissions });
      },
      { retries: 3 },
    );
  }

  /**
   * Ends a VM that holds nothing on a host (PENDING, HOLD, CLONING…): leases, image references
   * and quota are given back and the VM stays in the pool as DONE, as OpenNebula keeps it.
   */
  async delete(caller: Caller, id: number): Promise<void> {
    await this.ctx.store.transaction(
      async (tx) => {
        const vm = await tx.vms.get(id);
        this.ctx.authorize(
          caller,
          { operation: 'MANAGE', object: ownedAuthObject('VM', vm) },
          'one.vm.terminate',
        );
        if (!DELETABLE_STATES.has(vm.state)) {
          const label = stateLabel(vm.state, vm.lcmState);
          throw new NimbusError(
            'ACTION_NOT_ALLOWED',
            vm.state === VmState.DONE
              ? `cannot delete VM ${id}: it is already DONE`
              : `cannot delete VM ${id}: it is ${label}; delete needs PENDING, HOLD, CLONING or CLONING_FAILURE (terminate a VM that reached a host)`,
          );
        }
        await releaseVmResources(tx, this.ctx, vm);
      },
      { retries: 3 },
    );
  }
}

/** A VM that cannot have HISTORY: submitted and never deployed nor stopped. */
function neverPlaced(vm: VmRecord): boolean {
  return (
    vm.hostId === null &&
    vm.prevState === 0 &&
    vm.prevLcmState === 0 &&
    (vm.state === VmState.PENDING || vm.state === VmState.HOLD || vm.state === VmState.CLONING)
  );
}
