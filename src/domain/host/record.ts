import type { Template } from '../template/types.js';

/** Allocation view of a host (HOST_SHARE, reference §2.5): CPU in CPU×100, memory in KB. */
export interface HostShare {
  readonly memUsage: number;
  readonly cpuUsage: number;
  readonly totalMem: number;
  readonly totalCpu: number;
  readonly maxMem: number;
  readonly maxCpu: number;
  readonly runningVms: number;
}

/** A hypervisor host (reference §2.5). Hosts have no owner. STATE per §3.4. */
export interface HostRecord {
  readonly id: number;
  readonly name: string;
  readonly state: number;
  readonly prevState: number;
  readonly imMad: string;
  readonly vmMad: string;
  readonly clusterId: number;
  readonly share: HostShare;
  /** VMs placed on the host. */
  readonly vms: readonly number[];
  readonly template: Template;
  /** Latest monitoring figures (MONITORING block). */
  readonly monitoring: Readonly<Record<string, string>>;
  readonly lastMonTime: number;
  readonly version: number;
}
