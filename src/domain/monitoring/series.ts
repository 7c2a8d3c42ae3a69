import type { TimedFigures } from './downsample.js';
import { SAMPLES, type MonitoringKind } from './figures.js';

/** A point of a series with its resolution: 0 for a raw sample, else the bucket's seconds. */
export interface SeriesPoint extends TimedFigures {
  readonly resolution: number;
}

/**
 * One series from raw samples and buckets, oldest first: the buckets that start before the first
 * raw sample (older history), then the raw samples.
 */
export function mergeSeries(
  raw: readonly TimedFigures[],
  buckets: readonly TimedFigures[],
  bucketS: number,
): SeriesPoint[] {
  const firstRaw = raw.reduce((min, s) => Math.min(min, s.ts), Infinity);
  return [
    ...buckets.filter((b) => b.ts < firstRaw).map((b) => ({ ...b, resolution: bucketS })),
    ...raw.map((s) => ({ ...s, resolution: 0 })),
  ].sort((a, b) => a.ts - b.ts);
}

const HOST_CAPACITY: readonly (readonly [string, string])[] = [
  ['FREE_CPU', 'FREECPU'],
  ['FREE_MEMORY', 'FREEMEMORY'],
  ['USED_CPU', 'USEDCPU'],
  ['USED_MEMORY', 'USEDMEMORY'],
  ['TOTAL_CPU', 'TOTALCPU'],
  ['TOTAL_MEMORY', 'TOTALMEMORY'],
];
const HOST_SYSTEM: readonly (readonly [string, string])[] = [
  ['NETRX', 'NETRX'],
  ['NETTX', 'NETTX'],
  ['CPU_SPEED', 'CPUSPEED'],
];

function renamed(data: Readonly<Record<string, unknown>>, names: readonly (readonly [string, string])[]) {
  const out: Record<string, unknown> = {};
  for (const [name, key] of names) if (data[key] !== undefined) out[name] = data[key];
  return out;
}

/** One record of `MONITORING_DATA/MONITORING`. */
export interface MonitoringRecordBody {
  readonly TIMESTAMP: number;
  readonly ID: number;
  readonly SAMPLES?: number;
  readonly RESOLUTION: number;
  readonly [figure: string]: unknown;
}

/**
 * One MONITORING record as OpenNebula's `one.vm.monitoring` / `one.host.monitoring` list it
 * (reference §12.3, §2.5): TIMESTAMP and ID first; a VM's figures flat, a host's under CAPACITY
 * (plus Nimbus's TOTAL_CPU / TOTAL_MEMORY) and SYSTEM; then SAMPLES for a bucket and RESOLUTION.
 */
export function monitoringRecord(kind: MonitoringKind, id: number, point: SeriesPoint): MonitoringRecordBody {
  const figures: Record<string, unknown> = {};
  if (kind === 'vm') {
    for (const [key, value] of Object.entries(point.data)) if (key !== SAMPLES) figures[key] = value;
  } else {
    figures.CAPACITY = renamed(point.data, HOST_CAPACITY);
    figures.SYSTEM = renamed(point.data, HOST_SYSTEM);
  }
  const samples = point.data[SAMPLES];
  return {
    TIMESTAMP: point.ts,
    ID: id,
    ...figures,
    ...(typeof samples === 'number' ? { SAMPLES: samples } : {}),
    RESOLUTION: point.resolution,
  };
}
