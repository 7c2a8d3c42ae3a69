/** Datastore enumerations (reference §3.5, `one:include/Datastore.h`). */

export const DatastoreType = {
  IMAGE_DS: 0,
  SYSTEM_DS: 1,
  FILE_DS: 2,
  BACKUP_DS: 3,
} as const;
export type DatastoreType = (typeof DatastoreType)[keyof typeof DatastoreType];

export const DatastoreState = {
  READY: 0,
  DISABLED: 1,
} as const;
export type DatastoreState = (typeof DatastoreState)[keyof typeof DatastoreState];

export const DATASTORE_TYPE_NAMES: readonly string[] = ['IMAGE_DS', 'SYSTEM_DS', 'FILE_DS', 'BACKUP_DS'];
export const DATASTORE_TYPE_SHORT_NAMES: readonly string[] = ['img', 'sys', 'fil', 'bck'];
export const DATASTORE_STATE_NAMES: readonly string[] = ['READY', 'DISABLED'];
export const DATASTORE_STATE_SHORT_NAMES: readonly string[] = ['on', 'off'];

export function datastoreTypeName(type: number): string {
  return DATASTORE_TYPE_NAMES[type] ?? `UNKNOWN(${type})`;
}

export function datastoreTypeShortName(type: number): string {
  return DATASTORE_TYPE_SHORT_NAMES[type] ?? '-';
}

export function datastoreStateName(state: number): string {
  return DATASTORE_STATE_NAMES[state] ?? `UNKNOWN(${state})`;
}

export function datastoreStateShortName(state: number): string {
  return DATASTORE_STATE_SHORT_NAMES[state] ?? '-';
}

/** Template `TYPE = "system_ds"` → 1; case-insensitive; undefined for anything else. */
export function parseDatastoreType(text: string): DatastoreType | undefined {
  const index = DATASTORE_TYPE_NAMES.indexOf(text.trim().toUpperCase());
  return index < 0 ? undefined : (index as DatastoreType);
}
