/**
 * An in-process nimbusd for API tests: SQLite in a temporary state directory, a dummy host 0,
 * oneadmin's password known. Requests go through `app.inject` (no port) unless `listen` is set.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { loadConfig } from '../../../src/controller/config.js';
import { startNimbus, type RunningNimbus, type StartOptions } from '../../../src/daemon.js';

export const ADMIN_PASSWORD = 'admin-test-pw';

export interface ApiAnswer {
  readonly status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly body: any;
}

export type Requester = (method: string, url: string, body?: unknown) => Promise<ApiAnswer>;

export interface TestNimbus {
  readonly nimbus: RunningNimbus;
  readonly home: string;
  /** Requests as oneadmin. */
  readonly admin: Requester;
  /** Requests with no credentials. */
  readonly anonymous: Requester;
  /** Requests as the given user (HTTP Basic). */
  as(user: string, password: string): Requester;
  /** Creates a user (in group `group`, default users) and returns its id and a requester. */
  createUser(name: string, options?: { group?: number }): Promise<{ id: number; request: Requester }>;
  close(): Promise<void>;
}

export async function startTestNimbus(
  options: {
    listen?: boolean;
    localHost?: 'dummy' | 'none';
    placement?: boolean;
    intervals?: StartOptions['intervals'];
    hostLostAfterS?: number;
  } = {},
): Promise<TestNimbus> {
  const home = await mkdtemp(join(tmpdir(), 'nimbus-api-'));
  const config = await loadConfig(home, {
    port: 0,
    localHost: options.localHost ?? 'dummy',
    credentialCacheMs: 60_000,
  });
  const nimbus = await startNimbus(config, {
    adminPassword: ADMIN_PASSWORD,
    logger: pino({ level: process.env.NIMBUS_TEST_LOG ?? 'silent' }),
    listen: options.listen ?? false,
    // VM records stay where a test puts them unless it asks for the placeholder placement.
    placement: options.placement ?? false,
    ...(options.intervals !== undefined ? { intervals: options.intervals } : {}),
    ...(options.hostLostAfterS !== undefined ? { hostLostAfterS: options.hostLostAfterS } : {}),
  });
  const requester =
    (authorization: string | undefined): Requester =>
    async (method, url, body) => {
      const headers: Record<string, string> = {};
      if (authorization !== undefined) headers.authorization = authorization;
      let payload: string | undefined;
      if (body !== undefined) {
        if (typeof body === 'string') {
          headers['content-type'] = 'text/plain';
          payload = body;
        } else {
          headers['content-type'] = 'application/json';
          payload = JSON.stringify(body);
        }
      }
      const res = await nimbus.app.inject({
        method: method as 'GET',
        url,
        headers,
        ...(payload !== undefined ? { payload } : {}),
      });
      let parsed: unknown = res.body;
      try {
        parsed = JSON.parse(res.body);
      } catch {
        // not JSON: keep the text
      }
      return { status: res.statusCode, body: parsed };
    };
  const basic = (user: string, password: string): string =>
    `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const admin = requester(basic('oneadmin', ADMIN_PASSWORD));
  return {
    nimbus,
    home,
    admin,
    anonymous: requester(undefined),
    as: (user, password) => requester(basic(user, password)),
    async createUser(name, opts = {}) {
      const res = await admin('POST', '/api/v1/users', {
        name,
        password: `${name}-pw`,
        ...(opts.group !== undefined ? { group: opts.group } : {}),
      });
      if (res.status !== 201)
        throw new Error(`createUser ${name}: ${res.status} ${JSON.stringify(res.body)}`);
      return { id: res.body.ID as number, request: requester(basic(name, `${name}-pw`)) };
    },
    async close() {
      await nimbus.close();
      await rm(home, { recursive: true, force: true });
    },
  };
}

/** The outcome of one CLI run: its exit code (0 on success) and what it printed. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliRunner {
  /** Runs `nimbus ...args`; resolves with its output, rejects (with code, stdout, stderr) on a non-zero exit. */
  run(...args: string[]): Promise<{ stdout: string; stderr: string }>;
  /** Runs `nimbus ...args`, which must fail; resolves with the failure, fails the test if it succeeds. */
  fail(...args: string[]): Promise<CliResult>;
  /** Runs `nimbus ...args` and resolves with its outcome whether it succeeds or fails. */
  settle(...args: string[]): Promise<CliResult>;
}

const execFileAsync = promisify(execFile);

/**
 * Runs the real CLI (`src/cli/main.ts`) as a child process against `t`, as oneadmin unless `auth`
 * (NIMBUS_AUTH, `user:password`) says otherwise; `env` is added to the environment. Argv only, no shell.
 */
export function cliRunner(
  t: TestNimbus,
  options: { auth?: string; env?: Record<string, string> } = {},
): CliRunner {
  const run = (...args: string[]): Promise<{ stdout: string; stderr: string }> =>
    execFileAsync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      env: {
        ...process.env,
        NIMBUS_ENDPOINT: t.nimbus.url,
        NIMBUS_AUTH: options.auth ?? `oneadmin:${ADMIN_PASSWORD}`,
        ...options.env,
      },
    });
  return {
    run,
    async fail(...args) {
      try {
        await run(...args);
      } catch (error) {
        return error as CliResult;
      }
      assert.fail(`nimbus ${args.join(' ')} succeeded`);
    },
    async settle(...args) {
      try {
        const { stdout, stderr } = await run(...args);
        return { code: 0, stdout, stderr };
      } catch (error) {
        const e = error as CliResult;
        return { code: e.code, stdout: e.stdout, stderr: e.stderr };
      }
    },
  };
}
