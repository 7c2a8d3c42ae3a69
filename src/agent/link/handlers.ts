/**
 * What every `AgentLinkEnd` does the same way, whatever carries the frames: the handler lists,
 * messages held until the first `onMessage` handler, and close handlers that run once (also for
 * a handler registered after the close).
 */
import { NimbusError } from '../../domain/errors.js';
import { MAX_FRAME_BYTES, type AgentMessage } from '../../protocol/agent.js';
import type { AgentLinkEnd } from '../../protocol/link.js';

export type InvalidFrame = { readonly code: string; readonly message: string };

/** Throws when a frame does not fit: a sender's bug, not something to drop quietly. */
export function assertFrameFits(frame: string, type: string): void {
  const bytes = Buffer.byteLength(frame);
  if (bytes > MAX_FRAME_BYTES) {
    throw new NimbusError(
      'FRAME_TOO_LARGE',
      `${type} message of ${bytes} bytes exceeds the ${MAX_FRAME_BYTES}-byte frame limit`,
    );
  }
}

export abstract class LinkEndBase implements AgentLinkEnd {
  private readonly messageHandlers: ((message: AgentMessage) => void)[] = [];
  private readonly invalidHandlers: ((error: InvalidFrame) => void)[] = [];
  private readonly closeHandlers: ((reason: string) => void)[] = [];
  /** Received before any onMessage handler was registered; delivered to the first one, in order. */
  private held: AgentMessage[] = [];
  private deliveringHeld = false;
  private closeHandlersRan = false;
  protected closeReason: string | undefined;

  abstract readonly peer: string;
  abstract send(message: AgentMessage): void;
  abstract close(reason: string): void;

  get closed(): boolean {
    return this.closeReason !== undefined;
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

  /** A decoded message: to the handlers, or held until the first one. */
  protected deliver(message: AgentMessage): void {
    if (this.messageHandlers.length === 0 || this.deliveringHeld) this.held.push(message);
    else this.dispatch(message);
  }

  protected reportInvalid(error: InvalidFrame): void {
    for (const handler of this.invalidHandlers) handler({ code: error.code, message: error.message });
  }

  /** Runs the close handlers, once. */
  protected runClose(reason: string): void {
    this.closeHandlersRan = true;
    for (const handler of this.closeHandlers.splice(0)) handler(reason);
  }

  private dispatch(message: AgentMessage): void {
    for (const handler of this.messageHandlers) handler(message);
  }
}
