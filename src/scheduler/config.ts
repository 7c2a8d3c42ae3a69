/**
 * The `scheduler` section of nimbusd.json — sched.conf's settings (reference §5.3) under names
 * that say what they do:
 *
 * ```json
 * "scheduler": { "policy": "striping", "rank": "", "dsPolicy": "striping", "nicPolicy": "striping",
 *                "maxDispatch": 0, "maxHost": 0, "pendingTimeoutS": 0, "intervalS": 5,
 *                "liveRescheds": false, "logLevel": 3 }
 * ```
 * `maxDispatch` / `maxHost` 0 mean no limit (OpenNebula: 30 and 1 per 15 s cycle; Nimbus places
 * as soon as a VM is pending and does not throttle unless asked). `pendingTimeoutS` 0 keeps VMs
 * pending for ever, as OpenNebula does; a VM's own SCHED_PENDING_TIMEOUT wins.
 */
import { NimbusError } from '../domain/errors.js';
import { compileRank } from './expressions.js';
import { DEFAULT_SCHED_OPTIONS, type HostPolicy, type SchedOptions, type StoragePolicy } from './model.js';
import { parseHostPolicy, parseStoragePolicy } from './policies.js';

export interface SchedulerConfig {
  readonly policy: HostPolicy;
  /** Rank expression of the custom host policy (3). */
  readonly rank: string;
  readonly dsPolicy: StoragePolicy;
  readonly dsRank: string;
  readonly nicPolicy: StoragePolicy;
  readonly nicRank: string;
  /** VMs per pass at most; 0 = no limit. */
  readonly maxDispatch: number;
  /** VMs per host per pass at most; 0 = no limit. */
  readonly maxHost: number;
  /** Seconds a VM may stay PENDING before it goes to HOLD; 0 = for ever. */
  readonly pendingTimeoutS: number;
  /** The safety-net pass runs this often, seconds (passes are otherwise event-driven). */
  readonly intervalS: number;
  /** Rescheduled RUNNING VMs migrate live (OpenNebula LIVE_RESCHEDS). */
  readonly liveRescheds: boolean;
  /** sched.log detail, OpenNebula's DEBUG_LEVEL: 0 ERROR, 1 WARNING, 2 INFO, 3 DEBUG, 4 DDEBUG (every discarded host, datastore and network). */
  readonly logLevel: number;
}

export const DEFAULT_SCHEDULER_CONFIG: SchedulerConfig = {
  policy: 1,
  rank: '',
  dsPolicy: 1,
  dsRank: '',
  nicPolicy: 1,
  nicRank: '',
  maxDispatch: 0,
  maxHost: 0,
  pendingTimeoutS: 0,
  intervalS: 5,
  liveRescheds: false,
  logLevel: 3,
};

const KEYS = Object.keys(DEFAULT_SCHEDULER_CONFIG);

function invalid(key: string, why: string): NimbusError {
  return new NimbusError('CONFIG_INVALID', `scheduler.${key} ${why}`, `scheduler.${key}`);
}

function whole(
  input: Record<string, unknown>,
  key: string,
  min: number,
  max: number,
  fallback: number,
): number {
  const v = input[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw invalid(key, `must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return v;
}

function rankText(input: Record<string, unknown>, key: string): string {
  const v = input[key];
  if (v === undefined) return '';
  if (typeof v !== 'string') throw invalid(key, `must be a rank expression string, got ${JSON.stringify(v)}`);
  const compiled = compileRank(v);
  if (!compiled.ok) throw invalid(key, `is not a rank expression: ${compiled.error.message}`);
  return v;
}

export function parseSchedulerConfig(json: unknown): SchedulerConfig {
  if (json === undefined || json === null) return DEFAULT_SCHEDULER_CONFIG;
  if (typeof json !== 'object' || Array.isArray(json))
    throw new NimbusError('CONFIG_INVALID', 'scheduler must be an object', 'scheduler');
  const input = json as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (!KEYS.includes(key)) throw invalid(key, `is not a scheduler setting (known: ${KEYS.join(', ')})`);
  }
  const policy = input.policy === undefined ? 1 : parseHostPolicy(input.policy);
  if (policy === undefined)
    throw invalid('policy', 'must be packing, striping, load-aware, custom or fixed (or 0–4)');
  const storage = (key: 'dsPolicy' | 'nicPolicy'): StoragePolicy => {
    const p = input[key] === undefined ? 1 : parseStoragePolicy(input[key]);
    if (p === undefined) throw invalid(key, 'must be packing, striping, custom or fixed (or 0–3)');
    return p;
  };
  const config: SchedulerConfig = {
    policy,
    rank: rankText(input, 'rank'),
    dsPolicy: storage('dsPolicy'),
    dsRank: rankText(input, 'dsRank'),
    nicPolicy: storage('nicPolicy'),
    nicRank: rankText(input, 'nicRank'),
    maxDispatch: whole(input, 'maxDispatch', 0, 1_000_000, 0),
    maxHost: whole(input, 'maxHost', 0, 1_000_000, 0),
    pendingTimeoutS: whole(input, 'pendingTimeoutS', 0, 365 * 86_400, 0),
    intervalS: whole(input, 'intervalS', 1, 3_600, 5),
    liveRescheds: input.liveRescheds === true,
    logLevel: whole(input, 'logLevel', 0, 5, 3),
  };
  if (config.policy === 3 && config.rank.trim() === '')
    throw invalid('rank', 'is needed by the custom policy');
  return config;
}

/** The pass options a configuration means. */
export function schedOptions(config: SchedulerConfig): SchedOptions {
  return {
    ...DEFAULT_SCHED_OPTIONS,
    hostPolicy: config.policy,
    hostRank: config.rank,
    dsPolicy: config.dsPolicy,
    dsRank: config.dsRank,
    nicPolicy: config.nicPolicy,
    nicRank: config.nicRank,
    maxDispatch: config.maxDispatch === 0 ? Number.POSITIVE_INFINITY : config.maxDispatch,
    maxHost: config.maxHost === 0 ? Number.POSITIVE_INFINITY : config.maxHost,
    explainUnplaced: config.logLevel >= 4,
  };
}
