/**
 * The authorization decision (reference §11.2, `AuthRequest::add_auth`, `AclManager::authorize`).
 *
 * oneadmin (uid 0) and every member of group 0 may do anything an object lock allows. Anyone else
 * needs a rule that grants the requested right: the object's permissions act as three implicit
 * rules (`#owner`, `@group`, `*` on that object), and the ACL table adds rules that name the
 * object (`#id`), its group (`@gid`), one of its clusters (`%cid`) or every object of the type
 * (`*`). Rules only add rights.
 *
 * `compileAcl` indexes the table once; `forSubject` folds the rules of one user into per-type
 * masks and maps, so deciding on each of 20,000 VMs is a few map lookups.
 */
import { fail, ok, type Result } from '../errors.js';
import type { ObjectLock } from '../object.js';
import {
  ACL_ALL_ID,
  ACL_CLUSTER_ID,
  ACL_GROUP_ID,
  ACL_ID_MASK,
  ACL_INDIVIDUAL_ID,
  ACL_RESOURCE_BITS,
  ACL_RESOURCE_TYPES,
  type AclResourceType,
  type AclRuleBits,
} from './acl.js';

export type AuthOperation = 'USE' | 'MANAGE' | 'ADMIN' | 'CREATE';

/** `AuthRequest::Operation` values. */
export const AUTH_OPERATION_BITS: Readonly<Record<AuthOperation, number>> = {
  USE: 1,
  MANAGE: 2,
  ADMIN: 4,
  CREATE: 8,
};

/** The oneadmin user and group. */
export const ONEADMIN_UID = 0;
export const ONEADMIN_GID = 0;

/** Who asks. */
export interface AuthSubject {
  readonly uid: number;
  /** Effective groups of the session (all the user's groups, or only the EGID of a scoped token). */
  readonly gids: readonly number[];
  /** Effective primary group: the group objects created now belong to. Defaults to gids[0]. */
  readonly gid?: number;
  /** Force the oneadmin bypass (otherwise derived: uid 0 or member of group 0). */
  readonly isOneadmin?: boolean;
}

/** What OpenNebula's `PoolObjectAuth` carries about an existing object. */
export interface AuthObject {
  readonly type: AclResourceType;
  readonly id: number;
  readonly uid: number;
  readonly gid: number;
  /** Nine permission bits, octal (0o640). */
  readonly permissions: number;
  /** Clusters of the object (hosts, vnets, datastores); `%cid` rules match these. */
  readonly clusterIds?: readonly number[];
  readonly lock?: Pick<ObjectLock, 'level'> | null;
}

/** One item of an authorization request. */
export type AuthItem =
  | {
      readonly operation: 'USE' | 'MANAGE' | 'ADMIN';
      readonly object: AuthObject;
      /** OpenNebula's *_NO_LCK operations (e.g. info): the lock is not checked. */
      readonly ignoreLock?: boolean;
    }
  | {
      readonly operation: 'CREATE';
      readonly type: AclResourceType;
      /** Group of the new object; defaults to the subject's effective group. */
      readonly gid?: number;
    };

export function isOneadmin(subject: AuthSubject): boolean {
  return subject.isOneadmin === true || subject.uid === ONEADMIN_UID || subject.gids.includes(ONEADMIN_GID);
}

/**
 * Whether a lock blocks an operation (`locked > 0 && locked <= op`). LOCKED 1 (use) blocks USE,
 * MANAGE and ADMIN; 2 (manage) blocks MANAGE and ADMIN; 3 (admin) blocks ADMIN; 4 (all) is
 * stored by OpenNebula as 1.
 */
export function lockBlocks(level: number, operation: AuthOperation): boolean {
  const stored = level === 4 ? 1 : level;
  return stored > 0 && stored <= AUTH_OPERATION_BITS[operation];
}

/** `[one.vm.action] User [3] : <reason>.` — the AUTHORIZATION text of `Request::failure_message`. */
export function authorizationMessage(method: string, uid: number, reason: string): string {
  return `[${method}] User [${uid}] : ${reason}.`;
}

// ---------------------------------------------------------------------------------------------
// Compiled ACL table
// ---------------------------------------------------------------------------------------------

const TYPE_COUNT = ACL_RESOURCE_TYPES.length;
const TYPE_INDEX: Readonly<Record<AclResourceType, number>> = Object.fromEntries(
  ACL_RESOURCE_TYPES.map((type, i) => [type, i]),
) as Record<AclResourceType, number>;

type Scope = 'ALL' | 'GROUP' | 'INDIVIDUAL' | 'CLUSTER';

interface CompiledRule {
  /** Resource type indexes the rule names. */
  readonly types: readonly number[];
  readonly scope: Scope;
  readonly resourceId: number;
  readonly rights: number;
}

/**
 * What the ACL table grants one subject on one resource type, as operation bits (USE=1 …
 * CREATE=8): on every object, and by object id, group id and cluster id.
 */
export interface AclGrants {
  readonly all: number;
  readonly byId: ReadonlyMap<number, number>;
  readonly byGroup: ReadonlyMap<number, number>;
  readonly byCluster: ReadonlyMap<number, number>;
}

interface TypeGrants extends AclGrants {
  all: number;
  readonly byId: Map<number, number>;
  readonly byGroup: Map<number, number>;
  readonly byCluster: Map<number, number>;
}

const NO_GRANTS: AclGrants = { all: 0, byId: new Map(), byGroup: new Map(), byCluster: new Map() };

function scopeOf(resource: bigint): Scope | null {
  // Same precedence as AclManager::match_rules: ALL, then group, individual, cluster masks.
  if ((resource & ACL_ALL_ID) !== 0n) return 'ALL';
  if ((resource & ACL_GROUP_ID) !== 0n) return 'GROUP';
  if ((resource & ACL_INDIVIDUAL_ID) !== 0n) return 'INDIVIDUAL';
  if ((resource & ACL_CLUSTER_ID) !== 0n) return 'CLUSTER';
  return null;
}

export interface AclCompileOptions {
  /** Local zone: rules for `#<zoneId>` or `*` apply. Default 0. */
  readonly zoneId?: number;
}

/** The decisions of one subject, prepared once per request. */
export interface SubjectAuthorizer {
  readonly subject: AuthSubject;
  readonly isOneadmin: boolean;
  /** The reason an item is refused (`Not authorized to perform MANAGE VM [7]`), or null. */
  deny(item: AuthItem): string | null;
  /** True when the item is allowed. */
  allows(item: AuthItem): boolean;
  /** Shorthand: may the subject perform `operation` on `object`? */
  can(operation: 'USE' | 'MANAGE' | 'ADMIN', object: AuthObject): boolean;
  /** The ACL table's grants for one type (object permissions not included). */
  grants(type: AclResourceType): AclGrants;
}

export interface AclEvaluator {
  readonly zoneId: number;
  readonly ruleCount: number;
  forSubject(subject: AuthSubject): SubjectAuthorizer;
}

/** Index the ACL table by rule user (`*`, `#uid`, `@gid`) and keep only rules of this zone. */
export function compileAcl(rules: readonly AclRuleBits[], options: AclCompileOptions = {}): AclEvaluator {
  const zoneId = options.zoneId ?? 0;
  const localZone = ACL_INDIVIDUAL_ID | BigInt(zoneId);
  const forAll: CompiledRule[] = [];
  const byUser = new Map<number, CompiledRule[]>();
  const byGroup = new Map<number, CompiledRule[]>();
  let ruleCount = 0;

  for (const rule of rules) {
    const zoneMatches =
      (rule.zone & ACL_ALL_ID) === ACL_ALL_ID ||
      (rule.zone & (ACL_INDIVIDUAL_ID | ACL_ID_MASK)) === localZone;
    const scope = scopeOf(rule.resource);
    if (!zoneMatches || scope === null) continue;
    const types = ACL_RESOURCE_TYPES.flatMap((type, i) =>
      (rule.resource & ACL_RESOURCE_BITS[type]) !== 0n ? [i] : [],
    );
    const rights = Number(rule.rights & 0xfn);
    if (types.length === 0 || rights === 0) continue;
    const compiled: CompiledRule = { types, scope, resourceId: Number(rule.resource & ACL_ID_MASK), rights };
    const userId = Number(rule.user & ACL_ID_MASK);
    if ((rule.user & ACL_ALL_ID) !== 0n) forAll.push(compiled);
    else if ((rule.user & ACL_INDIVIDUAL_ID) !== 0n) pushTo(byUser, userId, compiled);
    else if ((rule.user & ACL_GROUP_ID) !== 0n) pushTo(byGroup, userId, compiled);
    else continue;
    ruleCount++;
  }

  return {
    zoneId,
    ruleCount,
    forSubject(subject: AuthSubject): SubjectAuthorizer {
      const grants: (TypeGrants | undefined)[] = new Array(TYPE_COUNT);
      const apply = (list: readonly CompiledRule[] | undefined): void => {
        for (const rule of list ?? []) {
          for (const t of rule.types) {
            const g = (grants[t] ??= { all: 0, byId: new Map(), byGroup: new Map(), byCluster: new Map() });
            if (rule.scope === 'ALL') g.all |= rule.rights;
            else {
              const map =
                rule.scope === 'GROUP' ? g.byGroup : rule.scope === 'CLUSTER' ? g.byCluster : g.byId;
              map.set(rule.resourceId, (map.get(rule.resourceId) ?? 0) | rule.rights);
            }
          }
        }
      };
      apply(forAll);
      apply(byUser.get(subject.uid));
      const groups = new Set(subject.gids);
      for (const gid of groups) apply(byGroup.get(gid));
      return makeAuthorizer(subject, groups, grants);
    },
  };
}

function pushTo(map: Map<number, CompiledRule[]>, key: number, rule: CompiledRule): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [rule]);
  else list.push(rule);
}

/** Rights (U=1, M=2, A=4) the object's own permissions give this subject. */
function implicitRights(object: AuthObject, uid: number, groups: ReadonlySet<number>): number {
  const p = object.permissions;
  let triplet = p & 7;
  if (object.uid === uid) triplet |= (p >> 6) & 7;
  if (groups.has(object.gid)) triplet |= (p >> 3) & 7;
  // Octal digit U=4, M=2, A=1 → operation bits USE=1, MANAGE=2, ADMIN=4.
  return ((triplet & 4) >> 2) | (triplet & 2) | ((triplet & 1) << 2);
}

function makeAuthorizer(
  subject: AuthSubject,
  groups: ReadonlySet<number>,
  grants: readonly (TypeGrants | undefined)[],
): SubjectAuthorizer {
  const admin = isOneadmin(subject);
  const createGid = subject.gid ?? subject.gids[0] ?? -1;

  const objectRights = (object: AuthObject): number => {
    let rights = implicitRights(object, subject.uid, groups);
    const g = grants[TYPE_INDEX[object.type]];
    if (g !== undefined) {
      rights |= g.all | (g.byId.get(object.id) ?? 0) | (g.byGroup.get(object.gid) ?? 0);
      if (g.byCluster.size > 0) {
        for (const cid of object.clusterIds ?? []) rights |= g.byCluster.get(cid) ?? 0;
      }
    }
    return rights;
  };

  const deny = (item: AuthItem): string | null => {
    const op = AUTH_OPERATION_BITS[item.operation];
    if (item.operation === 'CREATE') {
      if (admin) return null;
      const g = grants[TYPE_INDEX[item.type]];
      const rights = g === undefined ? 0 : g.all | (g.byGroup.get(item.gid ?? createGid) ?? 0);
      return (rights & op) === op ? null : `Not authorized to perform CREATE ${item.type}`;
    }
    const { object } = item;
    const locked =
      item.ignoreLock !== true && object.lock != null && lockBlocks(object.lock.level, item.operation);
    if (admin) return locked ? `${object.type} is locked. [${object.id}]` : null;
    if (!locked && (objectRights(object) & op) === op) return null;
    return `Not authorized to perform ${item.operation} ${object.type}${object.id !== -1 ? ` [${object.id}]` : ''}`;
  };

  return {
    subject,
    isOneadmin: admin,
    deny,
    allows: (item) => deny(item) === null,
    can: (operation, object) => deny({ operation, object }) === null,
    grants: (type) => grants[TYPE_INDEX[type]] ?? NO_GRANTS,
  };
}

/**
 * Authorizes every item of a request; on refusal the AUTHORIZATION error carries OpenNebula's
 * full text, the reasons of all refused items joined by `; `:
 * `[one.vm.action] User [3] : Not authorized to perform MANAGE VM [7].`
 */
export function authorize(
  authorizer: SubjectAuthorizer,
  items: AuthItem | readonly AuthItem[],
  method: string,
): Result<void> {
  const list: readonly AuthItem[] = Array.isArray(items) ? items : [items as AuthItem];
  const reasons: string[] = [];
  for (const item of list) {
    const reason = authorizer.deny(item);
    if (reason !== null) reasons.push(reason);
  }
  if (reasons.length === 0) return ok(undefined);
  return fail('AUTHORIZATION', authorizationMessage(method, authorizer.subject.uid, reasons.join('; ')));
}

// ---------------------------------------------------------------------------------------------
// Pool filters
// ---------------------------------------------------------------------------------------------

/**
 * Which objects of a type a subject may see with `operation` (default USE), for a store query —
 * OpenNebula's `AclManager::reverse_search` plus the permission columns of `PoolSQL::acl_filter`.
 * An object is visible when `all`, or owner == uid and the owner bit is set, or its group is in
 * `memberGroups` and the group bit is set, or the other bit is set, or its id is in `ids`, its group
 * in `groupIds`, or one of its clusters in `clusterIds`. Locks are not considered.
 */
export interface PoolFilter {
  readonly all: boolean;
  readonly uid: number;
  readonly memberGroups: readonly number[];
  /** The permission bit to test per owner/group/other digit: 4 for USE, 2 MANAGE, 1 ADMIN. */
  readonly permissionDigitBit: number;
  readonly ids: readonly number[];
  readonly groupIds: readonly number[];
  readonly clusterIds: readonly number[];
}

export function poolFilter(
  evaluator: AclEvaluator,
  subject: AuthSubject,
  type: AclResourceType,
  operation: 'USE' | 'MANAGE' | 'ADMIN' = 'USE',
): PoolFilter {
  const op = AUTH_OPERATION_BITS[operation];
  const digitBit = operation === 'USE' ? 4 : operation === 'MANAGE' ? 2 : 1;
  const base = { uid: subject.uid, memberGroups: [...new Set(subject.gids)], permissionDigitBit: digitBit };
  if (isOneadmin(subject)) return { ...base, all: true, ids: [], groupIds: [], clusterIds: [] };
  const g = evaluator.forSubject(subject).grants(type);
  if ((g.all & op) === op) return { ...base, all: true, ids: [], groupIds: [], clusterIds: [] };
  const pick = (map: ReadonlyMap<number, number>): number[] =>
    [...map]
      .filter(([, rights]) => (rights & op) === op)
      .map(([id]) => id)
      .sort((a, b) => a - b);
  return { ...base, all: false, ids: pick(g.byId), groupIds: pick(g.byGroup), clusterIds: pick(g.byCluster) };
}
