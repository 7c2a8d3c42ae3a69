/** Small builders for scheduler inputs: hosts, datastores, networks, VMs and groups as plain data. */
import type { AuthObject } from '../../../src/domain/auth/authorize.js';
import type { Lookup } from '../../../src/scheduler/expressions.js';
import {
  DEFAULT_SCHED_OPTIONS,
  type SchedDatastore,
  type SchedGroup,
  type SchedHost,
  type SchedInput,
  type SchedNetwork,
  type SchedOptions,
  type SchedVm,
} from '../../../src/scheduler/model.js';

function mapLookup(...layers: Readonly<Record<string, string | readonly string[]>>[]): Lookup {
  return (name) => {
    for (const layer of layers) {
      const v = layer[name];
      if (v !== undefined) return typeof v === 'string' ? [v] : v;
    }
    return undefined;
  };
}

const auth = (type: AuthObject['type'], id: number, uid = 0, permissions = 0o600): AuthObject => ({
  type,
  id,
  uid,
  gid: 0,
  permissions,
});

export interface HostSpec {
  id: number;
  cluster?: number;
  state?: number;
  cpu?: number;
  mem?: number;
  cpuUsage?: number;
  memUsage?: number;
  running?: number;
  vms?: number[];
  template?: Record<string, string>;
  monitoring?: Record<string, string>;
  /** Owner uid and permission bits (the default: oneadmin, 600, so only oneadmin may MANAGE). */
  owner?: number;
  permissions?: number;
}

export function host(spec: HostSpec): SchedHost {
  const maxCpu = spec.cpu ?? 800;
  const maxMem = spec.mem ?? 16 * 1024 * 1024;
  const cpuUsage = spec.cpuUsage ?? 0;
  const memUsage = spec.memUsage ?? 0;
  const running = spec.running ?? spec.vms?.length ?? 0;
  const share = {
    MAX_CPU: String(maxCpu),
    MAX_MEM: String(maxMem),
    CPU_USAGE: String(cpuUsage),
    MEM_USAGE: String(memUsage),
    RUNNING_VMS: String(running),
  };
  const top = { ID: String(spec.id), NAME: `host${spec.id}`, CLUSTER_ID: String(spec.cluster ?? 0) };
  const vms = (spec.vms ?? []).map(String);
  return {
    id: spec.id,
    name: `host${spec.id}`,
    clusterId: spec.cluster ?? 0,
    state: spec.state ?? 2,
    maxCpu,
    maxMem,
    cpuUsage,
    memUsage,
    runningVms: running,
    vms: spec.vms ?? [],
    lookup: mapLookup({ CURRENT_VMS: vms }, spec.template ?? {}, share, spec.monitoring ?? {}, top),
    auth: auth('HOST', spec.id, spec.owner ?? 0, spec.permissions ?? 0o600),
  };
}

export function datastore(spec: {
  id: number;
  clusters?: number[];
  freeMb?: number;
  state?: number;
  monitored?: boolean;
  template?: Record<string, string>;
  permissions?: number;
}): SchedDatastore {
  const freeMb = spec.freeMb ?? 100_000;
  return {
    id: spec.id,
    name: `system${spec.id}`,
    clusterIds: spec.clusters ?? [0],
    state: spec.state ?? 0,
    freeMb,
    monitored: spec.monitored ?? true,
    tmMad: 'ssh',
    lookup: mapLookup(spec.template ?? {}, {
      ID: String(spec.id),
      NAME: `system${spec.id}`,
      FREE_MB: String(freeMb),
      USED_MB: '0',
    }),
    auth: auth('DATASTORE', spec.id, 0, spec.permissions ?? 0o644),
  };
}

export function network(spec: {
  id: number;
  clusters?: number[];
  free?: number;
  used?: number;
  template?: Record<string, string>;
  permissions?: number;
}): SchedNetwork {
  return {
    id: spec.id,
    name: `net${spec.id}`,
    clusterIds: spec.clusters ?? [0],
    freeLeases: spec.free ?? 100,
    usedLeases: spec.used ?? 0,
    lookup: mapLookup(spec.template ?? {}, {
      ID: String(spec.id),
      NAME: `net${spec.id}`,
      USED_LEASES: String(spec.used ?? 0),
    }),
    auth: auth('NET', spec.id, 0, spec.permissions ?? 0o644),
  };
}

export function vm(id: number, spec: Partial<Omit<SchedVm, 'id'>> = {}): SchedVm {
  return {
    id,
    uid: 0,
    gid: 0,
    priority: 0,
    cpu: 100,
    mem: 1024 * 1024,
    diskMb: 0,
    automaticRequirements: '',
    requirements: '',
    rank: '',
    automaticDsRequirements: '',
    dsRequirements: '',
    dsRank: '',
    autoNics: [],
    ...spec,
  };
}

export function group(id: number, spec: Partial<Omit<SchedGroup, 'id'>> = {}): SchedGroup {
  return { id, name: `group${id}`, roles: [], affined: [], antiAffined: [], ...spec };
}

/**
 * Permission as OpenNebula decides it without ACL rules: uid 0 may do anything; others only
 * what the owner or other bits grant (USE = bit 4, MANAGE = bit 2).
 */
export function bitsAuthorize(v: SchedVm, operation: 'USE' | 'MANAGE', object: AuthObject): boolean {
  if (v.uid === 0 || v.gid === 0) return true;
  const bit = operation === 'USE' ? 4 : 2;
  const owner = (object.permissions >> 6) & 7;
  const other = object.permissions & 7;
  return (object.uid === v.uid && (owner & bit) !== 0) || (other & bit) !== 0;
}

export function input(parts: Partial<SchedInput>): SchedInput {
  return {
    vms: [],
    hosts: [],
    datastores: [datastore({ id: 0 })],
    networks: [],
    groups: [],
    placedVms: new Map(),
    authorize: bitsAuthorize,
    ...parts,
  };
}

export function options(parts: Partial<SchedOptions> = {}): SchedOptions {
  return { ...DEFAULT_SCHED_OPTIONS, ...parts };
}
