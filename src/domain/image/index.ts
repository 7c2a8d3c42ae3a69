/** Image rules: enums, create validation, state transitions, VM disks and their targets. */
export * from './enums.js';
export * from './attributes.js';
export * from './create.js';
export * from './transitions.js';
export * from './release-after-failure.js';
export * from './disk.js';
export * from './targets.js';
export type { ImageRecord } from './record.js';
