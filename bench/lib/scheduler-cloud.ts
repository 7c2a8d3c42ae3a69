/**
 * The synthetic cloud of the scheduler benchmark (bench/scheduler.ts), built as the controller
 * will build a snapshot: HostRecord objects read through `hostLookup`, permissions decided by
 * the compiled ACL table (`compileAcl` + `forSubject(...).can`), VM groups with role policies
 * and group rules. Seeded: the same shape gives the same input, so the compiled run and the
 * baseline see identical work.
 */
import { parseAclRule, bootstrapAclRules, type AclRuleBits } from '../../src/domain/auth/acl.js';
import { compileAcl, type AuthObject, type SubjectAuthorizer } from '../../src/domain/auth/authorize.js';
import type { HostRecord } from '../../src/domain/host/record.js';
import type { Template } from '../../src/domain/template/types.js';
import type { Lookup } from '../../src/scheduler/expressions.js';
import { hostLookup } from '../../src/scheduler/host-lookup.js';
import type {
  SchedAutoNic,
  SchedDatastore,
  SchedGroup,
  SchedHost,
  SchedInput,
  SchedNetwork,
  SchedRole,
  SchedVm,
} from '../../src/scheduler/model.js';

export interface CloudShape {
  readonly vms: number;
  readonly hosts: number;
  readonly clusters: number;
  readonly datastoresPerCluster: number;
  readonly seed: number;
}

export const DEFAULT_SHAPE: CloudShape = {
  vms: 10_000,
  hosts: 1_000,
  clusters: 10,
  datastoresPerCluster: 2,
  seed: 20261127,
};

const KB_PER_GB = 1024 * 1024;
const MB_PER_TB = 1024 * 1024;
/** What OpenNebula writes into every VM's AUTOMATIC_REQUIREMENTS. */
const ALWAYS = '!(PUBLIC_CLOUD = YES) & !(PIN_POLICY = PINNED)';
/** Ids of VMs that run before the pass (members of groups already placed). */
const RUNNING_VM_BASE = 100_000;

/** SCHED_REQUIREMENTS and their share of the VMs outside groups (the rest have none). */
const REQUIREMENTS: readonly (readonly [string, number])[] = [
  ['LABEL = "ssd*"', 0.12],
  ['FREE_CPU > 100 & HYPERVISOR = kvm', 0.12],
  ['!(NAME = "host-1*")', 0.08],
  ['HYPERVISOR = "kvm" & (LABEL = "gpu" | PRIORITY > 7)', 0.04],
  ['CPUSPEED > 2000', 0.06],
  ['RUNNING_VMS < 40', 0.03],
];
const CLUSTER_PAIRS = ['(CLUSTER_ID = 1 | CLUSTER_ID = 2)', '(CLUSTER_ID = 5 | CLUSTER_ID = 6)'];
const RANKS: readonly (readonly [string, number])[] = [
  ['FREE_CPU', 0.2],
  ['- RUNNING_VMS', 0.15],
  ['PRIORITY * 2 - RUNNING_VMS', 0.15],
  ['FREE_MEMORY', 0.1],
];

/**
 * Users and the ACL rules that govern them: oneadmin; users of group 1 (`users`, the default
 * VDC rules of a fresh install: MANAGE every host, USE every datastore and network); a group
 * confined to clusters 3 and 4 by `%cid` rules; a user with no rule at all (its VMs find no host).
 */
interface User {
  readonly uid: number;
  readonly gid: number;
  readonly share: number;
}
const USERS: readonly User[] = [
  { uid: 0, gid: 0, share: 0.4 },
  ...[2, 3, 4, 5, 6, 7, 8, 9].map((uid) => ({ uid, gid: 1, share: 0.45 / 8 })),
  ...[10, 11, 12].map((uid) => ({ uid, gid: 100, share: 0.148 / 3 })),
  { uid: 13, gid: 101, share: 0.002 },
];
const EXTRA_ACL_RULES = [
  '@100 HOST/%3 MANAGE',
  '@100 HOST/%4 MANAGE',
  '@100 DATASTORE/%3 USE',
  '@100 DATASTORE/%4 USE',
  '@100 NET/* USE',
];

/** A small deterministic generator (mulberry32). */
export class Random {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(below: number): number {
    return Math.floor(this.next() * below);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  /** One of the weighted items, or `otherwise` for the remaining share. */
  weighted<T>(items: readonly (readonly [T, number])[], otherwise: T): T {
    let r = this.next();
    for (const [item, share] of items) {
      if (r < share) return item;
      r -= share;
    }
    return otherwise;
  }
}

function mapLookup(...layers: readonly Readonly<Record<string, string>>[]): Lookup {
  return (name) => {
    for (const layer of layers) {
      const v = layer[name];
      if (v !== undefined) return [v];
    }
    return undefined;
  };
}

const template = (attrs: Readonly<Record<string, string>>): Template =>
  Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, [v]]));

// ---- hosts ---------------------------------------------------------------------------------------

/** Host states: mostly MONITORED; a few in ERROR (3), DISABLED (4) or OFFLINE (8). */
function hostState(random: Random): number {
  return random.weighted(
    [
      [3, 0.01],
      [4, 0.01],
      [8, 0.005],
    ],
    2,
  );
}

function hostRecord(id: number, clusterId: number, random: Random): HostRecord {
  // 5 % small hosts (4 cores, 8 GB) that fill up after a few VMs; the rest 16 to 64 cores.
  const small = random.next() < 0.05;
  const cores = small ? 4 : random.pick([16, 32, 48, 64]);
  const memGb = small ? 8 : random.pick([64, 128, 256]);
  const totalCpu = cores * 100;
  const totalMem = memGb * KB_PER_GB;
  const existing = small ? 0 : random.int(6);
  const vms = Array.from({ length: existing }, (_, k) => RUNNING_VM_BASE + id * 10 + k);
  const cpuUsage = existing * 100;
  const memUsage = existing * 2 * KB_PER_GB;
  const usedCpu = Math.round(cpuUsage * (0.2 + random.next() * 0.6));
  const usedMem = Math.round(memUsage * (0.5 + random.next() * 0.4));
  const label = random.weighted(
    [
      ['ssd-nvme', 0.15],
      ['ssd', 0.15],
      ['gpu', 0.05],
    ],
    'hdd',
  );
  return {
    id,
    name: `host-${id}`,
    state: hostState(random),
    prevState: 2,
    imMad: 'kvm',
    vmMad: 'kvm',
    clusterId,
    share: {
      memUsage,
      cpuUsage,
      totalMem,
      totalCpu,
      maxMem: totalMem,
      maxCpu: totalCpu,
      runningVms: existing,
    },
    vms,
    template: template({
      LABEL: label,
      HYPERVISOR: random.next() < 0.9 ? 'kvm' : 'lxc',
      ARCH: 'x86_64',
      CPUSPEED: String(1800 + 100 * random.int(12)),
      PRIORITY: String(random.int(11)),
      RESERVED_CPU: '',
      RESERVED_MEM: '',
    }),
    monitoring: {
      FREE_CPU: String(totalCpu - usedCpu),
      USED_CPU: String(usedCpu),
      FREE_MEMORY: String(totalMem - usedMem),
      USED_MEMORY: String(usedMem),
      NETRX: String(random.int(1e9)),
      NETTX: String(random.int(1e9)),
    },
    lastMonTime: 1_795_000_000,
    version: 1,
  };
}

function schedHost(record: HostRecord, cluster: { name: string; template: Template }): SchedHost {
  return {
    id: record.id,
    name: record.name,
    clusterId: record.clusterId,
    state: record.state,
    maxCpu: record.share.maxCpu,
    maxMem: record.share.maxMem,
    cpuUsage: record.share.cpuUsage,
    memUsage: record.share.memUsage,
    runningVms: record.share.runningVms,
    vms: record.vms,
    lookup: hostLookup(record, cluster),
    auth: { type: 'HOST', id: record.id, uid: 0, gid: 0, permissions: 0o600, clusterIds: [record.clusterId] },
  };
}

// ---- storage and networks ------------------------------------------------------------------------

function datastores(shape: CloudShape): SchedDatastore[] {
  const out: SchedDatastore[] = [];
  for (let c = 0; c < shape.clusters; c++) {
    for (let k = 0; k < shape.datastoresPerCluster; k++) {
      const id = 100 + c * shape.datastoresPerCluster + k;
      // Cluster 5's second datastore is small (it fills during the pass); cluster 7's is disabled.
      const freeMb = c === 5 && k === 1 ? 500 * 1024 : 40 * MB_PER_TB;
      const state = c === 7 && k === 1 ? 1 : 0;
      const name = `system-${c}-${k}`;
      out.push({
        id,
        name,
        clusterIds: [c],
        state,
        freeMb,
        monitored: true,
        tmMad: k === 0 ? 'ssh' : 'shared',
        lookup: mapLookup(
          { TM_MAD: k === 0 ? 'ssh' : 'shared', TYPE: 'SYSTEM_DS', PRIORITY: String(k) },
          { ID: String(id), NAME: name, FREE_MB: String(freeMb), USED_MB: '0', TOTAL_MB: String(freeMb) },
        ),
        auth: { type: 'DATASTORE', id, uid: 0, gid: 0, permissions: 0o640, clusterIds: [c] },
      });
    }
  }
  return out;
}

function networks(shape: CloudShape): SchedNetwork[] {
  const out: SchedNetwork[] = [];
  for (let c = 0; c < shape.clusters; c++) {
    for (let k = 0; k < 2; k++) {
      const id = c * 2 + k;
      const name = `net-${c}-${k}`;
      const vnMad = k === 0 ? 'bridge' : 'vxlan';
      out.push({
        id,
        name,
        clusterIds: [c],
        freeLeases: 250,
        usedLeases: 4,
        lookup: mapLookup({ VN_MAD: vnMad }, { ID: String(id), NAME: name, USED_LEASES: '4' }),
        auth: { type: 'NET', id, uid: 0, gid: 0, permissions: 0o640, clusterIds: [c] },
      });
    }
  }
  return out;
}

// ---- VMs and groups ------------------------------------------------------------------------------

interface VmTraits {
  readonly uid: number;
  readonly gid: number;
  readonly automaticRequirements: string;
  readonly requirements: string;
  readonly rank: string;
}

function traits(random: Random): VmTraits {
  const user = random.weighted(
    USERS.map((u) => [u, u.share] as const),
    USERS[0]!,
  );
  // 10 % pinned to cluster 3 (an image or network there), 5 % to one of two pairs of clusters.
  const r = random.next();
  const cluster = r < 0.1 ? '(CLUSTER_ID = 3) & ' : r < 0.15 ? `${random.pick(CLUSTER_PAIRS)} & ` : '';
  return {
    uid: user.uid,
    gid: user.gid,
    automaticRequirements: `${cluster}${ALWAYS}`,
    requirements: random.weighted(REQUIREMENTS, ''),
    rank: random.weighted(RANKS, ''),
  };
}

function vm(id: number, t: VmTraits, random: Random, group?: SchedVm['group']): SchedVm {
  const autoNics: SchedAutoNic[] =
    random.next() < 0.05
      ? [{ nicId: 0, requirements: random.next() < 0.5 ? 'VN_MAD = "vxlan"' : '', rank: '' }]
      : [];
  return {
    id,
    uid: t.uid,
    gid: t.gid,
    priority: random.next() < 0.05 ? 10 : 0,
    cpu: random.pick([50, 100, 100, 200, 400]),
    mem: random.pick([1, 2, 2, 4, 8, 16]) * KB_PER_GB,
    diskMb: random.pick([10, 20, 20, 50]) * 1024,
    automaticRequirements: t.automaticRequirements,
    requirements: t.requirements,
    rank: t.rank,
    automaticDsRequirements: '',
    dsRequirements: '',
    dsRank: random.next() < 0.1 ? '- FREE_MB' : '',
    autoNics,
    ...(group !== undefined ? { group } : {}),
  };
}

/** A group's roles: name, policy, size and host lists (filled in by `groupsAndMembers`). */
interface RolePlan {
  readonly name: string;
  readonly policy: SchedRole['policy'];
  readonly size: number;
  readonly hostAffined?: number;
  readonly hostAntiAffined?: number;
  /** Members already running before the pass. */
  readonly running?: number;
}
interface GroupPlan {
  readonly roles: readonly RolePlan[];
  readonly affined: readonly (readonly string[])[];
  readonly antiAffined: readonly (readonly string[])[];
}

/** Three kinds of groups, 10 VMs each: a web stack, an app with its cache, a worker pool. */
const GROUP_PLANS: readonly GroupPlan[] = [
  {
    roles: [
      { name: 'web', policy: 'ANTI_AFFINED', size: 6 },
      { name: 'db', policy: 'AFFINED', size: 4 },
    ],
    affined: [],
    antiAffined: [['web', 'db']],
  },
  {
    roles: [
      { name: 'app', policy: 'NONE', size: 3, running: 1 },
      { name: 'cache', policy: 'NONE', size: 3 },
      { name: 'worker', policy: 'ANTI_AFFINED', size: 4, hostAffined: 20 },
    ],
    affined: [['app', 'cache']],
    antiAffined: [],
  },
  {
    roles: [
      { name: 'front', policy: 'ANTI_AFFINED', size: 5, hostAntiAffined: 5 },
      { name: 'back', policy: 'AFFINED', size: 5, running: 1 },
    ],
    affined: [],
    antiAffined: [],
  },
];

interface Members {
  readonly groups: SchedGroup[];
  readonly vms: SchedVm[];
  readonly placedVms: Map<number, number>;
}

/**
 * `count` grouped VMs (ids from `firstId`) in groups of the three kinds; each group has one
 * owner and one set of expressions, and lives in one cluster (its host lists pick hosts there).
 */
function groupsAndMembers(
  firstId: number,
  count: number,
  hosts: readonly SchedHost[],
  random: Random,
  clusters: number,
): Members {
  const groups: SchedGroup[] = [];
  const vms: SchedVm[] = [];
  const placedVms = new Map<number, number>();
  const byCluster = new Map<number, SchedHost[]>();
  for (const h of hosts) {
    if (h.state !== 2) continue;
    const list = byCluster.get(h.clusterId) ?? [];
    list.push(h);
    byCluster.set(h.clusterId, list);
  }
  let nextVm = firstId;
  let nextRunning = RUNNING_VM_BASE * 2;
  for (let g = 0; vms.length < count; g++) {
    const plan = GROUP_PLANS[g % GROUP_PLANS.length]!;
    const t = traits(random);
    const cluster = byCluster.get(random.int(clusters)) ?? [];
    const pickHosts = (n: number): number[] => {
      const ids = new Set<number>();
      while (ids.size < Math.min(n, cluster.length)) ids.add(random.pick(cluster).id);
      return [...ids].sort((a, b) => a - b);
    };
    const roles: SchedRole[] = plan.roles.map((r) => {
      const members: number[] = [];
      for (let k = 0; k < (r.running ?? 0); k++) {
        const id = nextRunning++;
        members.push(id);
        placedVms.set(id, random.pick(cluster).id);
      }
      for (let k = 0; k < r.size && vms.length < count; k++) {
        const id = nextVm++;
        members.push(id);
        vms.push(vm(id, { ...t, automaticRequirements: ALWAYS }, random, { groupId: g, role: r.name }));
      }
      return {
        name: r.name,
        policy: r.policy,
        hostAffined: r.hostAffined === undefined ? [] : pickHosts(r.hostAffined),
        hostAntiAffined: r.hostAntiAffined === undefined ? [] : pickHosts(r.hostAntiAffined),
        vms: members,
      };
    });
    groups.push({ id: g, name: `group-${g}`, roles, affined: plan.affined, antiAffined: plan.antiAffined });
  }
  return { groups, vms, placedVms };
}

// ---- permissions ---------------------------------------------------------------------------------

/** The scheduler's authorize callback: one `SubjectAuthorizer` per owner, from the ACL table. */
export function aclAuthorizer(): SchedInput['authorize'] {
  const extra = EXTRA_ACL_RULES.map((text) => {
    const rule = parseAclRule(text);
    if (!rule.ok) throw new Error(`${text}: ${rule.error.message}`);
    return rule.value;
  });
  const acl = compileAcl([...bootstrapAclRules(), ...extra] satisfies readonly AclRuleBits[]);
  const subjects = new Map<number, SubjectAuthorizer>(
    USERS.map((u) => [u.uid, acl.forSubject({ uid: u.uid, gids: [u.gid] })]),
  );
  return (vm, operation, object: AuthObject) => {
    const subject = subjects.get(vm.uid) ?? acl.forSubject({ uid: vm.uid, gids: [vm.gid] });
    return subject.can(operation, object);
  };
}

// ---- the input -----------------------------------------------------------------------------------

/**
 * The whole snapshot: `shape.hosts` hosts over `shape.clusters` clusters, their system
 * datastores and two networks per cluster, `shape.vms` pending VMs of which 20 % in VM groups,
 * and a few that cannot fit anywhere (128 CPUs).
 */
export function buildSchedInput(shape: CloudShape = DEFAULT_SHAPE): SchedInput {
  const random = new Random(shape.seed);
  const clusters = Array.from({ length: shape.clusters }, (_, c) => ({
    name: `cluster-${c}`,
    template: template({ RESERVED_CPU: '', DATACENTER: `dc-${c % 2}` }),
  }));
  const hosts = Array.from({ length: shape.hosts }, (_, i) => {
    const clusterId = i % shape.clusters;
    return schedHost(hostRecord(i, clusterId, random), clusters[clusterId]!);
  });
  const grouped = Math.round(shape.vms * 0.2);
  const members = groupsAndMembers(0, grouped, hosts, random, shape.clusters);
  const vms: SchedVm[] = [...members.vms];
  for (let id = grouped; id < shape.vms; id++) {
    const v = vm(id, traits(random), random);
    // One VM in 2,000 asks for 128 CPUs: no host has that many.
    vms.push(id % 2_000 === 1_999 ? { ...v, cpu: 12_800 } : v);
  }
  return {
    vms,
    hosts,
    datastores: datastores(shape),
    networks: networks(shape),
    groups: members.groups,
    placedVms: members.placedVms,
    authorize: aclAuthorizer(),
  };
}
