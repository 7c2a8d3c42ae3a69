import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cliRunner, startTestNimbus, type TestNimbus } from './harness.js';

describe('hosts', () => {
  let t: TestNimbus;
  before(async () => {
    t = await startTestNimbus({ listen: true });
  });
  after(async () => t.close());

  it('bootstraps host 0: dummy, in cluster 0 default, MONITORED once its embedded agent reports', async () => {
    let list = await t.admin('GET', '/api/v1/hosts');
    for (let i = 0; i < 100 && list.body.HOST_POOL.HOST[0].STATE !== 2; i++) {
      await new Promise((r) => setTimeout(r, 20));
      list = await t.admin('GET', '/api/v1/hosts');
    }
    assert.equal(list.status, 200);
    const [host0] = list.body.HOST_POOL.HOST;
    assert.equal(list.body.HOST_POOL.HOST.length, 1);
    assert.equal(host0.ID, 0);
    assert.equal(host0.IM_MAD, 'dummy');
    assert.equal(host0.VM_MAD, 'dummy');
    assert.equal(host0.CLUSTER_ID, 0);
    assert.equal(host0.CLUSTER, 'default');
    assert.equal(host0.STATE, 2);
    assert.equal(host0.STATE_NAME, 'MONITORED');
    assert.equal(host0.HOST_SHARE.TOTAL_CPU, 1600, 'capacity comes from the agent report');
  });

  it('creates a host and shows the HOST body in OpenNebula order', async () => {
    // A kvm host: its agent is a separate process, so nothing reports here and the share stays as set.
    const created = await t.admin('POST', '/api/v1/hosts', { name: 'node1', im: 'kvm', vm: 'kvm' });
    assert.equal(created.status, 201);
    assert.equal(created.body.ID, 1);
    assert.match(
      created.body.JOIN.COMMAND,
      /^nimbus-agent --controller ws:\/\/\S+ --host-id 1 --token \S{43} --driver qemu$/,
    );
    assert.ok(created.body.JOIN.EXPIRES > Date.now() / 1000);
    const show = await t.admin('GET', '/api/v1/hosts/1');
    assert.equal(show.status, 200);
    const host = show.body.HOST;
    assert.deepEqual(Object.keys(host), [
      'ID',
      'NAME',
      'STATE',
      'STATE_NAME',
      'PREV_STATE',
      'IM_MAD',
      'VM_MAD',
      'CLUSTER_ID',
      'CLUSTER',
      'HOST_SHARE',
      'VMS',
      'TEMPLATE',
      'MONITORING',
    ]);
    assert.deepEqual(Object.keys(host.HOST_SHARE).slice(0, 7), [
      'MEM_USAGE',
      'CPU_USAGE',
      'TOTAL_MEM',
      'TOTAL_CPU',
      'MAX_MEM',
      'MAX_CPU',
      'RUNNING_VMS',
    ]);
    assert.deepEqual(host.VMS, { ID: [] });
    assert.equal(host.TEMPLATE.IM_MAD, 'kvm');
    const byName = await t.admin('GET', '/api/v1/hosts?name=node');
    assert.deepEqual(
      byName.body.HOST_POOL.HOST.map((h: { ID: number }) => h.ID),
      [1],
    );
  });

  it('refuses bad drivers, taken names and unknown clusters', async () => {
    const bad = await t.admin('POST', '/api/v1/hosts', { name: 'node2', im: 'xen', vm: 'xen' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.field, 'IM_MAD');
    assert.match(bad.body.message, /kvm, qemu or dummy/);
    const mixed = await t.admin('POST', '/api/v1/hosts', { name: 'node2', im: 'kvm', vm: 'dummy' });
    assert.equal(mixed.status, 400);
    assert.equal(mixed.body.field, 'VM_MAD');
    const blank = await t.admin('POST', '/api/v1/hosts', { name: 'a b', im: 'kvm', vm: 'kvm' });
    assert.equal(blank.status, 400);
    assert.equal(blank.body.field, 'NAME');
    const dup = await t.admin('POST', '/api/v1/hosts', { name: 'node1', im: 'kvm', vm: 'kvm' });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.message, 'NAME is already taken by HOST 1.');
    const noCluster = await t.admin('POST', '/api/v1/hosts', {
      name: 'x',
      im: 'kvm',
      vm: 'kvm',
      cluster: 555,
    });
    assert.equal(noCluster.status, 404);
    const missing = await t.admin('POST', '/api/v1/hosts', { name: 'x', vm: 'kvm' });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.field, 'body/im');
  });

  it('changes status with OpenNebula host states', async () => {
    const state = async (): Promise<[number, number]> => {
      const h = (await t.admin('GET', '/api/v1/hosts/1')).body.HOST;
      return [h.STATE, h.PREV_STATE];
    };
    assert.equal((await t.admin('POST', '/api/v1/hosts/1/disable')).status, 200);
    assert.deepEqual(await state(), [4, 0]);
    await t.admin('POST', '/api/v1/hosts/1/offline');
    assert.deepEqual(await state(), [8, 4]);
    await t.admin('POST', '/api/v1/hosts/1/enable');
    assert.deepEqual(await state(), [0, 8]);
    const stateFilter = await t.admin('GET', '/api/v1/hosts?state=8');
    assert.deepEqual(stateFilter.body.HOST_POOL.HOST, []);

    // A monitored host that is disabled goes straight back to MONITORED.
    const host = await t.nimbus.store.hosts.get(1);
    const share = { ...host.share, totalCpu: 400, maxCpu: 400, totalMem: 8_388_608, maxMem: 8_388_608 };
    await t.nimbus.store.hosts.update({ ...host, state: 2, share });
    await t.admin('POST', '/api/v1/hosts/1/disable');
    await t.admin('POST', '/api/v1/hosts/1/enable');
    assert.deepEqual(await state(), [2, 4]);
  });

  it('updates the template and applies RESERVED_CPU / RESERVED_MEM to the share', async () => {
    const bad = await t.admin('PUT', '/api/v1/hosts/1/template', {
      template: 'RESERVED_CPU = "lots"',
      merge: true,
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.field, 'RESERVED_CPU');
    const ok = await t.admin('PUT', '/api/v1/hosts/1/template', {
      template: 'RESERVED_CPU = 100\nRESERVED_MEM = "50%"\nLABEL = "rack1"',
      merge: true,
    });
    assert.equal(ok.status, 200);
    const h = (await t.admin('GET', '/api/v1/hosts/1')).body.HOST;
    assert.equal(h.HOST_SHARE.MAX_CPU, 300);
    assert.equal(h.HOST_SHARE.MAX_MEM, 4_194_304);
    assert.equal(h.TEMPLATE.LABEL, 'rack1');
    assert.equal(h.TEMPLATE.IM_MAD, 'kvm', 'merge keeps the other attributes');
    await t.admin('PUT', '/api/v1/hosts/1/template', { template: 'LABEL = "rack2"' });
    const replaced = (await t.admin('GET', '/api/v1/hosts/1')).body.HOST;
    assert.deepEqual(replaced.TEMPLATE, { LABEL: 'rack2' });
    assert.equal(replaced.HOST_SHARE.MAX_CPU, 400);
  });

  it('renames, and refuses to delete a host with VMs', async () => {
    assert.equal((await t.admin('POST', '/api/v1/hosts/1/rename', { name: 'node-one' })).status, 200);
    assert.equal((await t.admin('GET', '/api/v1/hosts/1')).body.HOST.NAME, 'node-one');
    const taken = await t.admin('POST', '/api/v1/hosts/1/rename', {
      name: (await t.nimbus.store.hosts.get(0)).name,
    });
    assert.equal(taken.status, 409);
    const host = await t.nimbus.store.hosts.get(1);
    await t.nimbus.store.hosts.update({ ...host, vms: [42] });
    const busy = await t.admin('DELETE', '/api/v1/hosts/1');
    assert.equal(busy.status, 409);
    assert.equal(busy.body.code, 'IN_USE');
    assert.match(busy.body.message, /^Can not remove a host with running VMs/);
    const again = await t.nimbus.store.hosts.get(1);
    await t.nimbus.store.hosts.update({ ...again, vms: [] });
    assert.equal((await t.admin('DELETE', '/api/v1/hosts/1')).status, 200);
    assert.equal((await t.admin('GET', '/api/v1/hosts/1')).status, 404);
  });

  it('follows the bootstrap ACL: users have HOST MANAGE only, so they neither see nor create hosts', async () => {
    const alice = await t.createUser('alice');
    const list = await alice.request('GET', '/api/v1/hosts');
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.HOST_POOL.HOST, []);
    const show = await alice.request('GET', '/api/v1/hosts/0');
    assert.equal(show.status, 403);
    assert.match(show.body.message, /Not authorized to perform USE HOST \[0\]/);
    const create = await alice.request('POST', '/api/v1/hosts', { name: 'mine', im: 'kvm', vm: 'kvm' });
    assert.equal(create.status, 403);
    assert.equal(create.body.code, 'AUTHORIZATION');
    const disable = await alice.request('POST', '/api/v1/hosts/0/disable');
    assert.equal(disable.status, 403);

    // A %cluster rule reaches the hosts of that cluster only.
    const cluster = await t.admin('POST', '/api/v1/clusters', { name: 'lab' });
    const node = await t.admin('POST', '/api/v1/hosts', {
      name: 'lab1',
      im: 'dummy',
      vm: 'dummy',
      cluster: cluster.body.ID,
    });
    const rule = await t.admin('POST', '/api/v1/acl', { rule: `@1 HOST/%${cluster.body.ID} USE` });
    assert.equal(rule.status, 201);
    const seen = await alice.request('GET', '/api/v1/hosts');
    assert.deepEqual(
      seen.body.HOST_POOL.HOST.map((h: { ID: number }) => h.ID),
      [node.body.ID],
    );
  });

  describe('CLI', () => {
    const nimbus = (...args: string[]) => cliRunner(t).run(...args);
    const failing = (...args: string[]) => cliRunner(t).fail(...args);

    it('creates, lists, shows, disables and deletes', async () => {
      const created = await nimbus('host', 'create', 'sim1', '--im', 'kvm', '--vm', 'kvm');
      assert.match(created.stdout, /^ID: \d+\nRun on the host: nimbus-agent --controller /);
      const id = Number(/\d+/.exec(created.stdout)![0]);
      const host = await t.nimbus.store.hosts.get(id);
      const share = { ...host.share, totalCpu: 400, maxCpu: 400, totalMem: 24_641_536, maxMem: 24_641_536 };
      await t.nimbus.store.hosts.update({ ...host, share });

      const list = await nimbus('host', 'list');
      const lines = list.stdout.trimEnd().split('\n');
      assert.match(lines[0]!, /^\s*ID NAME\s+CLUSTER\s+TVM\s+ALLOCATED_CPU\s+ALLOCATED_MEM STAT$/);
      assert.ok(
        lines.some((l) => /\bsim1\s+default\s+0\s+0 \/ 400 \(0%\)\s+0K \/ 23\.5G \(0%\) init$/.test(l)),
        list.stdout,
      );
      const json = JSON.parse((await nimbus('host', 'list', '--json')).stdout);
      assert.ok(json.HOST_POOL.HOST.some((h: { NAME: string }) => h.NAME === 'sim1'));

      await nimbus('host', 'disable', 'sim1');
      const show = await nimbus('host', 'show', 'sim1');
      assert.match(show.stdout, /^HOST \d+ INFORMATION\n/);
      assert.match(show.stdout, /STATE\s+: DISABLED/);
      assert.match(show.stdout, /CPU TOTAL\s+: 400/);
      assert.match(show.stdout, /MEMORY TOTAL\s+: 23\.5G/);
      assert.match(show.stdout, /VIRTUAL MACHINES\n-\n/);
      const showJson = JSON.parse((await nimbus('host', 'show', 'sim1', '--json')).stdout);
      assert.equal(showJson.HOST.STATE, 4);

      await nimbus('host', 'rename', 'sim1', 'sim-one');
      await nimbus('host', 'delete', 'sim-one');
      const gone = await failing('host', 'show', 'sim-one');
      assert.equal(gone.code, 2);
      assert.equal(gone.stderr, 'nimbus: NOT_FOUND: no host named "sim-one"\n');
    });

    it('fails with one line naming the problem', async () => {
      const bad = await failing('host', 'create', 'x1', '--im', 'xen', '--vm', 'xen');
      assert.equal(bad.code, 2);
      assert.equal(
        bad.stderr,
        'nimbus: TEMPLATE_INVALID: IM_MAD "xen" is not supported; use kvm, qemu or dummy\n',
      );
      const usage = await failing('host', 'create', 'x1');
      assert.equal(usage.code, 2);
      assert.match(usage.stderr, /--im/);
    });
  });
});
