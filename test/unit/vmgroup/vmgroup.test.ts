import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTemplate } from '../../../src/domain/template/index.js';
import {
  addVmGroupRole,
  addVmToRole,
  deleteVmGroupRole,
  parseVmGroupTemplate,
  removeVmFromRole,
  updateVmGroupRole,
  updateVmGroupTemplate,
  vmGroupRules,
  vmGroupVmCount,
  type VmGroupDefinition,
  type VmGroupRecord,
} from '../../../src/domain/vmgroup/index.js';

function parsed(text: string): VmGroupDefinition {
  const r = parseVmGroupTemplate(parseTemplate(text));
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

function refused(text: string): { code: string; message: string; field?: string } {
  const r = parseVmGroupTemplate(parseTemplate(text));
  assert.equal(r.ok, false, `${text} should be refused`);
  return (r as { error: { code: string; message: string; field?: string } }).error;
}

function value<T>(r: { ok: true; value: T } | { ok: false; error: { message: string } }): T {
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

const WEB = `NAME = "multi-tier server"
ROLE = [ NAME = "front-end", POLICY = "anti_affined" ]
ROLE = [ NAME = "apps", HOST_AFFINED = "4, 2,3,2", NOTE = "kept" ]
ROLE = [ NAME = "db", HOST_ANTI_AFFINED = "7" ]
AFFINED = "db, apps"
DESCRIPTION = "the docs example"`;

describe('parseVmGroupTemplate (VMGroup::insert)', () => {
  it('reads roles with ids 0..n-1, normalized policies and sorted unique host lists; the rest stays in TEMPLATE', () => {
    const g = parsed(WEB);
    assert.equal(g.name, 'multi-tier server');
    assert.deepEqual(g.roles, [
      {
        id: 0,
        name: 'front-end',
        policy: 'ANTI_AFFINED',
        hostAffined: [],
        hostAntiAffined: [],
        vms: [],
        extra: {},
      },
      {
        id: 1,
        name: 'apps',
        policy: 'NONE',
        hostAffined: [2, 3, 4],
        hostAntiAffined: [],
        vms: [],
        extra: { NOTE: 'kept' },
      },
      { id: 2, name: 'db', policy: 'NONE', hostAffined: [], hostAntiAffined: [7], vms: [], extra: {} },
    ]);
    assert.deepEqual(g.template, { AFFINED: ['db, apps'], DESCRIPTION: ['the docs example'] });
  });

  it('a group without roles is allowed, as in OpenNebula', () => {
    assert.deepEqual(parsed('NAME = empty').roles, []);
  });

  it('refuses with OpenNebula’s messages and the field', () => {
    const cases: [string, string, RegExp][] = [
      ['ROLE = [ NAME = a ]', 'NAME', /NAME/],
      ['NAME = x\nROLE = "a"', 'ROLE[0]', /vector/],
      ['NAME = x\nROLE = [ POLICY = AFFINED ]', 'ROLE[0]/NAME', /^Missing NAME in VM group role$/],
      ['NAME = x\nROLE = [ NAME = "a,b" ]', 'ROLE[0]/NAME', /comma/],
      ['NAME = x\nROLE = [ NAME = a ]\nROLE = [ NAME = a ]', 'ROLE[1]/NAME', /Role "a" already exists/],
      ['NAME = x\nROLE = [ NAME = a, POLICY = SPREAD ]', 'ROLE[0]/POLICY', /AFFINED, ANTI_AFFINED or NONE/],
      ['NAME = x\nROLE = [ NAME = a, HOST_AFFINED = "1,-2" ]', 'ROLE[0]/HOST_AFFINED', /host ids/],
      ['NAME = x\nROLE = [ NAME = a, HOST_ANTI_AFFINED = "x" ]', 'ROLE[0]/HOST_ANTI_AFFINED', /host ids/],
      [
        'NAME = x\nROLE = [ NAME = a, HOST_AFFINED = "1,2,3", HOST_ANTI_AFFINED = "3,2" ]',
        'ROLE[0]/HOST_ANTI_AFFINED',
        /hosts 2, 3 cannot be both HOST_AFFINED and HOST_ANTI_AFFINED/,
      ],
      [
        'NAME = x\nROLE = [ NAME = a ]\nAFFINED = "a, b"',
        'AFFINED',
        /^Some roles used in AFFINED attribute \(a, b\) are not defined$/,
      ],
      ['NAME = x\nROLE = [ NAME = a ]\nANTI_AFFINED = "a,"', 'ANTI_AFFINED', /not defined/],
      [
        'NAME = x\nROLE = [ NAME = a ]\nROLE = [ NAME = b ]\nAFFINED = "a, b"\nAFFINED = "b,a"',
        'AFFINED',
        /^Duplicated AFFINED rule \(b,a\) detected\.$/,
      ],
      [
        'NAME = x\nROLE = [ NAME = a, POLICY = ANTI_AFFINED ]\nROLE = [ NAME = b ]\nAFFINED = "a, b"',
        'AFFINED',
        /^Role a is in an AFFINED rule but the role policy is ANTI_AFFINED$/,
      ],
      [
        'NAME = x\nROLE = [ NAME = a ]\nROLE = [ NAME = b ]\nROLE = [ NAME = c ]\nAFFINED = "a, b"\nANTI_AFFINED = "c, b"',
        'ANTI_AFFINED',
        /^Roles defined in AFFINED and ANTI_AFFINED rules: b$/,
      ],
    ];
    for (const [text, field, message] of cases) {
      const error = refused(text);
      assert.equal(error.field, field, text);
      assert.match(error.message, message, text);
    }
    const many = ['NAME = x', ...Array.from({ length: 33 }, (_, i) => `ROLE = [ NAME = r${i} ]`)].join('\n');
    assert.match(refused(many).message, /Maximum number of roles/);
  });
});

describe('roles and membership', () => {
  const base = parsed(WEB);

  it('a VM joins and leaves a role by name; twice is no change; an unknown role is NOT_FOUND', () => {
    const one = value(addVmToRole(base, 'db', 12));
    const two = value(addVmToRole(one, 'db', 5));
    assert.deepEqual(two.roles[2]?.vms, [5, 12]);
    assert.equal(value(addVmToRole(two, 'db', 5)), two);
    assert.equal(vmGroupVmCount(two), 2);
    const unknown = addVmToRole(base, 'cache', 1);
    assert.equal(unknown.ok, false);
    assert.equal(!unknown.ok && unknown.error.code, 'NOT_FOUND');
    assert.match(!unknown.ok ? unknown.error.message : '', /roles: front-end, apps, db/);
    const left = value(removeVmFromRole(two, 'db', 12));
    assert.deepEqual(left.roles[2]?.vms, [5]);
    assert.equal(value(removeVmFromRole(left, 'db', 99)), left);
    assert.equal(removeVmFromRole(left, 'cache', 5).ok, false);
    assert.equal(base.roles[2]?.vms.length, 0, 'the input is not changed');
  });

  it('role add takes the next id (one past the highest) and checks names and rules', () => {
    const added = value(addVmGroupRole(base, { NAME: 'cache', POLICY: 'AFFINED', VMS: '1,2', ID: '9' }));
    assert.deepEqual(added.roles.at(-1), {
      id: 3,
      name: 'cache',
      policy: 'AFFINED',
      hostAffined: [],
      hostAntiAffined: [],
      vms: [],
      extra: {},
    });
    const dup = addVmGroupRole(base, { NAME: 'db' });
    assert.equal(!dup.ok && dup.error.field, 'ROLE/NAME');
    const withoutName = addVmGroupRole(base, { POLICY: 'AFFINED' });
    assert.equal(!withoutName.ok && withoutName.error.field, 'ROLE/NAME');
    let full: VmGroupDefinition = parsed('NAME = x');
    for (let i = 0; i < 32; i++) full = value(addVmGroupRole(full, { NAME: `r${i}` }));
    assert.match(!addVmGroupRole(full, { NAME: 'one-more' }).ok ? 'refused' : '', /refused/);
  });

  it('role delete: unknown id, a role with VMs, a role a rule names are refused', () => {
    const missing = deleteVmGroupRole(base, 9);
    assert.equal(!missing.ok && missing.error.code, 'NOT_FOUND');
    const busy = deleteVmGroupRole(value(addVmToRole(base, 'front-end', 3)), 0);
    assert.equal(!busy.ok && busy.error.code, 'IN_USE');
    assert.match(!busy.ok ? busy.error.message : '', /has VMs \(3\)/);
    const named = deleteVmGroupRole(base, 2);
    assert.match(!named.ok ? named.error.message : '', /Some roles used in AFFINED attribute/);
    const deleted = value(deleteVmGroupRole(base, 0));
    assert.deepEqual(
      deleted.roles.map((r) => r.id),
      [1, 2],
    );
    assert.equal(value(addVmGroupRole(deleted, { NAME: 'new' })).roles.at(-1)?.id, 3);
  });

  it('role update merges over the role, keeps VMS and ID, renames when the name is free', () => {
    const updated = value(
      updateVmGroupRole(base, 0, { HOST_AFFINED: '9', NAME: 'front', VMS: '4', ID: '7' }),
    );
    const role = updated.roles[0]!;
    assert.deepEqual(
      [role.id, role.name, role.policy, role.hostAffined, role.vms],
      [0, 'front', 'ANTI_AFFINED', [9], []],
    );
    assert.deepEqual(value(updateVmGroupRole(base, 1, { HOST_AFFINED: '' })).roles[1]?.extra, {
      NOTE: 'kept',
    });
    const renamedInRule = updateVmGroupRole(base, 1, { NAME: 'application' });
    assert.match(!renamedInRule.ok ? renamedInRule.error.message : '', /are not defined/);
    const clash = updateVmGroupRole(base, 1, { NAME: 'db' });
    assert.match(!clash.ok ? clash.error.message : '', /role with name db already exists/);
    const busy = updateVmGroupRole(value(addVmToRole(base, 'apps', 1)), 1, { POLICY: 'AFFINED' });
    assert.equal(!busy.ok && busy.error.code, 'IN_USE');
    const missing = updateVmGroupRole(base, 8, { POLICY: 'AFFINED' });
    assert.equal(!missing.ok && missing.error.code, 'NOT_FOUND');
    const breaks = updateVmGroupRole(base, 2, { POLICY: 'ANTI_AFFINED' });
    assert.match(!breaks.ok ? breaks.error.message : '', /Role db is in an AFFINED rule/);
    const badPolicy = updateVmGroupRole(base, 2, { POLICY: 'X' });
    assert.equal(!badPolicy.ok && badPolicy.error.field, 'ROLE/POLICY');
  });
});

describe('updateVmGroupTemplate (VMGroup::post_update_template)', () => {
  const base = parsed(WEB);

  it('merges or replaces; NAME and ROLE are dropped; rules are checked again', () => {
    const merged = value(
      updateVmGroupTemplate(
        base,
        parseTemplate('ANTI_AFFINED = "front-end"\nNAME = y\nROLE = [ NAME = z ]'),
        true,
      ),
    );
    assert.deepEqual(merged.template.ANTI_AFFINED, ['front-end']);
    assert.deepEqual(merged.template.AFFINED, ['db, apps']);
    assert.equal(merged.roles.length, 3);
    const replaced = value(updateVmGroupTemplate(base, parseTemplate('LABEL = "x"'), false));
    assert.deepEqual(replaced.template, { LABEL: ['x'] });
    const wrong = updateVmGroupTemplate(base, parseTemplate('ANTI_AFFINED = "apps, front-end"'), true);
    assert.match(
      !wrong.ok ? wrong.error.message : '',
      /Roles defined in AFFINED and ANTI_AFFINED rules: apps/,
    );
  });

  it('is refused while the group has VMs', () => {
    const busy = updateVmGroupTemplate(value(addVmToRole(base, 'db', 1)), parseTemplate('X = 1'), true);
    assert.equal(!busy.ok && busy.error.code, 'IN_USE');
    assert.match(!busy.ok ? busy.error.message : '', /^VM Group has 1 VM/);
  });
});

describe('vmGroupRules (what the scheduler reads)', () => {
  it('lists each role with its policy, host lists and VMs, and the rules as role-name lists', () => {
    const g = value(addVmToRole(parsed(`${WEB}\nANTI_AFFINED = "front-end"`), 'apps', 8));
    const record: VmGroupRecord = { ...g, id: 3, uid: 0, gid: 0, permissions: 0o600, lock: null, version: 0 };
    assert.deepEqual(vmGroupRules(record), {
      id: 3,
      name: 'multi-tier server',
      roles: [
        { id: 0, name: 'front-end', policy: 'ANTI_AFFINED', hostAffined: [], hostAntiAffined: [], vms: [] },
        { id: 1, name: 'apps', policy: 'NONE', hostAffined: [2, 3, 4], hostAntiAffined: [], vms: [8] },
        { id: 2, name: 'db', policy: 'NONE', hostAffined: [], hostAntiAffined: [7], vms: [] },
      ],
      affined: [['db', 'apps']],
      antiAffined: [['front-end']],
    });
  });
});
