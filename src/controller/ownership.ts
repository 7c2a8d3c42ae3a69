/**
 * What every owned object (VM, template, image, vnet, datastore …) shares in the controller:
 * the list filter for OpenNebula's filter flag, the authorization object, chown, chmod, names.
 */
import type { AuthItem, AuthObject } from '../domain/auth/authorize.js';
import { poolFilter } from '../domain/auth/authorize.js';
import type { AclResourceType } from '../domain/auth/acl.js';
import { chmodRequestFromOctal, parseChmod, planChmod } from '../domain/auth/permissions.js';
import { groupAuthObject, userAuthObject } from '../domain/auth/users.js';
import { NimbusError } from '../domain/errors.js';
import type { OwnedObject } from '../domain/object.js';
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

export function ownedAuthObject(type: AclResourceType, o: OwnedObject): AuthObject {
  return { type, id: o.id, uid: o.uid, gid: o.gid, permissions: o.permissions, lock: o.lock };
}

/**
 * `one.*.chown`: the new owner and group (-1 or absent keeps them). Needs ADMIN on the object,
 * MANAGE on the new owner and USE on the new group; both must exist.
 */
export async function planChown(
  tx: Repositories,
  ctx: ControllerContext,
  caller: Caller,
  object: AuthObject,
  request: { readonly uid?: number | undefined; readonly gid?: number | undefined },
  method: string,
): Promise<{ uid: number; gid: number }> {
  const uid = request.uid ?? -1;
  const gid = request.gid ?? -1;
  const items: AuthItem[] = [{ operation: 'ADMIN', object }];
  if (uid >= 0) {
    const user = await tx.users.find(uid);
    if (user === undefined) throw new NimbusError('NOT_FOUND', `user ${uid} does not exist`, 'uid');
    items.push({ operation: 'MANAGE', object: userAuthObject(user) });
  }
  if (gid >= 0) {
    const group = await tx.groups.find(gid);
    if (group === undefined) throw new NimbusError('NOT_FOUND', `group ${gid} does not exist`, 'gid');
    items.push({ operation: 'USE', object: groupAuthObject(group) });
  }
  ctx.authorize(caller, items, method);
  return { uid: uid >= 0 ? uid : object.uid, gid: gid >= 0 ? gid : object.gid };
}

/** `one.*.chmod` with all nine bits given (octal "640" or "um-u-----"); returns the new bits. */
export function planPermissions(
  ctx: ControllerContext,
  caller: Caller,
  object: AuthObject,
  octet: string,
  method: string,
): number {
  const perms = parseChmod(octet);
  if (!perms.ok) throw new NimbusError(perms.error.code, perms.error.message, 'octet');
  const plan = unwrap(
    planChmod(object.permissions, chmodRequestFromOctal(perms.value), { isAdmin: caller.isOneadmin }),
  );
  ctx.authorize(caller, { operation: plan.operation, object }, method);
  return plan.permissions;
}

export function checkedName(name: string): string {
  const valid = validateObjectName(name);
  if (!valid.ok) throw new NimbusError(valid.error.code, valid.error.message, 'name');
  return valid.value;
}
