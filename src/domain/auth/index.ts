/** Users, groups, permissions, ACL rules and the authorization decision (reference §11). */
export * from './permissions.js';
export * from './acl.js';
export * from './authorize.js';
export * from './users.js';
export type { AclRecord, GroupRecord, LoginToken, UserRecord } from './record.js';
