import type { AuthObject } from '../domain/auth/authorize.js';
import type { ClusterRecord } from '../domain/cluster/record.js';
import { NimbusError } from '../domain/errors.js';
import {
  effectiveReservations,
  newHostRecord,
  setHostStatus,
  updateShareCapacity,
  validateHostCreate,
  validateReservations,
  type HostRecord,
} from '../domain/host/index.js';
import { applyTemplateUpdate } from '../domain/template/index.js';
import type { Template } from '../domain/template/types.js';
import type { Repositories } from '../store/index.js';
import type { Caller } from './caller.js';
import type { ControllerContext } from './context.js';
import { unwrap } from './results.js';
import { sha256 } from './agents/hub.js';
import { randomBytes } from 'node:crypto';

/** A join token is good for a day. */
export const JOIN_TOKEN_TTL_S = 86_400;

/** VM STATE DONE: such VMs no longer hold a host. */
const VM_DONE = 6;

/**
 * Hosts have no owner: OpenNebula authorizes them as objects of uid 0 / gid 0 with the pool's
 * default permissions (um- --- ---), so only ACL rules give rights to anyone but oneadmin.
 * `%cid` rules match the host's cluster.
 */
export function hostAuthObject(host: Pick<HostRecord, 'id' | 'clusterId'>): AuthObject {
  return { type: 'HOST', id: host.id, uid: 0, gid: 0, permissions: 0o600, clusterIds: [host.clusterId] };
}

/** Clusters have no owner either (`Cluster::Cluster`: uid -1, gid -1). */
export function clusterAuthObject(cluster: Pick<ClusterRecord, 'id'>): AuthObject {
  return { type: 'CLUSTER', id: cluster.id, uid: -1, gid: -1, permissions: 0o600 };
}

/**
 * OpenNebula's refusal of a taken name, `NAME is already taken by HOST 0.` (the store's unique
 * index stays the guarantee under concurrency).
 */
export async function assertNameFree(
  pool: { findByName(name: string): Promise<{ readonly id: number } | undefined> },
  kind: 'HOST' | 'CLUSTER' | 'DATASTORE',
  name: string,
  self?: number,
): Promise<void> {
  const other = await pool.findByName(name);
  if (other !== undefined && other.id !== self) {
    throw new NimbusError('NAME_TAKEN', `NAME is already taken by ${kind} ${other.id}.`, 'NAME');
  }
}

/** MAX_CPU / MAX_MEM again from the reservations in effect (host template over cluster's). */
export function applyReservations(host: HostRecord, clusterTemplate: Template | undefined): HostRecord {
  const reserved = effectiveReservations(host.template, clusterTemplate);
  const share = updateShareCapacity(host.share, {
    totalCpu: host.share.totalCpu,
    totalMem: host.share.totalMem,
    ...(reserved.cpu !== undefined ? { reservedCpu: reserved.cpu } : {}),
    ...(reserved.mem !== undefined ? { reservedMem: reserved.mem } : {}),
  });
  return { ...host, share };
}

export interface HostListFilter {
  readonly cluster?: number | undefined;
  readonly state?: number | undefined;
  readonly name?: string | undefined;
}

/** Hosts (`onehost`): create, list, show, enable / disable / offline, template, rename, delete. */
export class HostService {
  constructor(private readonly ctx: ControllerContext) {}

  async create(
    caller: Caller,
    input: { name: string; im: string; vm: string; cluster?: number | undefined },
  ): Promise<number> {
    this.ctx.authorize(caller, { operation: 'CREATE', type: 'HOST' }, 'one.host.allocate');
    const spec = unwrap(
      validateHostCreate({ name: input.name, imMad: input.im, vmMad: input.vm, clusterId: input.cluster }),
    );
    return this.ctx.store.transaction(async (tx) => {
      const cluster = await tx.clusters.get(spec.clusterId);
      this.ctx.authorize(
        caller,
        { operation: 'ADMIN', object: clusterAuthObject(cluster) },
        'one.host.allocate',
      );
      await assertNameFree(tx.hosts, 'HOST', spec.name);
      return tx.hosts.insert(applyReservations(newHostRecord(spec, 0), cluster.template));
    });
  }

  /**
   * A new one-time join token for the host's agent (`nimbus host create` prints it; a lost or
   * expired one is replaced here). Stored as its SHA-256; the host key issued at join stays valid
   * until the token is used.
   */
  async issueJoinToken(caller: Caller, id: number): Promise<{ token: string; expires: number }> {
    return this.ctx.store.transaction(async (tx) => {
      const host = await tx.hosts.get(id);
      this.ctx.authorize(caller, { operation: 'ADMIN', object: hostAuthObject(host) }, 'one.host.allocate');
      const token = randomBytes(32).toString('base64url');
      const expires = Math.floor(this.ctx.now()) + JOIN_TOKEN_TTL_S;
      const previous = await tx.hostCredentials.get(id);
      await tx.hostCredentials.put({
        hostId: id,
        tokenHash: sha256(token),
        tokenExpires: expires,
        keyHash: previous?.keyHash ?? null,
      });
      return { token, expires };
    });
  }

  async get(caller: Caller, id: number): Promise<HostRecord> {
    const host = await this.ctx.store.hosts.get(id);
    this.ctx.authorize(caller, { operation: 'USE', object: hostAuthObject(host) }, 'one.host.info');
    return host;
  }

  /** Hosts the caller may USE: all for oneadmin, else what ACL rules grant. */
  async list(caller: Caller, filter: HostListFilter = {}): Promise<HostRecord[]> {
    const all = await this.ctx.store.hosts.list(
      {
        ...(filter.cluster !== undefined ? { clusterId: filter.cluster } : {}),
        ...(filter.state !== undefined ? { state: filter.state } : {}),
        ...(filter.name !== undefined ? { nameContains: filter.name } : {}),
      },
      { limit: 1_000_000 },
    );
    return all.items.filter((h) => caller.authorizer.allows({ operation: 'USE', object: hostAuthObject(h) }));
  }

  /** Cluster names for the CLUSTER field. */
  async clusterNames(): Promise<Map<number, string>> {
    const clusters = await this.ctx.store.clusters.list(undefined, { limit: 1_000_000 });
    return new Map(clusters.items.map((c) => [c.id, c.name]));
  }

  /** `one.host.status`: 0 enable, 1 disable, 2 offline. */
  async setStatus(caller: Caller, id: number, status: number): Promise<void> {
    await this.modify(caller, id, 'one.host.status', (host) => unwrap(setHostStatus(host, status)));
  }

  async updateTemplate(caller: Caller, id: number, template: Template, merge: boolean): Promise<void> {
    unwrap(validateReservations(template));
    await this.modify(caller, id, 'one.host.update', async (host, tx) => {
      const next = applyTemplateUpdate(host.template, template, merge);
      const cluster = await tx.clusters.find(host.clusterId);
      return applyReservations({ ...host, template: next }, cluster?.template);
    });
  }

  async rename(caller: Caller, id: number, name: string): Promise<void> {
    await this.modify(caller, id, 'one.host.rename', async (host, tx) => {
      const spec = unwrap(validateHostCreate({ name, imMad: host.imMad, vmMad: host.vmMad }));
      await assertNameFree(tx.hosts, 'HOST', spec.name, id);
      return { ...host, name: spec.name };
    });
  }

  /** Refused while VMs are placed on the host, as OpenNebula. */
  async delete(caller: Caller, id: number): Promise<void> {
    await this.ctx.store.transaction(async (tx) => {
      const host = await tx.hosts.get(id);
      this.ctx.authorize(caller, { operation: 'ADMIN', object: hostAuthObject(host) }, 'one.host.delete');
      const vms = Math.max(host.vms.length, await tx.vms.count({ hostId: id, stateNot: VM_DONE }));
      if (vms > 0) {
        throw new NimbusError(
          'IN_USE',
          `Can not remove a host with running VMs: host ${id} "${host.name}" has ${vms}; migrate or terminate them first`,
        );
      }
      await tx.hosts.delete(id, host.version);
    });
  }

  /** One read-modify-write of a host, with ADMIN on it (OpenNebula's level for host changes). */
  private async modify(
    caller: Caller,
    id: number,
    method: string,
    change: (host: HostRecord, tx: Repositories) => HostRecord | Promise<HostRecord>,
  ): Promise<void> {
    await this.ctx.store.transaction(
      async (tx) => {
        const host = await tx.hosts.get(id);
        this.ctx.authorize(caller, { operation: 'ADMIN', object: hostAuthObject(host) }, method);
        const next = await change(host, tx);
        if (next !== host) await tx.hosts.update(next);
      },
      { retries: 3 },
    );
  }
}
