import type { ObjectLock, OwnedObject } from '../../domain/object.js';
import type { Template } from '../../domain/template/types.js';
import { fromJson, toJson } from '../codec.js';
import type { OwnedColumns } from '../schema.js';

/** The ID/UID/GID/NAME/PERMISSIONS/LOCK/TEMPLATE header shared by the owned pools, to columns. */
export function ownedToColumns(r: Omit<OwnedObject, 'version'>): Omit<OwnedColumns, 'version'> {
  return {
    id: r.id,
    uid: r.uid,
    gid: r.gid,
    name: r.name,
    permissions: r.permissions,
    lock: r.lock === null ? null : toJson(r.lock),
    template: toJson(r.template),
  };
}

export function ownedFromColumns(row: OwnedColumns): OwnedObject {
  return {
    id: row.id,
    uid: row.uid,
    gid: row.gid,
    name: row.name,
    permissions: row.permissions,
    lock: row.lock === null ? null : fromJson<ObjectLock>(row.lock),
    template: fromJson<Template>(row.template),
    version: row.version,
  };
}
