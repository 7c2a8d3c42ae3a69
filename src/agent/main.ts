/**
 * `nimbus-agent`: the host agent. Joins with the one-time token `nimbus host create` printed,
 * keeps the host key the controller answers in `<state-dir>/host.key`, and dials with it from then
 * on. The runtime (./runtime.ts) and the transports (./link/) hold the logic; this file reads
 * flags and files and wires them.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { pino } from 'pino';
import { NimbusError } from '../domain/errors.js';
import type { Hello } from '../protocol/agent.js';
import { dialController, dialTarget, normalizeFingerprint } from './link/websocket.js';
import { AGENT_VERSION, AgentRuntime } from './runtime.js';

const DEFAULT_STATE_DIR = '/var/lib/nimbus-agent';

/** Bad flags: one line on stderr, exit 2. */
class UsageError extends Error {}

function hostIdFlag(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 2147483647) throw new InvalidArgumentError('must be a host id (0 or more)');
  return n;
}

function fingerprintFlag(value: string): string {
  try {
    return normalizeFingerprint(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

const program = new Command('nimbus-agent')
  .description('Nimbus host agent: dials the controller and runs the VMs it is sent')
  .requiredOption('--controller <url>', 'controller URL: wss://host:port (ws:// only on loopback)')
  .addOption(
    new Option('--token <token>', 'one-time join token of `nimbus host create`').conflicts('keyFile'),
  )
  .option('--key-file <file>', 'host key file (default: <state-dir>/host.key from an earlier join)')
  .option(
    '--fingerprint <sha256>',
    "SHA-256 fingerprint of the controller's TLS certificate",
    fingerprintFlag,
  )
  .option('--host-id <n>', 'host id (default: the one of an earlier join in --state-dir)', hostIdFlag)
  .addOption(
    new Option('--driver <name>', 'hypervisor driver (VM_MAD)').choices(['dummy', 'qemu']).default('qemu'),
  )
  .option(
    '--state-dir <dir>',
    'where the host key, operation record and driver state live',
    DEFAULT_STATE_DIR,
  )
  .exitOverride()
  .configureOutput({ writeErr: (text) => process.stderr.write(`nimbus-agent: ${text}`) });

interface Flags {
  controller: string;
  token?: string;
  keyFile?: string;
  fingerprint?: string;
  hostId?: number;
  driver: string;
  stateDir: string;
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Writes a secret file atomically (temp file, fsync, rename), readable by its owner only. */
async function writeSecretFile(path: string, text: string): Promise<void> {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const file = await open(temp, 'w', 0o600);
  try {
    await file.writeFile(`${text}\n`);
    await file.sync();
  } finally {
    await file.close();
  }
  try {
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

async function packageVersion(): Promise<string> {
  try {
    const text = await readFile(new URL('../../package.json', import.meta.url), 'utf8');
    const version = (JSON.parse(text) as { version?: unknown }).version;
    return typeof version === 'string' && version !== '' ? version.slice(0, 64) : AGENT_VERSION;
  } catch {
    return AGENT_VERSION;
  }
}

/** The host id: the flag, or the one an earlier join stored; they must agree. */
async function hostIdOf(flags: Flags, idFile: string): Promise<number> {
  const stored = await readText(idFile);
  const storedId = stored === undefined ? undefined : Number(stored);
  if (flags.hostId !== undefined) {
    if (storedId !== undefined && storedId !== flags.hostId) {
      throw new UsageError(
        `--state-dir ${flags.stateDir} belongs to host ${stored}, not host ${flags.hostId}: give each host its own state directory`,
      );
    }
    return flags.hostId;
  }
  if (storedId === undefined || !Number.isInteger(storedId)) {
    throw new UsageError(`--host-id is required (no earlier join in ${flags.stateDir})`);
  }
  return storedId;
}

/** A stored host key wins over a token (which is one-time and already spent once a key exists). */
async function credentialOf(
  flags: Flags,
  keyFile: string,
): Promise<{ credential: Hello['credential']; source: string }> {
  const checked = (text: string, what: string): string => {
    if (text.length < 16 || text.length > 512) throw new UsageError(`${what} must be 16 to 512 characters`);
    return text;
  };
  if (flags.keyFile !== undefined) {
    const key = await readText(flags.keyFile).catch((error: unknown) => {
      throw new UsageError(`--key-file ${flags.keyFile}: ${(error as Error).message}`);
    });
    if (key === undefined) throw new UsageError(`--key-file ${flags.keyFile} does not exist`);
    return {
      credential: { kind: 'host-key', key: checked(key, `the key in ${flags.keyFile}`) },
      source: flags.keyFile,
    };
  }
  const stored = await readText(keyFile);
  if (stored !== undefined) {
    return {
      credential: { kind: 'host-key', key: checked(stored, `the key in ${keyFile}`) },
      source: keyFile,
    };
  }
  if (flags.token !== undefined) {
    return { credential: { kind: 'join-token', token: checked(flags.token, '--token') }, source: '--token' };
  }
  throw new UsageError(`give --token (first join) or --key-file; there is no host key in ${flags.stateDir}`);
}

async function main(): Promise<void> {
  program.parse();
  const flags = program.opts<Flags>();
  try {
    dialTarget(flags.controller, flags.fingerprint);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const keyFile = join(flags.stateDir, 'host.key');
  const idFile = join(flags.stateDir, 'host.id');
  const hostId = await hostIdOf(flags, idFile);
  const { credential, source } = await credentialOf(flags, keyFile);

  const log = pino({ name: 'nimbus-agent', base: { hostId }, level: process.env.NIMBUS_LOG_LEVEL ?? 'info' });
  if (source === keyFile && flags.token !== undefined) {
    log.info({ keyFile }, `using the host key of an earlier join (${keyFile}); --token is ignored`);
  }
  const runtime = new AgentRuntime({
    hostId,
    credential,
    driverName: flags.driver,
    stateDir: flags.stateDir,
    agentVersion: await packageVersion(),
    log,
    connect: (signal) =>
      dialController({
        url: flags.controller,
        ...(flags.fingerprint === undefined ? {} : { fingerprint: flags.fingerprint }),
        signal,
      }),
    onHostKey: async (key) => {
      await writeSecretFile(idFile, String(hostId));
      await writeSecretFile(keyFile, key);
    },
  });

  await mkdir(flags.stateDir, { recursive: true, mode: 0o700 });

  let exiting = false;
  const exit = (code: number): void => {
    if (exiting) return;
    exiting = true;
    runtime.stop().then(
      () => process.exit(code),
      (error: unknown) => {
        log.error({ err: (error as Error).message }, 'stop failed');
        process.exit(1);
      },
    );
  };
  runtime.events.on('state', (state) => {
    if (state !== 'refused') return;
    const refusal = runtime.refusal;
    const hint =
      refusal?.code === 'BAD_CREDENTIAL' && credential.kind === 'host-key'
        ? ` (the host key from ${source} was refused; to join again remove it and run with a new --token)`
        : '';
    log.error(
      { code: refusal?.code },
      `refused by the controller, not retrying: ${refusal?.message ?? ''}${hint}`,
    );
    exit(1);
  });
  process.on('SIGTERM', () => exit(0));
  process.on('SIGINT', () => exit(0));
  await runtime.start();
}

main().catch((error: unknown) => {
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2);
  if (error instanceof UsageError) {
    console.error(`nimbus-agent: ${error.message}`);
    process.exit(2);
  }
  const message = error instanceof NimbusError ? `${error.code}: ${error.message}` : (error as Error).message;
  console.error(`nimbus-agent: ${message}`);
  process.exit(1);
});
