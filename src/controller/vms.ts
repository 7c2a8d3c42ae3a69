/**
 * VMs as records (`onevm` create, list, show, update, rename, chown, chmod, delete while they
 * have not reached a host). The lifecycle (deploy, poweroff, …) lives elsewhere.
 */
import { NimbusError } from '../domain/errors.js';
import { applyTemplateUpdate } from '../domain/template/index.js';
import type { Template } from '../domain/template/types.js';
import { stateLabel, VmState } from '../domain/vm/index.js';
import type { HistoryRecord, VmRecord } from '../domain/vm/record.js';
import type { Caller } from './caller.js';
import type { ControllerContext } from './context.js';
import { checkedName, ownedAuthObject, ownedListFilter, planChown, planPermissions } from './ownership.js';
import { chargeQuota, releaseQuota } from './quotas.js';
import { allocateVm, refuseRestricted, releaseVmResources, vmQuotaCharge } from './vm-allocate.js';

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
    refuseRestricted(caller, template);
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

  /**
   * Only VMs that may have been on a host have records; the rest are skipped without a query.
   * Short bodies need only the last record, which the store serves from its cache.
   */
  private async historyOf(vms: readonly VmRecord[], all: boolean): Promise<Map<number, HistoryRecord[]>> {
    const out = new Map<number, HistoryRecord[]>();
    const ids = vms.filter((vm) => !neverPlaced(vm)).map((vm) => vm.id);
    if (!all) {
      for (const [vm, record] of await this.ctx.store.history.lastOf(ids)) out.set(vm, [record]);
      return out;
    }
    for (let i = 0; i < ids.length; i += HISTORY_CHUNK) {
      for (const r of await this.ctx.store.history.list({ vmIds: ids.slice(i, i + HISTORY_CHUNK) })) {
        const list = out.get(r.oid);
        if (list === undefined) out.set(r.oid, [r]);
        else list.push(r);
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
          userTemplate: applyTemplateUpdate(vm.userTemplate, template, merge),
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
