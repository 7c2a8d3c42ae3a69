/**
 * What the scheduler sees: a snapshot of pending VMs, hosts, system datastores, virtual networks
 * and VM groups, built by the controller from the store (src/controller/scheduler/snapshot.ts) or
 * by a benchmark. Plain data and lookups; the scheduler never touches the store.
 *
 * Units follow HOST_SHARE (reference §5.1): CPU in hundredths of a CPU (CPU = 0.5 → 50), memory in
 * KB, datastore space in MB.
 */
import type { AuthObject } from '../domain/auth/authorize.js';
import type { VmGroupRoleRules, VmGroupRules } from '../domain/vmgroup/index.js';
import type { Lookup } from './expressions.js';

/** Host states the scheduler may deploy to (reference §5.1: STATE 1 MONITORING or 2 MONITORED). */
export const SCHEDULABLE_HOST_STATES: ReadonlySet<number> = new Set([1, 2]);

export interface SchedHost {
  readonly id: number;
  readonly name: string;
  readonly clusterId: number;
  readonly state: number;
  /** MAX_CPU / MAX_MEM: the totals less RESERVED_CPU / RESERVED_MEM (negative reserves overcommit). */
  readonly maxCpu: number;
  readonly maxMem: number;
  readonly cpuUsage: number;
  readonly memUsage: number;
  readonly runningVms: number;
  /** VMs on the host (CURRENT_VMS). */
  readonly vms: readonly number[];
  /** The host's variables in OpenNebula's lookup order (host-lookup.ts). */
  readonly lookup: Lookup;
  readonly auth: AuthObject;
}

export interface SchedDatastore {
  readonly id: number;
  readonly name: string;
  readonly clusterIds: readonly number[];
  /** 0 READY, 1 DISABLED. */
  readonly state: number;
  readonly freeMb: number;
  /** TOTAL_MB is known (the datastore has been measured). */
  readonly monitored: boolean;
  readonly tmMad: string;
  /** The datastore's variables: its template, then its top-level fields (FREE_MB, NAME, ID …). */
  readonly lookup: Lookup;
  readonly auth: AuthObject;
}

export interface SchedNetwork {
  readonly id: number;
  readonly name: string;
  readonly clusterIds: readonly number[];
  readonly freeLeases: number;
  readonly usedLeases: number;
  /** The network's variables: its template, then its top-level fields (USED_LEASES, NAME, ID …). */
  readonly lookup: Lookup;
  readonly auth: AuthObject;
}

/** A NIC with `NETWORK_MODE = "auto"`: the scheduler picks its network. */
export interface SchedAutoNic {
  readonly nicId: number;
  /** The NIC's SCHED_REQUIREMENTS ('' = any). */
  readonly requirements: string;
  /** The NIC's SCHED_RANK ('' = the NIC policy). */
  readonly rank: string;
}

/** The VM's membership of a VM group: `VMGROUP = [ VMGROUP_ID, ROLE ]`. */
export interface SchedGroupRef {
  readonly groupId: number;
  readonly role: string;
}

export interface SchedVm {
  readonly id: number;
  readonly uid: number;
  readonly gid: number;
  /** USER_PRIORITY: higher is dispatched first; ties by lower id. */
  readonly priority: number;
  /** CPU × 100. */
  readonly cpu: number;
  /** MEMORY in KB. */
  readonly mem: number;
  /** Space the VM needs on its system datastore, MB. */
  readonly diskMb: number;
  /** AUTOMATIC_REQUIREMENTS (cluster constraints the core computed). */
  readonly automaticRequirements: string;
  /** SCHED_REQUIREMENTS from the user template ('' = none). */
  readonly requirements: string;
  /** SCHED_RANK ('' = the host policy). */
  readonly rank: string;
  readonly automaticDsRequirements: string;
  readonly dsRequirements: string;
  readonly dsRank: string;
  readonly autoNics: readonly SchedAutoNic[];
  readonly group?: SchedGroupRef;
  /** A running VM flagged RESCHED: it moves off `hostId`, keeping its system datastore. */
  readonly resched?: { readonly hostId: number; readonly dsId: number };
}

/**
 * A VM group as the scheduler reads it: the domain's `VmGroupRules` (src/domain/vmgroup/rules.ts),
 * without the role ids the scheduler does not use.
 */
export type SchedRole = Omit<VmGroupRoleRules, 'id'>;

export interface SchedGroup extends Omit<VmGroupRules, 'roles'> {
  readonly roles: readonly SchedRole[];
}

/** May the VM's owner do `operation` on `object`? (ACLs and permission bits.) */
export type SchedAuthorizer = (vm: SchedVm, operation: 'USE' | 'MANAGE', object: AuthObject) => boolean;

export interface SchedInput {
  readonly vms: readonly SchedVm[];
  readonly hosts: readonly SchedHost[];
  /** System datastores (TYPE 1). */
  readonly datastores: readonly SchedDatastore[];
  readonly networks: readonly SchedNetwork[];
  readonly groups: readonly SchedGroup[];
  /** Where each VM that holds capacity runs (for affinity: VMs placed before this pass). */
  readonly placedVms: ReadonlyMap<number, number>;
  readonly authorize: SchedAuthorizer;
}

/** Host policy (sched.conf DEFAULT_SCHED POLICY): 0 packing, 1 striping, 2 load-aware, 3 custom, 4 fixed. */
export type HostPolicy = 0 | 1 | 2 | 3 | 4;
/** Datastore and NIC policy: 0 packing, 1 striping, 2 custom, 3 fixed. */
export type StoragePolicy = 0 | 1 | 2 | 3;

export interface SchedOptions {
  readonly hostPolicy: HostPolicy;
  /** The rank expression of the custom host policy. */
  readonly hostRank?: string;
  readonly dsPolicy: StoragePolicy;
  readonly dsRank?: string;
  readonly nicPolicy: StoragePolicy;
  readonly nicRank?: string;
  /** VMs dispatched per pass at most (OpenNebula MAX_DISPATCH); Infinity = no limit. */
  readonly maxDispatch: number;
  /** VMs dispatched to one host per pass at most (MAX_HOST); Infinity = no limit. */
  readonly maxHost: number;
  /** Unplaced VMs carry their full explanation (sched.log at DDEBUG), not only SCHED_MESSAGE. */
  readonly explainUnplaced?: boolean;
  /** VMs already dispatched to each host in the current limit window (MAX_HOST across passes). */
  readonly dispatchedToHost?: ReadonlyMap<number, number>;
  /** Compile each expression once (true) or parse it on every evaluation (the benchmark's baseline). */
  readonly compiled?: boolean;
}

export const DEFAULT_SCHED_OPTIONS: SchedOptions = {
  hostPolicy: 1,
  dsPolicy: 1,
  nicPolicy: 1,
  maxDispatch: Number.POSITIVE_INFINITY,
  maxHost: Number.POSITIVE_INFINITY,
};

export interface Placement {
  readonly vmId: number;
  readonly hostId: number;
  readonly dsId: number;
  readonly nics: readonly { readonly nicId: number; readonly networkId: number }[];
  readonly rank: number;
  /** The VM moves (RESCHED) rather than deploys. */
  readonly resched: boolean;
}
