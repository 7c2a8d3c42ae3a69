/**
 * The agent's record of operations, so every operation runs at most once per id: a re-sent
 * operation that is still running joins the run, a finished one is answered from the record.
 * The controller re-sends whatever it has no result for after a crash or a reconnect.
 *
 * Also the agent's JSON state file: written atomically (temp file, fsync, rename) and batched,
 * so operations that finish together cost one write.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fail, ok, type Result } from '../domain/errors.js';

// ---- the atomic JSON state file --------------------------------------------------------------

/**
 * A JSON file that always holds a complete snapshot: readers (a restarted agent) see either the
 * previous or the new content, never a torn write.
 */
export class JsonStateFile {
  private pending: Promise<void> | undefined;
  private writing: Promise<void> = Promise.resolve();
  private dirty = false;

  /** `snapshot` is called when the write happens, so it sees every change made until then. */
  constructor(
    readonly path: string,
    private readonly snapshot: () => unknown,
    /** fsync before the rename (default). Off for simulated hosts: a process crash loses nothing. */
    private readonly durable = true,
  ) {}

  /** The parsed content, or undefined when the file does not exist yet. */
  static async read(path: string): Promise<unknown> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    return JSON.parse(text) as unknown;
  }

  /**
   * Resolves once a snapshot taken after this call is on disk. Calls made while a write is being
   * scheduled share it; calls made during a write share the next one.
   */
  save(): Promise<void> {
    this.dirty = true;
    if (this.pending !== undefined) return this.pending;
    // A failed write fails its callers only; the next save tries again.
    this.pending = this.writing
      .catch(() => undefined)
      .then(
        () =>
          new Promise<void>((resolve, reject) => {
            // One macrotask of grace so operations finishing in the same tick batch into one write.
            setImmediate(() => {
              this.pending = undefined;
              this.dirty = false;
              this.writing = writeJsonAtomic(this.path, this.snapshot(), this.durable);
              this.writing.then(resolve, reject);
            });
          }),
      );
    return this.pending;
  }

  /** Waits for every scheduled write. */
  async flush(): Promise<void> {
    while (this.pending !== undefined || this.dirty) await (this.pending ?? this.save());
    await this.writing;
  }
}

/** Writes `value` as JSON to `path` atomically: a temp file in the same directory, fsync, rename. */
export async function writeJsonAtomic(path: string, value: unknown, durable = true): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const file = await open(temp, 'w', 0o600);
  try {
    await file.writeFile(JSON.stringify(value));
    if (durable) await file.sync();
  } finally {
    await file.close();
  }
  try {
    await rename(temp, path);
  } catch (e) {
    await rm(temp, { force: true });
    throw e;
  }
}

// ---- the operation record --------------------------------------------------------------------

export type OperationState = 'running' | 'done';

export interface OperationEntry<T> {
  readonly state: OperationState;
  /** What the operation is (`vmm deploy vm 42`): a re-sent id must describe the same operation. */
  readonly description: string;
  /** Set when done. */
  readonly result?: T;
}

export interface RunOnceAnswer<T> {
  readonly result: T;
  /** Answered from the record or by joining a run already in flight. */
  readonly replayed: boolean;
}

export interface OperationRecordOptions {
  /** Finished operations kept (oldest forgotten first); running ones are never dropped. */
  readonly capacity?: number;
  /** fsync each write of the record file (default true). */
  readonly durable?: boolean;
  /** Keep the record in this JSON file, so a restarted agent answers from it. */
  readonly file?: string;
}

interface StoredRecord<T> {
  readonly version: 1;
  /** Finished operations, oldest first. */
  readonly done: readonly { readonly opId: string; readonly description: string; readonly result: T }[];
}

export const DEFAULT_OPERATION_RECORD_CAPACITY = 10_000;

/**
 * A bounded map opId -> running | done(result). Results must be JSON values when persisted.
 * An operation interrupted by a crash is not in the file (only finished ones are): the re-sent
 * operation runs again, which is why drivers treat deploy of a running VM and shutdown of a gone
 * VM as success.
 */
export class OperationRecord<T> {
  private readonly running = new Map<string, { description: string; promise: Promise<T> }>();
  /** Insertion order = age, for eviction. */
  private readonly done = new Map<string, { description: string; result: T }>();
  private readonly file: JsonStateFile | undefined;
  readonly capacity: number;

  private constructor(options: OperationRecordOptions) {
    this.capacity = Math.max(1, options.capacity ?? DEFAULT_OPERATION_RECORD_CAPACITY);
    this.file =
      options.file === undefined
        ? undefined
        : new JsonStateFile(
            options.file,
            (): StoredRecord<T> => ({
              version: 1,
              done: [...this.done].map(([opId, e]) => ({
                opId,
                description: e.description,
                result: e.result,
              })),
            }),
            options.durable ?? true,
          );
  }

  /** A record, loaded from `options.file` when it exists. */
  static async open<T>(options: OperationRecordOptions = {}): Promise<OperationRecord<T>> {
    const record = new OperationRecord<T>(options);
    if (options.file !== undefined) {
      const stored = (await JsonStateFile.read(options.file)) as StoredRecord<T> | undefined;
      if (stored !== undefined) {
        if (stored.version !== 1 || !Array.isArray(stored.done)) {
          throw new Error(
            `operation record ${options.file}: unknown format (version ${String(stored.version)})`,
          );
        }
        for (const e of stored.done) record.remember(e.opId, e.description, e.result);
      }
    }
    return record;
  }

  get(opId: string): OperationEntry<T> | undefined {
    const run = this.running.get(opId);
    if (run !== undefined) return { state: 'running', description: run.description };
    const done = this.done.get(opId);
    return done === undefined
      ? undefined
      : { state: 'done', description: done.description, result: done.result };
  }

  get size(): { readonly running: number; readonly done: number } {
    return { running: this.running.size, done: this.done.size };
  }

  /**
   * Runs `run` once for `opId`. The answer is given after the result is recorded (on disk when
   * persisted). If `run` throws, nothing is recorded and every caller gets the exception: that is
   * an agent fault, not a driver result, and the re-sent operation tries again.
   */
  async runOnce(opId: string, description: string, run: () => Promise<T>): Promise<Result<RunOnceAnswer<T>>> {
    const existing = this.running.get(opId) ?? this.done.get(opId);
    if (existing !== undefined && existing.description !== description) {
      return fail(
        'OPERATION_ID_REUSED',
        `operation ${opId} was "${existing.description}", now sent as "${description}"; operation ids are never reused`,
        'opId',
      );
    }
    const done = this.done.get(opId);
    if (done !== undefined) return ok({ result: done.result, replayed: true });
    const inFlight = this.running.get(opId);
    if (inFlight !== undefined) return ok({ result: await inFlight.promise, replayed: true });

    const promise = (async (): Promise<T> => {
      try {
        const result = await run();
        this.remember(opId, description, result);
        await this.file?.save();
        return result;
      } finally {
        this.running.delete(opId);
      }
    })();
    this.running.set(opId, { description, promise });
    return ok({ result: await promise, replayed: false });
  }

  /** Waits for pending writes of the record file. */
  async flush(): Promise<void> {
    await this.file?.flush();
  }

  private remember(opId: string, description: string, result: T): void {
    this.done.delete(opId);
    this.done.set(opId, { description, result });
    while (this.done.size > this.capacity) {
      const oldest = this.done.keys().next().value as string;
      this.done.delete(oldest);
    }
  }
}
