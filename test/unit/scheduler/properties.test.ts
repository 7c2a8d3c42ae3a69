/**
 * Properties of a pass over random clouds: capacity is never exceeded beyond the reservations,
 * anti-affinity is never broken, affined VMs share a host, every placed VM fulfils its
 * requirements, and every VM left pending has a reason.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { compileRequirement } from '../../../src/scheduler/expressions.js';
import type { SchedGroup, SchedVm } from '../../../src/scheduler/model.js';
import { schedule, SchedulingPass } from '../../../src/scheduler/pass.js';
import { datastore, group, host, input, options, vm } from './fixtures.js';

const REQUIREMENTS = [
  '',
  'LABEL = "ssd"',
  'CLUSTER_ID = 1',
  'ID > 3',
  '!(LABEL = "hdd") | ID < 2',
  'RUNNING_VMS < 3',
];
const RANKS = ['', 'FREE_CPU', '- RUNNING_VMS', 'PRIORITY * 2', 'RUNNING_VMS'];

const cloud = fc
  .record({
    hosts: fc.array(
      fc.record({
        cpu: fc.integer({ min: 0, max: 800 }),
        mem: fc.integer({ min: 0, max: 8 }),
        used: fc.integer({ min: 0, max: 400 }),
        label: fc.constantFrom('ssd', 'hdd'),
        cluster: fc.integer({ min: 0, max: 1 }),
        state: fc.constantFrom(2, 2, 2, 4),
        priority: fc.integer({ min: 0, max: 9 }),
      }),
      { minLength: 1, maxLength: 12 },
    ),
    vms: fc.array(
      fc.record({
        cpu: fc.integer({ min: 1, max: 4 }),
        mem: fc.integer({ min: 1, max: 3 }),
        requirement: fc.constantFrom(...REQUIREMENTS),
        rank: fc.constantFrom(...RANKS),
        role: fc.constantFrom(undefined, undefined, 'anti', 'affined', 'a', 'b'),
        priority: fc.integer({ min: 0, max: 2 }),
      }),
      { minLength: 1, maxLength: 40 },
    ),
    policy: fc.constantFrom(0, 1, 2, 4),
  })
  .map(({ hosts, vms, policy }) => {
    const schedHosts = hosts.map((h, id) =>
      host({
        id,
        cluster: h.cluster,
        state: h.state,
        cpu: h.cpu,
        cpuUsage: Math.min(h.used, h.cpu),
        mem: h.mem * 1024,
        template: { LABEL: h.label, PRIORITY: String(h.priority) },
        monitoring: { FREE_CPU: String(h.cpu - h.used) },
      }),
    );
    const schedVms: SchedVm[] = vms.map((v, k) =>
      vm(k + 100, {
        cpu: v.cpu * 50,
        mem: v.mem * 512,
        requirements: v.requirement,
        rank: v.rank,
        priority: v.priority,
        ...(v.role !== undefined ? { group: { groupId: 1, role: v.role } } : {}),
      }),
    );
    const members = (role: string) => schedVms.filter((v) => v.group?.role === role).map((v) => v.id);
    const g: SchedGroup = group(1, {
      roles: [
        { name: 'anti', policy: 'ANTI_AFFINED', hostAffined: [], hostAntiAffined: [], vms: members('anti') },
        { name: 'affined', policy: 'AFFINED', hostAffined: [], hostAntiAffined: [], vms: members('affined') },
        { name: 'a', policy: 'NONE', hostAffined: [], hostAntiAffined: [0], vms: members('a') },
        { name: 'b', policy: 'NONE', hostAffined: [], hostAntiAffined: [], vms: members('b') },
      ],
      antiAffined: [['a', 'b']],
    });
    return {
      input: input({
        hosts: schedHosts,
        vms: schedVms,
        groups: [g],
        datastores: [datastore({ id: 0, clusters: [0, 1] })],
      }),
      policy: policy as 0 | 1 | 2 | 4,
    };
  });

describe('scheduling properties (random clouds)', () => {
  it('never exceeds capacity, never breaks a group rule, every placed VM fits its requirements, every unplaced VM has a reason', () => {
    fc.assert(
      fc.property(cloud, ({ input: i, policy }) => {
        const result = schedule(i, options({ hostPolicy: policy }));
        const vms = new Map(i.vms.map((v) => [v.id, v]));
        const hosts = new Map(i.hosts.map((h) => [h.id, h]));
        const used = new Map(i.hosts.map((h) => [h.id, { cpu: h.cpuUsage, mem: h.memUsage }]));
        const on = new Map<number, number>();
        for (const p of result.placements) {
          const v = vms.get(p.vmId)!;
          const h = hosts.get(p.hostId)!;
          const u = used.get(p.hostId)!;
          u.cpu += v.cpu;
          u.mem += v.mem;
          assert.ok(u.cpu <= h.maxCpu, `host ${h.id} CPU ${u.cpu} > ${h.maxCpu}`);
          assert.ok(u.mem <= h.maxMem, `host ${h.id} memory ${u.mem} > ${h.maxMem}`);
          assert.ok([1, 2].includes(h.state), `host ${h.id} is not enabled`);
          const req = compileRequirement(v.requirements);
          assert.ok(req.ok);
          // RUNNING_VMS requirements are checked on the live count; the others on the snapshot.
          if (!req.value.variables.has('RUNNING_VMS'))
            assert.ok(req.value.test(h.lookup), `VM ${v.id} on host ${h.id} breaks ${v.requirements}`);
          on.set(v.id, h.id);
        }
        const hostsOf = (role: string) =>
          i.vms.filter((v) => v.group?.role === role && on.has(v.id)).map((v) => on.get(v.id)!);
        const anti = hostsOf('anti');
        assert.equal(new Set(anti).size, anti.length, 'two ANTI_AFFINED VMs share a host');
        assert.ok(new Set(hostsOf('affined')).size <= 1, 'AFFINED VMs are on different hosts');
        const a = new Set(hostsOf('a'));
        assert.ok(!a.has(0), 'role a is HOST_ANTI_AFFINED to host 0');
        assert.ok(!hostsOf('b').some((h) => a.has(h)), 'roles a and b share a host');
        const placed = new Set(result.placements.map((p) => p.vmId));
        for (const v of i.vms) {
          if (placed.has(v.id)) continue;
          const u = result.unplaced.find((x) => x.vmId === v.id);
          assert.ok(u !== undefined && u.message.length > 0, `VM ${v.id} unplaced without a reason`);
        }
      }),
      { numRuns: 300, seed: 20261126 },
    );
  });

  it('the detailed explanation of every VM left unplaced agrees with its SCHED_MESSAGE: no host eligible', () => {
    fc.assert(
      fc.property(cloud, ({ input: i, policy }) => {
        const pass = new SchedulingPass(i, options({ hostPolicy: policy }));
        const result = pass.run();
        for (const u of result.unplaced) {
          const e = pass.explain(i.vms.find((v) => v.id === u.vmId)!);
          assert.equal(
            e.choice,
            undefined,
            `VM ${u.vmId} unplaced, yet explain() chooses host ${e.choice?.hostId}`,
          );
          assert.equal(e.message, u.message);
          assert.ok(e.hosts.every((h) => h.verdict === 'rejected' && h.reason !== undefined));
        }
      }),
      { numRuns: 200, seed: 11 },
    );
  });

  it('places a VM whenever an empty enabled host could take it alone', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 20 }), (hostCount, vmCount) => {
        const hosts = Array.from({ length: hostCount }, (_, id) => host({ id, cpu: 100 }));
        const vms = Array.from({ length: vmCount }, (_, k) => vm(k, { cpu: 100 }));
        const r = schedule(input({ hosts, vms }), options());
        assert.equal(r.placements.length, Math.min(hostCount, vmCount));
        assert.equal(new Set(r.placements.map((p) => p.hostId)).size, r.placements.length);
      }),
      { numRuns: 100, seed: 7 },
    );
  });
});
