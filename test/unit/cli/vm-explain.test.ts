import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { byVerdict, demandText, outcomeText } from '../../../src/cli/vm-explain.js';
import type { Placement, PlacementHost } from '../../../src/protocol/placement.js';
import { fakeNimbusd, runNimbus, type FakeNimbusd, type Received, type Reply } from './support.js';

const WARNING =
  'SCHED_REQUIREMENTS: "&" and "|" are mixed without parentheses: CPU > 1 & FREE_CPU > 100 | ID = 3; OpenNebula evaluates them left to right';

function host(
  id: number,
  verdict: PlacementHost['VERDICT'],
  extra: Partial<PlacementHost> = {},
): PlacementHost {
  return {
    ID: id,
    NAME: `node${id}`,
    CLUSTER_ID: 0,
    VERDICT: verdict,
    REASON_CODE: '',
    REASON: '',
    RANK: null,
    DS_ID: null,
    ...extra,
  };
}

const cpu = (id: number): PlacementHost =>
  host(id, 'REJECTED', { REASON_CODE: 'CPU', REASON: 'Not enough CPU capacity: 400/100' });
const req = (id: number): PlacementHost =>
  host(id, 'REJECTED', {
    REASON_CODE: 'REQUIREMENTS',
    REASON: 'It does not fulfill SCHED_REQUIREMENTS: CPU > 1 & FREE_CPU > 100 | ID = 3',
  });

/** VM 7: placeable on host 3; hosts 4 and 5 eligible; 25 rejected (15 by CPU, 10 by requirements). */
const PLACEABLE: Placement = {
  VM_ID: 7,
  STATE: 'PENDING',
  PENDING: true,
  SCHED_MESSAGE: '',
  MESSAGE: '',
  PENDING_SINCE: 1_700_000_000,
  REQUIREMENTS: 'CPU > 1 & FREE_CPU > 100 | ID = 3',
  RANK: 'FREE_CPU',
  DS_REQUIREMENTS: '',
  DS_RANK: '',
  WARNINGS: [WARNING],
  DEMAND: { CPU: 50, MEMORY: 131072, DISK_MB: 10 },
  CHOICE: { HOST_ID: 3, DS_ID: 0, RANK: 900 },
  REJECTED: { CPU: 15, REQUIREMENTS: 10 },
  HOSTS: [
    ...Array.from({ length: 15 }, (_, i) => cpu(100 + i)),
    ...Array.from({ length: 10 }, (_, i) => req(200 + i)),
    host(4, 'ELIGIBLE', { RANK: 100, DS_ID: 0 }),
    host(3, 'SELECTED', { RANK: 900, DS_ID: 0 }),
    host(5, 'ELIGIBLE', { RANK: 500.25, DS_ID: 0 }),
  ],
  DATASTORES: [
    { ID: 0, NAME: 'system', VERDICT: 'SELECTED', REASON_CODE: '', REASON: '', RANK: 2048 },
    {
      ID: 100,
      NAME: 'off',
      VERDICT: 'REJECTED',
      REASON_CODE: 'DATASTORE_STATE',
      REASON: 'Datastore is disabled.',
      RANK: null,
    },
  ],
  NETWORKS: [
    { NIC_ID: 0, ID: 2, NAME: 'blue', VERDICT: 'SELECTED', REASON_CODE: '', REASON: '', RANK: 10 },
    {
      NIC_ID: 0,
      ID: 3,
      NAME: 'full',
      VERDICT: 'REJECTED',
      REASON_CODE: 'NO_LEASES',
      REASON: 'No free leases.',
      RANK: null,
    },
  ],
};

/** VM 8: nothing fits; SCHED_MESSAGE written; no networks. */
const STUCK: Placement = {
  ...PLACEABLE,
  VM_ID: 8,
  SCHED_MESSAGE:
    'Thu Nov 14 22:13:20 2023: Cannot dispatch VM: No host with enough capacity to deploy the VM',
  MESSAGE: 'Cannot dispatch VM: No host with enough capacity to deploy the VM',
  WARNINGS: [],
  CHOICE: null,
  REJECTED: { CPU: 2 },
  HOSTS: [cpu(1), cpu(2)],
  NETWORKS: [],
};

describe('vm explain formatting', () => {
  it('orders selected, eligible by rank, then rejected by id', () => {
    assert.deepEqual(
      byVerdict(PLACEABLE.HOSTS)
        .slice(0, 5)
        .map((h) => h.ID),
      [3, 5, 4, 100, 101],
    );
  });

  it('says where the VM would go, or why not', () => {
    assert.equal(outcomeText(PLACEABLE), 'would be placed on host 3 "node3" (rank 900), datastore 0');
    assert.equal(outcomeText(STUCK), STUCK.MESSAGE);
    assert.equal(outcomeText({ ...STUCK, MESSAGE: '' }), 'cannot be placed now');
  });

  it('prints the demand in cores and MB', () => {
    assert.equal(demandText(PLACEABLE.DEMAND), 'CPU 0.5 (50), MEMORY 128 MB, system disk 10 MB');
  });
});

describe('nimbus vm explain against a scripted nimbusd', () => {
  let server: FakeNimbusd;

  before(async () => {
    server = await fakeNimbusd((r: Received): Reply | undefined => {
      if (r.url === '/api/v1/vms/7/placement') return { json: PLACEABLE };
      if (r.url === '/api/v1/vms/8/placement') return { json: STUCK };
      if (r.url === '/api/v1/vms?name=web') return { json: { VM_POOL: { VM: [{ ID: 7, NAME: 'web' }] } } };
      if (r.url === '/api/v1/vms/9/placement')
        return { status: 403, json: { code: 'AUTHORIZATION', message: 'not authorized to USE VM 9' } };
      return undefined;
    });
  });
  after(() => server.close());

  it('prints the header, warnings, and the hosts selected first, 20 rejected, the rest counted', async () => {
    const run = await runNimbus(['vm', 'explain', 'web'], server);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, '');
    const out = run.stdout;
    assert.match(out, /^VM 7 PLACEMENT\n/);
    assert.match(out, /STATE +: PENDING\n/);
    assert.match(out, /PENDING SINCE +: 2023-11-14T22:13:20\.000Z\n/);
    assert.match(out, /NOW +: would be placed on host 3 "node3" \(rank 900\), datastore 0\n/);
    assert.match(out, /REQUIREMENTS +: CPU > 1 & FREE_CPU > 100 \| ID = 3\n/);
    assert.match(out, /RANK +: FREE_CPU\n/);
    assert.match(out, /DEMAND +: CPU 0\.5 \(50\), MEMORY 128 MB, system disk 10 MB\n/);
    assert.ok(out.includes(`warning: ${WARNING}\n`), out);
    assert.doesNotMatch(out, /SCHED_MESSAGE/);
    assert.match(out, /HOSTS \(3 eligible, 25 rejected\)/);
    assert.match(out, /HOST.*NAME.*CLUSTER.*VERDICT.*RANK.*REASON/);
    const rows = out.split('\n').filter((l) => /^│ \d+ /.test(l));
    const hostRows = rows.filter((l) => /node\d+/.test(l));
    assert.deepEqual(
      hostRows.map((l) => Number(/^│ (\d+)/.exec(l)![1])),
      [3, 5, 4, ...Array.from({ length: 15 }, (_, i) => 100 + i), 200, 201, 202, 203, 204],
    );
    assert.match(hostRows[0]!, /SELECTED.*900/);
    assert.match(hostRows[1]!, /ELIGIBLE.*500\.25/);
    assert.match(hostRows[3]!, /REJECTED.*Not enough CPU capacity: 400\/100/);
    assert.match(out, /… and 5 more rejected hosts \(REQUIREMENTS: 5\); --all lists them\n/);
    assert.match(out, /DATASTORES\n/);
    assert.match(out, /│ 0 +│ system +│ SELECTED +│ 2048/);
    assert.match(out, /│ 100 +│ off +│ REJECTED +│ - +│ Datastore is disabled\./);
    assert.match(out, /NETWORKS\n/);
    assert.match(out, /│ 0 +│ 3 +│ full +│ REJECTED +│ - +│ No free leases\./);
    assert.deepEqual(server.received.map((r) => `${r.method} ${r.url}`).slice(-2), [
      'GET /api/v1/vms?name=web',
      'GET /api/v1/vms/7/placement',
    ]);
  });

  it('--all lists every rejected host', async () => {
    const run = await runNimbus(['vm', 'explain', '7', '--all'], server);
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stdout, /more rejected/);
    for (const id of [209, 114]) assert.match(run.stdout, new RegExp(`│ ${id} +│ node${id} `));
  });

  it('a VM nothing fits: SCHED_MESSAGE and why, no NETWORKS table', async () => {
    const run = await runNimbus(['vm', 'explain', '8'], server);
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stdout,
      /SCHED_MESSAGE +: Thu Nov 14 22:13:20 2023: Cannot dispatch VM: No host with enough/,
    );
    assert.match(run.stdout, /NOW +: Cannot dispatch VM: No host with enough capacity to deploy the VM\n/);
    assert.match(run.stdout, /HOSTS \(0 eligible, 2 rejected\)/);
    assert.doesNotMatch(run.stdout, /NETWORKS/);
    assert.doesNotMatch(run.stdout, /warning:/);
  });

  it('--json prints the API body as it came', async () => {
    const run = await runNimbus(['vm', 'explain', '8', '--json'], server);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), STUCK);
  });

  it('a refusal is one line on stderr, non-zero exit', async () => {
    const run = await runNimbus(['vm', 'explain', '9'], server);
    assert.notEqual(run.code, 0);
    assert.equal(run.stdout, '');
    assert.equal(run.stderr, 'nimbus: AUTHORIZATION: not authorized to USE VM 9\n');
  });
});
