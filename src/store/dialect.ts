import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import type { SqliteDatabase, SqliteStatement } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';

export type StoreOptions = SqliteStoreOptions | PostgresStoreOptions;

export interface SqliteStoreOptions {
  readonly kind: 'sqlite';
  /** Database file, normally `<state dir>/nimbus.db`; ':memory:' for a throw-away store. */
  readonly path: string;
  /** How long a writer waits for another process's lock before SQLITE_BUSY; default 5000 ms. */
  readonly busyTimeoutMs?: number;
}

export interface PostgresStoreOptions {
  readonly kind: 'postgres';
  /** postgres://user@host:port/database */
  readonly url: string;
  /** Connections in the pool; default 10. */
  readonly poolSize?: number;
}

export type StoreKind = StoreOptions['kind'];

export function createKysely(options: StoreOptions): Kysely<Database> {
  return options.kind === 'sqlite' ? createSqliteKysely(options) : createPostgresKysely(options);
}

function createSqliteKysely(options: SqliteStoreOptions): Kysely<Database> {
  if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
  const db = new BetterSqlite3(options.path);
  // busy_timeout first: switching a new file to WAL needs a lock another process may hold.
  db.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 5000)}`);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: new StatementCache(db) }) });
}

/**
 * Kysely's SQLite driver prepares every statement anew; repositories issue a small fixed set of
 * statements, so keeping the prepared ones saves the parse on every query.
 */
class StatementCache implements SqliteDatabase {
  readonly #db: BetterSqlite3.Database;
  readonly #statements = new Map<string, BetterSqlite3.Statement>();
  readonly #capacity: number;

  constructor(db: BetterSqlite3.Database, capacity = 512) {
    this.#db = db;
    this.#capacity = capacity;
  }

  prepare(text: string): SqliteStatement {
    let statement = this.#statements.get(text);
    if (statement === undefined) {
      statement = this.#db.prepare(text);
      if (this.#statements.size >= this.#capacity) {
        const oldest = this.#statements.keys().next().value;
        if (oldest !== undefined) this.#statements.delete(oldest);
      }
    } else {
      this.#statements.delete(text);
    }
    this.#statements.set(text, statement);
    return statement as unknown as SqliteStatement;
  }

  close(): void {
    this.#statements.clear();
    this.#db.close();
  }
}

const INT8_OID = 20;

/** BIGINT columns and COUNT(*) come back as numbers; a value beyond 2^53 is an error, not a rounding. */
function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value))
    throw new RangeError(`BIGINT value ${text} does not fit a JavaScript number`);
  return value;
}

const pgTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary'
      ? parseInt8
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

function createPostgresKysely(options: PostgresStoreOptions): Kysely<Database> {
  const pool = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 10, types: pgTypes });
  // An idle client that loses its server must not crash the process; the next query reports it.
  pool.on('error', () => undefined);
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

/**
 * Run `work` in one database transaction on one connection. SQLite takes the write lock at BEGIN
 * (IMMEDIATE), so a transaction never fails half-way on a lock upgrade; PostgreSQL runs READ
 * COMMITTED, and lost updates are prevented by the version checks of the repositories.
 */
export async function inTransaction<T>(
  db: Kysely<Database>,
  kind: StoreKind,
  work: (trx: Kysely<Database>) => Promise<T>,
): Promise<T> {
  if (kind === 'postgres') return db.transaction().execute(work);
  return db.connection().execute(async (conn) => {
    await sql`begin immediate`.execute(conn);
    try {
      const result = await work(conn);
      await sql`commit`.execute(conn);
      return result;
    } catch (error) {
      // After a failed COMMIT the transaction may still be open; roll it back so the connection is clean.
      await sql`rollback`.execute(conn).catch(() => undefined);
      throw error;
    }
  });
}
