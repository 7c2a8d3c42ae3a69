/**
 * GET /api/v1/{hosts,vms}/:id/monitoring, with a MonitoringService of the test's own (short
 * retention, fed as the agent hub feeds it) in an app built around the test nimbusd's context.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildRestApp, type RestApp, type RestDeps } from '../../../src/api/rest/app.js';
import { registerMonitoringRoutes } from '../../../src/api/rest/routes/monitoring.js';
import { AuthService } from '../../../src/controller/auth.js';
import { MonitoringService } from '../../../src/controller/monitoring.js';
import { DEFAULT_MONITORING_POLICY } from '../../../src/domain/monitoring/index.js';
import type { MonitorHost, MonitorVms } from '../../../src/protocol/agent.js';
import { ADMIN_PASSWORD, startTestNimbus, type ApiAnswer, type TestNimbus } from './harness.js';

const policy = { ...DEFAULT_MONITORING_POLICY, rawRetentionS: 600, bucketS: 300, bucketRetentionS: 3_600 };

function hostReport(timestamp: number, usedCpu: number): MonitorHost {
  return {
    type: 'monitor-host',
    timestamp,
    host: {
      HYPERVISOR: 'dummy',
      TOTALCPU: 800,
      TOTALMEMORY: 16_777_216,
      USEDCPU: usedCpu,
      FREECPU: 800 - usedCpu,
      USEDMEMORY: 1_048_576,
      FREEMEMORY: 15_728_640,
      NETRX: timestamp,
      NETTX: 2 * timestamp,
      CPUSPEED: 2_400,
    },
  };
}

function vmReport(timestamp: number, vms: { id?: number; cpu: number }[]): MonitorVms {
  return {
    type: 'monitor-vms',
    timestamp,
    complete: true,
    vms: vms.map((v, i) => ({
      DEPLOY_ID: v.id === undefined ? `wild-${i}` : `one-${v.id}`,
      ...(v.id === undefined ? {} : { ID: v.id }),
      STATE: 'RUNNING' as const,
      MONITOR: {
        CPU: v.cpu,
        MEMORY: 262_144,
        NETRX: timestamp,
        NETTX: 0,
        DISKRDBYTES: 0,
        DISKWRBYTES: 0,
        DISKRDIOPS: 0,
        DISKWRIOPS: 0,
        DISK_SIZE: [{ ID: 0, SIZE: 1_024 }],
      },
    })),
  };
}

describe('monitoring routes', () => {
  let t: TestNimbus;
  let app: RestApp;
  let bare: RestApp;
  let monitoring: MonitoringService;
  let vmId: number;
  let hostId: number;
  let now: number;

  const basic = (user: string, password: string) =>
    `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const get = async (url: string, as = basic('oneadmin', ADMIN_PASSWORD), on = app): Promise<ApiAnswer> => {
    const res = await on.inject({ method: 'GET', url, headers: { authorization: as } });
    return { status: res.statusCode, body: JSON.parse(res.body) };
  };

  before(async () => {
    // No host 0 and a kvm host: no embedded agent reports behind the test's back.
    t = await startTestNimbus({ localHost: 'none' });
    const ctx = t.nimbus.ctx;
    monitoring = new MonitoringService(ctx, policy);
    const auth = new AuthService(ctx);
    // Registered here unless routes/index.ts already does it.
    const withRoutes = async (deps: RestDeps): Promise<RestApp> => {
      const built = await buildRestApp(deps, { logger: false });
      if (!built.hasRoute({ method: 'GET', url: '/api/v1/vms/:id/monitoring' }))
        registerMonitoringRoutes(built, deps);
      return built;
    };
    app = await withRoutes({ ctx, auth, monitoring });
    bare = await withRoutes({ ctx, auth });
    const host = await t.admin('POST', '/api/v1/hosts', { name: 'node1', im: 'kvm', vm: 'kvm' });
    assert.equal(host.status, 201, JSON.stringify(host.body));
    hostId = host.body.ID;
    await t.createUser('alice');
    await t.createUser('bob');
    const created = await t.as('alice', 'alice-pw')(
      'POST',
      '/api/v1/vms',
      'NAME = m\nMEMORY = 256\nCPU = 0.5',
    );
    assert.equal(created.status, 201, JSON.stringify(created.body));
    vmId = created.body.ID;
    now = ctx.now();
  });
  after(async () => {
    await monitoring.stop();
    await app.close();
    await bare.close();
    await t.close();
  });

  it('a host report updates the host record once and adds a sample', async () => {
    await monitoring.recordHost(hostId, hostReport(now - 60, 100));
    await monitoring.recordHost(hostId, hostReport(now - 30, 300));
    await monitoring.recordHost(hostId, hostReport(now - 90, 700)); // late: only its sample
    const host = (await t.admin('GET', `/api/v1/hosts/${hostId}`)).body.HOST;
    assert.equal(host.HOST_SHARE.TOTAL_CPU, 800);
    assert.equal(host.HOST_SHARE.MAX_CPU, 800);
    assert.equal(host.HOST_SHARE.TOTAL_MEM, 16_777_216);
    assert.equal(host.MONITORING.TIMESTAMP, now - 30);
    assert.deepEqual(host.MONITORING.CAPACITY, {
      FREE_CPU: 500,
      FREE_MEMORY: 15_728_640,
      USED_CPU: 300,
      USED_MEMORY: 1_048_576,
    });
    assert.deepEqual(host.MONITORING.SYSTEM, { NETRX: now - 30, NETTX: 2 * (now - 30), CPU_SPEED: 2_400 });

    const res = await get(`/api/v1/hosts/${hostId}/monitoring`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const records = res.body.MONITORING_DATA.MONITORING;
    assert.deepEqual(
      records.map((r: { TIMESTAMP: number }) => r.TIMESTAMP),
      [now - 90, now - 60, now - 30],
    );
    assert.deepEqual(records[2], {
      TIMESTAMP: now - 30,
      ID: hostId,
      CAPACITY: {
        FREE_CPU: 500,
        FREE_MEMORY: 15_728_640,
        USED_CPU: 300,
        USED_MEMORY: 1_048_576,
        TOTAL_CPU: 800,
        TOTAL_MEMORY: 16_777_216,
      },
      SYSTEM: { NETRX: now - 30, NETTX: 2 * (now - 30), CPU_SPEED: 2_400 },
      RESOLUTION: 0,
    });
    assert.deepEqual((await monitoring.latestHost(hostId))?.ts, now - 30);
    assert.equal(await monitoring.latestHost(99), undefined);
  });

  it('a VM report stores a sample per known VM and keeps the latest in memory', async () => {
    await monitoring.recordVms(hostId, vmReport(now - 40, [{ id: vmId, cpu: 10 }, { cpu: 99 }]));
    await monitoring.recordVms(hostId, vmReport(now - 10, [{ id: vmId, cpu: 30 }]));
    await monitoring.recordVms(hostId, vmReport(now - 20, [])); // nothing to store
    assert.equal(monitoring.latestVm(vmId)?.ts, now - 10);
    assert.equal(monitoring.latestVm(vmId)?.data.CPU, 30);

    const res = await get(`/api/v1/vms/${vmId}/monitoring`, basic('alice', 'alice-pw'));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.MONITORING_DATA.MONITORING, [
      {
        TIMESTAMP: now - 40,
        ID: vmId,
        CPU: 10,
        MEMORY: 262_144,
        NETRX: now - 40,
        NETTX: 0,
        DISKRDBYTES: 0,
        DISKWRBYTES: 0,
        DISKRDIOPS: 0,
        DISKWRIOPS: 0,
        DISK_SIZE: [{ ID: 0, SIZE: 1_024 }],
        RESOLUTION: 0,
      },
      {
        TIMESTAMP: now - 10,
        ID: vmId,
        CPU: 30,
        MEMORY: 262_144,
        NETRX: now - 10,
        NETTX: 0,
        DISKRDBYTES: 0,
        DISKWRBYTES: 0,
        DISKRDIOPS: 0,
        DISKWRIOPS: 0,
        DISK_SIZE: [{ ID: 0, SIZE: 1_024 }],
        RESOLUTION: 0,
      },
    ]);
    const window = await get(`/api/v1/vms/${vmId}/monitoring?since=${now - 20}&until=${now}`);
    assert.deepEqual(
      window.body.MONITORING_DATA.MONITORING.map((r: { TIMESTAMP: number }) => r.TIMESTAMP),
      [now - 10],
    );
  });

  it('authorizes as one.vm.monitoring / one.host.monitoring', async () => {
    const bob = basic('bob', 'bob-pw');
    const vm = await get(`/api/v1/vms/${vmId}/monitoring`, bob);
    assert.equal(vm.status, 403);
    assert.equal(vm.body.code, 'AUTHORIZATION');
    const host = await get(`/api/v1/hosts/${hostId}/monitoring`, bob);
    assert.equal(host.status, 403);
    assert.equal((await get('/api/v1/vms/9999/monitoring')).status, 404);
    assert.equal((await get('/api/v1/hosts/9999/monitoring')).status, 404);
    const anonymous = await app.inject({ method: 'GET', url: `/api/v1/hosts/${hostId}/monitoring` });
    assert.equal(anonymous.statusCode, 401);
  });

  it('refuses a bad range, and answers 503 while monitoring is not running', async () => {
    const backwards = await get(`/api/v1/vms/${vmId}/monitoring?since=${now}&until=${now - 1}`);
    assert.equal(backwards.status, 400);
    assert.equal(backwards.body.field, 'querystring/until');
    const bad = await get(`/api/v1/vms/${vmId}/monitoring?resolution=-1`);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'VALIDATION');
    const down = await get(`/api/v1/hosts/${hostId}/monitoring`, undefined, bare);
    assert.equal(down.status, 503);
    assert.equal(down.body.code, 'UNAVAILABLE');
  });

  it('after maintenance: buckets before the raw window, then raw samples; one resolution on request', async () => {
    // Ten minutes later: the samples older than the raw window (cut at a 300 s boundary) are buckets.
    const later = now + 900;
    await monitoring.recordVms(hostId, vmReport(later - 5, [{ id: vmId, cpu: 50 }]));
    const report = await monitoring.maintain(later);
    assert.equal(report.compacted >= 2, true, JSON.stringify(report));
    assert.equal(report.expired, 0);
    const since = `since=${now - 3_600}`;
    const merged = (await get(`/api/v1/vms/${vmId}/monitoring?${since}`)).body.MONITORING_DATA.MONITORING;
    const last = merged.at(-1);
    assert.deepEqual([last.TIMESTAMP, last.RESOLUTION, last.SAMPLES], [later - 5, 0, undefined]);
    const older = merged.slice(0, -1);
    assert.ok(older.length > 0 && older.every((r: { RESOLUTION: number }) => r.RESOLUTION === 300));
    assert.equal(
      older.reduce((n: number, r: { SAMPLES: number }) => n + r.SAMPLES, 0),
      2,
    );
    const buckets = (await get(`/api/v1/vms/${vmId}/monitoring?${since}&resolution=300`)).body.MONITORING_DATA
      .MONITORING;
    assert.ok(
      buckets.every(
        (r: { RESOLUTION: number; TIMESTAMP: number }) => r.RESOLUTION === 300 && r.TIMESTAMP % 300 === 0,
      ),
    );
    const raw = (await get(`/api/v1/vms/${vmId}/monitoring?${since}&resolution=0`)).body.MONITORING_DATA
      .MONITORING;
    assert.deepEqual(
      raw.map((r: { TIMESTAMP: number }) => r.TIMESTAMP),
      [later - 5],
    );
    const hostBuckets = (await get(`/api/v1/hosts/${hostId}/monitoring?${since}&resolution=300`)).body
      .MONITORING_DATA.MONITORING;
    assert.equal(
      hostBuckets.reduce((n: number, r: { SAMPLES: number }) => n + r.SAMPLES, 0),
      3,
    );
    assert.equal(hostBuckets[0].CAPACITY.TOTAL_CPU, 800);

    // An hour and more later, the buckets expire and a VM silent for the raw window leaves the map.
    const muchLater = later + 2 * 3_600;
    const gone = await monitoring.maintain(muchLater);
    assert.ok(gone.expired > 0);
    assert.equal(monitoring.latestVm(vmId), undefined);
  });

  it('load() brings back the newest sample of each VM that is not DONE', async () => {
    await monitoring.recordVms(hostId, vmReport(now + 10_000, [{ id: vmId, cpu: 7 }]));
    const restarted = new MonitoringService(t.nimbus.ctx, policy);
    assert.equal(await restarted.load(), 1);
    assert.equal(restarted.latestVm(vmId)?.data.CPU, 7);
    restarted.forgetVm(vmId);
    assert.equal(restarted.latestVm(vmId), undefined);
    restarted.start();
    restarted.start();
    await restarted.stop();
  });
});
