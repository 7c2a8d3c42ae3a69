/**
 * VM action codes (reference §3.6, `one:include/VMActions.h`, strings from `VMActions::action_to_str`
 * in `one:src/vm/VMActions.cc`). The same numbers are the HISTORY `ACTION` field and the names are
 * what `one.vm.action` and the CLI accept.
 */

export const VmActionCode = {
  none: 0,
  migrate: 1,
  'live-migrate': 2,
  /** Removed in 5.0 (now terminate); the code stays reserved. */
  shutdown: 3,
  /** Removed in 5.0 (now terminate-hard); the code stays reserved. */
  'shutdown-hard': 4,
  undeploy: 5,
  'undeploy-hard': 6,
  hold: 7,
  release: 8,
  stop: 9,
  suspend: 10,
  resume: 11,
  /** Removed in 5.0; the code stays reserved. */
  boot: 12,
  delete: 13,
  'delete-recreate': 14,
  reboot: 15,
  'reboot-hard': 16,
  resched: 17,
  unresched: 18,
  poweroff: 19,
  'poweroff-hard': 20,
  'disk-attach': 21,
  'disk-detach': 22,
  'nic-attach': 23,
  'nic-detach': 24,
  'disk-snapshot-create': 25,
  'disk-snapshot-delete': 26,
  terminate: 27,
  'terminate-hard': 28,
  'disk-resize': 29,
  deploy: 30,
  chown: 31,
  chmod: 32,
  updateconf: 33,
  rename: 34,
  resize: 35,
  update: 36,
  /** The Ruby OCA spells it "snapshot-resize" (a typo); core says snapshot-create. */
  'snapshot-create': 37,
  'snapshot-delete': 38,
  'snapshot-revert': 39,
  'disk-saveas': 40,
  'disk-snapshot-revert': 41,
  recover: 42,
  retry: 43,
  monitor: 44,
  'disk-snapshot-rename': 45,
  'alias-attach': 46,
  'alias-detach': 47,
  'poweroff-migrate': 48,
  'poweroff-hard-migrate': 49,
  backup: 50,
  'nic-update': 51,
  'backup-cancel': 52,
  'sched-add': 53,
  'sched-update': 54,
  'sched-delete': 55,
  'sg-attach': 56,
  'sg-detach': 57,
  'pci-attach': 58,
  'pci-detach': 59,
  restore: 60,
} as const;
export type VmActionName = keyof typeof VmActionCode;
export type VmActionCode = (typeof VmActionCode)[VmActionName];

/** Codes OpenNebula removed in 5.0 and never records any more. */
export const REMOVED_ACTION_CODES: readonly number[] = [
  VmActionCode.shutdown,
  VmActionCode['shutdown-hard'],
  VmActionCode.boot,
];

const NAME_BY_CODE: ReadonlyMap<number, VmActionName> = new Map(
  (Object.entries(VmActionCode) as [VmActionName, number][]).map(([name, code]) => [code, name]),
);

/** `terminate-hard` for 28; undefined for a code OpenNebula does not define. */
export function vmActionName(code: number): VmActionName | undefined {
  return NAME_BY_CODE.get(code);
}

/** 28 for `terminate-hard`; undefined for an unknown name. */
export function vmActionCode(name: string): VmActionCode | undefined {
  return Object.hasOwn(VmActionCode, name) ? VmActionCode[name as VmActionName] : undefined;
}
