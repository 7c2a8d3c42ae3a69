import type { Template } from '../template/types.js';
import { DiskType } from '../image/enums.js';
import type { DatastoreRecord } from './record.js';
import { DatastoreState, DatastoreType } from './enums.js';
import { TM_MAD_CONF } from './drivers.js';
import { joinPath, normalizeAbsolutePath } from './paths.js';
import { DEFAULT_RESTRICTED_DIRS, DEFAULT_SAFE_DIRS } from './safe-dirs.js';

/**
 * The three datastores a fresh installation has (reference §9.1, `DatastorePool` bootstrap):
 * 0 `system` (SYSTEM_DS), 1 `default` (IMAGE_DS, fs), 2 `files` (FILE_DS, fs), all with TM_MAD
 * ssh, owned by oneadmin (uid 0, gid 0) with `um- u-- ---`, in cluster 0 `default`.
 */

export const SYSTEM_DS_ID = 0;
export const DEFAULT_DS_ID = 1;
export const FILE_DS_ID = 2;

export interface DatastoreBootstrapOptions {
  /** DATASTORE_LOCATION as an absolute path (nimbusd: `./var/datastores` resolved). */
  readonly location: string;
  /** TM_MAD of the three datastores; `ssh` as in OpenNebula. */
  readonly tmMad?: string;
  readonly safeDirs?: readonly string[];
}

const OWNER_USE_MANAGE_GROUP_USE = 0o640;

/** DS 0, 1 and 2 with BASE_PATH `<location>/<id>`. Throws on a relative location (a bug). */
export function bootstrapDatastores(options: DatastoreBootstrapOptions): readonly DatastoreRecord[] {
  const location = normalizeAbsolutePath(options.location);
  if (location === undefined) throw new Error(`datastore location must be absolute: ${options.location}`);
  const tmMad = options.tmMad ?? 'ssh';
  const tm = TM_MAD_CONF[tmMad];
  if (tm === undefined) throw new Error(`unknown TM_MAD for the bootstrap datastores: ${tmMad}`);
  const base = location === '/' ? '/' : location + '/';
  const dirs = {
    RESTRICTED_DIRS: [DEFAULT_RESTRICTED_DIRS.join(' ')],
    SAFE_DIRS: [(options.safeDirs ?? DEFAULT_SAFE_DIRS).join(' ')],
  };

  const record = (
    id: number,
    name: string,
    type: DatastoreType,
    dsMad: string,
    template: Template,
  ): DatastoreRecord => ({
    id,
    uid: 0,
    gid: 0,
    name,
    permissions: OWNER_USE_MANAGE_GROUP_USE,
    lock: null,
    template,
    version: 0,
    dsMad,
    tmMad,
    basePath: joinPath(location, id),
    type,
    diskType: DiskType.FILE,
    state: DatastoreState.READY,
    clusters: [0],
    totalMb: 0,
    freeMb: 0,
    usedMb: 0,
  });

  return [
    record(SYSTEM_DS_ID, 'system', DatastoreType.SYSTEM_DS, '-', {
      BASE_PATH: [base],
      SHARED: [tm.shared ? 'YES' : 'NO'],
      TM_MAD: [tmMad],
      TYPE: ['SYSTEM_DS'],
    }),
    record(DEFAULT_DS_ID, 'default', DatastoreType.IMAGE_DS, 'fs', {
      BASE_PATH: [base],
      CLONE_TARGET: [tm.cloneTarget],
      DISK_TYPE: ['FILE'],
      DS_MAD: ['fs'],
      LN_TARGET: [tm.lnTarget],
      ...dirs,
      TM_MAD: [tmMad],
      TYPE: ['IMAGE_DS'],
    }),
    record(FILE_DS_ID, 'files', DatastoreType.FILE_DS, 'fs', {
      BASE_PATH: [base],
      CLONE_TARGET: [tm.cloneTarget],
      DS_MAD: ['fs'],
      LN_TARGET: [tm.lnTarget],
      ...dirs,
      TM_MAD: [tmMad],
      TYPE: ['FILE_DS'],
    }),
  ];
}
