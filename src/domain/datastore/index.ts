/** Datastore rules: enums, driver facts, bootstrap, create validation, capacity, safe dirs. */
export * from './enums.js';
export * from './drivers.js';
export { validateObjectName, INVALID_NAME_CHARS, MAX_NAME_LENGTH } from '../object.js';
export * from './paths.js';
export * from './create.js';
export * from './bootstrap.js';
export * from './capacity.js';
export * from './safe-dirs.js';
export * from './state.js';
export type { DatastoreRecord } from './record.js';
