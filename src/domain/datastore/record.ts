import type { OwnedObject } from '../object.js';

/** A datastore (reference §2.7, §9.1). TYPE: 0 IMAGE_DS, 1 SYSTEM_DS, 2 FILE_DS, 3 BACKUP_DS. */
export interface DatastoreRecord extends OwnedObject {
  readonly dsMad: string;
  readonly tmMad: string;
  readonly basePath: string;
  readonly type: number;
  readonly diskType: number;
  /** 0 READY, 1 DISABLED */
  readonly state: number;
  readonly clusters: readonly number[];
  readonly totalMb: number;
  readonly freeMb: number;
  readonly usedMb: number;
}
