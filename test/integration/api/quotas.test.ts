import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Command } from 'commander';
import { addUserQuotaVerb } from '../../../src/cli/groups.js';
import { runCli, type CliIo } from '../../../src/cli/program.js';
import { chargeQuota, releaseQuota, type QuotaCharge } from '../../../src/controller/quotas.js';
import { NimbusError } from '../../../src/domain/errors.js';
import { ADMIN_PASSWORD, startTestNimbus, type Requester, type TestNimbus } from './harness.js';

describe('quotas', () => {
  let t: TestNimbus;
  let alice: { id: number; request: Requester };
  let bob: { id: number; request: Requester };
  let gid: number;
  before(async () => {
    t = await startTestNimbus({ listen: true });
    gid = (await t.admin('POST', '/api/v1/groups', { name: 'team' })).body.ID;
    alice = await t.createUser('alice');
    bob = await t.createUser('bob', { group: gid });
  });
  after(async () => t.close());

  const charge = (uid: number, g: number, what: QuotaCharge, method = 'one.vm.allocate') =>
    t.nimbus.store.transaction((tx) => chargeQuota(tx, { uid, gid: g }, what, method), { retries: 3 });
  const release = (uid: number, g: number, what: QuotaCharge) =>
    t.nimbus.store.transaction((tx) => releaseQuota(tx, { uid, gid: g }, what), { retries: 3 });
  const refusal = async (promise: Promise<unknown>): Promise<NimbusError> => {
    try {
      await promise;
    } catch (error) {
      assert.ok(error instanceof NimbusError);
      return error;
    }
    assert.fail('the charge was not refused');
  };
  const vm: QuotaCharge = { vm: { cpu: 1, memory: 512 } };

  it('sets user quotas from text or JSON and shows them', async () => {
    const set = await t.admin('PUT', `/api/v1/users/${alice.id}/quota`, {
      template: 'VM = [ VMS = 1, MEMORY = 1024, CPU = 2 ]\nIMAGE = [ ID = 3, RVMS = 1 ]',
    });
    assert.equal(set.status, 200);
    assert.equal(set.body.QUOTAS.ID, alice.id);
    assert.deepEqual(set.body.QUOTAS.IMAGE_QUOTA, { IMAGE: [{ ID: 3, RVMS: 1, RVMS_USED: 0 }] });
    await t.admin('PUT', `/api/v1/users/${alice.id}/quota`, {
      template: { DATASTORE: { ID: '1', IMAGES: '3', SIZE: '100' }, NETWORK: [{ ID: '0', LEASES: '2' }] },
    });
    const shown = await t.admin('GET', `/api/v1/users/${alice.id}/quota`);
    assert.equal(shown.body.QUOTAS.VM_QUOTA.VM.VMS, 1);
    assert.equal(shown.body.QUOTAS.VM_QUOTA.VM.MEMORY, 1024);
    assert.equal(shown.body.QUOTAS.VM_QUOTA.VM.RUNNING_VMS, -1);
    assert.deepEqual(shown.body.QUOTAS.DATASTORE_QUOTA.DATASTORE, [
      { ID: 1, IMAGES: 3, IMAGES_USED: 0, SIZE: 100, SIZE_USED: 0 },
    ]);
    assert.deepEqual(shown.body.QUOTAS.NETWORK_QUOTA.NETWORK, [{ ID: 0, LEASES: 2, LEASES_USED: 0 }]);
    const user = await t.admin('GET', `/api/v1/users/${alice.id}`);
    assert.equal(user.body.USER.VM_QUOTA.VM.VMS, 1);
    // A user sees its own quotas.
    assert.equal((await alice.request('GET', `/api/v1/users/${alice.id}/quota`)).status, 200);
  });

  it('refuses bad quota templates, oneadmin, and non-admins', async () => {
    const bad = await t.admin('PUT', `/api/v1/users/${alice.id}/quota`, { template: 'VM = [ VMS = -5 ]' });
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /^Negative limits or bad format in quota VM = \[ VMS=-5 \]$/);
    const empty = await t.admin('PUT', `/api/v1/users/${alice.id}/quota`, { template: 'FOO = 1' });
    assert.equal(empty.status, 400);
    const syntax = await t.admin('PUT', `/api/v1/users/${alice.id}/quota`, { template: 'VM = [ VMS = ' });
    assert.equal(syntax.status, 400);
    assert.equal(syntax.body.field, 'template');
    const root = await t.admin('PUT', '/api/v1/users/0/quota', { template: 'VM = [ VMS = 1 ]' });
    assert.equal(root.status, 409);
    assert.equal(root.body.message, 'Cannot set quotas for oneadmin user');
    const rootGroup = await t.admin('PUT', '/api/v1/groups/0/quota', { template: 'VM = [ VMS = 1 ]' });
    assert.equal(rootGroup.body.message, 'Cannot set quotas for oneadmin group');
    const self = await alice.request('PUT', `/api/v1/users/${alice.id}/quota`, {
      template: 'VM = [ VMS = 9 ]',
    });
    assert.equal(self.status, 403);
    assert.equal(
      self.body.message,
      `[one.user.quota] User [${alice.id}] : Not authorized to perform ADMIN USER [${alice.id}].`,
    );
    const group = await bob.request('PUT', `/api/v1/groups/${gid}/quota`, { template: 'VM = [ VMS = 9 ]' });
    assert.equal(group.status, 403);
    assert.equal((await alice.request('GET', `/api/v1/groups/${gid}/quota`)).status, 403);
  });

  it('charges VMs against the user quota: VMS=1 allows one', async () => {
    await charge(alice.id, 1, vm);
    const second = await refusal(charge(alice.id, 1, vm));
    assert.equal(second.code, 'AUTHORIZATION');
    assert.equal(
      second.message,
      `[one.vm.allocate] User [${alice.id}] : user [${alice.id}] limit of 1 reached for VMS quota in VM.`,
    );
    let q = (await t.admin('GET', `/api/v1/users/${alice.id}/quota`)).body.QUOTAS.VM_QUOTA.VM;
    assert.deepEqual([q.VMS_USED, q.MEMORY_USED, q.CPU_USED, q.RUNNING_VMS_USED], [1, 512, 1, 1]);
    await release(alice.id, 1, vm);
    q = (await t.admin('GET', `/api/v1/users/${alice.id}/quota`)).body.QUOTAS.VM_QUOTA.VM;
    assert.deepEqual([q.VMS_USED, q.MEMORY_USED, q.CPU_USED], [0, 0, 0]);
    await charge(alice.id, 1, vm);
    await release(alice.id, 1, vm);
    await release(alice.id, 1, vm); // never below 0
    q = (await t.admin('GET', `/api/v1/users/${alice.id}/quota`)).body.QUOTAS.VM_QUOTA.VM;
    assert.equal(q.VMS_USED, 0);
  });

  it('charges image SIZE and IMAGES per datastore, leases per network, RVMS per image', async () => {
    await charge(alice.id, 1, { image: { datastoreId: 1, size: 60 } }, 'one.image.allocate');
    const size = await refusal(
      charge(alice.id, 1, { image: { datastoreId: 1, size: 60 } }, 'one.image.allocate'),
    );
    assert.equal(
      size.message,
      `[one.image.allocate] User [${alice.id}] : user [${alice.id}] limit of 100 reached for SIZE quota in DATASTORE with ID: 1.`,
    );
    await charge(alice.id, 1, { image: { datastoreId: 2, size: 1000 } }); // no limit on datastore 2
    await charge(alice.id, 1, { leases: [{ networkId: 0, count: 2 }] });
    const lease = await refusal(charge(alice.id, 1, { leases: [{ networkId: 0, count: 1 }] }));
    assert.match(lease.message, /limit of 2 reached for LEASES quota in NETWORK with ID: 0\.$/);
    await charge(alice.id, 1, { imageRvms: [3] });
    const rvms = await refusal(charge(alice.id, 1, { imageRvms: [3] }));
    assert.match(rvms.message, /limit of 1 reached for RVMS quota in IMAGE with ID: 3\.$/);
    const q = (await t.admin('GET', `/api/v1/users/${alice.id}/quota`)).body.QUOTAS;
    assert.deepEqual(
      q.DATASTORE_QUOTA.DATASTORE.find((d: { ID: number }) => d.ID === 1),
      {
        ID: 1,
        IMAGES: 3,
        IMAGES_USED: 1,
        SIZE: 100,
        SIZE_USED: 60,
      },
    );
    assert.equal(q.NETWORK_QUOTA.NETWORK[0].LEASES_USED, 2);
    await release(alice.id, 1, { leases: [{ networkId: 0, count: 2 }] });
    await charge(alice.id, 1, { leases: [{ networkId: 0, count: 1 }] });
  });

  it('charges the group quota too, all or nothing', async () => {
    const set = await t.admin('PUT', `/api/v1/groups/${gid}/quota`, { template: 'VM = [ MEMORY = 1024 ]' });
    assert.equal(set.status, 200);
    await charge(bob.id, gid, vm);
    const refused = await refusal(charge(bob.id, gid, { vm: { cpu: 1, memory: 768 } }));
    assert.equal(
      refused.message,
      `[one.vm.allocate] User [${bob.id}] : group [${gid}] limit of 1024 reached for MEMORY quota in VM.`,
    );
    // The user's counters did not move for the refused request.
    const user = (await t.admin('GET', `/api/v1/users/${bob.id}/quota`)).body.QUOTAS.VM_QUOTA.VM;
    assert.equal(user.MEMORY_USED, 512);
    const group = await t.admin('GET', `/api/v1/groups/${gid}`);
    assert.equal(group.body.GROUP.VM_QUOTA.VM.MEMORY_USED, 512);
    assert.equal(group.body.GROUP.VM_QUOTA.VM.VMS_USED, 1);
  });

  it('does not count oneadmin (uid 0) nor group 0', async () => {
    for (let i = 0; i < 3; i++) await charge(0, 0, { vm: { cpu: 100, memory: 1 << 20 } });
    const q = (await t.admin('GET', '/api/v1/users/0/quota')).body.QUOTAS;
    assert.deepEqual(q.VM_QUOTA, {});
    const users = (await t.admin('GET', '/api/v1/groups/0/quota')).body.QUOTAS;
    assert.deepEqual(users.VM_QUOTA, {});
  });

  it('CLI: nimbus user quota USER FILE (addUserQuotaVerb)', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIo = {
      stdout: (s) => void out.push(s),
      stderr: (s) => void err.push(s),
      readFile: (p) => readFile(p),
      readStdin: async () => new Uint8Array(),
    };
    const file = join(t.home, 'user-quota.txt');
    await writeFile(file, 'VM = [ VMS = 7 ]\n');
    const base = ['--endpoint', t.nimbus.url, '--auth', `oneadmin:${ADMIN_PASSWORD}`];
    const noun = (program: Command, cliIo: CliIo) => addUserQuotaVerb(program.command('user'), cliIo);
    assert.equal(await runCli([...base, 'user', 'quota', 'bob', file], [noun], io), 0);
    const q = (await t.admin('GET', `/api/v1/users/${bob.id}/quota`)).body.QUOTAS.VM_QUOTA.VM;
    assert.equal(q.VMS, 7);
    await writeFile(file, 'VM = [ VMS = -7 ]\n');
    assert.equal(await runCli([...base, 'user', 'quota', 'bob', file], [noun], io), 2);
    assert.deepEqual(err, [
      'nimbus: INVALID_ARGUMENT: Negative limits or bad format in quota VM = [ VMS=-7 ]\n',
    ]);
  });
});
