import { fail, ok, type Result } from '../errors.js';
import type { Template } from '../template/types.js';
import { validateObjectName } from '../object.js';
import type { HostRecord } from '../host/record.js';
import type { ClusterRecord } from './record.js';

/**
 * Cluster membership (reference §2.9, §9.1, `ClusterPool.cc`, `Cluster.cc`). Membership is stored
 * on the members: a host belongs to exactly one cluster (`clusterId`), a datastore or a virtual
 * network to any number (`clusters`). These functions return the changed member; HOSTS,
 * DATASTORES and VNETS of a cluster are derived with `clusterMembers` when it is rendered.
 */

export const DEFAULT_CLUSTER_ID = 0;
export const DEFAULT_CLUSTER_NAME = 'default';
/** IDs below 100 are reserved for system clusters; user clusters start at 100. */
export const FIRST_USER_CLUSTER_ID = 100;

/** Cluster 0 `default`, with the empty RESERVED_CPU / RESERVED_MEM every cluster carries. */
export function bootstrapCluster(): ClusterRecord {
  return newClusterRecord(DEFAULT_CLUSTER_ID, DEFAULT_CLUSTER_NAME);
}

export function newClusterRecord(id: number, name: string, template: Template = {}): ClusterRecord {
  return { id, name, template: { RESERVED_CPU: [''], RESERVED_MEM: [''], ...template }, version: 0 };
}

/** NAME of a new cluster (`ClusterPool::allocate`); uniqueness is the store's check. */
export function validateClusterName(name: string): Result<string> {
  return validateObjectName(name.trim());
}

/** A member that may be in several clusters: datastores and virtual networks. */
export interface MultiClusterMember {
  readonly clusters: readonly number[];
}

/** `one.cluster.addhost`: a host moves; it leaves whatever cluster it was in. */
export function moveHostToCluster(host: HostRecord, clusterId: number): HostRecord {
  return host.clusterId === clusterId ? host : { ...host, clusterId };
}

/** `one.cluster.delhost`: the host goes back to the default cluster. */
export function removeHostFromCluster(host: HostRecord, clusterId: number): Result<HostRecord> {
  if (host.clusterId !== clusterId) {
    return fail('CLUSTER_MEMBERSHIP', `Host ${host.id} is not in cluster ${clusterId}.`);
  }
  return ok(moveHostToCluster(host, DEFAULT_CLUSTER_ID));
}

/** `one.cluster.adddatastore` / `addvnet`: idempotent; CLUSTERS stays sorted. */
export function addToCluster<T extends MultiClusterMember>(member: T, clusterId: number): T {
  if (member.clusters.includes(clusterId)) return member;
  return { ...member, clusters: [...member.clusters, clusterId].sort((a, b) => a - b) };
}

/** `one.cluster.deldatastore` / `delvnet`: the member may end up in no cluster at all. */
export function removeFromCluster<T extends MultiClusterMember>(member: T, clusterId: number): Result<T> {
  if (!member.clusters.includes(clusterId)) {
    return fail('CLUSTER_MEMBERSHIP', `The object is not in cluster ${clusterId}.`);
  }
  return ok({ ...member, clusters: member.clusters.filter((id) => id !== clusterId) });
}

/** Is a datastore (or vnet) usable by a host of this cluster? */
export function isInCluster(member: MultiClusterMember, clusterId: number): boolean {
  return member.clusters.includes(clusterId);
}

export interface ClusterMembers {
  readonly hosts: readonly number[];
  readonly datastores: readonly number[];
  readonly vnets: readonly number[];
}

/** HOSTS / DATASTORES / VNETS of a cluster, from the members' side, sorted. */
export function clusterMembers(
  clusterId: number,
  pools: {
    readonly hosts: readonly Pick<HostRecord, 'id' | 'clusterId'>[];
    readonly datastores: readonly (MultiClusterMember & { readonly id: number })[];
    readonly vnets: readonly (MultiClusterMember & { readonly id: number })[];
  },
): ClusterMembers {
  const ids = (list: readonly { readonly id: number }[]): number[] =>
    list.map((m) => m.id).sort((a, b) => a - b);
  return {
    hosts: ids(pools.hosts.filter((h) => h.clusterId === clusterId)),
    datastores: ids(pools.datastores.filter((d) => d.clusters.includes(clusterId))),
    vnets: ids(pools.vnets.filter((v) => v.clusters.includes(clusterId))),
  };
}

/**
 * `one.cluster.delete` (`ClusterPool::drop`, `Cluster::check_drop`): system clusters (ID < 100)
 * stay; a cluster with hosts, datastores or vnets is refused with OpenNebula's message.
 */
export function checkClusterDelete(cluster: ClusterRecord, members: ClusterMembers): Result<ClusterRecord> {
  if (cluster.id < FIRST_USER_CLUSTER_ID) {
    return fail('ACTION', 'System Clusters (ID < 100) cannot be deleted.');
  }
  const counts: [number, string][] = [
    [members.hosts.length, 'hosts'],
    [members.datastores.length, 'datastores'],
    [members.vnets.length, 'vnets'],
  ];
  for (const [count, what] of counts) {
    if (count > 0) {
      return fail('CLUSTER_NOT_EMPTY', `Cluster ${cluster.id} is not empty, it contains ${count} ${what}.`);
    }
  }
  return ok(cluster);
}
