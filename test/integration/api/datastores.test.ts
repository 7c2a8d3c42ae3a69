import assert from 'node:assert/strict';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cliRunner, startTestNimbus, type TestNimbus } from './harness.js';

describe('datastores', () => {
  let t: TestNimbus;
  before(async () => {
    t = await startTestNimbus({ listen: true });
  });
  after(async () => t.close());

  /** An image record straight into the store (the image API is not under test here). */
  const insertImage = (datastoreId: number, name: string, size: number): Promise<number> =>
    t.nimbus.store.images.insert({
      uid: 0,
      gid: 0,
      name,
      permissions: 0o600,
      lock: null,
      template: {},
      type: 0,
      diskType: 0,
      persistent: false,
      regtime: 0,
      source: '',
      path: '',
      format: 'raw',
      fs: '',
      size,
      state: 1,
      prevState: 1,
      runningVms: 0,
      cloningOps: 0,
      cloningId: -1,
      targetSnapshot: -1,
      datastoreId,
      vms: [],
      clones: [],
    });

  it('bootstraps datastores 0 system, 1 default, 2 files in cluster 0', async () => {
    const list = await t.admin('GET', '/api/v1/datastores');
    assert.equal(list.status, 200);
    assert.deepEqual(
      list.body.DATASTORE_POOL.DATASTORE.map((d: Record<string, unknown>) => [
        d.ID,
        d.NAME,
        d.TYPE,
        d.TYPE_NAME,
        d.DS_MAD,
        d.TM_MAD,
        d.CLUSTERS,
      ]),
      [
        [0, 'system', 1, 'SYSTEM_DS', '-', 'ssh', { ID: [0] }],
        [1, 'default', 0, 'IMAGE_DS', 'fs', 'ssh', { ID: [0] }],
        [2, 'files', 2, 'FILE_DS', 'fs', 'ssh', { ID: [0] }],
      ],
    );
    const ds1 = list.body.DATASTORE_POOL.DATASTORE[1];
    assert.deepEqual(Object.keys(ds1), [
      'ID',
      'UID',
      'GID',
      'UNAME',
      'GNAME',
      'NAME',
      'PERMISSIONS',
      'DS_MAD',
      'TM_MAD',
      'BASE_PATH',
      'TYPE',
      'TYPE_NAME',
      'DISK_TYPE',
      'DISK_TYPE_NAME',
      'STATE',
      'STATE_NAME',
      'CLUSTERS',
      'TOTAL_MB',
      'FREE_MB',
      'USED_MB',
      'IMAGES',
      'TEMPLATE',
    ]);
    assert.equal(ds1.UNAME, 'oneadmin');
    assert.equal(ds1.BASE_PATH, join(t.home, 'datastores', '1'));
    assert.ok(ds1.TOTAL_MB > 0 && ds1.FREE_MB > 0 && ds1.FREE_MB <= ds1.TOTAL_MB, JSON.stringify(ds1));
  });

  it('creates a datastore from a template: id 100, BASE_PATH made, capacity measured', async () => {
    const created = await t.admin('POST', '/api/v1/datastores', {
      template: 'NAME = "fast"\nTYPE = "IMAGE_DS"\nDS_MAD = "fs"\nTM_MAD = "qcow2"',
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.ID, 100);
    const ds = (await t.admin('GET', '/api/v1/datastores/100')).body.DATASTORE;
    assert.equal(ds.BASE_PATH, join(t.home, 'datastores', '100'));
    assert.ok((await stat(ds.BASE_PATH)).isDirectory());
    assert.equal(ds.UID, 0);
    assert.equal(ds.PERMISSIONS.OWNER_U, 1);
    assert.ok(ds.TOTAL_MB > 0 && ds.FREE_MB > 0);
    assert.equal(ds.USED_MB, 0);
    assert.equal(ds.TEMPLATE.CLONE_TARGET, 'SYSTEM');
    assert.deepEqual(ds.CLUSTERS, { ID: [0] });
    const stored = await t.nimbus.store.datastores.get(100);
    assert.equal(stored.totalMb, ds.TOTAL_MB, 'the measured figures are stored');

    const sys = await t.admin('POST', '/api/v1/datastores', {
      template: { NAME: 'sys2', TYPE: 'SYSTEM_DS', TM_MAD: 'shared' },
      cluster: 0,
    });
    assert.equal(sys.status, 201);
    assert.equal(
      (await t.admin('GET', `/api/v1/datastores/${sys.body.ID}`)).body.DATASTORE.TEMPLATE.SHARED,
      'YES',
    );
  });

  it('refuses bad templates naming the attribute, and taken names', async () => {
    const cases: [string, string][] = [
      ['NAME = "x1"\nTYPE = "TAPE_DS"\nDS_MAD = "fs"\nTM_MAD = "ssh"', 'TYPE'],
      ['NAME = "x1"\nDS_MAD = "nope"\nTM_MAD = "ssh"', 'DS_MAD'],
      ['NAME = "x1"\nDS_MAD = "fs"', 'TM_MAD'],
      ['DS_MAD = "fs"\nTM_MAD = "ssh"', 'NAME'],
      ['NAME = "x1"\nDS_MAD = "fs"\nTM_MAD = "ssh"\nBASE_PATH = "relative/dir"', 'BASE_PATH'],
    ];
    for (const [template, field] of cases) {
      const res = await t.admin('POST', '/api/v1/datastores', { template });
      assert.equal(res.status, 400, template);
      assert.equal(res.body.field, field, template);
    }
    const dup = await t.admin('POST', '/api/v1/datastores', {
      template: 'NAME = "fast"\nDS_MAD = "fs"\nTM_MAD = "ssh"',
    });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.message, 'NAME is already taken by DATASTORE 100.');
  });

  it('lists images and their sizes as USED_MB', async () => {
    const a = await insertImage(100, 'img-a', 300);
    const b = await insertImage(100, 'img-b', 200);
    const ds = (await t.admin('GET', '/api/v1/datastores/100')).body.DATASTORE;
    assert.deepEqual(ds.IMAGES, { ID: [a, b] });
    assert.equal(ds.USED_MB, 500);
    assert.equal((await t.nimbus.store.datastores.get(100)).usedMb, 500);
    const list = await t.admin('GET', '/api/v1/datastores?name=fast');
    assert.deepEqual(
      list.body.DATASTORE_POOL.DATASTORE.map((d: { ID: number }) => d.ID),
      [100],
    );
  });

  it('refuses to delete a datastore that holds images', async () => {
    const busy = await t.admin('DELETE', '/api/v1/datastores/100');
    assert.equal(busy.status, 409);
    assert.equal(busy.body.code, 'IN_USE');
    assert.equal(
      busy.body.message,
      'Datastore 100 "fast" is not empty: it holds 2 images; delete them first',
    );
    for (const image of (await t.nimbus.store.images.list({ datastoreId: 100 })).items) {
      await t.nimbus.store.images.delete(image.id);
    }
    assert.equal((await t.admin('DELETE', '/api/v1/datastores/100')).status, 200);
    assert.equal((await t.admin('GET', '/api/v1/datastores/100')).status, 404);
  });

  it('disables and enables system datastores only', async () => {
    assert.equal((await t.admin('POST', '/api/v1/datastores/0/disable')).status, 200);
    let ds = (await t.admin('GET', '/api/v1/datastores/0')).body.DATASTORE;
    assert.deepEqual([ds.STATE, ds.STATE_NAME], [1, 'DISABLED']);
    assert.equal((await t.admin('POST', '/api/v1/datastores/0/enable')).status, 200);
    ds = (await t.admin('GET', '/api/v1/datastores/0')).body.DATASTORE;
    assert.deepEqual([ds.STATE, ds.STATE_NAME], [0, 'READY']);
    const image = await t.admin('POST', '/api/v1/datastores/1/disable');
    assert.equal(image.status, 400);
    assert.equal(image.body.message, 'Only SYSTEM_DS can be disabled or enabled');
  });

  it('updates the template (validated), renames, chowns and chmods', async () => {
    const merged = await t.admin('PUT', '/api/v1/datastores/2/template', {
      template: 'LIMIT_MB = 1024',
      merge: true,
    });
    assert.equal(merged.status, 200);
    let ds = (await t.admin('GET', '/api/v1/datastores/2')).body.DATASTORE;
    assert.equal(ds.TEMPLATE.LIMIT_MB, '1024');
    assert.equal(ds.TEMPLATE.DS_MAD, 'fs');
    assert.equal(ds.BASE_PATH, join(t.home, 'datastores', '2'));
    const bad = await t.admin('PUT', '/api/v1/datastores/2/template', {
      template: 'TM_MAD = "nope"',
      merge: true,
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.field, 'TM_MAD');

    assert.equal((await t.admin('POST', '/api/v1/datastores/2/rename', { name: 'files2' })).status, 200);
    assert.equal((await t.admin('POST', '/api/v1/datastores/2/rename', { name: 'default' })).status, 409);

    const carol = await t.createUser('carol');
    assert.equal(
      (await t.admin('POST', '/api/v1/datastores/2/chown', { uid: carol.id, gid: 1 })).status,
      200,
    );
    assert.equal((await t.admin('POST', '/api/v1/datastores/2/chmod', { octet: '640' })).status, 200);
    ds = (await t.admin('GET', '/api/v1/datastores/2')).body.DATASTORE;
    assert.deepEqual([ds.UNAME, ds.GNAME], ['carol', 'users']);
    assert.deepEqual(
      [ds.PERMISSIONS.OWNER_U, ds.PERMISSIONS.OWNER_M, ds.PERMISSIONS.GROUP_U, ds.PERMISSIONS.OTHER_U],
      [1, 1, 1, 0],
    );
    assert.equal((await t.admin('POST', '/api/v1/datastores/2/chown', { uid: 999 })).status, 404);
    // carol owns it now: she may rename it, but chown needs ADMIN.
    assert.equal(
      (await carol.request('POST', '/api/v1/datastores/2/rename', { name: 'carols' })).status,
      200,
    );
    assert.equal((await carol.request('POST', '/api/v1/datastores/2/chown', { uid: 0 })).status, 403);
  });

  it('lets users see datastores (@1 DATASTORE/* USE) but not create or change them', async () => {
    const dave = await t.createUser('dave');
    const list = await dave.request('GET', '/api/v1/datastores');
    assert.equal(list.status, 200);
    assert.ok(list.body.DATASTORE_POOL.DATASTORE.some((d: { ID: number }) => d.ID === 1));
    assert.equal((await dave.request('GET', '/api/v1/datastores/1')).status, 200);
    const create = await dave.request('POST', '/api/v1/datastores', {
      template: 'NAME = "mine"\nDS_MAD = "fs"\nTM_MAD = "ssh"',
    });
    assert.equal(create.status, 403);
    assert.equal((await dave.request('POST', '/api/v1/datastores/1/rename', { name: 'x' })).status, 403);
    assert.equal((await dave.request('DELETE', '/api/v1/datastores/1')).status, 403);
  });

  describe('CLI', () => {
    const nimbus = (...args: string[]) => cliRunner(t).run(...args);
    const failing = (...args: string[]) => cliRunner(t).fail(...args);

    it('creates from a file, lists, shows and deletes', async () => {
      const file = join(t.home, 'ds.txt');
      await writeFile(file, 'NAME = "cli-ds"\nTYPE = "FILE_DS"\nDS_MAD = "fs"\nTM_MAD = "ssh"\n');
      const created = await nimbus('datastore', 'create', file);
      assert.match(created.stdout, /^ID: \d+\n$/);
      const list = await nimbus('datastore', 'list');
      const lines = list.stdout.trimEnd().split('\n');
      assert.match(lines[0]!, /^\s*ID NAME\s+SIZE\s+AVA CLUSTERS IMAGES TYPE DS TM\s+STAT$/);
      assert.ok(
        lines.some((l) => /\bcli-ds\s+[\d.]+[MGT]\s+\d+%\s+0\s+0 fil\s+fs ssh\s+on$/.test(l)),
        list.stdout,
      );
      const json = JSON.parse((await nimbus('datastore', 'list', '--json')).stdout);
      assert.ok(json.DATASTORE_POOL.DATASTORE.some((d: { NAME: string }) => d.NAME === 'cli-ds'));
      const show = await nimbus('datastore', 'show', 'cli-ds');
      assert.match(show.stdout, /^DATASTORE \d+ INFORMATION\n/);
      assert.match(show.stdout, /TYPE\s+: FILE_DS/);
      assert.match(show.stdout, /TOTAL\s+: [\d.]+[MGT]\n/);
      await nimbus('datastore', 'chmod', 'cli-ds', '600');
      const perms = JSON.parse((await nimbus('datastore', 'show', 'cli-ds', '--json')).stdout);
      assert.equal(perms.DATASTORE.PERMISSIONS.GROUP_U, 0);
      await nimbus('datastore', 'delete', 'cli-ds');
      const gone = await failing('datastore', 'show', 'cli-ds');
      assert.equal(gone.stderr, 'nimbus: NOT_FOUND: no datastore named "cli-ds"\n');
    });

    it('fails with one line naming the problem', async () => {
      const file = join(t.home, 'bad-ds.txt');
      await writeFile(file, 'NAME = "bad"\nDS_MAD = "fs"\n');
      const bad = await failing('datastore', 'create', file);
      assert.equal(bad.code, 2);
      assert.equal(bad.stderr, 'nimbus: TEMPLATE_INVALID: No TM_MAD in template.\n');
      const missing = await failing('datastore', 'create', join(t.home, 'nope.txt'));
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /nope\.txt: cannot read: no such file or directory/);
    });
  });
});
