import type { Repositories } from '../store/index.js';

/** What an operation consumes, charged to the owner's user and group quotas (reference §11.6). */
export interface QuotaCharge {
  /** A VM: VMS=1, CPU, MEMORY (MB), RUNNING_* (allocated VMs count as running), SYSTEM_DISK_SIZE (MB). */
  readonly vm?: { readonly cpu: number; readonly memory: number; readonly systemDiskSize?: number };
  /** An image in a datastore: IMAGES=1, SIZE (MB). */
  readonly image?: { readonly datastoreId: number; readonly size: number };
  /** Leases taken per network. */
  readonly leases?: readonly { readonly networkId: number; readonly count: number }[];
  /** Images used by a VM (IMAGE quota RVMS). */
  readonly imageRvms?: readonly number[];
}

/**
 * Checks the owner's user and group quotas and adds the usage, inside the caller's transaction;
 * throws AUTHORIZATION with OpenNebula's message when a limit would be passed. uid 0 / gid 0 are
 * exempt. `method` names the request in the message (`one.vm.allocate`).
 */
export async function chargeQuota(
  _tx: Repositories,
  _owner: { readonly uid: number; readonly gid: number },
  _charge: QuotaCharge,
  _method: string,
): Promise<void> {
  // implemented by the quota work
}

/** Gives back what `chargeQuota` took (delete, failed create). Usage never goes below 0. */
export async function releaseQuota(
  _tx: Repositories,
  _owner: { readonly uid: number; readonly gid: number },
  _charge: QuotaCharge,
): Promise<void> {
  // implemented by the quota work
}
