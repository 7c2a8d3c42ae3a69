import type { AuthObject } from '../domain/auth/authorize.js';
import {
  addToCluster,
  checkClusterDelete,
  clusterMembers,
  moveHostToCluster,
  newClusterRecord,
  removeFromCluster,
  removeHostFromCluster,
  validateClusterName,
  type ClusterMembers,
  type ClusterRecord,
  type MultiClusterMember,
} from '../domain/cluster/index.js';
import { NimbusError } from '../domain/errors.js';
import { validateReservations } from '../domain/host/index.js';
import { applyTemplateUpdate } from '../domain/template/index.js';
import type { Template } from '../domain/template/types.js';
import type { Repositories } from '../store/index.js';
import type { Caller } from './caller.js';
import type { ControllerContext } from './context.js';
import { datastoreAuthObject } from './datastores.js';
import { applyReservations, assertNameFree, clusterAuthObject, hostAuthObject } from './hosts.js';
import { unwrap } from './results.js';
import { vnetAuthObject } from './vnets.js';

const ALL = { limit: 1_000_000 };

export interface ClusterView {
  readonly cluster: ClusterRecord;
  readonly members: ClusterMembers;
}

/** The kinds of member a cluster has, as the REST paths and messages name them. */
export type ClusterMemberKind = 'host' | 'datastore' | 'vnet';

/**
 * Clusters (`onecluster`). Membership lives on the members (host.clusterId, datastore.clusters,
 * vnet.clusters); HOSTS / DATASTORES / VNETS are derived when a cluster is shown.
 */
export class ClusterService {
  constructor(private readonly ctx: ControllerContext) {}

  async create(caller: Caller, name: string): Promise<number> {
    this.ctx.authorize(caller, { operation: 'CREATE', type: 'CLUSTER' }, 'one.cluster.allocate');
    const valid = unwrap(validateClusterName(name));
    return this.ctx.store.transaction(async (tx) => {
      await assertNameFree(tx.clusters, 'CLUSTER', valid);
      return tx.clusters.insert(newClusterRecord(0, valid));
    });
  }

  async get(caller: Caller, id: number): Promise<ClusterView> {
    const cluster = await this.ctx.store.clusters.get(id);
    this.ctx.authorize(caller, { operation: 'USE', object: clusterAuthObject(cluster) }, 'one.cluster.info');
    const [hosts, datastores, vnets] = await Promise.all([
      this.ctx.store.hosts.list({ clusterId: id }, ALL),
      this.ctx.store.datastores.list({ clusterId: id }, ALL),
      this.ctx.store.vnets.list({ clusterId: id }, ALL),
    ]);
    const members = clusterMembers(id, {
      hosts: hosts.items,
      datastores: datastores.items,
      vnets: vnets.items,
    });
    return { cluster, members };
  }

  async list(caller: Caller, filter: { name?: string | undefined } = {}): Promise<ClusterView[]> {
    const store = this.ctx.store;
    const clusters = await store.clusters.list(
      filter.name !== undefined ? { nameContains: filter.name } : undefined,
      ALL,
    );
    const visible = clusters.items.filter((c) =>
      caller.authorizer.allows({ operation: 'USE', object: clusterAuthObject(c) }),
    );
    if (visible.length === 0) return [];
    const [hosts, datastores, vnets] = await Promise.all([
      store.hosts.list(undefined, ALL),
      store.datastores.list(undefined, ALL),
      store.vnets.list(undefined, ALL),
    ]);
    const pools = { hosts: hosts.items, datastores: datastores.items, vnets: vnets.items };
    return visible.map((cluster) => ({ cluster, members: clusterMembers(cluster.id, pools) }));
  }

  async rename(caller: Caller, id: number, name: string): Promise<void> {
    const valid = unwrap(validateClusterName(name));
    await this.modify(caller, id, 'MANAGE', 'one.cluster.rename', async (cluster, tx) => {
      await assertNameFree(tx.clusters, 'CLUSTER', valid, id);
      return { ...cluster, name: valid };
    });
  }

  /** RESERVED_CPU / RESERVED_MEM must parse; the member hosts' MAX figures follow the change. */
  async updateTemplate(caller: Caller, id: number, template: Template, merge: boolean): Promise<void> {
    unwrap(validateReservations(template));
    await this.modify(caller, id, 'MANAGE', 'one.cluster.update', async (cluster, tx) => {
      const next = { ...cluster, template: applyTemplateUpdate(cluster.template, template, merge) };
      const hosts = await tx.hosts.list({ clusterId: id }, ALL);
      for (const host of hosts.items) {
        const updated = applyReservations(host, next.template);
        if (updated.share.maxCpu !== host.share.maxCpu || updated.share.maxMem !== host.share.maxMem) {
          await tx.hosts.update(updated);
        }
      }
      return next;
    });
  }

  async delete(caller: Caller, id: number): Promise<void> {
    await this.ctx.store.transaction(async (tx) => {
      const cluster = await tx.clusters.get(id);
      this.ctx.authorize(
        caller,
        { operation: 'ADMIN', object: clusterAuthObject(cluster) },
        'one.cluster.delete',
      );
      const [hosts, datastores, vnets] = await Promise.all([
        tx.hosts.list({ clusterId: id }, ALL),
        tx.datastores.list({ clusterId: id }, ALL),
        tx.vnets.list({ clusterId: id }, ALL),
      ]);
      const members = clusterMembers(id, {
        hosts: hosts.items,
        datastores: datastores.items,
        vnets: vnets.items,
      });
      unwrap(checkClusterDelete(cluster, members));
      await tx.clusters.delete(id, cluster.version);
    });
  }

  /**
   * addhost / adddatastore / addvnet (`add`) and delhost / deldatastore / delvnet: ADMIN on the
   * cluster and on the member; a host moving between clusters also needs ADMIN on the one it
   * leaves. One transaction.
   */
  async changeMember(
    caller: Caller,
    clusterId: number,
    kind: ClusterMemberKind,
    memberId: number,
    add: boolean,
  ): Promise<void> {
    const method = `one.cluster.${add ? 'add' : 'del'}${kind}`;
    await this.ctx.store.transaction(
      async (tx) => {
        const cluster = await tx.clusters.get(clusterId);
        const auth = (object: AuthObject): void =>
          this.ctx.authorize(
            caller,
            [
              { operation: 'ADMIN', object: clusterAuthObject(cluster) },
              { operation: 'ADMIN', object },
            ],
            method,
          );
        if (kind === 'host') {
          const host = await tx.hosts.get(memberId);
          auth(hostAuthObject(host));
          let moved = host;
          if (add) {
            if (host.clusterId !== clusterId) {
              const old = await tx.clusters.find(host.clusterId);
              if (old !== undefined) {
                this.ctx.authorize(caller, { operation: 'ADMIN', object: clusterAuthObject(old) }, method);
              }
            }
            moved = applyReservations(moveHostToCluster(host, clusterId), cluster.template);
          } else {
            const result = removeHostFromCluster(host, clusterId);
            if (!result.ok) throw notMember('Host', memberId, clusterId);
            const target = await tx.clusters.find(result.value.clusterId);
            moved = applyReservations(result.value, target?.template);
          }
          if (moved !== host) await tx.hosts.update(moved);
        } else if (kind === 'datastore') {
          const ds = await tx.datastores.get(memberId);
          auth(datastoreAuthObject(ds));
          const next = membership(ds, clusterId, add, 'Datastore');
          if (next !== ds) await tx.datastores.update(next);
        } else {
          const vnet = await tx.vnets.get(memberId);
          auth(vnetAuthObject(vnet));
          const next = membership(vnet, clusterId, add, 'Virtual network');
          if (next !== vnet) await tx.vnets.update(next);
        }
      },
      { retries: 3 },
    );
  }

  private async modify(
    caller: Caller,
    id: number,
    operation: 'MANAGE' | 'ADMIN',
    method: string,
    change: (cluster: ClusterRecord, tx: Repositories) => Promise<ClusterRecord>,
  ): Promise<void> {
    await this.ctx.store.transaction(
      async (tx) => {
        const cluster = await tx.clusters.get(id);
        this.ctx.authorize(caller, { operation, object: clusterAuthObject(cluster) }, method);
        await tx.clusters.update(await change(cluster, tx));
      },
      { retries: 3 },
    );
  }
}

/** A datastore or vnet joins or leaves a cluster. */
function membership<T extends MultiClusterMember & { readonly id: number }>(
  member: T,
  clusterId: number,
  add: boolean,
  what: string,
): T {
  if (add) return addToCluster(member, clusterId);
  const result = removeFromCluster(member, clusterId);
  if (!result.ok) throw notMember(what, member.id, clusterId);
  return result.value;
}

function notMember(what: string, id: number, clusterId: number): NimbusError {
  return new NimbusError('CLUSTER_MEMBERSHIP', `${what} ${id} is not in cluster ${clusterId}.`);
}
