import { fail, ok, type Result } from '../errors.js';
import { DEFAULT_IMAGE_DEFAULTS } from './create.js';

/**
 * Disk TARGET naming for a whole VM (reference §9.6, `VirtualMachineDisks::get_images` and
 * `assign_disk_targets`).
 *
 * 1. Explicit TARGETs (from the DISK, the image template or CONTEXT) are reserved first; two disks
 *    with one target are refused.
 * 2. Then, each taking the lowest unused name for its prefix: the first OS image disk; the CDROM
 *    images in DISK order, then the context CD (last of the CD-ROMs); then every other disk
 *    (DATABLOCKs, further OS images, volatile disks) in DISK order.
 * 3. Prefix: DISK DEV_PREFIX > image DEV_PREFIX > DEFAULT_DEVICE_PREFIX (`sd`); CDROM images and
 *    the context CD default to DEFAULT_CDROM_DEVICE_PREFIX (`hd`).
 * 4. Suffixes go a…z, aa, ab, … (spreadsheet columns).
 * 5. At most 4 `hd` disks unless the machine is q35 (two IDE buses, two units each), and at most
 *    256 `sd` disks (SCSI controller).
 */

export type DiskTargetKind = 'OS' | 'CDROM' | 'DATABLOCK' | 'VOLATILE';

export interface DiskTargetRequest {
  readonly diskId: number;
  /** The image TYPE, or VOLATILE for TYPE=fs/swap disks. */
  readonly kind: DiskTargetKind;
  /** TARGET from the DISK, else from the image template. */
  readonly target?: string;
  /** DEV_PREFIX from the DISK. */
  readonly devPrefix?: string;
  /** DEV_PREFIX from the image template. */
  readonly imageDevPrefix?: string;
}

export interface ContextTargetRequest {
  readonly target?: string;
  readonly devPrefix?: string;
}

export interface TargetAssignmentRequest {
  readonly vmId: number;
  readonly disks: readonly DiskTargetRequest[];
  /** The CONTEXT section, when the VM has one. */
  readonly context?: ContextTargetRequest | null;
  /** OS/MACHINE is a q35 type (AHCI instead of IDE: no 4-disk limit on hd). */
  readonly q35?: boolean;
  readonly defaultDevPrefix?: string;
  readonly defaultCdromDevPrefix?: string;
}

export interface TargetAssignment {
  /** One entry per requested disk, in the order given. */
  readonly disks: readonly { readonly diskId: number; readonly target: string }[];
  /** The context CD's TARGET; null when there is no CONTEXT. */
  readonly context: string | null;
}

export const MAX_HD_DISKS_NON_Q35 = 4;
export const MAX_SD_DISKS = 256;

/** Spreadsheet-column suffix: 0 → a, 25 → z, 26 → aa, 27 → ab, 701 → zz, 702 → aaa. */
export function targetSuffix(index: number): string {
  let n = index;
  let out = '';
  do {
    out = String.fromCharCode(97 + (n % 26)) + out;
    n = Math.floor(n / 26) - 1;
  } while (n >= 0);
  return out;
}

/** Inverse of `targetSuffix`; undefined when the text is not lower-case letters. */
export function suffixIndex(suffix: string): number | undefined {
  if (!/^[a-z]+$/.test(suffix)) return undefined;
  let n = 0;
  for (const ch of suffix) n = n * 26 + (ch.charCodeAt(0) - 96);
  return n - 1;
}

const TARGET_PATTERN = /^(hd|sd|vd)([a-z]+)$/;

/** `sdb` → { prefix: 'sd', index: 1 }; undefined for names Nimbus cannot attach. */
export function parseTarget(target: string): { readonly prefix: string; readonly index: number } | undefined {
  const m = TARGET_PATTERN.exec(target);
  if (m === null) return undefined;
  return { prefix: m[1] as string, index: suffixIndex(m[2] as string) as number };
}

type Slot = { readonly kind: 'disk'; readonly diskId: number } | { readonly kind: 'context' };

/** Assign TARGET to every disk of a VM and to its context CD. */
export function assignDiskTargets(request: TargetAssignmentRequest): Result<TargetAssignment> {
  const defaultPrefix = request.defaultDevPrefix ?? DEFAULT_IMAGE_DEFAULTS.devPrefix;
  const cdromPrefix = request.defaultCdromDevPrefix ?? DEFAULT_IMAGE_DEFAULTS.cdromDevPrefix;
  const used = new Set<string>();
  const assigned = new Map<number, string>();
  let contextTarget: string | null = null;

  const reserve = (target: string, field: string): Result<string> => {
    const wanted = target.trim().toLowerCase();
    if (parseTarget(wanted) === undefined) {
      return fail(
        'TEMPLATE_INVALID',
        `TARGET "${target}" is not valid; use hd, sd or vd followed by letters, e.g. vdb`,
        field,
      );
    }
    if (used.has(wanted)) {
      return fail('TEMPLATE_INVALID', `Two disks have defined the same target ${wanted}`, field);
    }
    used.add(wanted);
    return ok(wanted);
  };

  const osQueue: { slot: Slot; prefix: string }[] = [];
  const cdromQueue: { slot: Slot; prefix: string }[] = [];
  const otherQueue: { slot: Slot; prefix: string }[] = [];

  for (const disk of request.disks) {
    const field = `DISK[${disk.diskId}]/TARGET`;
    if (disk.target !== undefined && disk.target.trim() !== '') {
      const reserved = reserve(disk.target, field);
      if (!reserved.ok) return reserved;
      assigned.set(disk.diskId, reserved.value);
      continue;
    }
    const prefix = (
      disk.devPrefix?.trim() ||
      disk.imageDevPrefix?.trim() ||
      (disk.kind === 'CDROM' ? cdromPrefix : defaultPrefix)
    ).toLowerCase();
    if (!/^(hd|sd|vd)$/.test(prefix)) {
      return fail(
        'TEMPLATE_INVALID',
        `DEV_PREFIX "${prefix}" is not supported; use hd, sd or vd`,
        `DISK[${disk.diskId}]/DEV_PREFIX`,
      );
    }
    const entry = { slot: { kind: 'disk', diskId: disk.diskId } as const, prefix };
    if (disk.kind === 'OS' && osQueue.length === 0) osQueue.push(entry);
    else if (disk.kind === 'CDROM') cdromQueue.push(entry);
    else otherQueue.push(entry);
  }

  if (request.context) {
    const { target, devPrefix } = request.context;
    if (target !== undefined && target.trim() !== '') {
      const reserved = reserve(target, 'CONTEXT/TARGET');
      if (!reserved.ok) return reserved;
      contextTarget = reserved.value;
    } else {
      const prefix = (devPrefix?.trim() || cdromPrefix).toLowerCase();
      if (!/^(hd|sd|vd)$/.test(prefix)) {
        return fail(
          'TEMPLATE_INVALID',
          `DEV_PREFIX "${prefix}" is not supported; use hd, sd or vd`,
          'CONTEXT/DEV_PREFIX',
        );
      }
      cdromQueue.push({ slot: { kind: 'context' }, prefix });
    }
  }

  for (const { slot, prefix } of [...osQueue, ...cdromQueue, ...otherQueue]) {
    let index = 0;
    while (used.has(prefix + targetSuffix(index))) index++;
    const target = prefix + targetSuffix(index);
    used.add(target);
    if (slot.kind === 'context') contextTarget = target;
    else assigned.set(slot.diskId, target);
  }

  const countOf = (prefix: string): number => [...used].filter((t) => t.startsWith(prefix)).length;
  if (!(request.q35 ?? false) && countOf('hd') > MAX_HD_DISKS_NON_Q35) {
    return fail(
      'TEMPLATE_INVALID',
      `Non-q35 VM ${request.vmId} has more than ${MAX_HD_DISKS_NON_Q35} hd disks`,
      'DISK',
    );
  }
  if (countOf('sd') > MAX_SD_DISKS) {
    return fail('TEMPLATE_INVALID', `VM ${request.vmId} has more than ${MAX_SD_DISKS} sd disks`, 'DISK');
  }

  return ok({
    disks: request.disks.map((d) => ({ diskId: d.diskId, target: assigned.get(d.diskId) as string })),
    context: contextTarget,
  });
}
