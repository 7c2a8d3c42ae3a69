import { NimbusError } from '../errors.js';
import { bucketStart } from './downsample.js';

/** How long monitoring samples are kept and how they are thinned (docs/decisions/monitoring.md). */
export interface MonitoringPolicy {
  /** Raw samples (resolution 0) younger than this are kept as reported. */
  readonly rawRetentionS: number;
  /** Older samples are folded into buckets of this many seconds. */
  readonly bucketS: number;
  /** Buckets older than this are deleted. */
  readonly bucketRetentionS: number;
  /** How often agents push `monitor-host` (OpenNebula MONITOR_HOST = 120). */
  readonly hostIntervalS: number;
  /** How often agents push `monitor-vms` (OpenNebula MONITOR_VM = 30). */
  readonly vmIntervalS: number;
}

/**
 * An hour as reported, then 15-minute buckets for a day: about 70 KB per VM on SQLite, 1.4 GB
 * for 20,000 VMs (docs/decisions/monitoring.md has the arithmetic).
 */
export const DEFAULT_MONITORING_POLICY: MonitoringPolicy = {
  rawRetentionS: 3_600,
  bucketS: 900,
  bucketRetentionS: 86_400,
  hostIntervalS: 120,
  vmIntervalS: 30,
};

const RANGES: Readonly<Record<keyof MonitoringPolicy, readonly [number, number]>> = {
  rawRetentionS: [300, 7 * 86_400],
  bucketS: [60, 86_400],
  bucketRetentionS: [300, 400 * 86_400],
  hostIntervalS: [5, 3_600],
  vmIntervalS: [5, 3_600],
};

function invalid(field: string, message: string): NimbusError {
  return new NimbusError('CONFIG_INVALID', `monitoring.${field} ${message}`, `monitoring.${field}`);
}

/**
 * The `monitoring` block of nimbusd.json: every field optional (the default fills it), each an
 * integer number of seconds in its range; an unknown field is refused rather than ignored.
 */
export function parseMonitoringPolicy(json: unknown): MonitoringPolicy {
  if (json === undefined || json === null) return DEFAULT_MONITORING_POLICY;
  if (typeof json !== 'object' || Array.isArray(json)) {
    throw new NimbusError(
      'CONFIG_INVALID',
      `monitoring must be an object like ${JSON.stringify(DEFAULT_MONITORING_POLICY)}`,
      'monitoring',
    );
  }
  const input = json as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (!Object.hasOwn(RANGES, key)) {
      throw invalid(key, `is not a monitoring setting (known: ${Object.keys(RANGES).join(', ')})`);
    }
  }
  const policy = { ...DEFAULT_MONITORING_POLICY };
  for (const [field, [min, max]] of Object.entries(RANGES) as [
    keyof MonitoringPolicy,
    readonly [number, number],
  ][]) {
    const value = input[field];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw invalid(
        field,
        `must be a whole number of seconds from ${min} to ${max}, got ${JSON.stringify(value)}`,
      );
    }
    policy[field] = value;
  }
  if (policy.bucketRetentionS < policy.rawRetentionS) {
    throw invalid(
      'bucketRetentionS',
      `(${policy.bucketRetentionS}) must be at least rawRetentionS (${policy.rawRetentionS}): buckets outlive the samples they replace`,
    );
  }
  for (const field of ['hostIntervalS', 'vmIntervalS'] as const) {
    if (policy[field] >= policy.rawRetentionS) {
      throw invalid(
        field,
        `(${policy[field]}) must be below rawRetentionS (${policy.rawRetentionS}): the latest sample must outlive one interval`,
      );
    }
  }
  return policy;
}

/** Raw samples before this are folded into buckets: a bucket is only written once it is whole. */
export function compactionCutoff(now: number, policy: MonitoringPolicy): number {
  return bucketStart(now - policy.rawRetentionS, policy.bucketS);
}

/** Buckets that start before this are deleted. */
export function expiryCutoff(now: number, policy: MonitoringPolicy): number {
  return now - policy.bucketRetentionS;
}

/** Seconds between maintenance passes: often enough that a pass stays small, at most 5 minutes apart. */
export function maintenancePeriodS(policy: MonitoringPolicy): number {
  return Math.max(1, Math.min(Math.floor(policy.rawRetentionS / 4), 300));
}
