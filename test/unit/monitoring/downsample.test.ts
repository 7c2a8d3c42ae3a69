import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bucketStart, downsample, figureKind } from '../../../src/domain/monitoring/index.js';

const vm = (ts: number, cpu: number, netrx: number, extra: Record<string, unknown> = {}) => ({
  ts,
  data: { CPU: cpu, MEMORY: 1000, NETRX: netrx, DISK_SIZE: [{ ID: 0, SIZE: 10 }], ...extra },
});

describe('downsample', () => {
  it('aligns buckets to multiples of the bucket size, oldest first', () => {
    assert.equal(bucketStart(1_700_000_123, 600), 1_699_999_800);
    const out = downsample([vm(1_250, 1, 5), vm(590, 1, 1), vm(600, 1, 2), vm(10, 1, 0)], 600);
    assert.deepEqual(
      out.map((b) => [b.ts, b.data.SAMPLES]),
      [
        [0, 2],
        [600, 1],
        [1_200, 1],
      ],
    );
  });

  it('averages gauges, keeps the last value of counters, totals and lists', () => {
    const [bucket] = downsample(
      [
        vm(30, 10, 100, { DISK_SIZE: [{ ID: 0, SIZE: 20 }] }),
        vm(0, 20, 50),
        vm(60, 30, 180, { MEMORY: 4000 }),
      ],
      300,
    );
    assert.deepEqual(bucket, {
      ts: 0,
      data: { CPU: 20, MEMORY: 2000, NETRX: 180, DISK_SIZE: [{ ID: 0, SIZE: 10 }], SAMPLES: 3 },
    });
  });

  it('host figures: USED/FREE are gauges, TOTAL and counters the last value', () => {
    assert.equal(figureKind('USEDCPU'), 'gauge');
    assert.equal(figureKind('FREEMEMORY'), 'gauge');
    assert.equal(figureKind('TOTALCPU'), 'last');
    assert.equal(figureKind('NETTX'), 'counter');
    assert.equal(figureKind('DISKWRIOPS'), 'counter');
    assert.equal(figureKind('SOMETHING_NEW'), 'last');
    const [b] = downsample(
      [
        { ts: 120, data: { TOTALCPU: 800, USEDCPU: 100, NETTX: 7 } },
        { ts: 240, data: { TOTALCPU: 1600, USEDCPU: 300, NETTX: 9 } },
      ],
      3_600,
    );
    assert.deepEqual(b!.data, { TOTALCPU: 1600, USEDCPU: 200, NETTX: 9, SAMPLES: 2 });
  });

  it('weighs a stored bucket by its SAMPLES when merging (composes with itself)', () => {
    const raw = [vm(0, 10, 1), vm(30, 20, 2), vm(60, 60, 3), vm(90, 10, 4)];
    const once = downsample(raw, 300);
    const twice = downsample([...downsample(raw.slice(0, 3), 300), raw[3]!], 300);
    assert.deepEqual(twice, once);
    assert.equal(once[0]!.data.CPU, 25);
    assert.equal(once[0]!.data.SAMPLES, 4);
  });

  it('rounds means to two decimals, inside the range seen', () => {
    const [b] = downsample([vm(0, 1, 0), vm(1, 1, 0), vm(2, 2, 0)], 60);
    assert.equal(b!.data.CPU, 1.33);
    const [c] = downsample([vm(0, 1.004, 0), vm(1, 1.004, 0)], 60);
    assert.equal(c!.data.CPU, 1.004);
  });

  it('a figure missing from some samples is averaged over those that have it; a non-number is kept as last', () => {
    const [b] = downsample(
      [
        { ts: 0, data: { CPU: 10 } },
        { ts: 1, data: { MEMORY: 5 } },
        { ts: 2, data: { CPU: 'n/a' } },
        { ts: 3, data: { MEMORY: 'x' } },
      ],
      60,
    );
    assert.deepEqual(b!.data, { CPU: 10, MEMORY: 5, SAMPLES: 4 });
    const [c] = downsample([{ ts: 0, data: { CPU: 'n/a', SAMPLES: -3 } }], 60);
    assert.deepEqual(c!.data, { CPU: 'n/a', SAMPLES: 1 });
  });

  it('no samples, no buckets; a bucket size that is not a positive whole number is refused', () => {
    assert.deepEqual(downsample([], 60), []);
    assert.throws(() => downsample([], 0), RangeError);
    assert.throws(() => downsample([], 1.5), /whole number of seconds/);
  });
});
