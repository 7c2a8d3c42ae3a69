import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  loadDriver,
  performVmmOperation,
  type DriverClock,
  type DummyDriver,
  type OperationContext,
} from '../../../src/agent/vmm/index.js';
import type { DeploymentSpec } from '../../../src/protocol/agent.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function stateDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'nimbus-dummy-'));
  dirs.push(d);
  return d;
}

/** A clock whose sleeps advance it at once (so delays are asserted without waiting). */
class FakeClock implements DriverClock {
  t = 1_700_000_000_000;
  readonly sleeps: number[] = [];
  now(): number {
    return this.t;
  }
  async sleep(ms: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) throw signal.reason;
    this.sleeps.push(ms);
    this.t += ms;
  }
}

const ctx = (signal = new AbortController().signal): OperationContext & { lines: [number, string][] } => {
  const lines: [number, string][] = [];
  return { signal, progress: (p, m) => lines.push([p, m]), lines };
};

const spec = (id: number, patch: Partial<DeploymentSpec> = {}): DeploymentSpec => ({
  VMID: id,
  NAME: `vm-${id}`,
  DEPLOY_ID: `one-${id}`,
  CPU: 1,
  VCPU: 2,
  MEMORY: 2048,
  DISK: [
    { DISK_ID: 0, SOURCE: `/ds/0/${id}/disk.0`, TARGET: 'vda', FORMAT: 'qcow2', READONLY: false, SIZE: 8192 },
  ],
  NIC: [{ NIC_ID: 0, MAC: '02:00:0a:00:00:05', BRIDGE: 'br0', MODEL: 'virtio', TARGET: `one-${id}-0` }],
  ...patch,
});

async function open(
  attributes: Record<string, string> = {},
  dir?: string,
  clock: DriverClock = new FakeClock(),
  hostId = 1,
): Promise<DummyDriver> {
  return (await loadDriver('dummy', {
    hostId,
    stateDir: dir ?? (await stateDir()),
    attributes,
    clock,
  })) as DummyDriver;
}

describe('loadDriver', () => {
  it('chooses dummy, refuses qemu and unknown names clearly', async () => {
    const d = await open();
    assert.equal(d.name, 'dummy');
    await assert.rejects(loadDriver('qemu', { hostId: 1, stateDir: '/nonexistent', attributes: {} }), {
      code: 'DRIVER_NOT_AVAILABLE',
      message: /"qemu" is not available yet/,
    });
    await assert.rejects(loadDriver('xen', { hostId: 1, stateDir: '/nonexistent', attributes: {} }), {
      code: 'DRIVER_UNKNOWN',
    });
  });

  it('refuses bad knobs with the attribute named', async () => {
    await assert.rejects(open({ DUMMY_FAIL: 'deploy,explode' }), {
      code: 'BAD_HOST_ATTRIBUTE',
      field: 'DUMMY_FAIL',
    });
    await assert.rejects(open({ DUMMY_DELAY_MS: '-5' }), { field: 'DUMMY_DELAY_MS' });
    await assert.rejects(open({ MEMORY: 'lots' }), { field: 'MEMORY', message: /MEMORY = "lots"/ });
  });
});

describe('dummy driver', () => {
  it('deploy -> poll shows RUNNING with plausible figures; shutdown -> gone', async () => {
    const d = await open();
    const c = ctx();
    const r = await d.deploy(spec(42), c);
    assert.deepEqual(r, { ok: true, value: { deployId: 'one-42' } });
    assert.deepEqual(
      c.lines.map(([p]) => p),
      [0, 100],
    );
    const polled = await d.poll();
    assert.ok(polled.ok);
    const [vm] = polled.value.vms;
    assert.equal(vm?.deployId, 'one-42');
    assert.equal(vm?.vmId, 42);
    assert.equal(vm?.state, 'RUNNING');
    assert.ok(vm!.monitor.CPU > 0 && vm!.monitor.CPU <= 200);
    assert.ok(vm!.monitor.MEMORY > 0 && vm!.monitor.MEMORY <= 2048 * 1024);
    assert.deepEqual(vm!.monitor.DISK_SIZE, [{ ID: 0, SIZE: 8192 }]);

    assert.deepEqual(await d.shutdown('one-42', ctx()), { ok: true, value: undefined });
    const after = await d.poll();
    assert.ok(after.ok);
    assert.deepEqual(after.value.vms, []);
    // Shutting down a VM that is already gone is a success (a re-sent shutdown after a crash).
    assert.ok((await d.shutdown('one-42', ctx())).ok);
    await d.close();
  });

  it('re-sent deploy of a running VM succeeds without a second VM', async () => {
    const d = await open();
    assert.ok((await d.deploy(spec(7), ctx())).ok);
    assert.ok((await d.deploy(spec(7), ctx())).ok);
    assert.deepEqual(d.deployIds(), ['one-7']);
  });

  it('DUMMY_FAIL=deploy fails deploy with a clear driver message; other ops work', async () => {
    const d = await open({ DUMMY_FAIL: 'deploy' }, undefined, new FakeClock(), 5);
    const r = await d.deploy(spec(9), ctx());
    assert.equal(r.ok, false);
    assert.ok(!r.ok);
    assert.equal(r.error.code, 'DRIVER_FAILED');
    assert.equal(r.error.step, 'deploy');
    assert.match(r.error.message, /deploy of one-9 failed: host 5 has DUMMY_FAIL = "deploy"/);
    assert.deepEqual(d.deployIds(), []);
    assert.ok((await d.cancel('one-9', ctx())).ok);
  });

  it('DUMMY_FAIL takes a comma list', async () => {
    const d = await open({ DUMMY_FAIL: 'reboot, save' });
    assert.ok((await d.deploy(spec(1), ctx())).ok);
    assert.equal((await d.reboot('one-1', ctx())).ok, false);
    assert.equal((await d.save('one-1', '/cp/1', ctx())).ok, false);
    assert.ok((await d.reset('one-1', ctx())).ok);
  });

  it('DUMMY_DELAY_MS delays each operation (fake clock)', async () => {
    const clock = new FakeClock();
    const d = await open({ DUMMY_DELAY_MS: '250' }, undefined, clock);
    const start = clock.now();
    await d.deploy(spec(1), ctx());
    await d.reboot('one-1', ctx());
    assert.deepEqual(clock.sleeps, [250, 250]);
    assert.ok(clock.now() >= start + 500);
  });

  it('DUMMY_DELAY_MS: an operation does not finish before its delay (real timers)', async () => {
    const d = await loadDriver('dummy', {
      hostId: 1,
      stateDir: await stateDir(),
      attributes: { DUMMY_DELAY_MS: '30' },
    });
    const start = performance.now();
    await d.deploy(spec(1), ctx());
    assert.ok(performance.now() - start >= 29, 'finished before DUMMY_DELAY_MS');
    await d.close();
  });

  it('an abort during the delay fails the operation as ABORTED and changes nothing', async () => {
    const d = await loadDriver('dummy', {
      hostId: 1,
      stateDir: await stateDir(),
      attributes: { DUMMY_DELAY_MS: '10000' },
    });
    const ac = new AbortController();
    const pending = d.deploy(spec(3), ctx(ac.signal));
    ac.abort('driver-cancel');
    const r = await pending;
    assert.ok(!r.ok);
    assert.equal(r.error.code, 'ABORTED');
    const polled = await d.poll();
    assert.ok(polled.ok && polled.value.vms.length === 0);
    await d.close();
  });

  it('state survives a new driver instance on the same directory', async () => {
    const dir = await stateDir();
    const clock = new FakeClock();
    const a = await open({}, dir, clock);
    await a.deploy(spec(1), ctx());
    await a.deploy(spec(2), ctx());
    await a.save('one-2', '/cp/2', ctx());
    await a.attachDisk(
      'one-1',
      { DISK_ID: 1, SOURCE: '/x', TARGET: 'vdb', FORMAT: 'raw', READONLY: true },
      ctx(),
    );
    await a.close();
    const stored = JSON.parse(await readFile(join(dir, 'vmm-dummy', 'vms.json'), 'utf8')) as { vms: object };
    assert.deepEqual(Object.keys(stored.vms), ['one-1']);

    const b = await open({}, dir, clock);
    assert.deepEqual(b.deployIds(), ['one-1']);
    const polled = await b.poll();
    assert.ok(polled.ok);
    assert.deepEqual(
      polled.value.vms[0]?.monitor.DISK_SIZE.map((x) => x.ID),
      [0, 1],
    );
    assert.ok((await b.restore(spec(2), '/cp/2', ctx())).ok);
    assert.deepEqual(b.deployIds().sort(), ['one-1', 'one-2']);
    await assert.rejects(open({}, dir, clock, 2), { code: 'BAD_STATE_FILE' });
  });

  it('hotplug and resize, with errors for missing devices and VMs', async () => {
    const d = await open();
    await d.deploy(spec(1), ctx());
    const nic = { NIC_ID: 1, MAC: '02:00:0a:00:00:06', BRIDGE: 'br0', MODEL: 'virtio', TARGET: 'one-1-1' };
    assert.ok((await d.attachNic('one-1', nic, ctx())).ok);
    const again = await d.attachNic('one-1', nic, ctx());
    assert.ok(!again.ok && again.error.code === 'DEVICE_EXISTS');
    assert.ok((await d.detachNic('one-1', 1, ctx())).ok);
    const missing = await d.detachDisk('one-1', 9, ctx());
    assert.ok(!missing.ok && missing.error.code === 'DEVICE_NOT_FOUND');
    assert.ok((await d.resize('one-1', { CPU: 4, VCPU: 4, MEMORY: 8192 }, ctx())).ok);
    const polled = await d.poll();
    assert.ok(polled.ok && polled.value.vms[0]!.monitor.MEMORY <= 8192 * 1024);
    const gone = await d.reboot('one-404', ctx());
    assert.ok(
      !gone.ok &&
        gone.error.code === 'VM_NOT_FOUND' &&
        /one-404 is not running on host 1/.test(gone.error.message),
    );
  });

  it('live migration between two hosts of the process', async () => {
    const src = await open({}, undefined, new FakeClock(), 1);
    const dst = await open({}, undefined, new FakeClock(), 2);
    await src.deploy(spec(5), ctx());
    const receive = await dst.migrateReceive(spec(5), ctx());
    assert.ok(receive.ok);
    let polled = await dst.poll();
    assert.ok(polled.ok && polled.value.vms.length === 0, 'an incoming VM is not reported yet');
    assert.ok((await src.migrateSend('one-5', receive.value.target, ctx())).ok);
    assert.deepEqual(src.deployIds(), []);
    polled = await dst.poll();
    assert.ok(polled.ok && polled.value.vms[0]?.state === 'RUNNING');
    const nowhere = await dst.migrateSend('one-5', { hostId: 9, uri: 'dummy://host-9/one-5/x' }, ctx());
    assert.ok(!nowhere.ok && nowhere.error.step === 'migrate: connect to destination');
  });

  it('simulated faults: poweroff and vanish show in poll', async () => {
    const d = await open();
    await d.deploy(spec(1), ctx());
    await d.deploy(spec(2), ctx());
    await d.simulate('one-1', 'poweroff');
    await d.simulate('one-2', 'vanish');
    const polled = await d.poll();
    assert.ok(polled.ok);
    assert.deepEqual(
      polled.value.vms.map((v) => [v.deployId, v.state, v.monitor.CPU]),
      [['one-1', 'POWEROFF', 0]],
    );
  });

  it('host capacity from CPU (cores) and MEMORY (MB), defaults 16 cores / 64 GiB', async () => {
    const def = await (await open()).hostInfo();
    assert.ok(def.ok);
    assert.equal(def.value.host.TOTALCPU, 1600);
    assert.equal(def.value.host.TOTALMEMORY, 65536 * 1024);
    const d = await open({ CPU: '8', MEMORY: '16384' });
    await d.deploy(spec(1), ctx());
    const info = await d.hostInfo();
    assert.ok(info.ok);
    const h = info.value.host;
    assert.equal(h.TOTALCPU, 800);
    assert.equal(h.TOTALMEMORY, 16384 * 1024);
    assert.equal(h.USEDCPU + h.FREECPU, h.TOTALCPU);
    assert.equal(h.USEDMEMORY + h.FREEMEMORY, h.TOTALMEMORY);
    assert.ok(h.USEDCPU > 0);
  });

  it('deploys and polls 5,000 VMs (operations finishing together share writes)', async () => {
    const d = await open({ CPU: '2000', MEMORY: '16777216' });
    const ids = Array.from({ length: 5000 }, (_, i) => i);
    const results = await Promise.all(ids.map((i) => d.deploy(spec(i), ctx())));
    assert.ok(results.every((r) => r.ok));
    const polled = await d.poll();
    assert.ok(polled.ok);
    assert.equal(polled.value.vms.length, 5000);
    assert.ok(polled.value.vms.every((v) => v.state === 'RUNNING'));
    assert.ok((await d.hostInfo()).ok);
    await d.close();
  });

  it('figures are deterministic for a seed', async () => {
    const a = await open({ DUMMY_SEED: '7' });
    const b = await open({ DUMMY_SEED: '7' });
    await a.deploy(spec(1), ctx());
    await b.deploy(spec(1), ctx());
    assert.deepEqual(await a.poll(), await b.poll());
  });

  it('monitoring: counters only grow, CPU and MEMORY stay within the allocation (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 128, max: 262_144 }),
        fc.array(
          fc.record({
            advanceMs: fc.integer({ min: -60_000, max: 3_600_000 }),
            action: fc.constantFrom('poll', 'reboot', 'save-restore', 'poweroff-run', 'resize'),
          }),
          { minLength: 1, maxLength: 25 },
        ),
        async (seed, vcpu, memory, steps) => {
          const clock = new FakeClock();
          const d = await open({ DUMMY_SEED: String(seed) }, undefined, clock);
          let alloc = { VCPU: vcpu, MEMORY: memory };
          await d.deploy(spec(1, alloc), ctx());
          let last: Record<string, number> = {};
          let lastHost = { NETRX: 0, NETTX: 0 };
          for (const step of steps) {
            clock.t += step.advanceMs; // may go back: counters must not
            if (step.action === 'reboot') await d.reboot('one-1', ctx());
            if (step.action === 'save-restore') {
              await d.save('one-1', '/cp', ctx());
              clock.t += 1000;
              await d.restore(spec(1, alloc), '/cp', ctx());
            }
            if (step.action === 'poweroff-run') {
              await d.simulate('one-1', 'poweroff');
              clock.t += 5000;
              await d.simulate('one-1', 'run');
            }
            if (step.action === 'resize') {
              alloc = { VCPU: Math.max(1, alloc.VCPU - 1), MEMORY: Math.max(128, alloc.MEMORY - 64) };
              await d.resize('one-1', { CPU: 1, ...alloc }, ctx());
            }
            const polled = await d.poll();
            assert.ok(polled.ok);
            const m = polled.value.vms[0]!.monitor;
            assert.ok(m.CPU >= 0 && m.CPU <= alloc.VCPU * 100);
            assert.ok(m.MEMORY >= 0 && m.MEMORY <= alloc.MEMORY * 1024);
            for (const key of [
              'NETRX',
              'NETTX',
              'DISKRDBYTES',
              'DISKWRBYTES',
              'DISKRDIOPS',
              'DISKWRIOPS',
            ] as const) {
              assert.ok(m[key] >= (last[key] ?? 0), `${key} went from ${last[key]} to ${m[key]}`);
            }
            last = { ...m } as unknown as Record<string, number>;
            const host = await d.hostInfo();
            assert.ok(host.ok);
            assert.ok(host.value.host.NETRX >= lastHost.NETRX && host.value.host.NETTX >= lastHost.NETTX);
            lastHost = host.value.host;
          }
          await d.close();
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('performVmmOperation', () => {
  it('maps protocol operations to driver calls and results', async () => {
    const d = await open({ DUMMY_FAIL: 'reboot' });
    const deployed = await performVmmOperation(
      d,
      { type: 'operation', opId: 'o1', vmId: 3, driver: 'vmm', op: 'deploy', args: { spec: spec(3) } },
      ctx(),
    );
    assert.deepEqual(deployed, { ok: true, value: { deployId: 'one-3' } });
    const rebooted = await performVmmOperation(
      d,
      { type: 'operation', opId: 'o2', vmId: 3, driver: 'vmm', op: 'reboot', args: {} },
      ctx(),
    );
    assert.ok(!rebooted.ok && rebooted.error.step === 'reboot' && rebooted.error.code === 'DRIVER_FAILED');
    const snap = await performVmmOperation(
      d,
      {
        type: 'operation',
        opId: 'o3',
        vmId: 3,
        driver: 'vmm',
        op: 'snapshot-create',
        args: { snapshotId: 0 },
      },
      ctx(),
    );
    assert.ok(!snap.ok && snap.error.code === 'NOT_SUPPORTED');
    const cleaned = await performVmmOperation(
      d,
      { type: 'operation', opId: 'o4', vmId: 3, driver: 'vmm', op: 'cleanup', args: {} },
      ctx(),
    );
    assert.ok(cleaned.ok);
    assert.deepEqual(d.deployIds(), []);
  });
});
