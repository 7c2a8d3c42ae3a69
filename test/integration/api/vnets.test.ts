import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { aclRulesEqual, parseAclRule } from '../../../src/domain/auth/acl.js';
import { cliRunner, startTestNimbus, type TestNimbus } from './harness.js';

const PRIVATE = `
NAME = "private"
VN_MAD = "bridge"
DNS = "192.168.70.1"
AR = [ TYPE = "IP4", IP = "192.168.70.150", SIZE = "100" ]
`;

const NOT_AVAILABLE = 'Address is not part of the address range or in use.';

async function createVnet(t: TestNimbus, template: unknown): Promise<number> {
  const res = await t.admin('POST', '/api/v1/vnets', template);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.ID as number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function show(t: TestNimbus, id: number): Promise<any> {
  const res = await t.admin('GET', `/api/v1/vnets/${id}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.VNET;
}

describe('virtual networks API', () => {
  let t: TestNimbus;
  before(async () => {
    t = await startTestNimbus();
  });
  after(async () => t.close());

  it('creates a network from text: VNET body in order, AR fields computed, MAC from the IP', async () => {
    const id = await createVnet(t, PRIVATE);
    const v = await show(t, id);
    assert.deepEqual(Object.keys(v), [
      'ID',
      'UID',
      'GID',
      'UNAME',
      'GNAME',
      'NAME',
      'PERMISSIONS',
      'CLUSTERS',
      'BRIDGE',
      'BRIDGE_TYPE',
      'STATE',
      'STATE_NAME',
      'PREV_STATE',
      'PARENT_NETWORK_ID',
      'VN_MAD',
      'PHYDEV',
      'VLAN_ID',
      'OUTER_VLAN_ID',
      'VLAN_ID_AUTOMATIC',
      'OUTER_VLAN_ID_AUTOMATIC',
      'USED_LEASES',
      'VROUTERS',
      'UPDATED_VMS',
      'OUTDATED_VMS',
      'UPDATING_VMS',
      'ERROR_VMS',
      'TEMPLATE',
      'AR_POOL',
    ]);
    assert.equal(v.NAME, 'private');
    assert.equal(v.UNAME, 'oneadmin');
    assert.deepEqual(v.CLUSTERS, { ID: [0] });
    assert.equal(v.BRIDGE, `onebr${id}`);
    assert.equal(v.STATE_NAME, 'READY');
    assert.equal(v.PARENT_NETWORK_ID, '');
    assert.equal(v.TEMPLATE.DNS, '192.168.70.1');
    assert.equal(v.TEMPLATE.NAME, undefined);
    assert.deepEqual(v.AR_POOL.AR, [
      {
        AR_ID: 0,
        IP: '192.168.70.150',
        MAC: '02:00:c0:a8:46:96',
        SIZE: 100,
        TYPE: 'IP4',
        MAC_END: '02:00:c0:a8:46:f9',
        IP_END: '192.168.70.249',
        USED_LEASES: 0,
        LEASES: { LEASE: [] },
      },
    ]);
  });

  it('takes JSON and XML templates, IP6 and ETHER ranges, and ?cluster=', async () => {
    const id = await createVnet(t, {
      template: {
        NAME: 'v6',
        VN_MAD: 'bridge',
        AR: [
          {
            TYPE: 'IP6',
            MAC: '02:00:00:00:01:00',
            SIZE: '16',
            ULA_PREFIX: 'fd00:1::',
            GLOBAL_PREFIX: '2001:db8::',
          },
          { TYPE: 'ETHER', MAC: '02:00:00:00:02:00', SIZE: '4' },
        ],
      },
    });
    const [ip6, ether] = (await show(t, id)).AR_POOL.AR;
    assert.equal(ip6.MAC_END, '02:00:00:00:01:0f');
    assert.equal(ip6.IP6_ULA, 'fd00:1::ff:fe00:100');
    assert.equal(ip6.IP6_ULA_END, 'fd00:1::ff:fe00:10f');
    assert.equal(ip6.IP6_GLOBAL, '2001:db8::ff:fe00:100');
    assert.equal(ip6.IP_END, undefined);
    assert.deepEqual(Object.keys(ether), [
      'AR_ID',
      'MAC',
      'SIZE',
      'TYPE',
      'MAC_END',
      'USED_LEASES',
      'LEASES',
    ]);
    assert.equal(ether.MAC_END, '02:00:00:00:02:03');

    const hold = await t.admin('POST', `/api/v1/vnets/${id}/hold`, 'LEASES = [ MAC = "02:00:00:00:01:02" ]');
    assert.equal(hold.status, 200);
    const lease = (await show(t, id)).AR_POOL.AR[0].LEASES.LEASE[0];
    assert.deepEqual(lease, {
      IP6_GLOBAL: '2001:db8::ff:fe00:102',
      IP6_LINK: 'fe80::ff:fe00:102',
      IP6_ULA: 'fd00:1::ff:fe00:102',
      MAC: '02:00:00:00:01:02',
      VM: -1,
    });

    const xml = await createVnet(
      t,
      '<TEMPLATE><NAME>from-xml</NAME><VN_MAD>dummy</VN_MAD><BRIDGE>br0</BRIDGE>' +
        '<AR><TYPE>IP4</TYPE><IP>10.9.0.1</IP><SIZE>2</SIZE></AR></TEMPLATE>',
    );
    assert.equal((await show(t, xml)).BRIDGE, 'br0');

    const inZero = await t.admin('POST', '/api/v1/vnets?cluster=0', PRIVATE.replace('private', 'c0'));
    assert.deepEqual((await show(t, inZero.body.ID)).CLUSTERS, { ID: [0] });
    const missing = await t.admin('POST', '/api/v1/vnets?cluster=555', PRIVATE.replace('private', 'x'));
    assert.equal(missing.status, 404);
    assert.equal(missing.body.field, 'cluster');
  });

  it('refuses bad templates with 400 naming the field', async () => {
    const bad = await t.admin(
      'POST',
      '/api/v1/vnets',
      'NAME = bad\nVN_MAD = bridge\nAR = [ TYPE = IP4, IP = 10.0.0.1, SIZE = 0 ]',
    );
    assert.equal(bad.status, 400);
    assert.equal(bad.body.field, 'AR[0]/SIZE');
    assert.match(bad.body.message, /^AR\[0\]\/SIZE: /);
    const noMad = await t.admin('POST', '/api/v1/vnets', 'NAME = bad');
    assert.equal(noMad.status, 400);
    assert.equal(noMad.body.field, 'VN_MAD');
    const noName = await t.admin('POST', '/api/v1/vnets', { template: { VN_MAD: 'bridge' } });
    assert.equal(noName.status, 400);
    assert.equal(noName.body.field, 'NAME');
    const syntax = await t.admin('POST', '/api/v1/vnets', 'NAME = [');
    assert.equal(syntax.status, 400);
    assert.equal(syntax.body.code, 'TEMPLATE_SYNTAX');
    const taken = await t.admin('POST', '/api/v1/vnets', PRIVATE);
    assert.equal(taken.status, 409);
    assert.equal(taken.body.code, 'NAME_TAKEN');
  });

  it('holds and releases addresses with OpenNebula texts', async () => {
    const id = await createVnet(t, PRIVATE.replace('private', 'hold-net'));
    const hold = (body: unknown) => t.admin('POST', `/api/v1/vnets/${id}/hold`, body);
    assert.equal((await hold('LEASES = [ IP = 192.168.70.155 ]')).status, 200);
    const v = await show(t, id);
    assert.equal(v.USED_LEASES, 1);
    assert.equal(v.AR_POOL.AR[0].USED_LEASES, 1);
    assert.deepEqual(v.AR_POOL.AR[0].LEASES.LEASE, [
      { IP: '192.168.70.155', MAC: '02:00:c0:a8:46:9b', VM: -1 },
    ]);

    for (const [body, message] of [
      ['LEASES = [ IP = 192.168.70.155 ]', NOT_AVAILABLE],
      ['LEASES = [ IP = 10.1.1.1 ]', NOT_AVAILABLE],
      [{ template: { LEASES: [{ IP: '192.168.70.160', AR_ID: '7' }] } }, NOT_AVAILABLE],
      ['LEASES = [ AR_ID = 0 ]', 'Missing MAC, IP or IP6.'],
      ['DNS = x', 'Empty lease description.'],
      [
        'LEASES = [ IP = 192.168.70.156, MAC = "02:00:c0:a8:46:9c" ]',
        'Only one attribute MAC, IP or IP6 can be set.',
      ],
    ] as const) {
      const res = await hold(body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.message, message);
    }

    // The JSON template form, bare (not wrapped in { template }).
    const byMac = await hold({ LEASES: [{ MAC: '02:00:c0:a8:46:9c', AR_ID: '0' }] });
    assert.equal(byMac.status, 200);
    assert.equal((await show(t, id)).USED_LEASES, 2);

    const release = (body: string) => t.admin('POST', `/api/v1/vnets/${id}/release`, body);
    assert.equal((await release('LEASES = [ IP = 192.168.70.155 ]')).status, 200);
    assert.equal((await release('LEASES = [ IP = 192.168.70.156 ]')).status, 200);
    assert.equal((await show(t, id)).USED_LEASES, 0);
    // Not on hold: succeeds and frees nothing, as OpenNebula.
    assert.equal((await release('LEASES = [ IP = 192.168.70.155 ]')).status, 200);
    assert.equal((await release('LEASES = []')).body.message, 'Missing MAC, IP or IP6.');
  });

  it('adds, updates and removes address ranges; rmar is refused while a VM holds a lease', async () => {
    const id = await createVnet(t, PRIVATE.replace('private', 'ar-net'));
    const add = await t.admin(
      'POST',
      `/api/v1/vnets/${id}/ar`,
      'AR = [ TYPE = IP4, IP = 10.0.0.1, SIZE = 10 ]',
    );
    assert.equal(add.status, 200);
    let ars = (await show(t, id)).AR_POOL.AR;
    assert.deepEqual(
      ars.map((a: { AR_ID: number; IP: string }) => [a.AR_ID, a.IP]),
      [
        [0, '192.168.70.150'],
        [1, '10.0.0.1'],
      ],
    );
    const overlap = await t.admin(
      'POST',
      `/api/v1/vnets/${id}/ar`,
      'AR = [ TYPE = IP4, IP = 10.0.0.5, SIZE = 2 ]',
    );
    assert.equal(overlap.status, 400);
    assert.equal(overlap.body.field, 'AR/IP');
    const none = await t.admin('POST', `/api/v1/vnets/${id}/ar`, 'SIZE = 2');
    assert.equal(none.status, 400);
    assert.equal(none.body.field, 'AR');

    const upd = await t.admin('PUT', `/api/v1/vnets/${id}/ar/1`, 'AR = [ SIZE = 20, GATEWAY = 10.0.0.254 ]');
    assert.equal(upd.status, 200, JSON.stringify(upd.body));
    ars = (await show(t, id)).AR_POOL.AR;
    assert.equal(ars[1].SIZE, 20);
    assert.equal(ars[1].IP_END, '10.0.0.20');
    assert.equal(ars[1].GATEWAY, '10.0.0.254');
    const wrongId = await t.admin('PUT', `/api/v1/vnets/${id}/ar/1`, 'AR = [ AR_ID = 0, SIZE = 5 ]');
    assert.equal(wrongId.status, 400);
    assert.equal(wrongId.body.field, 'AR/AR_ID');
    assert.equal((await t.admin('PUT', `/api/v1/vnets/${id}/ar/9`, 'AR = [ SIZE = 5 ]')).status, 404);

    await t.nimbus.store.leases.insert({
      vnetId: id,
      arId: 1,
      index: 14,
      owner: { kind: 'vm', id: 42, nicId: 0 },
    });
    const shrink = await t.admin('PUT', `/api/v1/vnets/${id}/ar/1`, 'AR = [ SIZE = 10 ]');
    assert.equal(shrink.status, 400);
    assert.equal(
      shrink.body.message,
      'New SIZE cannot be applied. There are used leases that would fall outside the range.',
    );
    const lease = (await show(t, id)).AR_POOL.AR[1].LEASES.LEASE[0];
    assert.deepEqual(lease, { IP: '10.0.0.15', MAC: '02:00:0a:00:00:0f', VM: 42 });

    const refused = await t.admin('DELETE', `/api/v1/vnets/${id}/ar/1`);
    assert.equal(refused.status, 400);
    assert.equal(refused.body.message, 'Address Range has leases in use');
    await t.nimbus.store.leases.delete(id, 1, 14);
    assert.equal((await t.admin('DELETE', `/api/v1/vnets/${id}/ar/1`)).status, 200);
    assert.deepEqual(
      (await show(t, id)).AR_POOL.AR.map((a: { AR_ID: number }) => a.AR_ID),
      [0],
    );
    assert.equal((await t.admin('DELETE', `/api/v1/vnets/${id}/ar/1`)).status, 404);
    // The next range gets a fresh AR_ID after the highest one left.
    await t.admin('POST', `/api/v1/vnets/${id}/ar`, 'AR = [ TYPE = ETHER, SIZE = 3 ]');
    assert.deepEqual(
      (await show(t, id)).AR_POOL.AR.map((a: { AR_ID: number }) => a.AR_ID),
      [0, 1],
    );
  });

  it('refuses delete while VMs use leases; held leases go with the network', async () => {
    const id = await createVnet(t, PRIVATE.replace('private', 'del-net'));
    await t.admin('POST', `/api/v1/vnets/${id}/hold`, 'LEASES = [ IP = 192.168.70.151 ]');
    for (const index of [2, 3])
      await t.nimbus.store.leases.insert({
        vnetId: id,
        arId: 0,
        index,
        owner: { kind: 'vm', id: 7, nicId: index },
      });
    const refused = await t.admin('DELETE', `/api/v1/vnets/${id}`);
    assert.equal(refused.status, 409);
    assert.equal(refused.body.code, 'IN_USE');
    assert.match(refused.body.message, /has 2 leases used by VMs \(7\)/);
    for (const index of [2, 3]) await t.nimbus.store.leases.delete(id, 0, index);
    assert.equal((await t.admin('DELETE', `/api/v1/vnets/${id}`)).status, 200);
    assert.equal((await t.admin('GET', `/api/v1/vnets/${id}`)).status, 404);
    assert.deepEqual(await t.nimbus.store.leases.listByVnet(id), []);
  });

  it('reserves addresses into a child network and frees them back', async () => {
    const parent = await createVnet(t, PRIVATE.replace('private', 'parent'));
    await t.admin('POST', `/api/v1/vnets/${parent}/hold`, 'LEASES = [ IP = 192.168.70.151 ]');
    const reserve = await t.admin('POST', `/api/v1/vnets/${parent}/reserve`, 'SIZE = 4\nNAME = "mine"');
    assert.equal(reserve.status, 200, JSON.stringify(reserve.body));
    const child = reserve.body.ID as number;
    const c = await show(t, child);
    assert.equal(c.NAME, 'mine');
    assert.equal(c.PARENT_NETWORK_ID, parent);
    assert.equal(c.BRIDGE, `onebr${parent}`);
    assert.equal(c.AR_POOL.AR[0].PARENT_NETWORK_AR_ID, 0);
    // First fit: .150 is free but .151 is held, so the run starts at .152.
    assert.equal(c.AR_POOL.AR[0].IP, '192.168.70.152');
    assert.equal(c.AR_POOL.AR[0].IP_END, '192.168.70.155');

    let p = await show(t, parent);
    assert.equal(p.USED_LEASES, 5);
    const owners = p.AR_POOL.AR[0].LEASES.LEASE.map((l: { IP: string; VM?: number; VNET?: number }) => [
      l.IP,
      l.VM ?? `VNET ${l.VNET}`,
    ]);
    assert.deepEqual(owners.slice(0, 2), [
      ['192.168.70.151', -1],
      ['192.168.70.152', `VNET ${child}`],
    ]);

    const more = await t.admin('POST', `/api/v1/vnets/${parent}/reserve`, {
      template: { SIZE: '2', NETWORK_ID: String(child), AR_ID: '0', IP: '192.168.70.200' },
    });
    assert.equal(more.status, 200, JSON.stringify(more.body));
    assert.equal(more.body.ID, child);
    assert.equal((await show(t, child)).AR_POOL.AR[1].IP, '192.168.70.200');

    for (const [body, message] of [
      ['NAME = x', 'Reservation SIZE must be a greater than 0'],
      ['SIZE = 2', 'NAME for reservation has to be set'],
      ['SIZE = 2\nNAME = y\nIP = 192.168.70.160', 'AR_ID must be specified for IP/MAC based reservations'],
      ['SIZE = 1000\nNAME = y', 'Not enough free addresses in an address range'],
    ] as const) {
      const res = await t.admin('POST', `/api/v1/vnets/${parent}/reserve`, body);
      assert.equal(res.status, 400);
      assert.equal(res.body.message, message);
    }
    const fromChild = await t.admin('POST', `/api/v1/vnets/${child}/reserve`, 'SIZE = 1\nNAME = z');
    assert.equal(fromChild.body.message, 'Cannot reserve addresses from a reserved VNET');

    const refused = await t.admin('DELETE', `/api/v1/vnets/${parent}`);
    assert.equal(refused.status, 409);
    assert.match(refused.body.message, /1 reservation \(vnet \d+\)/);

    assert.equal((await t.admin('POST', `/api/v1/vnets/${child}/free-ar/1`)).status, 200);
    p = await show(t, parent);
    assert.equal(p.USED_LEASES, 5);
    assert.equal((await t.admin('DELETE', `/api/v1/vnets/${child}`)).status, 200);
    p = await show(t, parent);
    assert.equal(p.USED_LEASES, 1);
    assert.equal((await t.admin('DELETE', `/api/v1/vnets/${parent}`)).status, 200);
  });

  it('handles a /8 range without per-address work; leases page by range', async () => {
    const id = await createVnet(
      t,
      'NAME = big\nVN_MAD = bridge\nAR = [ TYPE = IP4, IP = 10.0.0.0, SIZE = 16777216 ]\nAR = [ TYPE = IP4, IP = 11.0.0.1, SIZE = 4 ]',
    );
    for (const ip of ['10.255.255.254', '10.0.0.9', '10.128.0.0', '11.0.0.2'])
      assert.equal(
        (await t.admin('POST', `/api/v1/vnets/${id}/hold`, `LEASES = [ IP = ${ip} ]`)).status,
        200,
      );
    const ar = (await show(t, id)).AR_POOL.AR[0];
    assert.equal(ar.IP_END, '10.255.255.255');
    assert.equal(ar.MAC_END, '02:00:0a:ff:ff:ff');
    assert.equal(ar.USED_LEASES, 3);

    const first = await t.admin('GET', `/api/v1/vnets/${id}/leases?limit=2`);
    assert.equal(first.status, 200);
    assert.deepEqual(
      first.body.LEASES.LEASE.map((l: { AR_ID: number; IP: string }) => [l.AR_ID, l.IP]),
      [
        [0, '10.0.0.9'],
        [0, '10.128.0.0'],
      ],
    );
    const second = await t.admin('GET', `/api/v1/vnets/${id}/leases?limit=2&after=${first.body.next_after}`);
    assert.deepEqual(
      second.body.LEASES.LEASE.map((l: { IP: string }) => l.IP),
      ['10.255.255.254', '11.0.0.2'],
    );
    assert.equal(second.body.next_after, null);
    const one = await t.admin('GET', `/api/v1/vnets/${id}/leases?ar=1`);
    assert.deepEqual(one.body.LEASES.LEASE, [{ AR_ID: 1, IP: '11.0.0.2', MAC: '02:00:0b:00:00:02', VM: -1 }]);
    assert.equal(one.body.next_after, undefined);
    assert.equal((await t.admin('GET', `/api/v1/vnets/${id}/leases?ar=5`)).status, 404);

    const big = await t.admin(
      'POST',
      `/api/v1/vnets/${id}/reserve`,
      'SIZE = 3\nNAME = big-r\nAR_ID = 0\nIP = 10.200.0.0',
    );
    assert.equal(big.status, 200);
    assert.equal((await show(t, big.body.ID)).AR_POOL.AR[0].IP_END, '10.200.0.2');
  });

  it('updates the template (merge / replace), renames, lists with filters', async () => {
    const id = await createVnet(t, PRIVATE.replace('private', 'tmpl-net'));
    const merge = await t.admin('PUT', `/api/v1/vnets/${id}/template`, {
      template: 'GATEWAY = 192.168.70.1',
      merge: true,
    });
    assert.equal(merge.status, 200);
    let v = await show(t, id);
    assert.equal(v.TEMPLATE.GATEWAY, '192.168.70.1');
    assert.equal(v.TEMPLATE.DNS, '192.168.70.1');
    await t.admin('PUT', `/api/v1/vnets/${id}/template`, {
      template: 'DESCRIPTION = "lab"\nBRIDGE = br-lab',
    });
    v = await show(t, id);
    assert.equal(v.TEMPLATE.DNS, undefined);
    assert.equal(v.TEMPLATE.DESCRIPTION, 'lab');
    assert.equal(v.TEMPLATE.VN_MAD, 'bridge');
    assert.equal(v.BRIDGE, 'br-lab');
    assert.equal(v.AR_POOL.AR.length, 1);
    const badVlan = await t.admin('PUT', `/api/v1/vnets/${id}/template`, {
      template: 'VLAN_ID = 5000',
      merge: true,
    });
    assert.equal(badVlan.status, 400);
    assert.equal(badVlan.body.field, 'VLAN_ID');

    assert.equal((await t.admin('POST', `/api/v1/vnets/${id}/rename`, { name: 'renamed' })).status, 200);
    assert.equal((await show(t, id)).NAME, 'renamed');
    assert.equal((await t.admin('POST', `/api/v1/vnets/${id}/rename`, { name: 'v6' })).status, 409);
    assert.equal((await t.admin('POST', `/api/v1/vnets/${id}/rename`, { name: 'a/b' })).status, 400);

    const list = await t.admin('GET', '/api/v1/vnets?name=renam');
    assert.deepEqual(
      list.body.VNET_POOL.VNET.map((x: { ID: number }) => x.ID),
      [id],
    );
    assert.equal(list.body.VNET_POOL.VNET[0].AR_POOL.AR[0].LEASES, undefined);
    const page = await t.admin('GET', '/api/v1/vnets?limit=1');
    assert.equal(page.body.VNET_POOL.VNET.length, 1);
    assert.equal(page.body.next_after, page.body.VNET_POOL.VNET[0].ID);
    assert.equal((await t.admin('GET', '/api/v1/vnets?filter=5')).body.VNET_POOL.VNET.length, 0);
  });
});

describe('virtual network permissions', () => {
  let t: TestNimbus;
  before(async () => {
    t = await startTestNimbus();
  });
  after(async () => t.close());

  const rule = (text: string) => {
    const parsed = parseAclRule(text);
    assert.ok(parsed.ok);
    return parsed.value;
  };
  async function grant(text: string): Promise<void> {
    await t.nimbus.store.acl.insert(rule(text));
    t.nimbus.ctx.acl.invalidate();
  }
  async function revoke(text: string): Promise<void> {
    const found = (await t.nimbus.store.acl.list()).find((r) => aclRulesEqual(r, rule(text)));
    assert.ok(found, text);
    await t.nimbus.store.acl.delete(found.id);
    t.nimbus.ctx.acl.invalidate();
  }

  it('keeps a network private to its owner until chmod opens it', async () => {
    const alice = await t.createUser('alice');
    const bob = await t.createUser('bob');
    // Without the default VDC rule `@1 NET/* USE`, only permissions and explicit rules count.
    await revoke('@1 NET/* USE #0');
    assert.equal((await alice.request('POST', '/api/v1/vnets', PRIVATE)).status, 403);
    await grant(`#${alice.id} NET/* CREATE *`);
    const created = await alice.request('POST', '/api/v1/vnets', PRIVATE);
    assert.equal(created.status, 201);
    const id = created.body.ID as number;
    const mine = await alice.request('GET', `/api/v1/vnets/${id}`);
    assert.equal(mine.body.VNET.UNAME, 'alice');
    assert.equal(mine.body.VNET.PERMISSIONS.OTHER_U, 0);

    const ids = async (r: typeof bob.request) =>
      (await r('GET', '/api/v1/vnets')).body.VNET_POOL.VNET.map((v: { ID: number }) => v.ID);
    assert.deepEqual(await ids(bob.request), []);
    assert.equal((await bob.request('GET', `/api/v1/vnets/${id}`)).status, 403);
    assert.equal((await bob.request('GET', `/api/v1/vnets/${id}/leases`)).status, 403);
    for (const [method, path, body] of [
      ['POST', 'hold', 'LEASES = [ IP = 192.168.70.150 ]'],
      ['POST', 'rename', { name: 'stolen' }],
      ['POST', 'chmod', { octet: '666' }],
      ['PUT', 'template', { template: 'X = 1' }],
      ['POST', 'ar', 'AR = [ TYPE = ETHER, SIZE = 1 ]'],
    ] as const) {
      const res = await bob.request(method, `/api/v1/vnets/${id}/${path}`, body);
      assert.equal(res.status, 403, path);
      assert.equal(res.body.code, 'AUTHORIZATION');
    }
    assert.equal((await bob.request('DELETE', `/api/v1/vnets/${id}`)).status, 403);
    assert.equal((await t.admin('GET', '/api/v1/vnets/9999')).status, 404);

    assert.equal((await alice.request('POST', `/api/v1/vnets/${id}/chmod`, { octet: '604' })).status, 200);
    assert.deepEqual(await ids(bob.request), [id]);
    assert.equal((await bob.request('GET', `/api/v1/vnets/${id}`)).status, 200);
    // USE lets bob see it; holding an address needs MANAGE.
    assert.equal(
      (await bob.request('POST', `/api/v1/vnets/${id}/hold`, 'LEASES = [ IP = 192.168.70.150 ]')).status,
      403,
    );
    // chown needs ADMIN, which the owner's default permissions do not give.
    assert.equal((await alice.request('POST', `/api/v1/vnets/${id}/chown`, { uid: bob.id })).status, 403);
    assert.equal((await t.admin('POST', `/api/v1/vnets/${id}/chown`, { uid: bob.id })).status, 200);
    assert.equal((await bob.request('GET', `/api/v1/vnets/${id}`)).body.VNET.UNAME, 'bob');
    assert.equal(
      (await bob.request('POST', `/api/v1/vnets/${id}/hold`, 'LEASES = [ IP = 192.168.70.150 ]')).status,
      200,
    );
    assert.equal((await t.admin('POST', `/api/v1/vnets/${id}/chown`, { uid: 999 })).status, 404);
    await grant('@1 NET/* USE #0');
  });

  it('reservations need USE on the parent and CREATE NET; * rules do not reach them', async () => {
    const carol = await t.createUser('carol');
    const dave = await t.createUser('dave');
    const parent = await createVnet(t, PRIVATE.replace('private', 'shared'));
    // `@1 NET/* USE` lets every user of group users see oneadmin's network ...
    assert.equal((await carol.request('GET', `/api/v1/vnets/${parent}`)).status, 200);
    const denied = await carol.request('POST', `/api/v1/vnets/${parent}/reserve`, 'SIZE = 2\nNAME = c');
    assert.equal(denied.status, 403);
    assert.match(denied.body.message, /CREATE NET/);
    await grant(`#${carol.id} NET/* CREATE *`);
    const reserved = await carol.request('POST', `/api/v1/vnets/${parent}/reserve`, 'SIZE = 2\nNAME = c');
    assert.equal(reserved.status, 200, JSON.stringify(reserved.body));
    const child = reserved.body.ID as number;
    const c = (await carol.request('GET', `/api/v1/vnets/${child}`)).body.VNET;
    assert.equal(c.UNAME, 'carol');
    assert.equal(c.PARENT_NETWORK_ID, parent);
    // ... but not carol's reservation: rules for * do not apply to reservations.
    assert.equal((await dave.request('GET', `/api/v1/vnets/${child}`)).status, 403);
    const daveSees = (await dave.request('GET', '/api/v1/vnets')).body.VNET_POOL.VNET.map(
      (v: { ID: number }) => v.ID,
    );
    assert.ok(daveSees.includes(parent));
    assert.ok(!daveSees.includes(child));
    assert.equal((await dave.request('POST', `/api/v1/vnets/${child}/free-ar/0`)).status, 403);
    // Adding to a reservation one does not manage is refused.
    await grant(`#${dave.id} NET/* CREATE *`);
    const into = await dave.request(
      'POST',
      `/api/v1/vnets/${parent}/reserve`,
      `SIZE = 1\nNETWORK_ID = ${child}`,
    );
    assert.equal(into.status, 403);

    assert.equal((await carol.request('POST', `/api/v1/vnets/${child}/free-ar/0`)).status, 200);
    assert.equal((await show(t, parent)).USED_LEASES, 0);
    assert.equal((await carol.request('DELETE', `/api/v1/vnets/${child}`)).status, 200);
  });
});

describe('nimbus vnet (CLI)', () => {
  let t: TestNimbus;
  const cli = (...args: string[]) => cliRunner(t).settle(...args);

  before(async () => {
    t = await startTestNimbus({ listen: true });
  });
  after(async () => t.close());

  it('create, list, show, hold, release, leases, --json', async () => {
    const file = join(t.home, 'private.tmpl');
    await writeFile(file, PRIVATE);
    const created = await cli('vnet', 'create', file);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stdout, 'ID: 0\n');

    assert.equal((await cli('vnet', 'hold', 'private', '192.168.70.151')).code, 0);
    const again = await cli('vnet', 'hold', '0', '192.168.70.151', '--ar', '0');
    assert.equal(again.code, 2);
    assert.equal(again.stderr, `nimbus: ADDRESS_UNAVAILABLE: ${NOT_AVAILABLE}\n`);

    const list = await cli('vnet', 'list');
    assert.equal(list.code, 0);
    const [header, row] = list.stdout.trimEnd().split('\n');
    assert.match(header!, /^ID USER\s+GROUP\s+NAME\s+CLUSTERS BRIDGE LEASES$/);
    assert.match(row!, /^ 0 oneadmin oneadmin private 0\s+onebr0\s+1$/);

    const shown = await cli('vnet', 'show', 'private');
    assert.equal(shown.code, 0);
    assert.match(shown.stdout, /^VIRTUAL NETWORK 0 INFORMATION\n/);
    assert.match(shown.stdout, /\nADDRESS RANGE POOL\nAR 0\nSIZE\s+: 100\nLEASES\s+: 1\n/);
    assert.match(
      shown.stdout,
      /\nMAC\s+02:00:c0:a8:46:96 02:00:c0:a8:46:f9\nIP\s+192\.168\.70\.150\s+192\.168\.70\.249\n/,
    );
    assert.match(
      shown.stdout,
      /\nLEASES\nAR OWNER MAC\s+IP\s+IP6\n 0 V:-1\s+02:00:c0:a8:46:97 192\.168\.70\.151 -\n$/,
    );

    const json = JSON.parse((await cli('vnet', 'show', '0', '--json')).stdout);
    assert.equal(json.VNET.AR_POOL.AR[0].LEASES.LEASE[0].VM, -1);
    const leases = await cli('vnet', 'leases', '0', '--ar', '0');
    assert.match(leases.stdout, /^AR OWNER MAC\s+IP\s+IP6\n 0 V:-1/);

    assert.equal((await cli('vnet', 'release', '0', '02:00:c0:a8:46:97')).code, 0);
    const listJson = JSON.parse((await cli('vnet', 'list', '--json')).stdout);
    assert.equal(listJson.VNET_POOL.VNET[0].USED_LEASES, 0);
  });

  it('address ranges, reservations, update, rename, chmod, delete', async () => {
    const arFile = join(t.home, 'ar.tmpl');
    await writeFile(arFile, 'AR = [ TYPE = IP4, IP = 10.0.0.1, SIZE = 8 ]');
    assert.equal((await cli('vnet', 'addar', 'private', arFile)).code, 0);
    await writeFile(arFile, 'AR = [ AR_ID = 1, SIZE = 16 ]');
    const upd = await cli('vnet', 'updatear', 'private', arFile);
    assert.equal(upd.code, 0, upd.stderr);
    await writeFile(arFile, 'AR = [ SIZE = 12 ]');
    assert.equal((await cli('vnet', 'updatear', 'private', '1', arFile)).code, 0);
    assert.equal(JSON.parse((await cli('vnet', 'show', '0', '--json')).stdout).VNET.AR_POOL.AR[1].SIZE, 12);

    const reserve = await cli('vnet', 'reserve', 'private', '--size', '2', '--name', 'mine');
    assert.equal(reserve.code, 0, reserve.stderr);
    assert.equal(reserve.stdout, 'Reservation VNET ID: 1\n');
    const shown = await cli('vnet', 'show', 'private');
    assert.match(shown.stdout, / 0 N:1\s+02:00:c0:a8:46:96 192\.168\.70\.150/);
    const child = await cli('vnet', 'show', 'mine');
    assert.match(child.stdout, /PARENT NETWORK\s+: 0\n/);

    const rmar = await cli('vnet', 'rmar', 'private', '0');
    assert.equal(rmar.code, 2);
    assert.equal(rmar.stderr, 'nimbus: AR_IN_USE: Address Range has leases in use\n');
    assert.equal((await cli('vnet', 'rmar', 'private', '1')).code, 0);

    const tmpl = join(t.home, 'update.tmpl');
    await writeFile(tmpl, 'GATEWAY = "192.168.70.1"');
    assert.equal((await cli('vnet', 'update', 'private', tmpl, '--append')).code, 0);
    assert.equal((await cli('vnet', 'rename', 'private', 'lab')).code, 0);
    assert.equal((await cli('vnet', 'chmod', 'lab', '640')).code, 0);
    const v = JSON.parse((await cli('vnet', 'show', 'lab', '--json')).stdout).VNET;
    assert.equal(v.TEMPLATE.GATEWAY, '192.168.70.1');
    assert.equal(v.PERMISSIONS.GROUP_U, 1);

    const busy = await cli('vnet', 'delete', 'lab');
    assert.equal(busy.code, 2);
    assert.match(busy.stderr, /^nimbus: IN_USE: .*1 reservation \(vnet 1\).*\n$/);
    assert.equal((await cli('vnet', 'free', 'mine', '0')).code, 0);
    assert.equal((await cli('vnet', 'delete', 'mine')).code, 0);
    assert.equal((await cli('vnet', 'delete', 'lab')).code, 0);
    const missing = await cli('vnet', 'show', 'lab');
    assert.equal(missing.code, 2);
    assert.equal(missing.stderr, 'nimbus: NOT_FOUND: no vnet named "lab"\n');
  });
});
