import type { SubjectAuthorizer } from '../domain/auth/authorize.js';

/** The authenticated user of a request. */
export interface Caller {
  readonly uid: number;
  readonly name: string;
  /** Primary (effective) group: new objects belong to it. */
  readonly gid: number;
  /** Every group of the session. */
  readonly gids: readonly number[];
  /** uid 0 or a member of group 0. */
  readonly isOneadmin: boolean;
  /** The user template's UMASK (octal text), if any. */
  readonly umask: string | undefined;
  readonly authorizer: SubjectAuthorizer;
}
