/**
 * Users and groups as pure rules (reference §11.1, §11.4, §11.5): names, bootstrap identities,
 * membership, enable/disable, group admins, deletion, login tokens, and which secrets a caller
 * may read. Hashing and token generation happen in the controller; these functions receive hashes.
 */
import { fail, ok, type Result } from '../errors.js';
import { validateObjectName } from '../object.js';
import { EMPTY_QUOTAS } from '../quota/metrics.js';
import { groupAdminAclRules, type AclRuleBits } from './acl.js';
import { isOneadmin, ONEADMIN_GID, ONEADMIN_UID, type AuthObject, type AuthSubject } from './authorize.js';
import type { GroupRecord, LoginToken, UserRecord } from './record.js';

export const SERVERADMIN_UID = 1;
export const USERS_GID = 1;
export const ONEADMIN_NAME = 'oneadmin';
export const SERVERADMIN_NAME = 'serveradmin';
/** Group IDs below this are system groups: created at bootstrap, never deleted. */
export const FIRST_USER_GROUP_ID = 100;
/** `LoginTokenPool::MAX_TOKENS`. */
export const MAX_LOGIN_TOKENS = 10;
export const CORE_AUTH_DRIVER = 'core';

// ---------------------------------------------------------------------------------------------
// Names and passwords
// ---------------------------------------------------------------------------------------------

/** Extra characters a user name may not contain (`User::INVALID_NAME_CHARS`). */
export const INVALID_USER_NAME_CHARS = ' :\t\n\v\f\r';
/** `User::INVALID_PASS_CHARS`. */
export const INVALID_PASSWORD_CHARS = ' \t\n\v\f\r';

function shown(char: string): string {
  return JSON.stringify(char).slice(1, -1);
}

/** `PoolObjectSQL::name_is_valid` with the XML-RPC error code OpenNebula uses for users and groups. */
function validateName(name: string, extraInvalidChars = ''): Result<string> {
  return validateObjectName(name, extraInvalidChars, 'INVALID_ARGUMENT');
}

/** User names also refuse blanks and `:` (the session string separator). */
export function validateUserName(name: string): Result<string> {
  return validateName(name, INVALID_USER_NAME_CHARS);
}

export function validateGroupName(name: string): Result<string> {
  return validateName(name);
}

/**
 * `User::pass_is_valid`: not empty, no blanks. Drivers with PASSWORD_REQUIRED = NO (ldap) accept
 * an empty password.
 */
export function validatePassword(
  password: string,
  options: { passwordRequired?: boolean } = {},
): Result<string> {
  if (options.passwordRequired === false && password === '') return ok(password);
  if (password.length === 0)
    return fail('INVALID_ARGUMENT', 'Invalid password, it cannot be empty', 'PASSWORD');
  for (const char of password) {
    if (INVALID_PASSWORD_CHARS.includes(char)) {
      return fail(
        'INVALID_ARGUMENT',
        `Invalid password, character '${shown(char)}' is not allowed`,
        'PASSWORD',
      );
    }
  }
  return ok(password);
}

/** `NAME is already taken by USER 4.` when another user has this name. */
export function checkUniqueName(
  kind: 'USER' | 'GROUP',
  name: string,
  existing: readonly { readonly id: number; readonly name: string }[],
): Result<string> {
  const other = existing.find((o) => o.name === name);
  return other === undefined
    ? ok(name)
    : fail('ACTION', `NAME is already taken by ${kind} ${other.id}.`, 'NAME');
}

// ---------------------------------------------------------------------------------------------
// Bootstrap identities (§11.1)
// ---------------------------------------------------------------------------------------------

export interface BootstrapInput {
  /** Name from one_auth at first start; `serveradmin` is reserved. */
  readonly oneadminName?: string;
  /** Stored password values (hashes for core), made by the controller. */
  readonly oneadminPassword: string;
  readonly serveradminPassword: string;
}

/** Users 0 oneadmin (core) and 1 serveradmin (server_cipher), groups 0 oneadmin and 1 users. */
export function bootstrapIdentities(
  input: BootstrapInput,
): Result<{ users: UserRecord[]; groups: GroupRecord[] }> {
  const oneadminName = input.oneadminName ?? ONEADMIN_NAME;
  if (oneadminName === SERVERADMIN_NAME) return fail('ACTION', `The name '${SERVERADMIN_NAME}' is reserved`);
  const valid = validateUserName(oneadminName);
  if (!valid.ok) return valid;

  const user = (id: number, name: string, password: string, authDriver: string): UserRecord => ({
    id,
    gid: ONEADMIN_GID,
    groups: [ONEADMIN_GID],
    name,
    password,
    authDriver,
    enabled: true,
    loginTokens: [],
    template: {},
    quotas: EMPTY_QUOTAS,
    version: 0,
  });
  const group = (id: number, name: string): GroupRecord => ({
    id,
    name,
    admins: [],
    template: {},
    quotas: EMPTY_QUOTAS,
    version: 0,
  });
  return ok({
    users: [
      user(ONEADMIN_UID, oneadminName, input.oneadminPassword, CORE_AUTH_DRIVER),
      user(SERVERADMIN_UID, SERVERADMIN_NAME, input.serveradminPassword, 'server_cipher'),
    ],
    groups: [group(ONEADMIN_GID, 'oneadmin'), group(USERS_GID, 'users')],
  });
}

// ---------------------------------------------------------------------------------------------
// Users and groups as authorization objects
// ---------------------------------------------------------------------------------------------

/** A user owns itself; its group is its primary group; permissions um- --- ---. */
export function userAuthObject(user: Pick<UserRecord, 'id' | 'gid'>): AuthObject {
  return { type: 'USER', id: user.id, uid: user.id, gid: user.gid, permissions: 0o600 };
}

/** A group has no owner and lets its members USE it (`Group::Group`: group_u = 1). */
export function groupAuthObject(group: Pick<GroupRecord, 'id'>): AuthObject {
  return { type: 'GROUP', id: group.id, uid: -1, gid: group.id, permissions: 0o640 };
}

// ---------------------------------------------------------------------------------------------
// Membership
// ---------------------------------------------------------------------------------------------

export interface GroupChangeOptions {
  /** AUTH_MAD_CONF DRIVER_MANAGED_GROUPS of the user's driver (ldap: YES). */
  readonly driverManagedGroups?: boolean;
}

const sortedUnique = (ids: Iterable<number>): number[] => [...new Set(ids)].sort((a, b) => a - b);

function driverManaged(user: UserRecord, options: GroupChangeOptions): Result<never> | null {
  return options.driverManagedGroups === true
    ? fail('ACTION', `Groups cannot be manually managed for auth driver ${user.authDriver}`)
    : null;
}

/**
 * `one.user.chgrp`: the new group becomes primary. When it was not a group of the user yet, the
 * user joins it and leaves the old primary group; when it was a secondary group, the old primary
 * group stays as a secondary one. oneadmin never leaves group 0.
 */
export function changePrimaryGroup(
  user: UserRecord,
  gid: number,
  options: GroupChangeOptions = {},
): Result<UserRecord> {
  if (gid < 0) return fail('INVALID_ARGUMENT', 'Wrong group ID');
  const isNewGroup = !user.groups.includes(gid);
  if (isNewGroup) {
    const refused = driverManaged(user, options);
    if (refused !== null) return refused;
  }
  if (user.id === ONEADMIN_UID) {
    return fail(
      'ACTION',
      `user [${ONEADMIN_UID}] ${user.name} cannot be moved outside of the group [${ONEADMIN_GID}] oneadmin`,
    );
  }
  if (user.gid === gid) return ok(user);
  const groups = isNewGroup ? [...user.groups.filter((g) => g !== user.gid), gid] : user.groups;
  return ok({ ...user, gid, groups: sortedUnique(groups) });
}

/** `one.user.addgroup`. */
export function addSecondaryGroup(
  user: UserRecord,
  gid: number,
  options: GroupChangeOptions = {},
): Result<UserRecord> {
  const refused = driverManaged(user, options);
  if (refused !== null) return refused;
  if (user.groups.includes(gid)) return fail('ACTION', 'User is already in this group');
  return ok({ ...user, groups: sortedUnique([...user.groups, gid]) });
}

/** `one.user.delgroup`: the primary group cannot be removed. */
export function removeSecondaryGroup(
  user: UserRecord,
  gid: number,
  options: GroupChangeOptions = {},
): Result<UserRecord> {
  const refused = driverManaged(user, options);
  if (refused !== null) return refused;
  if (!user.groups.includes(gid)) return fail('ACTION', 'User is not part of this group');
  if (user.gid === gid) return fail('ACTION', 'Cannot remove user from the primary group');
  return ok({ ...user, groups: user.groups.filter((g) => g !== gid) });
}

/** `one.group.addadmin`: the user must be a member; returns the group and the ACL rules to add. */
export function addGroupAdmin(
  group: GroupRecord,
  user: Pick<UserRecord, 'id' | 'groups'>,
): Result<{ group: GroupRecord; rules: AclRuleBits[] }> {
  if (!user.groups.includes(group.id))
    return fail('ACTION', `User ${user.id} is not part of Group ${group.id}.`);
  if (group.admins.includes(user.id)) {
    return fail('ACTION', `User ${user.id} is already an administrator of Group ${group.id}.`);
  }
  return ok({
    group: { ...group, admins: sortedUnique([...group.admins, user.id]) },
    rules: groupAdminAclRules(user.id, group.id),
  });
}

/** `one.group.deladmin`: returns the group and the ACL rules to delete. */
export function removeGroupAdmin(
  group: GroupRecord,
  uid: number,
): Result<{ group: GroupRecord; rules: AclRuleBits[] }> {
  if (!group.admins.includes(uid))
    return fail('ACTION', `User ${uid} is not an administrator of Group ${group.id}.`);
  return ok({
    group: { ...group, admins: group.admins.filter((a) => a !== uid) },
    rules: groupAdminAclRules(uid, group.id),
  });
}

/** `one.group.delete`: system groups (ID < 100) stay, and a group with members stays. */
export function checkGroupDeletable(group: Pick<GroupRecord, 'id'>, memberCount: number): Result<void> {
  if (group.id < FIRST_USER_GROUP_ID) return fail('ACTION', 'System Groups (ID < 100) cannot be deleted.');
  if (memberCount > 0) return fail('ACTION', `Group ${group.id} is not empty.`);
  return ok(undefined);
}

/** `one.user.delete`: oneadmin stays. */
export function checkUserDeletable(user: Pick<UserRecord, 'id'>): Result<void> {
  return user.id === ONEADMIN_UID ? fail('ACTION', 'oneadmin cannot be deleted.') : ok(undefined);
}

/** `one.user.enable`: oneadmin cannot be disabled (nor enabled); no change is a success. */
export function setUserEnabled(user: UserRecord, enabled: boolean): Result<UserRecord> {
  if (user.id === ONEADMIN_UID) return fail('ACTION', 'Cannot enable/disable oneadmin user');
  return ok(user.enabled === enabled ? user : { ...user, enabled });
}

/**
 * `one.user.passwd`: drivers with PASSWORD_CHANGE = NO only let admins change it. A changed
 * password also drops the user's login tokens (reference §11.4).
 */
export function checkPasswordChange(
  user: Pick<UserRecord, 'authDriver'>,
  password: string,
  context: { isAdmin: boolean; passwordChangeAllowed: boolean; passwordRequired?: boolean },
): Result<string> {
  if (!context.passwordChangeAllowed && !context.isAdmin) {
    return fail('ACTION', `Password for driver ${user.authDriver} cannot be changed.`);
  }
  return validatePassword(
    password,
    context.passwordRequired === undefined ? {} : { passwordRequired: context.passwordRequired },
  );
}

// ---------------------------------------------------------------------------------------------
// Login tokens (§11.5)
// ---------------------------------------------------------------------------------------------

export function isLoginTokenExpired(token: LoginToken, now: number): boolean {
  return token.expirationTime !== -1 && now > token.expirationTime;
}

/** A token authenticates while it never expires or `now` is before its expiration. */
export function isLoginTokenValid(token: LoginToken, now: number): boolean {
  return token.expirationTime === -1 || now < token.expirationTime;
}

export function pruneExpiredLoginTokens(tokens: readonly LoginToken[], now: number): LoginToken[] {
  return tokens.filter((t) => !isLoginTokenExpired(t, now));
}

/** The valid token with this hash, if any (for `user:token` sessions). */
export function findLoginToken(
  tokens: readonly LoginToken[],
  tokenHash: string,
  now: number,
): LoginToken | null {
  return tokens.find((t) => t.tokenHash === tokenHash && isLoginTokenValid(t, now)) ?? null;
}

/** Groups of a session: all the user's groups, or only the EGID of a group-scoped token. */
export function sessionGroups(
  user: Pick<UserRecord, 'gid' | 'groups'>,
  token: Pick<LoginToken, 'egid'> | null,
): { gid: number; gids: number[] } {
  if (token === null || token.egid === -1) return { gid: user.gid, gids: [...user.groups] };
  return { gid: token.egid, gids: [token.egid] };
}

export interface LoginRequest {
  /** Hash of the presented token, or of the one the controller generated when none was given. */
  readonly tokenHash: string;
  /** `one.user.login` valid: seconds, -1 never expires, 0 deletes the token (all with no token). */
  readonly valid: number;
  /** Group to scope the token to, -1 for all the user's groups. */
  readonly egid: number;
  /** True when the caller gave no token ("") — with valid 0 that drops every token. */
  readonly noTokenGiven?: boolean;
}

export interface LoginContext {
  /** Epoch seconds. */
  readonly now: number;
  /** AUTH_MAD_CONF MAX_TOKEN_TIME of the user's driver: -1 no cap, 0 tokens disabled. */
  readonly maxTokenTime: number;
  /** Groups of the session making the request (its EGID when scoped). */
  readonly sessionGids: readonly number[];
  /** The caller is oneadmin or in group 0. */
  readonly isAdmin: boolean;
}

export interface LoginOutcome {
  /** The user's tokens after the call, to store. */
  readonly tokens: readonly LoginToken[];
  /** The token created or refreshed; null when tokens were deleted. */
  readonly token: LoginToken | null;
}

/**
 * `one.user.login` on the user's token list (`UserLogin`, `LoginTokenPool`): valid is capped by
 * MAX_TOKEN_TIME; 0 deletes; a scoped token needs a group of the user that the session also
 * holds; a full token needs a full session; at most 10 live tokens. Presenting an existing token
 * refreshes it. When tokens are disabled for the driver (MAX_TOKEN_TIME 0) OpenNebula also drops
 * the user's tokens: store an empty list in that case.
 */
export function login(user: UserRecord, request: LoginRequest, context: LoginContext): Result<LoginOutcome> {
  if (context.maxTokenTime === 0) {
    return fail('ACTION', `Login tokens are disabled for driver ${user.authDriver}`);
  }
  let valid = request.valid;
  if (context.maxTokenTime > 0 && (valid > context.maxTokenTime || valid === -1))
    valid = context.maxTokenTime;

  if (valid === 0) {
    if (request.noTokenGiven === true) return ok({ tokens: [], token: null });
    if (!user.loginTokens.some((t) => t.tokenHash === request.tokenHash)) {
      return fail('INVALID_ARGUMENT', 'Could not find token');
    }
    return ok({ tokens: user.loginTokens.filter((t) => t.tokenHash !== request.tokenHash), token: null });
  }
  if (valid < -1) return fail('INVALID_ARGUMENT', 'Wrong valid period for token');

  const egid = request.egid;
  const session = new Set(context.sessionGids);
  if (egid !== -1 && !context.isAdmin && (!user.groups.includes(egid) || !session.has(egid))) {
    return fail('INVALID_ARGUMENT', 'EGID is not in user group list');
  }
  if (egid === -1 && !sameGroups(user.groups, session)) {
    return fail('INVALID_ARGUMENT', 'Cannot create a full token with a specific group token');
  }

  const live = pruneExpiredLoginTokens(user.loginTokens, context.now).filter(
    (t) => t.tokenHash !== request.tokenHash,
  );
  if (live.length >= MAX_LOGIN_TOKENS) return fail('INVALID_ARGUMENT', 'Max number of tokens limit reached.');
  const token: LoginToken = {
    tokenHash: request.tokenHash,
    expirationTime: valid === -1 ? -1 : context.now + valid,
    egid,
  };
  return ok({ tokens: [...live, token], token });
}

function sameGroups(groups: readonly number[], session: ReadonlySet<number>): boolean {
  const own = new Set(groups);
  return own.size === session.size && [...own].every((g) => session.has(g));
}

// ---------------------------------------------------------------------------------------------
// Secrets
// ---------------------------------------------------------------------------------------------

export interface UserSecretsVisibility {
  /** The stored password hash (PASSWORD). */
  readonly password: boolean;
  /** LOGIN_TOKEN entries (hashes, expiration, EGID). */
  readonly loginTokens: boolean;
  /** Encrypted template attributes in clear (`info` with decrypt = true). */
  readonly decrypt: boolean;
}

/**
 * Which secrets of `target` the caller sees in `one.user.info` (after it passed USE on the user):
 * admins see everything and may decrypt (`RequestManagerInfo`: decrypt only for admins); a user
 * sees its own password hash and tokens; group admins and others see neither.
 */
export function userSecretsVisibility(
  viewer: AuthSubject,
  target: Pick<UserRecord, 'id'>,
): UserSecretsVisibility {
  if (isOneadmin(viewer)) return { password: true, loginTokens: true, decrypt: true };
  const self = viewer.uid === target.id;
  return { password: self, loginTokens: self, decrypt: false };
}
