import { datastoreStateName, datastoreTypeName, type DatastoreRecord } from '../../domain/datastore/index.js';
import { diskTypeString } from '../../domain/image/enums.js';
import { idsBody, ownedHeader, templateBody, type Names } from './common.js';

/** DATASTORE body (reference §2.7), JSON with numbers, plus TYPE_NAME, DISK_TYPE_NAME and STATE_NAME. */
export function datastoreBody(
  ds: DatastoreRecord,
  images: readonly number[],
  names: Names,
): Record<string, unknown> {
  return {
    ...ownedHeader(ds, names),
    DS_MAD: ds.dsMad,
    TM_MAD: ds.tmMad,
    BASE_PATH: ds.basePath,
    TYPE: ds.type,
    TYPE_NAME: datastoreTypeName(ds.type),
    DISK_TYPE: ds.diskType,
    DISK_TYPE_NAME: diskTypeString(ds.diskType),
    STATE: ds.state,
    STATE_NAME: datastoreStateName(ds.state),
    CLUSTERS: idsBody(ds.clusters),
    TOTAL_MB: ds.totalMb,
    FREE_MB: ds.freeMb,
    USED_MB: ds.usedMb,
    IMAGES: idsBody(images),
    TEMPLATE: templateBody(ds.template),
  };
}
