import type { Template } from '../template/types.js';

/**
 * A cluster (reference §2.9). Membership is stored on the members (host.clusterId,
 * datastore.clusters, vnet.clusters); HOSTS / DATASTORES / VNETS are derived when rendered.
 */
export interface ClusterRecord {
  readonly id: number;
  readonly name: string;
  readonly template: Template;
  readonly version: number;
}
