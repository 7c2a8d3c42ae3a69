/**
 * The scheduler's view of the store (reference §5.1 step 1): pending and rescheduling VMs,
 * hosts, system datastores, the networks auto NICs may use, VM groups and who may use what.
 */
import type { AuthObject, SubjectAuthorizer } from '../../domain/auth/authorize.js';
import type { DatastoreRecord } from '../../domain/datastore/record.js';
import { getSingle, getVectors } from '../../domain/template/attributes.js';
import type { Template } from '../../domain/template/types.js';
import { LcmState, VmState } from '../../domain/vm/index.js';
import type { VmRecord } from '../../domain/vm/record.js';
import type { VnetRecord } from '../../domain/vnet/record.js';
import type { Lookup } from '../../scheduler/expressions.js';
import { hostLookup } from '../../scheduler/host-lookup.js';
import type {
  SchedAutoNic,
  SchedDatastore,
  SchedGroup,
  SchedHost,
  SchedInput,
  SchedNetwork,
  SchedVm,
} from '../../scheduler/model.js';
import type { Store } from '../../store/index.js';
import type { ControllerContext } from '../context.js';
import { datastoreAuthObject } from '../datastores.js';
import { hostAuthObject } from '../hosts.js';
import { allocationOf } from '../lifecycle/capacity.js';
import { vnetAuthObject } from '../vnets.js';

const ALL = { limit: 1_000_000 } as const;

function attribute(vm: VmRecord, name: string): string {
  return getSingle(vm.userTemplate, name) ?? getSingle(vm.template, name) ?? '';
}

function templateLookup(
  template: Template,
  top: Readonly<Record<string, string | readonly string[]>>,
): Lookup {
  return (name) => {
    const own = template[name]?.filter((v): v is string => typeof v === 'string');
    if (own !== undefined && own.length > 0) return own;
    const t = top[name];
    return t === undefined ? undefined : typeof t === 'string' ? [t] : t;
  };
}

/** Space on the system datastore: volatile disks and non-persistent image copies, MB. */
export function systemDiskMb(template: Template): number {
  let mb = 0;
  for (const disk of getVectors(template, 'DISK')) {
    const persistent = (disk.PERSISTENT ?? '').toUpperCase() === 'YES';
    if (persistent) continue;
    const size = Number(disk.SIZE ?? 0);
    if (Number.isFinite(size) && size > 0) mb += size;
  }
  return mb;
}

function autoNics(template: Template): SchedAutoNic[] {
  return getVectors(template, 'NIC')
    .filter(
      (n) => (n.NETWORK_MODE ?? '').trim().toLowerCase() === 'auto' && (n.NETWORK_ID ?? '').trim() === '',
    )
    .map((n) => ({
      nicId: Number(n.NIC_ID ?? 0),
      requirements: n.SCHED_REQUIREMENTS ?? '',
      rank: n.SCHED_RANK ?? '',
    }));
}

/** The scheduler's view of one VM. */
export function schedVm(vm: VmRecord, resched?: { hostId: number; dsId: number }): SchedVm {
  const alloc = allocationOf(vm.template);
  const group = getVectors(vm.template, 'VMGROUP')[0];
  const groupId = Number(group?.VMGROUP_ID ?? NaN);
  const priority = Number(attribute(vm, 'USER_PRIORITY') || 0);
  return {
    id: vm.id,
    uid: vm.uid,
    gid: vm.gid,
    priority: Number.isFinite(priority) ? priority : 0,
    cpu: alloc.cpu,
    mem: alloc.mem,
    diskMb: systemDiskMb(vm.template),
    automaticRequirements: getSingle(vm.template, 'AUTOMATIC_REQUIREMENTS') ?? '',
    requirements: attribute(vm, 'SCHED_REQUIREMENTS'),
    rank: attribute(vm, 'SCHED_RANK'),
    automaticDsRequirements: getSingle(vm.template, 'AUTOMATIC_DS_REQUIREMENTS') ?? '',
    dsRequirements: attribute(vm, 'SCHED_DS_REQUIREMENTS'),
    dsRank: attribute(vm, 'SCHED_DS_RANK'),
    autoNics: autoNics(vm.template),
    ...(group !== undefined && Number.isInteger(groupId) && group.ROLE !== undefined
      ? { group: { groupId, role: group.ROLE } }
      : {}),
    ...(resched !== undefined ? { resched } : {}),
  };
}

export function schedDatastore(ds: DatastoreRecord): SchedDatastore {
  const clusters = ds.clusters.map(String);
  return {
    id: ds.id,
    name: ds.name,
    clusterIds: ds.clusters,
    state: ds.state,
    freeMb: ds.freeMb,
    monitored: ds.totalMb > 0,
    tmMad: ds.tmMad,
    lookup: templateLookup(ds.template, {
      ID: String(ds.id),
      NAME: ds.name,
      UID: String(ds.uid),
      GID: String(ds.gid),
      TYPE: String(ds.type),
      STATE: String(ds.state),
      DS_MAD: ds.dsMad,
      TM_MAD: ds.tmMad,
      TOTAL_MB: String(ds.totalMb),
      FREE_MB: String(ds.freeMb),
      USED_MB: String(ds.usedMb),
      'CLUSTERS/ID': clusters,
      CLUSTER_ID: clusters,
    }),
    auth: datastoreAuthObject(ds),
  };
}

export function schedNetwork(vnet: VnetRecord, used: number): SchedNetwork {
  const size = vnet.ars.reduce((sum, ar) => sum + ar.size, 0);
  const clusters = vnet.clusters.map(String);
  return {
    id: vnet.id,
    name: vnet.name,
    clusterIds: vnet.clusters,
    freeLeases: Math.max(0, size - used),
    usedLeases: used,
    lookup: templateLookup(vnet.template, {
      ID: String(vnet.id),
      NAME: vnet.name,
      UID: String(vnet.uid),
      GID: String(vnet.gid),
      BRIDGE: vnet.bridge,
      VN_MAD: vnet.vnMad,
      VLAN_ID: vnet.vlanId,
      USED_LEASES: String(used),
      'CLUSTERS/ID': clusters,
      CLUSTER_ID: clusters,
    }),
    auth: vnetAuthObject(vnet),
  };
}

/** Who may use what: one authorizer per VM owner, from the user's groups and the ACL table. */
async function ownersAuthorizer(
  ctx: ControllerContext,
  store: Store,
  uids: ReadonlySet<number>,
): Promise<(uid: number, operation: 'USE' | 'MANAGE', object: AuthObject) => boolean> {
  const evaluator = await ctx.acl.evaluator();
  const subjects = new Map<number, SubjectAuthorizer>();
  for (const uid of uids) {
    const user = await store.users.find(uid);
    const gids = user === undefined ? [] : [user.gid, ...user.groups.filter((g) => g !== user.gid)];
    subjects.set(uid, evaluator.forSubject({ uid, gids }));
  }
  return (uid, operation, object) => subjects.get(uid)?.can(operation, object) ?? false;
}

/** Nothing to schedule: the pass ends before reading hosts. */
const EMPTY_INPUT: SchedInput = {
  vms: [],
  hosts: [],
  datastores: [],
  networks: [],
  groups: [],
  placedVms: new Map(),
  authorize: () => false,
};

export interface SnapshotOptions {
  /** Include RUNNING / POWEROFF VMs flagged RESCHED. */
  readonly resched: boolean;
  /** Read hosts and datastores even when no VM waits (an explanation asked for). */
  readonly emptyPass?: boolean;
  /** A system datastore with its capacity measured recently enough. */
  readonly measure: (ds: DatastoreRecord) => Promise<DatastoreRecord>;
}

/** Reads everything one pass needs. VM groups come from `groups` (the VM group service). */
export async function readSnapshot(
  ctx: ControllerContext,
  groups: (store: Store) => Promise<SchedGroup[]>,
  options: SnapshotOptions,
): Promise<{ input: SchedInput; vms: Map<number, VmRecord> }> {
  const store = ctx.store;
  // Uncached: every VM passes through PENDING once; the API's record cache need not hold them all.
  const pending = (await store.vms.list({ state: VmState.PENDING }, { ...ALL, uncached: true })).items;
  const rescheduling = options.resched
    ? (
        await store.vms.list(
          { state: [VmState.ACTIVE, VmState.POWEROFF], resched: true },
          { ...ALL, uncached: true },
        )
      ).items.filter(
        (v) =>
          v.state === VmState.POWEROFF || v.lcmState === LcmState.RUNNING || v.lcmState === LcmState.UNKNOWN,
      )
    : [];
  if (pending.length === 0 && rescheduling.length === 0 && options.emptyPass !== true)
    return { input: EMPTY_INPUT, vms: new Map() };
  const lastHistory =
    rescheduling.length === 0 ? new Map() : await store.history.lastOf(rescheduling.map((v) => v.id));
  const hostRecords = (await store.hosts.list(undefined, ALL)).items;
  const clusters = new Map((await store.clusters.list(undefined, ALL)).items.map((c) => [c.id, c]));
  const hosts: SchedHost[] = hostRecords.map((h) => ({
    id: h.id,
    name: h.name,
    clusterId: h.clusterId,
    state: h.state,
    maxCpu: h.share.maxCpu,
    maxMem: h.share.maxMem,
    cpuUsage: h.share.cpuUsage,
    memUsage: h.share.memUsage,
    runningVms: h.share.runningVms,
    vms: h.vms,
    lookup: hostLookup(h, clusters.get(h.clusterId)),
    auth: hostAuthObject(h),
  }));
  const placedVms = new Map<number, number>();
  for (const h of hostRecords) for (const v of h.vms) placedVms.set(v, h.id);
  const systemDs = (await store.datastores.list(undefined, ALL)).items.filter((d) => d.type === 1);
  const datastores = (await Promise.all(systemDs.map((d) => options.measure(d)))).map(schedDatastore);
  const vms = [
    ...pending.map((v) => schedVm(v)),
    ...rescheduling.flatMap((v) => {
      const last = lastHistory.get(v.id);
      return last === undefined ? [] : [schedVm(v, { hostId: last.hid, dsId: last.dsId })];
    }),
  ];
  const networks: SchedNetwork[] = [];
  if (vms.some((v) => v.autoNics.length > 0)) {
    for (const vnet of (await store.vnets.list(undefined, ALL)).items) {
      const counts = await store.leases.countByAr(vnet.id);
      networks.push(
        schedNetwork(
          vnet,
          [...counts.values()].reduce((a, b) => a + b, 0),
        ),
      );
    }
  }
  const uids = new Set(vms.map((v) => v.uid));
  const can = await ownersAuthorizer(ctx, store, uids);
  const records = new Map<number, VmRecord>([...pending, ...rescheduling].map((v) => [v.id, v]));
  return {
    input: {
      vms,
      hosts,
      datastores,
      networks,
      groups: vms.some((v) => v.group !== undefined) ? await groups(store) : [],
      placedVms,
      authorize: (vm, operation, object) => vm.uid === 0 || vm.gid === 0 || can(vm.uid, operation, object),
    },
    vms: records,
  };
}
