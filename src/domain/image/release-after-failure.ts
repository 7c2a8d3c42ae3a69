import { fail, ok, type Result } from '../errors.js';
import type { ImageRecord } from './record.js';
import { singleAttr, stampedMessage, withAttr } from './attributes.js';
import { ImageState, ImageType, imageStateString, isDiskImageType } from './enums.js';
import { releaseImage, withState } from './transitions.js';

/**
 * Releasing a VM's images after its deployment failed or it was deleted from a failure state.
 *
 * OpenNebula (`VirtualMachine::release_disk_images`, `release_image(failed=true)`) puts every
 * persistent image of such a VM in ERROR, whatever went wrong, and an operator has to run
 * `oneimage enable` by hand (reference §3.8, §13.10; the seed's "after a failed create the image
 * goes to error, cause unknown"). Nimbus releases the images normally and puts one in ERROR only
 * when the image itself is suspect:
 *
 * 1. **The failure was this image.** The controller lists in `faultImageIds` the images whose
 *    read or copy failed (the TM CLONE/LN of that disk reported the source missing, unreadable,
 *    or with a wrong checksum). Such an image goes to ERROR, persistent or not: the next VM would
 *    fail the same way. A failure that cannot be pinned on an image (host unreachable, system
 *    datastore full, hypervisor refused the domain) lists none.
 * 2. **A persistent disk may be inconsistent.** `diskWasWritten` says a guest ran with the disk
 *    attached read-write and did not shut down cleanly, or the save-back (TM MVDS at EPILOG) did
 *    not finish. A persistent, writable image then goes to ERROR: its bytes may be half-written
 *    and a person should look before another VM boots from it. Non-persistent images are never
 *    affected (each VM wrote to its own clone), nor are read-only ones (CDROM,
 *    PERSISTENT_TYPE=IMMUTABLE, READONLY=YES). `diskMayHaveBeenWritten(phase)` gives the
 *    conservative default: true once the VM reached RUNNING.
 * 3. **Otherwise** the image is released as after a clean end (READY when its last user leaves)
 *    and keeps a note of what happened.
 *
 * Where the reason goes: an image put in ERROR carries `TEMPLATE/ERROR = "<ctime> : <why>"`,
 * exactly where OpenNebula and its clients look. A released image carries
 * `TEMPLATE/LAST_RELEASE = "<ctime> : <why>"`, so nobody mistakes a past VM failure for a
 * present image error; an older ERROR text is left alone.
 *
 * Images still being copied (LOCKED_USED*) just lose the VM (back to LOCKED when it was the last
 * one): the VM never had the disk, and the copy's own result decides the image's state. Images
 * in ERROR or DISABLED lose the VM too (OpenNebula leaves a stale RUNNING_VMS there).
 */

/** Where the VM was when it failed or was deleted. */
export type VmFailurePhase =
  /** Never reached PROLOG: deleted from PENDING, HOLD, CLONING, CLONING_FAILURE. */
  | 'PENDING'
  /** Disks being copied or linked to the host (PROLOG*, PROLOG_*_FAILURE). */
  | 'PROLOG'
  /** The hypervisor was starting the VM (BOOT*, BOOT_*_FAILURE). */
  | 'BOOT'
  /** The guest had run (RUNNING, UNKNOWN, POWEROFF, SHUTDOWN*, migrations ...). */
  | 'RUNNING'
  /** Disks being saved back or removed (EPILOG*, EPILOG_*_FAILURE). */
  | 'EPILOG';

export interface VmFailureRelease {
  readonly vmId: number;
  readonly phase: VmFailurePhase;
  /** Images whose own read or copy caused the failure. */
  readonly faultImageIds: readonly number[];
  /** The guest wrote to the disk without a clean end, or its save-back did not finish. */
  readonly diskWasWritten: boolean;
  /** The VM's error, e.g. the driver message; may be ''. */
  readonly reason: string;
  /** Epoch seconds. */
  readonly now: number;
}

export type VmFailureOutcome = 'RELEASED' | 'ERROR';

export interface VmFailureReleaseResult {
  readonly image: ImageRecord;
  readonly outcome: VmFailureOutcome;
  /** The text stored in TEMPLATE/ERROR or TEMPLATE/LAST_RELEASE (without the time stamp). */
  readonly note: string;
}

/**
 * The phase from the VM's STATE and LCM_STATE names (§3.1, §3.2), e.g. ('ACTIVE',
 * 'PROLOG_FAILURE') → PROLOG. Names, not numbers, so the image rules need nothing from vm/.
 */
export function vmFailurePhase(state: string, lcmState: string): VmFailurePhase {
  if (state !== 'ACTIVE') {
    return ['INIT', 'PENDING', 'HOLD', 'CLONING', 'CLONING_FAILURE'].includes(state) ? 'PENDING' : 'RUNNING';
  }
  if (lcmState === 'LCM_INIT') return 'PENDING';
  if (lcmState.startsWith('PROLOG')) return 'PROLOG';
  if (lcmState.startsWith('BOOT')) return 'BOOT';
  if (lcmState.startsWith('EPILOG')) return 'EPILOG';
  return 'RUNNING';
}

/** Conservative default for `diskWasWritten`: once the guest has run, assume it wrote. */
export function diskMayHaveBeenWritten(phase: VmFailurePhase): boolean {
  return phase === 'RUNNING' || phase === 'EPILOG';
}

/** Can a VM write to this image's bytes? (persistent, writable: the DISK gets SAVE=YES) */
export function isWritablePersistent(image: ImageRecord): boolean {
  const readonly =
    image.type === ImageType.CDROM ||
    (singleAttr(image.template, 'PERSISTENT_TYPE') ?? '').trim().toUpperCase() === 'IMMUTABLE' ||
    (singleAttr(image.template, 'READONLY') ?? '').trim().toUpperCase() === 'YES';
  return image.persistent && !readonly;
}

function suffix(reason: string): string {
  return reason.trim() === '' ? '' : `: ${reason.trim()}`;
}

/** The normal release; it cannot fail for a disk image in a USED or LOCKED_USED state. */
function releasedBy(image: ImageRecord, vmId: number): ImageRecord {
  const released = releaseImage(image, vmId);
  return released.ok ? released.value : image;
}

function noted(
  image: ImageRecord,
  attribute: 'ERROR' | 'LAST_RELEASE',
  now: number,
  note: string,
): ImageRecord {
  return { ...image, template: withAttr(image.template, attribute, stampedMessage(now, note)) };
}

/** Release one image of a failed or deleted VM; see the module comment for the rules. */
export function releaseAfterVmFailure(
  image: ImageRecord,
  failure: VmFailureRelease,
): Result<VmFailureReleaseResult> {
  if (!isDiskImageType(image.type)) {
    return fail('IMAGE_TYPE', 'Trying to release a KERNEL, RAMDISK, BACKUP or CONTEXT image');
  }
  const { vmId, phase } = failure;
  const phaseText = phase.toLowerCase();

  let note: string;
  let outcome: VmFailureOutcome = 'RELEASED';
  if (failure.faultImageIds.includes(image.id)) {
    outcome = 'ERROR';
    note = `VM ${vmId} failed in ${phaseText} reading or copying this image${suffix(failure.reason)}`;
  } else if (failure.diskWasWritten && isWritablePersistent(image)) {
    outcome = 'ERROR';
    note =
      `VM ${vmId} failed in ${phaseText} after writing to this persistent disk; its content may be ` +
      `inconsistent. Check it, then enable the image${suffix(failure.reason)}`;
  } else {
    note = `Released by VM ${vmId}, which failed in ${phaseText} for a reason other than this image${suffix(failure.reason)}`;
  }

  switch (image.state) {
    case ImageState.USED:
    case ImageState.USED_PERS: {
      const released = releasedBy(image, vmId);
      if (outcome === 'ERROR') {
        const errored = withState(released, ImageState.ERROR);
        return ok({ image: noted(errored, 'ERROR', failure.now, note), outcome, note });
      }
      return ok({ image: noted(released, 'LAST_RELEASE', failure.now, note), outcome, note });
    }
    case ImageState.LOCKED_USED:
    case ImageState.LOCKED_USED_PERS: {
      const lockedNote = `Released by VM ${vmId} while the image was still being copied${suffix(failure.reason)}`;
      return ok({
        image: noted(releasedBy(image, vmId), 'LAST_RELEASE', failure.now, lockedNote),
        outcome: 'RELEASED',
        note: lockedNote,
      });
    }
    case ImageState.ERROR:
    case ImageState.DISABLED: {
      // The image's own state stands; only the VM's reference goes.
      const detached: ImageRecord = image.vms.includes(vmId)
        ? {
            ...image,
            vms: image.vms.filter((id) => id !== vmId),
            runningVms: Math.max(0, image.runningVms - 1),
          }
        : image;
      return ok({
        image: detached,
        outcome: image.state === ImageState.ERROR ? 'ERROR' : 'RELEASED',
        note: '',
      });
    }
    default:
      return fail('IMAGE_STATE', `Releasing image in wrong state: ${imageStateString(image.state)}`);
  }
}
