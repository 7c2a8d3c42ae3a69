import type { GroupRecord, UserRecord } from '../domain/auth/record.js';
import { groupAuthObject, userAuthObject } from '../domain/auth/users.js';
import { NimbusError } from '../domain/errors.js';
import { checkQuotaOwner, setQuotas } from '../domain/quota/limits.js';
import { EMPTY_QUOTAS, type QuotaUsage, type VmMetric } from '../domain/quota/metrics.js';
import type { QuotaSet } from '../domain/quota/record.js';
import {
  authorizeQuota,
  releaseQuota as releaseQuotaUsage,
  vmQuotaUsage,
  type DefaultQuotas,
  type QuotaRequest,
} from '../domain/quota/usage.js';
import type { Template } from '../domain/template/types.js';
import type { Repositories } from '../store/index.js';
import { unwrap } from './results.js';
import type { Caller } from './caller.js';
import type { ControllerContext } from './context.js';

/** What an operation consumes, charged to the owner's user and group quotas (reference §11.6). */
export interface QuotaCharge {
  /** A VM: VMS=1, CPU, MEMORY (MB), RUNNING_* (allocated VMs count as running), SYSTEM_DISK_SIZE (MB). */
  readonly vm?: { readonly cpu: number; readonly memory: number; readonly systemDiskSize?: number };
  /** An image in a datastore: IMAGES=1, SIZE (MB). */
  readonly image?: { readonly datastoreId: number; readonly size: number };
  /** Leases taken per network. */
  readonly leases?: readonly { readonly networkId: number; readonly count: number }[];
  /** Images used by a VM (IMAGE quota RVMS). */
  readonly imageRvms?: readonly number[];
  /** With `vm`: whether RUNNING_* are part of it (false for a VM powered off, stopped …). */
  readonly vmRunning?: boolean;
  /**
   * Part of a VM's figures alone (no VMS): RUNNING_* when it stops or starts running, CPU/MEMORY
   * (and RUNNING_* while it runs) when it is resized.
   */
  readonly vmPart?: {
    readonly cpu: number;
    readonly memory: number;
    readonly totals: boolean;
    readonly running: boolean;
  };
}

/** Default user/group quotas (`one.userquota.update`) are not stored yet: -1 limits are unlimited. */
const NO_DEFAULT_QUOTAS: DefaultQuotas = { user: EMPTY_QUOTAS, group: EMPTY_QUOTAS };

function quotaRequest(charge: QuotaCharge): QuotaRequest {
  return {
    network: (charge.leases ?? []).map((l) => ({ id: l.networkId, leases: l.count })),
    ...(charge.vm !== undefined ? { vm: vmQuotaUsage(charge.vm, charge.vmRunning ?? true) } : {}),
    ...(charge.vmPart !== undefined ? { vm: vmPartUsage(charge.vmPart) } : {}),
    image: (charge.imageRvms ?? []).map((id) => ({ id })),
    datastore: charge.image !== undefined ? [{ id: charge.image.datastoreId, size: charge.image.size }] : [],
  };
}

function vmPartUsage(part: NonNullable<QuotaCharge['vmPart']>): QuotaUsage<VmMetric> {
  return {
    ...(part.totals ? { CPU: part.cpu, MEMORY: part.memory } : {}),
    ...(part.running ? { RUNNING_CPU: part.cpu, RUNNING_MEMORY: part.memory } : {}),
    ...(part.running && !part.totals ? { RUNNING_VMS: 1 } : {}),
  };
}

interface Owners {
  readonly user: UserRecord | undefined;
  readonly group: GroupRecord | undefined;
}

/** The owner's user and group records; uid 0 / gid 0 (and gone records) are not counted. */
async function loadOwners(tx: Repositories, owner: { uid: number; gid: number }): Promise<Owners> {
  return {
    user: owner.uid > 0 ? await tx.users.find(owner.uid) : undefined,
    group: owner.gid > 0 ? await tx.groups.find(owner.gid) : undefined,
  };
}

async function storeQuotas(
  tx: Repositories,
  owners: Owners,
  quotas: { userQuotas: QuotaSet; groupQuotas: QuotaSet },
): Promise<void> {
  if (owners.user !== undefined && owners.user.quotas !== quotas.userQuotas) {
    await tx.users.update({ ...owners.user, quotas: quotas.userQuotas });
  }
  if (owners.group !== undefined && owners.group.quotas !== quotas.groupQuotas) {
    await tx.groups.update({ ...owners.group, quotas: quotas.groupQuotas });
  }
}

/**
 * Checks the owner's user and group quotas and adds the usage, inside the caller's transaction;
 * throws AUTHORIZATION with OpenNebula's message when a limit would be passed. uid 0 / gid 0 are
 * exempt. `method` names the request in the message (`one.vm.allocate`).
 */
export async function chargeQuota(
  tx: Repositories,
  owner: { readonly uid: number; readonly gid: number },
  charge: QuotaCharge,
  method: string,
): Promise<void> {
  const owners = await loadOwners(tx, owner);
  const result = authorizeQuota(
    {
      uid: owners.user === undefined ? -1 : owner.uid,
      gid: owners.group === undefined ? -1 : owner.gid,
      userQuotas: owners.user?.quotas ?? EMPTY_QUOTAS,
      groupQuotas: owners.group?.quotas ?? EMPTY_QUOTAS,
    },
    quotaRequest(charge),
    NO_DEFAULT_QUOTAS,
    { method, callerUid: owner.uid },
  );
  await storeQuotas(tx, owners, unwrap(result));
}

/** Gives back what `chargeQuota` took (delete, failed create). Usage never goes below 0. */
export async function releaseQuota(
  tx: Repositories,
  owner: { readonly uid: number; readonly gid: number },
  charge: QuotaCharge,
): Promise<void> {
  const owners = await loadOwners(tx, owner);
  const released = releaseQuotaUsage(
    {
      uid: owners.user === undefined ? -1 : owner.uid,
      gid: owners.group === undefined ? -1 : owner.gid,
      userQuotas: owners.user?.quotas ?? EMPTY_QUOTAS,
      groupQuotas: owners.group?.quotas ?? EMPTY_QUOTAS,
    },
    quotaRequest(charge),
  );
  await storeQuotas(tx, owners, released);
}

/** Setting quota limits: `one.user.quota` and `one.group.quota` (ADMIN on the user or group). */
export class QuotaService {
  constructor(private readonly ctx: ControllerContext) {}

  async userQuotas(caller: Caller, uid: number): Promise<QuotaSet> {
    const user = await this.ctx.store.users.get(uid);
    this.ctx.authorize(caller, { operation: 'USE', object: userAuthObject(user) }, 'one.user.info');
    return user.quotas;
  }

  async groupQuotas(caller: Caller, gid: number): Promise<QuotaSet> {
    const group = await this.ctx.store.groups.get(gid);
    this.ctx.authorize(caller, { operation: 'USE', object: groupAuthObject(group) }, 'one.group.info');
    return group.quotas;
  }

  async setUserQuotas(caller: Caller, uid: number, template: Template): Promise<QuotaSet> {
    return this.ctx.store.transaction(
      async (tx) => {
        const user = await tx.users.get(uid);
        this.ctx.authorize(caller, { operation: 'ADMIN', object: userAuthObject(user) }, 'one.user.quota');
        unwrap(checkQuotaOwner({ user: uid }));
        return (await tx.users.update({ ...user, quotas: unwrap(setQuotas(user.quotas, template)) })).quotas;
      },
      { retries: 3 },
    );
  }

  async setGroupQuotas(caller: Caller, gid: number, template: Template): Promise<QuotaSet> {
    return this.ctx.store.transaction(
      async (tx) => {
        const group = await tx.groups.get(gid);
        this.ctx.authorize(caller, { operation: 'ADMIN', object: groupAuthObject(group) }, 'one.group.quota');
        unwrap(checkQuotaOwner({ group: gid }));
        return (await tx.groups.update({ ...group, quotas: unwrap(setQuotas(group.quotas, template)) }))
          .quotas;
      },
      { retries: 3 },
    );
  }
}

/** A quota template with no quota block is most likely a mistake: say so instead of doing nothing. */
export function requireQuotaBlocks(template: Template): Template {
  if (!['VM', 'DATASTORE', 'NETWORK', 'IMAGE'].some((k) => (template[k] ?? []).length > 0)) {
    throw new NimbusError(
      'INVALID_ARGUMENT',
      'the quota template has no VM, DATASTORE, NETWORK or IMAGE block, e.g. VM=[VMS=2, MEMORY=1024]',
      'template',
    );
  }
  return template;
}
