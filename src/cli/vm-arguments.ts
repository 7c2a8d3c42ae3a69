/**
 * The arguments of onevm's lifecycle verbs, checked before anything is sent: VM ranges, sizes,
 * recover and migrate flags, the DISK / NIC of disk-attach and nic-attach. Each problem is a
 * one-line CliFailure naming the argument or option.
 */
import { isIP } from 'node:net';
import { serializeTemplate } from '../domain/template/index.js';
import type { RecoverOpName } from '../domain/vm/index.js';
import { CliFailure } from './program.js';

/** More VMs than this in one `a..b` range is a typo, not a request. */
export const MAX_RANGE_SIZE = 10_000;

const RANGE_LIST = /^\d+(\.\.\d+)?(,\d+(\.\.\d+)?)*$/;

/**
 * onevm's `<range|vmid_list>`: each argument is an id, a list `3,5,8`, a range `3..7`, a mix
 * (`1,4..6`) or a VM name. The refs come back in order, ids as decimal strings, each once.
 */
export function expandVmRefs(args: readonly string[]): string[] {
  const refs: string[] = [];
  const seen = new Set<string>();
  const add = (ref: string): void => {
    if (seen.has(ref)) return;
    seen.add(ref);
    refs.push(ref);
  };
  for (const arg of args) {
    if (!RANGE_LIST.test(arg)) {
      if (arg === '') throw new CliFailure('nimbus: a VM id or name is empty');
      add(arg);
      continue;
    }
    for (const part of arg.split(',')) {
      const [from, to] = part.split('..').map(Number) as [number, number | undefined];
      if (to === undefined) {
        add(String(from));
        continue;
      }
      if (to < from) throw new CliFailure(`nimbus: range ${part} runs backwards; write ${to}..${from}`);
      if (to - from + 1 > MAX_RANGE_SIZE)
        throw new CliFailure(`nimbus: range ${part} names more than ${MAX_RANGE_SIZE} VMs`);
      for (let id = from; id <= to; id++) add(String(id));
    }
  }
  return refs;
}

const SIZE = /^(\d+(?:\.\d+)?)(?:([MGT])B?)?$/i;
const MB_PER_UNIT: Readonly<Record<string, number>> = { M: 1, G: 1024, T: 1024 * 1024 };

/**
 * onevm's size syntax (`--memory`, disk-resize SIZE): `512` and `512M` are MB, `2G` and `1.5GB`
 * GB, `1T` TB; the result is whole MB (rounded down, as onevm does). Undefined when `text` is
 * not a size or is not at least 1 MB.
 */
export function parseSizeMb(text: string): number | undefined {
  const m = SIZE.exec(text.trim());
  if (m === null) return undefined;
  const mb = Math.floor(Number(m[1]) * MB_PER_UNIT[(m[2] ?? 'M').toUpperCase()]!);
  return mb >= 1 && Number.isSafeInteger(mb) ? mb : undefined;
}

/** parseSizeMb, or a one-line failure naming the argument (`--memory`, `SIZE`). */
export function sizeArgument(text: string, name: string): number {
  const mb = parseSizeMb(text);
  if (mb === undefined)
    throw new CliFailure(
      `nimbus: ${name}: "${text}" is not a size; write MB (512) or a unit (512M, 2G, 1.5G)`,
    );
  return mb;
}

/** A whole number >= `min` (`DISK_ID`, `--lines`, `--interval`), or a one-line failure naming it. */
export function integerArgument(text: string, name: string, min: number): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min)
    throw new CliFailure(`nimbus: ${name}: "${text}" is not a whole number >= ${min}`);
  return n;
}

/** A decimal number >= `min` (`--timeout` seconds), or a one-line failure naming it. */
export function numberArgument(text: string, name: string, min: number): number {
  const n = /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(n) || n < min)
    throw new CliFailure(`nimbus: ${name}: "${text}" is not a number >= ${min}`);
  return n;
}

/** The recover flags, in onevm's order; `--recreate` is the operation delete-recreate. */
export const RECOVER_FLAGS: readonly {
  readonly flag: string;
  readonly key: string;
  readonly op: RecoverOpName;
}[] = [
  { flag: '--success', key: 'success', op: 'success' },
  { flag: '--failure', key: 'failure', op: 'failure' },
  { flag: '--retry', key: 'retry', op: 'retry' },
  { flag: '--delete', key: 'delete', op: 'delete' },
  { flag: '--recreate', key: 'recreate', op: 'delete-recreate' },
  { flag: '--delete-db', key: 'deleteDb', op: 'delete-db' },
];

/** The one recover operation the flags (commander's option object) ask for. */
export function recoverOperation(opts: Readonly<Record<string, unknown>>): RecoverOpName {
  const given = RECOVER_FLAGS.filter((f) => opts[f.key] === true);
  const all = RECOVER_FLAGS.map((f) => f.flag).join(', ');
  if (given.length === 0) throw new CliFailure(`nimbus: recover needs one of ${all}`);
  if (given.length > 1)
    throw new CliFailure(
      `nimbus: recover takes one operation, got ${given.map((f) => f.flag).join(' and ')}`,
    );
  return given[0]!.op;
}

export interface MigrateFlags {
  readonly live?: boolean;
  readonly poweroff?: boolean;
  readonly poweroffHard?: boolean;
}

/** How `migrate` moves the VM: live, through a (hard) poweroff, or saved (neither). */
export function migrationMode(opts: MigrateFlags): { live?: true; poweroff?: 'soft' | 'hard' } {
  if (opts.poweroff === true && opts.poweroffHard === true)
    throw new CliFailure('nimbus: give --poweroff or --poweroff-hard, not both');
  const poweroff = opts.poweroff === true ? 'soft' : opts.poweroffHard === true ? 'hard' : undefined;
  if (opts.live === true && poweroff !== undefined)
    throw new CliFailure(
      `nimbus: --live and --poweroff${poweroff === 'hard' ? '-hard' : ''} exclude each other`,
    );
  return {
    ...(opts.live === true ? { live: true as const } : {}),
    ...(poweroff !== undefined ? { poweroff } : {}),
  };
}

export interface ResizeFlags {
  readonly cpu?: string;
  readonly vcpu?: string;
  readonly memory?: string;
  readonly enforce?: boolean;
}

/** The body of `POST /vms/:id/resize`: CPU (> 0), VCPU (whole, >= 1), MEMORY (MB), enforce. */
export function resizeBody(opts: ResizeFlags): {
  CPU?: number;
  VCPU?: number;
  MEMORY?: number;
  enforce?: true;
} {
  if (opts.cpu === undefined && opts.vcpu === undefined && opts.memory === undefined)
    throw new CliFailure('nimbus: resize needs --cpu, --vcpu or --memory');
  const body: { CPU?: number; VCPU?: number; MEMORY?: number; enforce?: true } = {};
  if (opts.cpu !== undefined) {
    const cpu = /^\d+(\.\d+)?$/.test(opts.cpu) ? Number(opts.cpu) : NaN;
    if (!(cpu > 0)) throw new CliFailure(`nimbus: --cpu: "${opts.cpu}" is not a number > 0 (e.g. 0.5, 2)`);
    body.CPU = cpu;
  }
  if (opts.vcpu !== undefined) body.VCPU = integerArgument(opts.vcpu, '--vcpu', 1);
  if (opts.memory !== undefined) body.MEMORY = sizeArgument(opts.memory, '--memory');
  if (opts.enforce === true) body.enforce = true;
  return body;
}

/** QEMU's cache modes, the values OpenNebula's DISK/CACHE takes. */
export const DISK_CACHE_MODES = [
  'default',
  'none',
  'writethrough',
  'writeback',
  'directsync',
  'unsafe',
] as const;

export interface DiskAttachFlags {
  readonly image?: string;
  readonly target?: string;
  readonly cache?: string;
  readonly file?: string;
}

/** What disk-attach attaches: an image (by ref, with TARGET / CACHE) or a `DISK = [...]` file. */
export type DiskAttachSource =
  | { readonly kind: 'file'; readonly file: string }
  | { readonly kind: 'image'; readonly image: string; readonly target?: string; readonly cache?: string };

export function diskAttachSource(opts: DiskAttachFlags): DiskAttachSource {
  if (opts.file !== undefined) {
    if (opts.image !== undefined || opts.target !== undefined || opts.cache !== undefined)
      throw new CliFailure('nimbus: give --file, or --image with --target/--cache, not both');
    return { kind: 'file', file: opts.file };
  }
  if (opts.image === undefined)
    throw new CliFailure('nimbus: disk-attach needs --image IMAGE or --file FILE');
  if (opts.cache !== undefined && !(DISK_CACHE_MODES as readonly string[]).includes(opts.cache))
    throw new CliFailure(`nimbus: --cache: "${opts.cache}" is not one of ${DISK_CACHE_MODES.join(', ')}`);
  if (opts.target !== undefined && !/^[a-z]+$/.test(opts.target))
    throw new CliFailure(`nimbus: --target: "${opts.target}" is not a device name like vdb or sdc`);
  return {
    kind: 'image',
    image: opts.image,
    ...(opts.target !== undefined ? { target: opts.target } : {}),
    ...(opts.cache !== undefined ? { cache: opts.cache } : {}),
  };
}

/** `DISK = [ IMAGE_ID = "7", TARGET = "vdb" ]` for an image already resolved to its id. */
export function diskTemplate(imageId: number, source: { target?: string; cache?: string }): string {
  const disk: Record<string, string> = { IMAGE_ID: String(imageId) };
  if (source.target !== undefined) disk.TARGET = source.target;
  if (source.cache !== undefined) disk.CACHE = source.cache;
  return serializeTemplate({ DISK: [disk] });
}

export interface NicAttachFlags {
  readonly network?: string;
  readonly ip?: string;
  readonly file?: string;
}

/** What nic-attach attaches: a virtual network (by ref, optionally one IPv4) or a `NIC = [...]` file. */
export type NicAttachSource =
  | { readonly kind: 'file'; readonly file: string }
  | { readonly kind: 'network'; readonly network: string; readonly ip?: string };

export function nicAttachSource(opts: NicAttachFlags): NicAttachSource {
  if (opts.file !== undefined) {
    if (opts.network !== undefined || opts.ip !== undefined)
      throw new CliFailure('nimbus: give --file, or --network with --ip, not both');
    return { kind: 'file', file: opts.file };
  }
  if (opts.network === undefined)
    throw new CliFailure('nimbus: nic-attach needs --network NETWORK or --file FILE');
  if (opts.ip !== undefined && isIP(opts.ip) !== 4)
    throw new CliFailure(`nimbus: --ip: "${opts.ip}" is not an IPv4 address`);
  return { kind: 'network', network: opts.network, ...(opts.ip !== undefined ? { ip: opts.ip } : {}) };
}

/** `NIC = [ IP = "10.0.0.5", NETWORK_ID = "2" ]` for a network already resolved to its id. */
export function nicTemplate(networkId: number, source: { ip?: string }): string {
  const nic: Record<string, string> = { NETWORK_ID: String(networkId) };
  if (source.ip !== undefined) nic.IP = source.ip;
  return serializeTemplate({ NIC: [nic] });
}
