/**
 * sched.log lines for a pass, in OpenNebula's texts (reference §5.4): the pending count, the
 * match-making result of each VM that cannot be placed (with every discarded host, datastore and
 * network at DDEBUG), and the dispatch table.
 */
import type { SchedVm } from './model.js';
import type { PassResult } from './pass.js';

export interface SchedLogLine {
  readonly module: 'SCHED' | 'VM';
  /** E ERROR, W WARNING, I INFO, D DEBUG, DD DDEBUG. */
  readonly level: 'E' | 'W' | 'I' | 'D' | 'DD';
  readonly message: string;
}

const LEVELS: Readonly<Record<SchedLogLine['level'], number>> = { E: 0, W: 1, I: 2, D: 3, DD: 4 };

/** The lines at or below OpenNebula's DEBUG_LEVEL `level`. */
export function atLevel(lines: readonly SchedLogLine[], level: number): SchedLogLine[] {
  return lines.filter((l) => LEVELS[l.level] <= level);
}

/**
 * `changed` tells which unplaced VMs have a new message: unchanged ones are not logged again on
 * every pass.
 */
export function passLogLines(
  vms: readonly SchedVm[],
  result: PassResult,
  changed: (vmId: number, message: string) => boolean,
  maxDispatch: number,
): SchedLogLine[] {
  const lines: SchedLogLine[] = [];
  if (vms.length === 0) return lines;
  lines.push({ module: 'VM', level: 'D', message: `Found ${vms.length} pending/rescheduling VMs.` });
  for (const u of result.unplaced) {
    if (!changed(u.vmId, u.message)) continue;
    const discarded = (message: string): SchedLogLine => ({ module: 'SCHED', level: 'DD', message });
    for (const h of u.explanation?.hosts ?? []) {
      if (h.reason !== undefined)
        lines.push(discarded(`Host ${h.id} discarded for VM ${u.vmId}. ${h.reason.text}`));
    }
    for (const d of u.explanation?.datastores ?? []) {
      if (d.reason !== undefined)
        lines.push(discarded(`System DS ${d.id} discarded for VM ${u.vmId}. ${d.reason.text}`));
    }
    for (const n of u.explanation?.networks ?? []) {
      if (n.reason !== undefined)
        lines.push(
          discarded(`Network ${n.id} discarded for VM ${u.vmId} and NIC ${n.nicId}. ${n.reason.text}`),
        );
    }
    lines.push({
      module: 'SCHED',
      level: 'D',
      message: `Match-making results for VM ${u.vmId}:\n\t${u.message}`,
    });
  }
  if (result.placements.length > 0) {
    const priority = new Map(vms.map((v) => [v.id, v.priority]));
    const rows = result.placements.map(
      (p) => `\t${p.vmId}\t${priority.get(p.vmId) ?? 0}\t\t${p.hostId}\t${p.dsId}`,
    );
    lines.push({
      module: 'SCHED',
      level: 'D',
      message: [
        'Dispatching VMs to hosts:',
        '\tVMID\tPriority\tHost\tSystem DS',
        `\t${'-'.repeat(60)}`,
        ...rows,
      ].join('\n'),
    });
  }
  if (result.deferred.length > 0) {
    lines.push({
      module: 'SCHED',
      level: 'D',
      message: `MAX_DISPATCH limit of ${maxDispatch} reached, ${result.deferred.length} VMs were not dispatched`,
    });
  }
  return lines;
}
