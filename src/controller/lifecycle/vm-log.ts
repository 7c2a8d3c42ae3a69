/**
 * `var/vms/<id>/vm.log`: the per-VM log in OpenNebula's line format (reference §10.1). Lines are
 * appended after the transaction that produced them commits, in order per VM. The file is the
 * record for people; the state is in the store.
 */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatLogLine, type LogEntry } from '../../domain/vm/log.js';

export class VmLogFiles {
  /** Per-VM chains, so lines of one VM land in order even when written from several steps. */
  readonly #tails = new Map<number, Promise<void>>();
  /** VM directories known to exist (no mkdir per line). */
  readonly #dirs = new Set<number>();

  constructor(
    /** The `vms` directory: HOME/vms. */
    readonly root: string,
    private readonly onError: (vmId: number, error: Error) => void = () => undefined,
    private readonly zone = 0,
  ) {}

  path(vmId: number): string {
    return join(this.root, String(vmId), 'vm.log');
  }

  /** Appends stamped lines; never throws (a full disk must not undo a committed state change). */
  append(vmId: number, lines: readonly LogEntry[], now: Date = new Date()): Promise<void> {
    if (lines.length === 0) return this.#tails.get(vmId) ?? Promise.resolve();
    const text = lines
      .map((l) =>
        formatLogLine(now, { zone: this.zone, module: l.module, level: l.level, message: l.message }),
      )
      .join('\n');
    const previous = this.#tails.get(vmId) ?? Promise.resolve();
    const next = previous
      .then(async () => {
        if (!this.#dirs.has(vmId)) {
          await mkdir(join(this.root, String(vmId)), { recursive: true });
          if (this.#dirs.size > 100_000) this.#dirs.clear();
          this.#dirs.add(vmId);
        }
        await appendFile(this.path(vmId), `${text}\n`, { mode: 0o640 });
      })
      .catch((e: unknown) => this.onError(vmId, e as Error));
    this.#tails.set(vmId, next);
    void next.then(() => {
      if (this.#tails.get(vmId) === next) this.#tails.delete(vmId);
    });
    return next;
  }

  /** The log text ('' when the VM has none yet); `lines` keeps the last N lines. */
  async read(vmId: number, lines?: number): Promise<string> {
    await (this.#tails.get(vmId) ?? Promise.resolve());
    let text: string;
    try {
      text = await readFile(this.path(vmId), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
      throw e;
    }
    if (lines === undefined) return text;
    const all = text.split('\n');
    if (all[all.length - 1] === '') all.pop();
    return all.slice(Math.max(0, all.length - lines)).join('\n') + (all.length > 0 ? '\n' : '');
  }

  /** Waits for every pending append. */
  async flush(): Promise<void> {
    await Promise.all([...this.#tails.values()]);
  }
}
