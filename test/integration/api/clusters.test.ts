import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cliRunner, startTestNimbus, type TestNimbus } from './harness.js';

describe('clusters', () => {
  let t: TestNimbus;
  before(async () => {
    t = await startTestNimbus({ listen: true });
  });
  after(async () => t.close());

  const members = async (id: number): Promise<[number[], number[], number[]]> => {
    const c = (await t.admin('GET', `/api/v1/clusters/${id}`)).body.CLUSTER;
    return [c.HOSTS.ID, c.DATASTORES.ID, c.VNETS.ID];
  };

  it('bootstraps cluster 0 default with host 0 and datastores 0, 1, 2', async () => {
    const show = await t.admin('GET', '/api/v1/clusters/0');
    assert.equal(show.status, 200);
    assert.deepEqual(Object.keys(show.body.CLUSTER), [
      'ID',
      'NAME',
      'HOSTS',
      'DATASTORES',
      'VNETS',
      'TEMPLATE',
    ]);
    assert.equal(show.body.CLUSTER.NAME, 'default');
    assert.deepEqual(await members(0), [[0], [0, 1, 2], []]);
    assert.deepEqual(show.body.CLUSTER.TEMPLATE, { RESERVED_CPU: '', RESERVED_MEM: '' });
  });

  it('creates clusters from id 100 and refuses taken or invalid names', async () => {
    const created = await t.admin('POST', '/api/v1/clusters', { name: 'prod' });
    assert.equal(created.status, 201);
    assert.equal(created.body.ID, 100);
    const dup = await t.admin('POST', '/api/v1/clusters', { name: 'prod' });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.message, 'NAME is already taken by CLUSTER 100.');
    const bad = await t.admin('POST', '/api/v1/clusters', { name: 'a/b' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.field, 'NAME');
    const list = await t.admin('GET', '/api/v1/clusters');
    assert.deepEqual(
      list.body.CLUSTER_POOL.CLUSTER.map((c: { ID: number; NAME: string }) => [c.ID, c.NAME]),
      [
        [0, 'default'],
        [100, 'prod'],
      ],
    );
  });

  it('moves hosts and datastores in and out; the member lists follow', async () => {
    assert.equal((await t.admin('PUT', '/api/v1/clusters/100/hosts/0')).status, 200);
    assert.deepEqual(await members(100), [[0], [], []]);
    assert.deepEqual(await members(0), [[], [0, 1, 2], []]);
    assert.equal((await t.admin('GET', '/api/v1/hosts/0')).body.HOST.CLUSTER, 'prod');

    assert.equal((await t.admin('PUT', '/api/v1/clusters/100/datastores/1')).status, 200);
    assert.deepEqual(await members(100), [[0], [1], []]);
    assert.deepEqual(await members(0), [[], [0, 1, 2], []], 'a datastore may be in several clusters');
    assert.deepEqual((await t.nimbus.store.datastores.get(1)).clusters, [0, 100]);

    assert.equal((await t.admin('DELETE', '/api/v1/clusters/0/datastores/1')).status, 200);
    assert.deepEqual((await t.nimbus.store.datastores.get(1)).clusters, [100]);
    const notIn = await t.admin('DELETE', '/api/v1/clusters/0/datastores/1');
    assert.equal(notIn.status, 400);
    assert.equal(notIn.body.message, 'Datastore 1 is not in cluster 0.');

    const hostNotIn = await t.admin('DELETE', '/api/v1/clusters/0/hosts/0');
    assert.equal(hostNotIn.status, 400);
    assert.equal((await t.admin('PUT', '/api/v1/clusters/555/hosts/0')).status, 404);
    assert.equal((await t.admin('PUT', '/api/v1/clusters/100/hosts/77')).status, 404);
  });

  it('moves vnets in and out', async () => {
    const created = await t.admin('POST', '/api/v1/vnets', {
      template: 'NAME = "net1"\nVN_MAD = "bridge"\nBRIDGE = "br0"',
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id: number = created.body.ID;
    assert.deepEqual((await members(0))[2], [id], 'a new vnet joins the default cluster');
    assert.equal((await t.admin('PUT', `/api/v1/clusters/100/vnets/${id}`)).status, 200);
    assert.deepEqual((await members(100))[2], [id]);
    assert.equal((await t.admin('DELETE', `/api/v1/clusters/0/vnets/${id}`)).status, 200);
    assert.equal((await t.admin('DELETE', `/api/v1/clusters/100/vnets/${id}`)).status, 200);
    assert.deepEqual((await t.nimbus.store.vnets.get(id)).clusters, [], 'a vnet may end up in no cluster');
  });

  it('refuses to delete system and non-empty clusters with OpenNebula messages', async () => {
    const system = await t.admin('DELETE', '/api/v1/clusters/0');
    assert.equal(system.status, 409);
    assert.equal(system.body.message, 'System Clusters (ID < 100) cannot be deleted.');
    const busy = await t.admin('DELETE', '/api/v1/clusters/100');
    assert.equal(busy.status, 409);
    assert.equal(busy.body.code, 'CLUSTER_NOT_EMPTY');
    assert.equal(busy.body.message, 'Cluster 100 is not empty, it contains 1 hosts.');

    // delhost sends the host back to the default cluster.
    assert.equal((await t.admin('DELETE', '/api/v1/clusters/100/hosts/0')).status, 200);
    assert.equal((await t.admin('GET', '/api/v1/hosts/0')).body.HOST.CLUSTER_ID, 0);
    const stillDs = await t.admin('DELETE', '/api/v1/clusters/100');
    assert.equal(stillDs.body.message, 'Cluster 100 is not empty, it contains 1 datastores.');
    await t.admin('PUT', '/api/v1/clusters/0/datastores/1');
    await t.admin('DELETE', '/api/v1/clusters/100/datastores/1');
    assert.equal((await t.admin('DELETE', '/api/v1/clusters/100')).status, 200);
    assert.equal((await t.admin('GET', '/api/v1/clusters/100')).status, 404);
  });

  it('renames, updates the template and applies its reservations to member hosts', async () => {
    const id = (await t.admin('POST', '/api/v1/clusters', { name: 'edge' })).body.ID;
    assert.equal((await t.admin('POST', `/api/v1/clusters/${id}/rename`, { name: 'edge2' })).status, 200);
    assert.equal((await t.admin('GET', `/api/v1/clusters/${id}`)).body.CLUSTER.NAME, 'edge2');
    const taken = await t.admin('POST', `/api/v1/clusters/${id}/rename`, { name: 'default' });
    assert.equal(taken.status, 409);

    const host = (await t.admin('POST', '/api/v1/hosts', { name: 'e1', im: 'kvm', vm: 'kvm', cluster: id }))
      .body.ID;
    const record = await t.nimbus.store.hosts.get(host);
    await t.nimbus.store.hosts.update({
      ...record,
      share: { ...record.share, totalCpu: 800, maxCpu: 800, totalMem: 1000, maxMem: 1000 },
    });
    const bad = await t.admin('PUT', `/api/v1/clusters/${id}/template`, { template: 'RESERVED_MEM = "x"' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.field, 'RESERVED_MEM');
    const ok = await t.admin('PUT', `/api/v1/clusters/${id}/template`, {
      template: 'RESERVED_CPU = "25%"',
      merge: true,
    });
    assert.equal(ok.status, 200);
    assert.equal((await t.admin('GET', `/api/v1/hosts/${host}`)).body.HOST.HOST_SHARE.MAX_CPU, 600);
    const tmpl = (await t.admin('GET', `/api/v1/clusters/${id}`)).body.CLUSTER.TEMPLATE;
    assert.deepEqual(tmpl, { RESERVED_CPU: '25%', RESERVED_MEM: '' });
    await t.admin('DELETE', `/api/v1/hosts/${host}`);
  });

  it('is for oneadmin: users neither see nor create clusters', async () => {
    const bob = await t.createUser('bob');
    const list = await bob.request('GET', '/api/v1/clusters');
    assert.deepEqual(list.body.CLUSTER_POOL.CLUSTER, []);
    assert.equal((await bob.request('GET', '/api/v1/clusters/0')).status, 403);
    assert.equal((await bob.request('POST', '/api/v1/clusters', { name: 'mine' })).status, 403);
    assert.equal((await bob.request('PUT', '/api/v1/clusters/0/hosts/0')).status, 403);
  });

  describe('CLI', () => {
    const nimbus = (...args: string[]) => cliRunner(t).run(...args);
    const failing = (...args: string[]) => cliRunner(t).fail(...args);

    it('creates, adds members, lists, shows and deletes', async () => {
      const created = await nimbus('cluster', 'create', 'blue');
      assert.match(created.stdout, /^ID: \d+\n$/);
      await nimbus('cluster', 'adddatastore', 'blue', 'files');
      const list = await nimbus('cluster', 'list');
      const lines = list.stdout.trimEnd().split('\n');
      assert.match(lines[0]!, /^\s*ID NAME\s+HOSTS VNETS DATASTORES$/);
      assert.ok(
        lines.some((l) => /\bblue\s+0\s+0\s+1$/.test(l)),
        list.stdout,
      );
      const show = await nimbus('cluster', 'show', 'blue');
      assert.match(show.stdout, /NAME\s+: blue/);
      assert.match(show.stdout, /DATASTORES\n2\n/);
      const json = JSON.parse((await nimbus('cluster', 'show', 'blue', '--json')).stdout);
      assert.deepEqual(json.CLUSTER.DATASTORES, { ID: [2] });
      const busy = await failing('cluster', 'delete', 'blue');
      assert.equal(busy.code, 2);
      assert.equal(
        busy.stderr,
        `nimbus: CLUSTER_NOT_EMPTY: Cluster ${json.CLUSTER.ID} is not empty, it contains 1 datastores.\n`,
      );
      await nimbus('cluster', 'deldatastore', 'blue', '2');
      await nimbus('cluster', 'delete', 'blue');
      const gone = await failing('cluster', 'show', 'blue');
      assert.equal(gone.stderr, 'nimbus: NOT_FOUND: no cluster named "blue"\n');
    });
  });
});
