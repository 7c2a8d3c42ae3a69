import { fail, ok, type Result } from '../errors.js';
import type { Template } from '../template/types.js';
import type { DatastoreRecord } from '../datastore/record.js';
import { DatastoreState, DatastoreType } from '../datastore/enums.js';
import { isPersistentOnly, TM_MAD_CONF } from '../datastore/drivers.js';
import { validateObjectName } from '../object.js';
import type { ImageRecord } from './record.js';
import { singleAttr, withAttr, withoutAttr } from './attributes.js';
import {
  DiskType,
  ImageState,
  ImageType,
  diskTypeString,
  isDiskImageType,
  isFileImageType,
  parseDiskType,
  parseImageType,
} from './enums.js';

/**
 * Validation of an image template for `one.image.allocate` (reference §9.5, `Image::insert`,
 * `ImageManager::stat_image`, `ImageAllocate`). Bad input is refused here with the field it is
 * about; what passes is a normalized spec the controller turns into a record and a DS action.
 */

/** Defaults from oned.conf and the user's/group's configuration. */
export interface ImageDefaults {
  /** DEFAULT_IMAGE_TYPE */
  readonly type: string;
  /** DEFAULT_DEVICE_PREFIX (6.x ships `sd`) */
  readonly devPrefix: string;
  /** DEFAULT_CDROM_DEVICE_PREFIX */
  readonly cdromDevPrefix: string;
  /** DEFAULT_IMAGE_PERSISTENT_NEW from user/group/oned.conf; null when unset. */
  readonly persistentNew: boolean | null;
}

export const DEFAULT_IMAGE_DEFAULTS: ImageDefaults = {
  type: 'OS',
  devPrefix: 'sd',
  cdromDevPrefix: 'hd',
  persistentNew: null,
};

/** Device prefixes Nimbus can attach with QEMU: IDE, SCSI/SATA, virtio. */
export const DEV_PREFIXES: readonly string[] = ['hd', 'sd', 'vd'];

export interface ImageCreateContext {
  readonly datastore: DatastoreRecord;
  /** SOURCE is a restricted attribute: only users in the oneadmin group may set it. */
  readonly callerInOneadminGroup: boolean;
  readonly defaults?: Partial<ImageDefaults>;
}

/** What the datastore driver must do for a new image. */
export type ImageDsAction =
  /** copy PATH into the datastore (DS `cp`), size from DS `stat` */
  | 'cp'
  /** create an empty disk of SIZE MB (DS `mkfs`) */
  | 'mkfs'
  /** SOURCE given: the bytes are already in place, the image is READY at once */
  | 'none';

export interface ImageCreateSpec {
  readonly name: string;
  readonly type: ImageType;
  readonly persistent: boolean;
  readonly diskType: DiskType;
  /** Local absolute path or http(s) URL ('' when none). */
  readonly path: string;
  /** 'local' paths must pass the datastore's SAFE_DIRS rule (`decideImagePath`) after realpath. */
  readonly pathKind: 'local' | 'url' | null;
  readonly source: string;
  /** MB; null when the DS `stat` must tell (PATH images). */
  readonly sizeMb: number | null;
  /** raw | qcow2 for empty disks; '' until the DS `cp` reports it for PATH images. */
  readonly format: string;
  readonly fs: string;
  readonly dsAction: ImageDsAction;
  /** The remaining template: DEV_PREFIX (defaulted), DRIVER, TARGET, PERSISTENT_TYPE, ... */
  readonly template: Template;
}

/** Attributes that become record fields and leave the template (as `Image::insert` erases them). */
const RECORD_ATTRS = [
  'NAME',
  'TYPE',
  'PERSISTENT',
  'SIZE',
  'PATH',
  'SOURCE',
  'FORMAT',
  'FS',
  'FSTYPE',
  'DISK_TYPE',
];

function invalid(field: string, message: string): ReturnType<typeof fail> {
  return fail('TEMPLATE_INVALID', message, field);
}

function yesNo(template: Template, name: string): Result<boolean | undefined> {
  const raw = singleAttr(template, name);
  if (raw === undefined || raw.trim() === '') return ok(undefined);
  const upper = raw.trim().toUpperCase();
  if (upper === 'YES') return ok(true);
  if (upper === 'NO') return ok(false);
  return invalid(name, `${name} must be YES or NO, not "${raw}"`);
}

function positiveInt(raw: string): number | undefined {
  const text = raw.trim();
  if (!/^\d+$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

const TARGET_PATTERN = /^(hd|sd|vd)[a-z]{1,2}$/;

/** Validate an image template against the datastore it goes to. */
export function validateImageTemplate(
  template: Template,
  context: ImageCreateContext,
): Result<ImageCreateSpec> {
  const defaults = { ...DEFAULT_IMAGE_DEFAULTS, ...context.defaults };
  const ds = context.datastore;

  const name = validateObjectName(singleAttr(template, 'NAME')?.trim());
  if (!name.ok) return name;

  // ------------ TYPE and the datastore that must hold it ------------
  const typeText = singleAttr(template, 'TYPE')?.trim() || defaults.type;
  const type = parseImageType(typeText);
  if (type === undefined) {
    return invalid(
      'TYPE',
      `Unknown TYPE "${typeText}"; use OS, CDROM, DATABLOCK, KERNEL, RAMDISK or CONTEXT`,
    );
  }
  if (type === ImageType.BACKUP) {
    return invalid('TYPE', 'BACKUP images are created by VM backups, not registered');
  }
  if (ds.state === DatastoreState.DISABLED) {
    return fail(
      'DATASTORE_DISABLED',
      `Datastore ${ds.id} "${ds.name}" is disabled; new images cannot be allocated in it`,
    );
  }
  if (ds.type === DatastoreType.SYSTEM_DS || ds.type === DatastoreType.BACKUP_DS) {
    return fail(
      'DATASTORE_TYPE',
      `New images cannot be allocated in a ${ds.type === DatastoreType.SYSTEM_DS ? 'system' : 'backup'} datastore.`,
    );
  }
  if (ds.type === DatastoreType.IMAGE_DS && isFileImageType(type)) {
    return fail(
      'DATASTORE_TYPE',
      `Images of type ${typeText.toUpperCase()} go to a FILE_DS datastore, not to IMAGE_DS datastore ${ds.id}`,
      'TYPE',
    );
  }
  if (ds.type === DatastoreType.FILE_DS && isDiskImageType(type)) {
    return fail(
      'DATASTORE_TYPE',
      `Images of type ${typeText.toUpperCase()} go to an IMAGE_DS datastore, not to FILE_DS datastore ${ds.id}`,
      'TYPE',
    );
  }

  // ------------ PERSISTENT / PERSISTENT_TYPE ------------
  const persistentAttr = yesNo(template, 'PERSISTENT');
  if (!persistentAttr.ok) return persistentAttr;
  let persistent: boolean;
  if (isFileImageType(type)) {
    if (persistentAttr.value === true) {
      return invalid('PERSISTENT', 'KERNEL, RAMDISK and CONTEXT must be non-persistent');
    }
    persistent = false;
  } else {
    // An explicit PERSISTENT wins at allocate; otherwise DEFAULT_IMAGE_PERSISTENT_NEW (test_set_persistent).
    persistent = persistentAttr.value ?? defaults.persistentNew ?? false;
  }
  if (isPersistentOnly(ds) && !persistent) {
    if (persistentAttr.value === false) {
      return invalid('PERSISTENT', 'This Datastore only accepts persistent images.');
    }
    persistent = true;
  }

  let rest: Template = template;
  for (const attr of RECORD_ATTRS) rest = withoutAttr(rest, attr);

  const persistentType = singleAttr(template, 'PERSISTENT_TYPE')?.trim().toUpperCase();
  if (persistentType !== undefined && persistentType !== '') {
    if (persistentType !== 'IMMUTABLE' && persistentType !== 'SHAREABLE') {
      return invalid(
        'PERSISTENT_TYPE',
        `PERSISTENT_TYPE must be IMMUTABLE or SHAREABLE, not "${persistentType}"`,
      );
    }
    rest = withAttr(rest, 'PERSISTENT_TYPE', persistentType);
  }

  // ------------ DEV_PREFIX, TARGET, DRIVER, READONLY ------------
  if (isFileImageType(type)) {
    rest = withoutAttr(withoutAttr(rest, 'DEV_PREFIX'), 'TARGET');
  } else {
    const prefix = singleAttr(template, 'DEV_PREFIX')?.trim().toLowerCase() ?? '';
    if (prefix !== '' && !DEV_PREFIXES.includes(prefix)) {
      return invalid(
        'DEV_PREFIX',
        `DEV_PREFIX "${prefix}" is not supported; use hd (IDE), sd (SCSI/SATA) or vd (virtio)`,
      );
    }
    rest = withAttr(
      rest,
      'DEV_PREFIX',
      prefix || (type === ImageType.CDROM ? defaults.cdromDevPrefix : defaults.devPrefix),
    );
    const target = singleAttr(template, 'TARGET')?.trim().toLowerCase();
    if (target !== undefined && target !== '') {
      if (!TARGET_PATTERN.test(target)) {
        return invalid(
          'TARGET',
          `TARGET "${target}" is not valid; use a device prefix (hd, sd, vd) and letters, e.g. vdb`,
        );
      }
      rest = withAttr(rest, 'TARGET', target);
    }
  }
  const driver = singleAttr(template, 'DRIVER')?.trim().toLowerCase();
  if (driver !== undefined && driver !== '') {
    if (driver !== 'raw' && driver !== 'qcow2')
      return invalid('DRIVER', `DRIVER must be raw or qcow2, not "${driver}"`);
    rest = withAttr(rest, 'DRIVER', driver);
  }
  const readonly = yesNo(template, 'READONLY');
  if (!readonly.ok) return readonly;
  if (readonly.value !== undefined) rest = withAttr(rest, 'READONLY', readonly.value ? 'YES' : 'NO');
  for (const [attr, length] of [
    ['MD5', 32],
    ['SHA1', 40],
  ] as const) {
    const digest = singleAttr(template, attr)?.trim();
    if (digest !== undefined && digest !== '') {
      if (!new RegExp(`^[0-9a-fA-F]{${length}}$`).test(digest)) {
        return invalid(attr, `${attr} must be ${length} hexadecimal characters`);
      }
      rest = withAttr(rest, attr, digest.toLowerCase());
    }
  }

  // ------------ FORMAT, FS, DISK_TYPE ------------
  const formatAttr = singleAttr(template, 'FORMAT')?.trim().toLowerCase() ?? '';
  if (formatAttr !== '' && formatAttr !== 'raw' && formatAttr !== 'qcow2') {
    return invalid('FORMAT', `FORMAT must be raw or qcow2, not "${formatAttr}"`);
  }
  const fs = singleAttr(template, 'FS')?.trim() ?? '';
  if (fs !== '' && !/^[a-z0-9]+$/.test(fs)) {
    return invalid('FS', `FS "${fs}" is not a file system type name (e.g. ext4, xfs, vfat)`);
  }
  let diskType = ds.diskType as DiskType;
  const diskTypeAttr = singleAttr(template, 'DISK_TYPE')?.trim();
  if (diskTypeAttr !== undefined && diskTypeAttr !== '') {
    const parsed = parseDiskType(diskTypeAttr);
    if (parsed !== DiskType.FILE && parsed !== DiskType.BLOCK && parsed !== DiskType.CD_ROM) {
      return invalid('DISK_TYPE', `DISK_TYPE must be FILE, BLOCK or CDROM, not "${diskTypeAttr}"`);
    }
    diskType = parsed;
  }
  if (diskTypeString(diskType) === '') diskType = DiskType.FILE;

  // ------------ PATH / SOURCE / SIZE ------------
  const path = singleAttr(template, 'PATH')?.trim() ?? '';
  const source = singleAttr(template, 'SOURCE')?.trim() ?? '';
  const sizeText = singleAttr(template, 'SIZE')?.trim() ?? '';
  const size = sizeText === '' ? undefined : positiveInt(sizeText);
  if (sizeText !== '' && size === undefined) {
    return invalid('SIZE', `SIZE must be a whole number of MB greater than 0, not "${sizeText}"`);
  }
  if (path !== '' && source !== '') {
    return invalid('PATH', 'Template malformed, PATH and SOURCE are mutually exclusive.');
  }

  const base = { name: name.value, type, persistent, diskType, fs, template: rest };
  if (source !== '') {
    if (!context.callerInOneadminGroup) {
      return fail('AUTHORIZATION', 'Template includes a restricted attribute SOURCE.', 'SOURCE');
    }
    if (size === undefined) return invalid('SIZE', 'SIZE (MB) is required when SOURCE is given');
    return ok({
      ...base,
      path: '',
      pathKind: null,
      source,
      sizeMb: size,
      format: formatAttr || 'raw',
      dsAction: 'none',
    });
  }
  if (path !== '') {
    const kind = /^[a-z][a-z0-9+.-]*:\/\//i.test(path) ? 'url' : 'local';
    if (kind === 'url' && !/^https?:\/\//i.test(path)) {
      return invalid(
        'PATH',
        `PATH "${path}" uses an unsupported scheme; use an absolute local path or an http(s) URL`,
      );
    }
    if (kind === 'local' && !path.startsWith('/')) {
      return invalid('PATH', `PATH "${path}" must be an absolute path or an http(s) URL`);
    }
    if (path.includes('\0')) return invalid('PATH', 'PATH must not contain NUL characters');
    return ok({
      ...base,
      path,
      pathKind: kind,
      source: '',
      sizeMb: null,
      format: formatAttr,
      dsAction: 'cp',
    });
  }
  if (type !== ImageType.OS && type !== ImageType.DATABLOCK) {
    return invalid('PATH', `Either PATH or SOURCE are required for ${typeText.toUpperCase()}`);
  }
  if (size === undefined) {
    return invalid(
      'SIZE',
      `SIZE (MB) is required for an empty ${typeText.toUpperCase()} image (no PATH or SOURCE)`,
    );
  }
  // Empty disks: FORMAT, else DRIVER, else the TM's driver (qcow2 TM → qcow2), else raw.
  const format = formatAttr || driver || TM_MAD_CONF[ds.tmMad]?.driver || 'raw';
  return ok({ ...base, path: '', pathKind: null, source: '', sizeMb: size, format, dsAction: 'mkfs' });
}

export interface NewImageIdentity {
  readonly id: number;
  readonly uid: number;
  readonly gid: number;
  /** Octal permission bits, e.g. 0o600 with the 6.10 default umask 177. */
  readonly permissions: number;
  /** Epoch seconds (REGTIME). */
  readonly now: number;
}

/**
 * The record of a freshly allocated image (§9.4 allocate): LOCKED while the DS copies or creates
 * it; READY at once when SOURCE was given (nothing to copy).
 */
export function allocateImage(
  spec: ImageCreateSpec,
  datastoreId: number,
  identity: NewImageIdentity,
): ImageRecord {
  return {
    id: identity.id,
    uid: identity.uid,
    gid: identity.gid,
    name: spec.name,
    permissions: identity.permissions,
    lock: null,
    template: spec.template,
    version: 0,
    type: spec.type,
    diskType: spec.diskType,
    persistent: spec.persistent,
    regtime: identity.now,
    source: spec.source,
    path: spec.path,
    format: spec.format,
    fs: spec.fs,
    size: spec.sizeMb ?? 0,
    state: spec.dsAction === 'none' ? ImageState.READY : ImageState.LOCKED,
    prevState: ImageState.INIT,
    runningVms: 0,
    cloningOps: 0,
    cloningId: -1,
    targetSnapshot: -1,
    datastoreId,
    vms: [],
    clones: [],
  };
}
