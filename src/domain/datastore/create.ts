import { fail, ok, type Result } from '../errors.js';
import type { Template, TemplateValue } from '../template/types.js';
import { DiskType, diskTypeString, parseDiskType } from '../image/enums.js';
import type { DatastoreRecord } from './record.js';
import { DatastoreState, DatastoreType, parseDatastoreType } from './enums.js';
import { DS_MAD_CONF, TM_MAD_CONF } from './drivers.js';
import { validateObjectName } from '../object.js';
import { joinPath, normalizeAbsolutePath, parseDirList } from './paths.js';

/**
 * Validation of a datastore template for `one.datastore.allocate` (reference §2.7, §9.1,
 * `Datastore::insert`, `set_tm_mad`, `set_ds_mad`). The spec carries a normalized template: TYPE
 * as a string, SHARED for system datastores, LN_TARGET / CLONE_TARGET for the others (from
 * TM_MAD_CONF), DISK_TYPE for image datastores, SAFE_DIRS / RESTRICTED_DIRS as clean lists.
 */

export interface DatastoreCreateSpec {
  readonly name: string;
  readonly type: DatastoreType;
  /** '-' for system datastores (they have no DS driver). */
  readonly dsMad: string;
  /** '-' for backup datastores. */
  readonly tmMad: string;
  readonly diskType: DiskType;
  /** Parent directory; the datastore's BASE_PATH is `<baseDir>/<id>`. */
  readonly baseDir: string;
  readonly template: Template;
}

function single(template: Template, name: string): string | undefined {
  const first = template[name]?.[0];
  return typeof first === 'string' ? first.trim() : undefined;
}

function invalid(message: string, field?: string): ReturnType<typeof fail> {
  return fail('TEMPLATE_INVALID', message, field);
}

/**
 * Validate a datastore template. `datastoreLocation` is DATASTORE_LOCATION (nimbusd passes
 * `./var/datastores` resolved to an absolute path), the default parent of BASE_PATH.
 */
export function validateDatastoreTemplate(
  template: Template,
  datastoreLocation: string,
): Result<DatastoreCreateSpec> {
  const name = validateObjectName(single(template, 'NAME'));
  if (!name.ok) return name;

  const typeText = single(template, 'TYPE') || 'IMAGE_DS';
  const type = parseDatastoreType(typeText);
  if (type === undefined) {
    return invalid(
      `Unknown datastore TYPE "${typeText}"; use IMAGE_DS, SYSTEM_DS, FILE_DS or BACKUP_DS`,
      'TYPE',
    );
  }

  const out: Record<string, readonly TemplateValue[]> = { ...template };
  delete out['NAME'];
  const set = (attr: string, value: string): void => {
    out[attr] = [value];
  };
  set('TYPE', typeText.toUpperCase());

  // ------------ DS_MAD ------------
  let dsMad = single(template, 'DS_MAD') ?? '';
  if (type === DatastoreType.SYSTEM_DS) {
    if (dsMad !== '' && dsMad !== '-')
      return invalid('SYSTEM datastores cannot have DS_MAD defined.', 'DS_MAD');
    dsMad = '-';
    delete out['DS_MAD'];
  } else {
    if (dsMad === '') return invalid('No DS_MAD in template.', 'DS_MAD');
    const conf = DS_MAD_CONF[dsMad];
    if (conf === undefined) return invalid(`DS_MAD named "${dsMad}" is not defined in oned.conf`, 'DS_MAD');
    if (conf.backup !== (type === DatastoreType.BACKUP_DS)) {
      return invalid(
        conf.backup
          ? `DS_MAD "${dsMad}" is a backup driver; use it with TYPE = BACKUP_DS`
          : `DS_MAD "${dsMad}" cannot hold backups; a BACKUP_DS needs a backup driver (rsync, restic)`,
        'DS_MAD',
      );
    }
    for (const attr of conf.requiredAttrs) {
      if ((single(template, attr) ?? '') === '') {
        return invalid(`Datastore template is missing the "${attr}" attribute or it's empty.`, attr);
      }
    }
    set('DS_MAD', dsMad);
    if (conf.persistentOnly && single(template, 'PERSISTENT_ONLY') === undefined)
      set('PERSISTENT_ONLY', 'YES');
  }

  // ------------ TM_MAD ------------
  let tmMad = single(template, 'TM_MAD') ?? '';
  if (type === DatastoreType.BACKUP_DS) {
    tmMad = '-';
    set('TM_MAD', '-');
  } else {
    if (tmMad === '') return invalid('No TM_MAD in template.', 'TM_MAD');
    const conf = TM_MAD_CONF[tmMad];
    if (conf === undefined) return invalid(`TM_MAD named "${tmMad}" is not defined in oned.conf`, 'TM_MAD');
    set('TM_MAD', tmMad);
    if (type === DatastoreType.SYSTEM_DS) {
      set('SHARED', conf.shared ? 'YES' : 'NO');
      delete out['LN_TARGET'];
      delete out['CLONE_TARGET'];
    } else {
      set('LN_TARGET', conf.lnTarget);
      set('CLONE_TARGET', conf.cloneTarget);
      delete out['SHARED'];
    }
  }

  // ------------ DISK_TYPE (image datastores only) ------------
  let diskType: DiskType = DiskType.FILE;
  const diskTypeText = single(template, 'DISK_TYPE') ?? '';
  if (type === DatastoreType.IMAGE_DS) {
    if (diskTypeText !== '') {
      diskType = parseDiskType(diskTypeText);
      if (diskType === DiskType.NONE) return invalid('Unknown DISK_TYPE in template.', 'DISK_TYPE');
      if (
        diskType === DiskType.RBD_CDROM ||
        diskType === DiskType.GLUSTER_CDROM ||
        diskType === DiskType.SHEEPDOG_CDROM
      ) {
        return invalid('Invalid DISK_TYPE in template.', 'DISK_TYPE');
      }
    }
    set('DISK_TYPE', diskTypeString(diskType));
  } else {
    delete out['DISK_TYPE'];
  }

  // ------------ BASE_PATH, SAFE_DIRS, RESTRICTED_DIRS, LIMIT_MB ------------
  const basePathText = single(template, 'BASE_PATH') ?? '';
  const baseDir = normalizeAbsolutePath(basePathText || datastoreLocation);
  if (baseDir === undefined) {
    return invalid(`BASE_PATH "${basePathText || datastoreLocation}" must be an absolute path`, 'BASE_PATH');
  }
  set('BASE_PATH', baseDir === '/' ? '/' : baseDir + '/');

  for (const attr of ['SAFE_DIRS', 'RESTRICTED_DIRS']) {
    const text = single(template, attr);
    if (text === undefined) continue;
    const { dirs, invalid: bad } = parseDirList(text);
    if (bad.length > 0)
      return invalid(`${attr} must list absolute directories; "${bad[0]}" is not one`, attr);
    set(attr, dirs.join(' '));
  }

  const limit = single(template, 'LIMIT_MB');
  if (limit !== undefined && limit !== '') {
    if (!/^\d+$/.test(limit))
      return invalid(`LIMIT_MB must be a whole number of MB, not "${limit}"`, 'LIMIT_MB');
    set('LIMIT_MB', String(Number(limit)));
  }
  for (const attr of ['PERSISTENT_ONLY', 'DATASTORE_CAPACITY_CHECK']) {
    const text = single(template, attr);
    if (text === undefined || text === '') continue;
    const upper = text.toUpperCase();
    if (upper !== 'YES' && upper !== 'NO') return invalid(`${attr} must be YES or NO, not "${text}"`, attr);
    set(attr, upper);
  }

  return ok({ name: name.value, type, dsMad, tmMad, diskType, baseDir, template: out });
}

export interface NewDatastoreIdentity {
  readonly id: number;
  readonly uid: number;
  readonly gid: number;
  readonly permissions: number;
  /** Clusters it joins (a new datastore goes to the default cluster 0 unless told otherwise). */
  readonly clusters: readonly number[];
}

/** The record of a new datastore: READY, capacity unknown (0) until the first monitor. */
export function newDatastoreRecord(
  spec: DatastoreCreateSpec,
  identity: NewDatastoreIdentity,
): DatastoreRecord {
  return {
    id: identity.id,
    uid: identity.uid,
    gid: identity.gid,
    name: spec.name,
    permissions: identity.permissions,
    lock: null,
    template: spec.template,
    version: 0,
    dsMad: spec.dsMad,
    tmMad: spec.tmMad,
    basePath: joinPath(spec.baseDir, identity.id),
    type: spec.type,
    diskType: spec.diskType,
    state: DatastoreState.READY,
    clusters: [...new Set(identity.clusters)].sort((a, b) => a - b),
    totalMb: 0,
    freeMb: 0,
    usedMb: 0,
  };
}
