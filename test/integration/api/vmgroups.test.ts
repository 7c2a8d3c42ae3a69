import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestNimbus, type Requester, type TestNimbus } from './harness.js';

const GROUP = `NAME = "web"
ROLE = [ NAME = "front", POLICY = "ANTI_AFFINED", HOST_ANTI_AFFINED = "3" ]
ROLE = [ NAME = "app", HOST_AFFINED = "2, 1,2" ]
ROLE = [ NAME = "db" ]
AFFINED = "app, db"
DESCRIPTION = "three tiers"`;

const VM = (vmgroup: string) => `NAME = member\nCPU = 0.1\nMEMORY = 64\nVMGROUP = [ ${vmgroup} ]`;

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('VM groups: create, show, list, update, roles, ownership, lock, delete, VM membership', () => {
  let t: TestNimbus;
  let alice: { id: number; request: Requester };
  let bob: { id: number; request: Requester };
  let groupId: number;

  const roles = async (id = groupId) =>
    (await t.admin('GET', `/api/v1/vmgroups/${id}`)).body.VM_GROUP.ROLES.ROLE as Record<string, unknown>[];

  before(async () => {
    t = await startTestNimbus({ placement: false });
    alice = await t.createUser('alice');
    bob = await t.createUser('bob');
  });
  after(async () => t.close());

  it('creates a group from text and shows it in vm_group.xsd order', async () => {
    const res = await alice.request('POST', '/api/v1/vmgroups', GROUP);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    groupId = res.body.ID;
    const shown = await alice.request('GET', `/api/v1/vmgroups/${groupId}`);
    assert.equal(shown.status, 200);
    const g = shown.body.VM_GROUP;
    assert.deepEqual(Object.keys(g), [
      'ID',
      'UID',
      'GID',
      'UNAME',
      'GNAME',
      'NAME',
      'PERMISSIONS',
      'ROLES',
      'TEMPLATE',
    ]);
    assert.equal(g.NAME, 'web');
    assert.equal(g.UNAME, 'alice');
    assert.deepEqual(g.ROLES.ROLE, [
      { HOST_ANTI_AFFINED: '3', ID: 0, NAME: 'front', POLICY: 'ANTI_AFFINED' },
      { HOST_AFFINED: '1,2', ID: 1, NAME: 'app' },
      { ID: 2, NAME: 'db' },
    ]);
    assert.deepEqual(g.TEMPLATE, { AFFINED: 'app, db', DESCRIPTION: 'three tiers' });
  });

  it('creates from the JSON form too, and lists VM_GROUP_POOL filtered to what the caller may see', async () => {
    const res = await bob.request('POST', '/api/v1/vmgroups', {
      template: { NAME: 'bobs', ROLE: [{ NAME: 'only' }] },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const mine = await alice.request('GET', '/api/v1/vmgroups');
    assert.deepEqual(
      mine.body.VM_GROUP_POOL.VM_GROUP.map((g: { NAME: string }) => g.NAME),
      ['web'],
    );
    const all = await t.admin('GET', '/api/v1/vmgroups?filter=-2');
    assert.deepEqual(
      all.body.VM_GROUP_POOL.VM_GROUP.map((g: { NAME: string }) => g.NAME),
      ['web', 'bobs'],
    );
  });

  it('refuses bad templates with 400 and the field', async () => {
    const cases: [string, string, RegExp][] = [
      ['ROLE = [ NAME = "a" ]', 'NAME', /NAME/],
      ['NAME = x\nROLE = [ POLICY = "AFFINED" ]', 'ROLE[0]/NAME', /Missing NAME in VM group role/],
      ['NAME = x\nROLE = [ NAME = a ]\nROLE = [ NAME = a ]', 'ROLE[1]/NAME', /already exists/],
      ['NAME = x\nROLE = [ NAME = a, POLICY = "SPREAD" ]', 'ROLE[0]/POLICY', /AFFINED, ANTI_AFFINED or NONE/],
      ['NAME = x\nROLE = [ NAME = a, HOST_AFFINED = "1,b" ]', 'ROLE[0]/HOST_AFFINED', /host ids/],
      [
        'NAME = x\nROLE = [ NAME = a, HOST_AFFINED = "1,2", HOST_ANTI_AFFINED = "2" ]',
        'ROLE[0]/HOST_ANTI_AFFINED',
        /host 2 cannot be both/,
      ],
      ['NAME = x\nROLE = [ NAME = a ]\nAFFINED = "a, b"', 'AFFINED', /are not defined/],
      [
        'NAME = x\nROLE = [ NAME = a ]\nROLE = [ NAME = b ]\nAFFINED = "a, b"\nANTI_AFFINED = "b, a"',
        'ANTI_AFFINED',
        /Roles defined in AFFINED and ANTI_AFFINED rules: a b/,
      ],
    ];
    for (const [text, field, message] of cases) {
      const res = await alice.request('POST', '/api/v1/vmgroups', text);
      assert.equal(res.status, 400, `${text}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.field, field, text);
      assert.match(res.body.message, message);
    }
    const taken = await alice.request('POST', '/api/v1/vmgroups', 'NAME = web');
    assert.equal(taken.status, 409);
  });

  it('another user gets 403 on show, update, delete and role calls; its own group is fine', async () => {
    const attempts: [string, string, unknown][] = [
      ['GET', `/api/v1/vmgroups/${groupId}`, undefined],
      ['PUT', `/api/v1/vmgroups/${groupId}/template`, { template: 'DESCRIPTION = x' }],
      ['POST', `/api/v1/vmgroups/${groupId}/roles`, 'ROLE = [ NAME = "x" ]'],
      ['PATCH', `/api/v1/vmgroups/${groupId}/roles/0`, 'ROLE = [ POLICY = "AFFINED" ]'],
      ['DELETE', `/api/v1/vmgroups/${groupId}/roles/2`, undefined],
      ['POST', `/api/v1/vmgroups/${groupId}/lock`, { level: 1 }],
      ['DELETE', `/api/v1/vmgroups/${groupId}`, undefined],
    ];
    for (const [method, url, body] of attempts) {
      const res = await bob.request(method, url, body);
      assert.equal(res.status, 403, `${method} ${url}: ${JSON.stringify(res.body)}`);
    }
  });

  it('updates the template (rules re-checked; ROLE ignored), renames, chmods', async () => {
    const bad = await alice.request('PUT', `/api/v1/vmgroups/${groupId}/template`, {
      template: 'ANTI_AFFINED = "front, nope"',
      merge: true,
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.field, 'ANTI_AFFINED');
    const merged = await alice.request('PUT', `/api/v1/vmgroups/${groupId}/template`, {
      template: 'ANTI_AFFINED = "front"\nROLE = [ NAME = "sneaky" ]',
      merge: true,
    });
    assert.equal(merged.status, 200, JSON.stringify(merged.body));
    const g = (await alice.request('GET', `/api/v1/vmgroups/${groupId}`)).body.VM_GROUP;
    assert.equal(g.TEMPLATE.ANTI_AFFINED, 'front');
    assert.equal(g.ROLES.ROLE.length, 3);
    assert.equal(
      (await alice.request('POST', `/api/v1/vmgroups/${groupId}/rename`, { name: 'web2' })).status,
      200,
    );
    assert.equal(
      (await alice.request('POST', `/api/v1/vmgroups/${groupId}/chmod`, { octet: '640' })).status,
      200,
    );
    const after = (await alice.request('GET', `/api/v1/vmgroups/${groupId}`)).body.VM_GROUP;
    assert.equal(after.NAME, 'web2');
    assert.equal(after.PERMISSIONS.GROUP_U, 1);
  });

  it('adds, updates and deletes roles', async () => {
    const added = await alice.request('POST', `/api/v1/vmgroups/${groupId}/roles`, {
      template: 'ROLE = [ NAME = "cache", POLICY = "AFFINED" ]',
    });
    assert.equal(added.status, 200, JSON.stringify(added.body));
    assert.deepEqual((await roles()).at(-1), { ID: 3, NAME: 'cache', POLICY: 'AFFINED' });
    const noRole = await alice.request('POST', `/api/v1/vmgroups/${groupId}/roles`, 'DESCRIPTION = x');
    assert.equal(noRole.status, 400);
    assert.equal(noRole.body.field, 'ROLE');
    const updated = await alice.request(
      'PATCH',
      `/api/v1/vmgroups/${groupId}/roles/3`,
      'ROLE = [ NAME = "memcache", HOST_AFFINED = "5" ]',
    );
    assert.equal(updated.status, 200, JSON.stringify(updated.body));
    assert.deepEqual((await roles()).at(-1), {
      HOST_AFFINED: '5',
      ID: 3,
      NAME: 'memcache',
      POLICY: 'AFFINED',
    });
    const clash = await alice.request(
      'PATCH',
      `/api/v1/vmgroups/${groupId}/roles/3`,
      'ROLE = [ NAME = "db" ]',
    );
    assert.equal(clash.status, 400);
    const named = await alice.request('DELETE', `/api/v1/vmgroups/${groupId}/roles/2`);
    assert.equal(named.status, 400, 'db is in the AFFINED rule');
    assert.match(named.body.message, /are not defined/);
    const missing = await alice.request('DELETE', `/api/v1/vmgroups/${groupId}/roles/9`);
    assert.equal(missing.status, 404);
    assert.equal((await alice.request('DELETE', `/api/v1/vmgroups/${groupId}/roles/3`)).status, 200);
    assert.deepEqual(
      (await roles()).map((r) => r.ID),
      [0, 1, 2],
    );
  });

  it('locks and unlocks: a lock blocks changes, only its owner or an admin unlocks', async () => {
    assert.equal((await alice.request('POST', `/api/v1/vmgroups/${groupId}/lock`, { level: 2 })).status, 200);
    const shown = (await alice.request('GET', `/api/v1/vmgroups/${groupId}`)).body.VM_GROUP;
    assert.equal(shown.LOCK.LOCKED, 2);
    assert.deepEqual(Object.keys(shown).slice(6, 9), ['PERMISSIONS', 'LOCK', 'ROLES']);
    const blocked = await alice.request('POST', `/api/v1/vmgroups/${groupId}/rename`, { name: 'x' });
    assert.equal(blocked.status, 403);
    const test = await alice.request('POST', `/api/v1/vmgroups/${groupId}/lock`, { level: 1, test: true });
    assert.equal(test.status, 409);
    assert.equal((await alice.request('POST', `/api/v1/vmgroups/${groupId}/unlock`, {})).status, 200);
    assert.equal((await alice.request('GET', `/api/v1/vmgroups/${groupId}`)).body.VM_GROUP.LOCK, undefined);
  });

  it('a VM with VMGROUP joins its role (VMGROUP_ID filled in); delete is refused; leaving frees it', async () => {
    const wrongRole = await alice.request('POST', '/api/v1/vms', VM(`VMGROUP_NAME = "web2", ROLE = "nope"`));
    assert.equal(wrongRole.status, 404, JSON.stringify(wrongRole.body));
    assert.equal(wrongRole.body.field, 'VMGROUP/ROLE');
    const noRole = await alice.request('POST', '/api/v1/vms', VM(`VMGROUP_NAME = "web2"`));
    assert.equal(noRole.status, 400);
    assert.equal(noRole.body.field, 'VMGROUP/ROLE');
    const noGroup = await alice.request('POST', '/api/v1/vms', VM(`VMGROUP_ID = 999, ROLE = "db"`));
    assert.equal(noGroup.status, 404);
    assert.equal(noGroup.body.field, 'VMGROUP/VMGROUP_ID');
    assert.equal(
      (await alice.request('POST', `/api/v1/vmgroups/${groupId}/chmod`, { octet: '600' })).status,
      200,
    );
    const notHis = await bob.request('POST', '/api/v1/vms', VM(`VMGROUP_ID = ${groupId}, ROLE = "db"`));
    assert.equal(notHis.status, 403, JSON.stringify(notHis.body));
    assert.deepEqual(
      (await roles()).map((r) => r.VMS),
      [undefined, undefined, undefined],
      'refusals leave no VM',
    );

    const made = await alice.request('POST', '/api/v1/vms', VM(`VMGROUP_NAME = "web2", ROLE = "db"`));
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const vmId = made.body.ID as number;
    const second = await t.admin(
      'POST',
      '/api/v1/vms',
      VM(`VMGROUP_NAME = "web2", VMGROUP_UNAME = "alice", ROLE = "db"`),
    );
    assert.equal(second.status, 201, JSON.stringify(second.body));
    assert.equal((await roles())[2]!.VMS, `${vmId},${second.body.ID}`);
    const vm = (await alice.request('GET', `/api/v1/vms/${vmId}`)).body.VM;
    assert.deepEqual(vm.TEMPLATE.VMGROUP, [
      { ROLE: 'db', VMGROUP_ID: String(groupId), VMGROUP_NAME: 'web2' },
    ]);

    const refused = await alice.request('DELETE', `/api/v1/vmgroups/${groupId}`);
    assert.equal(refused.status, 409);
    assert.match(refused.body.message, /its roles have 2 VMs \(db: \d+, \d+\); terminate them first/);
    const update = await alice.request('PUT', `/api/v1/vmgroups/${groupId}/template`, {
      template: 'X = 1',
      merge: true,
    });
    assert.equal(update.status, 409);
    const roleUpdate = await alice.request(
      'PATCH',
      `/api/v1/vmgroups/${groupId}/roles/2`,
      'ROLE = [ POLICY = AFFINED ]',
    );
    assert.equal(roleUpdate.status, 409);

    // A VM that never reached a host: deleting it ends it (DONE) and it leaves the role.
    assert.equal((await t.admin('DELETE', `/api/v1/vms/${second.body.ID}`)).status, 200);
    assert.equal((await roles())[2]!.VMS, String(vmId));

    // A VM that ran: terminate → EPILOG → DONE leaves the role too.
    await until('host 0 MONITORED', async () =>
      (await t.admin('GET', '/api/v1/hosts/0')).body.HOST.STATE === 2 ? true : undefined,
    );
    const deployed = await t.admin('POST', `/api/v1/vms/${vmId}/deploy`, { host: 0 });
    assert.equal(deployed.status, 200, JSON.stringify(deployed.body));
    await until('VM RUNNING', async () => {
      const v = (await t.admin('GET', `/api/v1/vms/${vmId}`)).body.VM;
      return v.STATE === 3 && v.LCM_STATE === 3 ? true : undefined;
    });
    assert.equal((await roles())[2]!.VMS, String(vmId), 'still in the role while it runs');
    const terminated = await alice.request('POST', `/api/v1/vms/${vmId}/action`, { action: 'terminate' });
    assert.equal(terminated.status, 200, JSON.stringify(terminated.body));
    await until('VM DONE', async () =>
      (await t.admin('GET', `/api/v1/vms/${vmId}`)).body.VM.STATE === 6 ? true : undefined,
    );
    assert.equal((await roles())[2]!.VMS, undefined);

    assert.equal((await alice.request('DELETE', `/api/v1/vmgroups/${groupId}`)).status, 200);
    assert.equal((await alice.request('GET', `/api/v1/vmgroups/${groupId}`)).status, 404);
  });
});
