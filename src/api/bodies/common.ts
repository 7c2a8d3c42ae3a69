import { permissionsToFields } from '../../domain/auth/permissions.js';
import type { ObjectLock, OwnedObject } from '../../domain/object.js';
import { redactSecrets, REDACTED, templateToJson } from '../../domain/template/index.js';

export { redactSecrets, REDACTED };
import type { Template, TemplateJson } from '../../domain/template/types.js';

/** User and group names for UNAME / GNAME. */
export interface Names {
  user(uid: number): string;
  group(gid: number): string;
}

/** PERMISSIONS block (reference §2.1) with numbers. */
export function permissionsBody(permissions: number): Record<string, number> {
  return { ...permissionsToFields(permissions) };
}

export function lockBody(lock: ObjectLock | null): Record<string, number> | undefined {
  return lock === null
    ? undefined
    : { LOCKED: lock.level, OWNER: lock.owner, TIME: lock.time, REQ_ID: lock.reqId };
}

/** ID, UID, GID, UNAME, GNAME, NAME, [LOCK], PERMISSIONS: the header of every owned object. */
export function ownedHeader(o: OwnedObject, names: Names): Record<string, unknown> {
  const header: Record<string, unknown> = {
    ID: o.id,
    UID: o.uid,
    GID: o.gid,
    UNAME: names.user(o.uid),
    GNAME: names.group(o.gid),
    NAME: o.name,
  };
  const lock = lockBody(o.lock);
  if (lock !== undefined) header.LOCK = lock;
  header.PERMISSIONS = permissionsBody(o.permissions);
  return header;
}

export function templateBody(t: Template): TemplateJson {
  return templateToJson(redactSecrets(t));
}

/** `<VMS><ID>3</ID></VMS>` as JSON: `{ "ID": [3] }`. */
export function idsBody(ids: readonly number[]): { ID: number[] } {
  return { ID: [...ids] };
}
