import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { bucketStart, downsample, type TimedFigures } from '../../../src/domain/monitoring/index.js';

const sample = fc.record({
  ts: fc.integer({ min: 0, max: 100_000 }),
  data: fc.record({
    CPU: fc.double({ min: 0, max: 6_400, noNaN: true }),
    MEMORY: fc.integer({ min: 0, max: 2 ** 40 }),
    NETRX: fc.integer({ min: 0, max: 2 ** 50 }),
  }),
});

describe('downsample (properties)', () => {
  it('keeps the sample count, puts each bucket at its start, and each mean between min and max', () => {
    fc.assert(
      fc.property(
        fc.array(sample, { maxLength: 200 }),
        fc.integer({ min: 1, max: 7_200 }),
        (samples, bucketS) => {
          const buckets = downsample(samples, bucketS);
          const total = buckets.reduce((n, b) => n + (b.data.SAMPLES as number), 0);
          assert.equal(total, samples.length);
          for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i - 1]!.ts < buckets[i]!.ts);
          for (const b of buckets) {
            assert.equal(b.ts % bucketS, 0);
            const inside = samples.filter((s) => bucketStart(s.ts, bucketS) === b.ts);
            assert.equal(inside.length, b.data.SAMPLES);
            for (const key of ['CPU', 'MEMORY'] as const) {
              const values = inside.map((s) => s.data[key]);
              const mean = b.data[key] as number;
              assert.ok(
                Math.min(...values) <= mean && mean <= Math.max(...values),
                `${key} ${mean} in ${values}`,
              );
            }
            const newest = inside.reduce((a, s) => (s.ts >= a.ts ? s : a));
            const lastAtNewest = inside.filter((s) => s.ts === newest.ts).at(-1)!;
            assert.equal(b.data.NETRX, lastAtNewest.data.NETRX);
          }
        },
      ),
    );
  });

  it('folding in parts gives the same counts as folding at once', () => {
    fc.assert(
      fc.property(
        fc.array(sample, { minLength: 1, maxLength: 100 }),
        fc.nat({ max: 100 }),
        (samples, cut) => {
          const sorted = [...samples].sort((a, b) => a.ts - b.ts);
          const at = Math.min(cut, sorted.length);
          const partial: TimedFigures[] = [...downsample(sorted.slice(0, at), 600), ...sorted.slice(at)];
          const merged = downsample(partial, 600);
          const direct = downsample(sorted, 600);
          assert.deepEqual(
            merged.map((b) => [b.ts, b.data.SAMPLES, b.data.NETRX]),
            direct.map((b) => [b.ts, b.data.SAMPLES, b.data.NETRX]),
          );
        },
      ),
    );
  });
});
