import type { OwnedObject } from '../object.js';

/** An image (reference §2.4). TYPE, DISK_TYPE and STATE numbers are OpenNebula's (§3.3). */
export interface ImageRecord extends OwnedObject {
  readonly type: number;
  readonly diskType: number;
  readonly persistent: boolean;
  readonly regtime: number;
  /** Location inside the datastore once copied ('' before). */
  readonly source: string;
  /** Where the image was registered from ('' for empty datablocks). */
  readonly path: string;
  /** raw | qcow2 */
  readonly format: string;
  readonly fs: string;
  /** Size in MB */
  readonly size: number;
  readonly state: number;
  readonly prevState: number;
  readonly runningVms: number;
  readonly cloningOps: number;
  /** Image this one is being cloned from, -1 if none. */
  readonly cloningId: number;
  readonly targetSnapshot: number;
  readonly datastoreId: number;
  /** VMs using the image. */
  readonly vms: readonly number[];
  /** Images being cloned from this one. */
  readonly clones: readonly number[];
}
