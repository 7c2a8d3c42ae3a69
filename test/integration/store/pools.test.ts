import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { NewRecord, PoolRepository, Repositories } from '../../../src/store/index.js';
import { rejectsWith } from './assertions.js';
import { backendKind, withStore } from './backend.js';
import * as f from './fixtures.js';

interface PoolCase<R extends { id: number; version: number; name: string }> {
  readonly label: string;
  readonly repo: (s: Repositories) => PoolRepository<R, never>;
  readonly make: (i: number, overrides?: Partial<NewRecord<R>>) => NewRecord<R>;
  readonly change: (r: R) => R;
  readonly nameScope: 'global' | 'owner' | 'none';
}

function poolSuite<R extends { id: number; version: number; name: string }>(c: PoolCase<R>): void {
  describe(`${c.label} [${backendKind}]`, () => {
    test('round-trips the full record; ids start at 0 and are never reused', () =>
      withStore(async (store) => {
        const repo = c.repo(store);
        const inputs = [0, 1, 2].map((i) => c.make(i));
        const ids = [];
        for (const input of inputs) ids.push(await repo.insert(input));
        assert.deepEqual(ids, [0, 1, 2]);
        const stored = await repo.get(1);
        assert.deepStrictEqual(stored, { ...inputs[1], id: 1, version: 0 });
        assert.deepStrictEqual((await repo.list()).items, [
          { ...inputs[0], id: 0, version: 0 },
          { ...inputs[1], id: 1, version: 0 },
          { ...inputs[2], id: 2, version: 0 },
        ]);

        const changed = c.change(stored);
        const updated = await repo.update(changed);
        assert.deepStrictEqual(updated, { ...changed, version: 1 });
        assert.deepStrictEqual(await repo.get(1), { ...changed, version: 1 });

        await repo.delete(2);
        await rejectsWith(() => repo.get(2), 'NOT_FOUND');
        assert.equal(await repo.find(2), undefined);
        assert.equal(await repo.insert(c.make(3)), 3, 'the id of a deleted object is not given again');
        assert.equal(await repo.count(), 3);
      }));

    test('NOT_FOUND for get, update and delete of a missing id', () =>
      withStore(async (store) => {
        const repo = c.repo(store);
        const id = await repo.insert(c.make(0));
        const record = await repo.get(id);
        const error = await rejectsWith(() => repo.get(42), 'NOT_FOUND');
        assert.match(error.message, /42 does not exist/);
        await rejectsWith(() => repo.update({ ...record, id: 42 }), 'NOT_FOUND');
        await rejectsWith(() => repo.delete(42), 'NOT_FOUND');
      }));

    test('CONFLICT when the version is stale, for update and delete', () =>
      withStore(async (store) => {
        const repo = c.repo(store);
        const id = await repo.insert(c.make(0));
        const first = await repo.get(id);
        await repo.update(c.change(first));
        const error = await rejectsWith(() => repo.update(c.change(first)), 'CONFLICT');
        assert.match(error.message, /was changed by another request; retry/);
        await rejectsWith(() => repo.delete(id, first.version), 'CONFLICT');
        await repo.delete(id, first.version + 1);
      }));

    if (c.nameScope !== 'none') {
      test(`names are unique ${c.nameScope === 'global' ? 'in the pool' : 'per owner'}: NAME_TAKEN`, () =>
        withStore(async (store) => {
          const repo = c.repo(store);
          await repo.insert(c.make(0, { name: 'taken' } as Partial<NewRecord<R>>));
          const error = await rejectsWith(
            () => repo.insert(c.make(1, { name: 'taken' } as Partial<NewRecord<R>>)),
            'NAME_TAKEN',
          );
          assert.match(error.message, /"taken" is already taken/);
          const otherOwner = { name: 'taken', uid: 7 } as unknown as Partial<NewRecord<R>>;
          if (c.nameScope === 'owner') {
            const id = await repo.insert(c.make(2, otherOwner));
            assert.equal((await repo.findByName('taken', 7))?.id, id);
          }
          const id = await repo.insert(c.make(3, { name: 'free' } as Partial<NewRecord<R>>));
          const renamed = { ...(await repo.get(id)), name: 'taken' };
          if (c.nameScope === 'global' || (renamed as { uid?: number }).uid === 0) {
            await rejectsWith(() => repo.update(renamed), 'NAME_TAKEN');
          }
          assert.equal((await repo.findByName('taken'))?.id, 0);
          assert.equal(await repo.findByName('nobody'), undefined);
        }));
    }
  });
}

const named =
  <T>(build: (o: Partial<T>) => T, prefix: string) =>
  (i: number, o: Partial<T> = {}) =>
    build({ name: `${prefix}-${i}`, ...o } as Partial<T>);

poolSuite({
  label: 'vms',
  repo: (s) => s.vms,
  make: named(f.vm, 'vm'),
  change: (r) => ({
    ...r,
    state: 3,
    lcmState: 3,
    hostId: 0,
    deployId: 'one-1',
    lock: { level: 1 as const, owner: 0, time: 1_700_000_500, reqId: 9 },
    template: { ...r.template, DISK: [...(r.template.DISK ?? []), { DISK_ID: '2', TYPE: 'swap' }] },
  }),
  nameScope: 'none',
});

poolSuite({
  label: 'vm templates',
  repo: (s) => s.vmTemplates,
  make: named(f.vmTemplateRecord, 'tpl'),
  change: (r) => ({ ...r, lock: null, template: { CPU: ['2'] }, permissions: 0o664 }),
  nameScope: 'owner',
});

poolSuite({
  label: 'images',
  repo: (s) => s.images,
  make: named(f.image, 'img'),
  change: (r) => ({ ...r, state: 2, runningVms: 3, vms: [...r.vms, 11], persistent: true }),
  nameScope: 'owner',
});

poolSuite({
  label: 'datastores',
  repo: (s) => s.datastores,
  make: named(f.datastore, 'ds'),
  change: (r) => ({ ...r, clusters: [100], freeMb: r.freeMb - 1, state: 1 }),
  nameScope: 'global',
});

poolSuite({
  label: 'hosts',
  repo: (s) => s.hosts,
  make: named(f.host, 'host'),
  change: (r) => ({ ...r, share: { ...r.share, runningVms: 4 }, vms: [], monitoring: {}, state: 8 }),
  nameScope: 'global',
});

poolSuite({
  label: 'clusters',
  repo: (s) => s.clusters,
  make: named(f.cluster, 'cluster'),
  change: (r) => ({ ...r, template: { RESERVED_CPU: ['100'] } }),
  nameScope: 'global',
});

poolSuite({
  label: 'users',
  repo: (s) => s.users,
  make: named(f.user, 'user'),
  change: (r) => ({ ...r, enabled: false, groups: [1], loginTokens: [], quotas: { ...r.quotas, vm: null } }),
  nameScope: 'global',
});

poolSuite({
  label: 'groups',
  repo: (s) => s.groups,
  make: named(f.group, 'group'),
  change: (r) => ({ ...r, admins: [], quotas: f.quotas }),
  nameScope: 'global',
});

poolSuite({
  label: 'vnets',
  repo: (s) => s.vnets,
  make: named(f.vnet, 'net'),
  change: (r) => ({
    ...r,
    vlanId: '100',
    vlanIdAutomatic: true,
    ars: [{ ...f.addressRange({ arId: 1, next: 3 }) }, f.addressRange({ arId: 2, ip: '10.0.1.1' })],
  }),
  nameScope: 'owner',
});

poolSuite({
  label: 'security groups',
  repo: (s) => s.securityGroups,
  make: named(f.securityGroup, 'sg'),
  change: (r) => ({ ...r, template: { RULE: [{ PROTOCOL: 'TCP', RANGE: '22', RULE_TYPE: 'INBOUND' }] } }),
  nameScope: 'owner',
});

poolSuite({
  label: 'VM groups',
  repo: (s) => s.vmGroups,
  make: named(f.vmGroup, 'vmg'),
  change: (r) => ({
    ...r,
    roles: r.roles.map((role) => (role.id === 1 ? { ...role, vms: [12] } : role)),
    lock: { level: 2 as const, owner: 0, time: 1_700_000_600, reqId: 3 },
  }),
  nameScope: 'owner',
});

describe(`ACL rules [${backendKind}]`, () => {
  test('64-bit masks round-trip exactly; duplicates are refused; ids are not reused', () =>
    withStore(async (store) => {
      const rules = [
        f.aclRule(),
        f.aclRule({
          user: 0x400000000n,
          resource: 0xffffffffffffffffn,
          rights: 0xfn,
          zone: 0x8000000000000000n,
        }),
        f.aclRule({ user: 0n, resource: 1n, rights: 2n, zone: -1n }),
      ];
      const ids = [];
      for (const rule of rules) ids.push(await store.acl.insert(rule));
      assert.deepEqual(ids, [0, 1, 2]);
      assert.deepStrictEqual(
        await store.acl.list(),
        rules.map((r, id) => ({ ...r, id })),
      );
      assert.deepStrictEqual(await store.acl.get(1), { ...rules[1], id: 1 });
      await rejectsWith(() => store.acl.insert(f.aclRule()), 'ALREADY_EXISTS');
      await store.acl.delete(0);
      await rejectsWith(() => store.acl.get(0), 'NOT_FOUND');
      await rejectsWith(() => store.acl.delete(0), 'NOT_FOUND');
      assert.equal(await store.acl.insert(f.aclRule()), 3);
    }));
});

describe(`users and groups [${backendKind}]`, () => {
  test('users are found by any of their groups, and the group index follows updates', () =>
    withStore(async (store) => {
      const alice = await store.users.insert(f.user({ name: 'alice', gid: 1, groups: [1, 105] }));
      const bob = await store.users.insert(f.user({ name: 'bob', gid: 105, groups: [105] }));
      const ids = async (groupId: number) => (await store.users.list({ groupId })).items.map((u) => u.id);
      assert.deepEqual(await ids(105), [alice, bob]);
      assert.deepEqual(await ids(1), [alice]);
      assert.deepEqual(
        (await store.users.list({ gid: 105 })).items.map((u) => u.id),
        [bob],
      );
      await store.users.update({ ...(await store.users.get(alice)), groups: [1, 200] });
      assert.deepEqual(await ids(105), [bob]);
      assert.deepEqual(await ids(200), [alice]);
      await store.users.delete(alice);
      assert.deepEqual(await ids(200), []);
    }));
});

describe(`history [${backendKind}]`, () => {
  test('append numbers records per VM, list by VM, update only the last', () =>
    withStore(async (store) => {
      const vmA = await store.vms.insert(f.vm());
      const vmB = await store.vms.insert(f.vm());
      const first = await store.history.append(f.history(vmA));
      assert.deepStrictEqual(first, { ...f.history(vmA), seq: 0 });
      const second = await store.history.append(f.history(vmA, { hid: 1, hostname: 'node2', action: 1 }));
      assert.equal(second.seq, 1);
      assert.equal((await store.history.append(f.history(vmB))).seq, 0);
      assert.deepStrictEqual(await store.history.listByVm(vmA), [first, second]);
      assert.deepStrictEqual(await store.history.last(vmA), second);
      assert.equal(await store.history.last(99), undefined);

      const closed = { ...second, etime: 1_700_000_900, retime: 1_700_000_900, action: 5 };
      await store.history.updateLast(closed);
      assert.deepStrictEqual(await store.history.last(vmA), closed);
      await rejectsWith(() => store.history.updateLast({ ...first, etime: 1 }), 'CONFLICT');
      await rejectsWith(() => store.history.updateLast({ ...second, seq: 5 }), 'NOT_FOUND');
      await rejectsWith(() => store.history.append(f.history(99)), 'NOT_FOUND');

      assert.deepEqual(
        (await store.history.list({ hostId: 1 })).map((h) => [h.oid, h.seq]),
        [[vmA, 1]],
      );
      assert.deepEqual(
        (await store.history.list({ from: 1_700_000_950 })).map((h) => [h.oid, h.seq]),
        [
          [vmA, 0],
          [vmB, 0],
        ],
        'closed records before the window are left out, open ones stay',
      );
      await store.vms.delete(vmA);
      assert.deepEqual(await store.history.listByVm(vmA), []);
    }));
});

describe(`cached reads [${backendKind}]`, () => {
  test('lastOf and lists stay current through updates, rollbacks and deletes', () =>
    withStore(async (store) => {
      const vms = await store.vms.insertMany([f.vm(), f.vm(), f.vm()]);
      const [a, b, c] = vms as [number, number, number];
      const a0 = await store.history.append(f.history(a));
      const b0 = await store.history.append(f.history(b));
      assert.deepStrictEqual(
        await store.history.lastOf([a, b, c]),
        new Map([
          [a, a0],
          [b, b0],
        ]),
      );
      // a rewrite of the last record, a new record, and a rolled-back rewrite
      const a0closed = { ...a0, etime: 1_700_000_900, action: 5 };
      await store.history.updateLast(a0closed);
      const b1 = await store.history.append(f.history(b, { hid: 1, hostname: 'node2' }));
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.history.updateLast({ ...b1, action: 9 });
          throw new Error('roll back');
        }),
      );
      assert.deepStrictEqual(
        await store.history.lastOf([a, b, c]),
        new Map([
          [a, a0closed],
          [b, b1],
        ]),
      );
      // more ids than one statement takes: the range path
      const many = Array.from({ length: 6_000 }, (_, i) => i + 1_000_000).concat([a]);
      assert.deepStrictEqual(await store.history.lastOf(many), new Map([[a, a0closed]]));

      const before = (await store.vms.list()).items;
      const changed = await store.vms.update({ ...before[0]!, name: 'renamed' });
      await store.vms.delete(c);
      const after = (await store.vms.list()).items;
      assert.deepStrictEqual(after, [changed, before[1]!]);
    }));
});

describe(`sequences [${backendKind}]`, () => {
  test('peek and advanceTo (never backwards)', () =>
    withStore(async (store) => {
      assert.equal(await store.sequences.peek('group'), 0);
      assert.equal(await store.sequences.advanceTo('group', 100), 100);
      assert.equal(await store.sequences.advanceTo('group', 50), 100);
      assert.equal(await store.groups.insert(f.group({ name: 'devs' })), 100);
      assert.equal(await store.sequences.peek('group'), 101);
    }));
});
