import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { NimbusError } from '../../../src/domain/errors.js';
import type { Store } from '../../../src/store/index.js';
import { rejectsWith } from './assertions.js';
import { backendKind, withStore } from './backend.js';
import * as f from './fixtures.js';

/** Instantiate a VM the way the controller does: VM + image reference + NIC lease, one transaction. */
async function instantiate(
  store: Store,
  imageId: number,
  netId: number,
  index: number,
  fail?: Error,
): Promise<number> {
  return store.transaction(async (tx) => {
    const vmId = await tx.vms.insert(f.vm({ name: `vm-${index}` }));
    const img = await tx.images.get(imageId);
    await tx.images.update({ ...img, runningVms: img.runningVms + 1, vms: [...img.vms, vmId] });
    await tx.leases.insert({ vnetId: netId, arId: 0, index, owner: { kind: 'vm', id: vmId, nicId: 0 } });
    await tx.history.append(f.history(vmId));
    if (fail !== undefined) throw fail;
    return vmId;
  });
}

async function counter(store: Store, vmId: number): Promise<number> {
  return Number((await store.vms.get(vmId)).template.COUNTER?.[0] ?? 0);
}

describe(`transactions [${backendKind}]`, () => {
  test('a change across pools commits as a whole', () =>
    withStore(async (store) => {
      const imageId = await store.images.insert(f.image({ runningVms: 0, vms: [] }));
      const netId = await store.vnets.insert(f.vnet());
      const vmId = await instantiate(store, imageId, netId, 1);
      assert.equal((await store.vms.get(vmId)).name, 'vm-1');
      const img = await store.images.get(imageId);
      assert.deepEqual([img.runningVms, img.vms, img.version], [1, [vmId], 1]);
      assert.equal((await store.leases.find(netId, 0, 1))?.owner.kind, 'vm');
      assert.equal((await store.history.listByVm(vmId)).length, 1);
    }));

  test('a throw rolls everything back, the id counter included', () =>
    withStore(async (store) => {
      const imageId = await store.images.insert(f.image({ runningVms: 0, vms: [] }));
      const netId = await store.vnets.insert(f.vnet());
      const imageBefore = await store.images.get(imageId);
      await assert.rejects(
        () => instantiate(store, imageId, netId, 1, new Error('driver said no')),
        /driver said no/,
      );

      assert.equal(await store.vms.count(), 0);
      assert.deepStrictEqual(await store.images.get(imageId), imageBefore);
      assert.deepEqual(await store.leases.listByVnet(netId), []);
      assert.deepEqual(await store.history.list({}), []);
      assert.equal(
        await store.sequences.peek('vm'),
        0,
        'the rolled-back id was never visible, so it is free',
      );
      assert.equal(await store.vms.insert(f.vm()), 0);
    }));

  test('a store error half-way (lease taken) rolls back the earlier writes', () =>
    withStore(async (store) => {
      const imageId = await store.images.insert(f.image({ runningVms: 0, vms: [] }));
      const netId = await store.vnets.insert(f.vnet());
      const first = await instantiate(store, imageId, netId, 1);
      await rejectsWith(() => instantiate(store, imageId, netId, 1), 'LEASE_TAKEN');
      assert.deepEqual(
        (await store.vms.list()).items.map((v) => v.id),
        [first],
      );
      const img = await store.images.get(imageId);
      assert.deepEqual([img.runningVms, img.vms], [1, [first]]);
    }));

  test('a stale version inside a transaction is CONFLICT and rolls back', () =>
    withStore(async (store) => {
      const vmId = await store.vms.insert(f.vm());
      const stale = await store.vms.get(vmId);
      await store.vms.update({ ...stale, state: 2 });
      await rejectsWith(
        () =>
          store.transaction(async (tx) => {
            await tx.vms.insert(f.vm({ name: 'side effect' }));
            await tx.vms.update({ ...stale, state: 5 });
          }),
        'CONFLICT',
      );
      assert.equal(await store.vms.count(), 1);
      assert.equal((await store.vms.get(vmId)).state, 2);
    }));

  test('the store itself and nested transactions are refused inside a transaction', () =>
    withStore(async (store) => {
      const vmId = await store.vms.insert(f.vm());
      let later: Promise<number> | undefined;
      await store.transaction(async (tx) => {
        await rejectsWith(() => store.vms.get(vmId), 'NESTED_TRANSACTION');
        await rejectsWith(() => store.vms.insert(f.vm()), 'NESTED_TRANSACTION');
        await rejectsWith(() => store.transaction(async () => undefined), 'NESTED_TRANSACTION');
        await tx.vms.get(vmId);
        // Work started inside but run after the commit is outside the transaction: allowed.
        later = sleep(20).then(() => store.vms.count());
      });
      assert.equal(await later, 1);
    }));

  test('retries re-run the work after CONFLICT', () =>
    withStore(async (store) => {
      let attempts = 0;
      const id = await store.transaction(
        async (tx) => {
          attempts++;
          const inserted = await tx.vms.insert(f.vm({ name: `attempt-${attempts}` }));
          if (attempts < 3) throw new NimbusError('CONFLICT', 'simulated');
          return inserted;
        },
        { retries: 5 },
      );
      assert.equal(attempts, 3);
      assert.deepEqual(
        (await store.vms.list()).items.map((v) => [v.id, v.name]),
        [[id, 'attempt-3']],
      );
      await rejectsWith(
        () =>
          store.transaction(
            async () => {
              throw new NimbusError('CONFLICT', 'always');
            },
            { retries: 2 },
          ),
        'CONFLICT',
      );
    }));

  test(
    backendKind === 'sqlite'
      ? 'SQLite transactions run one at a time, in arrival order'
      : 'PostgreSQL transactions run concurrently',
    () =>
      withStore(async (store) => {
        const events: string[] = [];
        const slow = store.transaction(async (tx) => {
          events.push('A begin');
          await tx.vms.insert(f.vm({ name: 'a' }));
          await sleep(100);
          events.push('A end');
        });
        await sleep(10);
        const fast = store.transaction(async (tx) => {
          events.push('B begin');
          await tx.vms.insert(f.vm({ name: 'b' }));
          events.push('B end');
        });
        await Promise.all([slow, fast]);
        if (backendKind === 'sqlite') {
          assert.deepEqual(events, ['A begin', 'A end', 'B begin', 'B end']);
        } else {
          // B waits only for A's lock on the VM id counter, not for A to finish its work.
          assert.deepEqual(events.slice(0, 2), ['A begin', 'B begin']);
        }
        assert.equal(await store.vms.count(), 2);
      }),
  );
});

describe(`concurrent writers [${backendKind}]`, () => {
  const WRITERS = 20;
  const INCREMENTS = 5;

  async function incrementOutsideTransaction(store: Store, vmId: number): Promise<number> {
    for (let conflicts = 0; ; conflicts++) {
      const vm = await store.vms.get(vmId);
      const value = Number(vm.template.COUNTER?.[0] ?? 0);
      try {
        await store.vms.update({ ...vm, template: { ...vm.template, COUNTER: [String(value + 1)] } });
        return conflicts;
      } catch (error) {
        if (!(error instanceof NimbusError) || error.code !== 'CONFLICT') throw error;
      }
    }
  }

  test('read-modify-write with retry on CONFLICT loses no increment', () =>
    withStore(async (store) => {
      const vmId = await store.vms.insert(f.vm());
      const conflicts = await Promise.all(
        Array.from({ length: WRITERS }, async () => {
          let total = 0;
          for (let i = 0; i < INCREMENTS; i++) total += await incrementOutsideTransaction(store, vmId);
          return total;
        }),
      );
      assert.equal(await counter(store, vmId), WRITERS * INCREMENTS);
      assert.equal((await store.vms.get(vmId)).version, WRITERS * INCREMENTS);
      assert.ok(
        conflicts.reduce((a, b) => a + b, 0) > 0,
        'the writers did collide, so the version check was exercised',
      );
    }));

  test('read-modify-write transactions with retries lose no increment', () =>
    withStore(async (store) => {
      const vmId = await store.vms.insert(f.vm());
      const hostId = await store.hosts.insert(f.host());
      await Promise.all(
        Array.from({ length: WRITERS }, async () => {
          for (let i = 0; i < INCREMENTS; i++) {
            await store.transaction(
              async (tx) => {
                const vm = await tx.vms.get(vmId);
                const host = await tx.hosts.get(hostId);
                const value = Number(vm.template.COUNTER?.[0] ?? 0);
                await tx.vms.update({ ...vm, template: { ...vm.template, COUNTER: [String(value + 1)] } });
                await tx.hosts.update({
                  ...host,
                  share: { ...host.share, runningVms: host.share.runningVms + 1 },
                });
              },
              { retries: 1000 },
            );
          }
        }),
      );
      assert.equal(await counter(store, vmId), WRITERS * INCREMENTS);
      assert.equal(
        (await store.hosts.get(hostId)).share.runningVms,
        f.host().share.runningVms + WRITERS * INCREMENTS,
      );
    }));

  test('concurrent inserts get distinct consecutive ids', () =>
    withStore(async (store) => {
      const ids = await Promise.all(
        Array.from({ length: 50 }, (_, i) => store.vms.insert(f.vm({ name: `vm-${i}` }))),
      );
      assert.deepEqual(
        [...ids].sort((a, b) => a - b),
        Array.from({ length: 50 }, (_, i) => i),
      );
      const byName = new Map((await store.vms.list()).items.map((v) => [v.name, v.id]));
      ids.forEach((id, i) => assert.equal(byName.get(`vm-${i}`), id));
    }));
});
