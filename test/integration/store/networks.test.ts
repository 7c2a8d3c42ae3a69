import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LeaseRecord } from '../../../src/domain/vnet/record.js';
import { rejectsWith } from './assertions.js';
import { backendKind, withStore } from './backend.js';
import * as f from './fixtures.js';

const lease = (vnetId: number, arId: number, index: number, owner: LeaseRecord['owner']): LeaseRecord => ({
  vnetId,
  arId,
  index,
  owner,
});

describe(`address ranges [${backendKind}]`, () => {
  test('ARs are kept in the record order, updated, added and removed with the vnet', () =>
    withStore(async (store) => {
      const id = await store.vnets.insert(
        f.vnet({ ars: [f.addressRange({ arId: 5 }), f.addressRange({ arId: 2, ip: '10.0.2.1' })] }),
      );
      const stored = await store.vnets.get(id);
      assert.deepEqual(
        stored.ars.map((ar) => ar.arId),
        [5, 2],
      );
      const ars = [
        f.addressRange({ arId: 2, next: 17, size: 10 }),
        f.addressRange({ arId: 9, type: 'ETHER', ip: null }),
      ];
      const updated = await store.vnets.update({ ...stored, ars });
      assert.deepStrictEqual(await store.vnets.get(id), updated);
      assert.deepStrictEqual(updated.ars, ars);
    }));

  test('an AR or a vnet with leases cannot be removed: IN_USE, and nothing changes', () =>
    withStore(async (store) => {
      const id = await store.vnets.insert(f.vnet());
      await store.leases.insert(lease(id, 1, 3, { kind: 'hold' }));
      const before = await store.vnets.get(id);

      const error = await rejectsWith(
        () =>
          store.vnets.update({ ...before, name: 'renamed', ars: before.ars.filter((ar) => ar.arId !== 1) }),
        'IN_USE',
      );
      assert.match(error.message, /AR 1 of vnet 0 has leased addresses/);
      assert.deepStrictEqual(await store.vnets.get(id), before, 'the refused update left no trace');

      await rejectsWith(() => store.vnets.delete(id), 'IN_USE');
      await store.leases.delete(id, 1, 3);
      await store.vnets.delete(id);
      await rejectsWith(() => store.vnets.get(id), 'NOT_FOUND');
    }));

  test('vnets are found by cluster', () =>
    withStore(async (store) => {
      const a = await store.vnets.insert(f.vnet({ name: 'a', clusters: [0, 100] }));
      const b = await store.vnets.insert(f.vnet({ name: 'b', clusters: [100] }));
      await store.vnets.insert(f.vnet({ name: 'c', clusters: [] }));
      const inCluster = async (clusterId: number) =>
        (await store.vnets.list({ clusterId })).items.map((v) => v.id);
      assert.deepEqual(await inCluster(100), [a, b]);
      assert.deepEqual(await inCluster(0), [a]);
      await store.vnets.update({ ...(await store.vnets.get(a)), clusters: [0] });
      assert.deepEqual(await inCluster(100), [b]);
    }));
});

describe(`leases [${backendKind}]`, () => {
  test('insert, find, list, count per AR, release', () =>
    withStore(async (store) => {
      const net = await store.vnets.insert(f.vnet());
      const vm1 = lease(net, 0, 4, { kind: 'vm', id: 7, nicId: 0 });
      const vm1b = lease(net, 1, 0, { kind: 'vm', id: 7, nicId: 1 });
      const reservation = lease(net, 0, 10, { kind: 'vnet', id: 3 });
      const hold = lease(net, 0, 0, { kind: 'hold' });
      for (const l of [vm1, vm1b, reservation, hold]) await store.leases.insert(l);

      assert.deepStrictEqual(await store.leases.find(net, 0, 4), vm1);
      assert.equal(await store.leases.find(net, 0, 5), undefined);
      assert.deepStrictEqual(await store.leases.listByVnet(net), [hold, vm1, reservation, vm1b]);
      assert.deepStrictEqual(await store.leases.listByVnet(net, 1), [vm1b]);
      assert.deepStrictEqual(await store.leases.listByOwner({ kind: 'vm', id: 7 }), [vm1, vm1b]);
      assert.deepStrictEqual(await store.leases.listByOwner({ kind: 'vnet', id: 3 }), [reservation]);
      assert.deepStrictEqual(await store.leases.listByOwner({ kind: 'hold' }), [hold]);
      assert.deepEqual(
        await store.leases.countByAr(net),
        new Map([
          [0, 3],
          [1, 1],
        ]),
      );

      assert.equal(await store.leases.deleteByOwner({ kind: 'vm', id: 7 }), 2);
      await store.leases.delete(net, 0, 0);
      await rejectsWith(() => store.leases.delete(net, 0, 0), 'NOT_FOUND');
      assert.deepStrictEqual(await store.leases.listByVnet(net), [reservation]);
    }));

  test('an address cannot be leased twice, and only in an AR that exists', () =>
    withStore(async (store) => {
      const net = await store.vnets.insert(f.vnet());
      await store.leases.insert(lease(net, 0, 4, { kind: 'vm', id: 1, nicId: 0 }));
      const error = await rejectsWith(
        () => store.leases.insert(lease(net, 0, 4, { kind: 'vm', id: 2, nicId: 0 })),
        'LEASE_TAKEN',
      );
      assert.match(error.message, /address 4 of AR 0 in vnet 0 is already leased/);
      await rejectsWith(() => store.leases.insert(lease(net, 7, 0, { kind: 'hold' })), 'NOT_FOUND');
      await rejectsWith(() => store.leases.insert(lease(99, 0, 0, { kind: 'hold' })), 'NOT_FOUND');

      // A block where one address is taken goes in whole or not at all.
      await rejectsWith(
        () =>
          store.leases.insertMany([
            lease(net, 0, 5, { kind: 'vnet', id: 1 }),
            lease(net, 0, 4, { kind: 'vnet', id: 1 }),
          ]),
        'LEASE_TAKEN',
      );
      assert.equal(await store.leases.find(net, 0, 5), undefined);
      assert.deepEqual(await store.leases.countByAr(net), new Map([[0, 1]]));
    }));

  test('concurrent attempts on one address: exactly one wins', () =>
    withStore(async (store) => {
      const net = await store.vnets.insert(f.vnet());
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) =>
          store.transaction(async (tx) => {
            await tx.leases.insert(lease(net, 0, 9, { kind: 'vm', id: i, nicId: 0 }));
          }),
        ),
      );
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of results) {
        if (r.status === 'rejected') assert.equal((r.reason as { code?: string }).code, 'LEASE_TAKEN');
      }
      assert.equal((await store.leases.listByVnet(net)).length, 1);
    }));
});
