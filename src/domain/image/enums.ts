/**
 * Image enumerations (reference §3.3, `one:include/Image.h`). The numbers are OpenNebula's and go
 * on the wire unchanged; the names are the enum names, so the code and the reference read alike.
 */

export const ImageState = {
  INIT: 0,
  READY: 1,
  USED: 2,
  DISABLED: 3,
  LOCKED: 4,
  ERROR: 5,
  CLONE: 6,
  DELETE: 7,
  USED_PERS: 8,
  LOCKED_USED: 9,
  LOCKED_USED_PERS: 10,
} as const;
export type ImageState = (typeof ImageState)[keyof typeof ImageState];

export const ImageType = {
  OS: 0,
  CDROM: 1,
  DATABLOCK: 2,
  KERNEL: 3,
  RAMDISK: 4,
  CONTEXT: 5,
  BACKUP: 6,
} as const;
export type ImageType = (typeof ImageType)[keyof typeof ImageType];

/** Image and disk DISK_TYPE (`Image::DiskType`). */
export const DiskType = {
  FILE: 0,
  CD_ROM: 1,
  BLOCK: 2,
  RBD: 3,
  RBD_CDROM: 4,
  GLUSTER: 5,
  GLUSTER_CDROM: 6,
  SHEEPDOG: 7,
  SHEEPDOG_CDROM: 8,
  ISCSI: 9,
  NONE: 255,
} as const;
export type DiskType = (typeof DiskType)[keyof typeof DiskType];

/** Enum names by state number (the OCA's IMAGE_STATES). */
export const IMAGE_STATE_NAMES: readonly string[] = [
  'INIT',
  'READY',
  'USED',
  'DISABLED',
  'LOCKED',
  'ERROR',
  'CLONE',
  'DELETE',
  'USED_PERS',
  'LOCKED_USED',
  'LOCKED_USED_PERS',
];

/** CLI short names by state number (`oneimage list` STAT column). */
export const IMAGE_STATE_SHORT_NAMES: readonly string[] = [
  'init',
  'rdy',
  'used',
  'disa',
  'lock',
  'err',
  'clon',
  'dele',
  'used',
  'lock',
  'lock',
];

export const IMAGE_TYPE_NAMES: readonly string[] = [
  'OS',
  'CDROM',
  'DATABLOCK',
  'KERNEL',
  'RAMDISK',
  'CONTEXT',
  'BACKUP',
];

export const IMAGE_TYPE_SHORT_NAMES: readonly string[] = ['OS', 'CD', 'DB', 'KL', 'RD', 'CX', 'BK'];

const DISK_TYPE_STRINGS: Readonly<Record<number, string>> = {
  [DiskType.FILE]: 'FILE',
  [DiskType.CD_ROM]: 'CDROM',
  [DiskType.BLOCK]: 'BLOCK',
  [DiskType.RBD]: 'RBD',
  [DiskType.RBD_CDROM]: 'RBD_CDROM',
  [DiskType.GLUSTER]: 'GLUSTER',
  [DiskType.GLUSTER_CDROM]: 'GLUSTER_CDROM',
  [DiskType.SHEEPDOG]: 'SHEEPDOG',
  [DiskType.SHEEPDOG_CDROM]: 'SHEEPDOG_CDROM',
  [DiskType.ISCSI]: 'ISCSI',
};

export function imageStateName(state: number): string {
  return IMAGE_STATE_NAMES[state] ?? `UNKNOWN(${state})`;
}

export function imageStateShortName(state: number): string {
  return IMAGE_STATE_SHORT_NAMES[state] ?? '-';
}

/**
 * The state as OpenNebula prints it in messages (`Image::state_to_str`): USED_PERS reads `USED`
 * and LOCKED_USED_PERS reads `LOCKED_USED`, so "Image cannot be in state USED." is byte-identical.
 */
export function imageStateString(state: number): string {
  if (state === ImageState.USED_PERS) return 'USED';
  if (state === ImageState.LOCKED_USED_PERS) return 'LOCKED_USED';
  return imageStateName(state);
}

export function imageTypeName(type: number): string {
  return IMAGE_TYPE_NAMES[type] ?? `UNKNOWN(${type})`;
}

export function imageTypeShortName(type: number): string {
  return IMAGE_TYPE_SHORT_NAMES[type] ?? '-';
}

/** `TYPE = "cdrom"` → 1; case-insensitive; undefined for anything else. */
export function parseImageType(text: string): ImageType | undefined {
  const index = IMAGE_TYPE_NAMES.indexOf(text.trim().toUpperCase());
  return index < 0 ? undefined : (index as ImageType);
}

/** `Image::disk_type_to_str`: '' for NONE and unknown numbers. */
export function diskTypeString(diskType: number): string {
  return DISK_TYPE_STRINGS[diskType] ?? '';
}

/** `Image::str_to_disk_type`: case-insensitive; NONE (255) for anything unknown. */
export function parseDiskType(text: string): DiskType {
  const wanted = text.trim().toUpperCase();
  for (const [num, name] of Object.entries(DISK_TYPE_STRINGS)) {
    if (name === wanted) return Number(num) as DiskType;
  }
  return DiskType.NONE;
}

/** OS, CDROM and DATABLOCK are disks; KERNEL, RAMDISK, CONTEXT are files; BACKUP is neither. */
export function isDiskImageType(type: number): boolean {
  return type === ImageType.OS || type === ImageType.CDROM || type === ImageType.DATABLOCK;
}

export function isFileImageType(type: number): boolean {
  return type === ImageType.KERNEL || type === ImageType.RAMDISK || type === ImageType.CONTEXT;
}

export function isLockedState(state: number): boolean {
  return (
    state === ImageState.LOCKED || state === ImageState.LOCKED_USED || state === ImageState.LOCKED_USED_PERS
  );
}
