import { figureKind, SAMPLES } from './figures.js';

/** Figures at one time: a raw sample (ts = report time) or a bucket (ts = bucket start). */
export interface TimedFigures {
  /** Epoch seconds. */
  readonly ts: number;
  readonly data: Readonly<Record<string, unknown>>;
}

/** Start of the bucket of `bucketS` seconds that holds `ts` (buckets are aligned to the epoch). */
export function bucketStart(ts: number, bucketS: number): number {
  return Math.floor(ts / bucketS) * bucketS;
}

/** A raw sample stands for one; a bucket for the SAMPLES it carries (so buckets merge exactly). */
function weightOf(data: Readonly<Record<string, unknown>>): number {
  const n = data[SAMPLES];
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : 1;
}

/** Two decimals are all a graph shows; the clamp keeps the rounded mean inside what was seen. */
function roundedMean(sum: number, weight: number, min: number, max: number): number {
  const mean = Math.round((sum / weight) * 100) / 100;
  return Math.min(max, Math.max(min, mean));
}

function combine(samples: readonly TimedFigures[]): Record<string, unknown> {
  const keys: string[] = [];
  const seen = new Set<string>();
  for (const s of samples) {
    for (const key of Object.keys(s.data)) {
      if (key !== SAMPLES && !seen.has(key)) {
        seen.add(key);
        keys.push(key);
      }
    }
  }
  const data: Record<string, unknown> = {};
  let total = 0;
  for (const s of samples) total += weightOf(s.data);
  for (const key of keys) {
    let last: unknown;
    let sum = 0;
    let weight = 0;
    let min = Infinity;
    let max = -Infinity;
    for (const s of samples) {
      if (!Object.hasOwn(s.data, key)) continue;
      const value = s.data[key];
      last = value;
      if (typeof value === 'number' && Number.isFinite(value)) {
        const w = weightOf(s.data);
        sum += value * w;
        weight += w;
        min = Math.min(min, value);
        max = Math.max(max, value);
      }
    }
    data[key] = figureKind(key) === 'gauge' && weight > 0 ? roundedMean(sum, weight, min, max) : last;
  }
  data[SAMPLES] = total;
  return data;
}

/**
 * Samples (and earlier buckets) into buckets of `bucketS` seconds, oldest first: gauges are the
 * mean weighted by SAMPLES, counters and other figures the value of the latest sample holding
 * them, and SAMPLES the number of raw samples the bucket stands for.
 */
export function downsample(samples: readonly TimedFigures[], bucketS: number): TimedFigures[] {
  if (!Number.isInteger(bucketS) || bucketS <= 0) {
    throw new RangeError(`a bucket is a whole number of seconds above 0, got ${bucketS}`);
  }
  const groups = new Map<number, TimedFigures[]>();
  for (const s of samples) {
    const start = bucketStart(s.ts, bucketS);
    const group = groups.get(start);
    if (group === undefined) groups.set(start, [s]);
    else group.push(s);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => a - b)
    .map(([ts, group]) => ({ ts, data: combine(group.sort((a, b) => a.ts - b.ts)) }));
}
