import type { Template } from './template/types.js';

/**
 * What every owned pool object has (VM, image, template, vnet, datastore, security group):
 * OpenNebula's ID/UID/GID/NAME/PERMISSIONS header. UNAME and GNAME are not stored; they are
 * joined from the user and group pools when an object is rendered.
 */
export interface OwnedObject {
  readonly id: number;
  readonly uid: number;
  readonly gid: number;
  readonly name: string;
  /** Nine permission bits as a Unix-style octal number: 0o640 = um- u-- ---. See auth/permissions. */
  readonly permissions: number;
  /** Object lock (reference §2.1 LOCK); null when unlocked. */
  readonly lock: ObjectLock | null;
  readonly template: Template;
  /** Optimistic concurrency: incremented by the store on every update. */
  readonly version: number;
}

/** LOCKED: 1 use, 2 manage, 3 admin, 4 all. */
export interface ObjectLock {
  readonly level: 1 | 2 | 3 | 4;
  readonly owner: number;
  readonly time: number;
  readonly reqId: number;
}
