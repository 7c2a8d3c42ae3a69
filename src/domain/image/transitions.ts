import { fail, ok, type Result } from '../errors.js';
import type { ImageRecord } from './record.js';
import { singleAttr, stampedMessage, withAttr, withDriverMessage, withoutAttr } from './attributes.js';
import {
  ImageState,
  ImageType,
  imageStateString,
  imageTypeName,
  isDiskImageType,
  isFileImageType,
  parseImageType,
} from './enums.js';

/**
 * Image state transitions (reference §9.4), as pure functions of the record. Each one returns the
 * new record or a DomainError whose message is OpenNebula's text (`ImageManagerActions.cc`,
 * `RequestManagerImage.cc`, `Image.h`), so XML-RPC clients read what they always read.
 *
 * Error codes: IMAGE_STATE (wrong state for the operation), IMAGE_IN_USE (VMs or clones hold
 * it), IMAGE_TYPE (not valid for this image type), DATASTORE_PERSISTENT_ONLY.
 */

// -------------------------------------------------------------------------------------------------
// Record helpers

/** A copy in a new state; PREV_STATE keeps the state it left (hooks use it to see a change). */
export function withState(image: ImageRecord, state: number): ImageRecord {
  return state === image.state ? image : { ...image, prevState: image.state, state };
}

/** `Image::inc_running`: a VM counts once however many of its disks use the image. */
function withVm(image: ImageRecord, vmId: number): ImageRecord {
  if (image.vms.includes(vmId)) return image;
  return { ...image, vms: [...image.vms, vmId].sort((a, b) => a - b), runningVms: image.runningVms + 1 };
}

/** `Image::dec_running`: only a VM that holds the image decrements it. */
function withoutVm(image: ImageRecord, vmId: number): ImageRecord {
  if (!image.vms.includes(vmId)) return image;
  return {
    ...image,
    vms: image.vms.filter((id) => id !== vmId),
    runningVms: Math.max(0, image.runningVms - 1),
  };
}

function withError(image: ImageRecord, now: number, message: string): ImageRecord {
  return {
    ...withState(image, ImageState.ERROR),
    template: withAttr(image.template, 'ERROR', stampedMessage(now, message)),
  };
}

function isShareable(image: ImageRecord): boolean {
  return (singleAttr(image.template, 'PERSISTENT_TYPE') ?? '').trim().toUpperCase() === 'SHAREABLE';
}

/** `Image::set_state_unlock`: LOCKED* → READY/USED/USED_PERS; ERROR → READY, or USED(_PERS) with VMs. */
function unlockedState(image: ImageRecord): number {
  switch (image.state) {
    case ImageState.LOCKED:
      return ImageState.READY;
    case ImageState.LOCKED_USED:
      return ImageState.USED;
    case ImageState.LOCKED_USED_PERS:
      return ImageState.USED_PERS;
    case ImageState.ERROR:
      if (image.runningVms === 0) return ImageState.READY;
      return image.persistent ? ImageState.USED_PERS : ImageState.USED;
    default:
      return image.state;
  }
}

/**
 * VMs waiting in CLONING for this image's copy (LOCKED_USED*). When the copy ends the controller
 * moves them on: to PENDING on success (`completeCopy`), to CLONING_FAILURE on failure.
 */
export function vmsWaitingForCopy(image: ImageRecord): readonly number[] {
  return image.state === ImageState.LOCKED_USED || image.state === ImageState.LOCKED_USED_PERS
    ? image.vms
    : [];
}

// -------------------------------------------------------------------------------------------------
// Datastore driver callbacks (cp / mkfs / clone)

export type DsCopyOperation = 'cp' | 'mkfs' | 'clone';

/** The log line OpenNebula writes when a copy ends well. */
export function copiedLogLine(image: ImageRecord, operation: DsCopyOperation): string {
  if (operation === 'mkfs') return 'Image created and ready to use';
  if (operation === 'clone') return 'Image cloned and ready to use.';
  return `Image (${image.id}) copied and ready to use.`;
}

/** DS cp/mkfs/clone succeeded: SOURCE (and FORMAT) set, LOCKED* unlocked. */
export function completeCopy(
  image: ImageRecord,
  result: { readonly source: string; readonly format?: string; readonly sizeMb?: number },
): Result<ImageRecord> {
  if (
    image.state !== ImageState.LOCKED &&
    image.state !== ImageState.LOCKED_USED &&
    image.state !== ImageState.LOCKED_USED_PERS
  ) {
    return fail(
      'IMAGE_STATE',
      `Image ${image.id} is ${imageStateString(image.state)}, not waiting for a datastore copy`,
    );
  }
  const done: ImageRecord = {
    ...image,
    source: result.source,
    format: result.format !== undefined && result.format !== '' ? result.format : image.format,
    size: result.sizeMb ?? image.size,
    cloningId: -1,
  };
  return ok(withState(done, unlockedState(image)));
}

/**
 * DS cp/mkfs/clone failed: → ERROR with `TEMPLATE/ERROR = "<ctime> : Error copying image in the
 * datastore: <driver msg>"` (mkfs: "Error creating datablock", clone: "Error cloning from Image
 * <id>"). VMs waiting in CLONING (`vmsWaitingForCopy` before the call) fail with it.
 */
export function failCopy(
  image: ImageRecord,
  failure: { readonly operation: DsCopyOperation; readonly driverMessage: string; readonly now: number },
): Result<ImageRecord> {
  if (image.state === ImageState.DELETE) {
    return fail(
      'IMAGE_STATE',
      `Image ${image.id} is being deleted; the ${failure.operation} result is ignored`,
    );
  }
  const head =
    failure.operation === 'mkfs'
      ? 'Error creating datablock'
      : failure.operation === 'clone'
        ? `Error cloning from Image ${image.cloningId}`
        : 'Error copying image in the datastore';
  const failed = withError(image, failure.now, withDriverMessage(head, failure.driverMessage));
  return ok(failure.operation === 'clone' ? { ...failed, cloningId: -1 } : failed);
}

// -------------------------------------------------------------------------------------------------
// VMs: acquire and release

/**
 * A VM takes the image for one of its disks (`ImageManager::acquire_image`). `attach` is a disk
 * hot-plug: it cannot wait for a locked image, while a new VM waits in CLONING.
 */
export function acquireImage(
  image: ImageRecord,
  vmId: number,
  options: { readonly attach?: boolean } = {},
): Result<ImageRecord> {
  if (!isDiskImageType(image.type)) {
    return fail(
      'IMAGE_TYPE',
      `Image ${image.id} (${image.name}) of type ${imageTypeName(image.type)} cannot be used as DISK.`,
    );
  }
  const attach = options.attach ?? false;
  const inUse = fail('IMAGE_IN_USE', `Cannot acquire image ${image.id}, it is persistent and already in use`);
  const locked = fail('IMAGE_STATE', `Cannot acquire image ${image.id}, it is locked`);
  switch (image.state) {
    case ImageState.READY:
      return ok(withState(withVm(image, vmId), image.persistent ? ImageState.USED_PERS : ImageState.USED));
    case ImageState.LOCKED:
      if (attach) return locked;
      return ok(
        withState(
          withVm(image, vmId),
          image.persistent ? ImageState.LOCKED_USED_PERS : ImageState.LOCKED_USED,
        ),
      );
    case ImageState.USED_PERS:
      if (!isShareable(image)) return inUse;
      return ok(withVm(image, vmId));
    case ImageState.USED:
      return ok(withVm(image, vmId));
    case ImageState.LOCKED_USED_PERS:
      if (!isShareable(image)) return inUse;
      return attach ? locked : ok(withVm(image, vmId));
    case ImageState.LOCKED_USED:
      return attach ? locked : ok(withVm(image, vmId));
    default:
      return fail(
        'IMAGE_STATE',
        `Cannot acquire image ${image.id}, it is in state: ${imageStateString(image.state)}`,
      );
  }
}

/**
 * A VM gives the image back after a clean end (EPILOG done, or disk detached):
 * `ImageManager::release_image(failed=false)`. After a failure use `releaseAfterVmFailure`.
 */
export function releaseImage(image: ImageRecord, vmId: number): Result<ImageRecord> {
  if (!isDiskImageType(image.type)) {
    return fail('IMAGE_TYPE', 'Trying to release a KERNEL, RAMDISK, BACKUP or CONTEXT image');
  }
  const released = withoutVm(image, vmId);
  const idle = released.runningVms === 0;
  switch (image.state) {
    case ImageState.USED_PERS:
      return ok(idle ? withState(released, ImageState.READY) : released);
    case ImageState.LOCKED_USED_PERS:
      return ok(idle ? withState(released, ImageState.LOCKED) : released);
    case ImageState.USED:
      return ok(idle && released.cloningOps === 0 ? withState(released, ImageState.READY) : released);
    case ImageState.LOCKED_USED:
      return ok(idle && released.cloningOps === 0 ? withState(released, ImageState.LOCKED) : released);
    default:
      return fail('IMAGE_STATE', `Releasing image in wrong state: ${imageStateString(image.state)}`);
  }
}

// -------------------------------------------------------------------------------------------------
// one.image.enable

/** `one.image.enable(id, true|false)` (`ImageManager::enable_image`). */
export function enableImage(image: ImageRecord, enable: boolean): Result<ImageRecord> {
  const prefix = enable ? 'Could not enable image: ' : 'Could not disable image: ';
  if (image.type === ImageType.BACKUP) {
    return fail('IMAGE_TYPE', `${prefix}Backup images cannot be enabled or disabled.`);
  }
  const wrong = fail('IMAGE_STATE', `${prefix}Image cannot be in state ${imageStateString(image.state)}.`);
  if (enable) {
    switch (image.state) {
      case ImageState.DISABLED:
        return ok(withState(image, ImageState.READY));
      case ImageState.ERROR:
        return ok(withState(image, unlockedState(image)));
      case ImageState.READY:
        return ok(image);
      default:
        return wrong;
    }
  }
  switch (image.state) {
    case ImageState.READY:
    case ImageState.ERROR:
      return ok(withState(image, ImageState.DISABLED));
    case ImageState.DISABLED:
      return ok(image);
    default:
      return wrong;
  }
}

// -------------------------------------------------------------------------------------------------
// one.image.persistent

export interface PersistentChangeContext {
  /** PERSISTENT_ONLY of the image's datastore (`isPersistentOnly`). */
  readonly datastorePersistentOnly: boolean;
  /** The image has snapshots (SNAPSHOTS not empty). */
  readonly hasSnapshots?: boolean;
}

/** `one.image.persistent(id, flag)` (`ImagePersistent`, `Image::persistent`). */
export function setImagePersistent(
  image: ImageRecord,
  persistent: boolean,
  context: PersistentChangeContext,
): Result<ImageRecord> {
  if (isFileImageType(image.type)) {
    return fail('IMAGE_TYPE', 'KERNEL, RAMDISK and CONTEXT must be non-persistent');
  }
  if (image.type === ImageType.BACKUP) {
    return fail('IMAGE_TYPE', 'BACKUP images must be persistent');
  }
  if (context.datastorePersistentOnly && !persistent) {
    return fail('DATASTORE_PERSISTENT_ONLY', 'This Datastore only accepts persistent images.');
  }
  const prefix = persistent ? 'Could not make image persistent: ' : 'Could not make image non-persistent: ';
  if ((context.hasSnapshots ?? false) && !persistent) {
    return fail('IMAGE_STATE', `${prefix}Image has snapshots.`);
  }
  switch (image.state) {
    case ImageState.USED:
    case ImageState.CLONE:
    case ImageState.USED_PERS:
    case ImageState.LOCKED_USED:
    case ImageState.LOCKED_USED_PERS:
      return fail('IMAGE_STATE', `${prefix}Image cannot be in state ${imageStateString(image.state)}.`);
    default:
      return ok(image.persistent === persistent ? image : { ...image, persistent });
  }
}

// -------------------------------------------------------------------------------------------------
// one.image.chtype

const DISK_GROUP: readonly number[] = [ImageType.OS, ImageType.CDROM, ImageType.DATABLOCK];
const FILE_GROUP: readonly number[] = [ImageType.KERNEL, ImageType.RAMDISK, ImageType.CONTEXT];

/**
 * `one.image.chtype(id, type)`: OS/CDROM/DATABLOCK among themselves (they live in IMAGE_DS),
 * KERNEL/RAMDISK/CONTEXT among themselves (FILE_DS); BACKUP never. No state restriction, as in
 * OpenNebula: the type only matters to the next VM that takes the image.
 */
export function changeImageType(
  image: ImageRecord,
  typeText: string,
  context: { readonly hasSnapshots?: boolean } = {},
): Result<ImageRecord> {
  const type = parseImageType(typeText);
  if (type === undefined) {
    return fail(
      'IMAGE_TYPE',
      `Unknown image type "${typeText}"; use OS, CDROM, DATABLOCK, KERNEL, RAMDISK or CONTEXT`,
      'TYPE',
    );
  }
  if (image.type === ImageType.BACKUP) {
    return fail('IMAGE_TYPE', 'Cannot change type for BACKUP images.');
  }
  const group = DISK_GROUP.includes(image.type) ? DISK_GROUP : FILE_GROUP;
  if (!group.includes(type)) {
    return fail('IMAGE_TYPE', 'Cannot change image type to an incompatible type for the current datastore.');
  }
  if ((context.hasSnapshots ?? false) && type !== ImageType.OS && type !== ImageType.DATABLOCK) {
    return fail('IMAGE_TYPE', 'Image with snapshots can be only of type OS or DATABLOCK');
  }
  return ok(image.type === type ? image : { ...image, type });
}

// -------------------------------------------------------------------------------------------------
// one.image.clone

/**
 * The source side of `one.image.clone` (`can_clone_image` + `set_clone_state`): a READY
 * persistent image becomes CLONE, a READY non-persistent one USED (it may serve VMs meanwhile);
 * USED and CLONE take more clones. The new image starts LOCKED (`allocateClone`).
 */
export function startCloneFrom(
  image: ImageRecord,
  newImageId: number,
  context: { readonly hasSnapshots?: boolean } = {},
): Result<ImageRecord> {
  if (!isDiskImageType(image.type)) {
    return fail('IMAGE_TYPE', 'KERNEL, RAMDISK, BACKUP and CONTEXT cannot be cloned.');
  }
  if (context.hasSnapshots ?? false) {
    return fail('IMAGE_STATE', 'Cannot clone images with snapshots');
  }
  const withClone: ImageRecord = image.clones.includes(newImageId)
    ? image
    : {
        ...image,
        clones: [...image.clones, newImageId].sort((a, b) => a - b),
        cloningOps: image.cloningOps + 1,
      };
  switch (image.state) {
    case ImageState.READY:
      return ok(withState(withClone, image.persistent ? ImageState.CLONE : ImageState.USED));
    case ImageState.USED:
    case ImageState.CLONE:
      return ok(withClone);
    default:
      return fail('IMAGE_STATE', `Cannot clone image in state: ${imageStateString(image.state)}`);
  }
}

/** The source side when a clone ends, well or not (`release_cloning_resource`). */
export function finishCloneFrom(image: ImageRecord, cloneId: number): Result<ImageRecord> {
  if (image.state !== ImageState.USED && image.state !== ImageState.CLONE) {
    return fail('IMAGE_STATE', 'Release cloning image in wrong state');
  }
  const released: ImageRecord = image.clones.includes(cloneId)
    ? {
        ...image,
        clones: image.clones.filter((id) => id !== cloneId),
        cloningOps: Math.max(0, image.cloningOps - 1),
      }
    : image;
  return ok(
    released.cloningOps === 0 && released.runningVms === 0 ? withState(released, ImageState.READY) : released,
  );
}

export interface CloneIdentity {
  readonly id: number;
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly permissions: number;
  readonly now: number;
  readonly datastoreId: number;
  /** DEFAULT_IMAGE_PERSISTENT of the user/group/oned.conf; undefined keeps the source's. */
  readonly persistent?: boolean;
}

/**
 * The new image of a clone (`Image::clone_template` + allocate): same TYPE, FORMAT, SIZE and
 * template, PATH = the source's SOURCE, LOCKED until the DS `clone` ends, CLONING_ID = source.
 */
export function allocateClone(source: ImageRecord, identity: CloneIdentity): ImageRecord {
  const template = withoutAttr(withoutAttr(source.template, 'ERROR'), 'LAST_RELEASE');
  return {
    id: identity.id,
    uid: identity.uid,
    gid: identity.gid,
    name: identity.name,
    permissions: identity.permissions,
    lock: null,
    template,
    version: 0,
    type: source.type,
    diskType: source.diskType,
    persistent: identity.persistent ?? source.persistent,
    regtime: identity.now,
    source: '',
    path: source.source,
    format: source.format,
    fs: source.fs,
    size: source.size,
    state: ImageState.LOCKED,
    prevState: ImageState.INIT,
    runningVms: 0,
    cloningOps: 0,
    cloningId: source.id,
    targetSnapshot: -1,
    datastoreId: identity.datastoreId,
    vms: [],
    clones: [],
  };
}

// -------------------------------------------------------------------------------------------------
// one.image.delete

export interface ImageDeletePlan {
  /** The image in DELETE while the DS `rm` runs; unchanged when it is dropped at once. */
  readonly image: ImageRecord;
  /** rm: run DS `rm`, then drop the row; drop: nothing in the datastore yet (empty SOURCE). */
  readonly action: 'rm' | 'drop';
  /** The image this one was being cloned from: release it with `finishCloneFrom`. */
  readonly releaseCloneOf: number | null;
}

/** `one.image.delete` (`ImageManager::delete_image`): refused while VMs or clones use it. */
export function planImageDelete(image: ImageRecord): Result<ImageDeletePlan> {
  const prefix = 'Cannot delete image. ';
  switch (image.state) {
    case ImageState.READY:
      if (image.runningVms !== 0 && image.type !== ImageType.BACKUP) {
        return fail('IMAGE_IN_USE', `${prefix}There are ${image.runningVms} VMs using it.`);
      }
      break;
    case ImageState.CLONE:
      return fail('IMAGE_IN_USE', `${prefix}There are ${image.cloningOps} active clone operations.`);
    case ImageState.USED:
    case ImageState.USED_PERS:
    case ImageState.LOCKED_USED:
    case ImageState.LOCKED_USED_PERS:
      return fail('IMAGE_IN_USE', `${prefix}There are ${image.runningVms} VMs using it.`);
    default:
      break;
  }
  const releaseCloneOf = image.state === ImageState.LOCKED && image.cloningId !== -1 ? image.cloningId : null;
  if (image.source === '') {
    return ok({ image, action: 'drop', releaseCloneOf });
  }
  return ok({
    image: { ...withState(image, ImageState.DELETE), cloningId: -1 },
    action: 'rm',
    releaseCloneOf,
  });
}

/** DS `rm` failed: → ERROR; the user retries the delete, or removes SOURCE by hand and forces it. */
export function failDelete(
  image: ImageRecord,
  failure: { readonly driverMessage: string; readonly now: number },
): ImageRecord {
  const message =
    'Error removing image from datastore. Retry the operation or manually remove image source ' +
    `${image.source} and run the delete --force operation to completely delete the image`;
  return withError(image, failure.now, withDriverMessage(message, failure.driverMessage));
}
