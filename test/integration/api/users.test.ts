import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ADMIN_PASSWORD, startTestNimbus, type TestNimbus } from './harness.js';

describe('bootstrap, authentication and users', () => {
  let t: TestNimbus;
  before(async () => {
    t = await startTestNimbus();
  });
  after(async () => t.close());

  it('bootstraps OpenNebula identities and writes one_auth with mode 600', async () => {
    const users = await t.admin('GET', '/api/v1/users');
    assert.equal(users.status, 200);
    assert.deepEqual(
      users.body.USER_POOL.USER.map((u: { ID: number; NAME: string; GID: number }) => [u.ID, u.NAME, u.GID]),
      [
        [0, 'oneadmin', 0],
        [1, 'serveradmin', 0],
      ],
    );
    const authFile = join(t.home, 'one_auth');
    assert.equal(await readFile(authFile, 'utf8'), `oneadmin:${ADMIN_PASSWORD}\n`);
    assert.equal((await stat(authFile)).mode & 0o777, 0o600);
  });

  it('never shows a password hash', async () => {
    const me = await t.admin('GET', '/api/v1/users/0');
    assert.equal(me.body.USER.PASSWORD, '********');
    assert.ok(!JSON.stringify(me.body).includes('argon2'));
  });

  it('refuses anonymous and wrong credentials with 401', async () => {
    assert.equal((await t.anonymous('GET', '/api/v1/users')).status, 401);
    const wrong = await t.as('oneadmin', 'nope')('GET', '/api/v1/users');
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.code, 'AUTHENTICATION');
  });

  it('creates users in group users (1), who see only themselves', async () => {
    const alice = await t.createUser('alice');
    assert.equal(alice.id, 2);
    const list = await alice.request('GET', '/api/v1/users');
    assert.deepEqual(
      list.body.USER_POOL.USER.map((u: { NAME: string }) => u.NAME),
      ['alice'],
    );
    const other = await alice.request('GET', '/api/v1/users/0');
    assert.equal(other.status, 403);
    assert.equal(other.body.code, 'AUTHORIZATION');
    const create = await alice.request('POST', '/api/v1/users', { name: 'mallory', password: 'x' });
    assert.equal(create.status, 403);
  });

  it('validates input with a code and a field', async () => {
    const blank = await t.admin('POST', '/api/v1/users', { name: 'a b', password: 'x' });
    assert.equal(blank.status, 400);
    assert.equal(blank.body.field, 'NAME');
    const missing = await t.admin('POST', '/api/v1/users', { password: 'x' });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.code, 'VALIDATION');
    assert.equal(missing.body.field, 'body/name');
    const dup = await t.admin('POST', '/api/v1/users', { name: 'alice', password: 'x' });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.code, 'NAME_TAKEN');
  });

  it('issues login tokens usable as bearer and as the Basic password', async () => {
    await t.createUser('bob');
    const login = await t.anonymous('POST', '/api/v1/login', { username: 'bob', password: 'bob-pw' });
    assert.equal(login.status, 200);
    const token: string = login.body.token;
    const bearer = await t.nimbus.app.inject({
      url: '/api/v1/users',
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(bearer.statusCode, 200);
    const secret = token.split('.')[1]!;
    assert.equal((await t.as('bob', secret)('GET', '/api/v1/users')).status, 200);
    const badLogin = await t.anonymous('POST', '/api/v1/login', { username: 'bob', password: 'wrong' });
    assert.equal(badLogin.status, 401);
  });

  it('a password change ends cached credentials and tokens', async () => {
    const carol = await t.createUser('carol');
    assert.equal((await carol.request('GET', '/api/v1/users')).status, 200);
    const login = await t.anonymous('POST', '/api/v1/login', { username: 'carol', password: 'carol-pw' });
    const res = await carol.request('PUT', `/api/v1/users/${carol.id}/password`, { password: 'new-pw' });
    assert.equal(res.status, 200);
    assert.equal((await carol.request('GET', '/api/v1/users')).status, 401);
    const bearer = await t.nimbus.app.inject({
      url: '/api/v1/users',
      headers: { authorization: `Bearer ${login.body.token}` },
    });
    assert.equal(bearer.statusCode, 401);
    assert.equal((await t.as('carol', 'new-pw')('GET', '/api/v1/users')).status, 200);
  });

  it('disable / enable, chgrp, template update and delete', async () => {
    const dave = await t.createUser('dave');
    assert.equal((await t.admin('POST', `/api/v1/users/${dave.id}/disable`)).status, 200);
    assert.equal((await dave.request('GET', '/api/v1/users')).status, 401);
    assert.equal((await t.admin('POST', `/api/v1/users/${dave.id}/enable`)).status, 200);
    assert.equal((await dave.request('GET', '/api/v1/users')).status, 200);
    assert.equal((await dave.request('POST', `/api/v1/users/${dave.id}/disable`)).status, 403);
    const chgrp = await t.admin('POST', `/api/v1/users/${dave.id}/chgrp`, { group: 0 });
    assert.equal(chgrp.status, 200);
    assert.equal((await t.admin('GET', `/api/v1/users/${dave.id}`)).body.USER.GID, 0);
    const upd = await t.admin('PUT', `/api/v1/users/${dave.id}/template`, {
      template: 'EMAIL = "d@example.org"',
    });
    assert.equal(upd.status, 200);
    assert.deepEqual((await t.admin('GET', `/api/v1/users/${dave.id}`)).body.USER.TEMPLATE, {
      EMAIL: 'd@example.org',
    });
    const syntax = await t.admin('PUT', `/api/v1/users/${dave.id}/template`, { template: 'EMAIL = [' });
    assert.equal(syntax.status, 400);
    assert.equal(syntax.body.code, 'TEMPLATE_SYNTAX');
    assert.equal((await t.admin('DELETE', '/api/v1/users/0')).status, 409);
    assert.equal((await t.admin('DELETE', `/api/v1/users/${dave.id}`)).status, 200);
    assert.equal((await t.admin('GET', `/api/v1/users/${dave.id}`)).status, 404);
  });

  it('pages and filters the small pools by name', async () => {
    for (const [url, pool, kind] of [
      ['/api/v1/users', 'USER_POOL', 'USER'],
      ['/api/v1/groups', 'GROUP_POOL', 'GROUP'],
      ['/api/v1/datastores', 'DATASTORE_POOL', 'DATASTORE'],
    ] as const) {
      const first = await t.admin('GET', `${url}?limit=1`);
      assert.equal(first.status, 200, url);
      assert.equal(first.body[pool][kind].length, 1);
      const next = first.body.next_after as number;
      assert.equal(next, first.body[pool][kind][0].ID);
      const second = await t.admin('GET', `${url}?limit=100&after=${next}`);
      assert.ok(second.body[pool][kind].every((o: { ID: number }) => o.ID > next));
      assert.equal(second.body.next_after, null);
    }
    const named = await t.admin('GET', '/api/v1/users?name=ONEADM');
    assert.deepEqual(
      named.body.USER_POOL.USER.map((u: { NAME: string }) => u.NAME),
      ['oneadmin'],
    );
  });

  it('serves openapi.json without credentials, listing the routes', async () => {
    const doc = await t.anonymous('GET', '/api/v1/openapi.json');
    assert.equal(doc.status, 200);
    assert.ok(doc.body.paths['/api/v1/users/{id}'].get);
  });
});
