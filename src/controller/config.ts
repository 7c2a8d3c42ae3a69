import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { NimbusError } from '../domain/errors.js';
import {
  DEFAULT_MONITORING_POLICY,
  parseMonitoringPolicy,
  type MonitoringPolicy,
} from '../domain/monitoring/index.js';
import { DEFAULT_VNC_PORTS, parseVncReserved, type VncPortPolicy } from '../domain/vm/vnc.js';
import { DEFAULT_SCHEDULER_CONFIG, parseSchedulerConfig, type SchedulerConfig } from '../scheduler/config.js';

/** Effective nimbusd settings: command-line flags over `HOME/nimbusd.json` over defaults. */
export interface DaemonConfig {
  /** State directory (absolute). */
  readonly home: string;
  readonly port: number;
  readonly listen: string;
  /** `sqlite` or a `postgres://` URL. */
  readonly db: string;
  /** Driver of host 0, or none. `qemu` runs as `dummy` until the QEMU driver exists. */
  readonly localHost: 'qemu' | 'dummy' | 'none';
  readonly tlsCert: string | null;
  readonly tlsKey: string | null;
  /** Plain HTTP beyond loopback. */
  readonly insecure: boolean;
  /** Where datastores live: HOME/datastores. */
  readonly datastoreLocation: string;
  /** Login token lifetime when the client does not ask for one, seconds. */
  readonly tokenTtl: number;
  /** How long a verified password stays cached in memory, milliseconds. */
  readonly credentialCacheMs: number;
  /** Largest image upload, bytes. */
  readonly maxUploadBytes: number;
  /** Retention and downsampling of monitoring samples, agents' report intervals. */
  readonly monitoring: MonitoringPolicy;
  /** Placement policies, limits and the pending timeout (sched.conf). */
  readonly scheduler: SchedulerConfig;
  /** oned.conf VNC_PORTS: the first port and the reserved ones, per cluster. */
  readonly vncPorts: VncPortPolicy;
}

export const CONFIG_FILE = 'nimbusd.json';

export const DEFAULTS = {
  port: 2633,
  listen: '127.0.0.1',
  db: 'sqlite',
  localHost: 'qemu',
  tlsCert: null,
  tlsKey: null,
  insecure: false,
  tokenTtl: 36_000,
  credentialCacheMs: 60_000,
  maxUploadBytes: 64 * 1024 ** 3,
  monitoring: DEFAULT_MONITORING_POLICY,
  scheduler: DEFAULT_SCHEDULER_CONFIG,
  vncPorts: DEFAULT_VNC_PORTS,
} as const;

export type ConfigOverrides = Partial<Omit<DaemonConfig, 'home' | 'datastoreLocation'>>;

/** Reads HOME/nimbusd.json (written with the defaults on first start), applies the overrides. */
export async function loadConfig(home: string, overrides: ConfigOverrides): Promise<DaemonConfig> {
  const dir = resolve(home);
  await mkdir(dir, { recursive: true, mode: 0o750 });
  const file = join(dir, CONFIG_FILE);
  let stored: Record<string, unknown> = {};
  try {
    stored = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      await writeFile(file, `${JSON.stringify(DEFAULTS, null, 2)}\n`, { mode: 0o640 });
    } else {
      throw new NimbusError('CONFIG_INVALID', `${file}: ${(error as Error).message}`);
    }
  }
  const merged = { ...DEFAULTS, ...stored, ...definedOnly(overrides) } as Record<string, unknown>;
  const config: DaemonConfig = {
    home: dir,
    port: integer(merged, 'port', 0, 65535),
    listen: text(merged, 'listen'),
    db: text(merged, 'db'),
    localHost: oneOf(merged, 'localHost', ['qemu', 'dummy', 'none'] as const),
    tlsCert: nullableText(merged, 'tlsCert'),
    tlsKey: nullableText(merged, 'tlsKey'),
    insecure: merged.insecure === true,
    datastoreLocation: join(dir, 'datastores'),
    tokenTtl: integer(merged, 'tokenTtl', 1, 10 * 365 * 86400),
    credentialCacheMs: integer(merged, 'credentialCacheMs', 0, 3_600_000),
    maxUploadBytes: integer(merged, 'maxUploadBytes', 1, Number.MAX_SAFE_INTEGER),
    monitoring: parseMonitoringPolicy(merged.monitoring),
    scheduler: parseSchedulerConfig(merged.scheduler),
    vncPorts: parseVncPorts(merged.vncPorts),
  };
  if (config.db !== 'sqlite' && !/^postgres(ql)?:\/\//.test(config.db)) {
    throw new NimbusError(
      'CONFIG_INVALID',
      `db must be "sqlite" or a postgres:// URL, got "${config.db}"`,
      'db',
    );
  }
  return config;
}

/** `"vncPorts": { "start": 5900, "reserved": "32768:65536" }`. */
function parseVncPorts(json: unknown): VncPortPolicy {
  if (json === undefined || json === null) return DEFAULT_VNC_PORTS;
  if (typeof json !== 'object' || Array.isArray(json))
    throw new NimbusError('CONFIG_INVALID', 'vncPorts must be an object like {"start": 5900}', 'vncPorts');
  const input = { ...DEFAULT_VNC_PORTS, ...(json as Record<string, unknown>) } as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (key !== 'start' && key !== 'reserved')
      throw new NimbusError(
        'CONFIG_INVALID',
        `vncPorts.${key} is not a setting (known: start, reserved)`,
        `vncPorts.${key}`,
      );
  }
  const start = integer(input, 'start', 1, 65535);
  if (typeof input.reserved !== 'string')
    throw new NimbusError(
      'CONFIG_INVALID',
      'vncPorts.reserved must be a string like "32768:65536"',
      'vncPorts.reserved',
    );
  const reserved = parseVncReserved(input.reserved);
  if (!reserved.ok)
    throw new NimbusError(
      'CONFIG_INVALID',
      `vncPorts.reserved: ${reserved.error.message}`,
      'vncPorts.reserved',
    );
  return { start, reserved: input.reserved };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function integer(o: Record<string, unknown>, key: string, min: number, max: number): number {
  const v = typeof o[key] === 'string' ? Number(o[key]) : o[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new NimbusError(
      'CONFIG_INVALID',
      `${key} must be an integer from ${min} to ${max}, got ${String(o[key])}`,
      key,
    );
  }
  return v;
}

function text(o: Record<string, unknown>, key: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v === '')
    throw new NimbusError('CONFIG_INVALID', `${key} must be a non-empty string`, key);
  return v;
}

function nullableText(o: Record<string, unknown>, key: string): string | null {
  return o[key] === null || o[key] === undefined ? null : text(o, key);
}

function oneOf<T extends string>(o: Record<string, unknown>, key: string, values: readonly T[]): T {
  const v = o[key];
  if (typeof v !== 'string' || !values.includes(v as T)) {
    throw new NimbusError(
      'CONFIG_INVALID',
      `${key} must be one of ${values.join(', ')}, got ${String(v)}`,
      key,
    );
  }
  return v as T;
}
