/** `nimbusd`: the Nimbus controller daemon. */
import { Command, InvalidArgumentError } from 'commander';
import { loadConfig } from './controller/config.js';
import { startNimbus } from './daemon.js';
import { NimbusError } from './domain/errors.js';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('must be a port number 0-65535');
  return n;
}

const program = new Command('nimbusd')
  .description('Nimbus controller: REST API (and later XML-RPC, consoles, web UI) on one port')
  .option('--home <dir>', 'state directory', './var')
  .option('--port <n>', 'TCP port (0 picks a free one)', port)
  .option('--listen <addr>', 'address to listen on (beyond loopback TLS is on)')
  .option('--db <db>', 'sqlite, or a postgres:// URL')
  .option('--local-host <driver>', 'the local machine as host 0: qemu, dummy or none')
  .option('--tls-cert <file>', 'TLS certificate (PEM)')
  .option('--tls-key <file>', 'TLS private key (PEM)')
  .option('--insecure', 'allow plain HTTP beyond loopback')
  .showHelpAfterError();

async function main(): Promise<void> {
  program.parse();
  const o = program.opts<{
    home: string;
    port?: number;
    listen?: string;
    db?: string;
    localHost?: 'qemu' | 'dummy' | 'none';
    tlsCert?: string;
    tlsKey?: string;
    insecure?: boolean;
  }>();
  const config = await loadConfig(o.home, {
    port: o.port,
    listen: o.listen,
    db: o.db,
    localHost: o.localHost,
    tlsCert: o.tlsCert,
    tlsKey: o.tlsKey,
    insecure: o.insecure,
  });
  const nimbus = await startNimbus(config, { adminPassword: process.env.NIMBUS_ADMIN_PASSWORD });
  console.log(`nimbusd listening on ${nimbus.url} (state in ${config.home})`);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`nimbusd: ${signal}, shutting down`);
    nimbus.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`nimbusd: shutdown failed: ${(error as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  const message = error instanceof NimbusError ? `${error.code}: ${error.message}` : (error as Error).message;
  console.error(`nimbusd: ${message}`);
  process.exit(1);
});
