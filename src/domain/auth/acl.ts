/**
 * ACL rules (reference §11.3): the string form `@1 VM+IMAGE/* CREATE *`, OpenNebula's 64-bit
 * encoding (`AclRule.cc`, `acl.rb`), validation (`AclRule::malformed`), the `oneacl list` columns
 * (`oneacl_helper.rb`) and the rules OpenNebula creates by itself (`AclManager`, `Vdc`, `Group`).
 */
import { fail, ok, type Result } from '../errors.js';
import type { AclRecord } from './record.js';

/** An ACL rule without its ID: the four 64-bit words of `one.acl.addrule`. */
export type AclRuleBits = Omit<AclRecord, 'id'>;

/** ID kinds (bits 32..35 of the user, resource and zone words). */
export const ACL_INDIVIDUAL_ID = 0x100000000n;
export const ACL_GROUP_ID = 0x200000000n;
export const ACL_ALL_ID = 0x400000000n;
export const ACL_CLUSTER_ID = 0x800000000n;
export const ACL_ID_MASK = 0xffffffffn;

/** Resource types in OpenNebula's order (`AclRule::pool_objects`), which is also the print order. */
export const ACL_RESOURCE_TYPES = [
  'VM',
  'HOST',
  'NET',
  'IMAGE',
  'USER',
  'TEMPLATE',
  'GROUP',
  'DATASTORE',
  'CLUSTER',
  'DOCUMENT',
  'ZONE',
  'SECGROUP',
  'VDC',
  'VROUTER',
  'MARKETPLACE',
  'MARKETPLACEAPP',
  'VMGROUP',
  'VNTEMPLATE',
  'BACKUPJOB',
] as const;

export type AclResourceType = (typeof ACL_RESOURCE_TYPES)[number];

/** `PoolObjectSQL::ObjectType` bits. */
export const ACL_RESOURCE_BITS: Readonly<Record<AclResourceType, bigint>> = {
  VM: 0x1000000000n,
  HOST: 0x2000000000n,
  NET: 0x4000000000n,
  IMAGE: 0x8000000000n,
  USER: 0x10000000000n,
  TEMPLATE: 0x20000000000n,
  GROUP: 0x40000000000n,
  DATASTORE: 0x100000000000n,
  CLUSTER: 0x200000000000n,
  DOCUMENT: 0x400000000000n,
  ZONE: 0x800000000000n,
  SECGROUP: 0x1000000000000n,
  VDC: 0x2000000000000n,
  VROUTER: 0x4000000000000n,
  MARKETPLACE: 0x8000000000000n,
  MARKETPLACEAPP: 0x10000000000000n,
  VMGROUP: 0x20000000000000n,
  VNTEMPLATE: 0x40000000000000n,
  BACKUPJOB: 0x100000000000000n,
};

/** `PoolObjectSQL::ACL`: a type bit OpenNebula has but no rule string can name. */
const ACL_OBJECT_BIT = 0x80000000000n;

/** The `oneacl list` column letters (`RES_VHNIUTGDCOZSvRMAPtB`). */
export const ACL_RESOURCE_LETTERS: Readonly<Record<AclResourceType, string>> = {
  VM: 'V',
  HOST: 'H',
  NET: 'N',
  IMAGE: 'I',
  USER: 'U',
  TEMPLATE: 'T',
  GROUP: 'G',
  DATASTORE: 'D',
  CLUSTER: 'C',
  DOCUMENT: 'O',
  ZONE: 'Z',
  SECGROUP: 'S',
  VDC: 'v',
  VROUTER: 'R',
  MARKETPLACE: 'M',
  MARKETPLACEAPP: 'A',
  VMGROUP: 'P',
  VNTEMPLATE: 't',
  BACKUPJOB: 'B',
};

export const ACL_RIGHTS = ['USE', 'MANAGE', 'ADMIN', 'CREATE'] as const;
export type AclRight = (typeof ACL_RIGHTS)[number];
export const ACL_RIGHT_BITS: Readonly<Record<AclRight, bigint>> = {
  USE: 0x1n,
  MANAGE: 0x2n,
  ADMIN: 0x4n,
  CREATE: 0x8n,
};
const RIGHT_LETTERS: Readonly<Record<AclRight, string>> = { USE: 'u', MANAGE: 'm', ADMIN: 'a', CREATE: 'c' };

const TYPE_MASK = 0xfffffff000000000n;
const ID_KIND_MASK = 0xf00000000n;
const USER_KIND_MASK = 0x700000000n;

const bit = (...types: AclResourceType[]): bigint => types.reduce((acc, t) => acc | ACL_RESOURCE_BITS[t], 0n);

const INVALID_CLUSTER_OBJECTS =
  bit(
    'VM',
    'IMAGE',
    'USER',
    'TEMPLATE',
    'GROUP',
    'CLUSTER',
    'DOCUMENT',
    'ZONE',
    'SECGROUP',
    'VDC',
    'VROUTER',
    'MARKETPLACE',
    'MARKETPLACEAPP',
    'VMGROUP',
    'VNTEMPLATE',
  ) | ACL_OBJECT_BIT;
const INVALID_GROUP_OBJECTS = bit('HOST', 'GROUP', 'CLUSTER', 'ZONE', 'VDC');
const FEDERATED_OBJECTS = bit('USER', 'GROUP', 'ZONE', 'VDC') | ACL_OBJECT_BIT;

/** Signed 32-bit ID of a word, as `AclRule::user_id()` & co. read it. */
function wordId(word: bigint): number {
  return Number(BigInt.asIntN(32, word & ACL_ID_MASK));
}

// ---------------------------------------------------------------------------------------------
// String form
// ---------------------------------------------------------------------------------------------

export interface AclParseOptions {
  /** The local zone, used when the rule has no zone part (`RequestManagerAcl`: `#<zone_id>`). */
  readonly zoneId?: number;
}

const MAX_ID = 0x7fffffff;

/** `#<id>`, `@<id>`, `%<id>` or `*` → ID kind bits | id (`acl.rb` `calculate_ids`). */
function parseIdSpec(spec: string): bigint | string {
  const m = /^([#@%])(\d+)$/.exec(spec);
  if (spec === '*') return ACL_ALL_ID;
  if (m === null) return `ID string '${spec}' malformed`;
  const id = Number(m[2]);
  if (id > MAX_ID) return `ID string '${spec}' out of range (max ${MAX_ID})`;
  const kind = m[1] === '#' ? ACL_INDIVIDUAL_ID : m[1] === '@' ? ACL_GROUP_ID : ACL_CLUSTER_ID;
  return kind | BigInt(id);
}

function parseResources(token: string): bigint | string[] {
  const parts = token.split('/');
  if (parts.length !== 2) return [`Resource '${token}' malformed, expected <TYPE>[+<TYPE>...]/<id>`];
  const errors: string[] = [];
  let value = 0n;
  for (const name of (parts[0] as string).split('+')) {
    const type = name.toUpperCase() as AclResourceType;
    if (Object.hasOwn(ACL_RESOURCE_BITS, type)) value |= ACL_RESOURCE_BITS[type];
    else errors.push(`Resource '${name}' does not exist`);
  }
  const id = parseIdSpec(parts[1] as string);
  if (typeof id === 'string') errors.push(id);
  else value |= id;
  return errors.length > 0 ? errors : value;
}

function parseRights(token: string): bigint | string[] {
  const errors: string[] = [];
  let value = 0n;
  for (const name of token.split('+')) {
    const right = name.toUpperCase() as AclRight;
    if (Object.hasOwn(ACL_RIGHT_BITS, right)) value |= ACL_RIGHT_BITS[right];
    else errors.push(`Right '${name}' does not exist`);
  }
  return errors.length > 0 ? errors : value;
}

/**
 * Parses `<user> <RES>[+<RES>...]/<id> <RIGHT>[+<RIGHT>...] [<zone>]` into the 64-bit words and
 * checks the result as oned does. Names are case-insensitive like `acl.rb`; a repeated name counts
 * once. Without a zone part the rule applies to the local zone (`#0` by default).
 */
export function parseAclRule(text: string, options: AclParseOptions = {}): Result<AclRuleBits> {
  const tokens = text.trim().split(/\s+/);
  if (tokens.length !== 3 && tokens.length !== 4) {
    return fail(
      'INVALID_ARGUMENT',
      `Invalid ACL rule "${text}": String needs three components: User, Resource, Rights (and an optional Zone)`,
    );
  }
  const [userToken, resourceToken, rightsToken, zoneToken] = tokens as [string, string, string, string?];
  const errors: string[] = [];

  const user = parseIdSpec(userToken);
  if (typeof user === 'string') errors.push(user);
  const resource = parseResources(resourceToken);
  if (Array.isArray(resource)) errors.push(...resource);
  const rights = parseRights(rightsToken);
  if (Array.isArray(rights)) errors.push(...rights);
  const zone =
    zoneToken === undefined ? ACL_INDIVIDUAL_ID | BigInt(options.zoneId ?? 0) : parseIdSpec(zoneToken);
  if (typeof zone === 'string') errors.push(zone);

  if (errors.length > 0) return fail('INVALID_ARGUMENT', `Invalid ACL rule "${text}": ${errors.join(', ')}`);
  const rule = { user, resource, rights, zone } as AclRuleBits;
  const valid = validateAclRule(rule);
  return valid.ok ? ok(rule) : valid;
}

function idPart(word: bigint, kinds: readonly (readonly [bigint, string])[]): string {
  for (const [kind, prefix] of kinds) {
    if ((word & kind) !== 0n) return prefix === '*' ? '*' : `${prefix}${wordId(word)}`;
  }
  return '??';
}

/** The resource types named by a resource word, in OpenNebula's order. */
export function aclResourceTypes(resource: bigint): AclResourceType[] {
  return ACL_RESOURCE_TYPES.filter((type) => (resource & ACL_RESOURCE_BITS[type]) !== 0n);
}

/** The rights named by a rights word, in OpenNebula's order. */
export function aclRights(rights: bigint): AclRight[] {
  return ACL_RIGHTS.filter((right) => (rights & ACL_RIGHT_BITS[right]) !== 0n);
}

/** The STRING of an ACL rule exactly as `AclRule::build_str` writes it: `@106 IMAGE/#31 USE #0`. */
export function aclRuleToString(rule: AclRuleBits): string {
  const user = idPart(rule.user, [
    [ACL_GROUP_ID, '@'],
    [ACL_INDIVIDUAL_ID, '#'],
    [ACL_ALL_ID, '*'],
  ]);
  const resourceId = idPart(rule.resource, [
    [ACL_GROUP_ID, '@'],
    [ACL_INDIVIDUAL_ID, '#'],
    [ACL_CLUSTER_ID, '%'],
    [ACL_ALL_ID, '*'],
  ]);
  const zone = idPart(rule.zone, [
    [ACL_INDIVIDUAL_ID, '#'],
    [ACL_ALL_ID, '*'],
  ]);
  return `${user} ${aclResourceTypes(rule.resource).join('+')}/${resourceId} ${aclRights(rule.rights).join('+')} ${zone}`;
}

// ---------------------------------------------------------------------------------------------
// Hex form (XML-RPC parameters and ACL_POOL bodies)
// ---------------------------------------------------------------------------------------------

/** Lower-case hex without 0x, as `AclRule::to_xml` writes each word. */
export function aclWordToHex(word: bigint): string {
  return word.toString(16);
}

export function aclRuleToHex(rule: AclRuleBits): {
  user: string;
  resource: string;
  rights: string;
  zone: string;
} {
  return {
    user: aclWordToHex(rule.user),
    resource: aclWordToHex(rule.resource),
    rights: aclWordToHex(rule.rights),
    zone: aclWordToHex(rule.zone),
  };
}

/** A hex word from `one.acl.addrule` (an optional 0x prefix is accepted, like C++ `std::hex`). */
export function parseAclWord(text: string, field: string): Result<bigint> {
  const m = /^\s*(?:0x)?([0-9a-f]{1,16})\s*$/i.exec(text);
  if (m === null)
    return fail('INVALID_ARGUMENT', `Invalid ACL ${field} "${text}": expected a hex number`, field);
  return ok(BigInt(`0x${m[1]}`));
}

/**
 * The four hex strings of `one.acl.addrule(user, resource, rights[, zone])` → a checked rule.
 * Without zone the rule applies to the local zone.
 */
export function aclRuleFromHex(
  words: { user: string; resource: string; rights: string; zone?: string },
  options: AclParseOptions = {},
): Result<AclRuleBits> {
  const user = parseAclWord(words.user, 'user');
  if (!user.ok) return user;
  const resource = parseAclWord(words.resource, 'resource');
  if (!resource.ok) return resource;
  const rights = parseAclWord(words.rights, 'rights');
  if (!rights.ok) return rights;
  let zone: bigint = ACL_INDIVIDUAL_ID | BigInt(options.zoneId ?? 0);
  if (words.zone !== undefined) {
    const parsed = parseAclWord(words.zone, 'zone');
    if (!parsed.ok) return parsed;
    zone = parsed.value;
  }
  const rule = { user: user.value, resource: resource.value, rights: rights.value, zone };
  const valid = validateAclRule(rule);
  return valid.ok ? ok(rule) : valid;
}

// ---------------------------------------------------------------------------------------------
// Validation (AclRule::malformed)
// ---------------------------------------------------------------------------------------------

/** Every reason OpenNebula finds a rule malformed, in its order; empty when the rule is valid. */
export function aclRuleProblems(rule: AclRuleBits): string[] {
  const { user, resource, rights, zone } = rule;
  const has = (word: bigint, kind: bigint): boolean => (word & kind) !== 0n;
  const problems: string[] = [];

  if (has(user, ACL_INDIVIDUAL_ID) && has(user, ACL_GROUP_ID))
    problems.push('[user] INDIVIDUAL (#) and GROUP (@) bits are exclusive');
  if (has(user, ACL_INDIVIDUAL_ID) && has(user, ACL_ALL_ID))
    problems.push('[user] INDIVIDUAL (#) and ALL (*) bits are exclusive');
  if (has(user, ACL_GROUP_ID) && has(user, ACL_ALL_ID))
    problems.push('[user] GROUP (@) and ALL (*) bits are exclusive');
  if ((user & USER_KIND_MASK) === 0n)
    problems.push('[user] is missing one of the INDIVIDUAL, GROUP or ALL bits');
  if (wordId(user) < 0) problems.push('[user] ID cannot be negative');
  if (has(user, ACL_ALL_ID) && wordId(user) !== 0)
    problems.push('when using the ALL bit, [user] ID must be 0');

  const kind = resource & ID_KIND_MASK;
  if (
    (has(resource, ACL_INDIVIDUAL_ID) && kind !== ACL_INDIVIDUAL_ID) ||
    (has(resource, ACL_GROUP_ID) && kind !== ACL_GROUP_ID) ||
    (has(resource, ACL_CLUSTER_ID) && kind !== ACL_CLUSTER_ID) ||
    (has(resource, ACL_ALL_ID) && kind !== ACL_ALL_ID)
  ) {
    problems.push('[resource] INDIVIDUAL (#), GROUP (@), CLUSTER (%) and ALL (*) bits are exclusive');
  }
  const resourceType = resource & TYPE_MASK;
  if (has(resource, ACL_CLUSTER_ID) && (resourceType & INVALID_CLUSTER_OBJECTS) !== 0n)
    problems.push('[resource] CLUSTER(%) selector can be applied only to DATASTORE, HOST and NET types');
  if (has(resource, ACL_GROUP_ID) && (resourceType & INVALID_GROUP_OBJECTS) !== 0n)
    problems.push(
      '[resource] GROUP(@) selector cannot be applied to HOST, GROUP, CLUSTER, ZONE or VDC types',
    );
  if (kind === 0n) problems.push('[resource] is missing one of the INDIVIDUAL, GROUP, CLUSTER or ALL bits');
  if (wordId(resource) < 0) problems.push('[resource] ID cannot be negative');
  if (has(resource, ACL_ALL_ID) && wordId(resource) !== 0)
    problems.push('when using the ALL bit, [resource] ID must be 0');
  if (resourceType === 0n) problems.push('[resource] type is missing');
  if ((resource & 0xfe80000000000000n) !== 0n) problems.push('wrong [resource] type');

  if (rights === 0n) problems.push('wrong [rights], it cannot be 0');
  if (rights > 0xfn) problems.push('wrong [rights], it cannot be bigger than 0xF');

  if (has(zone, ACL_GROUP_ID)) problems.push('[zone] GROUP (@) bit is not supported');
  if (has(zone, ACL_INDIVIDUAL_ID) && has(zone, ACL_ALL_ID))
    problems.push('[zone] INDIVIDUAL (#) and ALL (*) bits are exclusive');
  if ((zone & USER_KIND_MASK) === 0n) problems.push('[zone] is missing one of the INDIVIDUAL or ALL bits');
  if (wordId(zone) < 0) problems.push('[zone] ID cannot be negative');
  if (has(zone, ACL_ALL_ID) && wordId(zone) !== 0)
    problems.push('when using the ALL bit, [zone] ID must be 0');
  if (
    has(zone, ACL_ALL_ID) &&
    has(resource, ACL_INDIVIDUAL_ID) &&
    (resourceType & FEDERATED_OBJECTS) !== resourceType
  ) {
    problems.push(
      '[resource] INDIVIDUAL(#) selector cannot be applied to ALL zones, except for USER, GROUP and ZONE types',
    );
  }
  return problems;
}

/** `Rule <str> is malformed: <reasons>` (`AclManager::add_rule`) when the rule is not valid. */
export function validateAclRule(rule: AclRuleBits): Result<AclRuleBits> {
  const problems = aclRuleProblems(rule);
  if (problems.length === 0) return ok(rule);
  return fail('INVALID_ARGUMENT', `Rule ${aclRuleToString(rule)} is malformed: ${problems.join('; ')}`);
}

export function aclRulesEqual(a: AclRuleBits, b: AclRuleBits): boolean {
  return a.user === b.user && a.resource === b.resource && a.rights === b.rights && a.zone === b.zone;
}

/** The checks of `AclManager::add_rule` against the current table: no duplicate, well formed. */
export function checkNewAclRule(existing: readonly AclRuleBits[], rule: AclRuleBits): Result<AclRuleBits> {
  if (existing.some((other) => aclRulesEqual(other, rule))) {
    return fail('ACTION', `Rule ${aclRuleToString(rule)} already exists`);
  }
  return validateAclRule(rule);
}

// ---------------------------------------------------------------------------------------------
// oneacl list
// ---------------------------------------------------------------------------------------------

/** `V--I-T---O-S----P-B`: one column per resource type (`OneAclHelper.resource_mask`). */
export function aclResourceLetters(resource: bigint): string {
  return ACL_RESOURCE_TYPES.map((type) =>
    (resource & ACL_RESOURCE_BITS[type]) !== 0n ? ACL_RESOURCE_LETTERS[type] : '-',
  ).join('');
}

/** `um-c`: one column per right (`OneAclHelper.right_mask`). */
export function aclRightsLetters(rights: bigint): string {
  return ACL_RIGHTS.map((right) =>
    (rights & ACL_RIGHT_BITS[right]) !== 0n ? RIGHT_LETTERS[right] : '-',
  ).join('');
}

export interface AclListRow {
  readonly ID: string;
  readonly USER: string;
  readonly RES_VHNIUTGDCOZSvRMAPtB: string;
  readonly RID: string;
  readonly OPE_UMAC: string;
  readonly ZONE: string;
}

export function aclListRow(rule: AclRecord): AclListRow {
  const [user = '', resources = '', , zone = ''] = aclRuleToString(rule).split(' ');
  return {
    ID: String(rule.id),
    USER: user,
    RES_VHNIUTGDCOZSvRMAPtB: aclResourceLetters(rule.resource),
    RID: resources.split('/')[1] ?? '',
    OPE_UMAC: aclRightsLetters(rule.rights),
    ZONE: zone,
  };
}

const ACL_LIST_COLUMNS: readonly (readonly [keyof AclListRow, number])[] = [
  ['ID', 5],
  ['USER', 8],
  ['RES_VHNIUTGDCOZSvRMAPtB', 23],
  ['RID', 5],
  ['OPE_UMAC', 8],
  ['ZONE', 5],
];

function cell(text: string, width: number): string {
  return text.slice(0, width).padStart(width);
}

/** The `oneacl list` table: header `   ID     USER RES_VHNIUTGDCOZSvRMAPtB   RID OPE_UMAC  ZONE`. */
export function formatAclList(rules: readonly AclRecord[]): string {
  const header = ACL_LIST_COLUMNS.map(([name, width]) => cell(name, width)).join(' ');
  const lines = rules.map((rule) => {
    const row = aclListRow(rule);
    return ACL_LIST_COLUMNS.map(([name, width]) => cell(row[name], width)).join(' ');
  });
  return [header, ...lines].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Rules OpenNebula creates by itself
// ---------------------------------------------------------------------------------------------

const rule = (user: bigint, resource: bigint, rights: bigint, zone: bigint): AclRuleBits => ({
  user,
  resource,
  rights,
  zone,
});

/** Types a new group may create (`Group::GROUP_DEFAULT_ACLS` in the Ruby OCA, 6.x). */
export const GROUP_DEFAULT_CREATE_TYPES: readonly AclResourceType[] = [
  'VM',
  'IMAGE',
  'TEMPLATE',
  'DOCUMENT',
  'SECGROUP',
  'VROUTER',
  'VMGROUP',
  'BACKUPJOB',
];

/**
 * The rules a group gets from the default VDC (all clusters of the zone, oned.conf
 * DEFAULT_VDC_CLUSTER_{HOST,NET,DATASTORE}_ACL = MANAGE, USE, USE):
 * `@G HOST/* MANAGE #z`, `@G NET/* USE #z`, `@G DATASTORE/* USE #z`.
 */
export function defaultVdcGroupAclRules(gid: number, zoneId = 0): AclRuleBits[] {
  const user = ACL_GROUP_ID | BigInt(gid);
  const zone = ACL_INDIVIDUAL_ID | BigInt(zoneId);
  return [
    rule(user, ACL_ALL_ID | ACL_RESOURCE_BITS.HOST, ACL_RIGHT_BITS.MANAGE, zone),
    rule(user, ACL_ALL_ID | ACL_RESOURCE_BITS.NET, ACL_RIGHT_BITS.USE, zone),
    rule(user, ACL_ALL_ID | ACL_RESOURCE_BITS.DATASTORE, ACL_RIGHT_BITS.USE, zone),
  ];
}

/** `@G VM+IMAGE+TEMPLATE+DOCUMENT+SECGROUP+VROUTER+VMGROUP+BACKUPJOB/* CREATE *` (`onegroup create`). */
export function groupCreateAclRule(
  gid: number,
  types: readonly AclResourceType[] = GROUP_DEFAULT_CREATE_TYPES,
): AclRuleBits {
  return rule(ACL_GROUP_ID | BigInt(gid), ACL_ALL_ID | bit(...types), ACL_RIGHT_BITS.CREATE, ACL_ALL_ID);
}

/** Everything a new group gets: the default VDC rules, then the CREATE rule. */
export function newGroupAclRules(
  gid: number,
  options: { zoneId?: number; createTypes?: readonly AclResourceType[] } = {},
): AclRuleBits[] {
  const rules = defaultVdcGroupAclRules(gid, options.zoneId ?? 0);
  if (options.createTypes === undefined || options.createTypes.length > 0) {
    rules.push(groupCreateAclRule(gid, options.createTypes));
  }
  return rules;
}

/**
 * The table of a fresh installation, IDs 0..5: `AclManager`'s three rules, then the default VDC
 * rules of group 1 (users).
 */
export function bootstrapAclRules(zoneId = 0): AclRecord[] {
  const rules: AclRuleBits[] = [
    rule(
      ACL_GROUP_ID | 1n,
      ACL_ALL_ID | bit('VM', 'IMAGE', 'TEMPLATE', 'DOCUMENT', 'SECGROUP', 'VMGROUP', 'BACKUPJOB'),
      ACL_RIGHT_BITS.CREATE,
      ACL_ALL_ID,
    ),
    rule(ACL_ALL_ID, ACL_ALL_ID | ACL_RESOURCE_BITS.ZONE, ACL_RIGHT_BITS.USE, ACL_ALL_ID),
    rule(ACL_ALL_ID, ACL_ALL_ID | bit('MARKETPLACE', 'MARKETPLACEAPP'), ACL_RIGHT_BITS.USE, ACL_ALL_ID),
    ...defaultVdcGroupAclRules(1, zoneId),
  ];
  return rules.map((r, id) => ({ id, ...r }));
}

/** The rules `Group::add_admin_rules` creates when user `uid` becomes an admin of group `gid`. */
export function groupAdminAclRules(uid: number, gid: number): AclRuleBits[] {
  const user = ACL_INDIVIDUAL_ID | BigInt(uid);
  const { USE, MANAGE, ADMIN, CREATE } = ACL_RIGHT_BITS;
  return [
    rule(
      user,
      ACL_RESOURCE_BITS.USER | ACL_GROUP_ID | BigInt(gid),
      USE | MANAGE | ADMIN | CREATE,
      ACL_ALL_ID,
    ),
    rule(
      user,
      bit('VM', 'NET', 'IMAGE', 'TEMPLATE', 'DOCUMENT', 'SECGROUP', 'VROUTER', 'VMGROUP', 'BACKUPJOB') |
        ACL_GROUP_ID |
        BigInt(gid),
      USE | MANAGE,
      ACL_ALL_ID,
    ),
    rule(user, ACL_ALL_ID | ACL_RESOURCE_BITS.VROUTER, CREATE, ACL_ALL_ID),
    rule(user, ACL_RESOURCE_BITS.GROUP | ACL_INDIVIDUAL_ID | BigInt(gid), MANAGE, ACL_ALL_ID),
  ];
}

/** Something deleted whose ACL rules go with it (`AclManager::del_*_rules`). */
export type AclCleanup =
  | { readonly user: number }
  | { readonly group: number }
  | { readonly cluster: number }
  | { readonly zone: number }
  | { readonly object: { readonly type: AclResourceType; readonly id: number } };

/** IDs of the rules OpenNebula drops when a user, group, cluster, zone or object is deleted. */
export function aclRulesToDelete(rules: readonly AclRecord[], deleted: AclCleanup): number[] {
  let matches: (r: AclRecord) => boolean;
  if ('user' in deleted) {
    const user = ACL_INDIVIDUAL_ID | BigInt(deleted.user);
    matches = (r) => r.user === user;
  } else if ('group' in deleted) {
    const group = ACL_GROUP_ID | BigInt(deleted.group);
    matches = (r) => r.user === group || (r.resource & (ACL_GROUP_ID | ACL_ID_MASK)) === group;
  } else if ('cluster' in deleted) {
    const cluster = ACL_CLUSTER_ID | BigInt(deleted.cluster);
    matches = (r) => (r.resource & (ACL_CLUSTER_ID | ACL_ID_MASK)) === cluster;
  } else if ('zone' in deleted) {
    const zone = ACL_INDIVIDUAL_ID | BigInt(deleted.zone);
    matches = (r) => r.zone === zone;
  } else {
    // Exact match only: a rule naming several types stays (`del_resource_rules`).
    const resource = ACL_RESOURCE_BITS[deleted.object.type] | ACL_INDIVIDUAL_ID | BigInt(deleted.object.id);
    matches = (r) => r.resource === resource;
  }
  return rules.filter(matches).map((r) => r.id);
}
