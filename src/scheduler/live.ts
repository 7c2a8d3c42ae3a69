/**
 * A pass's live view of hosts, datastores and networks: the snapshot plus what the pass placed.
 * Lookups answer the figures a placement changes from the live counts, the rest from the
 * snapshot; `version` moves with every placement on a host, so memoized ranks know they are stale.
 */
import type { Lookup } from './expressions.js';
import type { SchedDatastore, SchedHost, SchedNetwork } from './model.js';

/** Host figures a placement changes within a pass. */
export const LIVE_HOST_VARIABLES = [
  'RUNNING_VMS',
  'CPU_USAGE',
  'MEM_USAGE',
  'CURRENT_VMS',
  'FREE_CPU',
  'USED_CPU',
  'FREE_MEMORY',
  'USED_MEMORY',
];
export const LIVE_DS_VARIABLES = ['FREE_MB', 'USED_MB'];
export const LIVE_NET_VARIABLES = ['USED_LEASES'];

export class LiveHost {
  cpuUsage: number;
  memUsage: number;
  running: number;
  version = 0;
  dispatched = 0;
  readonly added: number[] = [];
  readonly lookup: Lookup;

  constructor(
    readonly host: SchedHost,
    readonly index: number,
  ) {
    this.cpuUsage = host.cpuUsage;
    this.memUsage = host.memUsage;
    this.running = host.runningVms;
    this.lookup = (name) => {
      if (this.version === 0) return host.lookup(name);
      switch (name) {
        case 'RUNNING_VMS':
          return [String(this.running)];
        case 'CPU_USAGE':
          return [String(this.cpuUsage)];
        case 'MEM_USAGE':
          return [String(this.memUsage)];
        case 'CURRENT_VMS':
          return [...host.vms, ...this.added].map(String);
        // Monitored load counts what this pass placed, so load-aware ranking spreads too.
        case 'FREE_CPU':
        case 'USED_CPU':
        case 'FREE_MEMORY':
        case 'USED_MEMORY': {
          const base = host.lookup(name)?.[0];
          if (base === undefined) return undefined;
          const cpu = this.cpuUsage - host.cpuUsage;
          const mem = this.memUsage - host.memUsage;
          const delta =
            name === 'FREE_CPU' ? -cpu : name === 'USED_CPU' ? cpu : name === 'FREE_MEMORY' ? -mem : mem;
          return [String(Number(base) + delta)];
        }
        default:
          return host.lookup(name);
      }
    };
  }

  get freeCpu(): number {
    return this.host.maxCpu - this.cpuUsage;
  }

  get freeMem(): number {
    return this.host.maxMem - this.memUsage;
  }
}

export class LiveDatastore {
  free: number;
  readonly lookup: Lookup;
  constructor(readonly ds: SchedDatastore) {
    this.free = ds.freeMb;
    this.lookup = (name) => {
      if (this.free === ds.freeMb) return ds.lookup(name);
      if (name === 'FREE_MB') return [String(this.free)];
      if (name === 'USED_MB') {
        const used = Number(ds.lookup('USED_MB')?.[0] ?? 0);
        return [String(used + ds.freeMb - this.free)];
      }
      return ds.lookup(name);
    };
  }
}

export class LiveNetwork {
  free: number;
  used: number;
  readonly lookup: Lookup;
  constructor(readonly net: SchedNetwork) {
    this.free = net.freeLeases;
    this.used = net.usedLeases;
    this.lookup = (name) =>
      name === 'USED_LEASES' && this.used !== net.usedLeases ? [String(this.used)] : net.lookup(name);
  }
}
