/**
 * The scheduler through the API on an in-process nimbusd with dummy hosts: SCHED_MESSAGE and
 * GET /vms/:id/placement for VMs it cannot place (requirements, capacity, disabled hosts),
 * SCHED_PENDING_TIMEOUT, VM group rules, striping, USER_PRIORITY, resched, auto NICs, sched.log
 * and `nimbus vm explain`.
 *
 * The probe's hosts (host 0, other, fail-*) stay in the pool; each test makes its own hosts with a
 * LABEL and pins its VMs to them with SCHED_REQUIREMENTS, so tests do not disturb each other.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cliRunner, startTestNimbus, type CliRunner, type TestNimbus } from '../api/harness.js';
import { LifecycleProbe } from './probe.js';

/** `Thu Aug  7 22:17:06 2014: ` (C ctime, then the text). */
const CTIME = /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}: /;
const PLACE_MS = 20_000;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Body = any;

describe('scheduler', { timeout: 300_000 }, () => {
  let t: TestNimbus;
  let probe: LifecycleProbe;
  let cli: CliRunner;

  before(async () => {
    t = await startTestNimbus({ listen: true, placement: true });
    probe = await LifecycleProbe.start(t);
    cli = cliRunner(t);
  });
  after(async () => t.close());

  /** A dummy host with `cpu` cores, `memMb` MB and LABEL = label, MONITORED with that capacity. */
  async function host(name: string, label: string, cpu = 4, memMb = 4096): Promise<number> {
    const created = await t.admin('POST', '/api/v1/hosts', { name, im: 'dummy', vm: 'dummy' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.ID as number;
    const updated = await t.admin('PUT', `/api/v1/hosts/${id}/template`, {
      template: `CPU = ${cpu}\nMEMORY = ${memMb}\nLABEL = "${label}"`,
      merge: true,
    });
    assert.equal(updated.status, 200, JSON.stringify(updated.body));
    await probe.until(
      `host ${name} MONITORED with ${cpu} cores`,
      async () => {
        const h = (await t.admin('GET', `/api/v1/hosts/${id}`)).body.HOST;
        return h.STATE === 2 && h.HOST_SHARE.TOTAL_CPU === cpu * 100 ? true : undefined;
      },
      30_000,
    );
    return id;
  }

  /** A VM from template text; `label` pins it to the hosts with that LABEL. */
  async function vm(name: string, lines: string, label?: string): Promise<number> {
    const pin = label === undefined ? '' : `\nSCHED_REQUIREMENTS = "LABEL = \\"${label}\\""`;
    const r = await t.admin('POST', '/api/v1/vms', `NAME = "${name}"\n${lines}${pin}`);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.ID as number;
  }

  async function show(id: number): Promise<Body> {
    return (await t.admin('GET', `/api/v1/vms/${id}`)).body.VM;
  }

  async function placement(id: number): Promise<Body> {
    const r = await t.admin('GET', `/api/v1/vms/${id}/placement`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body;
  }

  /** The host of a VM's last history record, or undefined. */
  function hostOf(body: Body): number | undefined {
    const history = body.HISTORY_RECORDS?.HISTORY ?? [];
    return history[history.length - 1]?.HID;
  }

  /** Waits until the VM is RUNNING and returns its host. */
  async function running(id: number): Promise<number> {
    return probe.until(
      `VM ${id} RUNNING`,
      async () => {
        const s = await probe.state(id);
        return s.key === 'RUNNING' && s.stable ? hostOf(s.body) : undefined;
      },
      PLACE_MS,
    );
  }

  /** Waits until the scheduler wrote SCHED_MESSAGE on the VM and returns it. */
  async function schedMessage(id: number): Promise<string> {
    return probe.until(
      `SCHED_MESSAGE of VM ${id}`,
      async () => {
        const m = (await show(id)).USER_TEMPLATE.SCHED_MESSAGE;
        return typeof m === 'string' && m !== '' ? m : undefined;
      },
      PLACE_MS,
    );
  }

  async function hostCount(): Promise<number> {
    return (await t.admin('GET', '/api/v1/hosts')).body.HOST_POOL.HOST.length;
  }

  it('a VM no host satisfies stays PENDING with SCHED_MESSAGE; /placement rejects every host by REQUIREMENTS', async () => {
    const id = await vm('nowhere', 'CPU = 0.1\nMEMORY = 64', 'nowhere');
    const message = await schedMessage(id);
    assert.match(message, CTIME);
    assert.match(
      message.replace(CTIME, ''),
      /^Cannot dispatch VM: No host meets capacity and SCHED_REQUIREMENTS: .*LABEL = "nowhere"/,
    );
    const p = await placement(id);
    assert.equal(p.VM_ID, id);
    assert.equal(p.STATE, 'PENDING');
    assert.equal(p.PENDING, true);
    assert.equal(p.SCHED_MESSAGE, message);
    assert.equal(p.MESSAGE, message.replace(CTIME, ''));
    assert.equal(typeof p.PENDING_SINCE, 'number');
    assert.ok(Math.abs(p.PENDING_SINCE - Date.now() / 1000) < 120, String(p.PENDING_SINCE));
    assert.match(p.REQUIREMENTS, /LABEL = "nowhere"/);
    assert.deepEqual(p.DEMAND, { CPU: 10, MEMORY: 65536, DISK_MB: 0 });
    assert.equal(p.CHOICE, null);
    const hosts = await hostCount();
    assert.equal(p.HOSTS.length, hosts);
    for (const h of p.HOSTS) {
      assert.equal(h.VERDICT, 'REJECTED', JSON.stringify(h));
      assert.equal(h.REASON_CODE, 'REQUIREMENTS', JSON.stringify(h));
      assert.match(h.REASON, /^It does not fulfill SCHED_REQUIREMENTS: .*LABEL = "nowhere"/);
      assert.equal(h.RANK, null);
    }
    assert.deepEqual(p.REJECTED, { REQUIREMENTS: hosts });
    assert.equal((await probe.state(id)).key, 'PENDING');
  });

  it('a VM bigger than any host: "No host with enough capacity", per host CPU req/avail', async () => {
    const id = await vm('huge', 'CPU = 5000\nMEMORY = 64');
    const message = await schedMessage(id);
    assert.equal(
      message.replace(CTIME, ''),
      'Cannot dispatch VM: No host with enough capacity to deploy the VM',
    );
    const p = await placement(id);
    assert.equal(p.DEMAND.CPU, 500_000);
    assert.ok(p.HOSTS.length > 0);
    for (const h of p.HOSTS) {
      assert.equal(h.REASON_CODE, 'CPU', JSON.stringify(h));
      assert.match(h.REASON, /^Not enough CPU capacity: 500000\/\d+$/);
    }
    const big = p.HOSTS.find((h: Body) => h.ID === probe.hosts.other);
    const shown = (await t.admin('GET', `/api/v1/hosts/${probe.hosts.other}`)).body.HOST.HOST_SHARE;
    assert.equal(big.REASON, `Not enough CPU capacity: 500000/${shown.MAX_CPU - shown.CPU_USAGE}`);
    await t.admin('DELETE', `/api/v1/vms/${id}`);
  });

  it('a disabled host is rejected with HOST_STATE', async () => {
    const off = await host('sched-off', 'off');
    const disabled = await t.admin('POST', `/api/v1/hosts/${off}/disable`);
    assert.equal(disabled.status, 200, JSON.stringify(disabled.body));
    const id = await vm('to-disabled', 'CPU = 0.1\nMEMORY = 64', 'off');
    await schedMessage(id);
    const p = await placement(id);
    const h = p.HOSTS.find((x: Body) => x.ID === off);
    assert.equal(h.VERDICT, 'REJECTED');
    assert.equal(h.REASON_CODE, 'HOST_STATE');
    assert.match(h.REASON, /^Host is DISABLED, not enabled to run VMs\.$/);
    assert.equal(p.REJECTED.HOST_STATE, 1);
    assert.equal((await probe.state(id)).key, 'PENDING');
    // Enabled again, it takes the VM.
    assert.equal((await t.admin('POST', `/api/v1/hosts/${off}/enable`)).status, 200);
    assert.equal(await running(id), off);
    assert.equal((await show(id)).USER_TEMPLATE.SCHED_MESSAGE ?? '', '', 'SCHED_MESSAGE cleared');
  });

  it('SCHED_PENDING_TIMEOUT = 2 moves an unplaceable VM to HOLD with a SCHED_MESSAGE saying why', async () => {
    const id = await vm('impatient', 'CPU = 0.1\nMEMORY = 64\nSCHED_PENDING_TIMEOUT = 2', 'never');
    const started = Date.now();
    const held = await probe.until(
      `VM ${id} on HOLD`,
      async () => {
        const s = await probe.state(id);
        return s.key === 'HOLD' ? (s.body as Body) : undefined;
      },
      15_000,
    );
    assert.ok(Date.now() - started >= 1_500, 'not held before its timeout');
    const message = held.USER_TEMPLATE.SCHED_MESSAGE as string;
    assert.match(message, CTIME);
    assert.match(
      message,
      /Cannot dispatch VM: No host meets capacity and SCHED_REQUIREMENTS: .*LABEL = "never".* \(held after \d+ s pending, SCHED_PENDING_TIMEOUT = 2\)$/,
    );
    const p = await placement(id);
    assert.equal(p.STATE, 'HOLD');
    assert.equal(p.PENDING, false);
    assert.equal(p.PENDING_SINCE, null);
    assert.equal(p.SCHED_MESSAGE, message);
  });

  it('VM groups: ANTI_AFFINED VMs on distinct hosts, the one too many stays PENDING; AFFINED VMs share a host', async () => {
    const hosts = [await host('grp-0', 'grp'), await host('grp-1', 'grp'), await host('grp-2', 'grp')];
    const group = await t.admin(
      'POST',
      '/api/v1/vmgroups',
      'NAME = "sched-group"\nROLE = [ NAME = "spread", POLICY = "ANTI_AFFINED" ]\nROLE = [ NAME = "together", POLICY = "AFFINED" ]',
    );
    assert.equal(group.status, 201, JSON.stringify(group.body));
    const member = (role: string): string =>
      `CPU = 0.1\nMEMORY = 64\nVMGROUP = [ VMGROUP_NAME = "sched-group", ROLE = "${role}" ]`;

    const spread = [];
    for (let i = 0; i < 3; i++) spread.push(await vm(`spread-${i}`, member('spread'), 'grp'));
    const on = await Promise.all(spread.map(running));
    assert.deepEqual([...on].sort(), [...hosts].sort(), `spread VMs on ${on.join(', ')}`);
    const fourth = await vm('spread-3', member('spread'), 'grp');
    const message = await schedMessage(fourth);
    assert.match(message.replace(CTIME, ''), /^Cannot dispatch VM: No host satisfies the VM group rules: /);
    const p = await placement(fourth);
    for (const id of hosts) {
      const h = p.HOSTS.find((x: Body) => x.ID === id);
      assert.equal(h.REASON_CODE, 'VM_AFFINITY', JSON.stringify(h));
    }
    assert.equal((await probe.state(fourth)).key, 'PENDING');

    const together = [];
    for (let i = 0; i < 3; i++) together.push(await vm(`together-${i}`, member('together'), 'grp'));
    const shared = await Promise.all(together.map(running));
    assert.equal(new Set(shared).size, 1, `AFFINED VMs on ${shared.join(', ')}`);
    assert.ok(hosts.includes(shared[0]!));
  });

  it('striping: 4 VMs on 4 idle hosts land on 4 different hosts', async () => {
    const hosts = [];
    for (let i = 0; i < 4; i++) hosts.push(await host(`stripe-${i}`, 'stripe'));
    const vms = await Promise.all(
      [0, 1, 2, 3].map((i) => vm(`striped-${i}`, 'CPU = 0.5\nMEMORY = 128', 'stripe')),
    );
    const on = await Promise.all(vms.map(running));
    assert.deepEqual([...on].sort(), [...hosts].sort(), `striped VMs on ${on.join(', ')}`);
  });

  it('USER_PRIORITY: with room for one VM, the higher priority VM is placed', async () => {
    const room = await host('prio-0', 'prio-later', 1, 1024);
    // Both wait for a host with LABEL = "prio" (none yet), so one pass sees them together.
    const low = await vm('low', 'CPU = 1\nMEMORY = 512\nUSER_PRIORITY = 0', 'prio');
    const high = await vm('high', 'CPU = 1\nMEMORY = 512\nUSER_PRIORITY = 10', 'prio');
    await schedMessage(low);
    await schedMessage(high);
    const relabelled = await t.admin('PUT', `/api/v1/hosts/${room}/template`, {
      template: 'LABEL = "prio"',
      merge: true,
    });
    assert.equal(relabelled.status, 200, JSON.stringify(relabelled.body));
    assert.equal(await running(high), room);
    const p = await placement(low);
    assert.equal((await probe.state(low)).key, 'PENDING');
    const h = p.HOSTS.find((x: Body) => x.ID === room);
    assert.equal(h.REASON_CODE, 'CPU', JSON.stringify(h));
    assert.equal(h.REASON, 'Not enough CPU capacity: 100/0');
  });

  it('resched moves a RUNNING VM to another host; sched.log has the dispatch table and match-making results', async () => {
    const a = await host('mig-a', 'mig');
    const b = await host('mig-b', 'mig');
    const id = await vm('mover', 'CPU = 0.5\nMEMORY = 128', 'mig');
    const first = await running(id);
    assert.ok([a, b].includes(first));
    const r = await t.admin('POST', `/api/v1/vms/${id}/action`, { action: 'resched' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const moved = await probe.until(
      `VM ${id} RUNNING on the other host`,
      async () => {
        const s = await probe.state(id);
        const now = hostOf(s.body);
        return s.key === 'RUNNING' && s.stable && now !== first ? now : undefined;
      },
      PLACE_MS,
    );
    assert.equal(moved, first === a ? b : a);
    assert.equal((await show(id)).RESCHED, 0);
    const log = await probe.until('sched.log written', async () => {
      const text = await readFile(join(t.home, 'sched.log'), 'utf8').catch(() => '');
      return text.includes('Dispatching VMs to hosts:') && text.includes('Match-making results for VM')
        ? text
        : undefined;
    });
    assert.match(log, /\[Z0\]\[SCHED\]\[D\]: Dispatching VMs to hosts:/);
    assert.match(log, new RegExp(`\\t${id}\\t0\\t\\t${moved}\\t\\d+`));
  });

  it('NETWORK_MODE = "auto": the VM gets a network of its host cluster and a lease; none suitable keeps it PENDING', async () => {
    await host('auto-net', 'auto');
    const net = await probe.vnet('sched-auto', '10.88.0.1', 4);
    const id = await vm(
      'auto-nic',
      `CPU = 0.1\nMEMORY = 64\nNIC = [ NETWORK_MODE = "auto", SCHED_REQUIREMENTS = "ID = ${net}" ]`,
      'auto',
    );
    await running(id);
    const nics = (await show(id)).TEMPLATE.NIC;
    const nic = Array.isArray(nics) ? nics[0] : nics;
    assert.equal(nic.NETWORK_ID, String(net), JSON.stringify(nic));
    assert.match(nic.IP, /^10\.88\.0\.[1-4]$/);
    const leases = await t.admin('GET', `/api/v1/vnets/${net}/leases`);
    assert.ok(JSON.stringify(leases.body).includes(nic.IP), JSON.stringify(leases.body));

    const stuck = await vm(
      'auto-nowhere',
      'CPU = 0.1\nMEMORY = 64\nNIC = [ NETWORK_MODE = "auto", SCHED_REQUIREMENTS = "ID = 999999" ]',
      'auto',
    );
    const message = await schedMessage(stuck);
    assert.match(
      message.replace(CTIME, ''),
      /^Cannot dispatch VM: No virtual network with free leases meets NIC 0/,
    );
    const p = await placement(stuck);
    assert.ok(p.NETWORKS.length > 0, JSON.stringify(p.NETWORKS));
    for (const n of p.NETWORKS) {
      assert.equal(n.VERDICT, 'REJECTED', JSON.stringify(n));
      assert.equal(n.NIC_ID, 0);
    }
    assert.ok(p.NETWORKS.some((n: Body) => n.ID === net && n.REASON_CODE === 'REQUIREMENTS'));
    const h = p.HOSTS.find((x: Body) => x.NAME === 'auto-net');
    assert.equal(h.REASON_CODE, 'NO_NETWORK', JSON.stringify(h));
  });

  it('an auto NIC lease counts in the owner LEASES quota; past it the VM stays PENDING saying why', async () => {
    await host('quota-host', 'quota');
    const net = await probe.vnet('quota-net', '10.90.0.1', 8, '604');
    const bob = await t.createUser('sched-quota-bob');
    for (const rule of [`#${bob.id} HOST/* MANAGE`, `#${bob.id} DATASTORE/* USE`]) {
      const acl = await t.admin('POST', '/api/v1/acl', { rule });
      assert.equal(acl.status, 201, JSON.stringify(acl.body));
    }
    const quota = await t.admin('PUT', `/api/v1/users/${bob.id}/quota`, {
      template: `NETWORK = [ ID = ${net}, LEASES = 1 ]`,
    });
    assert.equal(quota.status, 200, JSON.stringify(quota.body));
    const leasesUsed = async () =>
      (await t.admin('GET', `/api/v1/users/${bob.id}/quota`)).body.QUOTAS.NETWORK_QUOTA.NETWORK[0]
        .LEASES_USED;
    const create = async (name: string): Promise<number> => {
      const r = await bob.request(
        'POST',
        '/api/v1/vms',
        `NAME = "${name}"\nCPU = 0.1\nMEMORY = 64\nNIC = [ NETWORK_MODE = "auto", SCHED_REQUIREMENTS = "ID = ${net}" ]\nSCHED_REQUIREMENTS = "LABEL = \\"quota\\""`,
      );
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body.ID as number;
    };
    const first = await create('quota-1');
    await running(first);
    assert.equal(Number(await leasesUsed()), 1);
    const second = await create('quota-2');
    const message = await schedMessage(second);
    assert.match(message.replace(CTIME, ''), /^Cannot dispatch VM: .*LEASES/);
    assert.equal((await show(second)).STATE, 1, 'PENDING');
    const done = await t.admin('POST', `/api/v1/vms/${first}/action`, { action: 'terminate-hard' });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    await running(second); // the lease and its quota came back: the next pass places it
    assert.equal(Number(await leasesUsed()), 1);
    await probe.until(`VM ${first} DONE`, async () => ((await show(first)).STATE === 6 ? true : undefined));
    const ended = await t.admin('GET', `/api/v1/vms/${first}/placement`);
    assert.equal(ended.status, 409, JSON.stringify(ended.body));
  });

  it('a VM waiting for a host is placed when one with the right label appears', async () => {
    const id = await vm('late-host', 'CPU = 0.1\nMEMORY = 64', 'late');
    assert.match(
      (await schedMessage(id)).replace(CTIME, ''),
      /No host meets capacity and SCHED_REQUIREMENTS/,
    );
    const h = await host('late-1', 'late');
    assert.equal(await running(id), h);
    assert.equal((await show(id)).USER_TEMPLATE.SCHED_MESSAGE, undefined, 'cleared at dispatch');
  });

  it('a negative RESERVED_CPU overcommits: two 1-CPU VMs fit a 1-core host with RESERVED_CPU = -100', async () => {
    const h = await host('overcommit', 'overcommit', 1, 4096);
    const more = await t.admin('PUT', `/api/v1/hosts/${h}/template`, {
      template: 'RESERVED_CPU = "-100"',
      merge: true,
    });
    assert.equal(more.status, 200, JSON.stringify(more.body));
    await probe.until('MAX_CPU 200', async () =>
      (await t.admin('GET', `/api/v1/hosts/${h}`)).body.HOST.HOST_SHARE.MAX_CPU === 200 ? true : undefined,
    );
    const a = await vm('oc-a', 'CPU = 1\nMEMORY = 64', 'overcommit');
    const b = await vm('oc-b', 'CPU = 1\nMEMORY = 64', 'overcommit');
    assert.equal(await running(a), h);
    assert.equal(await running(b), h);
    const c = await vm('oc-c', 'CPU = 1\nMEMORY = 64', 'overcommit');
    // Other hosts have room but not the label: OpenNebula counts capacity before requirements.
    assert.match((await schedMessage(c)).replace(CTIME, ''), /No host meets capacity and SCHED_REQUIREMENTS/);
    const p = await placement(c);
    assert.equal(p.HOSTS.find((x: Body) => x.ID === h).REASON, 'Not enough CPU capacity: 100/0');
  });

  it('release recomputes AUTOMATIC_REQUIREMENTS from the clusters of the VM networks as they are now', async () => {
    const cluster = await t.admin('POST', '/api/v1/clusters', { name: 'req-moved' });
    assert.equal(cluster.status, 201, JSON.stringify(cluster.body));
    const cid = cluster.body.ID as number;
    const net = await probe.vnet('req-net', '10.89.0.1', 4);
    const r = await t.admin(
      'POST',
      '/api/v1/vms?hold=true',
      `NAME = "req"\nCPU = 0.1\nMEMORY = 64\nNIC = [ NETWORK_ID = "${net}" ]`,
    );
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const id = r.body.ID as number;
    assert.match((await show(id)).TEMPLATE.AUTOMATIC_REQUIREMENTS, /^\(CLUSTER_ID = 0\) & /);
    for (const [method, path] of [
      ['PUT', `/api/v1/clusters/${cid}/vnets/${net}`],
      ['DELETE', `/api/v1/clusters/0/vnets/${net}`],
    ] as const) {
      const moved = await t.admin(method, path);
      assert.equal(moved.status, 200, JSON.stringify(moved.body));
    }
    const released = await t.admin('POST', `/api/v1/vms/${id}/action`, { action: 'release' });
    assert.equal(released.status, 200, JSON.stringify(released.body));
    const template = (await show(id)).TEMPLATE;
    assert.equal(
      template.AUTOMATIC_REQUIREMENTS,
      `(CLUSTER_ID = ${cid}) & !(PUBLIC_CLOUD = YES) & !(PIN_POLICY = PINNED)`,
    );
    assert.equal(template.AUTOMATIC_DS_REQUIREMENTS, `("CLUSTERS/ID" @> ${cid})`);
    const terminated = await t.admin('POST', `/api/v1/vms/${id}/action`, { action: 'terminate-hard' });
    assert.equal(terminated.status, 200, JSON.stringify(terminated.body));
  });

  it('GRAPHICS gets a VNC port per cluster at deploy: the hint 5900 + id, a requested one only if free', async () => {
    await host('vnc-host', 'vnc');
    const graphics = 'GRAPHICS = [ TYPE = "VNC", LISTEN = "0.0.0.0" ]';
    const a = await vm('vnc-a', `CPU = 0.1\nMEMORY = 64\n${graphics}`, 'vnc');
    await running(a);
    const port = async (id: number): Promise<string> => {
      const g = (await show(id)).TEMPLATE.GRAPHICS;
      return (Array.isArray(g) ? g[0] : g).PORT;
    };
    assert.equal(await port(a), String(5900 + a));
    const b = await vm(
      'vnc-b',
      `CPU = 0.1\nMEMORY = 64\nGRAPHICS = [ TYPE = "VNC", PORT = "${5900 + a}" ]`,
      'vnc',
    );
    assert.match(
      (await schedMessage(b)).replace(CTIME, ''),
      /^Cannot dispatch VM: Requested VNC port already assigned to a VM/,
    );
    const undeployed = await t.admin('POST', `/api/v1/vms/${a}/action`, { action: 'undeploy-hard' });
    assert.equal(undeployed.status, 200, JSON.stringify(undeployed.body));
    await running(b); // A's port came back when it left the host
    assert.equal(await port(b), String(5900 + a));
    const resumed = await t.admin('POST', `/api/v1/vms/${a}/action`, { action: 'resume' });
    assert.equal(resumed.status, 200, JSON.stringify(resumed.body));
    // A asks for its old port again (OpenNebula keeps GRAPHICS/PORT): B has it now.
    assert.match((await schedMessage(a)).replace(CTIME, ''), /Requested VNC port already assigned/);
    for (const id of [a, b]) {
      const done = await t.admin('POST', `/api/v1/vms/${id}/action`, { action: 'terminate-hard' });
      assert.equal(done.status, 200, JSON.stringify(done.body));
    }
  });

  it('a migration to another cluster takes a VNC port there and frees the old one once it succeeds', async () => {
    const here = await host('vnc-mig-a', 'vncmig');
    const there = await host('vnc-mig-b', 'vncmig-b');
    const cluster = await t.admin('POST', '/api/v1/clusters', { name: 'vnc-other' });
    assert.equal(cluster.status, 201, JSON.stringify(cluster.body));
    const cid = cluster.body.ID as number;
    for (const path of [`/api/v1/clusters/${cid}/hosts/${there}`, `/api/v1/clusters/${cid}/datastores/0`]) {
      const moved = await t.admin('PUT', path); // the host moves; system datastore 0 serves both
      assert.equal(moved.status, 200, JSON.stringify(moved.body));
    }
    const id = await vm('vnc-mig', 'CPU = 0.1\nMEMORY = 64\nGRAPHICS = [ TYPE = "VNC" ]', 'vncmig');
    assert.equal(await running(id), here);
    const graphics = async (): Promise<Record<string, string>> => {
      const g = (await show(id)).TEMPLATE.GRAPHICS;
      return Array.isArray(g) ? g[0] : g;
    };
    const first = (await graphics()).PORT;
    // Another VM in the target cluster holds the hint 5900 + id there: the VM gets the lowest free.
    const blocker = await vm(
      'vnc-block',
      `CPU = 0.1\nMEMORY = 64\nGRAPHICS = [ TYPE = "VNC", PORT = "${first}" ]`,
      'vncmig-b',
    );
    await running(blocker);
    const migrate = await t.admin('POST', `/api/v1/vms/${id}/migrate`, { host: there });
    assert.equal(migrate.status, 200, JSON.stringify(migrate.body));
    await probe.until('migrated', async () => {
      const s = await probe.state(id);
      return s.key === 'RUNNING' && s.stable && hostOf(s.body) === there ? true : undefined;
    });
    const after = await graphics();
    assert.notEqual(after.PORT, first);
    assert.equal(after.PREVIOUS_PORT, undefined);
    // The old cluster's port is free again: a VM asking for it there is placed.
    const taker = await vm(
      'vnc-take',
      `CPU = 0.1\nMEMORY = 64\nGRAPHICS = [ TYPE = "VNC", PORT = "${first}" ]`,
      'vncmig',
    );
    assert.equal(await running(taker), here);
    for (const v of [id, blocker, taker]) {
      const done = await t.admin('POST', `/api/v1/vms/${v}/action`, { action: 'terminate-hard' });
      assert.equal(done.status, 200, JSON.stringify(done.body));
    }
  });

  it('GET /api/v1/scheduler shows the settings and the latest pass to oneadmin only', async () => {
    const r = await t.admin('GET', '/api/v1/scheduler');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.SCHEDULER.CONFIG.policy, 1);
    assert.ok(r.body.SCHEDULER.PASSES > 0);
    assert.ok(r.body.SCHEDULER.LAST_PASS.VMS > 0, JSON.stringify(r.body));
    const carol = await t.createUser('sched-status-carol');
    const refused = await carol.request('GET', '/api/v1/scheduler');
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
  });

  it('nimbus vm explain against the daemon: header, warnings, tables; exit 0', async () => {
    // More than the 20 rejected hosts printed without --all.
    const before = await hostCount();
    const made = await Promise.all(
      Array.from({ length: Math.max(1, 23 - before) }, (_, i) => host(`explain-${i}`, 'explain')),
    );
    const id = await vm(
      'explained',
      'CPU = 0.1\nMEMORY = 64\nSCHED_REQUIREMENTS = "LABEL = \\"x\\" & CPU > 0 | LABEL = \\"y\\""',
    );
    await schedMessage(id);
    const out = await cli.run('vm', 'explain', String(id));
    assert.match(out.stdout, new RegExp(`^VM ${id} PLACEMENT\n`));
    assert.match(out.stdout, /STATE +: PENDING\n/);
    assert.match(
      out.stdout,
      /SCHED_MESSAGE +: .*Cannot dispatch VM: No host meets capacity and SCHED_REQUIREMENTS/,
    );
    assert.match(out.stdout, /REQUIREMENTS +: .*LABEL = "x" & CPU > 0 \| LABEL = "y"/);
    assert.match(out.stdout, /DEMAND +: CPU 0\.1 \(10\), MEMORY 64 MB, system disk 0 MB\n/);
    assert.match(out.stdout, /\nwarning: .+/);
    assert.match(out.stdout, /HOSTS \(0 eligible, \d+ rejected\)/);
    assert.match(out.stdout, /│ HOST │ NAME +│ CLUSTER │ VERDICT +│ RANK │ REASON/);
    assert.match(out.stdout, /│ REJECTED │ - +│ It does not fulfill SCHED_REQUIREMENTS/);
    assert.match(out.stdout, /\nDATASTORES\n/);
    const hostRows = (text: string): string[] =>
      text
        .slice(text.indexOf('\nHOSTS ('), text.indexOf('\nDATASTORES\n'))
        .split('\n')
        .filter((l) => l.includes('│ REJECTED │'));
    const rows = hostRows(out.stdout);
    const total = await hostCount();
    assert.ok(total > 20, `${total} hosts`);
    assert.match(
      out.stdout,
      new RegExp(
        `\\n… and ${total - 20} more rejected hosts \\(REQUIREMENTS: ${total - 20}\\); --all lists them\\n`,
      ),
    );
    assert.equal(rows.length, 20);

    const placed = await vm('explained-ok', 'CPU = 0.1\nMEMORY = 64', 'explain');
    assert.ok(made.includes(await running(placed)));
    const json = await cli.run('vm', 'explain', String(placed), '--json');
    const body = JSON.parse(json.stdout);
    assert.equal(body.VM_ID, placed);
    assert.equal(body.STATE, 'RUNNING');
    assert.equal(body.PENDING, false);
    assert.equal(body.SCHED_MESSAGE, '');

    const all = await cli.run('vm', 'explain', String(id), '--all');
    assert.doesNotMatch(all.stdout, /more rejected hosts/);
    assert.equal(hostRows(all.stdout).length, total);
  });
});
