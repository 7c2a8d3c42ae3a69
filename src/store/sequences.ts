import type { Kysely } from 'kysely';
import { NimbusError } from '../domain/errors.js';
import type { Database, PoolName } from './schema.js';

/**
 * Pool ids, as OpenNebula's pool_control: each pool counts from 0 and an id is never given to a
 * second object, even after the first is deleted. The counter moves in the same transaction as
 * the insert, so a rolled-back insert gives its id back — it was never visible to anyone. On
 * PostgreSQL the counter row stays locked until commit, which orders concurrent inserts into a
 * pool (OpenNebula holds a pool lock for the same reason).
 */
export async function allocateIds(db: Kysely<Database>, pool: PoolName, count: number): Promise<number> {
  const row = await db
    .updateTable('pool_sequences')
    .set((eb) => ({ next_id: eb('next_id', '+', count) }))
    .where('pool', '=', pool)
    .returning('next_id')
    .executeTakeFirst();
  if (row === undefined)
    throw new NimbusError('INTERNAL', `no id sequence for pool "${pool}"; is the schema migrated?`);
  return Number(row.next_id) - count;
}

export interface SequenceRepository {
  /** The id the next insert into `pool` will get. */
  peek(pool: PoolName): Promise<number>;
  /**
   * Make the next id at least `nextId` (never moves backwards). OpenNebula starts user-created
   * groups and users above the ids it reserves for itself; the controller uses this at bootstrap.
   */
  advanceTo(pool: PoolName, nextId: number): Promise<number>;
}

export function createSequenceRepository(db: Kysely<Database>): SequenceRepository {
  return {
    async peek(pool) {
      const row = await db
        .selectFrom('pool_sequences')
        .select('next_id')
        .where('pool', '=', pool)
        .executeTakeFirstOrThrow();
      return Number(row.next_id);
    },
    async advanceTo(pool, nextId) {
      await db
        .updateTable('pool_sequences')
        .set({ next_id: nextId })
        .where('pool', '=', pool)
        .where('next_id', '<', nextId)
        .execute();
      return this.peek(pool);
    },
  };
}
