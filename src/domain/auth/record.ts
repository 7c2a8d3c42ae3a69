import type { Template } from '../template/types.js';
import type { QuotaSet } from '../quota/record.js';

/** A login token (reference §11.5). Only a hash of the token is stored. */
export interface LoginToken {
  readonly tokenHash: string;
  /** Epoch seconds; -1 never expires. */
  readonly expirationTime: number;
  /** Effective group, -1 for all the user's groups. */
  readonly egid: number;
}

/** A user (reference §2.9). `password` holds an argon2id hash (never the plain password). */
export interface UserRecord {
  readonly id: number;
  /** Primary group */
  readonly gid: number;
  /** All groups, primary included */
  readonly groups: readonly number[];
  readonly name: string;
  readonly password: string;
  readonly authDriver: string;
  readonly enabled: boolean;
  readonly loginTokens: readonly LoginToken[];
  readonly template: Template;
  readonly quotas: QuotaSet;
  readonly version: number;
}

/** A group (reference §2.9). USERS is derived from user.groups when rendered. */
export interface GroupRecord {
  readonly id: number;
  readonly name: string;
  readonly admins: readonly number[];
  readonly template: Template;
  readonly quotas: QuotaSet;
  readonly version: number;
}

/**
 * An ACL rule (reference §11.3) in OpenNebula's 64-bit encoding; bigint because the resource
 * bits exceed 2^53.
 */
export interface AclRecord {
  readonly id: number;
  readonly user: bigint;
  readonly resource: bigint;
  readonly rights: bigint;
  readonly zone: bigint;
}
