/**
 * An in-memory controller ⇄ agent link: the embedded agent and the `dummy` hosts simulated inside
 * nimbusd talk over it. It behaves like the WebSocket link (asynchronous, in order, closed once
 * for both ends) so code tested over it behaves the same over a socket.
 */
import { decodeAgentMessage, encodeAgentMessage, type AgentMessage } from '../../protocol/agent.js';
import type { AgentLinkEnd } from '../../protocol/link.js';
import { assertFrameFits, LinkEndBase, type InvalidFrame } from './handlers.js';

export interface MemoryLinkOptions {
  /**
   * Encode every message and decode it on the receiving side, exactly as a socket would
   * (default true). `false` hands the object over as is: for thousands of simulated hosts,
   * where the sender is trusted code of the same process.
   */
  readonly validate?: boolean;
}

type Side = 'controller' | 'agent';

/** One end; the pair shares the closed flag so a close is seen by both at once. */
class MemoryLinkEnd extends LinkEndBase {
  other!: MemoryLinkEnd;
  /** This end called close: what was still in flight towards it is dropped, as on a socket. */
  private closedHere = false;

  constructor(
    readonly side: Side,
    readonly peer: string,
    private readonly validate: boolean,
  ) {
    super();
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
    assertFrameFits(frame, message.type);
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

  private receive(message: AgentMessage): void {
    if (!this.closedHere) this.deliver(message);
  }

  private invalid(error: InvalidFrame): void {
    if (!this.closedHere) this.reportInvalid(error);
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
