import { fail, ok, type Result } from '../errors.js';
import type { VectorValue } from '../template/types.js';
import type { DatastoreRecord } from '../datastore/record.js';
import { tmTargetsOf } from '../datastore/drivers.js';
import type { ImageRecord } from './record.js';
import { singleAttr } from './attributes.js';
import { DEFAULT_IMAGE_DEFAULTS } from './create.js';
import {
  DiskType,
  ImageType,
  diskTypeString,
  imageTypeName,
  isDiskImageType,
  isLockedState,
} from './enums.js';

/**
 * The attributes the core adds to a VM DISK that names an image (reference §2.2 "DISK after
 * allocation", `Image::disk_attribute`, `Datastore::disk_attribute`). TARGET is not assigned here
 * when neither the DISK nor the image defines it: `assignDiskTargets` does that for the whole VM.
 */

export interface DiskFromImageOptions {
  /** DEFAULT_DEVICE_PREFIX */
  readonly defaultDevPrefix?: string;
  /** DEFAULT_CDROM_DEVICE_PREFIX */
  readonly defaultCdromDevPrefix?: string;
  /** TM_MAD of the system datastore the VM goes to, when known. */
  readonly tmMadSystem?: string;
  /** IMAGE_UNAME (the store joins the owner's name). */
  readonly imageOwnerName?: string;
}

function upper(value: string | undefined): string {
  return (value ?? '').trim().toUpperCase();
}

/** The CD-ROM flavour of a datastore disk type (`Image::disk_attribute`). */
function cdromDiskType(diskType: number): number {
  switch (diskType) {
    case DiskType.RBD:
      return DiskType.RBD_CDROM;
    case DiskType.SHEEPDOG:
      return DiskType.SHEEPDOG_CDROM;
    case DiskType.GLUSTER:
      return DiskType.GLUSTER_CDROM;
    default:
      return DiskType.CD_ROM;
  }
}

/**
 * CLONE / SAVE / READONLY / PERSISTENT of a disk (§2.2): CDROM or IMMUTABLE → read-only, neither
 * cloned nor saved; persistent → linked and saved back; non-persistent → cloned, discarded.
 */
export function diskPersistenceAttributes(image: ImageRecord, diskReadonly?: string): Record<string, string> {
  const ptype = upper(singleAttr(image.template, 'PERSISTENT_TYPE'));
  if (image.type === ImageType.CDROM || ptype === 'IMMUTABLE') {
    return { SAVE: 'NO', CLONE: 'NO', READONLY: 'YES' };
  }
  const readonlyText = upper(diskReadonly) || upper(singleAttr(image.template, 'READONLY'));
  const attrs: Record<string, string> = { READONLY: readonlyText === 'YES' ? 'YES' : 'NO' };
  if (image.persistent) {
    attrs['PERSISTENT'] = 'YES';
    attrs['CLONE'] = 'NO';
    attrs['SAVE'] = 'YES';
  } else {
    attrs['CLONE'] = 'YES';
    attrs['SAVE'] = 'NO';
  }
  return attrs;
}

/** The DISK vector for a VM, from what the user wrote in DISK plus the image and its datastore. */
export function diskAttributesFromImage(
  disk: VectorValue,
  image: ImageRecord,
  datastore: DatastoreRecord,
  options: DiskFromImageOptions = {},
): Result<VectorValue> {
  if (!isDiskImageType(image.type)) {
    return fail(
      'IMAGE_TYPE',
      `Image ${image.id} (${image.name}) of type ${imageTypeName(image.type)} cannot be used as DISK.`,
      'DISK/IMAGE',
    );
  }
  const out: Record<string, string> = { ...disk };
  const fromDisk = (name: string): string => (disk[name] ?? '').trim();

  out['DEV_PREFIX'] =
    fromDisk('DEV_PREFIX') ||
    (singleAttr(image.template, 'DEV_PREFIX') ?? '').trim() ||
    (image.type === ImageType.CDROM
      ? (options.defaultCdromDevPrefix ?? DEFAULT_IMAGE_DEFAULTS.cdromDevPrefix)
      : (options.defaultDevPrefix ?? DEFAULT_IMAGE_DEFAULTS.devPrefix));

  out['IMAGE'] = image.name;
  out['IMAGE_ID'] = String(image.id);
  out['IMAGE_UID'] = String(image.uid);
  if (options.imageOwnerName !== undefined) out['IMAGE_UNAME'] = options.imageOwnerName;
  out['SOURCE'] = image.source;
  out['ORIGINAL_SIZE'] = String(image.size);
  if (fromDisk('SIZE') === '') out['SIZE'] = String(image.size);
  out['DISK_SNAPSHOT_TOTAL_SIZE'] = '0';

  const driver =
    fromDisk('DRIVER') || (singleAttr(image.template, 'DRIVER') ?? '').trim() || image.format || 'raw';
  out['DRIVER'] = driver;
  out['FORMAT'] = image.format || driver;
  out['IMAGE_STATE'] = String(image.state);

  delete out['PERSISTENT'];
  Object.assign(out, diskPersistenceAttributes(image, disk['READONLY']));
  if (upper(singleAttr(image.template, 'PERSISTENT_TYPE')) === 'SHAREABLE') out['SHAREABLE'] = 'YES';

  if (isLockedState(image.state)) out['CLONING'] = 'YES';
  else delete out['CLONING'];

  out['TYPE'] =
    diskTypeString(image.type === ImageType.CDROM ? cdromDiskType(image.diskType) : image.diskType) || 'FILE';
  out['DISK_TYPE'] = diskTypeString(datastore.diskType) || 'FILE';

  const imageTarget = (singleAttr(image.template, 'TARGET') ?? '').trim();
  if (fromDisk('TARGET') === '' && imageTarget !== '') out['TARGET'] = imageTarget;

  const targets = tmTargetsOf(datastore);
  out['DATASTORE'] = datastore.name;
  out['DATASTORE_ID'] = String(datastore.id);
  out['TM_MAD'] = datastore.tmMad;
  if (options.tmMadSystem !== undefined) out['TM_MAD_SYSTEM'] = options.tmMadSystem;
  out['LN_TARGET'] = targets.lnTarget;
  out['CLONE_TARGET'] = targets.cloneTarget;
  if (datastore.clusters.length > 0) out['CLUSTER_ID'] = datastore.clusters.join(',');
  return ok(out);
}
