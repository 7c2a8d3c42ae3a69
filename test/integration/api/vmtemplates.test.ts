import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
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

describe('VM templates: create, list, show, update, clone, delete, instantiate', () => {
  let t: TestNimbus;
  let alice: { id: number; request: Requester };
  let bob: { id: number; request: Requester };
  let imageId: number;
  let vnetId: number;

  before(async () => {
    t = await startTestNimbus({ listen: true });
    alice = await t.createUser('alice');
    bob = await t.createUser('bob');
    imageId = await t.nimbus.store.images.insert(imageRecord());
    vnetId = await t.nimbus.store.vnets.insert(vnetRecord());
  });
  after(async () => t.close());

  const create = (who: Requester, body: unknown) => who('POST', '/api/v1/templates', body);

  it('creates from OpenNebula text, XML and JSON; show has the VMTEMPLATE order and no NAME inside', async () => {
    const text = await create(alice.request, 'NAME = small\nMEMORY = 512\nCPU = 1\nDESCRIPTION = "tiny vm"');
    assert.equal(text.status, 201, JSON.stringify(text.body));
    const xml = await create(alice.request, {
      template:
        '<TEMPLATE><NAME>xml</NAME><MEMORY>256</MEMORY><DISK><IMAGE_ID>0</IMAGE_ID></DISK></TEMPLATE>',
    });
    assert.equal(xml.status, 201, JSON.stringify(xml.body));
    const json = await create(alice.request, {
      template: { NAME: 'json', CPU: '0.5', NIC: [{ NETWORK: 'x' }] },
    });
    assert.equal(json.status, 201, JSON.stringify(json.body));

    const show = await alice.request('GET', `/api/v1/templates/${text.body.ID}`);
    assert.equal(show.status, 200);
    const tpl = show.body.VMTEMPLATE;
    assert.deepEqual(Object.keys(tpl), [
      'ID',
      'UID',
      'GID',
      'UNAME',
      'GNAME',
      'NAME',
      'PERMISSIONS',
      'REGTIME',
      'TEMPLATE',
    ]);
    assert.equal(tpl.NAME, 'small');
    assert.equal(tpl.UNAME, 'alice');
    assert.deepEqual(tpl.TEMPLATE, { CPU: '1', DESCRIPTION: 'tiny vm', MEMORY: '512' });
    const xmlShow = await alice.request('GET', `/api/v1/templates/${xml.body.ID}`);
    assert.deepEqual(xmlShow.body.VMTEMPLATE.TEMPLATE.DISK, [{ IMAGE_ID: '0' }]);
  });

  it('keeps VM_RESTRICTED_ATTR attributes to the oneadmin group', async () => {
    const restricted = 'NAME = "raw"\nCPU = 1\nMEMORY = 64\nRAW = [ TYPE = "kvm", DATA = "<x/>" ]';
    const refused = await create(alice.request, restricted);
    assert.equal(refused.status, 403);
    assert.equal(refused.body.message, 'VM Template includes a restricted attribute RAW/DATA');
    const vm = await alice.request('POST', '/api/v1/vms', {
      template: 'CPU = 1\nMEMORY = 64\nNIC = [ NETWORK_ID = 0, MAC = "02:00:00:00:00:01" ]',
    });
    assert.equal(vm.status, 403);
    assert.equal(vm.body.field, 'NIC/MAC');
    // an admin's template with restricted attributes may be instantiated by users it is shared with
    const adminTemplate = (await create(t.admin, 'NAME = "admin-costed"\nCPU = 1\nMEMORY = 64\nCPU_COST = 2'))
      .body.ID;
    assert.equal(
      (await t.admin('POST', `/api/v1/templates/${adminTemplate}/chmod`, { octet: '604' })).status,
      200,
    );
    const ok = await alice.request('POST', `/api/v1/templates/${adminTemplate}/instantiate`, {});
    assert.equal(ok.status, 201);
    const extra = await alice.request('POST', `/api/v1/templates/${adminTemplate}/instantiate`, {
      extra: 'MEMORY_COST = 1',
    });
    assert.equal(extra.status, 403);
    assert.equal(extra.body.field, 'MEMORY_COST');
    assert.equal(
      (await t.admin('POST', `/api/v1/templates/${adminTemplate}/chmod`, { octet: '600' })).status,
      200,
    );
  });

  it('shows secrets masked, and a masked body sent back keeps them', async () => {
    const text =
      'NAME = "with-secrets"\nCPU = 1\nMEMORY = 64\n' +
      'CONTEXT = [ PASSWORD = "ctx-secret", HOSTNAME = "h" ]\nGRAPHICS = [ TYPE = "VNC", PASSWD = "vnc-secret" ]';
    const id = (await create(alice.request, text)).body.ID as number;
    const shown = (await alice.request('GET', `/api/v1/templates/${id}`)).body.VMTEMPLATE.TEMPLATE;
    assert.deepEqual(shown.CONTEXT, [{ HOSTNAME: 'h', PASSWORD: '********' }]);
    assert.deepEqual(shown.GRAPHICS, [{ PASSWD: '********', TYPE: 'VNC' }]);
    const sentBack = await alice.request('PUT', `/api/v1/templates/${id}/template`, { template: shown });
    assert.equal(sentBack.status, 200);
    const stored = (await t.nimbus.store.vmTemplates.get(id)).template;
    assert.deepEqual(stored.CONTEXT, [{ HOSTNAME: 'h', PASSWORD: 'ctx-secret' }]);
    assert.deepEqual(stored.GRAPHICS, [{ PASSWD: 'vnc-secret', TYPE: 'VNC' }]);
  });

  it('validates at create: NAME, MEMORY, CPU, VCPU, vectors, variables, unique names per owner', async () => {
    const noName = await create(alice.request, 'MEMORY = 1');
    assert.equal(noName.status, 400);
    assert.equal(noName.body.field, 'NAME');
    const memory = await create(alice.request, 'NAME = m\nMEMORY = 0');
    assert.equal(memory.status, 400);
    assert.equal(memory.body.message, 'MEMORY attribute must be a positive integer value.');
    const cpu = await create(alice.request, 'NAME = c\nCPU = lots');
    assert.equal(cpu.body.message, 'CPU attribute must be a positive float or integer value.');
    const vcpu = await create(alice.request, 'NAME = v\nVCPU = 0');
    assert.equal(vcpu.body.message, 'VCPU attribute must be a positive integer value.');
    const disk = await create(alice.request, 'NAME = d\nDISK = 3');
    assert.equal(disk.status, 400);
    assert.equal(disk.body.field, 'DISK');
    const variable = await create(alice.request, 'NAME = x\nCONTEXT = [ IP = "$NIC[IP" ]');
    assert.equal(variable.status, 400);
    assert.equal(variable.body.code, 'TEMPLATE_VARIABLE');
    assert.equal(variable.body.field, 'CONTEXT/IP');
    const good = await create(
      alice.request,
      'NAME = vars\nCONTEXT = [ IP = "$NIC[IP, NETWORK=\\"a\\"]", U = "$UNAME" ]',
    );
    assert.equal(good.status, 201, JSON.stringify(good.body));

    const dup = await create(alice.request, 'NAME = small\nMEMORY = 1');
    assert.equal(dup.status, 409);
    assert.equal(dup.body.code, 'NAME_TAKEN');
    const other = await create(bob.request, 'NAME = small\nMEMORY = 1');
    assert.equal(other.status, 201);
  });

  it('lists with the filter flag and keeps other users templates invisible', async () => {
    const mine = await alice.request('GET', '/api/v1/templates?filter=-3');
    assert.ok(mine.body.VMTEMPLATE_POOL.VMTEMPLATE.length > 0);
    assert.ok(mine.body.VMTEMPLATE_POOL.VMTEMPLATE.every((x: { UNAME: string }) => x.UNAME === 'alice'));
    const all = await alice.request('GET', '/api/v1/templates?filter=-2');
    assert.ok(all.body.VMTEMPLATE_POOL.VMTEMPLATE.every((x: { UNAME: string }) => x.UNAME === 'alice'));
    const admin = await t.admin('GET', '/api/v1/templates?name=small');
    assert.deepEqual(
      admin.body.VMTEMPLATE_POOL.VMTEMPLATE.map((x: { UNAME: string }) => x.UNAME),
      ['alice', 'bob'],
    );
    const bobsId = admin.body.VMTEMPLATE_POOL.VMTEMPLATE[1].ID;
    assert.equal((await alice.request('GET', `/api/v1/templates/${bobsId}`)).status, 403);
    assert.equal((await alice.request('DELETE', `/api/v1/templates/${bobsId}`)).status, 403);
    assert.equal((await alice.request('POST', `/api/v1/templates/${bobsId}/instantiate`, {})).status, 403);
    const page = await alice.request('GET', '/api/v1/templates?limit=1');
    assert.equal(page.body.VMTEMPLATE_POOL.VMTEMPLATE.length, 1);
    assert.equal(page.body.next_after, page.body.VMTEMPLATE_POOL.VMTEMPLATE[0].ID);
  });

  it('updates (merge and replace), renames, chmods, chowns, clones and deletes', async () => {
    const id = (await create(alice.request, 'NAME = edit\nMEMORY = 128\nCPU = 1')).body.ID;
    assert.equal(
      (
        await alice.request('PUT', `/api/v1/templates/${id}/template`, {
          template: 'MEMORY = 256',
          merge: true,
        })
      ).status,
      200,
    );
    let tpl = (await alice.request('GET', `/api/v1/templates/${id}`)).body.VMTEMPLATE;
    assert.deepEqual(tpl.TEMPLATE, { CPU: '1', MEMORY: '256' });
    const bad = await alice.request('PUT', `/api/v1/templates/${id}/template`, { template: 'MEMORY = -1' });
    assert.equal(bad.status, 400);
    await alice.request('PUT', `/api/v1/templates/${id}/template`, { template: 'VCPU = 2' });
    tpl = (await alice.request('GET', `/api/v1/templates/${id}`)).body.VMTEMPLATE;
    assert.deepEqual(tpl.TEMPLATE, { VCPU: '2' });

    assert.equal(
      (await alice.request('POST', `/api/v1/templates/${id}/rename`, { name: 'small' })).status,
      409,
    );
    assert.equal(
      (await alice.request('POST', `/api/v1/templates/${id}/rename`, { name: 'edited' })).status,
      200,
    );
    assert.equal(
      (await alice.request('POST', `/api/v1/templates/${id}/chmod`, { octet: 'um-u-----' })).status,
      200,
    );
    tpl = (await bob.request('GET', `/api/v1/templates/${id}`)).body.VMTEMPLATE;
    assert.equal(tpl.NAME, 'edited');
    assert.equal(tpl.PERMISSIONS.GROUP_U, 1);

    const clone = await bob.request('POST', `/api/v1/templates/${id}/clone`, { name: 'bobs-copy' });
    assert.equal(clone.status, 201);
    const copy = (await bob.request('GET', `/api/v1/templates/${clone.body.ID}`)).body.VMTEMPLATE;
    assert.equal(copy.UNAME, 'bob');
    assert.deepEqual(copy.TEMPLATE, { VCPU: '2' });

    assert.equal((await bob.request('POST', `/api/v1/templates/${id}/chown`, { uid: bob.id })).status, 403);
    assert.equal((await t.admin('POST', `/api/v1/templates/${id}/chown`, { uid: bob.id })).status, 200);
    assert.equal((await bob.request('DELETE', `/api/v1/templates/${id}`)).status, 200);
    assert.equal((await bob.request('GET', `/api/v1/templates/${id}`)).status, 404);
  });

  it('instantiates with an image DISK and a NIC lease; names <template>-<vmid>; needs USE', async () => {
    const id = (
      await create(
        alice.request,
        `NAME = web\nMEMORY = 256\nCPU = 1\nDISK = [ IMAGE_ID = ${imageId} ]\nNIC = [ NETWORK_ID = ${vnetId} ]`,
      )
    ).body.ID;
    assert.equal((await bob.request('POST', `/api/v1/templates/${id}/instantiate`, {})).status, 403);
    const res = await alice.request('POST', `/api/v1/templates/${id}/instantiate`, {});
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const vmId = res.body.ID;
    assert.deepEqual(res.body.IDS, [vmId]);
    const vm = (await alice.request('GET', `/api/v1/vms/${vmId}`)).body.VM;
    assert.equal(vm.NAME, `web-${vmId}`);
    assert.equal(vm.STATE, 1);
    assert.equal(vm.TEMPLATE.TEMPLATE_ID, String(id));
    assert.equal(vm.TEMPLATE.DISK[0].IMAGE, 'debian');
    assert.equal(vm.TEMPLATE.NIC[0].IP, '10.0.0.10');
    assert.equal((await t.nimbus.store.images.get(imageId)).runningVms, 1);
    assert.equal((await t.nimbus.store.leases.listByVnet(vnetId)).length, 1);
  });

  it('instantiate: extra replaces whole vector attributes; hold; multiple with %i', async () => {
    const id = (
      await create(alice.request, `NAME = multi\nMEMORY = 64\nCPU = 1\nNIC = [ NETWORK_ID = ${vnetId} ]`)
    ).body.ID;
    const res = await alice.request('POST', `/api/v1/templates/${id}/instantiate`, {
      name: 'node-%i',
      hold: true,
      multiple: 2,
      extra: `NIC = [ NETWORK_ID = "${vnetId}", MODEL = "virtio" ]\nNIC = [ NETWORK_ID = "${vnetId}" ]`,
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.IDS.length, 2);
    const [a, b] = await Promise.all(
      res.body.IDS.map(async (vmId: number) => (await alice.request('GET', `/api/v1/vms/${vmId}`)).body.VM),
    );
    assert.deepEqual([a.NAME, b.NAME], ['node-0', 'node-1']);
    assert.deepEqual([a.STATE, b.STATE], [2, 2]);
    assert.equal(a.TEMPLATE.NIC.length, 2);
    assert.equal(a.TEMPLATE.NIC[0].MODEL, 'virtio');
    assert.equal(a.TEMPLATE.NIC[1].MODEL, undefined);
    const ips = [...a.TEMPLATE.NIC, ...b.TEMPLATE.NIC].map((n: { IP: string }) => n.IP);
    assert.equal(new Set(ips).size, 4);
    // a requested address shared by both VMs: the second cannot have it, and neither is created
    const clash = await alice.request('POST', `/api/v1/templates/${id}/instantiate`, {
      multiple: 2,
      extra: { NIC: [{ NETWORK_ID: String(vnetId), IP: '10.0.0.19' }] },
    });
    assert.equal(clash.status, 400);
    assert.equal(clash.body.field, 'NIC[0]/IP');
    assert.ok(!(await t.nimbus.store.leases.listByVnet(vnetId)).some((l) => l.index === 9));
  });

  it('instantiate is all or nothing: running out of leases rolls every VM back', async () => {
    const before = await t.nimbus.store.leases.listByVnet(vnetId);
    const vmCount = await t.nimbus.store.vms.count();
    const id = (
      await create(alice.request, `NAME = many\nMEMORY = 64\nCPU = 1\nNIC = [ NETWORK_ID = ${vnetId} ]`)
    ).body.ID;
    const res = await alice.request('POST', `/api/v1/templates/${id}/instantiate`, { multiple: 20 });
    assert.equal(res.status, 409);
    assert.equal(res.body.code, 'NO_FREE_LEASE');
    assert.deepEqual(await t.nimbus.store.leases.listByVnet(vnetId), before);
    assert.equal(await t.nimbus.store.vms.count(), vmCount);
    const noMemory = (await create(alice.request, 'NAME = nomem\nCPU = 1')).body.ID;
    const refused = await alice.request('POST', `/api/v1/templates/${noMemory}/instantiate`, {});
    assert.equal(refused.status, 400);
    assert.equal(refused.body.message, 'MEMORY attribute must be a positive integer value.');
    const fixed = await alice.request('POST', `/api/v1/templates/${noMemory}/instantiate`, {
      extra: { MEMORY: '32' },
    });
    assert.equal(fixed.status, 201, JSON.stringify(fixed.body));
  });

  it('CLI: template create, list, show, instantiate --multiple', async () => {
    const cli = cliRunner(t).run;
    const file = `${t.home}/cli.tmpl`;
    await writeFile(file, 'NAME = cli-tpl\nMEMORY = 128\nCPU = 1\n');
    const created = await cli('template', 'create', file);
    const id = Number(/^ID: (\d+)$/m.exec(created.stdout)?.[1]);
    const list = await cli('template', 'list');
    assert.match(list.stdout.split('\n')[0]!, /^\s*ID\s+USER\s+GROUP\s+NAME\s+REGTIME$/);
    assert.match(list.stdout, new RegExp(`^\\s*${id}\\s+oneadmin\\s+oneadmin\\s+cli-tpl\\s`, 'm'));
    const shown = JSON.parse((await cli('template', 'show', 'cli-tpl', '--json')).stdout);
    assert.equal(shown.VMTEMPLATE.ID, id);
    const inst = await cli(
      'template',
      'instantiate',
      'cli-tpl',
      '--multiple',
      '2',
      '--name',
      'c-%i',
      '--hold',
    );
    const vmIds = [...inst.stdout.matchAll(/^VM ID: (\d+)$/gm)].map((m) => Number(m[1]));
    assert.equal(vmIds.length, 2);
    const vms = await cli('vm', 'list');
    assert.match(vms.stdout, /\sc-0\s+hold\s/);
    assert.match(vms.stdout, /\sc-1\s+hold\s/);
    await assert.rejects(cli('template', 'instantiate', 'nope'), (e: { code: number; stderr: string }) => {
      assert.equal(e.code, 2);
      assert.match(e.stderr, /NOT_FOUND: no template named "nope"/);
      return true;
    });
    // the parse/format verbs still live under the same noun
    const parsed = JSON.parse((await cli('template', 'parse', file)).stdout);
    assert.equal(parsed.NAME, 'cli-tpl');
  });
});

describe('scheduler expressions are checked when a template is written', () => {
  let t: TestNimbus;
  before(async () => {
    t = await startTestNimbus();
  });
  after(async () => t.close());

  it('refuses a bad SCHED_REQUIREMENTS or SCHED_RANK with the field and the column', async () => {
    const bad = await t.admin(
      'POST',
      '/api/v1/templates',
      'NAME = s1\nCPU = 1\nMEMORY = 64\nSCHED_REQUIREMENTS = "FREE_CPU >= 100"',
    );
    assert.equal(bad.status, 400);
    assert.equal(bad.body.field, 'SCHED_REQUIREMENTS');
    assert.match(bad.body.message, /SCHED_REQUIREMENTS: syntax error at column 11/);
    const rank = await t.admin(
      'POST',
      '/api/v1/vms',
      'NAME = s2\nCPU = 1\nMEMORY = 64\nSCHED_RANK = "FREE_CPU * * 2"',
    );
    assert.equal(rank.status, 400);
    assert.equal(rank.body.field, 'SCHED_RANK');
    const good = await t.admin(
      'POST',
      '/api/v1/templates',
      'NAME = s3\nCPU = 1\nMEMORY = 64\nSCHED_REQUIREMENTS = "HYPERVISOR = kvm & (CLUSTER_ID = 0 | NAME = \\"node*\\")"\nSCHED_RANK = "- RUNNING_VMS"',
    );
    assert.equal(good.status, 201, JSON.stringify(good.body));
  });
});
