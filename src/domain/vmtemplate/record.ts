import type { OwnedObject } from '../object.js';

/** A VM template (VMTEMPLATE, reference §2.8). */
export interface VmTemplateRecord extends OwnedObject {
  /** Registration time, epoch seconds. */
  readonly regtime: number;
}
