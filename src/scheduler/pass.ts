/**
 * One scheduling pass (reference §5.1, match-making and dispatch in one walk): pending VMs in
 * USER_PRIORITY then id order, each to the best-ranked host that passes, in OpenNebula's order,
 * host state, permission (MANAGE), capacity, AUTOMATIC_REQUIREMENTS, SCHED_REQUIREMENTS, the VM
 * group rules, a system datastore and networks for `NETWORK_MODE = "auto"` NICs.
 *
 * Fast because work is shared: VMs with the same owner, expressions and group role form a class;
 * a class evaluates the static checks once per host and keeps its hosts in a heap by rank. Ranks
 * that read figures a placement changes (RUNNING_VMS, CPU_USAGE, MEM_USAGE, CURRENT_VMS) are
 * re-evaluated lazily when a host's version moved, so striping spreads VMs within one pass
 * (OpenNebula spreads by dispatching one VM per host per cycle, MAX_HOST = 1; see
 * docs/decisions/scheduler.md). Requirements are evaluated on the snapshot, as OpenNebula does,
 * and again on the live figures when they read one of those.
 */
import type { RoleState } from './affinity.js';
import { roleKey, roleStates } from './affinity.js';
import { combinedRequirement, Expressions, readsAny } from './compiled.js';
import type { CompiledRank, CompiledRequirement } from './expressions.js';
import {
  LiveDatastore,
  LiveHost,
  LiveNetwork,
  LIVE_DS_VARIABLES,
  LIVE_HOST_VARIABLES,
  LIVE_NET_VARIABLES,
} from './live.js';
import { CandidateHeap, type Candidate } from './heap.js';
import {
  SCHEDULABLE_HOST_STATES,
  type Placement,
  type SchedInput,
  type SchedOptions,
  type SchedVm,
} from './model.js';
import { datastorePolicyRank, hostPolicyRank, networkPolicyRank } from './policies.js';
import {
  datastoreReason,
  hostReason,
  networkReason,
  schedMessage,
  type DatastoreReasonCode,
  type HostReasonCode,
  type NetworkReasonCode,
  type Reason,
} from './reasons.js';

export type VerdictKind = 'selected' | 'eligible' | 'rejected';

/** One candidate (host, system datastore or network) and what the scheduler made of it. */
export interface Verdict<C extends string> {
  readonly id: number;
  readonly name: string;
  readonly verdict: VerdictKind;
  readonly reason?: Reason<C>;
  readonly rank?: number;
}

export interface HostVerdict extends Verdict<HostReasonCode> {
  readonly clusterId: number;
  readonly datastoreId?: number;
}

export type DatastoreVerdict = Verdict<DatastoreReasonCode>;

export interface NetworkVerdict extends Verdict<NetworkReasonCode> {
  readonly nicId: number;
}

/** Everything about one VM's placement: the summary (SCHED_MESSAGE) and every candidate's verdict. */
export interface PlacementExplanation {
  readonly vmId: number;
  /** The SCHED_MESSAGE text without its time prefix; '' when the VM can be placed. */
  readonly message: string;
  readonly requirements: string;
  readonly rank: string;
  readonly dsRequirements: string;
  readonly dsRank: string;
  /** Grouping warnings of the expressions (`&` and `|` mixed without parentheses). */
  readonly warnings: readonly string[];
  /** CPU and memory asked for (the whole AFFINED role for its first VM). */
  readonly demand: { readonly cpu: number; readonly mem: number; readonly diskMb: number };
  readonly hosts: readonly HostVerdict[];
  readonly datastores: readonly DatastoreVerdict[];
  readonly networks: readonly NetworkVerdict[];
  /** Rejected hosts per reason code. */
  readonly rejected: Readonly<Partial<Record<HostReasonCode, number>>>;
  readonly choice?: { readonly hostId: number; readonly dsId: number; readonly rank: number };
}

export interface Unplaced {
  readonly vmId: number;
  readonly message: string;
  readonly rejected: Readonly<Partial<Record<HostReasonCode, number>>>;
  /** With `explainUnplaced`: every candidate's verdict. */
  readonly explanation?: PlacementExplanation;
}

export interface PassResult {
  readonly placements: readonly Placement[];
  /** VMs no host can take now, with the reason. */
  readonly unplaced: readonly Unplaced[];
  /** VMs left for the next pass by MAX_DISPATCH. */
  readonly deferred: readonly number[];
  /** VM × host checks made (for ns per evaluation). */
  readonly evaluations: number;
}

/** The check each reason code fails, in the order OpenNebula counts hosts for SCHED_MESSAGE. */
const STAGE_OF: Readonly<Record<HostReasonCode, number>> = {
  HOST_STATE: 0,
  CURRENT_HOST: 0,
  PERMISSION: 1,
  CPU: 2,
  MEMORY: 2,
  AUTOMATIC_REQUIREMENTS: 3,
  REQUIREMENTS: 3,
  HOST_AFFINITY: 3,
  VM_AFFINITY: 4,
  DISPATCH_LIMIT: 5,
  NO_DATASTORE: 6,
  NO_NETWORK: 7,
};
const ELIGIBLE_STAGE = 8;

// ---- classes -----------------------------------------------------------------------------------

/** VMs that share owner, expressions and group role share static host checks and a rank heap. */
class HostClass {
  /** Per host index: 0 not yet checked, 1 passes the static checks, 2 fails them. */
  readonly staticOk: Uint8Array;
  heap: CandidateHeap | undefined;
  /** VM shapes (size, disk, datastore and NIC expressions) no host took in this pass. */
  readonly failedShapes = new Set<string>();
  minCpu = Number.POSITIVE_INFINITY;
  minMem = Number.POSITIVE_INFINITY;

  constructor(
    readonly sample: SchedVm,
    readonly automatic: CompiledRequirement | null,
    readonly requirement: CompiledRequirement | null,
    readonly dynamicRequirement: boolean,
    readonly rank: CompiledRank,
    readonly dynamicRank: boolean,
    readonly role: RoleState | undefined,
    readonly error: string | undefined,
    hosts: number,
  ) {
    this.staticOk = new Uint8Array(hosts);
  }
}

/** A host's system datastore and auto NIC networks for one VM. */
interface Storage {
  readonly ds: LiveDatastore;
  readonly nics: readonly { readonly nicId: number; readonly net: LiveNetwork }[];
}

class StorageClass {
  /** Per datastore / network index: 0 unchecked, 1 ok, 2 fails. */
  readonly staticOk: Uint8Array;
  constructor(
    readonly sample: SchedVm,
    readonly automatic: CompiledRequirement | null,
    readonly requirement: CompiledRequirement | null,
    readonly rank: CompiledRank,
    readonly dynamicRank: boolean,
    size: number,
  ) {
    this.staticOk = new Uint8Array(size);
  }
}

// ---- the pass ----------------------------------------------------------------------------------

export class SchedulingPass {
  readonly #input: SchedInput;
  readonly #options: SchedOptions;
  readonly #expr: Expressions;
  readonly #hosts: LiveHost[];
  readonly #hostIndex = new Map<number, number>();
  readonly #datastores: LiveDatastore[];
  readonly #dsByCluster = new Map<number, number[]>();
  readonly #networks: LiveNetwork[];
  readonly #netByCluster = new Map<number, number[]>();
  readonly #roles: Map<string, RoleState>;
  readonly #classes = new Map<string, HostClass>();
  readonly #dsClasses = new Map<string, StorageClass>();
  readonly #netClasses = new Map<string, StorageClass>();
  readonly #hostRankText: string;
  readonly #dsRankText: string;
  readonly #netRankText: string;
  readonly #order: readonly SchedVm[];
  /** Memos (off in the interpreted baseline): results per expression or owner, per host index. */
  readonly #memo: boolean;
  readonly #tests = new Map<string, Uint8Array>();
  readonly #permits = new Map<string, Uint8Array>();
  readonly #ranks = new Map<string, { values: Float64Array; versions: Int32Array }>();
  #evaluations = 0;

  constructor(input: SchedInput, options: SchedOptions) {
    this.#input = input;
    this.#options = options;
    this.#expr = new Expressions(options.compiled ?? true);
    this.#memo = options.compiled ?? true;
    this.#hosts = input.hosts.map((h, i) => new LiveHost(h, i));
    for (const h of this.#hosts) h.dispatched = options.dispatchedToHost?.get(h.host.id) ?? 0;
    this.#hosts.forEach((h, i) => this.#hostIndex.set(h.host.id, i));
    this.#datastores = input.datastores.map((d) => new LiveDatastore(d));
    this.#datastores.forEach((d, i) => {
      for (const c of d.ds.clusterIds) {
        const list = this.#dsByCluster.get(c) ?? [];
        list.push(i);
        this.#dsByCluster.set(c, list);
      }
    });
    this.#networks = input.networks.map((n) => new LiveNetwork(n));
    this.#networks.forEach((n, i) => {
      for (const c of n.net.clusterIds) {
        const list = this.#netByCluster.get(c) ?? [];
        list.push(i);
        this.#netByCluster.set(c, list);
      }
    });
    this.#roles = roleStates(input.groups, input.placedVms);
    this.#hostRankText = hostPolicyRank(options.hostPolicy, options.hostRank);
    this.#dsRankText = datastorePolicyRank(options.dsPolicy, options.dsRank);
    this.#netRankText = networkPolicyRank(options.nicPolicy, options.nicRank);
    this.#order = [...input.vms].sort((a, b) => b.priority - a.priority || a.id - b.id);
    for (const vm of this.#order) {
      const role = this.#roleOf(vm);
      if (role !== undefined && !role.where.has(vm.id)) role.pending.push(vm);
      const cls = this.#classOf(vm);
      cls.minCpu = Math.min(cls.minCpu, vm.cpu);
      cls.minMem = Math.min(cls.minMem, vm.mem);
    }
  }

  /** Places every pending VM it can; explains the others. */
  run(): PassResult {
    const order = this.#order;
    const placements: Placement[] = [];
    const unplacedVms: SchedVm[] = [];
    const deferred: number[] = [];
    const done = new Set<number>();
    for (const vm of order) {
      if (done.has(vm.id)) continue;
      if (placements.length >= this.#options.maxDispatch) {
        deferred.push(vm.id);
        continue;
      }
      const placement = this.#dispatch(vm);
      if (placement === null) {
        unplacedVms.push(vm);
        continue;
      }
      placements.push(placement);
      done.add(vm.id);
      // The first VM of an affined set found room for all of it: the others follow now, before
      // other VMs take that room.
      const set = this.#roleOf(vm)?.set;
      if (set !== undefined) {
        for (const follower of set.pending()) {
          if (done.has(follower.id)) continue;
          if (placements.length >= this.#options.maxDispatch) break;
          const p = this.#dispatch(follower);
          if (p !== null) {
            placements.push(p);
            done.add(follower.id);
          }
        }
      }
    }
    const memo = new Map<string, Unplaced>();
    const unplaced: Unplaced[] = [];
    for (const vm of unplacedVms) {
      if (done.has(vm.id)) continue;
      // VMs outside groups with the same shape get the same explanation.
      const key = vm.group === undefined && vm.resched === undefined ? shapeKey(vm) : undefined;
      const known = key === undefined ? undefined : memo.get(key);
      if (known !== undefined) {
        unplaced.push({ ...known, vmId: vm.id });
        continue;
      }
      let entry = this.#summarize(vm);
      if (this.#options.explainUnplaced === true) entry = { ...entry, explanation: this.explain(vm) };
      if (key !== undefined) memo.set(key, entry);
      unplaced.push(entry);
    }
    return { placements, unplaced, deferred, evaluations: this.#evaluations };
  }

  // ---- classes ---------------------------------------------------------------------------------

  #roleOf(vm: SchedVm): RoleState | undefined {
    return vm.group === undefined ? undefined : this.#roles.get(roleKey(vm.group.groupId, vm.group.role));
  }

  #classOf(vm: SchedVm): HostClass {
    const key = `${vm.uid}\u0000${vm.gid}\u0000${vm.automaticRequirements}\u0000${vm.requirements}\u0000${vm.rank}\u0000${vm.group?.groupId ?? ''}\u0000${vm.group?.role ?? ''}`;
    let cls = this.#classes.get(key);
    if (cls !== undefined) return cls;
    const automatic = this.#expr.requirement(vm.automaticRequirements);
    const requirement = this.#expr.requirement(vm.requirements);
    const rankText = vm.rank.trim() !== '' ? vm.rank : this.#hostRankText;
    const rank = this.#expr.rank(rankText);
    let error: string | undefined;
    if (!requirement.ok)
      error = schedMessage.expressionError('SCHED_REQUIREMENTS', vm.requirements, requirement.error);
    else if (!automatic.ok)
      error = schedMessage.expressionError(
        'AUTOMATIC_REQUIREMENTS',
        vm.automaticRequirements,
        automatic.error,
      );
    else if (!rank.ok) error = schedMessage.expressionError('SCHED_RANK', rankText, rank.error);
    const req = requirement.ok && vm.requirements.trim() !== '' ? requirement.value : null;
    const rankValue = rank.ok
      ? rank.value
      : { source: rankText, rank: () => 0, variables: new Set<string>() };
    cls = new HostClass(
      vm,
      automatic.ok && vm.automaticRequirements.trim() !== '' ? automatic.value : null,
      req,
      req !== null && readsAny(req.variables, LIVE_HOST_VARIABLES),
      rankValue,
      readsAny(rankValue.variables, LIVE_HOST_VARIABLES),
      this.#roleOf(vm),
      error,
      this.#hosts.length,
    );
    this.#classes.set(key, cls);
    return cls;
  }

  #dsClassOf(vm: SchedVm): StorageClass {
    const key = `${vm.uid}\u0000${vm.gid}\u0000${vm.automaticDsRequirements}\u0000${vm.dsRequirements}\u0000${vm.dsRank}`;
    let cls = this.#dsClasses.get(key);
    if (cls !== undefined) return cls;
    const automatic = this.#expr.requirement(vm.automaticDsRequirements);
    const requirement = this.#expr.requirement(vm.dsRequirements);
    const rank = this.#expr.rank(vm.dsRank.trim() !== '' ? vm.dsRank : this.#dsRankText);
    const rankValue = rank.ok ? rank.value : { source: '', rank: () => 0, variables: new Set<string>() };
    cls = new StorageClass(
      vm,
      automatic.ok && vm.automaticDsRequirements.trim() !== '' ? automatic.value : null,
      requirement.ok
        ? vm.dsRequirements.trim() !== ''
          ? requirement.value
          : null
        : { source: vm.dsRequirements, test: () => false, warnings: [], variables: new Set() },
      rankValue,
      readsAny(rankValue.variables, LIVE_DS_VARIABLES),
      this.#datastores.length,
    );
    this.#dsClasses.set(key, cls);
    return cls;
  }

  #netClassOf(vm: SchedVm, requirements: string, rankText: string): StorageClass {
    const key = `${vm.uid}\u0000${vm.gid}\u0000${requirements}\u0000${rankText}`;
    let cls = this.#netClasses.get(key);
    if (cls !== undefined) return cls;
    const requirement = this.#expr.requirement(requirements);
    const rank = this.#expr.rank(rankText.trim() !== '' ? rankText : this.#netRankText);
    const rankValue = rank.ok ? rank.value : { source: '', rank: () => 0, variables: new Set<string>() };
    cls = new StorageClass(
      vm,
      null,
      requirement.ok
        ? requirements.trim() !== ''
          ? requirement.value
          : null
        : { source: requirements, test: () => false, warnings: [], variables: new Set() },
      rankValue,
      readsAny(rankValue.variables, LIVE_NET_VARIABLES),
      this.#networks.length,
    );
    this.#netClasses.set(key, cls);
    return cls;
  }

  // ---- static checks ---------------------------------------------------------------------------

  /** A requirement on the host's snapshot, memoized per expression and host. */
  #holds(c: CompiledRequirement, h: LiveHost): boolean {
    if (!this.#memo) return c.test(h.host.lookup);
    let results = this.#tests.get(c.source);
    if (results === undefined) {
      results = new Uint8Array(this.#hosts.length);
      this.#tests.set(c.source, results);
    }
    let r = results[h.index]!;
    if (r === 0) {
      r = c.test(h.host.lookup) ? 1 : 2;
      results[h.index] = r;
    }
    return r === 1;
  }

  /** MANAGE on the host for the VM's owner, memoized per owner and host. */
  #mayManage(vm: SchedVm, h: LiveHost): boolean {
    if (!this.#memo) return this.#input.authorize(vm, 'MANAGE', h.host.auth);
    const key = `${vm.uid}:${vm.gid}`;
    let results = this.#permits.get(key);
    if (results === undefined) {
      results = new Uint8Array(this.#hosts.length);
      this.#permits.set(key, results);
    }
    let r = results[h.index]!;
    if (r === 0) {
      r = this.#input.authorize(vm, 'MANAGE', h.host.auth) ? 1 : 2;
      results[h.index] = r;
    }
    return r === 1;
  }

  /** A host's rank, memoized per expression and host until a placement changes the host. */
  #rankOn(rank: CompiledRank, h: LiveHost): number {
    if (!this.#memo) return rank.rank(h.lookup);
    let memo = this.#ranks.get(rank.source);
    if (memo === undefined) {
      memo = {
        values: new Float64Array(this.#hosts.length),
        versions: new Int32Array(this.#hosts.length).fill(-1),
      };
      this.#ranks.set(rank.source, memo);
    }
    if (memo.versions[h.index] !== h.version) {
      memo.values[h.index] = rank.rank(h.lookup);
      memo.versions[h.index] = h.version;
    }
    return memo.values[h.index]!;
  }

  /** The first static reason a host fails for the class (state, permission, requirements, host lists). */
  #staticReason(cls: HostClass, h: LiveHost): Reason<HostReasonCode> | null {
    const host = h.host;
    if (!SCHEDULABLE_HOST_STATES.has(host.state)) return hostReason.state(host.state);
    if (!this.#mayManage(cls.sample, h)) return hostReason.permission();
    return this.#requirementReason(cls, h);
  }

  #requirementReason(cls: HostClass, h: LiveHost): Reason<HostReasonCode> | null {
    if (cls.automatic !== null && !this.#holds(cls.automatic, h))
      return hostReason.automatic(cls.automatic.source);
    if (cls.requirement !== null && !this.#holds(cls.requirement, h))
      return hostReason.requirements(cls.requirement.source);
    const rule = cls.role?.hostRule(h.host.id) ?? null;
    return rule === null ? null : hostReason.hostAffinity(rule);
  }

  #passesStatic(cls: HostClass, index: number): boolean {
    let s = cls.staticOk[index]!;
    if (s === 0) {
      this.#evaluations++;
      s = this.#staticReason(cls, this.#hosts[index]!) === null ? 1 : 2;
      cls.staticOk[index] = s;
    }
    return s === 1;
  }

  // ---- dispatch --------------------------------------------------------------------------------

  #demand(vm: SchedVm, role: RoleState | undefined): { cpu: number; mem: number } {
    if (role?.set === undefined || !role.isLeader(vm.id)) return { cpu: vm.cpu, mem: vm.mem };
    let cpu = 0;
    let mem = 0;
    for (const m of role.set.pending()) {
      cpu += m.cpu;
      mem += m.mem;
    }
    return { cpu, mem };
  }

  #dispatch(vm: SchedVm): Placement | null {
    const cls = this.#classOf(vm);
    if (cls.error !== undefined) return null;
    const demand = this.#demand(vm, cls.role);
    // Capacity only shrinks during a pass: a VM shaped like one that found no host finds none
    // either (group members, rescheduled VMs and live requirements have rules of their own).
    const shape =
      cls.role === undefined && vm.resched === undefined && !cls.dynamicRequirement
        ? shapeKey(vm)
        : undefined;
    if (shape !== undefined && cls.failedShapes.has(shape)) return null;
    // The datastore and networks a host gets depend only on its cluster while nothing is placed.
    const perCluster = new Map<number, Storage | null>();
    const confined = cls.role?.confinedTo(vm.id);
    if (confined !== undefined) {
      const candidates = confined
        .map((id) => this.#hostIndex.get(id))
        .filter((i): i is number => i !== undefined && this.#passesStatic(cls, i))
        .map((i) => ({ i, rank: this.#rankOn(cls.rank, this.#hosts[i]!) }))
        .sort((a, b) => b.rank - a.rank || this.#hosts[a.i]!.host.id - this.#hosts[b.i]!.host.id);
      for (const c of candidates) {
        const p = this.#tryHost(vm, cls, this.#hosts[c.i]!, demand, c.rank, perCluster);
        if (p !== null) return p;
      }
      return null;
    }
    const heap = this.#heapOf(cls);
    const aside: Candidate[] = [];
    let placed: Placement | null = null;
    for (let top = heap.pop(); top !== undefined; top = heap.pop()) {
      const h = this.#hosts[top.host]!;
      if (cls.dynamicRank && top.version !== h.version) {
        heap.push({ rank: this.#rankOn(cls.rank, h), host: top.host, id: top.id, version: h.version });
        continue;
      }
      // A host too small for every VM of the class is dropped for the rest of the pass.
      if (h.freeCpu < cls.minCpu || h.freeMem < cls.minMem || h.dispatched >= this.#options.maxHost) continue;
      aside.push(top);
      placed = this.#tryHost(vm, cls, h, demand, top.rank, perCluster);
      if (placed !== null) break;
    }
    for (const c of aside) heap.push(c);
    if (placed === null && shape !== undefined) cls.failedShapes.add(shape);
    return placed;
  }

  #heapOf(cls: HostClass): CandidateHeap {
    if (cls.heap === undefined) {
      const items: Candidate[] = [];
      for (let i = 0; i < this.#hosts.length; i++) {
        if (!this.#passesStatic(cls, i)) continue;
        const h = this.#hosts[i]!;
        items.push({ rank: this.#rankOn(cls.rank, h), host: i, id: h.host.id, version: h.version });
      }
      cls.heap = new CandidateHeap(items);
    }
    return cls.heap;
  }

  /** The dynamic checks on one host; on success the placement is counted on the live state. */
  #tryHost(
    vm: SchedVm,
    cls: HostClass,
    h: LiveHost,
    demand: { cpu: number; mem: number },
    rank: number,
    perCluster: Map<number, Storage | null>,
  ): Placement | null {
    this.#evaluations++;
    if (vm.resched !== undefined && vm.resched.hostId === h.host.id) return null;
    if (h.freeCpu < demand.cpu || h.freeMem < demand.mem) return null;
    if (h.dispatched >= this.#options.maxHost) return null;
    if (cls.dynamicRequirement && !cls.requirement!.test(h.lookup)) return null;
    if (cls.role !== undefined && cls.role.vmRule(h.host.id, vm.id) !== null) return null;
    let storage = perCluster.get(h.host.clusterId);
    if (storage === undefined) {
      const found = this.#chooseDatastore(vm, h);
      const networks = found === null ? null : this.#chooseNetworks(vm, h);
      storage = found === null || networks === null ? null : { ds: found, nics: networks };
      perCluster.set(h.host.clusterId, storage);
    }
    if (storage === null) return null;
    const { ds, nics } = storage;
    h.cpuUsage += vm.cpu;
    h.memUsage += vm.mem;
    h.running++;
    h.version++;
    h.dispatched++;
    h.added.push(vm.id);
    if (vm.resched === undefined) ds.free -= vm.diskMb;
    for (const n of nics) {
      n.net.free--;
      n.net.used++;
    }
    cls.role?.place(vm.id, h.host.id);
    return {
      vmId: vm.id,
      hostId: h.host.id,
      dsId: ds.ds.id,
      nics: nics.map((n) => ({ nicId: n.nicId, networkId: n.net.net.id })),
      rank,
      resched: vm.resched !== undefined,
    };
  }

  #dsStaticReason(cls: StorageClass, d: LiveDatastore): Reason<DatastoreReasonCode> | null {
    if (d.ds.state !== 0) return datastoreReason.state();
    if (!this.#input.authorize(cls.sample, 'USE', d.ds.auth)) return datastoreReason.permission();
    if (cls.automatic !== null && !cls.automatic.test(d.ds.lookup))
      return datastoreReason.automatic(cls.automatic.source);
    if (cls.requirement !== null && !cls.requirement.test(d.ds.lookup)) return datastoreReason.requirements();
    return null;
  }

  #dsCapacityReason(vm: SchedVm, d: LiveDatastore): Reason<DatastoreReasonCode> | null {
    if (vm.resched !== undefined || vm.diskMb <= 0) return null;
    if (!d.ds.monitored) return datastoreReason.notMonitored();
    if (d.free < vm.diskMb) return datastoreReason.capacity(vm.diskMb, Math.max(0, d.free));
    return null;
  }

  #dsPasses(cls: StorageClass, index: number): boolean {
    let s = cls.staticOk[index]!;
    if (s === 0) {
      s = this.#dsStaticReason(cls, this.#datastores[index]!) === null ? 1 : 2;
      cls.staticOk[index] = s;
    }
    return s === 1;
  }

  #chooseDatastore(vm: SchedVm, h: LiveHost): LiveDatastore | null {
    const inCluster = this.#dsByCluster.get(h.host.clusterId) ?? [];
    if (vm.resched !== undefined) {
      const i = inCluster.find((k) => this.#datastores[k]!.ds.id === vm.resched!.dsId);
      return i === undefined ? null : this.#datastores[i]!;
    }
    const cls = this.#dsClassOf(vm);
    let best: LiveDatastore | null = null;
    let bestRank = 0;
    for (const i of inCluster) {
      if (!this.#dsPasses(cls, i)) continue;
      const d = this.#datastores[i]!;
      if (this.#dsCapacityReason(vm, d) !== null) continue;
      const r = cls.rank.rank(d.lookup);
      if (best === null || r > bestRank || (r === bestRank && d.ds.id < best.ds.id)) {
        best = d;
        bestRank = r;
      }
    }
    return best;
  }

  #netReason(cls: StorageClass, n: LiveNetwork, clusterId: number): Reason<NetworkReasonCode> | null {
    if (!n.net.clusterIds.includes(clusterId)) return networkReason.notInCluster();
    if (!this.#input.authorize(cls.sample, 'USE', n.net.auth)) return networkReason.permission();
    if (cls.requirement !== null && !cls.requirement.test(n.net.lookup)) return networkReason.requirements();
    if (n.free <= 0) return networkReason.noLeases();
    return null;
  }

  #chooseNetworks(vm: SchedVm, h: LiveHost): { nicId: number; net: LiveNetwork }[] | null {
    if (vm.autoNics.length === 0) return [];
    const inCluster = this.#netByCluster.get(h.host.clusterId) ?? [];
    const chosen: { nicId: number; net: LiveNetwork }[] = [];
    for (const nic of vm.autoNics) {
      const cls = this.#netClassOf(vm, nic.requirements, nic.rank);
      let best: LiveNetwork | null = null;
      let bestRank = 0;
      for (const i of inCluster) {
        const n = this.#networks[i]!;
        if (chosen.some((c) => c.net === n)) continue; // DIFFERENT_VNETS = YES
        if (this.#netReason(cls, n, h.host.clusterId) !== null) continue;
        const r = cls.rank.rank(n.lookup);
        if (best === null || r > bestRank || (r === bestRank && n.net.id < best.net.id)) {
          best = n;
          bestRank = r;
        }
      }
      if (best === null) return null;
      chosen.push({ nicId: nic.nicId, net: best });
    }
    return chosen;
  }

  // ---- explanations ----------------------------------------------------------------------------

  /** Every host, datastore and network with its verdict for one VM, on the pass's current figures. */
  explain(vm: SchedVm): PlacementExplanation {
    const cls = this.#classOf(vm);
    const dsCls = this.#dsClassOf(vm);
    const demand = this.#demand(vm, cls.role);
    const requirements = combinedRequirement(vm.automaticRequirements, vm.requirements);
    const warnings = [
      ...(cls.automatic?.warnings ?? []),
      ...(cls.requirement?.warnings ?? []),
      ...(dsCls.requirement?.warnings ?? []),
    ];
    const base = {
      vmId: vm.id,
      requirements,
      rank: cls.rank.source,
      dsRequirements: combinedRequirement(vm.automaticDsRequirements, vm.dsRequirements),
      dsRank: dsCls.rank.source,
      warnings,
      demand: { ...demand, diskMb: vm.diskMb },
    };
    if (cls.error !== undefined) {
      return { ...base, message: cls.error, hosts: [], datastores: [], networks: [], rejected: {} };
    }
    const dsError = this.#expr.requirement(vm.dsRequirements);
    if (!dsError.ok) {
      const message = schedMessage.expressionError('SCHED_DS_REQUIREMENTS', vm.dsRequirements, dsError.error);
      return { ...base, message, hosts: [], datastores: [], networks: [], rejected: {} };
    }
    const survey = this.#survey(vm, cls, demand, true);
    const verdicts = survey.verdicts;
    const eligible = verdicts.filter((v) => v.verdict === 'eligible');
    eligible.sort((a, b) => b.rank! - a.rank! || a.id - b.id);
    const best = eligible[0];
    const hosts = verdicts
      .map((v) => (v === best ? { ...v, verdict: 'selected' as const } : v))
      .sort(
        (a, b) =>
          verdictOrder(a.verdict) - verdictOrder(b.verdict) || (b.rank ?? 0) - (a.rank ?? 0) || a.id - b.id,
      );
    const datastores = this.#explainDatastores(vm, dsCls, survey.reachingDs, best?.datastoreId);
    const networks = this.#explainNetworks(
      vm,
      best === undefined ? undefined : this.#hosts[this.#hostIndex.get(best.id)!],
    );
    return {
      ...base,
      message: survey.message,
      hosts,
      datastores,
      networks,
      rejected: survey.rejected,
      ...(best !== undefined
        ? { choice: { hostId: best.id, dsId: best.datastoreId!, rank: best.rank! } }
        : {}),
    };
  }

  /** SCHED_MESSAGE and the rejection counts of a VM no host takes (no verdict list). */
  #summarize(vm: SchedVm): Unplaced {
    const cls = this.#classOf(vm);
    if (cls.error !== undefined) return { vmId: vm.id, message: cls.error, rejected: {} };
    const dsError = this.#expr.requirement(vm.dsRequirements);
    if (!dsError.ok) {
      const message = schedMessage.expressionError('SCHED_DS_REQUIREMENTS', vm.dsRequirements, dsError.error);
      return { vmId: vm.id, message, rejected: {} };
    }
    const survey = this.#survey(vm, cls, this.#demand(vm, cls.role), false);
    return {
      vmId: vm.id,
      message: survey.message === '' ? schedMessage.dispatch : survey.message,
      rejected: survey.rejected,
    };
  }

  /**
   * Every host's first failing check for the VM. SCHED_MESSAGE follows OpenNebula's counting: the
   * message names the furthest stage no host passed (state, permission, capacity, requirements,
   * group rules, dispatch limit, datastore, network).
   */
  #survey(
    vm: SchedVm,
    cls: HostClass,
    demand: { cpu: number; mem: number },
    detail: boolean,
  ): {
    message: string;
    rejected: Partial<Record<HostReasonCode, number>>;
    verdicts: HostVerdict[];
    reachingDs: LiveHost[];
  } {
    const rejected: Partial<Record<HostReasonCode, number>> = {};
    const verdicts: HostVerdict[] = [];
    const reachingDs: LiveHost[] = [];
    let furthest = 0;
    let firstAffinity: string | undefined;
    let firstNic: number | undefined;
    for (const h of this.#hosts) {
      this.#evaluations++;
      const reason = this.#hostReason(vm, cls, h, demand);
      const stage = reason === null ? ELIGIBLE_STAGE : STAGE_OF[reason.code];
      if (stage > furthest) furthest = stage;
      if (stage >= STAGE_OF.NO_DATASTORE) reachingDs.push(h);
      if (reason !== null) {
        rejected[reason.code] = (rejected[reason.code] ?? 0) + 1;
        if (reason.code === 'VM_AFFINITY' && firstAffinity === undefined) firstAffinity = reason.text;
        if (reason.code === 'NO_NETWORK' && firstNic === undefined)
          firstNic = Number(/NIC (\d+)/.exec(reason.text)?.[1]);
      }
      if (!detail) continue;
      const common = { id: h.host.id, name: h.host.name, clusterId: h.host.clusterId };
      if (reason !== null) verdicts.push({ ...common, verdict: 'rejected', reason });
      else {
        const ds = this.#chooseDatastore(vm, h)!;
        verdicts.push({
          ...common,
          verdict: 'eligible',
          rank: this.#rankOn(cls.rank, h),
          datastoreId: ds.ds.id,
        });
      }
    }
    const requirements = combinedRequirement(vm.automaticRequirements, vm.requirements);
    let message: string;
    switch (furthest) {
      case 0:
        message = vm.resched !== undefined ? schedMessage.rescheduleNowhere : schedMessage.noHosts;
        break;
      case 1:
        message = schedMessage.noAuthorizedHost;
        break;
      case 2:
        message = schedMessage.noCapacity;
        break;
      case 3:
        message = schedMessage.requirements(requirements);
        break;
      case 4:
        message = schedMessage.affinity(firstAffinity ?? '');
        break;
      case 5:
        message = schedMessage.dispatch;
        break;
      case 6:
        message = this.#datastoreMessage(
          vm,
          this.#dsClassOf(vm),
          reachingDs,
          combinedRequirement(vm.automaticDsRequirements, vm.dsRequirements),
        );
        break;
      case 7:
        message = schedMessage.network(firstNic ?? 0);
        break;
      default:
        message = '';
    }
    return { message, rejected, verdicts, reachingDs };
  }

  #hostReason(
    vm: SchedVm,
    cls: HostClass,
    h: LiveHost,
    demand: { cpu: number; mem: number },
  ): Reason<HostReasonCode> | null {
    const host = h.host;
    if (vm.resched !== undefined && vm.resched.hostId === host.id) return hostReason.currentHost();
    if (!SCHEDULABLE_HOST_STATES.has(host.state)) return hostReason.state(host.state);
    if (!this.#mayManage(cls.sample, h)) return hostReason.permission();
    if (h.freeCpu < demand.cpu) return hostReason.cpu(demand.cpu, Math.max(0, h.freeCpu));
    if (h.freeMem < demand.mem) return hostReason.memory(demand.mem, Math.max(0, h.freeMem));
    const requirement = this.#requirementReason(cls, h);
    if (requirement !== null) return requirement;
    if (cls.dynamicRequirement && !cls.requirement!.test(h.lookup))
      return hostReason.requirements(cls.requirement!.source);
    const rule = cls.role?.vmRule(host.id, vm.id) ?? null;
    if (rule !== null) return hostReason.vmAffinity(rule);
    if (h.dispatched >= this.#options.maxHost)
      return hostReason.dispatchLimit(
        `MAX_HOST limit of ${this.#options.maxHost} VMs reached on this host in this pass.`,
      );
    if (this.#chooseDatastore(vm, h) === null) {
      const why = this.#firstDatastoreReason(vm, h);
      return hostReason.noDatastore(why);
    }
    if (this.#chooseNetworks(vm, h) === null) {
      const missing = this.#firstMissingNic(vm, h);
      return hostReason.noNetwork(missing);
    }
    return null;
  }

  #firstDatastoreReason(vm: SchedVm, h: LiveHost): string {
    const inCluster = this.#dsByCluster.get(h.host.clusterId) ?? [];
    if (vm.resched !== undefined)
      return `the VM's system datastore ${vm.resched.dsId} is not in cluster ${h.host.clusterId}`;
    if (inCluster.length === 0) return `cluster ${h.host.clusterId} has no enabled system datastore`;
    const cls = this.#dsClassOf(vm);
    const reasons = inCluster.map((i) => {
      const d = this.#datastores[i]!;
      const r = this.#dsStaticReason(cls, d) ?? this.#dsCapacityReason(vm, d);
      return `${d.ds.id}: ${r?.text ?? 'ok'}`;
    });
    return reasons.join(' ');
  }

  #firstMissingNic(vm: SchedVm, h: LiveHost): number {
    const chosen: LiveNetwork[] = [];
    const inCluster = this.#netByCluster.get(h.host.clusterId) ?? [];
    for (const nic of vm.autoNics) {
      const cls = this.#netClassOf(vm, nic.requirements, nic.rank);
      const found = inCluster
        .map((i) => this.#networks[i]!)
        .find((n) => !chosen.includes(n) && this.#netReason(cls, n, h.host.clusterId) === null);
      if (found === undefined) return nic.nicId;
      chosen.push(found);
    }
    return vm.autoNics[0]?.nicId ?? 0;
  }

  #explainDatastores(
    vm: SchedVm,
    cls: StorageClass,
    hosts: readonly LiveHost[],
    selected: number | undefined,
  ): DatastoreVerdict[] {
    // "Not in the cluster of any host" only means something when some host got that far.
    const clusters = hosts.length === 0 ? undefined : new Set(hosts.map((h) => h.host.clusterId));
    return this.#datastores
      .map((d): DatastoreVerdict => {
        const common = { id: d.ds.id, name: d.ds.name };
        const reason =
          this.#dsStaticReason(cls, d) ??
          this.#dsCapacityReason(vm, d) ??
          (clusters === undefined || d.ds.clusterIds.some((c) => clusters.has(c))
            ? null
            : datastoreReason.notInCluster());
        if (reason !== null) return { ...common, verdict: 'rejected', reason };
        return {
          ...common,
          verdict: d.ds.id === selected ? 'selected' : 'eligible',
          rank: cls.rank.rank(d.lookup),
        };
      })
      .sort(
        (a, b) =>
          verdictOrder(a.verdict) - verdictOrder(b.verdict) || (b.rank ?? 0) - (a.rank ?? 0) || a.id - b.id,
      );
  }

  #explainNetworks(vm: SchedVm, host: LiveHost | undefined): NetworkVerdict[] {
    const out: NetworkVerdict[] = [];
    const chosen = host === undefined ? [] : (this.#chooseNetworks(vm, host) ?? []);
    for (const nic of vm.autoNics) {
      const cls = this.#netClassOf(vm, nic.requirements, nic.rank);
      const pick = chosen.find((c) => c.nicId === nic.nicId)?.net;
      for (const n of this.#networks) {
        const common = { nicId: nic.nicId, id: n.net.id, name: n.net.name };
        const reason =
          host === undefined
            ? this.#netReasonAnyCluster(cls, n)
            : this.#netReason(cls, n, host.host.clusterId);
        if (reason !== null) out.push({ ...common, verdict: 'rejected', reason });
        else
          out.push({
            ...common,
            verdict: n === pick ? 'selected' : 'eligible',
            rank: cls.rank.rank(n.lookup),
          });
      }
    }
    return out;
  }

  #netReasonAnyCluster(cls: StorageClass, n: LiveNetwork): Reason<NetworkReasonCode> | null {
    if (!this.#input.authorize(cls.sample, 'USE', n.net.auth)) return networkReason.permission();
    if (cls.requirement !== null && !cls.requirement.test(n.net.lookup)) return networkReason.requirements();
    if (n.free <= 0) return networkReason.noLeases();
    return null;
  }

  /** OpenNebula's order: enabled, permitted, with capacity, then SCHED_DS_REQUIREMENTS. */
  #datastoreMessage(vm: SchedVm, cls: StorageClass, hosts: readonly LiveHost[], expr: string): string {
    const clusters = new Set(hosts.map((h) => h.host.clusterId));
    const inReach = this.#datastores.filter((d) => d.ds.clusterIds.some((c) => clusters.has(c)));
    const enabled = inReach.filter((d) => d.ds.state === 0);
    if (enabled.length === 0) return schedMessage.noDatastores;
    const permitted = enabled.filter((d) => this.#input.authorize(cls.sample, 'USE', d.ds.auth));
    if (permitted.length === 0) return schedMessage.noAuthorizedDatastore;
    if (permitted.every((d) => this.#dsCapacityReason(vm, d) !== null))
      return schedMessage.noDatastoreCapacity;
    return schedMessage.dsRequirements(expr);
  }
}

function verdictOrder(v: VerdictKind): number {
  return v === 'selected' ? 0 : v === 'eligible' ? 1 : 2;
}

function shapeKey(vm: SchedVm): string {
  const nics = vm.autoNics.map((n) => `${n.requirements}\u0001${n.rank}`).join('\u0002');
  return [
    vm.uid,
    vm.gid,
    vm.cpu,
    vm.mem,
    vm.diskMb,
    vm.automaticRequirements,
    vm.requirements,
    vm.rank,
    vm.automaticDsRequirements,
    vm.dsRequirements,
    vm.dsRank,
    nics,
  ].join('\u0000');
}

/** One pass over a snapshot: placements for the VMs that fit, reasons for the others. */
export function schedule(input: SchedInput, options: SchedOptions): PassResult {
  return new SchedulingPass(input, options).run();
}

/** The placement explanation of one VM against a snapshot, without placing anything. */
export function explainPlacement(
  input: SchedInput,
  options: SchedOptions,
  vm: SchedVm,
): PlacementExplanation {
  const pass = new SchedulingPass(input, options);
  return pass.explain(vm);
}
