/**
 * The CLI's connection to nimbusd: endpoint and credentials, JSON requests, one-line failures.
 * Credentials: --auth, NIMBUS_AUTH, ~/.nimbus/auth, $ONE_AUTH or ~/.one/one_auth (OpenNebula's),
 * then ./var/one_auth (the checkout's `make start` state) — each `user:password` on one line.
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { CliFailure } from './program.js';

export const DEFAULT_ENDPOINT = 'http://127.0.0.1:2633';

export interface ApiError {
  readonly code: string;
  readonly message: string;
  readonly field?: string;
}

export class ApiClient {
  constructor(
    readonly endpoint: string,
    private readonly authorization: string,
  ) {}

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async request<T = any>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<T> {
    const init: RequestInit & { duplex?: 'half' } = {
      method,
      headers: { authorization: this.authorization, ...headers },
    };
    if (body !== undefined) {
      if (body instanceof ReadableStream || body instanceof Uint8Array) {
        init.body = body as RequestInit['body'];
        init.duplex = 'half';
      } else {
        (init.headers as Record<string, string>)['content-type'] = 'application/json';
        init.body = JSON.stringify(body);
      }
    }
    let res: Response;
    try {
      res = await fetch(`${this.endpoint}${path}`, init);
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new CliFailure(
        `nimbus: cannot reach nimbusd at ${this.endpoint}: ${cause?.code ?? cause?.message ?? (error as Error).message} (is it running? see 'make start')`,
      );
    }
    const text = await res.text();
    let parsed: unknown = undefined;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = text;
    }
    if (!res.ok) {
      const e = parsed as Partial<ApiError> | undefined;
      const code = typeof e?.code === 'string' ? e.code : `HTTP_${res.status}`;
      const message = typeof e?.message === 'string' ? e.message : res.statusText;
      throw new CliFailure(`nimbus: ${code}: ${message}`);
    }
    return parsed as T;
  }
}

/** Global options every API command understands (set on the root program). */
export function addConnectionOptions(program: Command): void {
  program
    .option('--endpoint <url>', `nimbusd URL (env NIMBUS_ENDPOINT, default ${DEFAULT_ENDPOINT})`)
    .option(
      '--auth <user:password>',
      'credentials (env NIMBUS_AUTH, ~/.nimbus/auth, $ONE_AUTH, ~/.one/one_auth)',
    );
}

export async function clientFor(command: Command): Promise<ApiClient> {
  const opts = command.optsWithGlobals<{ endpoint?: string; auth?: string }>();
  const endpoint = (opts.endpoint ?? (process.env.NIMBUS_ENDPOINT || DEFAULT_ENDPOINT)).replace(/\/+$/, '');
  if (!/^https?:\/\//.test(endpoint))
    throw new CliFailure(`nimbus: --endpoint must be an http(s):// URL, got "${endpoint}"`);
  const credentials = opts.auth ?? (process.env.NIMBUS_AUTH || (await credentialsFromFiles()));
  const colon = credentials.indexOf(':');
  if (colon <= 0) throw new CliFailure('nimbus: credentials must be user:password');
  return new ApiClient(endpoint, `Basic ${Buffer.from(credentials).toString('base64')}`);
}

async function credentialsFromFiles(): Promise<string> {
  const candidates = [
    join(homedir(), '.nimbus', 'auth'),
    process.env.ONE_AUTH,
    join(homedir(), '.one', 'one_auth'),
    join(process.cwd(), 'var', 'one_auth'),
  ].filter((p): p is string => p !== undefined && p !== '');
  for (const file of candidates) {
    try {
      const line = (await readFile(file, 'utf8')).split('\n')[0]?.trim();
      if (line !== undefined && line !== '') return line;
    } catch {
      // try the next one
    }
  }
  throw new CliFailure(
    'nimbus: no credentials: use --auth user:password, NIMBUS_AUTH, ~/.nimbus/auth or ONE_AUTH (make start writes var/one_auth)',
  );
}

/** An id, or a name looked up in a list answer `{ POOL: { OBJ: [...] } }`. Names work wherever ids do. */
export async function resolveId(
  client: ApiClient,
  collection: string,
  pool: string,
  kind: string,
  ref: string,
): Promise<number> {
  if (/^\d+$/.test(ref)) return Number(ref);
  const list = await client.request<Record<string, Record<string, { ID: number; NAME: string }[]>>>(
    'GET',
    `/api/v1/${collection}?name=${encodeURIComponent(ref)}`,
  );
  const items = Object.values(list[pool] ?? {})[0] ?? [];
  const found = items.filter((o) => o.NAME === ref);
  if (found.length === 0) throw new CliFailure(`nimbus: NOT_FOUND: no ${kind} named "${ref}"`);
  if (found.length > 1) {
    throw new CliFailure(
      `nimbus: AMBIGUOUS: ${found.length} ${kind}s are named "${ref}" (ids ${found.map((o) => o.ID).join(', ')}); use the id`,
    );
  }
  return found[0]!.ID;
}
