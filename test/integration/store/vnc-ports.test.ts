import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backendKind, withStore } from './backend.js';

describe(`VNC ports per cluster [${backendKind}]`, () => {
  test('a port is held once per cluster; release gives back all of a VM’s ports or one cluster’s', () =>
    withStore(async (store) => {
      await store.transaction(async (tx) => {
        await tx.vncPorts.take(0, 5901, 1);
        await tx.vncPorts.take(0, 5901, 1); // the same VM again: nothing changes
        await tx.vncPorts.take(100, 5901, 2); // the same number in another cluster
        await tx.vncPorts.take(100, 5950, 1); // VM 1 migrating: a port in each cluster
      });
      assert.equal(await store.vncPorts.holder(0, 5901), 1);
      assert.equal(await store.vncPorts.holder(100, 5901), 2);
      assert.equal(await store.vncPorts.holder(0, 5999), undefined);
      assert.deepEqual([...(await store.vncPorts.taken(100))].sort(), [5901, 5950]);
      await assert.rejects(
        store.transaction((tx) => tx.vncPorts.take(0, 5901, 3)),
        'two VMs cannot hold one port in a cluster',
      );
      await store.vncPorts.release(1, 0);
      assert.equal(await store.vncPorts.holder(0, 5901), undefined);
      assert.equal(await store.vncPorts.holder(100, 5950), 1);
      await store.vncPorts.release(1);
      assert.deepEqual([...(await store.vncPorts.taken(100))], [5901]);
    }));
});
