/**
 * Images through the lifecycle: references taken at instantiate and given back at the end; a
 * failed deploy leaves its images READY with a note saying why (not ERROR, as OpenNebula does);
 * and the seed's install workflow (CDROM + blank persistent DATABLOCK → terminate → chtype OS,
 * non-persistent → instantiate) as state transitions.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Readable } from 'node:stream';
import { ADMIN_PASSWORD, startTestNimbus, type TestNimbus } from '../api/harness.js';
import { LifecycleProbe } from './probe.js';

const MIB = 1024 * 1024;

describe('images through the lifecycle', { timeout: 120_000 }, () => {
  let t: TestNimbus;
  let probe: LifecycleProbe;

  before(async () => {
    t = await startTestNimbus({ placement: false });
    probe = await LifecycleProbe.start(t);
  });
  after(async () => t.close());

  async function image(template: Record<string, string>): Promise<number> {
    const r = await t.admin('POST', '/api/v1/images', { template, datastore: 1 });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    await probe.until(`image ${r.body.ID} READY`, async () =>
      (await t.admin('GET', `/api/v1/images/${r.body.ID}`)).body.IMAGE.STATE === 1 ? true : undefined,
    );
    return r.body.ID;
  }
  const show = async (id: number) => (await t.admin('GET', `/api/v1/images/${id}`)).body.IMAGE;

  async function vmWith(disks: string, hold = false): Promise<number> {
    const r = await t.admin(
      'POST',
      `/api/v1/vms${hold ? '?hold=true' : ''}`,
      `NAME = img\nCPU = 0.1\nMEMORY = 64\n${disks}`,
    );
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.ID;
  }

  it('a VM whose image is still being uploaded waits in CLONING, then goes PENDING and runs', async () => {
    let resume!: () => void;
    const paused = new Promise<void>((r) => (resume = r));
    async function* slowBody(): AsyncIterable<Buffer> {
      yield Buffer.alloc(MIB, 1);
      await paused;
      yield Buffer.alloc(MIB, 2);
    }
    const answer = t.nimbus.app.inject({
      method: 'POST',
      url: `/api/v1/images/upload?datastore=1&name=slow-os&type=OS&size=${2 * MIB}`,
      headers: {
        authorization: `Basic ${Buffer.from(`oneadmin:${ADMIN_PASSWORD}`).toString('base64')}`,
        'content-type': 'application/octet-stream',
      },
      payload: Readable.from(slowBody()),
    });
    const imageId = await probe.until('the upload to start', async () => {
      const list = (await t.admin('GET', '/api/v1/images?name=slow-os')).body.IMAGE_POOL.IMAGE;
      return list[0]?.PROGRESS?.BYTES === MIB ? (list[0].ID as number) : undefined;
    });
    const vm = await vmWith(`DISK = [ IMAGE_ID = ${imageId} ]`);
    assert.equal((await probe.state(vm)).body.STATE_NAME, 'CLONING');
    resume();
    assert.equal((await answer).statusCode, 201);
    await probe.until('PENDING', async () => ((await probe.state(vm)).key === 'PENDING' ? true : undefined));
    assert.equal(await probe.must(vm, 'deploy'), 'RUNNING');
  });

  it('a failed deploy leaves a persistent image READY, with a note saying why', async () => {
    const disk = await image({ NAME: 'pers-1', TYPE: 'DATABLOCK', SIZE: '10', PERSISTENT: 'YES' });
    const vm = await vmWith(`DISK = [ IMAGE_ID = ${disk} ]`);
    assert.equal((await show(disk)).STATE_NAME, 'USED_PERS');
    assert.equal(await probe.must(vm, 'deploy', probe.hosts.failDeploy), 'BOOT_FAILURE');
    assert.equal(await probe.must(vm, 'terminate-hard'), 'DONE');
    const after = await show(disk);
    assert.equal(after.STATE_NAME, 'READY');
    assert.equal(after.RUNNING_VMS, 0);
    assert.match(after.TEMPLATE.LAST_RELEASE, new RegExp(`Released by VM ${vm}, which failed in boot`));
  });

  it('a VM that ends normally gives its image back (non-persistent: USED while in use, READY after)', async () => {
    const disk = await image({ NAME: 'shared-1', TYPE: 'OS', SIZE: '10' });
    const a = await vmWith(`DISK = [ IMAGE_ID = ${disk} ]`);
    const b = await vmWith(`DISK = [ IMAGE_ID = ${disk} ]`);
    assert.equal(await probe.must(a, 'deploy'), 'RUNNING');
    assert.equal((await show(disk)).RUNNING_VMS, 2);
    assert.equal(await probe.must(a, 'terminate'), 'DONE');
    assert.equal((await show(disk)).RUNNING_VMS, 1);
    assert.equal(await probe.must(b, 'terminate'), 'DONE');
    const done = await show(disk);
    assert.deepEqual([done.STATE_NAME, done.RUNNING_VMS], ['READY', 0]);
  });

  it("runs the seed's install workflow: CDROM + blank persistent disk → terminate → chtype OS → instantiate", async () => {
    const cdrom = await image({ NAME: 'installer', TYPE: 'DATABLOCK', SIZE: '4' });
    // The installer ISO: a CDROM image (typed from a small datablock here; bytes come in the QEMU issue).
    assert.equal((await t.admin('POST', `/api/v1/images/${cdrom}/chtype`, { type: 'CDROM' })).status, 200);
    const target = await image({ NAME: 'install-target', TYPE: 'DATABLOCK', SIZE: '20', PERSISTENT: 'YES' });
    const installer = await vmWith(`DISK = [ IMAGE_ID = ${cdrom} ]\nDISK = [ IMAGE_ID = ${target} ]`);
    assert.equal(await probe.must(installer, 'deploy'), 'RUNNING');
    assert.equal((await show(target)).STATE_NAME, 'USED_PERS');
    assert.equal(await probe.must(installer, 'terminate'), 'DONE');
    assert.equal((await show(target)).STATE_NAME, 'READY');

    assert.equal((await t.admin('POST', `/api/v1/images/${target}/chtype`, { type: 'OS' })).status, 200);
    assert.equal((await t.admin('POST', `/api/v1/images/${target}/nonpersistent`)).status, 200);
    const installed = await show(target);
    assert.deepEqual([installed.TYPE_NAME, installed.PERSISTENT], ['OS', 0]);

    const clones = [
      await vmWith(`DISK = [ IMAGE_ID = ${target} ]`),
      await vmWith(`DISK = [ IMAGE_ID = ${target} ]`),
    ];
    for (const vm of clones) assert.equal(await probe.must(vm, 'deploy'), 'RUNNING');
    const used = await show(target);
    assert.deepEqual([used.STATE_NAME, used.RUNNING_VMS], ['USED', 2]);
  });
});
