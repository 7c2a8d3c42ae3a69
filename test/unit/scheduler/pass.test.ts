import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { explainPlacement, schedule } from '../../../src/scheduler/pass.js';
import { datastore, group, host, input, network, options, vm } from './fixtures.js';

const where = (result: ReturnType<typeof schedule>): Record<number, number> =>
  Object.fromEntries(result.placements.map((p) => [p.vmId, p.hostId]));
const messageOf = (result: ReturnType<typeof schedule>, vmId: number): string | undefined =>
  result.unplaced.find((u) => u.vmId === vmId)?.message;

describe('capacity (reference §5.1: CPU × 100, memory in KB)', () => {
  it('places a VM only where MAX_CPU − CPU_USAGE and MAX_MEM − MEM_USAGE cover it', () => {
    const r = schedule(
      input({
        hosts: [host({ id: 0, cpu: 100, cpuUsage: 50 }), host({ id: 1, cpu: 400 })],
        vms: [vm(7, { cpu: 100 })],
      }),
      options(),
    );
    assert.deepEqual(where(r), { 7: 1 });
  });

  it('says which figure is short, as `req/avail`', () => {
    const i = input({ hosts: [host({ id: 0, cpu: 100, cpuUsage: 50 })], vms: [vm(7, { cpu: 100 })] });
    const e = explainPlacement(i, options(), i.vms[0]!);
    assert.equal(e.hosts[0]!.reason?.text, 'Not enough CPU capacity: 100/50');
    assert.equal(e.message, 'Cannot dispatch VM: No host with enough capacity to deploy the VM');
    const m = input({ hosts: [host({ id: 0, mem: 1000 })], vms: [vm(8, { mem: 2048 })] });
    assert.equal(
      explainPlacement(m, options(), m.vms[0]!).hosts[0]!.reason?.text,
      'Not enough memory: 2048/1000',
    );
  });

  it('never fills a host past its capacity within one pass', () => {
    const r = schedule(input({ hosts: [host({ id: 0, cpu: 250 })], vms: [vm(1), vm(2), vm(3)] }), options());
    assert.deepEqual(where(r), { 1: 0, 2: 0 });
    assert.equal(messageOf(r, 3), 'Cannot dispatch VM: No host with enough capacity to deploy the VM');
  });
});

describe('host policies (reference §5.3)', () => {
  const hosts = () => [
    host({ id: 0, running: 2, monitoring: { FREE_CPU: '100' }, template: { PRIORITY: '1' } }),
    host({ id: 1, running: 0, monitoring: { FREE_CPU: '700' }, template: { PRIORITY: '9' } }),
    host({ id: 2, running: 5, monitoring: { FREE_CPU: '300' }, template: { PRIORITY: '5' } }),
  ];

  it('striping (default) spreads VMs by RUNNING_VMS, counting what the pass placed', () => {
    const r = schedule(input({ hosts: hosts(), vms: [vm(1), vm(2), vm(3), vm(4)] }), options());
    // host1 has 0, host0 2, host2 5: 1→h1, 2→h1 (1 < 2), 3→h0 or h1 (tie at 2: lower id), 4 → the other.
    assert.deepEqual(where(r), { 1: 1, 2: 1, 3: 0, 4: 1 });
  });

  it('packing fills the busiest host first', () => {
    const r = schedule(input({ hosts: hosts(), vms: [vm(1), vm(2)] }), options({ hostPolicy: 0 }));
    assert.deepEqual(where(r), { 1: 2, 2: 2 });
  });

  it('load-aware picks the most FREE_CPU and counts the placed CPU as used', () => {
    const r = schedule(
      input({ hosts: hosts(), vms: [vm(1, { cpu: 450 }), vm(2, { cpu: 450 })] }),
      options({ hostPolicy: 2 }),
    );
    assert.deepEqual(where(r), { 1: 1, 2: 2 });
  });

  it('fixed ranks by the host PRIORITY', () => {
    const r = schedule(input({ hosts: hosts(), vms: [vm(1)] }), options({ hostPolicy: 4 }));
    assert.deepEqual(where(r), { 1: 1 });
  });

  it('custom uses the configured rank; a VM SCHED_RANK overrides the policy', () => {
    const custom = schedule(
      input({ hosts: hosts(), vms: [vm(1)] }),
      options({ hostPolicy: 3, hostRank: '- PRIORITY' }),
    );
    assert.deepEqual(where(custom), { 1: 0 });
    const own = schedule(input({ hosts: hosts(), vms: [vm(1, { rank: 'RUNNING_VMS * 2' })] }), options());
    assert.deepEqual(where(own), { 1: 2 });
  });
});

describe('requirements', () => {
  it('keeps the hosts that fulfil AUTOMATIC_REQUIREMENTS & ( SCHED_REQUIREMENTS )', () => {
    const hosts = [
      host({ id: 0, cluster: 0, template: { LABEL: 'ssd' } }),
      host({ id: 1, cluster: 100, template: { LABEL: 'ssd' } }),
      host({ id: 2, cluster: 100, template: { LABEL: 'hdd' } }),
    ];
    const i = input({
      hosts,
      datastores: [datastore({ id: 0, clusters: [0, 100] })],
      vms: [vm(1, { automaticRequirements: '(CLUSTER_ID = 100)', requirements: 'LABEL = "s*"' })],
    });
    assert.deepEqual(where(schedule(i, options())), { 1: 1 });
    const e = explainPlacement(i, options(), i.vms[0]!);
    const byId = Object.fromEntries(e.hosts.map((h) => [h.id, h]));
    assert.equal(byId[0]!.reason?.text, 'It does not fulfill AUTOMATIC_REQUIREMENTS: (CLUSTER_ID = 100)');
    assert.equal(byId[2]!.reason?.text, 'It does not fulfill SCHED_REQUIREMENTS: LABEL = "s*"');
    assert.equal(byId[1]!.verdict, 'selected');
    assert.equal(e.requirements, '(CLUSTER_ID = 100) & ( LABEL = "s*" )');
  });

  it('writes the combined expression into SCHED_MESSAGE when no host fulfils it', () => {
    const r = schedule(
      input({ hosts: [host({ id: 0 })], vms: [vm(1, { requirements: 'HYPERVISOR = "xen"' })] }),
      options(),
    );
    assert.equal(
      messageOf(r, 1),
      'Cannot dispatch VM: No host meets capacity and SCHED_REQUIREMENTS: HYPERVISOR = "xen"',
    );
  });

  it('re-checks requirements on live figures when they read RUNNING_VMS or CURRENT_VMS', () => {
    const r = schedule(
      input({
        hosts: [host({ id: 0 })],
        vms: [vm(1, { requirements: 'RUNNING_VMS < 1' }), vm(2, { requirements: 'RUNNING_VMS < 1' })],
      }),
      options(),
    );
    assert.deepEqual(where(r), { 1: 0 });
    assert.match(messageOf(r, 2)!, /SCHED_REQUIREMENTS: RUNNING_VMS < 1/);
  });

  it('reports an expression that does not parse with OpenNebula text', () => {
    const r = schedule(
      input({ hosts: [host({ id: 0 })], vms: [vm(1, { requirements: 'CPU > ' })] }),
      options(),
    );
    assert.match(messageOf(r, 1)!, /^Error in SCHED_REQUIREMENTS: 'CPU > ', error: syntax error at column/);
  });
});

describe('host state and permission', () => {
  it('says no host is enabled when every host is disabled, offline or in error', () => {
    const r = schedule(
      input({
        hosts: [host({ id: 0, state: 4 }), host({ id: 1, state: 8 }), host({ id: 2, state: 3 })],
        vms: [vm(1)],
      }),
      options(),
    );
    assert.equal(messageOf(r, 1), 'Cannot dispatch VM: No hosts enabled to run VMs');
  });

  it('needs MANAGE on the host for users outside oneadmin', () => {
    const hosts = [host({ id: 0, permissions: 0o600 }), host({ id: 1, permissions: 0o602 })];
    const r = schedule(input({ hosts, vms: [vm(1, { uid: 5, gid: 1 })] }), options());
    assert.deepEqual(where(r), { 1: 1 });
    const none = schedule(input({ hosts: [hosts[0]!], vms: [vm(1, { uid: 5, gid: 1 })] }), options());
    assert.equal(messageOf(none, 1), 'Cannot dispatch VM: User is not authorized to use any host');
  });
});

describe('system datastores', () => {
  it('picks one in the host cluster, by FREE_MB (striping) or −FREE_MB (packing)', () => {
    const datastores = [
      datastore({ id: 0, clusters: [0], freeMb: 500 }),
      datastore({ id: 1, clusters: [0], freeMb: 900 }),
      datastore({ id: 2, clusters: [9], freeMb: 9000 }),
    ];
    const i = input({ hosts: [host({ id: 0 })], datastores, vms: [vm(1, { diskMb: 100 })] });
    assert.equal(schedule(i, options()).placements[0]!.dsId, 1);
    assert.equal(schedule(i, options({ dsPolicy: 0 })).placements[0]!.dsId, 0);
  });

  it('explains a missing, full, refused or unmatched system datastore', () => {
    const one = (ds: ReturnType<typeof datastore>[], spec = {}) =>
      messageOf(
        schedule(
          input({ hosts: [host({ id: 0 })], datastores: ds, vms: [vm(1, { diskMb: 100, ...spec })] }),
          options(),
        ),
        1,
      );
    assert.equal(one([]), 'Cannot dispatch VM: No system datastores found to run VMs');
    assert.equal(
      one([datastore({ id: 0, state: 1 })]),
      'Cannot dispatch VM: No system datastores found to run VMs',
    );
    assert.equal(
      one([datastore({ id: 0, freeMb: 10 })]),
      'Cannot dispatch VM: No system datastore with enough capacity for the VM',
    );
    assert.equal(
      one([datastore({ id: 0, monitored: false })]),
      'Cannot dispatch VM: No system datastore with enough capacity for the VM',
    );
    assert.equal(
      one([datastore({ id: 0, permissions: 0o600 })], { uid: 5, gid: 1 }),
      'Cannot dispatch VM: User is not authorized to any host'.replace('any host', 'use any host'),
    );
    assert.equal(
      one([datastore({ id: 0, template: { TIER: 'slow' } })], { dsRequirements: 'TIER = "fast"' }),
      'Cannot dispatch VM: No system datastore meets capacity and SCHED_DS_REQUIREMENTS: TIER = "fast"',
    );
  });

  it('counts the disk space placed during the pass', () => {
    const r = schedule(
      input({
        hosts: [host({ id: 0 })],
        datastores: [datastore({ id: 0, freeMb: 250 })],
        vms: [vm(1, { diskMb: 100 }), vm(2, { diskMb: 100 }), vm(3, { diskMb: 100 })],
      }),
      options(),
    );
    assert.deepEqual(where(r), { 1: 0, 2: 0 });
  });
});

describe('NETWORK_MODE = "auto"', () => {
  it('picks a network in the host cluster with free leases, the least used first, one per NIC', () => {
    const networks = [
      network({ id: 0, clusters: [0], used: 5 }),
      network({ id: 1, clusters: [0], used: 1 }),
      network({ id: 2, clusters: [7], used: 0 }),
      network({ id: 3, clusters: [0], free: 0 }),
    ];
    const r = schedule(
      input({
        hosts: [host({ id: 0 })],
        networks,
        vms: [
          vm(1, {
            autoNics: [
              { nicId: 0, requirements: '', rank: '' },
              { nicId: 1, requirements: '', rank: '' },
            ],
          }),
        ],
      }),
      options(),
    );
    assert.deepEqual(r.placements[0]!.nics, [
      { nicId: 0, networkId: 1 },
      { nicId: 1, networkId: 0 },
    ]);
  });

  it('honours the NIC SCHED_REQUIREMENTS and says when no network fits', () => {
    const networks = [
      network({ id: 0, template: { ZONE: 'a' } }),
      network({ id: 1, template: { ZONE: 'b' } }),
    ];
    const nic = (req: string) => [{ nicId: 0, requirements: req, rank: '' }];
    const ok = schedule(
      input({ hosts: [host({ id: 0 })], networks, vms: [vm(1, { autoNics: nic('ZONE = b') })] }),
      options(),
    );
    assert.equal(ok.placements[0]!.nics[0]!.networkId, 1);
    const none = schedule(
      input({ hosts: [host({ id: 0 })], networks, vms: [vm(1, { autoNics: nic('ZONE = c') })] }),
      options(),
    );
    assert.match(messageOf(none, 1)!, /No virtual network with free leases meets NIC 0/);
  });
});

describe('VM groups', () => {
  const hosts = () => [host({ id: 0 }), host({ id: 1 }), host({ id: 2 })];

  it('ANTI_AFFINED role: never two VMs of the role on one host', () => {
    const g = group(1, {
      roles: [
        { name: 'web', policy: 'ANTI_AFFINED', hostAffined: [], hostAntiAffined: [], vms: [1, 2, 3, 4] },
      ],
    });
    const member = (id: number) => vm(id, { group: { groupId: 1, role: 'web' }, rank: 'RUNNING_VMS' });
    const r = schedule(
      input({ hosts: hosts(), groups: [g], vms: [member(1), member(2), member(3), member(4)] }),
      options(),
    );
    assert.equal(new Set(Object.values(where(r))).size, 3);
    assert.match(
      messageOf(r, 4)!,
      /No host satisfies the VM group rules: Role "web" of VM group 1 "group1" is ANTI_AFFINED/,
    );
  });

  it('AFFINED role: the first VM needs room for all, the rest follow it', () => {
    const g = group(1, {
      roles: [{ name: 'db', policy: 'AFFINED', hostAffined: [], hostAntiAffined: [], vms: [1, 2, 3] }],
    });
    const member = (id: number) => vm(id, { group: { groupId: 1, role: 'db' }, cpu: 300 });
    const small = [host({ id: 0, cpu: 800 }), host({ id: 1, cpu: 1000, running: 9 })];
    const r = schedule(
      input({ hosts: small, groups: [g], vms: [vm(9, { cpu: 300 }), member(1), member(2), member(3)] }),
      options(),
    );
    // VM 9 takes host 0 (striping); the role needs 900 at once: only host 1 has it.
    assert.deepEqual(where(r), { 9: 0, 1: 1, 2: 1, 3: 1 });
  });

  it('AFFINED role with a VM already running: the others go to its host', () => {
    const g = group(1, {
      roles: [{ name: 'db', policy: 'AFFINED', hostAffined: [], hostAntiAffined: [], vms: [1, 2] }],
    });
    const r = schedule(
      input({
        hosts: hosts(),
        groups: [g],
        placedVms: new Map([[1, 2]]),
        vms: [vm(2, { group: { groupId: 1, role: 'db' } })],
      }),
      options(),
    );
    assert.deepEqual(where(r), { 2: 2 });
  });

  it('HOST_AFFINED and HOST_ANTI_AFFINED restrict the hosts of a role', () => {
    const g = group(1, {
      roles: [{ name: 'a', policy: 'NONE', hostAffined: [1, 2], hostAntiAffined: [1], vms: [1] }],
    });
    const i = input({ hosts: hosts(), groups: [g], vms: [vm(1, { group: { groupId: 1, role: 'a' } })] });
    assert.deepEqual(where(schedule(i, options())), { 1: 2 });
    const e = explainPlacement(i, options(), i.vms[0]!);
    const reasons = Object.fromEntries(e.hosts.map((h) => [h.id, h.reason?.text]));
    assert.match(reasons[0]!, /Not in HOST_AFFINED of role "a"/);
    assert.match(reasons[1]!, /In HOST_ANTI_AFFINED of role "a"/);
  });

  it('group AFFINED and ANTI_AFFINED rules between roles', () => {
    const roles = ['front', 'app', 'db'].map((name, k) => ({
      name,
      policy: 'NONE' as const,
      hostAffined: [],
      hostAntiAffined: [],
      vms: [10 + k],
    }));
    const g = group(1, { roles, affined: [['front', 'app']], antiAffined: [['app', 'db']] });
    const r = schedule(
      input({
        hosts: hosts(),
        groups: [g],
        vms: roles.map((role, k) => vm(10 + k, { group: { groupId: 1, role: role.name } })),
      }),
      options(),
    );
    const w = where(r);
    assert.equal(w[10], w[11], 'front and app share a host');
    assert.notEqual(w[11], w[12], 'app and db never do');
  });
});

describe('VM groups: AFFINED rules between roles make one set', () => {
  const g = (running: number[] = []) =>
    group(0, {
      roles: [
        { name: 'a', policy: 'NONE', hostAffined: [], hostAntiAffined: [], vms: [1, 2, ...running] },
        { name: 'b', policy: 'NONE', hostAffined: [], hostAntiAffined: [], vms: [3] },
      ],
      affined: [['a', 'b']],
    });
  const vms = [1, 2, 3].map((id) => vm(id, { group: { groupId: 0, role: id === 3 ? 'b' : 'a' } }));

  it('places every VM of the set on one host when none runs yet', () => {
    const r = schedule(input({ vms, hosts: [host({ id: 0 }), host({ id: 1 })], groups: [g()] }), options());
    assert.equal(new Set(Object.values(where(r))).size, 1);
    assert.equal(r.placements.length, 3);
  });

  it('confines the set to the hosts where a VM of it runs', () => {
    const r = schedule(
      input({
        vms,
        hosts: [host({ id: 0, vms: [9] }), host({ id: 1 })],
        groups: [g([9])],
        placedVms: new Map([[9, 0]]),
      }),
      options(),
    );
    assert.deepEqual(where(r), { 1: 0, 2: 0, 3: 0 });
  });
});

describe('explanations (GET /placement, nimbus vm explain)', () => {
  it('lists the selected host first, then eligible ones by rank, then the rejected with their reason', () => {
    const i = input({
      hosts: [
        host({ id: 0, running: 3 }),
        host({ id: 1, running: 1 }),
        host({ id: 2, state: 4 }),
        host({ id: 3, cpu: 50 }),
      ],
      datastores: [datastore({ id: 0 }), datastore({ id: 1, state: 1 })],
      vms: [vm(1)],
    });
    const e = explainPlacement(i, options(), i.vms[0]!);
    assert.deepEqual(
      e.hosts.map((h) => [h.id, h.verdict, h.rank ?? null, h.reason?.code ?? null]),
      [
        [1, 'selected', -1, null],
        [0, 'eligible', -3, null],
        [2, 'rejected', null, 'HOST_STATE'],
        [3, 'rejected', null, 'CPU'],
      ],
    );
    assert.equal(e.hosts[2]!.reason?.text, 'Host is DISABLED, not enabled to run VMs.');
    assert.deepEqual(e.choice, { hostId: 1, dsId: 0, rank: -1 });
    assert.deepEqual(
      e.datastores.map((d) => [d.id, d.verdict, d.reason?.text ?? null]),
      [
        [0, 'selected', null],
        [1, 'rejected', 'Datastore is disabled.'],
      ],
    );
    assert.equal(e.message, '');
    assert.equal(e.rank, '- RUNNING_VMS');
  });

  it('judges datastores on their own when no host passed the host checks', () => {
    const i = input({ hosts: [host({ id: 0, cpu: 50 })], vms: [vm(1)] });
    const e = explainPlacement(i, options(), i.vms[0]!);
    assert.equal(e.datastores[0]!.verdict, 'eligible');
    assert.deepEqual(e.rejected, { CPU: 1 });
  });

  it('carries the grouping warning of an expression that mixes & and | without parentheses', () => {
    const i = input({ hosts: [host({ id: 0 })], vms: [vm(1, { requirements: 'ID = 0 | ID = 1 & ID = 2' })] });
    const e = explainPlacement(i, options(), i.vms[0]!);
    assert.equal(e.warnings.length, 1);
    assert.match(e.warnings[0]!, /&|\|/);
  });
});

describe('dispatch order and limits', () => {
  it('dispatches by USER_PRIORITY, then by lower id', () => {
    const r = schedule(
      input({ hosts: [host({ id: 0, cpu: 100 })], vms: [vm(1), vm(2, { priority: 10 }), vm(3)] }),
      options(),
    );
    assert.deepEqual(where(r), { 2: 0 });
  });

  it('MAX_DISPATCH defers the rest to the next pass; MAX_HOST caps VMs per host', () => {
    const hosts = [host({ id: 0 }), host({ id: 1 })];
    const vms = [vm(1), vm(2), vm(3)];
    const limited = schedule(input({ hosts, vms }), options({ maxDispatch: 2 }));
    assert.equal(limited.placements.length, 2);
    assert.deepEqual(limited.deferred, [3]);
    const perHost = schedule(input({ hosts, vms }), options({ maxHost: 1 }));
    assert.equal(perHost.placements.length, 2);
    assert.equal(perHost.unplaced[0]!.vmId, 3);
    // Counted across the passes of one window: host 0 already had its VM.
    const later = schedule(
      input({ hosts, vms }),
      options({ maxHost: 1, dispatchedToHost: new Map([[0, 1]]) }),
    );
    assert.deepEqual(where(later), { 1: 1 });
    assert.match(later.unplaced[0]!.message, /Cannot dispatch VM to any Host/);
  });
});

describe('rescheduling', () => {
  it('moves a RESCHED VM to another host and keeps its system datastore', () => {
    const r = schedule(
      input({
        hosts: [host({ id: 0, vms: [5] }), host({ id: 1 })],
        datastores: [datastore({ id: 0 }), datastore({ id: 3, freeMb: 99_999_999 })],
        vms: [vm(5, { resched: { hostId: 0, dsId: 0 } })],
      }),
      options(),
    );
    assert.deepEqual(r.placements, [{ vmId: 5, hostId: 1, dsId: 0, nics: [], rank: 0, resched: true }]);
  });
});
