import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ImageRecord } from '../../../src/domain/image/record.js';
import type { VnetRecord } from '../../../src/domain/vnet/record.js';
import type { NewRecord } from '../../../src/store/index.js';
import { addressRange, image, vnet } from '../store/fixtures.js';
import { cliRunner, startTestNimbus, type Requester, type TestNimbus } from './harness.js';

/** An image as the image service leaves it: READY in datastore 1, used by no VM. */
function imageRecord(overrides: Partial<NewRecord<ImageRecord>> = {}): NewRecord<ImageRecord> {
  return image({ name: 'debian', permissions: 0o644, template: {}, runningVms: 0, vms: [], ...overrides });
}

/** A bridged network in cluster 0 with one IP4 range of 10 addresses from 10.0.0.10. */
function vnetRecord(overrides: Partial<NewRecord<VnetRecord>> = {}): NewRecord<VnetRecord> {
  return vnet({
    ars: [addressRange({ mac: '02:00:0a:00:00:0a', ip: '10.0.0.10', size: 10, attributes: {} })],
    ...overrides,
  });
}

describe('VMs: allocate, list, show, update, delete', () => {
  let t: TestNimbus;
  let alice: { id: number; request: Requester };
  let bob: { id: number; request: Requester };
  let imageId: number;
  let brokenImageId: number;
  let vnetId: number;

  before(async () => {
    t = await startTestNimbus({ listen: true });
    alice = await t.createUser('alice');
    bob = await t.createUser('bob');
    imageId = await t.nimbus.store.images.insert(imageRecord());
    brokenImageId = await t.nimbus.store.images.insert(imageRecord({ name: 'broken', state: 5, type: 2 }));
    vnetId = await t.nimbus.store.vnets.insert(vnetRecord());
  });
  after(async () => t.close());

  const leases = () => t.nimbus.store.leases.listByVnet(vnetId);

  it('allocates a PENDING VM with a DISK from an image and a NIC lease', async () => {
    const res = await alice.request(
      'POST',
      '/api/v1/vms',
      `NAME = web\nMEMORY = 512\nCPU = 0.5\nDISK = [ IMAGE_ID = ${imageId} ]\nNIC = [ NETWORK_ID = ${vnetId} ]\nCONTEXT = [ NETWORK = YES ]\nSCHED_REQUIREMENTS = "ID = 0"\nDESCRIPTION = "a web server"`,
    );
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const id = res.body.ID as number;
    const show = await alice.request('GET', `/api/v1/vms/${id}`);
    assert.equal(show.status, 200);
    const vm = show.body.VM;
    assert.deepEqual(Object.keys(vm).slice(0, 22), [
      'ID',
      'UID',
      'GID',
      'UNAME',
      'GNAME',
      'NAME',
      'PERMISSIONS',
      'LAST_POLL',
      'STATE',
      'LCM_STATE',
      'PREV_STATE',
      'PREV_LCM_STATE',
      'RESCHED',
      'STIME',
      'ETIME',
      'DEPLOY_ID',
      'MONITORING',
      'SCHED_ACTIONS',
      'TEMPLATE',
      'USER_TEMPLATE',
      'HISTORY_RECORDS',
      'STATE_NAME',
    ]);
    assert.equal(vm.NAME, 'web');
    assert.equal(vm.UNAME, 'alice');
    assert.equal(vm.STATE, 1);
    assert.equal(vm.STATE_NAME, 'PENDING');
    assert.equal(vm.SHORT_STATE, 'pend');
    assert.ok(vm.ALLOWED_ACTIONS.includes('hold'));
    assert.ok(vm.ALLOWED_ACTIONS.includes('terminate'));
    assert.equal(vm.TEMPLATE.MEMORY, '512');
    assert.equal(vm.TEMPLATE.VMID, String(id));
    assert.equal(vm.TEMPLATE.DISK[0].IMAGE_ID, String(imageId));
    assert.equal(vm.TEMPLATE.DISK[0].TARGET, 'sda');
    assert.equal(vm.TEMPLATE.DISK[0].CLONE, 'YES');
    assert.equal(vm.TEMPLATE.CONTEXT[0].TARGET, 'hda');
    assert.equal(vm.TEMPLATE.NIC[0].IP, '10.0.0.10');
    assert.equal(vm.TEMPLATE.NIC[0].MAC, '02:00:0a:00:00:0a');
    assert.equal(vm.TEMPLATE.NIC[0].TARGET, `one-${id}-0`);
    assert.match(vm.TEMPLATE.AUTOMATIC_REQUIREMENTS, /^\(CLUSTER_ID = 0\)/);
    assert.equal(vm.USER_TEMPLATE.SCHED_REQUIREMENTS, 'ID = 0');
    assert.equal(vm.USER_TEMPLATE.DESCRIPTION, 'a web server');
    assert.equal(vm.USER_TEMPLATE.NAME, undefined);
    assert.deepEqual(vm.HISTORY_RECORDS, { HISTORY: [] });

    const image = await t.nimbus.store.images.get(imageId);
    assert.equal(image.runningVms, 1);
    assert.equal(image.state, 2);
    assert.deepEqual(image.vms, [id]);
    assert.deepEqual(
      (await leases()).map((l) => [l.index, l.owner]),
      [[0, { kind: 'vm', id, nicId: 0 }]],
    );
  });

  it('honours a requested IP and names a VM one-<id> by default; hold gives HOLD', async () => {
    const res = await alice.request('POST', '/api/v1/vms', {
      template: {
        MEMORY: '128',
        CPU: '1',
        NIC: [{ NETWORK: 'private', NETWORK_UNAME: 'oneadmin', IP: '10.0.0.15' }],
      },
      hold: true,
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const vm = (await alice.request('GET', `/api/v1/vms/${res.body.ID}`)).body.VM;
    assert.equal(vm.NAME, `one-${res.body.ID}`);
    assert.equal(vm.STATE, 2);
    assert.equal(vm.TEMPLATE.NIC[0].IP, '10.0.0.15');
    const taken = await alice.request('POST', '/api/v1/vms', {
      template: { MEMORY: '128', CPU: '1', NIC: [{ NETWORK_ID: String(vnetId), IP: '10.0.0.15' }] },
    });
    assert.equal(taken.status, 400);
    assert.equal(taken.body.field, 'NIC[0]/IP');
  });

  it('rolls everything back when the second DISK image is in ERROR', async () => {
    const before = await leases();
    const vmsBefore = await t.nimbus.store.vms.count();
    const res = await alice.request('POST', '/api/v1/vms', {
      template: {
        MEMORY: '256',
        CPU: '1',
        DISK: [{ IMAGE_ID: String(imageId) }, { IMAGE_ID: String(brokenImageId) }],
        NIC: [{ NETWORK_ID: String(vnetId) }],
      },
    });
    assert.equal(res.status, 409);
    assert.equal(res.body.code, 'IMAGE_STATE');
    assert.equal(res.body.field, 'DISK[1]/IMAGE');
    assert.equal(res.body.message, `Cannot acquire image ${brokenImageId}, it is in state: ERROR`);
    assert.deepEqual(await leases(), before);
    assert.equal((await t.nimbus.store.images.get(imageId)).runningVms, 1);
    assert.equal(await t.nimbus.store.vms.count(), vmsBefore);
  });

  it("refuses MEMORY = 0, a bad CPU and VCPU with OpenNebula's messages", async () => {
    const memory = await alice.request('POST', '/api/v1/vms', 'MEMORY = 0\nCPU = 1');
    assert.equal(memory.status, 400);
    assert.equal(memory.body.message, 'MEMORY attribute must be a positive integer value.');
    assert.equal(memory.body.field, 'MEMORY');
    const cpu = await alice.request('POST', '/api/v1/vms', 'MEMORY = 10\nCPU = -1');
    assert.equal(cpu.body.message, 'CPU attribute must be a positive float or integer value.');
    const vcpu = await alice.request('POST', '/api/v1/vms', 'MEMORY = 10\nCPU = 1\nVCPU = 1.5');
    assert.equal(vcpu.body.message, 'VCPU attribute must be a positive integer value.');
    const syntax = await alice.request('POST', '/api/v1/vms', 'MEMORY = [');
    assert.equal(syntax.status, 400);
    assert.equal(syntax.body.code, 'TEMPLATE_SYNTAX');
  });

  it('refuses an image or network the user may not use', async () => {
    const privateImage = await t.nimbus.store.images.insert(
      imageRecord({ name: 'secret', permissions: 0o600 }),
    );
    const res = await alice.request('POST', '/api/v1/vms', {
      template: { MEMORY: '64', CPU: '1', DISK: [{ IMAGE_ID: String(privateImage) }] },
    });
    assert.equal(res.status, 403);
    assert.equal(res.body.code, 'AUTHORIZATION');
  });

  it('filters by owner: -3 mine, -2 all visible; others are invisible and untouchable', async () => {
    const bobVm = await bob.request('POST', '/api/v1/vms', 'NAME = bobs\nMEMORY = 64\nCPU = 1');
    assert.equal(bobVm.status, 201);
    const mine = await alice.request('GET', '/api/v1/vms?filter=-3');
    assert.ok(mine.body.VM_POOL.VM.every((v: { UNAME: string }) => v.UNAME === 'alice'));
    const all = await alice.request('GET', '/api/v1/vms?filter=-2');
    assert.ok(!all.body.VM_POOL.VM.some((v: { NAME: string }) => v.NAME === 'bobs'));
    const admin = await t.admin('GET', '/api/v1/vms?filter=-2');
    assert.ok(admin.body.VM_POOL.VM.some((v: { NAME: string }) => v.NAME === 'bobs'));
    const byUid = await t.admin('GET', `/api/v1/vms?filter=${bob.id}`);
    assert.deepEqual(
      byUid.body.VM_POOL.VM.map((v: { NAME: string }) => v.NAME),
      ['bobs'],
    );
    const id = bobVm.body.ID;
    assert.equal((await alice.request('GET', `/api/v1/vms/${id}`)).status, 403);
    assert.equal((await alice.request('DELETE', `/api/v1/vms/${id}`)).status, 403);
    assert.equal((await alice.request('POST', `/api/v1/vms/${id}/rename`, { name: 'x' })).status, 403);
    assert.equal((await alice.request('GET', '/api/v1/vms/99999')).status, 404);
  });

  it('updates the USER_TEMPLATE (merge or replace), renames, chmods and chowns', async () => {
    const id = (await alice.request('POST', '/api/v1/vms', 'MEMORY = 64\nCPU = 1\nLABELS = a')).body.ID;
    const merged = await alice.request('PUT', `/api/v1/vms/${id}/template`, {
      template: 'NOTE = x',
      merge: true,
    });
    assert.equal(merged.status, 200);
    let vm = (await alice.request('GET', `/api/v1/vms/${id}`)).body.VM;
    assert.deepEqual(vm.USER_TEMPLATE, { LABELS: 'a', NOTE: 'x' });
    await alice.request('PUT', `/api/v1/vms/${id}/template`, { template: { ONLY: 'y' } });
    vm = (await alice.request('GET', `/api/v1/vms/${id}`)).body.VM;
    assert.deepEqual(vm.USER_TEMPLATE, { ONLY: 'y' });
    assert.equal(vm.TEMPLATE.MEMORY, '64');

    assert.equal((await alice.request('POST', `/api/v1/vms/${id}/rename`, { name: 'renamed' })).status, 200);
    assert.equal((await alice.request('POST', `/api/v1/vms/${id}/rename`, { name: 'a/b' })).status, 400);
    assert.equal((await alice.request('POST', `/api/v1/vms/${id}/chmod`, { octet: '640' })).status, 200);
    vm = (await alice.request('GET', `/api/v1/vms/${id}`)).body.VM;
    assert.equal(vm.NAME, 'renamed');
    assert.equal(vm.PERMISSIONS.GROUP_U, 1);
    // bob is in alice's group (users): GROUP_U lets him see it now
    assert.equal((await bob.request('GET', `/api/v1/vms/${id}`)).status, 200);

    assert.equal((await alice.request('POST', `/api/v1/vms/${id}/chown`, { uid: bob.id })).status, 403);
    assert.equal((await t.admin('POST', `/api/v1/vms/${id}/chown`, { uid: bob.id, gid: -1 })).status, 200);
    vm = (await t.admin('GET', `/api/v1/vms/${id}`)).body.VM;
    assert.equal(vm.UID, bob.id);
    assert.equal(vm.GID, 1);
  });

  it('delete of a PENDING VM releases its lease and image and keeps it as DONE', async () => {
    const id = (
      await alice.request('POST', '/api/v1/vms', {
        template: {
          MEMORY: '64',
          CPU: '1',
          DISK: [{ IMAGE: 'debian', IMAGE_UID: '0' }],
          NIC: [{ NETWORK_ID: String(vnetId) }],
        },
      })
    ).body.ID;
    assert.ok((await leases()).some((l) => l.owner.kind === 'vm' && l.owner.id === id));
    const running = (await t.nimbus.store.images.get(imageId)).runningVms;
    const del = await alice.request('DELETE', `/api/v1/vms/${id}`);
    assert.equal(del.status, 200);
    assert.ok(!(await leases()).some((l) => l.owner.kind === 'vm' && l.owner.id === id));
    const image = await t.nimbus.store.images.get(imageId);
    assert.equal(image.runningVms, running - 1);
    assert.ok(!image.vms.includes(id));
    const vm = (await alice.request('GET', `/api/v1/vms/${id}`)).body.VM;
    assert.equal(vm.STATE, 6);
    assert.ok(vm.ETIME > 0);
    const listed = await alice.request('GET', '/api/v1/vms');
    assert.ok(!listed.body.VM_POOL.VM.some((v: { ID: number }) => v.ID === id));
    const any = await alice.request('GET', '/api/v1/vms?state=-2');
    assert.ok(any.body.VM_POOL.VM.some((v: { ID: number }) => v.ID === id));
    const done = await alice.request('GET', '/api/v1/vms?state=6');
    assert.ok(done.body.VM_POOL.VM.every((v: { STATE: number }) => v.STATE === 6));
    const again = await alice.request('DELETE', `/api/v1/vms/${id}`);
    assert.equal(again.status, 409);
    assert.equal((await alice.request('POST', `/api/v1/vms/${id}/rename`, { name: 'z' })).status, 409);
  });

  it('charges quotas on allocate, refuses past the limit with nothing taken, releases and moves them', async () => {
    const carol = await t.createUser('carol');
    const dave = await t.createUser('dave');
    const quota = await t.admin('PUT', `/api/v1/users/${carol.id}/quota`, { template: 'VM = [ VMS = 1 ]' });
    assert.equal(quota.status, 200, JSON.stringify(quota.body));
    // a VM quota entry with no limit set and nothing used is dropped, as OpenNebula does
    const used = async (uid: number) =>
      (await t.admin('GET', `/api/v1/users/${uid}`)).body.USER.VM_QUOTA.VM ?? { VMS_USED: 0 };
    const template = { MEMORY: '64', CPU: '1', NIC: [{ NETWORK_ID: String(vnetId) }] };
    const first = await carol.request('POST', '/api/v1/vms', { template });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.equal((await used(carol.id)).VMS_USED, 1);
    assert.equal((await used(carol.id)).MEMORY_USED, 64);
    const before = await leases();
    const second = await carol.request('POST', '/api/v1/vms', { template });
    assert.equal(second.status, 403);
    assert.match(second.body.message, /limit of 1 reached for VMS quota/);
    assert.deepEqual(await leases(), before);

    assert.equal((await t.admin('POST', `/api/v1/vms/${first.body.ID}/chown`, { uid: dave.id })).status, 200);
    assert.equal((await used(carol.id)).VMS_USED, 0);
    assert.equal((await used(dave.id)).VMS_USED, 1);
    assert.equal((await dave.request('DELETE', `/api/v1/vms/${first.body.ID}`)).status, 200);
    assert.equal((await used(dave.id)).VMS_USED, 0);
    assert.equal((await carol.request('POST', '/api/v1/vms', { template })).status, 201);
  });

  it('refuses to delete a VM that reached a host, naming its state', async () => {
    const id = (await alice.request('POST', '/api/v1/vms', 'MEMORY = 64\nCPU = 1')).body.ID;
    const vm = await t.nimbus.store.vms.get(id);
    await t.nimbus.store.vms.update({ ...vm, state: 3, lcmState: 3 });
    const res = await alice.request('DELETE', `/api/v1/vms/${id}`);
    assert.equal(res.status, 409);
    assert.equal(res.body.code, 'ACTION_NOT_ALLOWED');
    assert.match(res.body.message, /RUNNING/);
  });

  it('lists short bodies by default and full ones with extended, in keyset pages', async () => {
    const short = await alice.request('GET', '/api/v1/vms');
    const first = short.body.VM_POOL.VM[0];
    assert.equal(first.PERMISSIONS, undefined);
    assert.equal(first.PREV_STATE, undefined);
    assert.ok(first.TEMPLATE.MEMORY !== undefined);
    assert.equal(first.TEMPLATE.CONTEXT, undefined);
    const full = await alice.request('GET', '/api/v1/vms?extended=true');
    assert.ok(full.body.VM_POOL.VM[0].PERMISSIONS !== undefined);

    const ids = short.body.VM_POOL.VM.map((v: { ID: number }) => v.ID);
    assert.ok(ids.length >= 3);
    const p1 = await alice.request('GET', '/api/v1/vms?limit=2');
    assert.deepEqual(
      p1.body.VM_POOL.VM.map((v: { ID: number }) => v.ID),
      ids.slice(0, 2),
    );
    assert.equal(p1.body.next_after, ids[1]);
    const p2 = await alice.request('GET', `/api/v1/vms?limit=2&after=${p1.body.next_after}`);
    assert.deepEqual(
      p2.body.VM_POOL.VM.map((v: { ID: number }) => v.ID),
      ids.slice(2, 4),
    );
    const named = await alice.request('GET', '/api/v1/vms?name=web');
    assert.deepEqual(
      named.body.VM_POOL.VM.map((v: { NAME: string }) => v.NAME),
      ['web'],
    );
    assert.equal((await alice.request('GET', '/api/v1/vms?state=12')).status, 400);
  });

  it('CLI: vm create, list table like onevm, show --json, delete', async () => {
    const cli = cliRunner(t).run;
    const { writeFile } = await import('node:fs/promises');
    const file = `${t.home}/vm.tmpl`;
    await writeFile(file, 'NAME = cli-vm\nMEMORY = 1024\nCPU = 2\n');
    const created = await cli('vm', 'create', file, '--hold');
    const id = Number(/^ID: (\d+)$/m.exec(created.stdout)?.[1]);
    assert.ok(id >= 0);
    const list = await cli('vm', 'list');
    const lines = list.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^\s*ID\s+USER\s+GROUP\s+NAME\s+STAT\s+CPU\s+MEM\s+HOST\s+TIME$/);
    const row = lines.find((l) => l.includes('cli-vm'))!;
    assert.match(
      row,
      new RegExp(`^\\s*${id}\\s+oneadmin\\s+oneadmin\\s+cli-vm\\s+hold\\s+2\\s+1024M\\s+0d 00h0\\d$`),
    );
    const json = JSON.parse((await cli('vm', 'show', 'cli-vm', '--json')).stdout);
    assert.equal(json.VM.ID, id);
    await cli('vm', 'delete', String(id));
    await assert.rejects(cli('vm', 'delete', String(id)), (e: { code: number; stderr: string }) => {
      assert.equal(e.code, 2);
      assert.match(e.stderr, /ACTION_NOT_ALLOWED/);
      return true;
    });
  });
});
