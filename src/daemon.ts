import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFile, access } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino, type Logger } from 'pino';
import { buildRestApp, type RestApp } from './api/rest/app.js';
import { AuthService } from './controller/auth.js';
import { bootstrap } from './controller/bootstrap.js';
import type { DaemonConfig } from './controller/config.js';
import { createContext, type ControllerContext } from './controller/context.js';
import { ImageService } from './controller/images.js';
import { MonitoringService } from './controller/monitoring.js';
import type { HubIntervals } from './controller/agents/hub.js';
import { startLifecycle, type Lifecycle } from './controller/lifecycle/wiring.js';
import { NimbusError } from './domain/errors.js';
import { openStore, type Store } from './store/index.js';

export interface RunningNimbus {
  readonly app: RestApp;
  readonly store: Store;
  readonly ctx: ControllerContext;
  readonly lifecycle: Lifecycle;
  /** http(s)://listen:port once listening; '' when started with `listen: false`. */
  readonly url: string;
  /** SHA-256 fingerprint of the TLS certificate, when serving TLS. */
  readonly fingerprint: string | null;
  close(): Promise<void>;
}

export interface StartOptions {
  readonly adminPassword?: string | undefined;
  readonly logger?: Logger;
  /** false: build everything but do not open the port (tests use `app.inject`). */
  readonly listen?: boolean;
  /** Agent push intervals (tests shorten them). */
  readonly intervals?: Partial<HubIntervals>;
  /** Seconds without an agent link before its host is ERROR (default: the VM interval). */
  readonly hostLostAfterS?: number;
  /** Run the placeholder placement of PENDING VMs (default true). */
  readonly placement?: boolean;
}

/**
 * Starts nimbusd: store (migrations run on open), first-start bootstrap, controller services,
 * the REST API on one port. Returns a handle whose `close()` shuts everything down in order.
 */
export async function startNimbus(config: DaemonConfig, options: StartOptions = {}): Promise<RunningNimbus> {
  const log = options.logger ?? pino({ level: process.env.NIMBUS_LOG_LEVEL ?? 'info' });
  const store = await openStore(
    config.db === 'sqlite'
      ? { kind: 'sqlite', path: join(config.home, 'nimbus.db') }
      : { kind: 'postgres', url: config.db },
  );
  try {
    const boot = await bootstrap(store, config, options.adminPassword);
    if (boot.created)
      log.info({ authFile: boot.authFile }, 'first start: cloud bootstrapped; oneadmin credentials written');

    let auth: AuthService | null = null;
    const ctx = createContext(store, config, log, { forgetCredentials: (uid) => auth?.forget(uid) });
    auth = new AuthService(ctx);
    const images = new ImageService(ctx);
    const interrupted = await images.failInterruptedCopies();
    if (interrupted > 0)
      log.warn({ images: interrupted }, 'image copies interrupted by the last stop are now ERROR');

    const monitoring = new MonitoringService(ctx, config.monitoring);
    await monitoring.load();
    monitoring.start();
    const lifecycle = await startLifecycle(ctx, {
      intervals: {
        monitorHostS: config.monitoring.hostIntervalS,
        monitorVmsS: config.monitoring.vmIntervalS,
        pingS: 15,
        ...options.intervals,
      },
      monitoring,
      ...(options.hostLostAfterS !== undefined ? { hostLostAfterS: options.hostLostAfterS } : {}),
      ...(options.placement !== undefined ? { placement: options.placement } : {}),
    });
    const advertised = { url: '' };
    const tls = await tlsFor(config, log).catch(async (e: unknown) => {
      await lifecycle.close();
      throw e;
    });
    const app = await buildRestApp(
      { ctx, auth, lifecycle, monitoring, fingerprint: tls?.fingerprint ?? null, advertised },
      { logger: log, ...(tls !== null ? { https: { key: tls.key, cert: tls.cert } } : {}) },
    );
    let url = '';
    if (options.listen !== false) {
      await app.listen({ host: config.listen, port: config.port });
      const address = app.server.address();
      const port = typeof address === 'object' && address !== null ? address.port : config.port;
      const host = isIP(config.listen) === 6 ? `[${config.listen}]` : config.listen;
      url = `${tls !== null ? 'https' : 'http'}://${host}:${port}`;
      const wildcard = config.listen === '0.0.0.0' || config.listen === '::';
      if (!wildcard) advertised.url = url;
      log.info({ url, fingerprint: tls?.fingerprint }, 'nimbusd listening');
    }
    return {
      app,
      store,
      ctx,
      lifecycle,
      url,
      fingerprint: tls?.fingerprint ?? null,
      async close() {
        await app.close();
        await lifecycle.close();
        await monitoring.stop();
        // Copies in flight get a moment to finish; the rest are failed at the next start.
        await Promise.race([images.drain(), new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
        await store.close();
      },
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}

function isLoopback(address: string): boolean {
  return address === 'localhost' || address === '::1' || /^127\./.test(address);
}

/**
 * Beyond loopback nimbusd serves TLS: the given certificate, or a self-signed pair generated on
 * first start in HOME/tls (agents pin its fingerprint). Plain HTTP there needs `--insecure`.
 */
async function tlsFor(
  config: DaemonConfig,
  log: Logger,
): Promise<{ key: Buffer; cert: Buffer; fingerprint: string } | null> {
  if (config.tlsCert === null && config.tlsKey === null) {
    if (isLoopback(config.listen) || config.insecure) {
      if (!isLoopback(config.listen))
        log.warn({ listen: config.listen }, 'serving plain HTTP beyond loopback (--insecure)');
      return null;
    }
  }
  let certFile = config.tlsCert;
  let keyFile = config.tlsKey;
  if ((certFile === null) !== (keyFile === null)) {
    throw new NimbusError('CONFIG_INVALID', 'give both --tls-cert and --tls-key, or neither');
  }
  if (certFile === null || keyFile === null) {
    certFile = join(config.home, 'tls', 'cert.pem');
    keyFile = join(config.home, 'tls', 'key.pem');
    if (!(await exists(certFile)) || !(await exists(keyFile)))
      await generateSelfSigned(config.home, certFile, keyFile);
  }
  const cert = await readFile(certFile);
  const key = await readFile(keyFile);
  const fingerprint = new X509Certificate(cert).fingerprint256;
  console.log(`nimbusd TLS certificate fingerprint (SHA-256): ${fingerprint}`);
  return { key, cert, fingerprint };
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

async function generateSelfSigned(home: string, certFile: string, keyFile: string): Promise<void> {
  const { mkdir, chmod } = await import('node:fs/promises');
  await mkdir(join(home, 'tls'), { recursive: true, mode: 0o700 });
  // argv array, no shell: openssl writes an EC P-256 key and a 10-year self-signed certificate.
  await promisify(execFile)('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '3650',
    '-subj',
    '/CN=nimbusd',
    '-keyout',
    keyFile,
    '-out',
    certFile,
  ]);
  await chmod(keyFile, 0o600);
}
