import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  ADMIN_PASSWORD,
  cliRunner,
  startTestNimbus,
  type ApiAnswer,
  type Requester,
  type TestNimbus,
} from './harness.js';

const execFileAsync = promisify(execFile);
const MIB = 1024 * 1024;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const md5 = (data: Buffer): string => createHash('md5').update(data).digest('hex');
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

const basic = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('images', () => {
  let t: TestNimbus;
  /** A SAFE_DIRS directory (the default datastore's SAFE_DIRS is /var/tmp). */
  let safe: string;
  /** Outside SAFE_DIRS. */
  let outside: string;
  let alice: { id: number; request: Requester };
  let bob: { id: number; request: Requester };

  before(async () => {
    t = await startTestNimbus();
    safe = await mkdtemp('/var/tmp/nimbus-images-test-');
    outside = await mkdtemp(join(tmpdir(), 'nimbus-images-outside-'));
    alice = await t.createUser('alice');
    bob = await t.createUser('bob');
  });
  after(async () => {
    await t.close();
    await rm(safe, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  const upload = async (
    data: Buffer,
    query: Record<string, string>,
    auth = basic('oneadmin', ADMIN_PASSWORD),
  ): Promise<ApiAnswer> => {
    const res = await t.nimbus.app.inject({
      method: 'POST',
      url: `/api/v1/images/upload?${new URLSearchParams(query).toString()}`,
      headers: { authorization: auth, 'content-type': 'application/octet-stream' },
      payload: data,
    });
    return { status: res.statusCode, body: JSON.parse(res.body) };
  };

  /** Polls until the image leaves LOCKED; returns its body. */
  const settled = async (id: number, request: Requester = t.admin): Promise<ApiAnswer['body']> => {
    for (let i = 0; i < 400; i++) {
      const res = await request('GET', `/api/v1/images/${id}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      if (res.body.IMAGE.STATE !== 4) return res.body.IMAGE;
      await sleep(25);
    }
    throw new Error(`image ${id} stayed LOCKED`);
  };

  const datastoreFiles = async (dsId = 1): Promise<string[]> =>
    (await readdir(join(t.home, 'datastores', String(dsId)))).sort();

  it('uploads a stream: READY with MD5, SHA-256 and SIZE, the file in the datastore', async () => {
    const data = randomBytes(3 * MIB + 1234);
    const res = await upload(data, { datastore: '1', name: 'up-raw', type: 'OS' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const show = await t.admin('GET', `/api/v1/images/${res.body.ID}`);
    const image = show.body.IMAGE;
    assert.equal(image.STATE, 1);
    assert.equal(image.STATE_NAME, 'READY');
    assert.equal(image.TYPE_NAME, 'OS');
    assert.equal(image.SIZE, 4);
    assert.equal(image.FORMAT, 'raw');
    assert.equal(image.DATASTORE, 'default');
    assert.equal(image.TEMPLATE.MD5, md5(data));
    assert.equal(image.TEMPLATE.SHA256, sha256(data));
    assert.equal(image.PROGRESS, undefined);
    assert.ok(image.SOURCE.startsWith(join(t.home, 'datastores', '1') + '/'));
    assert.deepEqual(await readFile(image.SOURCE), data);
    const keys = Object.keys(image);
    assert.deepEqual(keys.slice(0, 8), ['ID', 'UID', 'GID', 'UNAME', 'GNAME', 'NAME', 'PERMISSIONS', 'TYPE']);
    assert.ok(keys.indexOf('SOURCE') < keys.indexOf('SIZE') && keys.indexOf('SIZE') < keys.indexOf('STATE'));
  });

  const createFrom = (template: Record<string, string>, request: Requester = t.admin, datastore = 1) =>
    request('POST', '/api/v1/images', { template, datastore });

  const imageIds = async (request: Requester = t.admin): Promise<number[]> =>
    (await request('GET', '/api/v1/images')).body.IMAGE_POOL.IMAGE.map((i: { ID: number }) => i.ID);

  /** Sets datastore figures directly, as a DS monitor would. */
  const setCapacity = async (
    dsId: number,
    totalMb: number,
    freeMb: number,
    usedMb: number,
  ): Promise<void> => {
    const ds = await t.nimbus.store.datastores.get(dsId);
    await t.nimbus.store.datastores.update({ ...ds, totalMb, freeMb, usedMb });
  };

  it('copies a local PATH as oneadmin in the background, then READY', async () => {
    const data = randomBytes(2 * MIB);
    const file = join(safe, 'disk.raw');
    await writeFile(file, data);
    const res = await createFrom({ NAME: 'from-path', PATH: file });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const image = await settled(res.body.ID);
    assert.equal(image.STATE_NAME, 'READY', JSON.stringify(image.TEMPLATE));
    assert.equal(image.PATH, file);
    assert.equal(image.SIZE, 2);
    assert.equal(image.TEMPLATE.MD5, md5(data));
    assert.equal(image.TEMPLATE.SHA256, sha256(data));
    assert.equal(image.TEMPLATE.DEV_PREFIX, 'sd');
    assert.deepEqual(await readFile(image.SOURCE), data);
  });

  it('detects qcow2 files and keeps their virtual size', async () => {
    const file = join(safe, 'disk.qcow2');
    await execFileAsync('qemu-img', ['create', '-q', '-f', 'qcow2', file, '64M']);
    const res = await createFrom({ NAME: 'from-qcow2', PATH: file });
    assert.equal(res.status, 201);
    const image = await settled(res.body.ID);
    assert.equal(image.STATE_NAME, 'READY');
    assert.equal(image.FORMAT, 'qcow2');
    assert.equal(image.SIZE, 64);
  });

  it('refuses qcow2 files with a backing file (they could read host files)', async () => {
    const file = join(safe, 'backed.qcow2');
    await execFileAsync('qemu-img', [
      'create',
      '-q',
      '-f',
      'qcow2',
      '-F',
      'raw',
      '-b',
      '/etc/hostname',
      file,
      '16M',
    ]);
    const image = await settled((await createFrom({ NAME: 'backed', PATH: file })).body.ID);
    assert.equal(image.STATE_NAME, 'ERROR');
    assert.match(image.TEMPLATE.ERROR, /Error copying image in the datastore: .*backing or data files/);
    assert.equal(image.SOURCE, '');
    assert.equal((await t.admin('DELETE', `/api/v1/images/${image.ID}`)).status, 200);
  });

  it('records a checksum mismatch as ERROR with the reason, and leaves no file', async () => {
    const file = join(safe, 'sum.raw');
    await writeFile(file, randomBytes(MIB));
    const before = await datastoreFiles();
    const res = await createFrom({ NAME: 'bad-md5', PATH: file, MD5: '0'.repeat(32) });
    const image = await settled(res.body.ID);
    assert.equal(image.STATE, 5);
    assert.match(
      image.TEMPLATE.ERROR,
      / : Error copying image in the datastore: MD5 of the image is [0-9a-f]{32}/,
    );
    assert.deepEqual(await datastoreFiles(), before);
    assert.equal((await t.admin('DELETE', `/api/v1/images/${image.ID}`)).status, 200);
  });

  it('refuses PATH outside SAFE_DIRS for regular users, and system files for everybody', async () => {
    const file = join(outside, 'private.raw');
    await writeFile(file, randomBytes(1024));
    const before = await imageIds();

    const mine = await createFrom({ NAME: 'outside', PATH: file }, alice.request);
    assert.equal(mine.status, 400);
    assert.equal(mine.body.code, 'PATH_RESTRICTED');
    assert.match(mine.body.message, /outside the datastore's SAFE_DIRS \(\/var\/tmp\)/);
    // oneadmin is refused too while RESTRICTED_DIRS is "/" (OpenNebula's default)
    const admin = await createFrom({ NAME: 'outside', PATH: file });
    assert.equal(admin.body.code, 'PATH_RESTRICTED');
    assert.match(admin.body.message, /RESTRICTED_DIRS/);

    const link = join(safe, 'shadow-link');
    await symlink('/etc/shadow', link);
    const attempts: [string, Requester][] = [
      ['/etc/shadow', t.admin],
      ['/etc/shadow', alice.request],
      [link, t.admin],
      [link, alice.request],
      [`${safe}/../../../etc/shadow`, t.admin],
      [`${safe}/../../../etc/shadow`, alice.request],
      [join(t.home, 'nimbus.db'), t.admin],
    ];
    for (const [path, request] of attempts) {
      const res = await createFrom({ NAME: 'steal', PATH: path }, request);
      assert.equal(res.status, 400, `${path}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.code, 'PATH_RESTRICTED', path);
      assert.equal(res.body.field, 'PATH');
    }
    const viaLink = await createFrom({ NAME: 'steal', PATH: link }, alice.request);
    assert.match(viaLink.body.message, /resolves to \/etc\/shadow/);

    const missing = await createFrom({ NAME: 'missing', PATH: join(safe, 'nope.raw') });
    assert.equal(missing.body.code, 'PATH_NOT_FOUND');
    const dir = await createFrom({ NAME: 'dir', PATH: safe });
    assert.equal(dir.body.code, 'PATH_INVALID');
    const url = await createFrom({ NAME: 'web', PATH: 'https://example.com/disk.qcow2' });
    assert.equal(url.status, 400);
    assert.equal(url.body.code, 'PATH_URL_UNSUPPORTED');
    assert.deepEqual(await imageIds(), before, 'no record is left behind');
  });

  it("lets oneadmin use other directories once they leave the datastore's RESTRICTED_DIRS", async () => {
    const ds = await t.nimbus.store.datastores.get(1);
    await t.nimbus.store.datastores.update({
      ...ds,
      template: { ...ds.template, RESTRICTED_DIRS: ['/srv/none'] },
    });
    try {
      const file = join(outside, 'admin.raw');
      await writeFile(file, randomBytes(MIB));
      const admin = await createFrom({ NAME: 'admin-outside', PATH: file });
      assert.equal(admin.status, 201);
      assert.equal((await settled(admin.body.ID)).STATE_NAME, 'READY');
      const user = await createFrom({ NAME: 'user-outside', PATH: file }, alice.request);
      assert.equal(user.body.code, 'PATH_RESTRICTED');
    } finally {
      const now = await t.nimbus.store.datastores.get(1);
      await t.nimbus.store.datastores.update({ ...now, template: ds.template });
    }
  });

  it('creates an empty qcow2 DATABLOCK with qemu-img', async () => {
    const res = await createFrom({ NAME: 'blank', TYPE: 'DATABLOCK', SIZE: '100', FORMAT: 'qcow2' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const image = await settled(res.body.ID);
    assert.equal(image.STATE_NAME, 'READY');
    assert.equal(image.TYPE_NAME, 'DATABLOCK');
    assert.equal(image.FORMAT, 'qcow2');
    assert.equal(image.SIZE, 100);
    const { stdout } = await execFileAsync('qemu-img', ['info', '--output=json', image.SOURCE]);
    const info = JSON.parse(stdout) as { format: string; 'virtual-size': number };
    assert.equal(info.format, 'qcow2');
    assert.equal(info['virtual-size'], 100 * MIB);

    const noSize = await createFrom({ NAME: 'blank2', TYPE: 'DATABLOCK' });
    assert.equal(noSize.status, 400);
    assert.equal(noSize.body.field, 'SIZE');
  });

  it('cancels a copy in progress on delete: no record, no partial file', async () => {
    const file = join(safe, 'huge.raw');
    await writeFile(file, '');
    await truncate(file, 4 * 1024 * MIB);
    const before = await datastoreFiles();
    const res = await createFrom({ NAME: 'huge', PATH: file });
    assert.equal(res.status, 201);
    const id = res.body.ID;
    let seen: ApiAnswer['body'] = null;
    for (let i = 0; i < 200 && seen === null; i++) {
      const show = await t.admin('GET', `/api/v1/images/${id}`);
      assert.equal(show.body.IMAGE.STATE_NAME, 'LOCKED', 'the copy is still running');
      if (show.body.IMAGE.PROGRESS?.BYTES > 0) seen = show.body.IMAGE.PROGRESS;
      else await sleep(5);
    }
    assert.ok(seen !== null, 'progress is reported');
    assert.equal(seen.TOTAL, 4 * 1024 * MIB);
    assert.ok(seen.PERCENT >= 0 && seen.PERCENT < 100);
    assert.equal((await datastoreFiles()).length, before.length + 1, 'the partial file exists');

    const enable = await t.admin('POST', `/api/v1/images/${id}/enable`);
    assert.equal(enable.status, 409);
    assert.equal(enable.body.message, 'Could not enable image: Image cannot be in state LOCKED.');

    const del = await t.admin('DELETE', `/api/v1/images/${id}`);
    assert.equal(del.status, 200, JSON.stringify(del.body));
    assert.equal((await t.admin('GET', `/api/v1/images/${id}`)).status, 404);
    assert.deepEqual(await datastoreFiles(), before);
    await rm(file);
  });

  it('shows an upload in progress as LOCKED with PROGRESS, and cancels it on delete', async () => {
    const before = await datastoreFiles();
    let resume!: () => void;
    const paused = new Promise<void>((resolve) => (resume = resolve));
    async function* slowBody(): AsyncIterable<Buffer> {
      yield randomBytes(MIB);
      await paused;
      yield randomBytes(MIB);
    }
    const answer = t.nimbus.app.inject({
      method: 'POST',
      url: `/api/v1/images/upload?datastore=1&name=slow&size=${2 * MIB}`,
      headers: {
        authorization: basic('oneadmin', ADMIN_PASSWORD),
        'content-type': 'application/octet-stream',
      },
      payload: Readable.from(slowBody()),
    });
    let image: ApiAnswer['body'] = undefined;
    for (let i = 0; i < 200 && image?.PROGRESS?.BYTES !== MIB; i++) {
      await sleep(10);
      image = (await t.admin('GET', '/api/v1/images?name=slow')).body.IMAGE_POOL.IMAGE[0];
    }
    assert.equal(image.STATE_NAME, 'LOCKED');
    assert.deepEqual(image.PROGRESS, { BYTES: MIB, TOTAL: 2 * MIB, PERCENT: 50 });
    const del = await t.admin('DELETE', `/api/v1/images/${image.ID}`);
    assert.equal(del.status, 200, JSON.stringify(del.body));
    resume();
    const res = await answer;
    assert.equal(res.statusCode, 409);
    assert.equal(JSON.parse(res.body).code, 'IMAGE_CANCELLED');
    assert.equal((await t.admin('GET', `/api/v1/images/${image.ID}`)).status, 404);
    assert.deepEqual(await datastoreFiles(), before);
  });

  it('applies the state rules with OpenNebula messages', async () => {
    const res = await upload(randomBytes(MIB), { datastore: '1', name: 'states' });
    const id = res.body.ID;
    const act = (verb: string, body?: unknown) => t.admin('POST', `/api/v1/images/${id}/${verb}`, body);
    const state = async () => (await t.admin('GET', `/api/v1/images/${id}`)).body.IMAGE;

    assert.equal((await act('persistent')).status, 200);
    assert.equal((await state()).PERSISTENT, 1);
    assert.equal((await act('disable')).status, 200);
    assert.equal((await state()).STATE_NAME, 'DISABLED');
    assert.equal((await act('nonpersistent')).status, 200, 'allowed while DISABLED');
    const clone = await t.admin('POST', `/api/v1/images/${id}/clone`, { name: 'states-copy' });
    assert.equal(clone.status, 409);
    assert.equal(clone.body.message, 'Cannot clone image in state: DISABLED');
    assert.equal((await act('enable')).status, 200);
    assert.equal((await state()).STATE_NAME, 'READY');

    assert.equal((await act('chtype', { type: 'datablock' })).status, 200);
    assert.equal((await state()).TYPE_NAME, 'DATABLOCK');
    const incompatible = await act('chtype', { type: 'KERNEL' });
    assert.equal(incompatible.body.code, 'IMAGE_TYPE');
    assert.equal(
      incompatible.body.message,
      'Cannot change image type to an incompatible type for the current datastore.',
    );
    assert.equal((await act('chtype', { type: 'floppy' })).body.field, 'TYPE');

    // A VM holds it (the VM code does this through acquireImage).
    const image = await t.nimbus.store.images.get(id);
    await t.nimbus.store.images.update({ ...image, state: 2, runningVms: 1, vms: [42] });
    const busy: [string, string][] = [
      ['persistent', 'Could not make image persistent: Image cannot be in state USED.'],
      ['disable', 'Could not disable image: Image cannot be in state USED.'],
    ];
    for (const [verb, message] of busy) {
      const refused = await act(verb);
      assert.equal(refused.status, 409, verb);
      assert.equal(refused.body.code, 'IMAGE_STATE');
      assert.equal(refused.body.message, message);
    }
    const del = await t.admin('DELETE', `/api/v1/images/${id}`);
    assert.equal(del.status, 409);
    assert.equal(del.body.code, 'IMAGE_IN_USE');
    assert.equal(del.body.message, 'Cannot delete image. There are 1 VMs using it.');
    const used = await t.nimbus.store.images.get(id);
    await t.nimbus.store.images.update({ ...used, state: 1, runningVms: 0, vms: [] });

    const kernel = await upload(randomBytes(4096), { datastore: '2', name: 'vmlinuz', type: 'KERNEL' });
    assert.equal(kernel.status, 201, JSON.stringify(kernel.body));
    const pers = await t.admin('POST', `/api/v1/images/${kernel.body.ID}/persistent`);
    assert.equal(pers.body.message, 'KERNEL, RAMDISK and CONTEXT must be non-persistent');
    const wrongDs = await upload(randomBytes(4096), { datastore: '1', name: 'vmlinuz', type: 'KERNEL' });
    assert.equal(wrongDs.body.code, 'DATASTORE_TYPE');
  });

  it('clones an image: same bytes, the source READY again afterwards', async () => {
    const data = randomBytes(2 * MIB);
    const src = (await upload(data, { datastore: '1', name: 'golden', persistent: 'true' })).body.ID;
    const res = await t.admin('POST', `/api/v1/images/${src}/clone`, { name: 'golden-copy' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const copy = await settled(res.body.ID);
    assert.equal(copy.STATE_NAME, 'READY');
    assert.equal(copy.PERSISTENT, 1);
    assert.equal(copy.PATH, (await t.admin('GET', `/api/v1/images/${src}`)).body.IMAGE.SOURCE);
    assert.notEqual(copy.SOURCE, copy.PATH);
    assert.equal(copy.TEMPLATE.MD5, md5(data));
    assert.deepEqual(await readFile(copy.SOURCE), data);
    const source = (await t.admin('GET', `/api/v1/images/${src}`)).body.IMAGE;
    assert.equal(source.STATE_NAME, 'READY');
    assert.equal(source.CLONING_OPS, 0);
    assert.deepEqual(source.CLONES.ID, []);
    const dup = await t.admin('POST', `/api/v1/images/${src}/clone`, { name: 'golden-copy' });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.code, 'NAME_TAKEN');
    const toFiles = await t.admin('POST', `/api/v1/images/${src}/clone`, { name: 'x', datastore: 2 });
    assert.equal(toFiles.body.code, 'DATASTORE_TYPE');
  });

  it('deletes an image and its file', async () => {
    const res = await upload(randomBytes(MIB), { datastore: '1', name: 'doomed' });
    const image = (await t.admin('GET', `/api/v1/images/${res.body.ID}`)).body.IMAGE;
    await stat(image.SOURCE);
    assert.equal((await t.admin('DELETE', `/api/v1/images/${image.ID}`)).status, 200);
    await assert.rejects(stat(image.SOURCE), { code: 'ENOENT' });
    assert.equal((await t.admin('GET', `/api/v1/images/${image.ID}`)).status, 404);
    assert.equal((await t.admin('DELETE', `/api/v1/images/${image.ID}`)).status, 404);
  });

  it("keeps users' 600 images private; chmod, chown and the filter flag", async () => {
    const aliceAuth = basic('alice', 'alice-pw');
    const res = await upload(randomBytes(MIB), { datastore: '1', name: 'alice-disk' }, aliceAuth);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const id = res.body.ID;
    const mine = (await alice.request('GET', `/api/v1/images/${id}`)).body.IMAGE;
    assert.equal(mine.UNAME, 'alice');
    assert.equal(mine.GNAME, 'users');
    assert.deepEqual(mine.PERMISSIONS, {
      OWNER_U: 1,
      OWNER_M: 1,
      OWNER_A: 0,
      GROUP_U: 0,
      GROUP_M: 0,
      GROUP_A: 0,
      OTHER_U: 0,
      OTHER_M: 0,
      OTHER_A: 0,
    });

    assert.equal((await bob.request('GET', `/api/v1/images/${id}`)).status, 403);
    assert.ok(!(await imageIds(bob.request)).includes(id));
    for (const [method, url, body] of [
      ['POST', `/api/v1/images/${id}/rename`, { name: 'mine-now' }],
      ['POST', `/api/v1/images/${id}/disable`, undefined],
      ['PUT', `/api/v1/images/${id}/template`, { template: 'DESCRIPTION="x"' }],
      ['POST', `/api/v1/images/${id}/clone`, { name: 'stolen' }],
      ['DELETE', `/api/v1/images/${id}`, undefined],
    ] as const) {
      const refused = await bob.request(method, url, body);
      assert.equal(refused.status, 403, `${method} ${url}`);
      assert.equal(refused.body.code, 'AUTHORIZATION');
    }
    assert.deepEqual(await imageIds(alice.request), [id]);

    assert.equal((await alice.request('POST', `/api/v1/images/${id}/chmod`, { octet: '640' })).status, 200);
    assert.equal((await bob.request('GET', `/api/v1/images/${id}`)).status, 200, 'GROUP_U');
    assert.ok((await imageIds(bob.request)).includes(id));
    assert.deepEqual(
      (await bob.request('GET', '/api/v1/images?filter=-3')).body.IMAGE_POOL.IMAGE,
      [],
      'filter -3: only mine',
    );
    assert.equal((await bob.request('POST', `/api/v1/images/${id}/rename`, { name: 'x' })).status, 403);

    // owner has no ADMIN right with 640: chown is refused; oneadmin may
    assert.equal((await alice.request('POST', `/api/v1/images/${id}/chown`, { uid: bob.id })).status, 403);
    assert.equal((await t.admin('POST', `/api/v1/images/${id}/chown`, { uid: bob.id })).status, 200);
    const moved = (await bob.request('GET', `/api/v1/images/${id}`)).body.IMAGE;
    assert.equal(moved.UNAME, 'bob');
    assert.equal((await t.admin('POST', `/api/v1/images/${id}/chown`, { uid: 999 })).status, 404);

    const upd = await bob.request('PUT', `/api/v1/images/${id}/template`, {
      template: 'DESCRIPTION="shared"',
      merge: true,
    });
    assert.equal(upd.status, 200);
    const tpl = (await bob.request('GET', `/api/v1/images/${id}`)).body.IMAGE.TEMPLATE;
    assert.equal(tpl.DESCRIPTION, 'shared');
    assert.ok(tpl.MD5, 'merge keeps the other attributes');
    assert.equal((await bob.request('POST', `/api/v1/images/${id}/rename`, { name: 'bobs' })).status, 200);
    assert.equal((await bob.request('DELETE', `/api/v1/images/${id}`)).status, 200);
  });

  it('accounts datastore capacity: reserved on create, refused when full, given back on delete', async () => {
    await setCapacity(1, 1000, 1000, 0);
    try {
      const res = await upload(randomBytes(3 * MIB), { datastore: '1', name: 'cap' });
      assert.equal(res.status, 201);
      let ds = await t.nimbus.store.datastores.get(1);
      assert.equal(ds.freeMb, 997);
      assert.equal(ds.usedMb, 3);

      const blank = await createFrom({ NAME: 'cap-blank', TYPE: 'DATABLOCK', SIZE: '500' });
      await settled(blank.body.ID);
      ds = await t.nimbus.store.datastores.get(1);
      assert.equal(ds.freeMb, 497);

      const full = await createFrom({ NAME: 'too-big', TYPE: 'DATABLOCK', SIZE: '600' });
      assert.equal(full.status, 409);
      assert.equal(full.body.code, 'DATASTORE_FULL');
      assert.match(full.body.message, /needs 600 MB, 497 MB are available/);
      await setCapacity(1, 1000, 2, 998);
      const fullUpload = await upload(randomBytes(3 * MIB), { datastore: '1', name: 'too-big' });
      assert.equal(fullUpload.body.code, 'DATASTORE_FULL');
      assert.ok(!(await imageIds()).some((i) => i > blank.body.ID), 'no record for refused images');
      await setCapacity(1, 1000, 497, 503);

      assert.equal((await t.admin('DELETE', `/api/v1/images/${blank.body.ID}`)).status, 200);
      assert.equal((await t.admin('DELETE', `/api/v1/images/${res.body.ID}`)).status, 200);
      ds = await t.nimbus.store.datastores.get(1);
      assert.equal(ds.freeMb, 1000);
      assert.equal(ds.usedMb, 0);
    } finally {
      await setCapacity(1, 0, 0, 0);
    }
  });

  it('charges the datastore quota (IMAGES, SIZE) and gives it back; chown moves it', async () => {
    const carol = await t.createUser('carol');
    const dave = await t.createUser('dave');
    const quota = async (uid: number) =>
      (await t.admin('GET', `/api/v1/users/${uid}/quota`)).body.QUOTAS.DATASTORE_QUOTA.DATASTORE.find(
        (d: { ID: number }) => d.ID === 1,
      );
    const set = await t.admin('PUT', `/api/v1/users/${carol.id}/quota`, {
      template: 'DATASTORE = [ ID = 1, IMAGES = 2, SIZE = 5 ]',
    });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    const carolAuth = basic('carol', 'carol-pw');
    const first = await upload(randomBytes(3 * MIB), { datastore: '1', name: 'q1' }, carolAuth);
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.deepEqual([(await quota(carol.id)).IMAGES_USED, (await quota(carol.id)).SIZE_USED], [1, 3]);

    const ids = await imageIds();
    const second = await upload(randomBytes(3 * MIB), { datastore: '1', name: 'q2' }, carolAuth);
    assert.equal(second.status, 403);
    assert.equal(
      second.body.message,
      `[one.image.allocate] User [${carol.id}] : user [${carol.id}] limit of 5 reached for SIZE quota in DATASTORE with ID: 1.`,
    );
    assert.deepEqual(await imageIds(), ids);

    assert.equal(
      (await t.admin('POST', `/api/v1/images/${first.body.ID}/chown`, { uid: dave.id })).status,
      200,
    );
    assert.deepEqual([(await quota(carol.id)).IMAGES_USED, (await quota(carol.id)).SIZE_USED], [0, 0]);
    assert.equal((await quota(dave.id)).SIZE_USED, 3);
    assert.equal((await t.admin('DELETE', `/api/v1/images/${first.body.ID}`)).status, 200);
    const left = await quota(dave.id); // an unlimited entry with no usage left is dropped
    assert.ok(left === undefined || (left.IMAGES_USED === 0 && left.SIZE_USED === 0), JSON.stringify(left));
  });

  it('bounds uploads by maxUploadBytes (413) and leaves nothing behind on a refused upload', async () => {
    const config = t.nimbus.ctx.config as { maxUploadBytes: number };
    const saved = config.maxUploadBytes;
    config.maxUploadBytes = MIB;
    const before = await datastoreFiles();
    const ids = await imageIds();
    try {
      const big = await upload(randomBytes(2 * MIB), { datastore: '1', name: 'big' });
      assert.equal(big.status, 413);
      assert.equal(big.body.code, 'PAYLOAD_TOO_LARGE');
    } finally {
      config.maxUploadBytes = saved;
    }
    const empty = await upload(Buffer.alloc(0), { datastore: '1', name: 'empty' });
    assert.equal(empty.status, 400);
    const badName = await upload(randomBytes(1024), { datastore: '1', name: 'a/b' });
    assert.equal(badName.status, 400);
    assert.equal(badName.body.field, 'NAME');
    const noDs = await upload(randomBytes(1024), { datastore: '77', name: 'x' });
    assert.equal(noDs.status, 404);
    const json = await t.admin('POST', '/api/v1/images/upload?datastore=1&name=j', { a: 1 });
    assert.equal(json.status, 415);
    assert.deepEqual(await datastoreFiles(), before);
    assert.deepEqual(await imageIds(), ids);
  });
});

describe('nimbus image (CLI)', () => {
  let t: TestNimbus;
  let dir: string;
  before(async () => {
    t = await startTestNimbus({ listen: true });
    dir = await mkdtemp('/var/tmp/nimbus-images-cli-');
  });
  after(async () => {
    await t.close();
    await rm(dir, { recursive: true, force: true });
  });

  const cli = (...args: string[]) => cliRunner(t).settle(...args);
  const idOf = (stdout: string): number => {
    const match = /^ID: (\d+)\n$/.exec(stdout);
    assert.ok(match, `stdout is only "ID: N": ${JSON.stringify(stdout)}`);
    return Number(match[1]);
  };

  it('uploads a local file, streamed, and prints only the id', async () => {
    const data = randomBytes(3 * MIB);
    const file = join(dir, 'upload.raw');
    await writeFile(file, data);
    const run = await cli('image', 'upload', file, '--name', 'cli-up', '--datastore', '1', '--no-progress');
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, '');
    const image = (await t.admin('GET', `/api/v1/images/${idOf(run.stdout)}`)).body.IMAGE;
    assert.equal(image.STATE_NAME, 'READY');
    assert.equal(image.TEMPLATE.MD5, md5(data));
    assert.equal(image.SIZE, 3);
  });

  it('creates from a PATH, an empty datablock and a template file, waiting for READY', async () => {
    const file = join(dir, 'path.raw');
    await writeFile(file, randomBytes(MIB));
    const fromPath = await cli('image', 'create', '--name', 'cli-path', '--path', file, '--datastore', '1');
    assert.equal(fromPath.code, 0, fromPath.stderr);
    assert.equal((await t.admin('GET', `/api/v1/images/${idOf(fromPath.stdout)}`)).body.IMAGE.STATE, 1);

    const blank = await cli(
      'image',
      'create',
      '--name',
      'cli-blank',
      '--size',
      '10',
      '--format',
      'qcow2',
      '-d',
      '1',
    );
    assert.equal(blank.code, 0, blank.stderr);
    const image = (await t.admin('GET', `/api/v1/images/${idOf(blank.stdout)}`)).body.IMAGE;
    assert.deepEqual(
      [image.STATE_NAME, image.TYPE_NAME, image.FORMAT, image.SIZE],
      ['READY', 'DATABLOCK', 'qcow2', 10],
    );

    const templateFile = join(dir, 'image.tpl');
    await writeFile(templateFile, `NAME = "cli-tpl"\nPATH = "${file}"\nTYPE = "CDROM"\n`);
    const fromFile = await cli('image', 'create', templateFile, '--datastore', '1');
    assert.equal(fromFile.code, 0, fromFile.stderr);
    const cd = (await t.admin('GET', `/api/v1/images/${idOf(fromFile.stdout)}`)).body.IMAGE;
    assert.equal(cd.TYPE_NAME, 'CDROM');
    assert.equal(cd.TEMPLATE.DEV_PREFIX, 'hd');
  });

  it('lists and shows images like oneimage', async () => {
    const list = await cli('image', 'list');
    assert.equal(list.code, 0, list.stderr);
    const [header, ...rows] = list.stdout.trimEnd().split('\n');
    assert.match(header!, /^\s*ID USER\s+GROUP\s+NAME\s+DATASTORE\s+SIZE TYPE PER STAT RVMS$/);
    assert.ok(
      rows.some((r) => /^\s*\d+ oneadmin oneadmin cli-up\s+default\s+3M OS\s+No\s+rdy\s+0$/.test(r)),
      rows.join('\n'),
    );
    assert.ok(rows.some((r) => /cli-blank\s+default\s+10M DB/.test(r)));

    const show = await cli('image', 'show', 'cli-up');
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /^IMAGE \d+ INFORMATION$/m);
    assert.match(show.stdout, /^STATE\s+: rdy$/m);
    assert.match(show.stdout, /^OWNER\s+: um-$/m);
    assert.match(show.stdout, /^MD5="[0-9a-f]{32}"$/m);
    const json = JSON.parse((await cli('image', 'show', 'cli-up', '--json')).stdout);
    assert.equal(json.IMAGE.NAME, 'cli-up');
    const pool = JSON.parse((await cli('image', 'list', '--json')).stdout);
    assert.ok(pool.IMAGE_POOL.IMAGE.length >= 4);
  });

  it('changes images: rename, chtype, persistent, disable, clone, delete', async () => {
    assert.equal((await cli('image', 'rename', 'cli-path', 'cli-path2')).code, 0);
    assert.equal((await cli('image', 'chtype', 'cli-path2', 'DATABLOCK')).code, 0);
    assert.equal((await cli('image', 'persistent', 'cli-path2')).code, 0);
    const clone = await cli('image', 'clone', 'cli-path2', 'cli-clone', '--no-progress');
    assert.equal(clone.code, 0, clone.stderr);
    const copy = (await t.admin('GET', `/api/v1/images/${idOf(clone.stdout)}`)).body.IMAGE;
    assert.deepEqual([copy.STATE_NAME, copy.TYPE_NAME, copy.PERSISTENT], ['READY', 'DATABLOCK', 1]);
    assert.equal((await cli('image', 'disable', 'cli-clone')).code, 0);
    const refused = await cli('image', 'clone', 'cli-clone', 'again');
    assert.equal(refused.code, 2);
    assert.equal(refused.stderr, 'nimbus: IMAGE_STATE: Cannot clone image in state: DISABLED\n');
    assert.equal((await cli('image', 'delete', 'cli-clone')).code, 0);
    assert.equal((await t.admin('GET', `/api/v1/images/${copy.ID}`)).status, 404);
  });

  it('answers 413 over HTTP when a chunked upload passes maxUploadBytes, leaving nothing', async () => {
    const config = t.nimbus.ctx.config as { maxUploadBytes: number };
    const saved = config.maxUploadBytes;
    config.maxUploadBytes = 2 * MIB;
    const before = (await t.admin('GET', '/api/v1/images')).body.IMAGE_POOL.IMAGE.length;
    try {
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent >= 64 * MIB) return controller.close();
          sent += MIB;
          controller.enqueue(randomBytes(MIB));
        },
      });
      const res = await fetch(`${t.nimbus.url}/api/v1/images/upload?datastore=1&name=chunked`, {
        method: 'POST',
        headers: {
          authorization: basic('oneadmin', ADMIN_PASSWORD),
          'content-type': 'application/octet-stream',
        },
        body,
        duplex: 'half',
      } as RequestInit);
      assert.equal(res.status, 413);
      assert.equal(((await res.json()) as { code: string }).code, 'PAYLOAD_TOO_LARGE');
      assert.ok(sent < 64 * MIB, `the server stopped reading (${sent / MIB} MB sent)`);
    } finally {
      config.maxUploadBytes = saved;
    }
    assert.equal((await t.admin('GET', '/api/v1/images')).body.IMAGE_POOL.IMAGE.length, before);
  });

  it('fails with one line naming the problem', async () => {
    const missing = await cli('image', 'create', '--name', 'x', '--path', join(dir, 'nope.raw'), '-d', '1');
    assert.equal(missing.code, 2);
    assert.equal(missing.stdout, '');
    assert.equal(missing.stderr, `nimbus: PATH_NOT_FOUND: PATH ${join(dir, 'nope.raw')} does not exist\n`);

    const shadow = await cli('image', 'create', '--name', 'x', '--path', '/etc/shadow', '-d', '1');
    assert.equal(shadow.code, 2);
    assert.match(
      shadow.stderr,
      /^nimbus: PATH_RESTRICTED: PATH \/etc\/shadow is in \/etc, which is never an image source\n$/,
    );

    const file = join(dir, 'sum.raw');
    await writeFile(file, randomBytes(4096));
    const templateFile = join(dir, 'bad.tpl');
    await writeFile(templateFile, `NAME = "bad-sum"\nPATH = "${file}"\nMD5 = "${'0'.repeat(32)}"\n`);
    const copyFails = await cli('image', 'create', templateFile, '-d', '1');
    assert.equal(copyFails.code, 2);
    idOf(copyFails.stdout);
    assert.match(
      copyFails.stderr,
      /^nimbus: IMAGE_ERROR: image \d+: .* : Error copying image in the datastore: MD5 of the image is [0-9a-f]+, the template expects 0+\n$/,
    );

    const noFile = await cli('image', 'upload', join(dir, 'absent.raw'), '-d', '1');
    assert.equal(noFile.code, 2);
    assert.equal(noFile.stderr, `nimbus: ${join(dir, 'absent.raw')}: no such file or directory\n`);

    const noOptions = await cli('image', 'create', '-d', '1');
    assert.equal(noOptions.code, 2);
    assert.equal(noOptions.stderr, 'nimbus: give a template FILE, or --name with --path or --size\n');
  });
});
