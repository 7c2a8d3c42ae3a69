import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Store, VmFilter } from '../../../src/store/index.js';
import { backendKind, withStore } from './backend.js';
import * as f from './fixtures.js';

const DONE = 6;
const ACTIVE = 3;

/** 25 VMs: uid = id % 3, gid = id % 2, state cycles PENDING/ACTIVE/DONE, even ids on host 1. */
async function seedVms(store: Store): Promise<void> {
  const states = [1, ACTIVE, DONE];
  await store.vms.insertMany(
    Array.from({ length: 25 }, (_, i) =>
      f.vm({
        name: i === 7 ? 'web_50%-Prod' : `vm-${String(i).padStart(2, '0')}`,
        uid: i % 3,
        gid: i % 2,
        permissions: i === 4 ? 0o604 : i === 5 ? 0o640 : 0o600,
        state: states[i % 3],
        lcmState: states[i % 3] === ACTIVE ? 3 : 0,
        hostId: i % 2 === 0 ? 1 : null,
      }),
    ),
  );
}

describe(`pagination [${backendKind}]`, () => {
  test('keyset pages cover the pool once, in id order', () =>
    withStore(async (store) => {
      await seedVms(store);
      const seen: number[] = [];
      const sizes: number[] = [];
      let afterId: number | undefined;
      for (;;) {
        const page = await store.vms.list(undefined, {
          limit: 10,
          ...(afterId === undefined ? {} : { afterId }),
        });
        seen.push(...page.items.map((v) => v.id));
        sizes.push(page.items.length);
        if (page.nextAfterId === null) break;
        afterId = page.nextAfterId;
      }
      assert.deepEqual(sizes, [10, 10, 5]);
      assert.deepEqual(
        seen,
        Array.from({ length: 25 }, (_, i) => i),
      );
    }));

  test('a full last page is followed by an empty one; filters combine with pages', () =>
    withStore(async (store) => {
      await seedVms(store);
      const first = await store.vms.list({ hostId: 1 }, { limit: 13 });
      assert.equal(first.items.length, 13);
      assert.equal(first.nextAfterId, 24);
      const rest = await store.vms.list({ hostId: 1 }, { limit: 13, afterId: 24 });
      assert.deepEqual(rest, { items: [], nextAfterId: null });
    }));

  test('offset pages (OpenNebula start / -page size)', () =>
    withStore(async (store) => {
      await seedVms(store);
      const ids = async (offset: number, limit?: number) =>
        (await store.vms.list(undefined, { offset, ...(limit === undefined ? {} : { limit }) })).items.map(
          (v) => v.id,
        );
      assert.deepEqual(await ids(20, 10), [20, 21, 22, 23, 24]);
      assert.deepEqual(await ids(22), [22, 23, 24]);
      assert.deepEqual(await ids(30, 10), []);
    }));
});

describe(`filters [${backendKind}]`, () => {
  test('VM filters: owner, group, state, lcm state, host, ids, ranges, names', () =>
    withStore(async (store) => {
      await seedVms(store);
      const ids = async (filter: VmFilter) => (await store.vms.list(filter)).items.map((v) => v.id);
      const expect = (pred: (i: number) => boolean) => Array.from({ length: 25 }, (_, i) => i).filter(pred);

      assert.deepEqual(
        await ids({ uid: 1 }),
        expect((i) => i % 3 === 1),
      );
      assert.deepEqual(
        await ids({ uid: 1, gid: 0 }),
        expect((i) => i % 3 === 1 && i % 2 === 0),
      );
      assert.deepEqual(
        await ids({ state: ACTIVE }),
        expect((i) => i % 3 === 1),
      );
      assert.deepEqual(
        await ids({ state: [1, DONE] }),
        expect((i) => i % 3 !== 1),
      );
      assert.deepEqual(await ids({ state: [] }), []);
      assert.deepEqual(
        await ids({ stateNot: DONE }),
        expect((i) => i % 3 !== 2),
      );
      assert.deepEqual(
        await ids({ lcmState: 3 }),
        expect((i) => i % 3 === 1),
      );
      assert.deepEqual(
        await ids({ hostId: 1 }),
        expect((i) => i % 2 === 0),
      );
      assert.deepEqual(await ids({ ids: [3, 5, 99] }), [3, 5]);
      assert.deepEqual(await ids({ ids: [] }), []);
      assert.deepEqual(await ids({ idFrom: 20 }), [20, 21, 22, 23, 24]);
      assert.deepEqual(await ids({ idFrom: 3, idTo: 5 }), [3, 4, 5]);
      assert.deepEqual(await ids({ name: 'vm-03' }), [3]);
      assert.deepEqual(
        await ids({ nameContains: 'VM-1' }),
        expect((i) => i >= 10 && i < 20),
      );
      // % and _ are literal characters in a name search, not wildcards
      assert.deepEqual(await ids({ nameContains: '50%-p' }), [7]);
      assert.deepEqual(await ids({ nameContains: '%' }), [7]);
      assert.deepEqual(await ids({ nameContains: 'b_5' }), [7]);
      assert.deepEqual(await ids({ nameContains: 'm_0' }), []);
      assert.equal(
        await store.vms.count({ stateNot: DONE, hostId: 1 }),
        expect((i) => i % 3 !== 2 && i % 2 === 0).length,
      );
      assert.equal(await store.vms.count(), 25);
    }));

  test('visibleTo: owned, group with GROUP_U, OTHER_U, and ACL grants', () =>
    withStore(async (store) => {
      await seedVms(store);
      const ids = async (filter: VmFilter) => (await store.vms.list(filter)).items.map((v) => v.id);
      // uid 9 owns nothing; vm 4 has OTHER_U (0o604); vm 5 (gid 1) has GROUP_U (0o640)
      assert.deepEqual(await ids({ visibleTo: { uid: 9, gids: [], otherUse: false } }), []);
      assert.deepEqual(await ids({ visibleTo: { uid: 9, gids: [], otherUse: true } }), [4]);
      assert.deepEqual(await ids({ visibleTo: { uid: 9, gids: [1], otherUse: false } }), [5]);
      assert.deepEqual(await ids({ visibleTo: { uid: 9, gids: [0], otherUse: false } }), []);
      assert.deepEqual(
        await ids({ visibleTo: { uid: 2, gids: [1], otherUse: true } }),
        [2, 4, 5, 8, 11, 14, 17, 20, 23],
      );
      assert.deepEqual(
        await ids({ visibleTo: { uid: 9, gids: [], otherUse: false, aclUids: [0], aclIds: [1] } }),
        [0, 1, 3, 6, 9, 12, 15, 18, 21, 24],
      );
      assert.deepEqual(
        await ids({ visibleTo: { uid: 9, gids: [], otherUse: false, aclGids: [1] }, idTo: 6 }),
        [1, 3, 5],
      );
    }));

  test('images by datastore, state and persistence; datastores by cluster and type; hosts by cluster and state', () =>
    withStore(async (store) => {
      await store.images.insert(f.image({ name: 'a', datastoreId: 1, state: 1 }));
      await store.images.insert(f.image({ name: 'b', datastoreId: 100, state: 2, persistent: true }));
      await store.images.insert(f.image({ name: 'c', datastoreId: 1, state: 4, persistent: true }));
      const images = async (filter: Parameters<Store['images']['list']>[0]) =>
        (await store.images.list(filter)).items.map((i) => i.name);
      assert.deepEqual(await images({ datastoreId: 1 }), ['a', 'c']);
      assert.deepEqual(await images({ persistent: true, state: [2, 4] }), ['b', 'c']);

      await store.datastores.insert(f.datastore({ name: 'system', type: 1, clusters: [0] }));
      await store.datastores.insert(f.datastore({ name: 'images', type: 0, clusters: [0, 100] }));
      await store.datastores.insert(f.datastore({ name: 'files', type: 2, clusters: [] }));
      const datastores = async (filter: Parameters<Store['datastores']['list']>[0]) =>
        (await store.datastores.list(filter)).items.map((d) => d.name);
      assert.deepEqual(await datastores({ clusterId: 0 }), ['system', 'images']);
      assert.deepEqual(await datastores({ clusterId: 100, type: 0 }), ['images']);
      assert.deepEqual(await datastores({ type: [1, 2] }), ['system', 'files']);

      await store.hosts.insert(f.host({ name: 'h1', clusterId: 0, state: 2 }));
      await store.hosts.insert(f.host({ name: 'h2', clusterId: 100, state: 2 }));
      await store.hosts.insert(f.host({ name: 'h3', clusterId: 100, state: 4 }));
      const hosts = async (filter: Parameters<Store['hosts']['list']>[0]) =>
        (await store.hosts.list(filter)).items.map((h) => h.name);
      assert.deepEqual(await hosts({ clusterId: 100 }), ['h2', 'h3']);
      assert.deepEqual(await hosts({ clusterId: 100, state: 2 }), ['h2']);
      assert.deepEqual(await hosts({ nameContains: 'H' }), ['h1', 'h2', 'h3']);
    }));
});
