/**
 * What every owned object (VM, template, image, vnet, datastore …) shares in the controller:
 * the list filter for OpenNebula's filter flag, the authorization object, chown, chmod, names.
 */
import type { AuthItem, AuthObject } from '../domain/auth/authorize.js';
import { poolFilter } from '../domain/auth/authorize.js';
import type { AclResourceType } from '../domain/auth/acl.js';
import type { ChmodPlan } from '../domain/auth/permissions.js';
import { chmodRequestFromOctal, parseChmod, planChmod } from '../domain/auth/permissions.js';
import { groupAuthObject, userAuthObject } from '../domain/auth/users.js';
import { NimbusError } from '../domain/errors.js';
import type { ObjectLock, OwnedObject } from '../domain/object.js';
import { validateObjectName } from '../domain/object.js';
import type { OwnedFilter, Repositories, VisibleTo } from '../store/index.js';
import type { Caller } from './caller.js';
import type { ControllerContext } from './context.js';
import { unwrap } from './results.js';

/**
 * The store filter for OpenNebula's pool filter flag: -4 objects of my primary group, -3 mine,
 * -2 all I may see, -1 mine and my groups' (plus ACL grants), >= 0 that user's (as far as I may
 * see them). Visibility is the USE rule of §11 (owner, group and other bits, ACL grants).
 */
export async function ownedListFilter(
  ctx: ControllerContext,
  caller: Caller,
  type: AclResourceType,
  flag: number,
): Promise<OwnedFilter> {
  const pf = poolFilter(await ctx.acl.evaluator(), caller.authorizer.subject, type);
  const groups: VisibleTo = {
    uid: caller.uid,
    gids: pf.memberGroups,
    otherUse: false,
    aclGids: pf.groupIds,
    aclIds: pf.ids,
  };
  const visibleTo: VisibleTo | undefined = pf.all ? undefined : { ...groups, otherUse: true };
  const visible = visibleTo === undefined ? {} : { visibleTo };
  switch (flag) {
    case -4:
      return { gid: caller.gid, ...visible };
    case -3:
      return { uid: caller.uid };
    case -2:
      return visible;
    case -1:
      return { visibleTo: groups };
    default:
      if (flag < 0)
        throw new NimbusError('INVALID_ARGUMENT', `filter flag ${flag} is not -4..-1 or a user id`, 'filter');
      return { uid: flag, ...visible };
  }
}

/** The authorization object of an owned object; `clusterIds` for those in clusters (DATASTORE, NET). */
export function ownedAuthObject(
  type: AclResourceType,
  o: OwnedObject,
  clusterIds?: readonly number[],
): AuthObject {
  const base = { type, id: o.id, uid: o.uid, gid: o.gid, permissions: o.permissions };
  return clusterIds === undefined ? { ...base, lock: o.lock } : { ...base, clusterIds, lock: o.lock };
}

/**
 * `one.*.chown`: the new owner and group (negative or absent keeps them). Needs ADMIN on the
 * object, MANAGE on the new owner and USE on the new group; both must exist. With `onlyChanges`
 * only -1 or absent keeps a field, and an owner or group equal to the current one is neither
 * looked up nor authorized.
 */
export async function planChown(
  tx: Repositories,
  ctx: ControllerContext,
  caller: Caller,
  object: AuthObject,
  request: { readonly uid?: number | undefined; readonly gid?: number | undefined },
  method: string,
  options: { readonly onlyChanges?: boolean } = {},
): Promise<{ uid: number; gid: number }> {
  const given = (value: number | undefined, current: number): number =>
    value === undefined || (options.onlyChanges === true ? value === -1 || value === current : value < 0)
      ? -1
      : value;
  const uid = given(request.uid, object.uid);
  const gid = given(request.gid, object.gid);
  const items: AuthItem[] = [{ operation: 'ADMIN', object }];
  if (uid !== -1) {
    const user = await tx.users.find(uid);
    if (user === undefined) throw new NimbusError('NOT_FOUND', `user ${uid} does not exist`, 'uid');
    items.push({ operation: 'MANAGE', object: userAuthObject(user) });
  }
  if (gid !== -1) {
    const group = await tx.groups.find(gid);
    if (group === undefined) throw new NimbusError('NOT_FOUND', `group ${gid} does not exist`, 'gid');
    items.push({ operation: 'USE', object: groupAuthObject(group) });
  }
  ctx.authorize(caller, items, method);
  return { uid: uid !== -1 ? uid : object.uid, gid: gid !== -1 ? gid : object.gid };
}

/** A chmod with all nine (parsed) bits: the new bits and the right it needs (MANAGE or ADMIN). */
export function planPermissionBits(caller: Caller, current: number, bits: number): ChmodPlan {
  return unwrap(planChmod(current, chmodRequestFromOctal(bits), { isAdmin: caller.isOneadmin }));
}

/**
 * `one.*.chmod` with all nine bits given (octal "640" or "um-u-----", or bits parsed already);
 * authorizes the change and returns the new bits.
 */
export function planPermissions(
  ctx: ControllerContext,
  caller: Caller,
  object: AuthObject,
  octet: string | number,
  method: string,
): number {
  const perms = parseChmod(octet);
  if (!perms.ok) throw new NimbusError(perms.error.code, perms.error.message, 'octet');
  const plan = planPermissionBits(caller, object.permissions, perms.value);
  ctx.authorize(caller, { operation: plan.operation, object }, method);
  return plan.permissions;
}

/** A valid object name; errors name `field` ('name' for the REST body, 'NAME' for a template). */
export function checkedName(name: string, field = 'name'): string {
  const valid = validateObjectName(name);
  if (!valid.ok) throw new NimbusError(valid.error.code, valid.error.message, field);
  return valid.value;
}

/**
 * `one.*.lock` (`RequestManagerLock`): MANAGE on the object whatever its lock. Level 1 use,
 * 2 manage, 3 admin, 4 all. A lock held by another user is kept unless the caller is an admin;
 * with `test`, any lock already there is refused.
 */
export function planLock(
  ctx: ControllerContext,
  caller: Caller,
  object: AuthObject,
  current: ObjectLock | null,
  level: number,
  test: boolean,
  method: string,
): ObjectLock {
  ctx.authorize(caller, { operation: 'MANAGE', object, ignoreLock: true }, method);
  if (level !== 1 && level !== 2 && level !== 3 && level !== 4)
    throw new NimbusError(
      'INVALID_ARGUMENT',
      'Wrong lock level specified (1 use, 2 manage, 3 admin, 4 all)',
      'level',
    );
  if (current !== null && test)
    throw new NimbusError(
      'ACTION',
      `${object.type} ${object.id} is already locked (LOCKED ${current.level})`,
    );
  if (current !== null && current.owner !== caller.uid && !caller.isOneadmin)
    throw new NimbusError(
      'ACTION',
      `Error trying to lock the resource: ${object.type} ${object.id} is locked by user ${current.owner}`,
    );
  return { level, owner: caller.uid, time: ctx.now(), reqId: -1 };
}

/** `one.*.unlock`: MANAGE whatever the lock; only the lock's owner or an admin may unlock. */
export function planUnlock(
  ctx: ControllerContext,
  caller: Caller,
  object: AuthObject,
  current: ObjectLock | null,
  method: string,
): null {
  ctx.authorize(caller, { operation: 'MANAGE', object, ignoreLock: true }, method);
  if (current !== null && current.owner !== caller.uid && !caller.isOneadmin)
    throw new NimbusError('ACTION', 'Cannot unlock: Lock is owned by another user');
  return null;
}
