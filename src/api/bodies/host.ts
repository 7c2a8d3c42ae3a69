import { hostStateName, type HostRecord } from '../../domain/host/index.js';
import { idsBody, templateBody } from './common.js';

const CAPACITY_KEYS = ['FREE_CPU', 'FREE_MEMORY', 'USED_CPU', 'USED_MEMORY'] as const;
const SYSTEM_KEYS = ['NETRX', 'NETTX', 'CPU_SPEED'] as const;

/** A monitored figure as a JSON number when it is one. */
function figure(value: string): number | string {
  return /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
}

function pick(
  monitoring: Readonly<Record<string, string>>,
  keys: readonly string[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const value = monitoring[key];
    if (value !== undefined) out[key] = figure(value);
  }
  return out;
}

/**
 * HOST body (reference §2.5), JSON with numbers, plus STATE_NAME. Nimbus keeps no per-host
 * datastore, PCI or NUMA figures yet: those blocks are present and empty.
 */
export function hostBody(host: HostRecord, clusterName: string): Record<string, unknown> {
  const s = host.share;
  return {
    ID: host.id,
    NAME: host.name,
    STATE: host.state,
    STATE_NAME: hostStateName(host.state),
    PREV_STATE: host.prevState,
    IM_MAD: host.imMad,
    VM_MAD: host.vmMad,
    CLUSTER_ID: host.clusterId,
    CLUSTER: clusterName,
    HOST_SHARE: {
      MEM_USAGE: s.memUsage,
      CPU_USAGE: s.cpuUsage,
      TOTAL_MEM: s.totalMem,
      TOTAL_CPU: s.totalCpu,
      MAX_MEM: s.maxMem,
      MAX_CPU: s.maxCpu,
      RUNNING_VMS: s.runningVms,
      VMS_THREAD: 1,
      DATASTORES: { DISK_USAGE: 0, DS: [], FREE_DISK: 0, MAX_DISK: 0, USED_DISK: 0 },
      PCI_DEVICES: { PCI: [] },
      NUMA_NODES: { NODE: [] },
    },
    VMS: idsBody(host.vms),
    TEMPLATE: templateBody(host.template),
    MONITORING:
      host.lastMonTime === 0
        ? {}
        : {
            TIMESTAMP: host.lastMonTime,
            ID: host.id,
            CAPACITY: pick(host.monitoring, CAPACITY_KEYS),
            SYSTEM: pick(host.monitoring, SYSTEM_KEYS),
          },
  };
}
