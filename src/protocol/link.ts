/**
 * One end of a controller ⇄ agent connection, whatever carries it: a WebSocket (remote agents) or
 * an in-memory pair (the embedded agent and the `dummy` hosts simulated inside nimbusd). Both
 * carry the same messages of `agent.ts`; every received frame is decoded with
 * `decodeAgentMessage` before a handler sees it, so a handler only ever gets valid messages.
 */
import type { AgentMessage } from './agent.js';

export interface AgentLinkEnd {
  /** Sends one message; a message sent on a closed link is dropped (the re-send rules cover it). */
  send(message: AgentMessage): void;
  /** Closes the link; both ends' `onClose` handlers run once with the reason. */
  close(reason: string): void;
  readonly closed: boolean;
  /** Where the other end is, for logs: `ws://127.0.0.1:40112`, `memory:host-12`. */
  readonly peer: string;
  /** Every valid message received, in order. */
  onMessage(handler: (message: AgentMessage) => void): void;
  /**
   * A frame that failed to decode: the field and reason. The controller answers a refusal
   * BAD_MESSAGE; the agent logs it. The link stays open unless the handler closes it.
   */
  onInvalid(handler: (error: { readonly code: string; readonly message: string }) => void): void;
  onClose(handler: (reason: string) => void): void;
}
