import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openStore } from '../../../src/store/index.js';
import type { OpenStoreOptions, Store, StoreOptions } from '../../../src/store/index.js';

/**
 * The backend under test, from NIMBUS_TEST_DB: unset or `sqlite` -> a SQLite file in a temp
 * directory; a postgres:// URL -> a database of its own on that server, dropped afterwards.
 * An unreachable server fails the tests: a skipped PostgreSQL run would look like a passing one.
 */
const setting = process.env.NIMBUS_TEST_DB ?? 'sqlite';

export const backendKind: StoreOptions['kind'] =
  setting === 'sqlite' || setting === '' ? 'sqlite' : 'postgres';

if (backendKind === 'postgres' && !/^postgres(ql)?:\/\//.test(setting)) {
  throw new Error(`NIMBUS_TEST_DB must be "sqlite" or a postgres:// URL, not ${JSON.stringify(setting)}`);
}

export interface TestDatabase {
  readonly options: StoreOptions;
  drop(): Promise<void>;
}

let counter = 0;

/** A new, empty database (nothing migrated yet). */
export async function createTestDatabase(): Promise<TestDatabase> {
  if (backendKind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'nimbus-store-test-'));
    return {
      options: { kind: 'sqlite', path: join(dir, 'state', 'nimbus.db') },
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const name = `nimbus_t_${process.pid}_${Date.now().toString(36)}_${counter++}`;
  const admin = new pg.Client({ connectionString: setting });
  try {
    await admin.connect();
  } catch (error) {
    throw new Error(
      `NIMBUS_TEST_DB=${setting} is unreachable (${(error as Error).message}); ` +
        'start a server with scripts/pg-test-cluster.sh start /tmp/nimbus-pg, or unset NIMBUS_TEST_DB for SQLite',
    );
  }
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(setting);
  url.pathname = `/${name}`;
  return {
    options: { kind: 'postgres', url: url.toString(), poolSize: 10 },
    async drop() {
      const client = new pg.Client({ connectionString: setting });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** Run `test` against a freshly migrated store of its own, then close and drop it. */
export async function withStore(
  test: (store: Store) => Promise<void>,
  open?: OpenStoreOptions,
): Promise<void> {
  const database = await createTestDatabase();
  try {
    const store = await openStore(database.options, open);
    try {
      await test(store);
    } finally {
      await store.close();
    }
  } finally {
    await database.drop();
  }
}
