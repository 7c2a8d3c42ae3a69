/** Host enumerations (reference §3.4, `one:include/Host.h`). */

export const HostState = {
  INIT: 0,
  /** [4.x/5.x ≤5.10] only */
  MONITORING_MONITORED: 1,
  MONITORED: 2,
  ERROR: 3,
  DISABLED: 4,
  MONITORING_ERROR: 5,
  MONITORING_INIT: 6,
  MONITORING_DISABLED: 7,
  OFFLINE: 8,
} as const;
export type HostState = (typeof HostState)[keyof typeof HostState];

export const HOST_STATE_NAMES: readonly string[] = [
  'INIT',
  'MONITORING_MONITORED',
  'MONITORED',
  'ERROR',
  'DISABLED',
  'MONITORING_ERROR',
  'MONITORING_INIT',
  'MONITORING_DISABLED',
  'OFFLINE',
];

/** `onehost list` STAT column. */
export const HOST_STATE_SHORT_NAMES: readonly string[] = [
  'init',
  'update',
  'on',
  'err',
  'dsbl',
  'retry',
  'init',
  'dsbl',
  'off',
];

/** `one.host.status` argument. */
export const HostStatus = {
  ENABLED: 0,
  DISABLED: 1,
  OFFLINE: 2,
} as const;
export type HostStatus = (typeof HostStatus)[keyof typeof HostStatus];

export function hostStateName(state: number): string {
  return HOST_STATE_NAMES[state] ?? `UNKNOWN(${state})`;
}

export function hostStateShortName(state: number): string {
  return HOST_STATE_SHORT_NAMES[state] ?? '-';
}
