import type { OwnedObject } from '../object.js';

/** A security group; group 0 `default` allows all traffic (reference §11.1). */
export type SecurityGroupRecord = OwnedObject;
