/**
 * Quotas through the lifecycle: RUNNING_* are given back when a VM powers off and taken again
 * (checked) when it resumes; a resize moves CPU and MEMORY usage; an ended VM gives back exactly
 * what it held.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestNimbus, type Requester, type TestNimbus } from '../api/harness.js';
import { LifecycleProbe } from './probe.js';

describe('quotas through the lifecycle', { timeout: 120_000 }, () => {
  let t: TestNimbus;
  let probe: LifecycleProbe;
  let alice: { id: number; request: Requester };

  before(async () => {
    t = await startTestNimbus({ placement: false });
    probe = await LifecycleProbe.start(t);
    alice = await t.createUser('quota-alice');
    const set = await t.admin('PUT', `/api/v1/users/${alice.id}/quota`, {
      template: 'VM = [ VMS = 5, CPU = 10, MEMORY = 10240, RUNNING_VMS = 1 ]',
    });
    assert.equal(set.status, 200, JSON.stringify(set.body));
  });
  after(async () => t.close());

  const usage = async () => {
    const q = (await t.admin('GET', `/api/v1/users/${alice.id}/quota`)).body.QUOTAS.VM_QUOTA.VM;
    return {
      vms: q.VMS_USED,
      cpu: q.CPU_USED,
      mem: q.MEMORY_USED,
      running: q.RUNNING_VMS_USED,
      runningCpu: q.RUNNING_CPU_USED,
    };
  };
  const create = async (): Promise<{ status: number; id: number }> => {
    const r = await alice.request('POST', '/api/v1/vms', 'NAME = q\nCPU = 1\nMEMORY = 512');
    return { status: r.status, id: r.body.ID };
  };

  it('powering off gives RUNNING_* back; resuming past the quota is refused', async () => {
    const a = await create();
    assert.equal(a.status, 201);
    assert.deepEqual(await usage(), { vms: 1, cpu: 1, mem: 512, running: 1, runningCpu: 1 });
    assert.equal((await create()).status, 403, 'RUNNING_VMS = 1 is used');
    assert.equal(await probe.must(a.id, 'deploy'), 'RUNNING');
    assert.equal(await probe.must(a.id, 'poweroff'), 'POWEROFF');
    assert.deepEqual(await usage(), { vms: 1, cpu: 1, mem: 512, running: 0, runningCpu: 0 });

    const b = await create();
    assert.equal(b.status, 201, 'room again once A is powered off');
    const refused = await t.admin('POST', `/api/v1/vms/${a.id}/action`, { action: 'resume' });
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    assert.match(refused.body.message, /RUNNING_VMS/);
    assert.equal((await probe.state(a.id)).key, 'POWEROFF', 'a refused resume changes nothing');

    assert.equal(await probe.must(b.id, 'terminate'), 'DONE');
    assert.equal(await probe.must(a.id, 'resume'), 'RUNNING');
    assert.deepEqual(await usage(), { vms: 1, cpu: 1, mem: 512, running: 1, runningCpu: 1 });
  });

  it('a hot-attached NIC takes a lease of the LEASES quota; detaching gives it back', async () => {
    const net = await probe.vnet('quota-attach', '10.91.0.1', 4, '604');
    const set = await t.admin('PUT', `/api/v1/users/${alice.id}/quota`, {
      template: `NETWORK = [ ID = ${net}, LEASES = 1 ]`,
    });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    const leases = async () =>
      Number(
        (await t.admin('GET', `/api/v1/users/${alice.id}/quota`)).body.QUOTAS.NETWORK_QUOTA.NETWORK[0]
          .LEASES_USED,
      );
    const vm = (await t.admin('GET', `/api/v1/vms?filter=${alice.id}`)).body.VM_POOL.VM.find(
      (v: { STATE: number }) => v.STATE === 3,
    ).ID as number;
    const attach = () =>
      alice.request('POST', `/api/v1/vms/${vm}/nics`, { template: `NIC = [ NETWORK_ID = "${net}" ]` });
    const attached = await attach();
    assert.equal(attached.status, 200, JSON.stringify(attached.body));
    assert.equal(await probe.settle(vm), 'RUNNING');
    assert.equal(await leases(), 1);
    const refused = await attach();
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    assert.match(refused.body.message, /LEASES/);
    const nicId = attached.body.NIC_ID ?? attached.body.ID;
    const nics = (await t.admin('GET', `/api/v1/vms/${vm}`)).body.VM.TEMPLATE.NIC;
    const nic = (Array.isArray(nics) ? nics : [nics]).find(
      (n: { NETWORK_ID: string }) => n.NETWORK_ID === String(net),
    );
    const detached = await alice.request('DELETE', `/api/v1/vms/${vm}/nics/${nic?.NIC_ID ?? nicId}`);
    assert.equal(detached.status, 200, JSON.stringify(detached.body));
    assert.equal(await probe.settle(vm), 'RUNNING');
    assert.equal(await leases(), 0);
  });

  it('a resize moves CPU and MEMORY usage; terminating from POWEROFF gives back what it held', async () => {
    const before = await usage();
    const vm = (await t.admin('GET', `/api/v1/vms?filter=${alice.id}`)).body.VM_POOL.VM.find(
      (v: { STATE: number }) => v.STATE === 3,
    ).ID as number;
    assert.equal(await probe.must(vm, 'poweroff'), 'POWEROFF');
    const resized = await t.admin('POST', `/api/v1/vms/${vm}/resize`, { CPU: 2, MEMORY: 1024 });
    assert.equal(resized.status, 200, JSON.stringify(resized.body));
    assert.deepEqual(await usage(), { ...before, cpu: 2, mem: 1024, running: 0, runningCpu: 0 });
    assert.equal(await probe.must(vm, 'terminate'), 'DONE');
    assert.deepEqual(await usage(), { vms: 0, cpu: 0, mem: 0, running: 0, runningCpu: 0 });
  });
});
