/**
 * Monitoring drives VM states: a VM missing from its host's report becomes UNKNOWN (never
 * POWEROFF) and comes back RUNNING when seen again; a guest that powers itself off is POWEROFF.
 * Samples are stored and served per VM and host.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DummyDriver } from '../../../src/agent/vmm/dummy.js';
import { startTestNimbus, type TestNimbus } from '../api/harness.js';
import { LifecycleProbe } from './probe.js';

describe('monitoring-driven states', { timeout: 120_000 }, () => {
  let t: TestNimbus;
  let probe: LifecycleProbe;

  before(async () => {
    t = await startTestNimbus({ placement: true, intervals: { monitorVmsS: 1, monitorHostS: 1, pingS: 5 } });
    probe = await LifecycleProbe.start(t);
  });
  after(async () => t.close());

  function driver(hostId: number): DummyDriver {
    const d = t.nimbus.lifecycle.embedded.runtime(hostId)?.loadedDriver;
    assert.ok(d instanceof DummyDriver);
    return d;
  }

  async function runningVm(): Promise<{ vm: number; host: number }> {
    // Striping spreads VMs: keep them off the hosts that inject failures.
    const vm = await probe.create(false, 'SCHED_REQUIREMENTS = "!(NAME = \\"fail-*\\")"');
    const running = await probe.until('placed and RUNNING', async () => {
      const s = await probe.state(vm);
      return s.key === 'RUNNING' ? s : undefined;
    });
    const history = (running.body.HISTORY_RECORDS as { HISTORY: { HID: number }[] }).HISTORY;
    return { vm, host: history[history.length - 1]!.HID };
  }

  it('places a PENDING VM by itself (the scheduler) and serves its samples', async () => {
    const { vm, host } = await runningVm();
    const samples = await probe.until('a VM sample', async () => {
      const r = await t.admin('GET', `/api/v1/vms/${vm}/monitoring`);
      return r.body.MONITORING_DATA?.MONITORING?.length > 0 ? r.body.MONITORING_DATA.MONITORING : undefined;
    });
    assert.equal(samples[0].ID, vm);
    assert.ok(samples[0].MEMORY > 0);
    const body = (await t.admin('GET', `/api/v1/vms/${vm}`)).body.VM;
    assert.ok(Number(body.MONITORING.MEMORY) > 0, 'the VM body shows the latest figures');
    assert.ok(body.LAST_POLL > 0);
    const hostSamples = await t.admin('GET', `/api/v1/hosts/${host}/monitoring`);
    assert.ok(hostSamples.body.MONITORING_DATA.MONITORING.length > 0);
  });

  it('the placement honours SCHED_REQUIREMENTS; a VM no host satisfies stays PENDING', async () => {
    const r = await t.admin(
      'POST',
      '/api/v1/vms',
      'NAME = req\nCPU = 0.1\nMEMORY = 64\nSCHED_REQUIREMENTS = "NAME = \\"oth*\\""',
    );
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const placed = await probe.until('RUNNING', async () => {
      const s = await probe.state(r.body.ID);
      return s.key === 'RUNNING' ? s : undefined;
    });
    const history = (placed.body.HISTORY_RECORDS as { HISTORY: { HID: number }[] }).HISTORY;
    assert.equal(history[history.length - 1]!.HID, probe.hosts.other);
    const none = await t.admin(
      'POST',
      '/api/v1/vms',
      'NAME = none\nCPU = 0.1\nMEMORY = 64\nSCHED_REQUIREMENTS = "GPU = 1"',
    );
    await new Promise((res) => setTimeout(res, 1500));
    assert.equal((await probe.state(none.body.ID)).key, 'PENDING');
  });

  it('a VM that vanishes is UNKNOWN, not POWEROFF; resume boots it again', async () => {
    const { vm, host } = await runningVm();
    await new Promise((r) => setTimeout(r, 1100)); // past the report that may predate RUNNING
    assert.ok(await driver(host).simulate(`one-${vm}`, 'vanish'));
    await probe.until('UNKNOWN', async () => ((await probe.state(vm)).key === 'UNKNOWN' ? true : undefined));
    // (A VM seen again by its host returns to RUNNING by itself: agent-join.test.ts.)
    assert.equal(await probe.must(vm, 'resume'), 'RUNNING');
    const log = await probe.log(vm);
    assert.match(
      log,
      /New LCM state is UNKNOWN[\s\S]*New LCM state is BOOT_UNKNOWN[\s\S]*New LCM state is RUNNING/,
    );
    assert.doesNotMatch(log, /New state is POWEROFF/);
  });

  it('a guest that powers itself off is POWEROFF; resume boots it again', async () => {
    const { vm, host } = await runningVm();
    await new Promise((r) => setTimeout(r, 1100));
    assert.ok(await driver(host).simulate(`one-${vm}`, 'poweroff'));
    await probe.until('POWEROFF', async () =>
      (await probe.state(vm)).key === 'POWEROFF' ? true : undefined,
    );
    assert.equal(await probe.must(vm, 'resume'), 'RUNNING');
  });

  it('a busy VM refuses a second action and says what it is busy with', async () => {
    const slow = await probe.host('slow', 'CPU = 1000\nMEMORY = 4194304\nDUMMY_DELAY_MS = 1500');
    const vm = await probe.create(true); // on HOLD: the placement leaves it alone
    const deployed = await t.admin('POST', `/api/v1/vms/${vm}/deploy`, { host: slow });
    assert.equal(deployed.status, 200, JSON.stringify(deployed.body));
    const refused = await t.admin('POST', `/api/v1/vms/${vm}/action`, { action: 'poweroff' });
    assert.equal(refused.status, 409);
    assert.match(
      refused.body.message,
      /busy: tm prolog on host \d+ for deploy, started \d+ s ago, times out in \d+ s/,
    );
    await probe.settle(vm);
  });
});

describe('a failed live migration', { timeout: 60_000 }, () => {
  let t: TestNimbus;
  let probe: LifecycleProbe;
  before(async () => {
    t = await startTestNimbus({ placement: false });
    probe = await LifecycleProbe.start(t);
  });
  after(async () => t.close());

  it('stays RUNNING on the source and leaves no receiver on the destination', async () => {
    const source = await probe.host('send-fails', 'CPU = 1000\nMEMORY = 4194304\nDUMMY_FAIL = "migrate"');
    const vm = await probe.create();
    assert.equal(await probe.must(vm, 'deploy', source), 'RUNNING');
    const r = await t.admin('POST', `/api/v1/vms/${vm}/migrate`, { host: probe.hosts.other, live: true });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(await probe.settle(vm), 'RUNNING');
    const history = ((await probe.state(vm)).body.HISTORY_RECORDS as { HISTORY: { HID: number }[] }).HISTORY;
    assert.equal(history[history.length - 1]!.HID, source);
    const destination = t.nimbus.lifecycle.embedded.runtime(probe.hosts.other)?.loadedDriver;
    assert.ok(destination instanceof DummyDriver);
    await probe.until('the receiver cleaned up', async () =>
      destination.deployIds().includes(`one-${vm}`) ? undefined : true,
    );
  });
});
