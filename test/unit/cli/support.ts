/**
 * The CLI in-process against a scripted nimbusd: a loopback HTTP server whose answers the test
 * writes, and which records every request it got.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostNoun } from '../../../src/cli/hosts.js';
import { runCli, type CliIo } from '../../../src/cli/program.js';
import { vmNoun } from '../../../src/cli/vms.js';

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Received {
  readonly method: string;
  readonly url: string;
  readonly body: unknown;
}

/** An answer: status and JSON body, or text with its content type. */
export interface Reply {
  readonly status?: number;
  readonly json?: unknown;
  readonly text?: string;
}

export type Script = (request: Received) => Reply | undefined;

export interface FakeNimbusd {
  readonly url: string;
  readonly received: Received[];
  close(): Promise<void>;
}

/** A server answering with `script`; a request it returns undefined for gets 404 NOT_FOUND. */
export async function fakeNimbusd(script: Script): Promise<FakeNimbusd> {
  const received: Received[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const request = {
        method: req.method ?? '',
        url: req.url ?? '',
        body: text === '' ? undefined : JSON.parse(text),
      };
      received.push(request);
      const reply = script(request) ?? {
        status: 404,
        json: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.url}` },
      };
      if (reply.text !== undefined) {
        res.writeHead(reply.status ?? 200, { 'content-type': 'text/plain' }).end(reply.text);
      } else {
        res
          .writeHead(reply.status ?? 200, { 'content-type': 'application/json' })
          .end(JSON.stringify(reply.json ?? {}));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Runs `nimbus ARGS` (vm and host nouns) in-process; with `server`, against it as a:b. */
export async function runNimbus(args: readonly string[], server?: FakeNimbusd): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    readFile: async (path) => {
      throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    },
    readStdin: async () => new Uint8Array(),
  };
  const connection = server === undefined ? [] : ['--endpoint', server.url, '--auth', 'a:b'];
  const code = await runCli([...connection, ...args], [vmNoun, hostNoun], io);
  return { code, stdout, stderr };
}
