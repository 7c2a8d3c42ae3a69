/**
 * The variables a requirement or rank expression sees for a host, in OpenNebula's lookup order
 * (reference §5.2): `/HOST/TEMPLATE/`, `/HOST/HOST_SHARE/`, `/HOST/MONITORING/CAPACITY/` and
 * `SYSTEM/`, `/HOST/`, then the cluster's template; `CURRENT_VMS` lists the VMs on the host.
 */
import type { ClusterRecord } from '../domain/cluster/record.js';
import type { HostRecord } from '../domain/host/record.js';
import type { Template } from '../domain/template/types.js';
import type { Lookup } from './expressions.js';

function fromTemplate(template: Template | undefined, name: string): string[] | undefined {
  const values = template?.[name];
  if (values === undefined) return undefined;
  const singles = values.filter((v): v is string => typeof v === 'string');
  return singles.length === 0 ? undefined : singles;
}

export function hostLookup(host: HostRecord, cluster?: Pick<ClusterRecord, 'name' | 'template'>): Lookup {
  const share: Readonly<Record<string, number>> = {
    MEM_USAGE: host.share.memUsage,
    CPU_USAGE: host.share.cpuUsage,
    TOTAL_MEM: host.share.totalMem,
    TOTAL_CPU: host.share.totalCpu,
    MAX_MEM: host.share.maxMem,
    MAX_CPU: host.share.maxCpu,
    RUNNING_VMS: host.share.runningVms,
  };
  const top: Readonly<Record<string, string>> = {
    ID: String(host.id),
    NAME: host.name,
    STATE: String(host.state),
    IM_MAD: host.imMad,
    VM_MAD: host.vmMad,
    CLUSTER_ID: String(host.clusterId),
    ...(cluster !== undefined ? { CLUSTER: cluster.name } : {}),
  };
  return (name) => {
    if (name === 'CURRENT_VMS') return host.vms.map(String);
    const own = fromTemplate(host.template, name);
    if (own !== undefined) return own;
    const s = share[name];
    if (s !== undefined) return [String(s)];
    const monitored = host.monitoring[name];
    if (monitored !== undefined) return [monitored];
    const t = top[name];
    if (t !== undefined) return [t];
    return fromTemplate(cluster?.template, name);
  };
}
