/**
 * The image copy engine: everything that moves image bytes on the front-end (what OpenNebula's
 * `fs` DS driver does with `cp`, `mkfs`, `clone` and `rm`). Streams are never buffered whole:
 * bytes are hashed (MD5, SHA-256) while they are written, all-zero blocks become holes so sparse
 * images stay sparse, and every copy can be cancelled through its AbortSignal. qemu-img runs
 * through execFile with an argv array, never a shell.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readlink, realpath, rm, type FileHandle } from 'node:fs/promises';
import { promisify } from 'node:util';
import { isWithin, joinPath, normalizeAbsolutePath } from '../domain/datastore/paths.js';
import { NimbusError } from '../domain/errors.js';

const execFileAsync = promisify(execFile);

export const MIB = 1024 * 1024;

/** SIZE in MB as OpenNebula keeps it: whole MB, rounded up. */
export function bytesToMb(bytes: number): number {
  return Math.ceil(Math.max(0, bytes) / MIB);
}

/** The copy was cancelled (the image was deleted while LOCKED). */
export class CopyCancelled extends Error {
  constructor() {
    super('the copy was cancelled');
    this.name = 'CopyCancelled';
  }
}

// -------------------------------------------------------------------------------------------------
// Running copies: progress and cancellation

export interface CopyProgress {
  readonly bytes: number;
  /** Expected bytes; 0 when unknown (an upload without a length). */
  readonly total: number;
}

/** What a running copy sees of its job. */
export interface CopyJob {
  readonly signal: AbortSignal;
  report(bytes: number): void;
  setTotal(total: number): void;
}

interface Job {
  readonly controller: AbortController;
  progress: { bytes: number; total: number };
  /** Settles (never rejects) when the work has ended. */
  done: Promise<void>;
}

/** The copies in progress, by image id, kept in memory (progress is not worth a write per MB). */
export class CopyJobs {
  readonly #jobs = new Map<number, Job>();

  /** Runs `work` as the copy of `imageId`; progress and cancel apply until it settles. */
  run<T>(imageId: number, total: number, work: (job: CopyJob) => Promise<T>): Promise<T> {
    if (this.#jobs.has(imageId)) {
      return Promise.reject(new NimbusError('IMAGE_STATE', `image ${imageId} already has a copy running`));
    }
    const controller = new AbortController();
    const entry: Job = { controller, progress: { bytes: 0, total }, done: Promise.resolve() };
    const job: CopyJob = {
      signal: controller.signal,
      report: (bytes) => void (entry.progress.bytes = bytes),
      setTotal: (t) => void (entry.progress.total = t),
    };
    this.#jobs.set(imageId, entry);
    const result = (async () => {
      try {
        return await work(job);
      } finally {
        this.#jobs.delete(imageId);
      }
    })();
    entry.done = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  progress(imageId: number): CopyProgress | undefined {
    const job = this.#jobs.get(imageId);
    return job === undefined ? undefined : { ...job.progress };
  }

  /** Aborts the copy of `imageId` and waits until its work has cleaned up; false if none ran. */
  async cancel(imageId: number): Promise<boolean> {
    const job = this.#jobs.get(imageId);
    if (job === undefined) return false;
    job.controller.abort();
    await job.done;
    return true;
  }

  /** Waits for every running copy to end (shutdown, tests). */
  async drain(): Promise<void> {
    await Promise.all([...this.#jobs.values()].map((j) => j.done));
  }
}

// -------------------------------------------------------------------------------------------------
// Writing an image file

export interface ImageHashes {
  readonly md5: string;
  readonly sha256: string;
  /** Only when asked for (the template carries a SHA1 to verify). */
  readonly sha1?: string;
}

export interface WrittenFile extends ImageHashes {
  readonly bytes: number;
}

export interface WriteOptions {
  readonly signal: AbortSignal;
  /** Refuse more bytes than this with PAYLOAD_TOO_LARGE. */
  readonly maxBytes?: number;
  readonly sha1?: boolean;
  onProgress?(bytes: number): void;
}

const ZEROS = Buffer.alloc(MIB);

function isAllZero(chunk: Buffer): boolean {
  for (let offset = 0; offset < chunk.length; offset += ZEROS.length) {
    const part = chunk.subarray(offset, offset + ZEROS.length);
    if (!part.equals(ZEROS.subarray(0, part.length))) return false;
  }
  return true;
}

/**
 * Writes `source` into the new file `target` (which must not exist), hashing every byte.
 * All-zero chunks are skipped (holes) and the file is extended to its full length at the end.
 * On any failure, cancellation included, the partial file is removed.
 */
export async function writeImageFile(
  source: AsyncIterable<Uint8Array>,
  target: string,
  options: WriteOptions,
): Promise<WrittenFile> {
  if (options.signal.aborted) throw new CopyCancelled();
  const hashes: [string, Hash][] = [
    ['md5', createHash('md5')],
    ['sha256', createHash('sha256')],
  ];
  if (options.sha1 === true) hashes.push(['sha1', createHash('sha1')]);
  const file = await open(target, 'wx', 0o640);
  let bytes = 0;
  const chunks = source[Symbol.asyncIterator]();
  // A cancel must not wait for a stalled sender: the pending read loses the race.
  let onAbort = (): void => undefined;
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(new CopyCancelled());
    options.signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  try {
    for (;;) {
      const next = await Promise.race([chunks.next(), aborted]);
      if (next.done === true) break;
      const data = next.value;
      const chunk = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      if (options.maxBytes !== undefined && bytes + chunk.length > options.maxBytes) {
        throw new NimbusError(
          'PAYLOAD_TOO_LARGE',
          `the image is larger than the upload limit of ${options.maxBytes} bytes (maxUploadBytes)`,
        );
      }
      for (const [, hash] of hashes) hash.update(chunk);
      if (!isAllZero(chunk)) await writeFully(file, chunk, bytes);
      bytes += chunk.length;
      options.onProgress?.(bytes);
    }
    if (options.signal.aborted) throw new CopyCancelled();
    await file.truncate(bytes);
    await file.datasync();
    await file.close();
  } catch (error) {
    // Stop the source (a stream is destroyed); not awaited, a stalled generator may never answer.
    void chunks.return?.().catch(() => undefined);
    await file.close().catch(() => undefined);
    await rm(target, { force: true });
    throw error;
  } finally {
    options.signal.removeEventListener('abort', onAbort);
  }
  const digest = Object.fromEntries(hashes.map(([name, hash]) => [name, hash.digest('hex')]));
  return { bytes, md5: digest.md5!, sha256: digest.sha256!, ...(digest.sha1 ? { sha1: digest.sha1 } : {}) };
}

async function writeFully(file: FileHandle, chunk: Buffer, position: number): Promise<void> {
  let written = 0;
  while (written < chunk.length) {
    const { bytesWritten } = await file.write(chunk, written, chunk.length - written, position + written);
    written += bytesWritten;
  }
}

// -------------------------------------------------------------------------------------------------
// Local sources

/** `realpath(PATH)` with messages that name the problem; symbolic links resolved. */
export async function resolveLocalPath(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch (error) {
    throw localPathError(path, error);
  }
}

export interface OpenedSource {
  readonly handle: FileHandle;
  /** The file actually opened (from /proc/self/fd), for a last SAFE_DIRS check. */
  readonly openedPath: string;
  readonly size: number;
}

/**
 * Opens a resolved local PATH for reading: no symbolic link as the last component, no blocking
 * on a FIFO, regular files only. The caller checks `openedPath` once more, so a directory
 * swapped for a link between the check and the open is still caught.
 */
export async function openLocalImage(path: string): Promise<OpenedSource> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    throw localPathError(path, error);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) {
      throw new NimbusError('PATH_INVALID', `PATH ${path} is not a regular file`, 'PATH');
    }
    let openedPath = path;
    try {
      openedPath = await readlink(`/proc/self/fd/${handle.fd}`);
    } catch {
      // no /proc: the realpath'd PATH is the best we know
    }
    return { handle, openedPath, size: stats.size };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

function localPathError(path: string, error: unknown): NimbusError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new NimbusError('PATH_NOT_FOUND', `PATH ${path} does not exist`, 'PATH');
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new NimbusError(
      'PATH_UNREADABLE',
      `PATH ${path} cannot be read by nimbusd (permission denied)`,
      'PATH',
    );
  }
  if (code === 'ELOOP') {
    return new NimbusError(
      'PATH_RESTRICTED',
      `PATH ${path} changed into a symbolic link while it was checked`,
      'PATH',
    );
  }
  return new NimbusError('PATH_INVALID', `PATH ${path}: ${(error as Error).message}`, 'PATH');
}

// -------------------------------------------------------------------------------------------------
// Datastore files

/** A new SOURCE in the datastore: `<BASE_PATH>/<32 hex>`; the directory is created if needed. */
export async function newSourcePath(basePath: string): Promise<string> {
  await mkdir(basePath, { recursive: true, mode: 0o750 });
  return joinPath(basePath, randomBytes(16).toString('hex'));
}

/** Removes a file this engine was writing (a failed or cancelled copy); absent is fine. */
export async function discardFile(path: string): Promise<void> {
  await rm(path, { force: true });
}

/**
 * Removes an image file, but only inside its datastore: a SOURCE that oneadmin registered from
 * elsewhere is left alone. False when the file was not ours to remove.
 */
export async function removeImageFile(basePath: string, source: string): Promise<boolean> {
  const file = normalizeAbsolutePath(source);
  const base = normalizeAbsolutePath(basePath);
  if (file === undefined || base === undefined || file === base || !isWithin(file, base)) return false;
  await rm(file, { force: true });
  return true;
}

// -------------------------------------------------------------------------------------------------
// qemu-img

export type DiskFormat = 'raw' | 'qcow2';

function qemuImgError(what: string, error: unknown, signal?: AbortSignal): Error {
  if (signal?.aborted === true) return new CopyCancelled();
  const e = error as NodeJS.ErrnoException & { stderr?: string };
  if (e.code === 'ENOENT') {
    return new NimbusError('QEMU_IMG_MISSING', 'qemu-img is not installed (Debian package qemu-utils)');
  }
  const detail = (e.stderr ?? '').trim().split('\n').pop() || e.message;
  return new NimbusError('QEMU_IMG_FAILED', `${what}: ${detail}`);
}

/** An empty disk: `qemu-img create -f FORMAT FILE SIZEM`. */
export async function createEmptyDisk(
  target: string,
  format: DiskFormat,
  sizeMb: number,
  signal: AbortSignal,
): Promise<void> {
  try {
    await execFileAsync('qemu-img', ['create', '-q', '-f', format, target, `${sizeMb}M`], {
      signal,
      timeout: 120_000,
    });
  } catch (error) {
    await rm(target, { force: true });
    throw qemuImgError('qemu-img create failed', error, signal);
  }
}

export interface ImageProbe {
  readonly format: string;
  readonly virtualSize: number;
  /** A backing file or an external data file: a way to read host files through the image. */
  readonly externalFile: string | null;
}

/** `qemu-img info --output=json FILE` (backing files are not opened). */
export async function probeImage(file: string, signal?: AbortSignal): Promise<ImageProbe> {
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync('qemu-img', ['info', '--output=json', file], {
      ...(signal !== undefined ? { signal } : {}),
      timeout: 60_000,
      maxBuffer: MIB,
    }));
  } catch (error) {
    throw qemuImgError('qemu-img info failed', error, signal);
  }
  const info = JSON.parse(stdout) as {
    format?: string;
    'virtual-size'?: number;
    'backing-filename'?: string;
    'format-specific'?: { data?: { 'data-file'?: string } };
  };
  return {
    format: info.format ?? 'raw',
    virtualSize: info['virtual-size'] ?? 0,
    externalFile: info['backing-filename'] ?? info['format-specific']?.data?.['data-file'] ?? null,
  };
}
