import type { ClusterMembers, ClusterRecord } from '../../domain/cluster/index.js';
import { idsBody, templateBody } from './common.js';

/** CLUSTER body (reference §2.9): members derived from the hosts, datastores and vnets. */
export function clusterBody(cluster: ClusterRecord, members: ClusterMembers): Record<string, unknown> {
  return {
    ID: cluster.id,
    NAME: cluster.name,
    HOSTS: idsBody(members.hosts),
    DATASTORES: idsBody(members.datastores),
    VNETS: idsBody(members.vnets),
    TEMPLATE: templateBody(cluster.template),
  };
}
