import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Store } from '../../../src/store/index.js';
import { backendKind, withStore } from './backend.js';

/** 100 s into a 900 s bucket (it starts at 1_700_000_100) and into a 300 s one. */
const T0 = 1_700_000_200;

function vmSample(objectId: number, ts: number, cpu: number, netrx: number) {
  return {
    objectId,
    ts,
    data: { CPU: cpu, MEMORY: 1_048_576, NETRX: netrx, DISK_SIZE: [{ ID: 0, SIZE: 10_240 }] },
  };
}

/** Every row of a table, for checks that look past the repository's own reads. */
async function rows(store: Store, kind: 'host' | 'vm', objectId: number, resolution: number) {
  return store.monitoring.range(kind, objectId, { since: 0, resolution });
}

describe(`monitoring samples [${backendKind}]`, () => {
  test('insert reads back in time order; a re-sent sample is ignored', () =>
    withStore(async (store) => {
      const n = await store.monitoring.insert('vm', [
        vmSample(1, T0 + 60, 30, 300),
        vmSample(1, T0, 10, 100),
        vmSample(1, T0 + 30, 20, 200),
        vmSample(2, T0, 99, 9),
      ]);
      assert.equal(n, 4);
      assert.equal(
        await store.monitoring.insert('vm', [vmSample(1, T0, 55, 555), vmSample(1, T0 + 90, 40, 400)]),
        1,
      );
      const all = await store.monitoring.range('vm', 1, { since: 0 });
      assert.deepEqual(
        all.map((s) => [s.ts, s.data.CPU]),
        [
          [T0, 10],
          [T0 + 30, 20],
          [T0 + 60, 30],
          [T0 + 90, 40],
        ],
      );
      assert.deepEqual(all[0]!.data, {
        CPU: 10,
        MEMORY: 1_048_576,
        NETRX: 100,
        DISK_SIZE: [{ ID: 0, SIZE: 10_240 }],
      });
      const window = await store.monitoring.range('vm', 1, { since: T0 + 30, until: T0 + 60 });
      assert.deepEqual(
        window.map((s) => s.ts),
        [T0 + 30, T0 + 60],
      );
      assert.deepEqual(await store.monitoring.range('vm', 1, { since: 0, resolution: 900 }), []);
      assert.deepEqual(await store.monitoring.range('host', 1, { since: 0 }), [], 'hosts and VMs are apart');
    }));

  test('a batch larger than one statement goes in whole', () =>
    withStore(async (store) => {
      const samples = Array.from({ length: 2_500 }, (_, i) => vmSample(i, T0, i % 100, i));
      assert.equal(await store.monitoring.insert('vm', samples), 2_500);
      assert.equal(await store.monitoring.insert('vm', samples), 0);
      assert.equal((await store.monitoring.latest('vm')).length, 2_500);
      assert.equal(await store.monitoring.insert('vm', []), 0);
    }));

  test('latest: the newest raw sample per object, of the given objects', () =>
    withStore(async (store) => {
      await store.monitoring.insert('vm', [
        vmSample(3, T0, 1, 1),
        vmSample(3, T0 + 30, 2, 2),
        vmSample(5, T0 + 10, 7, 7),
        vmSample(8, T0 - 5_000, 9, 9),
      ]);
      await store.monitoring.insert('host', [{ objectId: 3, ts: T0 + 999, data: { USEDCPU: 1 } }]);
      const all = await store.monitoring.latest('vm');
      assert.deepEqual(
        all.map((s) => [s.objectId, s.ts, s.data.CPU]),
        [
          [3, T0 + 30, 2],
          [5, T0 + 10, 7],
          [8, T0 - 5_000, 9],
        ],
      );
      const some = await store.monitoring.latest('vm', [8, 3, 42]);
      assert.deepEqual(
        some.map((s) => s.objectId),
        [3, 8],
      );
      assert.deepEqual(await store.monitoring.latest('vm', []), []);
      assert.deepEqual(
        (await store.monitoring.latest('host')).map((s) => [s.objectId, s.ts]),
        [[3, T0 + 999]],
      );
    }));

  test('compact folds raw samples into buckets and deletes them; later ones merge into the bucket', () =>
    withStore(async (store) => {
      const bucket = T0 - 100; // the 900 s bucket holding T0
      await store.monitoring.insert('vm', [
        vmSample(1, T0, 10, 100),
        vmSample(1, T0 + 30, 20, 200),
        vmSample(1, T0 + 60, 60, 300),
        vmSample(1, bucket + 900, 5, 400), // next bucket: newer than the cut, stays raw
        vmSample(2, T0 + 5, 50, 7),
      ]);
      const first = await store.monitoring.compact('vm', { olderThan: T0 + 31, bucketS: 900 });
      assert.deepEqual(first, { samples: 3, buckets: 2 });
      assert.deepEqual(await rows(store, 'vm', 1, 900), [
        {
          ts: bucket,
          data: { CPU: 15, MEMORY: 1_048_576, NETRX: 200, DISK_SIZE: [{ ID: 0, SIZE: 10_240 }], SAMPLES: 2 },
        },
      ]);
      assert.deepEqual(
        (await rows(store, 'vm', 1, 0)).map((s) => s.ts),
        [T0 + 60, bucket + 900],
      );
      assert.equal((await rows(store, 'vm', 2, 900))[0]!.data.SAMPLES, 1);

      // The rest of the bucket, folded later: weighted into the stored bucket, newest counter wins.
      const second = await store.monitoring.compact('vm', { olderThan: bucket + 900, bucketS: 900 });
      assert.deepEqual(second, { samples: 1, buckets: 1 });
      const [merged] = await rows(store, 'vm', 1, 900);
      assert.equal(merged!.data.SAMPLES, 3);
      assert.equal(merged!.data.CPU, 30);
      assert.equal(merged!.data.NETRX, 300);
      assert.deepEqual(
        (await rows(store, 'vm', 1, 0)).map((s) => s.ts),
        [bucket + 900],
      );
      assert.deepEqual(await store.monitoring.compact('vm', { olderThan: bucket + 900, bucketS: 900 }), {
        samples: 0,
        buckets: 0,
      });
      await assert.rejects(store.monitoring.compact('vm', { olderThan: T0, bucketS: 0 }), RangeError);
    }));

  test('compact works through many objects in batches, and inside a transaction', () =>
    withStore(async (store) => {
      // 30,000 samples: more than one compaction batch.
      const samples = [];
      for (let id = 0; id < 500; id++)
        for (let i = 0; i < 60; i++) samples.push(vmSample(id, T0 + i * 10, i, i));
      assert.equal(await store.monitoring.insert('vm', samples), 30_000);
      const r = await store.monitoring.compact('vm', { olderThan: T0 + 10_000, bucketS: 300 });
      assert.equal(r.samples, 30_000);
      // T0 + 0..590 s spans 300 s buckets starting at T0 - 100, T0 + 200, T0 + 500.
      assert.equal(r.buckets, 1_500);
      const buckets = await rows(store, 'vm', 499, 300);
      assert.deepEqual(
        buckets.map((b) => [b.ts, b.data.SAMPLES, b.data.NETRX]),
        [
          [T0 - 100, 20, 19],
          [T0 + 200, 30, 49],
          [T0 + 500, 10, 59],
        ],
      );
      assert.deepEqual(await store.monitoring.latest('vm'), []);

      await store.monitoring.insert('host', [{ objectId: 0, ts: T0, data: { USEDCPU: 100, NETRX: 1 } }]);
      const inTx = await store.transaction((tx) =>
        tx.monitoring.compact('host', { olderThan: T0 + 1, bucketS: 300 }),
      );
      assert.deepEqual(inTx, { samples: 1, buckets: 1 });
    }));

  test('expire deletes old buckets of one resolution or all; deleteObject removes an object', () =>
    withStore(async (store) => {
      await store.monitoring.insert('vm', [
        vmSample(1, T0, 1, 1),
        vmSample(1, T0 + 1_000, 1, 1),
        vmSample(1, T0 + 5_000, 1, 1),
        vmSample(2, T0, 1, 1),
      ]);
      await store.monitoring.compact('vm', { olderThan: T0 + 2_000, bucketS: 900 });
      await store.monitoring.compact('vm', { olderThan: T0 + 6_000, bucketS: 60 });
      assert.equal((await rows(store, 'vm', 1, 900)).length, 2);
      assert.equal((await rows(store, 'vm', 1, 60)).length, 1);
      assert.equal(await store.monitoring.insert('vm', [vmSample(1, T0 - 10, 1, 1)]), 1);

      assert.equal(await store.monitoring.expire('vm', { olderThan: T0 + 500, resolution: 900 }), 2);
      assert.equal((await rows(store, 'vm', 1, 900)).length, 1);
      assert.equal((await rows(store, 'vm', 1, 0)).length, 1, 'raw samples are not expired with buckets');
      assert.equal(await store.monitoring.expire('vm', { olderThan: T0 + 10_000 }), 2);
      assert.deepEqual(await rows(store, 'vm', 1, 60), []);
      assert.equal((await rows(store, 'vm', 1, 0)).length, 1);

      await store.monitoring.insert('vm', [vmSample(3, T0, 1, 1)]);
      assert.equal(await store.monitoring.deleteObject('vm', 1), 1);
      assert.equal(await store.monitoring.deleteObject('vm', 1), 0);
      assert.equal((await rows(store, 'vm', 3, 0)).length, 1);
    }));
});
