/** Quota limits and usage (reference §11.6). */
export * from './metrics.js';
export * from './limits.js';
export * from './usage.js';
export type { DatastoreQuota, ImageQuota, NetworkQuota, QuotaSet, VmQuota } from './record.js';
