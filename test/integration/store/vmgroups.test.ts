import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addVmToRole, removeVmFromRole } from '../../../src/domain/vmgroup/index.js';
import { rejectsWith } from './assertions.js';
import { backendKind, withStore } from './backend.js';
import * as f from './fixtures.js';

function unwrapped<T>(r: { ok: true; value: T } | { ok: false; error: { message: string } }): T {
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

describe(`VM groups [${backendKind}]`, () => {
  test('create, find, findByName, list by owner and name, update, delete', () =>
    withStore(async (store) => {
      const web = await store.vmGroups.insert(f.vmGroup());
      const batch = await store.vmGroups.insert(f.vmGroup({ name: 'batch', uid: 5, gid: 1 }));
      assert.deepStrictEqual(await store.vmGroups.find(web), { ...f.vmGroup(), id: web, version: 0 });
      assert.equal((await store.vmGroups.findByName('batch', 5))?.id, batch);
      assert.equal(await store.vmGroups.findByName('batch', 0), undefined);
      assert.deepEqual(
        (await store.vmGroups.list({ uid: 5 })).items.map((g) => g.id),
        [batch],
      );
      assert.deepEqual(
        (await store.vmGroups.list({ nameContains: 'WE' })).items.map((g) => g.id),
        [web],
      );
      const stored = await store.vmGroups.get(web);
      const renamed = await store.vmGroups.update({ ...stored, name: 'web-2', template: {} });
      assert.equal(renamed.version, 1);
      assert.deepEqual((await store.vmGroups.get(web)).template, {});
      await store.vmGroups.delete(web, renamed.version);
      assert.equal(await store.vmGroups.find(web), undefined);
      await rejectsWith(() => store.vmGroups.insert(f.vmGroup({ name: 'batch', uid: 5 })), 'NAME_TAKEN');
    }));

  test('a VM joins a role with its own creation, in one transaction; a throw undoes both', () =>
    withStore(async (store) => {
      const groupId = await store.vmGroups.insert(f.vmGroup());
      const join = (fail: boolean) =>
        store.transaction(async (tx) => {
          const vmId = await tx.vms.insert(f.vm({ name: 'member' }));
          const group = await tx.vmGroups.get(groupId);
          await tx.vmGroups.update(unwrapped(addVmToRole(group, 'db', vmId)));
          if (fail) throw new Error('quota exceeded');
          return vmId;
        });
      await assert.rejects(() => join(true), /quota exceeded/);
      assert.deepEqual((await store.vmGroups.get(groupId)).roles[1]?.vms, []);
      assert.equal(await store.vms.count(), 0);

      const vmId = await join(false);
      const joined = await store.vmGroups.get(groupId);
      assert.deepEqual(joined.roles[1]?.vms, [vmId]);
      assert.equal(joined.version, 1);

      await store.transaction(async (tx) => {
        const group = await tx.vmGroups.get(groupId);
        await tx.vmGroups.update(unwrapped(removeVmFromRole(group, 'db', vmId)));
      });
      assert.deepEqual((await store.vmGroups.get(groupId)).roles[1]?.vms, []);
    }));

  test('two membership changes from the same read: the second is a CONFLICT', () =>
    withStore(async (store) => {
      const groupId = await store.vmGroups.insert(f.vmGroup());
      const read = await store.vmGroups.get(groupId);
      await store.vmGroups.update(unwrapped(addVmToRole(read, 'db', 20)));
      await rejectsWith(() => store.vmGroups.update(unwrapped(addVmToRole(read, 'db', 21))), 'CONFLICT');
      assert.deepEqual((await store.vmGroups.get(groupId)).roles[1]?.vms, [20]);
    }));
});
