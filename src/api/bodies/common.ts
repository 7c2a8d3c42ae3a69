import { permissionsToFields } from '../../domain/auth/permissions.js';
import type { ObjectLock, OwnedObject } from '../../domain/object.js';
import { templateToJson } from '../../domain/template/index.js';
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

/** Shown in place of a secret (docs/decisions/secrets.md). */
export const REDACTED = '********';

/**
 * Secrets inside templates, by attribute and sub-attribute: context passwords, the VNC/SPICE
 * password, and a user's TOKEN_PASSWORD. Bodies show `********` instead, to everybody.
 */
const SECRET_SUBATTRIBUTES: Readonly<Record<string, readonly string[]>> = {
  CONTEXT: ['PASSWORD', 'PASSWORD_BASE64', 'CRYPTED_PASSWORD', 'CRYPTED_PASSWORD_BASE64'],
  GRAPHICS: ['PASSWD'],
};
const SECRET_ATTRIBUTES: readonly string[] = ['TOKEN_PASSWORD', 'PASSWORD'];

/** A template with its secrets replaced by `********`; the other values are untouched. */
export function redactSecrets(t: Template): Template {
  let out: Record<string, Template[string]> | null = null;
  const edit = (): Record<string, Template[string]> => (out ??= { ...t });
  for (const name of SECRET_ATTRIBUTES) {
    const values = t[name];
    if (values !== undefined) edit()[name] = values.map((v) => (typeof v === 'string' ? REDACTED : v));
  }
  for (const [name, keys] of Object.entries(SECRET_SUBATTRIBUTES)) {
    const values = t[name];
    if (values === undefined || !values.some((v) => typeof v !== 'string' && keys.some((k) => k in v)))
      continue;
    edit()[name] = values.map((v) => {
      if (typeof v === 'string') return v;
      const copy: Record<string, string> = { ...v };
      for (const k of keys) if (k in copy) copy[k] = REDACTED;
      return copy;
    });
  }
  return out ?? t;
}

export function templateBody(t: Template): TemplateJson {
  return templateToJson(redactSecrets(t));
}

/** `<VMS><ID>3</ID></VMS>` as JSON: `{ "ID": [3] }`. */
export function idsBody(ids: readonly number[]): { ID: number[] } {
  return { ID: [...ids] };
}
