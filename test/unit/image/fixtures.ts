import type { ImageRecord } from '../../../src/domain/image/record.js';
import type { DatastoreRecord } from '../../../src/domain/datastore/record.js';
import { ImageState, ImageType } from '../../../src/domain/image/enums.js';

/** 2026-06-03 21:49:08 UTC, a Wednesday. */
export const NOW = Date.UTC(2026, 5, 3, 21, 49, 8) / 1000;
export const NOW_CTIME = 'Wed Jun  3 21:49:08 2026';

export function makeImage(overrides: Partial<ImageRecord> = {}): ImageRecord {
  return {
    id: 5,
    uid: 2,
    gid: 1,
    name: 'debian-12',
    permissions: 0o600,
    lock: null,
    template: { DEV_PREFIX: ['sd'] },
    version: 0,
    type: ImageType.OS,
    diskType: 0,
    persistent: false,
    regtime: NOW - 3600,
    source: '/var/lib/nimbus/datastores/1/0a1b2c',
    path: '/var/tmp/debian-12.qcow2',
    format: 'qcow2',
    fs: '',
    size: 2048,
    state: ImageState.READY,
    prevState: ImageState.LOCKED,
    runningVms: 0,
    cloningOps: 0,
    cloningId: -1,
    targetSnapshot: -1,
    datastoreId: 1,
    vms: [],
    clones: [],
    ...overrides,
  };
}

/** An image in `state` with what that state implies: VM 3 holds the USED and LOCKED_USED states, clone 9 holds CLONE. */
export function imageInState(state: number, overrides: Partial<ImageRecord> = {}): ImageRecord {
  const held =
    state === ImageState.USED ||
    state === ImageState.USED_PERS ||
    state === ImageState.LOCKED_USED ||
    state === ImageState.LOCKED_USED_PERS;
  return makeImage({
    state,
    persistent: state === ImageState.USED_PERS || state === ImageState.LOCKED_USED_PERS,
    vms: held ? [3] : [],
    runningVms: held ? 1 : 0,
    cloningOps: state === ImageState.CLONE ? 1 : 0,
    clones: state === ImageState.CLONE ? [9] : [],
    ...overrides,
  });
}

export function makeDatastore(overrides: Partial<DatastoreRecord> = {}): DatastoreRecord {
  return {
    id: 1,
    uid: 0,
    gid: 0,
    name: 'default',
    permissions: 0o640,
    lock: null,
    template: {
      CLONE_TARGET: ['SYSTEM'],
      DISK_TYPE: ['FILE'],
      DS_MAD: ['fs'],
      LN_TARGET: ['SYSTEM'],
      TM_MAD: ['ssh'],
      TYPE: ['IMAGE_DS'],
    },
    version: 0,
    dsMad: 'fs',
    tmMad: 'ssh',
    basePath: '/var/lib/nimbus/datastores/1',
    type: 0,
    diskType: 0,
    state: 0,
    clusters: [0],
    totalMb: 100_000,
    freeMb: 60_000,
    usedMb: 40_000,
    ...overrides,
  };
}

export const ALL_STATES: readonly number[] = Object.values(ImageState);
