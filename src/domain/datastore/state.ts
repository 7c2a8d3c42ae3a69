import { fail, ok, type Result } from '../errors.js';
import type { DatastoreRecord } from './record.js';
import { DatastoreState, DatastoreType } from './enums.js';

/**
 * `one.datastore.enable(id, flag)`: only system datastores can be disabled (the scheduler then
 * stops placing VMs on them); image and file datastores are always READY.
 */
export function setDatastoreEnabled(ds: DatastoreRecord, enable: boolean): Result<DatastoreRecord> {
  if (ds.type !== DatastoreType.SYSTEM_DS) {
    return fail('DATASTORE_TYPE', 'Only SYSTEM_DS can be disabled or enabled');
  }
  const state = enable ? DatastoreState.READY : DatastoreState.DISABLED;
  return ok(ds.state === state ? ds : { ...ds, state });
}
