/**
 * The controller ⇄ agent link over a WebSocket (`ws`): text JSON frames, one message each. The
 * agent dials (`dialController`); either side wraps its socket with `wrapWebSocket`.
 *
 * Security rules of docs/decisions/agent-protocol.md: plain `ws://` only on loopback; with a
 * fingerprint the controller's certificate must have exactly that SHA-256 (no CA involved),
 * without one normal CA verification applies.
 */
import { BlockList, isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { WebSocket, type RawData } from 'ws';
import { NimbusError } from '../../domain/errors.js';
import {
  MAX_FRAME_BYTES,
  decodeAgentMessage,
  encodeAgentMessage,
  type AgentMessage,
} from '../../protocol/agent.js';
import type { AgentLinkEnd } from '../../protocol/link.js';
import { assertFrameFits, LinkEndBase, type InvalidFrame } from './handlers.js';

/** Where the controller serves agents when the URL names no path. */
export const AGENT_PATH = '/api/v1/agent';
export const DEFAULT_DIAL_TIMEOUT_MS = 10_000;
/** A WebSocket close reason is at most 123 bytes. */
const MAX_CLOSE_REASON_BYTES = 123;

export { assertFrameFits };

function closeReasonText(reason: string): string {
  let text = reason;
  while (Buffer.byteLength(text) > MAX_CLOSE_REASON_BYTES) text = text.slice(0, -1);
  return text;
}

function frameBytes(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

class WebSocketLinkEnd extends LinkEndBase {
  private lastError: string | undefined;

  constructor(
    private readonly socket: WebSocket,
    private readonly from: 'agent' | 'controller',
    readonly peer: string,
  ) {
    super();
    socket.on('message', (data, isBinary) => this.receive(data, isBinary));
    socket.on('error', (error) => {
      this.lastError = error.message;
    });
    socket.on('close', (code, reason) => {
      const text = reason.toString('utf8');
      this.markClosed(
        this.lastError !== undefined
          ? `connection to ${peer} failed: ${this.lastError}`
          : text !== ''
            ? text
            : `closed by ${peer} (code ${code})`,
      );
    });
    if (socket.readyState === WebSocket.CLOSED) this.markClosed(`connection to ${peer} is already closed`);
  }

  send(message: AgentMessage): void {
    if (this.closed || this.socket.readyState !== WebSocket.OPEN) return;
    const frame = encodeAgentMessage(message);
    assertFrameFits(frame, message.type);
    this.socket.send(frame);
  }

  close(reason: string): void {
    if (this.closed) return;
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) {
      this.socket.close(1000, closeReasonText(reason));
    }
    this.markClosed(reason);
  }

  private receive(data: RawData, isBinary: boolean): void {
    if (this.closed) return;
    if (isBinary) {
      this.invalid({
        code: 'BAD_AGENT_MESSAGE',
        message: 'binary frame refused: every message is one JSON text frame',
      });
      return;
    }
    const bytes = frameBytes(data);
    if (bytes.length > MAX_FRAME_BYTES) {
      this.invalid({
        code: 'BAD_AGENT_MESSAGE',
        message: `frame of ${bytes.length} bytes exceeds ${MAX_FRAME_BYTES}`,
      });
      return;
    }
    const decoded = decodeAgentMessage(bytes.toString('utf8'), this.from);
    if (!decoded.ok) {
      this.invalid(decoded.error);
      return;
    }
    this.deliver(decoded.value);
  }

  private invalid(error: InvalidFrame): void {
    this.reportInvalid(error);
  }

  /** Marks the end closed and runs the close handlers once, asynchronously. */
  private markClosed(reason: string): void {
    if (this.closeReason !== undefined) return;
    this.closeReason = reason;
    queueMicrotask(() => this.runClose(reason));
  }
}

/**
 * One end of a link over an open WebSocket. `from` is the side that sends the frames this end
 * receives (the controller wraps an agent's socket with `from: 'agent'`).
 */
export function wrapWebSocket(socket: WebSocket, from: 'agent' | 'controller', peer: string): AgentLinkEnd {
  return new WebSocketLinkEnd(socket, from, peer);
}

// ---- dialling the controller -----------------------------------------------------------------

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** True for `localhost`, 127.0.0.0/8 and ::1 (also IPv4-mapped). No name is resolved. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  if (host.toLowerCase() === 'localhost') return true;
  const family = isIP(host);
  if (family === 0) return false;
  return LOOPBACK.check(host, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * The controller's agent endpoint: `http(s)://` becomes `ws(s)://`, `/api/v1/agent` is added when
 * the URL has no path. Throws INSECURE_CONTROLLER for plain `ws://` beyond loopback.
 */
export function controllerEndpoint(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new NimbusError(
      'BAD_CONTROLLER_URL',
      `controller URL "${raw}" is not a URL (expected wss://host:port or https://host:port)`,
    );
  }
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new NimbusError(
      'BAD_CONTROLLER_URL',
      `controller URL "${raw}" has scheme ${url.protocol}; use wss:// (or https://), ws:// only on loopback`,
    );
  }
  url.hash = '';
  if (url.pathname === '' || url.pathname === '/') url.pathname = AGENT_PATH;
  if (url.protocol === 'ws:' && !isLoopbackHost(url.hostname)) {
    throw new NimbusError(
      'INSECURE_CONTROLLER',
      `refusing plain ${url.href}: beyond loopback the join token and host key must not cross the network unencrypted; use wss:// (https://) with --fingerprint`,
    );
  }
  return url;
}

/** `ab:cd…` / `ABCD…` -> `AB:CD:…` (the form nimbusd prints); throws BAD_FINGERPRINT. */
export function normalizeFingerprint(text: string): string {
  const hex = text.replace(/:/g, '').trim().toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex)) {
    throw new NimbusError(
      'BAD_FINGERPRINT',
      `fingerprint "${text}" is not a SHA-256 fingerprint (64 hex digits, colons optional)`,
    );
  }
  return hex.replace(/(..)(?!$)/g, '$1:');
}

/**
 * Checks a controller URL and fingerprint before anything is dialled (the CLI checks its flags
 * with it): the endpoint URL and the normalized pin.
 */
export function dialTarget(
  rawUrl: string,
  fingerprint?: string,
): { readonly url: URL; readonly pin?: string } {
  const url = controllerEndpoint(rawUrl);
  if (fingerprint === undefined) return { url };
  const pin = normalizeFingerprint(fingerprint);
  if (url.protocol !== 'wss:') {
    throw new NimbusError(
      'BAD_CONTROLLER_URL',
      `a fingerprint pins a TLS certificate, but ${url.href} is plain ws://; use wss:// (https://) or give no fingerprint`,
    );
  }
  return { url, pin };
}

export interface DialOptions {
  /** `wss://host:port` (or `https://`); `ws://` only on loopback. */
  readonly url: string;
  /** SHA-256 of the controller's certificate: when set, only that certificate is accepted. */
  readonly fingerprint?: string;
  readonly signal?: AbortSignal;
  /** Gives up when the WebSocket is not open by then (default 10 s). */
  readonly timeoutMs?: number;
}

/**
 * Dials the controller once and answers the open link (decoding what the controller sends), or
 * rejects with a NimbusError: BAD_CONTROLLER_URL, INSECURE_CONTROLLER, BAD_FINGERPRINT,
 * FINGERPRINT_MISMATCH, CONTROLLER_UNREACHABLE, ABORTED. URL rules are checked before any
 * connection is made.
 */
export async function dialController(options: DialOptions): Promise<AgentLinkEnd> {
  const { url, pin } = dialTarget(options.url, options.fingerprint);
  const signal = options.signal;
  if (signal?.aborted) throw new NimbusError('ABORTED', `dial of ${url.href} aborted`);
  const timeoutMs = options.timeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS;
  const peer = url.href;

  return new Promise<AgentLinkEnd>((resolve, reject) => {
    const socket = new WebSocket(url, {
      maxPayload: MAX_FRAME_BYTES,
      followRedirects: false,
      handshakeTimeout: timeoutMs,
      // Pinned: the fingerprint check below replaces CA and host name verification.
      rejectUnauthorized: pin === undefined,
    });
    let settled = false;
    const settle = (error: NimbusError | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.off('open', onOpen);
      socket.off('upgrade', onUpgrade);
      if (error === undefined) {
        socket.off('error', onError);
        socket.off('close', onCloseEarly);
        resolve(wrapWebSocket(socket, 'controller', peer));
        return;
      }
      // The error listener stays: terminating a socket that is still connecting emits one.
      socket.terminate();
      reject(error);
    };
    const onOpen = (): void => settle(undefined);
    const onUpgrade = (response: { socket: unknown }): void => {
      if (pin === undefined) return;
      const tls = response.socket as Partial<TLSSocket> | null;
      const got = tls?.getPeerCertificate?.()?.fingerprint256;
      if (got === undefined || got === '') {
        settle(
          new NimbusError(
            'FINGERPRINT_MISMATCH',
            `controller ${peer} presented no certificate; expected ${pin}`,
          ),
        );
      } else if (normalizeFingerprint(got) !== pin) {
        settle(
          new NimbusError(
            'FINGERPRINT_MISMATCH',
            `controller ${peer} presented a certificate with SHA-256 fingerprint ${normalizeFingerprint(got)}, expected ${pin}: refusing it (another server, or the controller's certificate changed; compare with the "TLS certificate sha256" line nimbusd prints at startup)`,
          ),
        );
      }
    };
    const onError = (error: Error): void =>
      settle(new NimbusError('CONTROLLER_UNREACHABLE', `cannot connect to ${peer}: ${error.message}`));
    const onCloseEarly = (code: number): void =>
      settle(new NimbusError('CONTROLLER_UNREACHABLE', `${peer} closed the connection (code ${code})`));
    const onAbort = (): void => settle(new NimbusError('ABORTED', `dial of ${peer} aborted`));
    const timer = setTimeout(
      () =>
        settle(
          new NimbusError(
            'CONTROLLER_UNREACHABLE',
            `no WebSocket handshake with ${peer} within ${timeoutMs} ms`,
          ),
        ),
      timeoutMs,
    );
    socket.on('open', onOpen);
    socket.on('upgrade', onUpgrade);
    socket.on('error', onError);
    socket.on('close', onCloseEarly);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
