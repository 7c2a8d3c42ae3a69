import { fail, ok, type Result } from './errors.js';
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

/** `PoolObjectSQL::INVALID_NAME_CHARS`. */
export const INVALID_NAME_CHARS = '&|:\\";/\'#{}$<>';
export const MAX_NAME_LENGTH = 128;

const utf8 = new TextEncoder();

/**
 * OpenNebula's NAME rule for pool objects (`PoolObjectSQL::name_is_valid`): not empty, none of
 * `& | : \ " ; / ' # { } $ < >` (plus `extraInvalidChars`), at most 128 bytes.
 */
export function validateObjectName(
  name: string | undefined,
  extraInvalidChars = '',
  code = 'TEMPLATE_INVALID',
): Result<string> {
  if (name === undefined || name.length === 0) return fail(code, 'Invalid NAME, it cannot be empty', 'NAME');
  const invalid = INVALID_NAME_CHARS + extraInvalidChars;
  for (const char of name) {
    if (invalid.includes(char)) {
      const shown = JSON.stringify(char).slice(1, -1);
      return fail(code, `Invalid NAME, char '${shown}' is not allowed`, 'NAME');
    }
  }
  if (utf8.encode(name).length > MAX_NAME_LENGTH) {
    return fail(code, `Invalid NAME, max length is ${MAX_NAME_LENGTH} chars`, 'NAME');
  }
  return ok(name);
}
