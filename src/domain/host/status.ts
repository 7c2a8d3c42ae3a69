import { fail, ok, type Result } from '../errors.js';
import type { HostRecord } from './record.js';
import { HostState, HostStatus } from './enums.js';

/**
 * `one.host.status(id, status)` (`HostStatus::request_execute`, `Host::enable/disable/offline`).
 * Every state may go to every status; the result:
 *
 * * ENABLED (0): back to INIT, monitoring takes it to MONITORED on the next report. Nimbus goes
 *   straight to MONITORED when a DISABLED host still has its monitored capacity (TOTAL_CPU > 0),
 *   as newer OpenNebula releases do, so re-enabling a healthy host does not leave it
 *   unschedulable until the next probe.
 * * DISABLED (1): DISABLED: still monitored, no new VMs.
 * * OFFLINE (2): OFFLINE: not monitored, no new VMs; its capacity (TOTAL/MAX) is forgotten,
 *   the allocations of VMs still placed on it are kept.
 */
export function setHostStatus(host: HostRecord, status: number): Result<HostRecord> {
  let state: number;
  let share = host.share;
  switch (status) {
    case HostStatus.ENABLED:
      state =
        host.state === HostState.DISABLED && host.share.totalCpu > 0 ? HostState.MONITORED : HostState.INIT;
      break;
    case HostStatus.DISABLED:
      state = HostState.DISABLED;
      break;
    case HostStatus.OFFLINE:
      state = HostState.OFFLINE;
      share = { ...share, totalCpu: 0, totalMem: 0, maxCpu: 0, maxMem: 0 };
      break;
    default:
      return fail('ACTION', 'Wrong status code');
  }
  if (state === host.state && share === host.share) return ok(host);
  return ok({ ...host, prevState: host.state, state, share });
}

/** The scheduler places VMs only on hosts in MONITORED (and the old MONITORING_MONITORED). */
export function isSchedulable(state: number): boolean {
  return state === HostState.MONITORED || state === HostState.MONITORING_MONITORED;
}

/** Hosts the monitor should probe: every state but OFFLINE. */
export function isMonitorable(state: number): boolean {
  return state !== HostState.OFFLINE;
}
