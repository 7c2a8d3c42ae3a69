/**
 * `nimbus vm` lifecycle verbs and `nimbus host show` against a listening nimbusd with dummy hosts.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cliRunner, startTestNimbus, type TestNimbus } from '../api/harness.js';
import { LifecycleProbe } from './probe.js';

describe('nimbus vm lifecycle verbs', { timeout: 180_000 }, () => {
  let t: TestNimbus;
  let probe: LifecycleProbe;
  let cli: ReturnType<typeof cliRunner>;

  before(async () => {
    t = await startTestNimbus({ listen: true, placement: false });
    probe = await LifecycleProbe.start(t);
    cli = cliRunner(t);
  });
  after(async () => t.close());

  it('deploy, wait, poweroff, resume, resize, log, terminate', async () => {
    const vm = await probe.create();
    await cli.run('vm', 'deploy', String(vm), String(probe.hosts.main));
    await cli.run('vm', 'wait', String(vm), '--state', 'RUNNING', '--timeout', '20');
    await cli.run('vm', 'poweroff', String(vm));
    await cli.run('vm', 'wait', String(vm), '--state', 'poff', '--timeout', '20');
    await cli.run('vm', 'resize', String(vm), '--cpu', '0.5', '--memory', '128M');
    await cli.run('vm', 'resume', String(vm));
    await cli.run('vm', 'wait', String(vm), '--state', 'RUNNING', '--timeout', '20');
    const show = await cli.run('vm', 'show', String(vm), '--json');
    const body = JSON.parse(show.stdout).VM;
    assert.equal(body.TEMPLATE.CPU, '0.5');
    assert.equal(body.TEMPLATE.MEMORY, '128');
    assert.ok(body.ALLOWED_ACTIONS.includes('poweroff'));
    assert.match(body.DENIED_ACTIONS.resume, /cannot resume VM \d+: it is RUNNING/);
    const log = await cli.run('vm', 'log', String(vm));
    assert.match(log.stdout, /\[Z0\]\[VM\]\[I\]: New LCM state is BOOT_POWEROFF/);
    await cli.run('vm', 'terminate', String(vm));
    await cli.run('vm', 'wait', String(vm), '--state', 'DONE', '--timeout', '20');
  });

  it('refuses with the state and reason, per VM, and exits non-zero', async () => {
    const a = await probe.create(true);
    const b = await probe.vmIn('RUNNING');
    const r = await cli.settle('vm', 'suspend', String(a), String(b));
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      new RegExp(`VM ${a}: ACTION_NOT_ALLOWED: cannot suspend VM ${a}: it is HOLD; suspend needs RUNNING`),
    );
    assert.equal(await probe.settle(b), 'SUSPENDED');
  });

  it('vm wait stops at a failure state with its error', async () => {
    const vm = await probe.create();
    await cli.run('vm', 'deploy', String(vm), String(probe.hosts.failDeploy));
    const r = await cli.settle('vm', 'wait', String(vm), '--state', 'RUNNING', '--timeout', '20');
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`VM ${vm} is in BOOT_FAILURE \\(wanted RUNNING\\): .*DUMMY_FAIL`));
    await cli.run('vm', 'recover', String(vm), '--delete');
    await cli.run('vm', 'wait', String(vm), '--state', 'DONE', '--timeout', '20');
  });

  it('disk and NIC hotplug', async () => {
    const vm = await probe.vmIn('RUNNING');
    const dir = await mkdtemp(join(tmpdir(), 'nimbus-cli-'));
    const file = join(dir, 'disk.tpl');
    await writeFile(file, 'DISK = [ TYPE = "fs", SIZE = "10" ]\n');
    const disk = await cli.run('vm', 'disk-attach', String(vm), '--file', file);
    assert.match(disk.stdout, /DISK_ID: 1/);
    await probe.settle(vm);
    await rm(dir, { recursive: true, force: true });
    const nic = await cli.run('vm', 'nic-attach', String(vm), '--network', 'probe-net');
    assert.match(nic.stdout, /NIC_ID: 1/);
    await probe.settle(vm);
    await cli.run('vm', 'nic-detach', String(vm), '0');
    await probe.settle(vm);
    await cli.run('vm', 'disk-resize', String(vm), '0', '20M');
    await probe.settle(vm);
    const body = JSON.parse((await cli.run('vm', 'show', String(vm), '--json')).stdout).VM;
    const nics = [body.TEMPLATE.NIC].flat();
    assert.deepEqual(
      nics.map((n: { NIC_ID: string }) => n.NIC_ID),
      ['1'],
    );
    const disks = [body.TEMPLATE.DISK].flat();
    assert.equal(disks[0].SIZE, '20');
    assert.deepEqual(
      disks.map((d: { DISK_ID: string }) => d.DISK_ID),
      ['0', '1'],
    );
  });

  it('host show prints capacity and the VMs on the host', async () => {
    const vm = await probe.vmIn('RUNNING');
    const show = await cli.run('host', 'show', String(probe.hosts.main));
    assert.match(show.stdout, /RUNNING VMS/);
    assert.match(show.stdout, /VIRTUAL MACHINES/);
    assert.match(show.stdout, new RegExp(`\\n\\s*${vm}\\s`));
  });
});
