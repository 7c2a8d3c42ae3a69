import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuthService } from '../../../src/controller/auth.js';
import { cliRunner, startTestNimbus, type TestNimbus } from './harness.js';

describe('groups', () => {
  let t: TestNimbus;
  before(async () => {
    t = await startTestNimbus({ listen: true });
  });
  after(async () => t.close());

  /** The authorizer a user gets on its next request. */
  const callerOf = (name: string) => new AuthService(t.nimbus.ctx).authenticateBasic(name, `${name}-pw`);

  it('creates groups from id 100 with the default ACL rules', async () => {
    const created = await t.admin('POST', '/api/v1/groups', { name: 'devs' });
    assert.equal(created.status, 201);
    assert.equal(created.body.ID, 100);
    const acl = await t.admin('GET', '/api/v1/acl');
    const strings = acl.body.ACL_POOL.ACL.map((r: { STRING: string }) => r.STRING).filter((s: string) =>
      s.startsWith('@100 '),
    );
    assert.deepEqual(strings, [
      '@100 HOST/* MANAGE #0',
      '@100 NET/* USE #0',
      '@100 DATASTORE/* USE #0',
      '@100 VM+IMAGE+TEMPLATE+DOCUMENT+SECGROUP+VROUTER+VMGROUP+BACKUPJOB/* CREATE *',
    ]);
    const dup = await t.admin('POST', '/api/v1/groups', { name: 'devs' });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.message, 'NAME is already taken by GROUP 100.');
    const bad = await t.admin('POST', '/api/v1/groups', { name: 'a:b' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.field, 'NAME');
  });

  it('shows USERS from the members, ADMINS, TEMPLATE and quota blocks', async () => {
    const dave = await t.createUser('dave', { group: 100 });
    const show = await t.admin('GET', '/api/v1/groups/100');
    assert.equal(show.status, 200);
    assert.deepEqual(Object.keys(show.body.GROUP), [
      'ID',
      'NAME',
      'TEMPLATE',
      'USERS',
      'ADMINS',
      'DATASTORE_QUOTA',
      'NETWORK_QUOTA',
      'VM_QUOTA',
      'IMAGE_QUOTA',
    ]);
    assert.deepEqual(show.body.GROUP.USERS, { ID: [dave.id] });
    assert.deepEqual(show.body.GROUP.ADMINS, { ID: [] });
    const list = await t.admin('GET', '/api/v1/groups');
    assert.deepEqual(
      list.body.GROUP_POOL.GROUP.map((g: { ID: number; NAME: string }) => [g.ID, g.NAME]),
      [
        [0, 'oneadmin'],
        [1, 'users'],
        [100, 'devs'],
      ],
    );
    // A member sees its group only, and may not change it.
    const mine = await dave.request('GET', '/api/v1/groups');
    assert.deepEqual(
      mine.body.GROUP_POOL.GROUP.map((g: { ID: number }) => g.ID),
      [100],
    );
    assert.equal((await dave.request('GET', '/api/v1/groups/1')).status, 403);
    const update = await dave.request('PUT', '/api/v1/groups/100/template', { template: 'X = 1' });
    assert.equal(update.status, 403);
    assert.equal(
      update.body.message,
      `[one.group.update] User [${dave.id}] : Not authorized to perform MANAGE GROUP [100].`,
    );
  });

  it("lets the new group's users create VMs, images and templates, and nothing else", async () => {
    const caller = await callerOf('dave');
    for (const type of ['VM', 'IMAGE', 'TEMPLATE'] as const) {
      assert.ok(caller.authorizer.allows({ operation: 'CREATE', type }), type);
    }
    assert.ok(!caller.authorizer.allows({ operation: 'CREATE', type: 'HOST' }));
    const refused = await t.as('dave', 'dave-pw')('POST', '/api/v1/groups', { name: 'mine' });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.code, 'AUTHORIZATION');
  });

  it('updates the template (replace and merge)', async () => {
    assert.equal(
      (await t.admin('PUT', '/api/v1/groups/100/template', { template: 'A = 1\nB = 2' })).status,
      200,
    );
    await t.admin('PUT', '/api/v1/groups/100/template', { template: { C: '3' }, merge: true });
    const show = await t.admin('GET', '/api/v1/groups/100');
    assert.deepEqual(show.body.GROUP.TEMPLATE, { A: '1', B: '2', C: '3' });
  });

  it('adds and removes group admins with their ACL rules', async () => {
    const eve = await t.createUser('eve');
    const notMember = await t.admin('POST', '/api/v1/groups/100/admins', { user: eve.id });
    assert.equal(notMember.status, 409);
    assert.equal(notMember.body.message, `User ${eve.id} is not part of Group 100.`);
    const dave = (await t.admin('GET', '/api/v1/groups/100')).body.GROUP.USERS.ID[0] as number;
    assert.equal((await t.admin('POST', '/api/v1/groups/100/admins', { user: dave })).status, 200);
    assert.deepEqual((await t.admin('GET', '/api/v1/groups/100')).body.GROUP.ADMINS, { ID: [dave] });
    const rules = (await t.admin('GET', '/api/v1/acl')).body.ACL_POOL.ACL.map(
      (r: { STRING: string }) => r.STRING,
    );
    assert.ok(rules.includes(`#${dave} USER/@100 USE+MANAGE+ADMIN+CREATE *`), rules.join('\n'));
    // As admin, dave may now update the group.
    const update = await t.as('dave', 'dave-pw')('PUT', '/api/v1/groups/100/template', {
      template: 'BY = dave',
      merge: true,
    });
    assert.equal(update.status, 200);
    assert.equal((await t.admin('DELETE', `/api/v1/groups/100/admins/${dave}`)).status, 200);
    const after = (await t.admin('GET', '/api/v1/acl')).body.ACL_POOL.ACL.map(
      (r: { STRING: string }) => r.STRING,
    );
    assert.ok(!after.some((s: string) => s.startsWith(`#${dave} `)));
    const again = await t.admin('DELETE', `/api/v1/groups/100/admins/${dave}`);
    assert.equal(again.status, 409);
  });

  it('refuses to delete system groups and groups with users; deletes its ACL rules', async () => {
    const system = await t.admin('DELETE', '/api/v1/groups/1');
    assert.equal(system.status, 409);
    assert.equal(system.body.message, 'System Groups (ID < 100) cannot be deleted.');
    const busy = await t.admin('DELETE', '/api/v1/groups/100');
    assert.equal(busy.status, 409);
    assert.equal(busy.body.message, 'Group 100 is not empty.');
    const empty = await t.admin('POST', '/api/v1/groups', { name: 'empty' });
    assert.equal(empty.body.ID, 101);
    assert.equal((await t.admin('DELETE', '/api/v1/groups/101')).status, 200);
    assert.equal((await t.admin('GET', '/api/v1/groups/101')).status, 404);
    const rules = (await t.admin('GET', '/api/v1/acl')).body.ACL_POOL.ACL.map(
      (r: { STRING: string }) => r.STRING,
    );
    assert.ok(!rules.some((s: string) => s.startsWith('@101 ')));
  });

  describe('CLI', () => {
    const nimbus = (...args: string[]) => cliRunner(t).run(...args);
    const failing = (...args: string[]) => cliRunner(t).fail(...args);

    it('creates, lists, shows, sets quotas and deletes', async () => {
      const created = await nimbus('group', 'create', 'ops');
      assert.match(created.stdout, /^ID: \d+\n$/);
      const list = await nimbus('group', 'list');
      const lines = list.stdout.trimEnd().split('\n');
      assert.match(lines[0]!, /^\s*ID NAME\s+USERS\s+VMS\s+MEMORY\s+CPU$/);
      assert.ok(
        lines.some((l) => /\bops\s+0\s+0 \/ -/.test(l)),
        list.stdout,
      );
      const json = JSON.parse((await nimbus('group', 'list', '--json')).stdout);
      assert.ok(json.GROUP_POOL.GROUP.some((g: { NAME: string }) => g.NAME === 'ops'));
      const file = join(t.home, 'quota.txt');
      await writeFile(file, 'VM = [ VMS = 3, MEMORY = 2048 ]\n');
      await nimbus('group', 'quota', 'ops', file);
      const show = await nimbus('group', 'show', 'ops');
      assert.match(show.stdout, /NAME\s+: ops/);
      assert.match(show.stdout, /0 \/ 3\s+0 \/ 2048/);
      await nimbus('group', 'delete', 'ops');
      const gone = await failing('group', 'show', 'ops');
      assert.equal(gone.code, 2);
      assert.equal(gone.stderr, 'nimbus: NOT_FOUND: no group named "ops"\n');
    });

    it('fails with one line and exit code 2', async () => {
      const busy = await failing('group', 'delete', 'devs');
      assert.equal(busy.code, 2);
      assert.equal(busy.stderr, 'nimbus: ACTION: Group 100 is not empty.\n');
    });
  });
});
