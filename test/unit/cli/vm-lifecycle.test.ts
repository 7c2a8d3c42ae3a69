import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LcmState, VmState } from '../../../src/domain/vm/index.js';
import { fakeNimbusd, runNimbus, type FakeNimbusd, type Received, type Reply } from './support.js';

const refused = (message: string): Reply => ({ status: 400, json: { code: 'ACTION_NOT_ALLOWED', message } });

describe('nimbus vm lifecycle verbs: arguments are checked before any request', () => {
  const cases: [string[], RegExp][] = [
    [['vm', 'resize', '3', '--memory', 'lots'], /^nimbus: --memory: "lots" is not a size/],
    [['vm', 'resize', '3'], /^nimbus: resize needs --cpu, --vcpu or --memory$/],
    [['vm', 'recover', '3'], /^nimbus: recover needs one of --success/],
    [
      ['vm', 'recover', '3', '--retry', '--recreate'],
      /^nimbus: recover takes one operation, got --retry and --recreate$/,
    ],
    [
      ['vm', 'migrate', '3', '0', '--live', '--poweroff'],
      /^nimbus: --live and --poweroff exclude each other$/,
    ],
    [['vm', 'disk-resize', '3', '0', '10X'], /^nimbus: SIZE: "10X" is not a size/],
    [['vm', 'disk-detach', '3', 'first'], /^nimbus: DISK_ID: "first"/],
    [['vm', 'disk-attach', '3'], /^nimbus: disk-attach needs --image IMAGE or --file FILE$/],
    [
      ['vm', 'nic-attach', '3', '--network', 'priv', '--ip', 'x'],
      /^nimbus: --ip: "x" is not an IPv4 address$/,
    ],
    [['vm', 'nic-detach', '3', '-1'], /error|NIC_ID/],
    [['vm', 'poweroff', '9..2'], /^nimbus: range 9\.\.2 runs backwards/],
    [['vm', 'log', '3', '--lines', '0'], /^nimbus: --lines: "0"/],
    [['vm', 'wait', '3', '--state', 'runing'], /^nimbus: --state: unknown VM state "runing"; use one of /],
    [['vm', 'wait', '3', '--state', 'RUNNING', '--timeout', 'soon'], /^nimbus: --timeout: "soon"/],
  ];
  for (const [args, pattern] of cases) {
    it(args.slice(1).join(' '), async () => {
      const server = await fakeNimbusd(() => undefined);
      try {
        const run = await runNimbus(args, server);
        assert.equal(run.code, 2);
        assert.equal(run.stdout, '');
        assert.match(run.stderr.trimEnd(), pattern);
        assert.equal(run.stderr.split('\n').length, 2, run.stderr);
        assert.deepEqual(server.received, []);
      } finally {
        await server.close();
      }
    });
  }
});

describe('nimbus vm lifecycle verbs against a scripted nimbusd', () => {
  let server: FakeNimbusd;
  /** VM 7's states, one per GET; the last one repeats. */
  let vm7: { STATE: number; LCM_STATE: number; USER_TEMPLATE: Record<string, string> }[] = [];

  before(async () => {
    server = await fakeNimbusd((r: Received): Reply | undefined => {
      const action = /^\/api\/v1\/vms\/(\d+)\/action$/.exec(r.url);
      if (r.method === 'POST' && action !== null) {
        const id = Number(action[1]);
        if (id === 4) return refused('poweroff is not available for VM 4 in PENDING');
        if (id === 6) return refused('poweroff is not available for VM 6 in DONE');
        return {
          json: {
            ID: id,
            STATE_NAME: 'ACTIVE',
            LCM_STATE_NAME: 'SHUTDOWN_POWEROFF',
            ...(id === 5 ? { NOTICE: 'already POWEROFF' } : {}),
          },
        };
      }
      if (r.url === '/api/v1/vms?name=web') return { json: { VM_POOL: { VM: [{ ID: 3, NAME: 'web' }] } } };
      if (r.url === '/api/v1/vms?name=ghost') return { json: { VM_POOL: { VM: [] } } };
      if (r.url === '/api/v1/hosts?name=kvm1')
        return { json: { HOST_POOL: { HOST: [{ ID: 2, NAME: 'kvm1' }] } } };
      if (/^\/api\/v1\/vms\/\d+\/(deploy|migrate|recover|resize)$/.test(r.url)) return { json: { ID: 3 } };
      if (r.url === '/api/v1/images?name=data')
        return { json: { IMAGE_POOL: { IMAGE: [{ ID: 11, NAME: 'data' }] } } };
      if (r.url === '/api/v1/vms/3/disks') return { json: { ID: 3, DISK_ID: 2 } };
      if (r.url === '/api/v1/vms/3/log?lines=2') return { text: 'line one\nline two\n' };
      if (r.url === '/api/v1/vms/7') {
        const state = vm7.length > 1 ? vm7.shift()! : vm7[0]!;
        return { json: { VM: { ID: 7, ...state } } };
      }
      return undefined;
    });
  });
  after(() => server.close());

  const sent = (from: number): { method: string; url: string; body: unknown }[] =>
    server.received.slice(from).map(({ method, url, body }) => ({ method, url, body }));

  it('poweroff acts on each VM of the range and reports failures per VM, in order', async () => {
    const from = server.received.length;
    const run = await runNimbus(['vm', 'poweroff', '3', '4..6', 'ghost', '--hard'], server);
    assert.equal(run.code, 2);
    assert.equal(run.stdout, 'VM 5: already POWEROFF\n');
    assert.equal(
      run.stderr,
      'VM 4: ACTION_NOT_ALLOWED: poweroff is not available for VM 4 in PENDING\n' +
        'VM 6: ACTION_NOT_ALLOWED: poweroff is not available for VM 6 in DONE\n' +
        'VM ghost: NOT_FOUND: no VM named "ghost"\n',
    );
    const posts = sent(from).filter((r) => r.method === 'POST');
    assert.deepEqual(
      posts.map((r) => r.url),
      ['/api/v1/vms/3/action', '/api/v1/vms/4/action', '/api/v1/vms/5/action', '/api/v1/vms/6/action'],
    );
    assert.deepEqual(posts[0]!.body, { action: 'poweroff-hard' });
  });

  it('terminate of names and ids that all succeed prints nothing and exits 0', async () => {
    const from = server.received.length;
    assert.deepEqual(await runNimbus(['vm', 'terminate', 'web', '3'], server), {
      code: 0,
      stdout: '',
      stderr: '',
    });
    assert.deepEqual(
      sent(from).map((r) => [r.url, r.body]),
      [
        ['/api/v1/vms?name=web', undefined],
        ['/api/v1/vms/3/action', { action: 'terminate' }],
      ],
    );
  });

  it('deploy, migrate, recover and resize send the contract bodies', async () => {
    const from = server.received.length;
    assert.equal((await runNimbus(['vm', 'deploy', '3', 'kvm1', '0', '--enforce'], server)).code, 0);
    assert.equal((await runNimbus(['vm', 'migrate', 'web', '2', '--poweroff-hard'], server)).code, 0);
    assert.equal((await runNimbus(['vm', 'recover', '3', '--recreate'], server)).code, 0);
    assert.equal((await runNimbus(['vm', 'resize', '3', '--vcpu', '2', '--memory', '1.5G'], server)).code, 0);
    assert.deepEqual(
      sent(from)
        .filter((r) => r.method === 'POST')
        .map((r) => [r.url, r.body]),
      [
        ['/api/v1/vms/3/deploy', { host: 2, datastore: 0, enforce: true }],
        ['/api/v1/vms/3/migrate', { host: 2, poweroff: 'hard' }],
        ['/api/v1/vms/3/recover', { operation: 'delete-recreate' }],
        ['/api/v1/vms/3/resize', { VCPU: 2, MEMORY: 1536 }],
      ],
    );
  });

  it('disk-attach resolves the image and prints DISK_ID', async () => {
    const from = server.received.length;
    const run = await runNimbus(['vm', 'disk-attach', '3', '--image', 'data', '--target', 'vdb'], server);
    assert.deepEqual(run, { code: 0, stdout: 'DISK_ID: 2\n', stderr: '' });
    assert.deepEqual(sent(from).at(-1)!.body, {
      template: 'DISK = [\n  IMAGE_ID = "11",\n  TARGET = "vdb" ]\n',
    });
  });

  it('log prints the text as sent', async () => {
    assert.deepEqual(await runNimbus(['vm', 'log', '3', '--lines', '2'], server), {
      code: 0,
      stdout: 'line one\nline two\n',
      stderr: '',
    });
  });

  it('wait exits 0 once RUNNING', async () => {
    vm7 = [
      { STATE: VmState.PENDING, LCM_STATE: 0, USER_TEMPLATE: {} },
      { STATE: VmState.ACTIVE, LCM_STATE: LcmState.PROLOG, USER_TEMPLATE: {} },
      { STATE: VmState.ACTIVE, LCM_STATE: LcmState.RUNNING, USER_TEMPLATE: {} },
    ];
    const run = await runNimbus(
      ['vm', 'wait', '7', '--state', 'running', '--interval', '5', '--no-progress'],
      server,
    );
    assert.deepEqual(run, { code: 0, stdout: '', stderr: '' });
  });

  it('wait exits 1 at a failure state with its ERROR', async () => {
    vm7 = [
      { STATE: VmState.ACTIVE, LCM_STATE: LcmState.BOOT, USER_TEMPLATE: {} },
      {
        STATE: VmState.ACTIVE,
        LCM_STATE: LcmState.BOOT_FAILURE,
        USER_TEMPLATE: { ERROR: 'deploy failed: no kvm' },
      },
    ];
    const run = await runNimbus(['vm', 'wait', '7', '--state', 'RUNNING', '--interval', '5'], server);
    assert.deepEqual(run, {
      code: 1,
      stdout: '',
      stderr: 'nimbus: VM 7 is in BOOT_FAILURE (wanted RUNNING): deploy failed: no kvm\n',
    });
  });

  it('wait exits 1 on timeout naming the state it is in', async () => {
    vm7 = [{ STATE: VmState.ACTIVE, LCM_STATE: LcmState.PROLOG, USER_TEMPLATE: {} }];
    const run = await runNimbus(
      ['vm', 'wait', '7', '--state', 'RUNNING', '--timeout', '0.05', '--interval', '10'],
      server,
    );
    assert.deepEqual(run, {
      code: 1,
      stdout: '',
      stderr: 'nimbus: timed out after 0.05 s waiting for VM 7 to be RUNNING; it is PROLOG\n',
    });
  });
});
