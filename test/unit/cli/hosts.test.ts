import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hostCreatedText, hostSharesFields } from '../../../src/cli/hosts.js';
import { fakeNimbusd, runNimbus, type FakeNimbusd } from './support.js';

const SHARE = {
  MEM_USAGE: 786_432,
  CPU_USAGE: 50,
  TOTAL_MEM: 8_000_000,
  TOTAL_CPU: 400,
  MAX_MEM: 7_000_000,
  MAX_CPU: 350,
  RUNNING_VMS: 2,
};

describe('host create output', () => {
  it('is ID: N alone for a dummy host', () => {
    assert.equal(hostCreatedText({ ID: 4 }), 'ID: 4\n');
  });

  it('adds the join command and the note for a real host, ID first', () => {
    const command = 'nimbus-agent --controller http://ctl:2633 --host-id 5 --token T1 --driver kvm';
    assert.equal(
      hostCreatedText({ ID: 5, JOIN: { TOKEN: 'T1', COMMAND: command, EXPIRES: 1_700_000_000 } }),
      `ID: 5\nRun on the host: ${command}\n` +
        'The host stays ERROR until nimbus-agent connects with this token (valid until 2023-11-14T22:13:20.000Z).\n',
    );
  });
});

describe('hostSharesFields (onehost show HOST SHARES)', () => {
  it('prints TOTAL and ALLOCATED; USED (REAL) only once monitored', () => {
    assert.deepEqual(hostSharesFields({ HOST_SHARE: SHARE, MONITORING: {} }), [
      ['RUNNING VMS', 2],
      ['MEMORY TOTAL', '7.6G'],
      ['MEMORY TOTAL +/- RESERVED', '6.7G'],
      ['MEMORY USED (ALLOCATED)', '768M'],
      ['CPU TOTAL', 400],
      ['CPU TOTAL +/- RESERVED', 350],
      ['CPU USED (ALLOCATED)', 50],
    ]);
    const monitored = hostSharesFields({
      HOST_SHARE: SHARE,
      MONITORING: { TIMESTAMP: 1, CAPACITY: { USED_MEMORY: 3_355_443, USED_CPU: 23 } },
    });
    assert.deepEqual(monitored.slice(3, 5), [
      ['MEMORY USED (REAL)', '3.2G'],
      ['MEMORY USED (ALLOCATED)', '768M'],
    ]);
    assert.deepEqual(monitored.at(-2), ['CPU USED (REAL)', 23]);
  });
});

describe('nimbus host show against a scripted nimbusd', () => {
  let server: FakeNimbusd;
  const vmRow = (ID: number, NAME: string) => ({
    ID,
    NAME,
    UNAME: 'oneadmin',
    GNAME: 'oneadmin',
    STATE: 3,
    LCM_STATE: 3,
    STIME: Math.floor(Date.now() / 1000) - 3600,
    ETIME: 0,
    TEMPLATE: { CPU: '0.5', MEMORY: '512' },
    USER_TEMPLATE: {},
    HISTORY_RECORDS: { HISTORY: [{ HOSTNAME: 'kvm1' }] },
  });
  const host = (vms: number[]) => ({
    HOST: {
      ID: 2,
      NAME: 'kvm1',
      STATE: 2,
      STATE_NAME: 'MONITORED',
      IM_MAD: 'kvm',
      VM_MAD: 'kvm',
      CLUSTER_ID: 0,
      CLUSTER: 'default',
      HOST_SHARE: SHARE,
      VMS: { ID: vms },
      TEMPLATE: {},
      MONITORING: {},
    },
  });

  before(async () => {
    server = await fakeNimbusd((r) => {
      if (r.url === '/api/v1/hosts/2') return { json: host([8, 1005]) };
      if (r.url === '/api/v1/hosts/3') return { json: host([]) };
      // ids 8..1007 exist; page 1 holds 8..1007 minus the VMs of other hosts
      if (r.url === '/api/v1/vms?filter=-2&after=7&limit=1000')
        return { json: { VM_POOL: { VM: [vmRow(8, 'web'), vmRow(9, 'elsewhere')] }, next_after: 1004 } };
      if (r.url === '/api/v1/vms?filter=-2&after=1004&limit=1000')
        return { json: { VM_POOL: { VM: [vmRow(1006, 'other')] }, next_after: null } };
      return undefined;
    });
  });
  after(() => server.close());

  it('prints the shares and a VM table of the host VMs, noting those not listed', async () => {
    const run = await runNimbus(['host', 'show', '2'], server);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^HOST 2 INFORMATION\n/);
    assert.match(run.stdout, /\nHOST SHARES\nRUNNING VMS {15}: 2\n/);
    assert.match(run.stdout, /CPU TOTAL\s+: 400\n/);
    assert.match(run.stdout, /MEMORY USED \(ALLOCATED\)\s+: 768M\n/);
    assert.doesNotMatch(run.stdout, /USED \(REAL\)/);
    const vms = run.stdout.slice(run.stdout.indexOf('VIRTUAL MACHINES\n'));
    assert.match(
      vms,
      /^VIRTUAL MACHINES\nID USER {5}GROUP {4}NAME STAT CPU {2}MEM HOST {7}TIME\n 8 oneadmin oneadmin web {2}runn 0\.5 512M kvm1 {3}0d 01h00\n/,
    );
    assert.doesNotMatch(vms, /elsewhere|other/);
    assert.match(vms, /\nalso on the host, not listed for you: 1005\n$/);
  });

  it('prints - for a host without VMs, without listing VMs', async () => {
    const from = server.received.length;
    const run = await runNimbus(['host', 'show', '3'], server);
    assert.match(run.stdout, /\nVIRTUAL MACHINES\n-\n$/);
    assert.deepEqual(
      server.received.slice(from).map((r) => r.url),
      ['/api/v1/hosts/3'],
    );
  });

  it('--json prints the raw body', async () => {
    const run = await runNimbus(['host', 'show', '2', '--json'], server);
    assert.deepEqual(JSON.parse(run.stdout), host([8, 1005]));
  });
});
