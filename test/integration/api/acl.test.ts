import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cliRunner, startTestNimbus, type Requester, type TestNimbus } from './harness.js';

interface AclBody {
  ID: number;
  USER: string;
  RESOURCE: string;
  RIGHTS: string;
  ZONE: string;
  STRING: string;
}

describe('ACL rules', () => {
  let t: TestNimbus;
  let alice: { id: number; request: Requester };
  before(async () => {
    t = await startTestNimbus({ listen: true });
    alice = await t.createUser('alice');
  });
  after(async () => t.close());

  const rules = async (): Promise<AclBody[]> => (await t.admin('GET', '/api/v1/acl')).body.ACL_POOL.ACL;

  it('lists the bootstrap rules with hex words and STRING', async () => {
    const list = await rules();
    assert.deepEqual(
      list.map((r) => r.STRING),
      [
        '@1 VM+IMAGE+TEMPLATE+DOCUMENT+SECGROUP+VMGROUP+BACKUPJOB/* CREATE *',
        '* ZONE/* USE *',
        '* MARKETPLACE+MARKETPLACEAPP/* USE *',
        '@1 HOST/* MANAGE #0',
        '@1 NET/* USE #0',
        '@1 DATASTORE/* USE #0',
      ],
    );
    assert.deepEqual(list[1], {
      ID: 1,
      USER: '400000000',
      RESOURCE: '800400000000',
      RIGHTS: '1',
      ZONE: '400000000',
      STRING: '* ZONE/* USE *',
      RESOURCE_TYPES: ['ZONE'],
      RIGHT_NAMES: ['USE'],
    });
  });

  it('adds rules in the string form and the hex form', async () => {
    const text = await t.admin('POST', '/api/v1/acl', { rule: '@106 IMAGE/#31 USE' });
    assert.equal(text.status, 201);
    const added = (await rules()).find((r) => r.ID === text.body.ID)!;
    assert.deepEqual(
      [added.USER, added.RESOURCE, added.RIGHTS, added.ZONE, added.STRING],
      ['20000006a', '810000001f', '1', '100000000', '@106 IMAGE/#31 USE #0'],
    );
    const hex = await t.admin('POST', '/api/v1/acl', {
      user: '20000006a',
      resource: '0x810000001f',
      rights: '3',
      zone: '100000000',
    });
    assert.equal(hex.status, 201);
    assert.equal((await rules()).find((r) => r.ID === hex.body.ID)!.STRING, '@106 IMAGE/#31 USE+MANAGE #0');
    const dup = await t.admin('POST', '/api/v1/acl', { rule: '@106 IMAGE/#31 USE #0' });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.message, 'Rule @106 IMAGE/#31 USE #0 already exists');
    assert.equal((await t.admin('DELETE', `/api/v1/acl/${text.body.ID}`)).status, 200);
    assert.equal((await t.admin('DELETE', `/api/v1/acl/${hex.body.ID}`)).status, 200);
    assert.equal((await t.admin('DELETE', `/api/v1/acl/${hex.body.ID}`)).status, 404);
  });

  it('refuses malformed rules with 400 naming the bad token', async () => {
    const cases: [unknown, RegExp, string | undefined][] = [
      [{ rule: '@1 VMM/* CREATE' }, /Resource 'VMM' does not exist/, 'rule'],
      [{ rule: '@1 VM/* FLY' }, /Right 'FLY' does not exist/, 'rule'],
      [{ rule: 'bob VM/* USE' }, /ID string 'bob' malformed/, 'rule'],
      [{ rule: '@1 VM/*' }, /String needs three components/, 'rule'],
      [{ rule: '@1 HOST/@2 USE' }, /GROUP\(@\) selector cannot be applied to HOST/, 'rule'],
      [{ user: 'zz', resource: '1', rights: '1' }, /Invalid ACL user "zz"/, 'user'],
      [{ user: '200000001', resource: '41000000000' }, /rights/, 'body/rights'],
      [{ rule: '* VM/* USE', user: '1' }, /either rule or the hex words/, 'body/rule'],
    ];
    for (const [body, message, field] of cases) {
      const res = await t.admin('POST', '/api/v1/acl', body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.match(res.body.message, message);
      assert.equal(res.body.field, field);
    }
  });

  it('is for oneadmin only', async () => {
    const create = await alice.request('POST', '/api/v1/acl', { rule: `#${alice.id} USER/* USE` });
    assert.equal(create.status, 403);
    assert.equal(
      create.body.message,
      `[one.acl.addrule] User [${alice.id}] : Not authorized to perform MANAGE ACL.`,
    );
    assert.equal((await alice.request('GET', '/api/v1/acl')).status, 403);
    assert.equal((await alice.request('DELETE', '/api/v1/acl/0')).status, 403);
    assert.equal((await rules()).length, 6);
  });

  it('takes effect at once: #uid USER/* USE lets that user list users', async () => {
    const names = async () =>
      (await alice.request('GET', '/api/v1/users')).body.USER_POOL.USER.map((u: { NAME: string }) => u.NAME);
    assert.deepEqual(await names(), ['alice']);
    const rule = await t.admin('POST', '/api/v1/acl', { rule: `#${alice.id} USER/* USE` });
    assert.deepEqual(await names(), ['oneadmin', 'serveradmin', 'alice']);
    await t.admin('DELETE', `/api/v1/acl/${rule.body.ID}`);
    assert.deepEqual(await names(), ['alice']);
  });

  describe('CLI', () => {
    const nimbus = (...args: string[]) => cliRunner(t).run(...args);

    it('creates, lists as oneacl does, and deletes', async () => {
      const created = await nimbus('acl', 'create', '@1 HOST/#0 USE');
      const id = Number(/^ID: (\d+)\n$/.exec(created.stdout)![1]);
      const list = (await nimbus('acl', 'list')).stdout.split('\n');
      assert.equal(list[0], '   ID     USER RES_VHNIUTGDCOZSvRMAPtB   RID OPE_UMAC  ZONE');
      assert.equal(list[1], '    0       @1     V--I-T---O-S----P-B     *     ---c     *');
      assert.ok(
        list.includes(`${String(id).padStart(5)}       @1     -H-----------------    #0     u---    #0`),
        list.join('\n'),
      );
      const json = JSON.parse((await nimbus('acl', 'list', '--json')).stdout);
      assert.ok(json.ACL_POOL.ACL.some((r: AclBody) => r.ID === id && r.STRING === '@1 HOST/#0 USE #0'));
      await nimbus('acl', 'delete', String(id));
      assert.ok(!(await rules()).some((r) => r.ID === id));
    });

    it('fails with one line and exit code 2', async () => {
      await assert.rejects(
        nimbus('acl', 'create', '@1 VMM/* USE'),
        (error: { code: number; stderr: string }) => {
          assert.equal(error.code, 2);
          assert.equal(
            error.stderr,
            `nimbus: INVALID_ARGUMENT: Invalid ACL rule "@1 VMM/* USE": Resource 'VMM' does not exist\n`,
          );
          return true;
        },
      );
    });
  });
});
