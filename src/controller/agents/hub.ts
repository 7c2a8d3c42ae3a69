/**
 * The controller's side of the agent links: the hello handshake (protocol version, host,
 * credential, driver), one live link per host, sending operations, and handing results and
 * monitoring to the lifecycle engine. Transport-agnostic: WebSocket links and in-memory links of
 * embedded hosts arrive here the same way.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  AGENT_PROTOCOL_VERSION,
  type AgentCapabilities,
  type Hello,
  type MonitorHost,
  type MonitorVms,
  type OperationResult,
  type Progress,
  type Refusal,
  type Welcome,
} from '../../protocol/agent.js';
import type { AgentLinkEnd } from '../../protocol/link.js';
import type { HostRecord } from '../../domain/host/record.js';
import type { Template } from '../../domain/template/types.js';
import type { ControllerContext } from '../context.js';

export interface HubEvents {
  connected(hostId: number, capabilities: AgentCapabilities): void | Promise<void>;
  disconnected(hostId: number, reason: string): void | Promise<void>;
  result(hostId: number, result: OperationResult): void | Promise<void>;
  progress(hostId: number, progress: Progress): void;
  monitorHost(hostId: number, message: MonitorHost): void | Promise<void>;
  monitorVms(hostId: number, message: MonitorVms): void | Promise<void>;
}

export interface HubIntervals {
  readonly monitorHostS: number;
  readonly monitorVmsS: number;
  readonly pingS: number;
}

/** Hosts created with `--vm kvm` run Nimbus's `qemu` driver. */
export function driverForVmMad(vmMad: string): string {
  return vmMad === 'kvm' ? 'qemu' : vmMad;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/** Host template attributes the agent gets in welcome (single values with a plain name). */
export function hostAttributes(template: Template): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, values] of Object.entries(template)) {
    const v = values[0];
    if (typeof v === 'string' && /^[A-Z0-9_]{1,64}$/.test(name) && v.length <= 4096) out[name] = v;
  }
  return out;
}

const HELLO_TIMEOUT_MS = 10_000;

interface LiveLink {
  readonly link: AgentLinkEnd;
  readonly capabilities: AgentCapabilities;
  missedPongs: number;
}

export class AgentHub {
  readonly #links = new Map<number, LiveLink>();
  #closed = false;
  readonly #pingTimer: NodeJS.Timeout;
  #pingSeq = 0;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly events: HubEvents,
    readonly intervals: HubIntervals,
  ) {
    this.#pingTimer = setInterval(() => this.#pingAll(), intervals.pingS * 1000);
    this.#pingTimer.unref();
  }

  connected(hostId: number): boolean {
    return this.#links.has(hostId);
  }

  capabilities(hostId: number): AgentCapabilities | undefined {
    return this.#links.get(hostId)?.capabilities;
  }

  get size(): number {
    return this.#links.size;
  }

  /** Sends an operation (or any controller message); false when the host has no live link. */
  send(hostId: number, message: Parameters<AgentLinkEnd['send']>[0]): boolean {
    const live = this.#links.get(hostId);
    if (live === undefined || live.link.closed) return false;
    live.link.send(message);
    return true;
  }

  /**
   * Takes a new link: waits for hello, checks it, answers welcome or a refusal. `trusted` is for
   * in-process links of embedded hosts (no credential to check).
   */
  accept(link: AgentLinkEnd, trusted?: { readonly hostId: number }): void {
    let hostId: number | undefined;
    const timer = setTimeout(() => {
      if (hostId === undefined) link.close('no hello within 10 s');
    }, HELLO_TIMEOUT_MS);
    timer.unref();

    link.onInvalid((error) => {
      this.ctx.log.warn({ peer: link.peer, host: hostId, error: error.message }, 'invalid agent message');
      link.send({ type: 'refusal', code: 'BAD_MESSAGE', message: error.message, retry: true });
    });
    link.onClose((reason) => {
      clearTimeout(timer);
      if (hostId !== undefined && this.#links.get(hostId)?.link === link) {
        this.#links.delete(hostId);
        void this.#safely(() => this.events.disconnected(hostId as number, reason));
      }
    });
    link.onMessage((message) => {
      if (message.type === 'hello') {
        if (hostId !== undefined) return; // one hello per link
        void this.#hello(link, message, trusted).then((id) => {
          clearTimeout(timer);
          hostId = id;
        });
        return;
      }
      if (hostId === undefined) {
        this.#refuse(link, { code: 'BAD_MESSAGE', message: `"${message.type}" before hello`, retry: true });
        return;
      }
      const id = hostId;
      switch (message.type) {
        case 'result':
          void this.#safely(() => this.events.result(id, message));
          break;
        case 'progress':
          this.events.progress(id, message);
          break;
        case 'monitor-host':
          void this.#safely(() => this.events.monitorHost(id, message));
          break;
        case 'monitor-vms':
          void this.#safely(() => this.events.monitorVms(id, message));
          break;
        case 'ping':
          link.send({ type: 'pong', seq: message.seq });
          break;
        case 'pong': {
          const live = this.#links.get(id);
          if (live !== undefined) live.missedPongs = 0;
          break;
        }
        default:
          break;
      }
    });
  }

  async #hello(
    link: AgentLinkEnd,
    hello: Hello,
    trusted?: { readonly hostId: number },
  ): Promise<number | undefined> {
    const refuse = (code: Refusal['code'], message: string, retry: boolean): undefined => {
      this.#refuse(link, { code, message, retry });
      return undefined;
    };
    if (hello.protocol !== AGENT_PROTOCOL_VERSION) {
      return refuse(
        'PROTOCOL_VERSION',
        `agent speaks protocol ${hello.protocol}, this nimbusd speaks ${AGENT_PROTOCOL_VERSION}; upgrade the agent`,
        false,
      );
    }
    if (trusted !== undefined && trusted.hostId !== hello.hostId) {
      return refuse('HOST_UNKNOWN', `this link belongs to host ${trusted.hostId}`, false);
    }
    const host = await this.ctx.store.hosts.find(hello.hostId);
    if (host === undefined) return refuse('HOST_UNKNOWN', `host ${hello.hostId} does not exist`, false);
    if (driverForVmMad(host.vmMad) !== hello.driver) {
      return refuse(
        'DRIVER_MISMATCH',
        `host ${host.id} "${host.name}" is VM_MAD ${host.vmMad}; the agent runs the ${hello.driver} driver`,
        false,
      );
    }
    let hostKey: string | undefined;
    if (trusted === undefined) {
      const checked = await this.#credential(host, hello);
      if (typeof checked === 'object') return refuse(checked.code, checked.message, false);
      hostKey = checked === '' ? undefined : checked;
    }
    const previous = this.#links.get(host.id);
    if (previous !== undefined && previous.link !== link) {
      // The newer link wins: the old one is most likely half-dead (a network cut the agent saw first).
      this.#links.delete(host.id);
      previous.link.close('replaced by a new connection of the same host');
      await this.#safely(() => this.events.disconnected(host.id, 'replaced'));
    }
    this.#links.set(host.id, { link, capabilities: hello.capabilities, missedPongs: 0 });
    const welcome: Welcome = {
      type: 'welcome',
      protocol: AGENT_PROTOCOL_VERSION,
      hostId: host.id,
      ...(hostKey !== undefined ? { hostKey } : {}),
      hostAttributes: hostAttributes(host.template),
      intervals: { ...this.intervals },
    };
    link.send(welcome);
    this.ctx.log.info({ host: host.id, peer: link.peer, driver: hello.driver }, 'agent connected');
    await this.#safely(() => this.events.connected(host.id, hello.capabilities));
    return host.id;
  }

  /** '' for a valid host key, the new key for a valid join token, or the refusal. */
  async #credential(
    host: HostRecord,
    hello: Hello,
  ): Promise<string | { code: Refusal['code']; message: string }> {
    const stored = await this.ctx.store.hostCredentials.get(host.id);
    const bad = { code: 'BAD_CREDENTIAL' as const, message: `credential refused for host ${host.id}` };
    if (stored === undefined) return bad;
    if (hello.credential.kind === 'host-key') {
      return stored.keyHash !== null && sameHash(stored.keyHash, sha256(hello.credential.key)) ? '' : bad;
    }
    const tokenHash = sha256(hello.credential.token);
    if (stored.tokenHash === null || !sameHash(stored.tokenHash, tokenHash)) {
      return {
        code: 'BAD_CREDENTIAL',
        message: `join token refused for host ${host.id}: it is wrong or was used already; create a new one with nimbus host token ${host.id}`,
      };
    }
    if (stored.tokenExpires !== null && stored.tokenExpires < Math.floor(this.ctx.now())) {
      return { code: 'BAD_CREDENTIAL', message: `join token of host ${host.id} expired` };
    }
    const key = randomBytes(32).toString('hex');
    const won = await this.ctx.store.hostCredentials.consumeToken(host.id, tokenHash, sha256(key));
    return won ? key : bad;
  }

  #refuse(link: AgentLinkEnd, refusal: Omit<Refusal, 'type'>): void {
    this.ctx.log.warn({ peer: link.peer, code: refusal.code, reason: refusal.message }, 'agent refused');
    link.send({ type: 'refusal', ...refusal });
    if (!refusal.retry || refusal.code !== 'BAD_MESSAGE')
      setTimeout(() => link.close(refusal.message), 50).unref();
  }

  #pingAll(): void {
    for (const [hostId, live] of this.#links) {
      if (live.missedPongs >= 3) {
        live.link.close(`host ${hostId}: 3 pings without pong`);
        continue;
      }
      live.missedPongs++;
      live.link.send({ type: 'ping', seq: this.#pingSeq++ });
    }
  }

  async #safely(work: () => void | Promise<void>): Promise<void> {
    try {
      await work();
    } catch (e) {
      if (!this.#closed) this.ctx.log.error({ err: e }, 'agent message handling failed');
    }
  }

  /** Closes every link (nimbusd stops; agents reconnect to the next one). */
  close(): void {
    this.#closed = true;
    clearInterval(this.#pingTimer);
    for (const live of this.#links.values()) live.link.close('nimbusd is stopping');
    this.#links.clear();
  }
}
