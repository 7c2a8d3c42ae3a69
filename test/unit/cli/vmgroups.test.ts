import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli, type CliIo } from '../../../src/cli/program.js';
import { vmGroupNoun } from '../../../src/cli/vmgroups.js';
import { fakeNimbusd, type FakeNimbusd, type Run } from './support.js';

const FILES: Record<string, string> = {
  'vmg.txt': 'NAME = "web"\nROLE = [ NAME = "front", POLICY = "ANTI_AFFINED" ]\n',
  'role.txt': 'ROLE = [ NAME = "db", HOST_AFFINED = "1,2" ]\n',
};

async function vmgroup(server: FakeNimbusd, args: readonly string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    readFile: async (path) => {
      const text = FILES[path];
      if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
      return new TextEncoder().encode(text);
    },
    readStdin: async () => new Uint8Array(),
  };
  const code = await runCli(
    ['--endpoint', server.url, '--auth', 'a:b', 'vmgroup', ...args],
    [vmGroupNoun],
    io,
  );
  return { code, stdout, stderr };
}

const GROUP = {
  ID: 4,
  UID: 0,
  GID: 0,
  UNAME: 'oneadmin',
  GNAME: 'oneadmin',
  NAME: 'web',
  PERMISSIONS: {
    OWNER_U: 1,
    OWNER_M: 1,
    OWNER_A: 0,
    GROUP_U: 0,
    GROUP_M: 0,
    GROUP_A: 0,
    OTHER_U: 0,
    OTHER_M: 0,
    OTHER_A: 0,
  },
  ROLES: {
    ROLE: [
      { HOST_ANTI_AFFINED: '3', ID: 0, NAME: 'front', POLICY: 'ANTI_AFFINED', VMS: '7,9' },
      { HOST_AFFINED: '1,2', ID: 1, NAME: 'db' },
    ],
  },
  TEMPLATE: { AFFINED: 'db' },
};

describe('nimbus vmgroup against a scripted nimbusd', () => {
  let server: FakeNimbusd;
  before(async () => {
    server = await fakeNimbusd((req) => {
      if (req.method === 'GET' && req.url.startsWith('/api/v1/vmgroups/4'))
        return { json: { VM_GROUP: GROUP } };
      if (req.method === 'GET' && req.url.startsWith('/api/v1/vmgroups'))
        return { json: { VM_GROUP_POOL: { VM_GROUP: [GROUP] } } };
      if (req.method === 'POST' && req.url === '/api/v1/vmgroups') return { status: 201, json: { ID: 4 } };
      if (req.url === '/api/v1/vmgroups/4/roles/9')
        return {
          status: 404,
          json: { code: 'NOT_FOUND', message: 'VM group has no role 9', field: 'roleId' },
        };
      if (req.url.startsWith('/api/v1/vmgroups/4')) return { json: { ID: 4 } };
      return undefined;
    });
  });
  after(async () => server.close());

  const last = () => server.received[server.received.length - 1]!;

  it('create sends the file as the template, or --name alone, and prints the id', async () => {
    const run = await vmgroup(server, ['create', 'vmg.txt']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'ID: 4\n');
    assert.deepEqual(last().body, { template: FILES['vmg.txt'] });
    const named = await vmgroup(server, ['create', '--name', 'empty']);
    assert.equal(named.code, 0, named.stderr);
    assert.deepEqual(last().body, { template: '\nNAME = "empty"\n' });
    const neither = await vmgroup(server, ['create']);
    assert.equal(neither.code, 2);
    assert.match(neither.stderr, /needs a template file or --name/);
  });

  it('list shows the VMs of all roles; show prints the roles table', async () => {
    const list = await vmgroup(server, ['list']);
    assert.equal(list.code, 0, list.stderr);
    assert.equal(list.stdout, 'ID USER     GROUP    NAME VMS\n 4 oneadmin oneadmin web    2\n');
    const show = await vmgroup(server, ['show', '4']);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /^VM GROUP 4 INFORMATION\n/);
    assert.ok(
      show.stdout.includes(
        'ROLES\n' +
          'ID NAME  POLICY       HOST_AFFINED HOST_ANTI_AFFINED VMS\n' +
          ' 0 front ANTI_AFFINED -            3                 7,9\n' +
          ' 1 db    NONE         1,2          -                 -\n',
      ),
      show.stdout,
    );
    assert.match(show.stdout, /AFFINED="db"|AFFINED = "db"/);
  });

  it('role-add, role-update and role-delete call the role routes', async () => {
    assert.equal((await vmgroup(server, ['role-add', '4', 'role.txt'])).code, 0);
    assert.deepEqual(
      [last().method, last().url, last().body],
      ['POST', '/api/v1/vmgroups/4/roles', { template: FILES['role.txt'] }],
    );
    assert.equal((await vmgroup(server, ['role-update', '4', '1', 'role.txt'])).code, 0);
    assert.deepEqual([last().method, last().url], ['PATCH', '/api/v1/vmgroups/4/roles/1']);
    assert.equal((await vmgroup(server, ['role-delete', '4', '1'])).code, 0);
    assert.deepEqual([last().method, last().url], ['DELETE', '/api/v1/vmgroups/4/roles/1']);
    const missing = await vmgroup(server, ['role-delete', '4', '9']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /NOT_FOUND: VM group has no role 9/);
    const bad = await vmgroup(server, ['role-delete', '4', 'db']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /role id must be a number/);
  });

  it('lock takes one level option; unlock, rename, chmod and delete use the owned routes', async () => {
    assert.equal((await vmgroup(server, ['lock', '4', '--admin'])).code, 0);
    assert.deepEqual([last().url, last().body], ['/api/v1/vmgroups/4/lock', { level: 3 }]);
    assert.equal((await vmgroup(server, ['lock', '4'])).code, 0);
    assert.deepEqual(last().body, { level: 1 });
    const both = await vmgroup(server, ['lock', '4', '--use', '--all']);
    assert.equal(both.code, 2);
    assert.equal((await vmgroup(server, ['unlock', '4'])).code, 0);
    assert.equal(last().url, '/api/v1/vmgroups/4/unlock');
    assert.equal((await vmgroup(server, ['rename', '4', 'web2'])).code, 0);
    assert.deepEqual([last().url, last().body], ['/api/v1/vmgroups/4/rename', { name: 'web2' }]);
    assert.equal((await vmgroup(server, ['chmod', '4', '640'])).code, 0);
    assert.deepEqual(last().body, { octet: '640' });
    assert.equal((await vmgroup(server, ['delete', '4'])).code, 0);
    assert.deepEqual([last().method, last().url], ['DELETE', '/api/v1/vmgroups/4']);
  });
});
