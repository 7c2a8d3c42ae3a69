import type { Executor } from '../executor.js';

/** What a host's agent may present: a one-time join token and the key issued at join (both hashed). */
export interface HostCredentialRecord {
  readonly hostId: number;
  /** SHA-256 hex; null once the token was used. */
  readonly tokenHash: string | null;
  /** Epoch s; null when the token does not expire. */
  readonly tokenExpires: number | null;
  readonly keyHash: string | null;
}

export interface HostCredentialRepository {
  get(hostId: number): Promise<HostCredentialRecord | undefined>;
  /** Inserts or replaces. */
  put(record: HostCredentialRecord): Promise<void>;
  /**
   * Consumes the join token: sets the key and clears the token only when the token is still the
   * given one (two agents racing with one token: one wins). True when it won.
   */
  consumeToken(hostId: number, tokenHash: string, keyHash: string): Promise<boolean>;
}

export function createHostCredentialRepository(exec: Executor): HostCredentialRepository {
  return {
    async get(hostId) {
      const row = await exec.db
        .selectFrom('host_credentials')
        .selectAll()
        .where('host_id', '=', hostId)
        .executeTakeFirst();
      if (row === undefined) return undefined;
      return {
        hostId: Number(row.host_id),
        tokenHash: row.token_hash,
        tokenExpires: row.token_expires === null ? null : Number(row.token_expires),
        keyHash: row.key_hash,
      };
    },
    async put(r) {
      await exec.atomic(async (db) => {
        await db.deleteFrom('host_credentials').where('host_id', '=', r.hostId).execute();
        await db
          .insertInto('host_credentials')
          .values({
            host_id: r.hostId,
            token_hash: r.tokenHash,
            token_expires: r.tokenExpires,
            key_hash: r.keyHash,
          })
          .execute();
      });
    },
    async consumeToken(hostId, tokenHash, keyHash) {
      const r = await exec.db
        .updateTable('host_credentials')
        .set({ token_hash: null, token_expires: null, key_hash: keyHash })
        .where('host_id', '=', hostId)
        .where('token_hash', '=', tokenHash)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
  };
}
