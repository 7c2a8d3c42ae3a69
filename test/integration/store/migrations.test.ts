import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import { LATEST_SCHEMA_VERSION, openStore } from '../../../src/store/index.js';
import { createKysely } from '../../../src/store/dialect.js';
import { migrate, MIGRATIONS } from '../../../src/store/migrations.js';
import type { Migration } from '../../../src/store/migrations.js';
import { rejectsWith } from './assertions.js';
import { backendKind, createTestDatabase } from './backend.js';
import type { TestDatabase } from './backend.js';
import * as f from './fixtures.js';

async function withDatabase(test: (database: TestDatabase) => Promise<void>): Promise<void> {
  const database = await createTestDatabase();
  try {
    await test(database);
  } finally {
    await database.drop();
  }
}

async function appliedVersions(database: TestDatabase): Promise<number[]> {
  const db = createKysely(database.options);
  try {
    const rows = await db.selectFrom('schema_migrations').select('version').orderBy('version').execute();
    return rows.map((r) => r.version);
  } finally {
    await db.destroy();
  }
}

describe(`migrations [${backendKind}]`, () => {
  test('a new database is migrated to the latest version; opening again changes nothing', () =>
    withDatabase(async (database) => {
      const first = await openStore(database.options);
      assert.equal(await first.schemaVersion(), LATEST_SCHEMA_VERSION);
      const vmId = await first.vms.insert(f.vm());
      await first.close();

      const second = await openStore(database.options);
      try {
        assert.equal(await second.schemaVersion(), LATEST_SCHEMA_VERSION);
        assert.equal((await second.vms.get(vmId)).name, f.vm().name);
        assert.equal(await second.vms.insert(f.vm()), vmId + 1, 'the id counters survive a restart');
      } finally {
        await second.close();
      }
      assert.deepEqual(
        await appliedVersions(database),
        MIGRATIONS.map((m) => m.version),
      );
    }));

  test('an older schema is brought up to date and keeps its data', () =>
    withDatabase(async (database) => {
      const old = await openStore(database.options, { migrateTo: 1 });
      assert.equal(await old.schemaVersion(), 1);
      const userId = await old.users.insert(f.user());
      const vmId = await old.vms.insert(f.vm());
      await assert.rejects(() => old.vnets.count(), 'version 1 has no network tables');
      await old.close();

      const current = await openStore(database.options);
      try {
        assert.equal(await current.schemaVersion(), LATEST_SCHEMA_VERSION);
        assert.deepStrictEqual(await current.users.get(userId), { ...f.user(), id: userId, version: 0 });
        assert.equal((await current.vms.get(vmId)).id, vmId);
        assert.equal(await current.vnets.insert(f.vnet()), 0);
      } finally {
        await current.close();
      }
    }));

  test('a schema newer than the code is refused: SCHEMA_TOO_NEW', () =>
    withDatabase(async (database) => {
      await (await openStore(database.options)).close();
      const db = createKysely(database.options);
      await db
        .insertInto('schema_migrations')
        .values({ version: LATEST_SCHEMA_VERSION + 1, name: 'from the future', applied_at: 0 })
        .execute();
      await db.destroy();
      const error = await rejectsWith(() => openStore(database.options), 'SCHEMA_TOO_NEW');
      assert.match(error.message, /upgrade Nimbus/);
    }));

  test('a failing migration leaves nothing behind, and the next start retries it', () =>
    withDatabase(async (database) => {
      let fail = true;
      const broken: Migration = {
        version: LATEST_SCHEMA_VERSION + 1,
        name: 'adds a table, then fails',
        async up(db) {
          await db.schema.createTable('half_done').addColumn('id', 'integer').execute();
          await sql`insert into pool_sequences (pool, next_id) values ('half', 0)`.execute(db);
          if (fail) throw new Error('migration failed');
        },
      };
      const db = createKysely(database.options);
      try {
        const migrations = [...MIGRATIONS, broken];
        await assert.rejects(() => migrate(db, database.options.kind, { migrations }), /migration failed/);
        assert.deepEqual(
          await appliedVersions(database),
          MIGRATIONS.map((m) => m.version),
        );
        const sequences = await db
          .selectFrom('pool_sequences')
          .select('pool')
          .where('pool', '=', 'vm')
          .execute();
        assert.equal(sequences.length, 1);
        const half = await sql`select count(*) as n from pool_sequences where pool = 'half'`.execute(db);
        assert.equal(Number((half.rows[0] as { n: number }).n), 0, 'the failed migration was rolled back');
        fail = false;
        assert.equal(await migrate(db, database.options.kind, { migrations }), LATEST_SCHEMA_VERSION + 1);
      } finally {
        await db.destroy();
      }
    }));

  test('several processes opening one new database at once migrate it exactly once', () =>
    withDatabase(async (database) => {
      const child = fileURLToPath(new URL('./open-store-child.ts', import.meta.url));
      const run = promisify(execFile);
      const outputs = await Promise.all(
        [1, 2, 3].map(() =>
          run(process.execPath, ['--import', 'tsx', child, JSON.stringify(database.options)], {
            timeout: 60_000,
          }),
        ),
      );
      for (const { stdout } of outputs) assert.equal(stdout.trim(), String(LATEST_SCHEMA_VERSION));
      assert.deepEqual(
        await appliedVersions(database),
        MIGRATIONS.map((m) => m.version),
      );
    }));
});
