/**
 * sched.log lines for a pass, in OpenNebula's texts (reference §5.4): the pending count, the
 * match-making result of each VM that cannot be placed, and the dispatch table.
 */
import type { SchedVm } from './model.js';
import type { PassResult } from './pass.js';

export interface SchedLogLine {
  readonly module: 'SCHED' | 'VM';
  /** D: DEBUG; E: ERROR. */
  readonly level: 'D' | 'E' | 'I';
  readonly message: string;
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
