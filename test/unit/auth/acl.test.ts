import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';

import {
  ACL_ALL_ID,
  ACL_CLUSTER_ID,
  ACL_GROUP_ID,
  ACL_INDIVIDUAL_ID,
  ACL_RESOURCE_BITS,
  ACL_RESOURCE_TYPES,
  aclListRow,
  aclResourceLetters,
  aclRightsLetters,
  aclRuleFromHex,
  aclRuleProblems,
  aclRulesToDelete,
  aclRuleToHex,
  aclRuleToString,
  bootstrapAclRules,
  checkNewAclRule,
  formatAclList,
  groupAdminAclRules,
  groupCreateAclRule,
  newGroupAclRules,
  parseAclRule,
  parseAclWord,
  validateAclRule,
  type AclRuleBits,
} from '../../../src/domain/auth/acl.js';
import type { AclRecord } from '../../../src/domain/auth/record.js';

function parsed(text: string, zoneId?: number): AclRuleBits {
  const r = parseAclRule(text, zoneId === undefined ? {} : { zoneId });
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  return r.value;
}

function errorOf(r: { ok: boolean; error?: { message: string } }): string {
  assert.equal(r.ok, false);
  return r.error?.message ?? '';
}

describe('ACL string ↔ hex', () => {
  it('encodes the reference example @106 IMAGE/#31 USE #0', () => {
    const rule = parsed('@106 IMAGE/#31 USE #0');
    assert.deepEqual(aclRuleToHex(rule), {
      user: '20000006a',
      resource: '810000001f',
      rights: '1',
      zone: '100000000',
    });
    assert.equal(aclRuleToString(rule), '@106 IMAGE/#31 USE #0');
  });

  const golden: [string, { user: string; resource: string; rights: string; zone: string }][] = [
    [
      '@1 VM+IMAGE+TEMPLATE+DOCUMENT+SECGROUP+VMGROUP+BACKUPJOB/* CREATE *',
      { user: '200000001', resource: '121429400000000', rights: '8', zone: '400000000' },
    ],
    ['* ZONE/* USE *', { user: '400000000', resource: '800400000000', rights: '1', zone: '400000000' }],
    [
      '* MARKETPLACE+MARKETPLACEAPP/* USE *',
      { user: '400000000', resource: '18000400000000', rights: '1', zone: '400000000' },
    ],
    ['@1 HOST/* MANAGE #0', { user: '200000001', resource: '2400000000', rights: '2', zone: '100000000' }],
    ['#5 IMAGE/#31 USE #0', { user: '100000005', resource: '810000001f', rights: '1', zone: '100000000' }],
    [
      '#5 IMAGE+TEMPLATE/@103 USE+MANAGE #0',
      { user: '100000005', resource: '28200000067', rights: '3', zone: '100000000' },
    ],
    [
      '@106 HOST/%100 MANAGE #0',
      { user: '20000006a', resource: '2800000064', rights: '2', zone: '100000000' },
    ],
    [
      '* VM+HOST+NET+IMAGE+USER+TEMPLATE+GROUP+DATASTORE+CLUSTER+DOCUMENT+ZONE+SECGROUP+VDC+VROUTER+MARKETPLACE+MARKETPLACEAPP+VMGROUP+VNTEMPLATE+BACKUPJOB/* USE+MANAGE+ADMIN+CREATE *',
      { user: '400000000', resource: '17ff7f400000000', rights: 'f', zone: '400000000' },
    ],
  ];

  for (const [text, hex] of golden) {
    it(`round-trips ${text}`, () => {
      const rule = parsed(text);
      assert.deepEqual(aclRuleToHex(rule), hex);
      assert.equal(aclRuleToString(rule), text);
      assert.deepEqual(aclRuleFromHex(hex), { ok: true, value: rule });
    });
  }

  it('defaults the zone to the local zone (#0, or the given zone)', () => {
    assert.equal(aclRuleToString(parsed('#5 IMAGE/#31 USE')), '#5 IMAGE/#31 USE #0');
    assert.equal(aclRuleToString(parsed('#5 IMAGE/#31 USE', 3)), '#5 IMAGE/#31 USE #3');
    const r = aclRuleFromHex({ user: '100000005', resource: '810000001f', rights: '1' }, { zoneId: 2 });
    assert.ok(r.ok);
    assert.equal(r.ok && r.value.zone, ACL_INDIVIDUAL_ID | 2n);
  });

  it('accepts lower-case names, extra blanks and repeated names', () => {
    assert.equal(aclRuleToString(parsed('  @1   vm+Image+VM/*   use+USE  ')), '@1 VM+IMAGE/* USE #0');
  });

  it('prints ?? for words without an ID kind', () => {
    assert.equal(
      aclRuleToString({ user: 0n, resource: ACL_RESOURCE_BITS.VM, rights: 1n, zone: 0n }),
      '?? VM/?? USE ??',
    );
  });

  it('parses hex words with or without 0x and refuses other text', () => {
    assert.deepEqual(parseAclWord('0x1F', 'rights'), { ok: true, value: 31n });
    assert.deepEqual(parseAclWord('ff', 'rights'), { ok: true, value: 255n });
    const bad = parseAclWord('zz', 'user');
    assert.equal(bad.ok, false);
    if (!bad.ok) assert.equal(bad.error.message, 'Invalid ACL user "zz": expected a hex number');
    assert.equal(aclRuleFromHex({ user: 'x', resource: '1', rights: '1' }).ok, false);
    assert.equal(aclRuleFromHex({ user: '100000005', resource: 'x', rights: '1' }).ok, false);
    assert.equal(aclRuleFromHex({ user: '100000005', resource: '810000001f', rights: 'x' }).ok, false);
    assert.equal(
      aclRuleFromHex({ user: '100000005', resource: '810000001f', rights: '1', zone: 'x' }).ok,
      false,
    );
    assert.equal(aclRuleFromHex({ user: '100000005', resource: '810000001f', rights: '0' }).ok, false);
  });
});

describe('ACL parse errors name the bad token', () => {
  it('needs three or four components', () => {
    assert.equal(
      errorOf(parseAclRule('@1 VM/*')),
      'Invalid ACL rule "@1 VM/*": String needs three components: User, Resource, Rights (and an optional Zone)',
    );
    assert.equal(errorOf(parseAclRule('')).includes('String needs three components'), true);
    assert.equal(errorOf(parseAclRule('a b c d e')).includes('String needs three components'), true);
  });

  it('reports every bad token at once', () => {
    assert.equal(
      errorOf(parseAclRule('@1 VM+FOO/x USE+BAR *')),
      `Invalid ACL rule "@1 VM+FOO/x USE+BAR *": Resource 'FOO' does not exist, ID string 'x' malformed, Right 'BAR' does not exist`,
    );
    assert.equal(
      errorOf(parseAclRule('5 VM/* USE')),
      `Invalid ACL rule "5 VM/* USE": ID string '5' malformed`,
    );
    assert.equal(
      errorOf(parseAclRule('#5 VM USE')),
      `Invalid ACL rule "#5 VM USE": Resource 'VM' malformed, expected <TYPE>[+<TYPE>...]/<id>`,
    );
    assert.equal(
      errorOf(parseAclRule('#5 VM/* USE @x')),
      `Invalid ACL rule "#5 VM/* USE @x": ID string '@x' malformed`,
    );
    assert.equal(
      errorOf(parseAclRule('#4294967296 VM/* USE')),
      `Invalid ACL rule "#4294967296 VM/* USE": ID string '#4294967296' out of range (max 2147483647)`,
    );
  });

  it('refuses rules oned finds malformed, with its reasons', () => {
    assert.equal(
      errorOf(parseAclRule('@1 VM/%100 USE')),
      'Rule @1 VM/%100 USE #0 is malformed: [resource] CLUSTER(%) selector can be applied only to DATASTORE, HOST and NET types',
    );
    assert.equal(
      errorOf(parseAclRule('@1 HOST/@100 USE')),
      'Rule @1 HOST/@100 USE #0 is malformed: [resource] GROUP(@) selector cannot be applied to HOST, GROUP, CLUSTER, ZONE or VDC types',
    );
    assert.equal(
      errorOf(parseAclRule('%1 VM/* USE')),
      'Rule ?? VM/* USE #0 is malformed: [user] is missing one of the INDIVIDUAL, GROUP or ALL bits',
    );
    assert.equal(
      errorOf(parseAclRule('#1 VM/#5 USE *')),
      'Rule #1 VM/#5 USE * is malformed: [resource] INDIVIDUAL(#) selector cannot be applied to ALL zones, except for USER, GROUP and ZONE types',
    );
    assert.equal(
      errorOf(parseAclRule('#1 VM/* USE @0')),
      'Rule #1 VM/* USE ?? is malformed: [zone] GROUP (@) bit is not supported',
    );
    assert.equal(parseAclRule('#1 USER/#5 USE *').ok, true);
  });

  it('lists every problem of a raw rule in OpenNebula order', () => {
    const bad: AclRuleBits = {
      user: ACL_INDIVIDUAL_ID | ACL_GROUP_ID | ACL_ALL_ID | 0xffffffffn,
      resource: ACL_INDIVIDUAL_ID | ACL_ALL_ID | 0x8000000000000000n | 0xffffffffn,
      rights: 0x10n,
      zone: ACL_INDIVIDUAL_ID | ACL_ALL_ID | 0xffffffffn,
    };
    assert.deepEqual(aclRuleProblems(bad), [
      '[user] INDIVIDUAL (#) and GROUP (@) bits are exclusive',
      '[user] INDIVIDUAL (#) and ALL (*) bits are exclusive',
      '[user] GROUP (@) and ALL (*) bits are exclusive',
      '[user] ID cannot be negative',
      'when using the ALL bit, [user] ID must be 0',
      '[resource] INDIVIDUAL (#), GROUP (@), CLUSTER (%) and ALL (*) bits are exclusive',
      '[resource] ID cannot be negative',
      'when using the ALL bit, [resource] ID must be 0',
      'wrong [resource] type',
      'wrong [rights], it cannot be bigger than 0xF',
      '[zone] INDIVIDUAL (#) and ALL (*) bits are exclusive',
      '[zone] ID cannot be negative',
      'when using the ALL bit, [zone] ID must be 0',
      '[resource] INDIVIDUAL(#) selector cannot be applied to ALL zones, except for USER, GROUP and ZONE types',
    ]);
    assert.deepEqual(aclRuleProblems({ user: ACL_ALL_ID, resource: 0n, rights: 0n, zone: 0n }), [
      '[resource] is missing one of the INDIVIDUAL, GROUP, CLUSTER or ALL bits',
      '[resource] type is missing',
      'wrong [rights], it cannot be 0',
      '[zone] is missing one of the INDIVIDUAL or ALL bits',
    ]);
    assert.deepEqual(aclRuleProblems(parsed('* VM/* USE')), []);
  });

  it('refuses duplicates when adding', () => {
    const table = bootstrapAclRules();
    const dup = checkNewAclRule(table, parsed('* ZONE/* USE *'));
    assert.deepEqual(dup, {
      ok: false,
      error: { code: 'ACTION', message: 'Rule * ZONE/* USE * already exists' },
    });
    assert.equal(checkNewAclRule(table, parsed('@106 IMAGE/#31 USE')).ok, true);
    assert.equal(
      validateAclRule({ user: ACL_ALL_ID, resource: ACL_ALL_ID, rights: 1n, zone: ACL_ALL_ID }).ok,
      false,
    );
  });
});

describe('ACL round trip (property)', () => {
  const idSpec = (kinds: string) =>
    fc.oneof(
      fc.constant('*'),
      fc
        .tuple(fc.constantFrom(...kinds.split('')), fc.integer({ min: 0, max: 0x7fffffff }))
        .map(([k, n]) => `${k}${n}`),
    );
  const ruleText = fc
    .tuple(
      idSpec('#@'),
      fc.subarray([...ACL_RESOURCE_TYPES], { minLength: 1 }),
      idSpec('#@%'),
      fc.subarray(['USE', 'MANAGE', 'ADMIN', 'CREATE'], { minLength: 1 }),
      fc.option(idSpec('#'), { nil: undefined }),
    )
    .map(([user, types, rid, rights, zone]) =>
      [user, `${types.join('+')}/${rid}`, rights.join('+'), ...(zone === undefined ? [] : [zone])].join(' '),
    );

  it('string → bits → string → bits is stable, and hex round-trips', () => {
    fc.assert(
      fc.property(ruleText, (text) => {
        const first = parseAclRule(text);
        if (!first.ok) {
          // Only oned's semantic checks may refuse a syntactically valid rule.
          assert.match(first.error.message, /^Rule .* is malformed: /);
          return;
        }
        const printed = aclRuleToString(first.value);
        assert.deepEqual(parseAclRule(printed), first);
        assert.deepEqual(aclRuleFromHex(aclRuleToHex(first.value)), first);
        if (!/ [#*]\d*$/.test(text)) assert.ok(printed.endsWith(' #0'));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('oneacl list', () => {
  it('formats the bootstrap table like oneacl list', () => {
    assert.equal(
      formatAclList(bootstrapAclRules()),
      [
        '   ID     USER RES_VHNIUTGDCOZSvRMAPtB   RID OPE_UMAC  ZONE',
        '    0       @1     V--I-T---O-S----P-B     *     ---c     *',
        '    1        *     ----------Z--------     *     u---     *',
        '    2        *     --------------MA---     *     u---     *',
        '    3       @1     -H-----------------     *     -m--    #0',
        '    4       @1     --N----------------     *     u---    #0',
        '    5       @1     -------D-----------     *     u---    #0',
      ].join('\n'),
    );
  });

  it('has one letter per resource type and right', () => {
    assert.equal(
      aclResourceLetters(
        parsed(
          '* VM+HOST+NET+IMAGE+USER+TEMPLATE+GROUP+DATASTORE+CLUSTER+DOCUMENT+ZONE+SECGROUP+VDC+VROUTER+MARKETPLACE+MARKETPLACEAPP+VMGROUP+VNTEMPLATE+BACKUPJOB/* USE',
        ).resource,
      ),
      'VHNIUTGDCOZSvRMAPtB',
    );
    assert.equal(aclRightsLetters(0xfn), 'umac');
    assert.equal(aclRightsLetters(0x5n), 'u-a-');
    const row = aclListRow({ id: 17, ...parsed('#3 VM+IMAGE+TEMPLATE/@101 USE+MANAGE+CREATE #0') });
    assert.deepEqual(row, {
      ID: '17',
      USER: '#3',
      RES_VHNIUTGDCOZSvRMAPtB: 'V--I-T-------------',
      RID: '@101',
      OPE_UMAC: 'um-c',
      ZONE: '#0',
    });
    assert.equal(
      formatAclList([{ id: 17, ...parsed('#3 VM+IMAGE+TEMPLATE/@101 USE+MANAGE+CREATE #0') }]).split('\n')[1],
      '   17       #3     V--I-T-------------  @101     um-c    #0',
    );
  });
});

describe('rules OpenNebula creates', () => {
  it('bootstrap table', () => {
    assert.deepEqual(
      bootstrapAclRules().map((r) => [r.id, aclRuleToString(r)]),
      [
        [0, '@1 VM+IMAGE+TEMPLATE+DOCUMENT+SECGROUP+VMGROUP+BACKUPJOB/* CREATE *'],
        [1, '* ZONE/* USE *'],
        [2, '* MARKETPLACE+MARKETPLACEAPP/* USE *'],
        [3, '@1 HOST/* MANAGE #0'],
        [4, '@1 NET/* USE #0'],
        [5, '@1 DATASTORE/* USE #0'],
      ],
    );
    for (const r of bootstrapAclRules()) assert.deepEqual(aclRuleProblems(r), []);
  });

  it('a new group', () => {
    assert.deepEqual(newGroupAclRules(100).map(aclRuleToString), [
      '@100 HOST/* MANAGE #0',
      '@100 NET/* USE #0',
      '@100 DATASTORE/* USE #0',
      '@100 VM+IMAGE+TEMPLATE+DOCUMENT+SECGROUP+VROUTER+VMGROUP+BACKUPJOB/* CREATE *',
    ]);
    assert.deepEqual(newGroupAclRules(101, { zoneId: 2, createTypes: [] }).map(aclRuleToString), [
      '@101 HOST/* MANAGE #2',
      '@101 NET/* USE #2',
      '@101 DATASTORE/* USE #2',
    ]);
    assert.equal(aclRuleToString(groupCreateAclRule(102, ['VM'])), '@102 VM/* CREATE *');
  });

  it('a group admin', () => {
    const rules = groupAdminAclRules(5, 100);
    assert.deepEqual(rules.map(aclRuleToString), [
      '#5 USER/@100 USE+MANAGE+ADMIN+CREATE *',
      '#5 VM+NET+IMAGE+TEMPLATE+DOCUMENT+SECGROUP+VROUTER+VMGROUP+BACKUPJOB/@100 USE+MANAGE *',
      '#5 VROUTER/* CREATE *',
      '#5 GROUP/#100 MANAGE *',
    ]);
    for (const r of rules) assert.deepEqual(aclRuleProblems(r), []);
  });

  it('rules dropped with a deleted user, group, cluster, zone or object', () => {
    const table: AclRecord[] = [
      '#5 VM/* USE',
      '@100 VM/* USE',
      '#6 VM/@100 USE',
      '#6 HOST/%3 MANAGE',
      '#6 IMAGE/#7 USE',
      '#6 IMAGE+TEMPLATE/#7 USE',
      '#6 VM/* USE #2',
    ].map((text, id) => ({ id, ...parsed(text) }));
    assert.deepEqual(aclRulesToDelete(table, { user: 5 }), [0]);
    assert.deepEqual(aclRulesToDelete(table, { group: 100 }), [1, 2]);
    assert.deepEqual(aclRulesToDelete(table, { cluster: 3 }), [3]);
    assert.deepEqual(aclRulesToDelete(table, { object: { type: 'IMAGE', id: 7 } }), [4]);
    assert.deepEqual(aclRulesToDelete(table, { zone: 2 }), [6]);
    assert.equal(ACL_CLUSTER_ID | ACL_ALL_ID, 0xc00000000n);
  });
});
