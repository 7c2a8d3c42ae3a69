import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/**
 * Where a repository runs its statements. Reads go to `db`; a write of several statements (id
 * allocation + insert, a row and its child rows) goes through `atomic`, which is the enclosing
 * transaction inside `store.transaction`, and a transaction of its own outside one.
 */
export interface Executor {
  readonly db: Kysely<Database>;
  atomic<T>(work: (db: Kysely<Database>) => Promise<T>): Promise<T>;
}

export function transactionExecutor(trx: Kysely<Database>): Executor {
  return { db: trx, atomic: (work) => work(trx) };
}
