/**
 * An in-memory controller ⇄ agent link: the embedded agent and the `dummy` hosts simulated inside
 * nimbusd talk over it. It behaves like the WebSocket link (asynchronous, in order, closed once
 * for both ends) so code tested over it behaves the same over a socket.
 */
import { NimbusError } from '../../domain/errors.js';
import {
  MAX_FRAME_BYTES,
  decodeAgentMessage,
  encodeAgentMessage,
  type AgentMessage,
} from '../../protocol/agent.js';
import type { AgentLinkEnd } from '../../protocol/link.js';

export interface MemoryLinkOptions {
  /**
   * Encode every message and decode it on the receiving side, exactly as a socket would
   * (default true). `false` hands the object over as is: for thousands of simulated hosts,
   * where the sender is trusted code of the same process.
   */
  readonly validate?: boolean;
}

type Side = 'controller' | 'agent';
type InvalidFrame = { readonly code: string; readonly message: string };

/** One end; the pair shares the closed flag so a close is seen by both at once. */
class MemoryLinkEnd implements AgentLinkEnd {
  other!: MemoryLinkEnd;
  private readonly messageHandlers: ((message: AgentMessage) => void)[] = [];
  private readonly invalidHandlers: ((error: InvalidFrame) => void)[] = [];
  private readonly closeHandlers: ((reason: string) => void)[] = [];
  /** Received before any onMessage handler was registered; delivered to the first one, in order. */
  private held: AgentMessage[] = [];
  private deliveringHeld = false;
  private closeReason: string | undefined;
  /** This end called close: what was still in flight towards it is dropped, as on a socket. */
  private closedHere = false;
  private closeHandlersRan = false;

  constructor(
    readonly side: Side,
    readonly peer: string,
    private readonly validate: boolean,
  ) {}

  get closed(): boolean {
    return this.closeReason !== undefined;
  }

  send(message: AgentMessage): void {
    if (this.closed) return;
    const receiver = this.other;
    if (!this.validate) {
      queueMicrotask(() => receiver.receive(message));
      return;
    }
    // Encoded now, so a sender changing the object afterwards does not change what was sent.
    const frame = encodeAgentMessage(message);
    const bytes = Buffer.byteLength(frame);
    if (bytes > MAX_FRAME_BYTES) {
      throw new NimbusError(
        'FRAME_TOO_LARGE',
        `${message.type} message of ${bytes} bytes exceeds the ${MAX_FRAME_BYTES}-byte frame limit`,
      );
    }
    const from = this.side;
    queueMicrotask(() => {
      const decoded = decodeAgentMessage(frame, from);
      if (decoded.ok) receiver.receive(decoded.value);
      else receiver.invalid(decoded.error);
    });
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closeReason = reason;
    this.closedHere = true;
    this.other.closeReason = reason;
    // Queued after the messages already in flight, as a socket delivers data before its close.
    queueMicrotask(() => {
      this.runClose(reason);
      this.other.runClose(reason);
    });
  }

  onMessage(handler: (message: AgentMessage) => void): void {
    this.messageHandlers.push(handler);
    if (this.held.length === 0 || this.deliveringHeld) return;
    this.deliveringHeld = true;
    queueMicrotask(() => {
      // Messages arriving meanwhile join `held`, so order is kept.
      for (let i = 0; i < this.held.length; i++) this.dispatch(this.held[i]!);
      this.held = [];
      this.deliveringHeld = false;
    });
  }

  onInvalid(handler: (error: InvalidFrame) => void): void {
    this.invalidHandlers.push(handler);
  }

  onClose(handler: (reason: string) => void): void {
    const reason = this.closeReason;
    if (this.closeHandlersRan && reason !== undefined) queueMicrotask(() => handler(reason));
    else this.closeHandlers.push(handler);
  }

  private receive(message: AgentMessage): void {
    if (this.closedHere) return;
    if (this.messageHandlers.length === 0 || this.deliveringHeld) this.held.push(message);
    else this.dispatch(message);
  }

  private dispatch(message: AgentMessage): void {
    for (const handler of this.messageHandlers) handler(message);
  }

  private invalid(error: InvalidFrame): void {
    if (this.closedHere) return;
    for (const handler of this.invalidHandlers) handler({ code: error.code, message: error.message });
  }

  private runClose(reason: string): void {
    this.closeHandlersRan = true;
    const handlers = this.closeHandlers.splice(0);
    for (const handler of handlers) handler(reason);
  }
}

/**
 * Two connected ends: `controller` receives what `agent` sends and the other way round. Messages
 * arrive asynchronously and in order; `close` on either end closes both, and every `onClose`
 * handler runs once with the reason.
 */
export function memoryLinkPair(
  name: string,
  options: MemoryLinkOptions = {},
): { readonly controller: AgentLinkEnd; readonly agent: AgentLinkEnd } {
  const validate = options.validate ?? true;
  const peer = `memory:${name}`;
  const controller = new MemoryLinkEnd('controller', peer, validate);
  const agent = new MemoryLinkEnd('agent', peer, validate);
  controller.other = agent;
  agent.other = controller;
  return { controller, agent };
}
