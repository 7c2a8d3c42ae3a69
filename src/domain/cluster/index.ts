/** Cluster rules: bootstrap, membership, delete. */
export * from './membership.js';
export type { ClusterRecord } from './record.js';
