import type { ImageRecord } from '../../domain/image/record.js';
import { imageStateName, imageTypeName, isLockedState } from '../../domain/image/enums.js';
import type { CopyProgress } from '../../controller/image-copy.js';
import { idsBody, ownedHeader, templateBody, type Names } from './common.js';

export interface ImageBodyExtras {
  /** DATASTORE (the name of DATASTORE_ID). */
  readonly datastoreName: string;
  /** The copy in progress, shown while the image is LOCKED. */
  readonly progress?: CopyProgress | undefined;
}

/** IMAGE body (reference §2.4), JSON with numbers, plus STATE_NAME, TYPE_NAME and PROGRESS. */
export function imageBody(
  image: ImageRecord,
  names: Names,
  extras: ImageBodyExtras,
): Record<string, unknown> {
  const body: Record<string, unknown> = {
    ...ownedHeader(image, names),
    TYPE: image.type,
    DISK_TYPE: image.diskType,
    PERSISTENT: image.persistent ? 1 : 0,
    REGTIME: image.regtime,
    SOURCE: image.source,
    PATH: image.path,
    FORMAT: image.format,
    FS: image.fs,
    SIZE: image.size,
    STATE: image.state,
    PREV_STATE: image.prevState,
    RUNNING_VMS: image.runningVms,
    CLONING_OPS: image.cloningOps,
    CLONING_ID: image.cloningId,
    TARGET_SNAPSHOT: image.targetSnapshot,
    DATASTORE_ID: image.datastoreId,
    DATASTORE: extras.datastoreName,
    VMS: idsBody(image.vms),
    CLONES: idsBody(image.clones),
    APP_CLONES: idsBody([]),
    TEMPLATE: templateBody(image.template),
    SNAPSHOTS: { ALLOW_ORPHANS: 'NO', CURRENT_BASE: -1, NEXT_SNAPSHOT: 0, SNAPSHOT: [] },
    BACKUP_INCREMENTS: {},
    BACKUP_DISK_IDS: idsBody([]),
    STATE_NAME: imageStateName(image.state),
    TYPE_NAME: imageTypeName(image.type),
  };
  if (isLockedState(image.state) && extras.progress !== undefined) {
    const { bytes, total } = extras.progress;
    body.PROGRESS = {
      BYTES: bytes,
      TOTAL: total,
      PERCENT: total > 0 ? Math.min(100, Math.floor((bytes * 100) / total)) : 0,
    };
  }
  return body;
}
