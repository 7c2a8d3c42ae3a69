/**
 * The scheduling policies of sched.conf (reference §5.3) as the rank expression each one means.
 * A VM's own SCHED_RANK / SCHED_DS_RANK / NIC SCHED_RANK overrides its policy.
 */
import type { HostPolicy, StoragePolicy } from './model.js';

export const HOST_POLICY_NAMES: Readonly<Record<HostPolicy, string>> = {
  0: 'packing',
  1: 'striping',
  2: 'load-aware',
  3: 'custom',
  4: 'fixed',
};

export const STORAGE_POLICY_NAMES: Readonly<Record<StoragePolicy, string>> = {
  0: 'packing',
  1: 'striping',
  2: 'custom',
  3: 'fixed',
};

/** DEFAULT_SCHED: packing `RUNNING_VMS`, striping `- RUNNING_VMS`, load-aware `FREE_CPU`, custom, fixed `PRIORITY`. */
export function hostPolicyRank(policy: HostPolicy, custom = ''): string {
  switch (policy) {
    case 0:
      return 'RUNNING_VMS';
    case 1:
      return '- RUNNING_VMS';
    case 2:
      return 'FREE_CPU';
    case 3:
      return custom;
    case 4:
      return 'PRIORITY';
  }
}

/** DEFAULT_DS_SCHED: packing `- FREE_MB`, striping `FREE_MB`, custom, fixed `PRIORITY`. */
export function datastorePolicyRank(policy: StoragePolicy, custom = ''): string {
  switch (policy) {
    case 0:
      return '- FREE_MB';
    case 1:
      return 'FREE_MB';
    case 2:
      return custom;
    case 3:
      return 'PRIORITY';
  }
}

/** DEFAULT_NIC_SCHED: packing `USED_LEASES`, striping `- USED_LEASES`, custom, fixed `PRIORITY`. */
export function networkPolicyRank(policy: StoragePolicy, custom = ''): string {
  switch (policy) {
    case 0:
      return 'USED_LEASES';
    case 1:
      return '- USED_LEASES';
    case 2:
      return custom;
    case 3:
      return 'PRIORITY';
  }
}

/** `POLICY` accepted by name or number in nimbusd.json (`"striping"`, `1`). */
export function parseHostPolicy(value: unknown): HostPolicy | undefined {
  return parsePolicy(value, HOST_POLICY_NAMES) as HostPolicy | undefined;
}

export function parseStoragePolicy(value: unknown): StoragePolicy | undefined {
  return parsePolicy(value, STORAGE_POLICY_NAMES) as StoragePolicy | undefined;
}

function parsePolicy(value: unknown, names: Readonly<Record<number, string>>): number | undefined {
  for (const [n, name] of Object.entries(names)) {
    if (value === Number(n) || value === String(n) || value === name) return Number(n);
  }
  return undefined;
}
