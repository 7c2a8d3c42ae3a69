/**
 * Object permissions (reference §11.2, §2.1 PERMISSIONS): nine bits, owner/group/other × USE,
 * MANAGE, ADMIN, kept as a Unix-style octal number (U=4, M=2, A=1 per digit; 0o640 = um- u-- ---).
 * Conversions to OpenNebula's PERMISSIONS fields and the CLI string, chmod input, default
 * permissions of a new object (`PoolObjectSQL::set_umask`) and the chmod rules
 * (`RequestManagerChmod`).
 */
import { fail, ok, type Result } from '../errors.js';

/** OpenNebula's PERMISSIONS element names, in serializer order. */
export const PERMISSION_FIELDS = [
  'OWNER_U',
  'OWNER_M',
  'OWNER_A',
  'GROUP_U',
  'GROUP_M',
  'GROUP_A',
  'OTHER_U',
  'OTHER_M',
  'OTHER_A',
] as const;

export type PermissionField = (typeof PERMISSION_FIELDS)[number];
export type PermissionBit = 0 | 1;
export type PermissionFields = Readonly<Record<PermissionField, PermissionBit>>;

/** The octal bit of each field: OWNER_U = 0o400 … OTHER_A = 0o001. */
export const PERMISSION_FIELD_BITS: Readonly<Record<PermissionField, number>> = {
  OWNER_U: 0o400,
  OWNER_M: 0o200,
  OWNER_A: 0o100,
  GROUP_U: 0o040,
  GROUP_M: 0o020,
  GROUP_A: 0o010,
  OTHER_U: 0o004,
  OTHER_M: 0o002,
  OTHER_A: 0o001,
};

export const ALL_PERMISSIONS = 0o777;
/** `DEFAULT_UMASK = 177` in the shipped 6.10 oned.conf (reference §13.16). */
export const DEFAULT_UMASK = 0o177;

const LETTERS = ['u', 'm', 'a'] as const;

function assertPermissions(perms: number): void {
  if (!Number.isInteger(perms) || perms < 0 || perms > ALL_PERMISSIONS) {
    throw new RangeError(`permissions must be an integer 0..0o777, got ${perms}`);
  }
}

export function permissionsToFields(perms: number): PermissionFields {
  assertPermissions(perms);
  const fields = {} as Record<PermissionField, PermissionBit>;
  for (const field of PERMISSION_FIELDS) {
    fields[field] = (perms & PERMISSION_FIELD_BITS[field]) !== 0 ? 1 : 0;
  }
  return fields;
}

export function permissionsFromFields(fields: PermissionFields): number {
  let perms = 0;
  for (const field of PERMISSION_FIELDS) {
    if (fields[field] === 1) perms |= PERMISSION_FIELD_BITS[field];
  }
  return perms;
}

/** One triplet as the CLI prints it (`onevm show`: `OWNER : um-`). */
export function permissionTriplet(digit: number): string {
  return LETTERS.map((letter, i) => ((digit & (4 >> i)) !== 0 ? letter : '-')).join('');
}

/** `um-u-----` for 0o640: owner, group and other triplets. */
export function permissionsToString(perms: number): string {
  assertPermissions(perms);
  return permissionTriplet(perms >> 6) + permissionTriplet((perms >> 3) & 7) + permissionTriplet(perms & 7);
}

/** The three triplets separately, as `onevm show` lists them under PERMISSIONS. */
export function permissionsToTriplets(perms: number): { owner: string; group: string; other: string } {
  assertPermissions(perms);
  return {
    owner: permissionTriplet(perms >> 6),
    group: permissionTriplet((perms >> 3) & 7),
    other: permissionTriplet(perms & 7),
  };
}

/** `640` for 0o640 (always three digits, as `onevm chmod` takes it). */
export function permissionsToOctal(perms: number): string {
  assertPermissions(perms);
  return perms.toString(8).padStart(3, '0');
}

/** Parses the nine-letter CLI form `um-u-----`. */
export function permissionsFromString(text: string): Result<number> {
  if (!/^[u-][m-][a-][u-][m-][a-][u-][m-][a-]$/.test(text)) {
    return fail(
      'INVALID_ARGUMENT',
      `Invalid permissions "${text}": expected nine letters like um-u----- (u, m, a or - for owner, group, other)`,
    );
  }
  let perms = 0;
  for (let i = 0; i < 9; i++) {
    if (text[i] !== '-') perms |= 0o400 >> i;
  }
  return ok(perms);
}

/**
 * Chmod input: three octal digits ("640"; "0640" is accepted too), a number already holding the
 * bits (0o640), or the nine-letter form ("um-u-----").
 */
export function parseChmod(input: string | number): Result<number> {
  if (typeof input === 'number') {
    if (!Number.isInteger(input) || input < 0 || input > ALL_PERMISSIONS) {
      return fail('INVALID_ARGUMENT', `Invalid permissions ${input}: expected 0..0o777 (octal 000..777)`);
    }
    return ok(input);
  }
  const text = input.trim();
  if (/^0?[0-7]{3}$/.test(text)) return ok(parseInt(text, 8));
  if (text.length === 9 && /^[uma-]+$/.test(text)) return permissionsFromString(text);
  return fail(
    'INVALID_ARGUMENT',
    `Invalid permissions "${input}": expected three octal digits like 640 or um-u-----`,
  );
}

/** A umask from a user template `UMASK` value (octal text, as `User::get_umask` reads it). */
export function parseUmask(value: string | undefined, fallback: number = DEFAULT_UMASK): Result<number> {
  if (value === undefined || value.trim() === '') return ok(fallback);
  const text = value.trim();
  if (!/^[0-7]{1,4}$/.test(text) || parseInt(text, 8) > ALL_PERMISSIONS) {
    return fail(
      'INVALID_ARGUMENT',
      `Invalid UMASK "${value}": expected three octal digits like 177`,
      'UMASK',
    );
  }
  return ok(parseInt(text, 8));
}

export interface DefaultPermissionsInput {
  /** Owner and group of the new object. */
  readonly uid: number;
  readonly gid: number;
  /** The creating user's umask: template UMASK, else oned.conf DEFAULT_UMASK. */
  readonly umask?: number;
  /** oned.conf ENABLE_OTHER_PERMISSIONS; OpenNebula's default is YES. */
  readonly enableOtherPermissions?: boolean;
}

/**
 * Permissions of a new object, as `PoolObjectSQL::set_umask`: 777 when owned by oneadmin (uid 0)
 * or the oneadmin group (gid 0), else 666 (660 when ENABLE_OTHER_PERMISSIONS is NO), masked by
 * the umask. With the default umask 177 that is 600.
 */
export function defaultPermissions(input: DefaultPermissionsInput): number {
  const umask = input.umask ?? DEFAULT_UMASK;
  let base: number;
  if (input.uid === 0 || input.gid === 0) base = 0o777;
  else if (input.enableOtherPermissions ?? true) base = 0o666;
  else base = 0o660;
  return base & ~umask & ALL_PERMISSIONS;
}

/** `one.*.chmod` arguments: one value per field, 1 set, 0 clear, -1 keep. */
export type ChmodRequest = Readonly<Record<PermissionField, number>>;

/** A chmod request that sets all nine bits to the given octal value (`onevm chmod 7 640`). */
export function chmodRequestFromOctal(perms: number): ChmodRequest {
  return permissionsToFields(perms);
}

export interface ChmodPlan {
  /** The permissions after the change. */
  readonly permissions: number;
  /** Right the caller needs on the object: ADMIN when any *_A bit changes, else MANAGE. */
  readonly operation: 'MANAGE' | 'ADMIN';
}

export interface ChmodContext {
  /** oned.conf ENABLE_OTHER_PERMISSIONS (default YES). */
  readonly enableOtherPermissions?: boolean;
  /** The caller is oneadmin or in the oneadmin group. */
  readonly isAdmin: boolean;
}

/**
 * Applies a chmod request as `RequestManagerChmod` does: values must be -1, 0 or 1; unchanged
 * ADMIN and OTHER bits are ignored; changing an ADMIN bit needs ADMIN on the object, anything
 * else MANAGE; changing OTHER bits is refused to non-admins when ENABLE_OTHER_PERMISSIONS is NO.
 */
export function planChmod(current: number, request: ChmodRequest, context: ChmodContext): Result<ChmodPlan> {
  assertPermissions(current);
  for (const field of PERMISSION_FIELDS) {
    const value = request[field];
    if (value !== -1 && value !== 0 && value !== 1) {
      return fail('INVALID_ARGUMENT', 'New permission values must be -1, 0 or 1', field);
    }
  }
  const before = permissionsToFields(current);
  const changes = (field: PermissionField): boolean =>
    request[field] !== -1 && request[field] !== before[field];

  const adminChange = changes('OWNER_A') || changes('GROUP_A') || changes('OTHER_A');
  const otherChange = changes('OTHER_U') || changes('OTHER_M') || changes('OTHER_A');

  if (otherChange && !(context.enableOtherPermissions ?? true) && !context.isAdmin) {
    return fail('AUTHORIZATION', "'other' permissions is disabled in oned.conf");
  }

  let permissions = current;
  for (const field of PERMISSION_FIELDS) {
    const bit = PERMISSION_FIELD_BITS[field];
    if (request[field] === 1) permissions |= bit;
    else if (request[field] === 0) permissions &= ~bit;
  }
  return ok({ permissions, operation: adminChange ? 'ADMIN' : 'MANAGE' });
}
