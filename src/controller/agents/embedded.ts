/**
 * Agents that run inside nimbusd: the local machine (host 0) and every host created with the
 * `dummy` drivers. Each is a real `AgentRuntime` with its own state directory, talking to the hub
 * over an in-memory link of the same protocol — no process, so thousands can exist.
 */
import { join } from 'node:path';
import { AgentRuntime } from '../../agent/runtime.js';
import { memoryLinkPair } from '../../agent/link/memory.js';
import type { HostRecord } from '../../domain/host/record.js';
import type { ControllerContext } from '../context.js';
import { driverForVmMad, type AgentHub } from './hub.js';

export interface EmbeddedOptions {
  /** Validate every in-memory message against the protocol schemas (default true). */
  readonly validate?: boolean;
}

export class EmbeddedAgents {
  readonly #runtimes = new Map<number, AgentRuntime>();

  constructor(
    private readonly ctx: ControllerContext,
    private readonly hub: AgentHub,
    private readonly options: EmbeddedOptions = {},
  ) {}

  /**
   * Hosts whose agent runs in this process: the local machine and `dummy` hosts — unless the
   * host's template says `AGENT = "remote"`: then a separate `nimbus-agent` joins with a token
   * (how the protocol is tested end to end with the dummy driver).
   */
  isEmbedded(
    host: Pick<HostRecord, 'id' | 'vmMad'> & { readonly template?: HostRecord['template'] },
  ): boolean {
    const remote = String(host.template?.['AGENT']?.[0] ?? '').toLowerCase() === 'remote';
    if (remote) return false;
    return host.vmMad === 'dummy' || (host.id === 0 && this.ctx.config.localHost !== 'none');
  }

  get size(): number {
    return this.#runtimes.size;
  }

  /** Starts the agents of every embedded host and stops those of hosts that are gone; returns the hosts read. */
  async sync(): Promise<readonly HostRecord[]> {
    const hosts = (await this.ctx.store.hosts.list(undefined, { limit: 1_000_000 })).items;
    const wanted = new Set<number>();
    for (const host of hosts) {
      if (!this.isEmbedded(host)) continue;
      wanted.add(host.id);
      if (!this.#runtimes.has(host.id)) this.start(host);
    }
    for (const id of [...this.#runtimes.keys()]) if (!wanted.has(id)) await this.stop(id);
    return hosts;
  }

  start(host: Pick<HostRecord, 'id' | 'vmMad'>): void {
    if (this.#runtimes.has(host.id)) return;
    const hostId = host.id;
    const driverName = driverForVmMad(host.vmMad) === 'qemu' ? 'dummy' : driverForVmMad(host.vmMad);
    const runtime = new AgentRuntime({
      hostId,
      credential: { kind: 'host-key', key: 'embedded-in-nimbusd' },
      driverName,
      stateDir: join(this.ctx.config.home, 'hosts', String(hostId)),
      connect: () => {
        const pair = memoryLinkPair(`host-${hostId}`, { validate: this.options.validate ?? true });
        this.hub.accept(pair.controller, { hostId });
        return Promise.resolve(pair.agent);
      },
      backoff: { initialMs: 100, maxMs: 5_000 },
      // The controller has at most a few operations per VM in flight; a process crash loses no
      // page-cache write, and these hosts exist only inside this process.
      records: { capacity: 1_000, durable: driverName !== 'dummy' },
      log: {
        info: () => undefined,
        debug: () => undefined,
        warn: (obj: object, msg?: string) =>
          this.ctx.log.warn({ ...obj, host: hostId }, msg ?? 'embedded agent'),
        error: (obj: object, msg?: string) =>
          this.ctx.log.error({ ...obj, host: hostId }, msg ?? 'embedded agent'),
      },
    });
    this.#runtimes.set(hostId, runtime);
    runtime
      .start()
      .catch((e: unknown) => this.ctx.log.error({ err: e, host: hostId }, 'embedded agent did not start'));
  }

  /**
   * Brings one host's agent in line with its record: started if the host is embedded, stopped if
   * not (deleted, or AGENT = "remote"), restarted when it runs so it reads the template again
   * (DUMMY_* knobs, CPU, MEMORY).
   */
  async refresh(hostId: number): Promise<void> {
    await this.stop(hostId);
    const host = await this.ctx.store.hosts.find(hostId);
    if (host !== undefined && this.isEmbedded(host)) this.start(host);
  }

  runtime(hostId: number): AgentRuntime | undefined {
    return this.#runtimes.get(hostId);
  }

  async stop(hostId: number): Promise<void> {
    const runtime = this.#runtimes.get(hostId);
    if (runtime === undefined) return;
    this.#runtimes.delete(hostId);
    await runtime.stop();
  }

  async close(): Promise<void> {
    await Promise.all([...this.#runtimes.keys()].map((id) => this.stop(id)));
  }
}
