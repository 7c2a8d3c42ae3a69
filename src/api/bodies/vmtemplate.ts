import type { VmTemplateRecord } from '../../domain/vmtemplate/record.js';
import { ownedHeader, templateBody, type Names } from './common.js';

/** VMTEMPLATE body (reference §2.8): ID, UID, GID, UNAME, GNAME, NAME, [LOCK], PERMISSIONS, REGTIME, TEMPLATE. */
export function vmTemplateBody(t: VmTemplateRecord, names: Names): Record<string, unknown> {
  return { ...ownedHeader(t, names), REGTIME: t.regtime, TEMPLATE: templateBody(t.template) };
}
