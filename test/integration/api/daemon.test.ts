/**
 * The real `nimbusd` process: first start, CLI against it with OpenNebula's ONE_AUTH file,
 * graceful SIGTERM, restart on the same state, and TLS beyond loopback (self-signed, pinned by
 * fingerprint) or plain HTTP there only with --insecure. Traffic goes to 127.0.0.1 only.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';

const run = promisify(execFile);
const started: ChildProcess[] = [];
const homes: string[] = [];

interface Daemon {
  readonly child: ChildProcess;
  readonly url: string;
  readonly output: () => string;
}

async function startDaemon(home: string, args: string[] = []): Promise<Daemon> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/nimbusd.ts', '--home', home, '--port', '0', ...args],
    {
      env: { ...process.env, NIMBUS_ADMIN_PASSWORD: 'daemon-test-pw', NIMBUS_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  started.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nimbusd did not start in 30 s:\n${out}`)), 30_000);
    const check = (): void => {
      const m = /nimbusd listening on (\S+)/.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', check);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`nimbusd exited with ${code}:\n${out}`));
    });
  });
  return { child, url, output: () => out };
}

async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  return exited;
}

async function newHome(): Promise<string> {
  const home = await mkdtemp(join(tmpdir(), 'nimbusd-test-'));
  homes.push(home);
  return home;
}

function cli(args: string[], env: Record<string, string>): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    env: { ...process.env, NIMBUS_AUTH: '', ...env },
  });
}

after(async () => {
  for (const child of started)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const home of homes) await rm(home, { recursive: true, force: true });
});

describe('the nimbusd process', () => {
  it('starts, serves the CLI through ONE_AUTH, stops on SIGTERM and keeps its state', async () => {
    const home = await newHome();
    const first = await startDaemon(home);
    assert.match(first.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const auth = await readFile(join(home, 'one_auth'), 'utf8');
    assert.equal(auth, 'oneadmin:daemon-test-pw\n');
    assert.ok(!first.output().includes('daemon-test-pw'), 'the admin password is never logged');
    const env = { NIMBUS_ENDPOINT: first.url, ONE_AUTH: join(home, 'one_auth'), HOME: home };
    const created = await cli(['user', 'create', 'erin', 'erin-pw'], env);
    assert.equal(created.stdout, 'ID: 2\n');
    assert.equal(await stop(first.child), 0);

    const second = await startDaemon(home);
    const list = await cli(['user', 'list'], { ...env, NIMBUS_ENDPOINT: second.url });
    assert.match(list.stdout, /erin/);
    assert.equal(await readFile(join(home, 'one_auth'), 'utf8'), auth, 'no second bootstrap');
    assert.equal(await stop(second.child), 0);
  });

  it('serves TLS beyond loopback with a self-signed certificate whose fingerprint it prints', async () => {
    const home = await newHome();
    const d = await startDaemon(home, ['--listen', '0.0.0.0']);
    assert.match(d.url, /^https:\/\//);
    const printed = /fingerprint \(SHA-256\): ([0-9A-F:]+)/.exec(d.output())?.[1];
    assert.ok(printed !== undefined, d.output());
    const port = Number(new URL(d.url).port);
    const fingerprint = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
        resolve(socket.getPeerX509Certificate()!.fingerprint256);
        socket.end();
      });
      socket.on('error', reject);
    });
    assert.equal(fingerprint, printed);
    assert.equal(await stop(d.child), 0);
  });

  it('refuses plain HTTP beyond loopback unless --insecure', async () => {
    const d = await startDaemon(await newHome(), ['--listen', '0.0.0.0', '--insecure']);
    assert.match(d.url, /^http:\/\//);
    const port = Number(new URL(d.url).port);
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/openapi.json`);
    assert.equal(res.status, 200);
    assert.equal(await stop(d.child), 0);
  });

  it('exits 1 with a one-line message on bad flags', async () => {
    const home = await newHome();
    const res = await run(
      process.execPath,
      ['--import', 'tsx', 'src/nimbusd.ts', '--home', home, '--db', 'mysql://x'],
      {
        env: process.env,
      },
    ).catch((e: { code: number; stderr: string }) => e);
    assert.equal((res as { code: number }).code, 1);
    assert.match(
      (res as { stderr: string }).stderr,
      /^nimbusd: CONFIG_INVALID: db must be "sqlite" or a postgres:\/\/ URL/m,
    );
  });
});
