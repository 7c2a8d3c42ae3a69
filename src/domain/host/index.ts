/** Host rules: states, one.host.status, HOST_SHARE arithmetic, creation. */
export * from './enums.js';
export * from './status.js';
export * from './share.js';
export * from './create.js';
export type { HostRecord, HostShare } from './record.js';
