import { NimbusError } from '../../domain/errors.js';
import type { AclRecord } from '../../domain/auth/record.js';
import { bigintToHex, hexToBigint } from '../codec.js';
import { notFound, StoreErrorCode, translateDriverErrors } from '../errors.js';
import type { Executor } from '../executor.js';
import type { AclRulesTable } from '../schema.js';
import { allocateIds } from '../sequences.js';

/** ACL rules: added and deleted, never changed (as one.acl.addrule / delrule). */
export interface AclRepository {
  /** ALREADY_EXISTS if the same rule is there. */
  insert(rule: Omit<AclRecord, 'id'>): Promise<number>;
  get(id: number): Promise<AclRecord>;
  find(id: number): Promise<AclRecord | undefined>;
  /** The whole pool by id: rules are few and evaluated together. */
  list(): Promise<AclRecord[]>;
  delete(id: number): Promise<void>;
}

function toRow(r: AclRecord): AclRulesTable {
  return {
    id: r.id,
    user_mask: bigintToHex(r.user),
    resource_mask: bigintToHex(r.resource),
    rights_mask: bigintToHex(r.rights),
    zone_mask: bigintToHex(r.zone),
  };
}

function fromRow(row: AclRulesTable): AclRecord {
  return {
    id: row.id,
    user: hexToBigint(row.user_mask),
    resource: hexToBigint(row.resource_mask),
    rights: hexToBigint(row.rights_mask),
    zone: hexToBigint(row.zone_mask),
  };
}

export function createAclRepository(exec: Executor): AclRepository {
  const find = async (id: number): Promise<AclRecord | undefined> => {
    const row = await exec.db.selectFrom('acl_rules').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : fromRow(row);
  };
  return {
    insert(rule) {
      return exec.atomic(async (db) => {
        const id = await allocateIds(db, 'acl', 1);
        const row = toRow({ ...rule, id });
        await translateDriverErrors(() => db.insertInto('acl_rules').values(row).execute(), {
          onUnique: () =>
            new NimbusError(
              StoreErrorCode.ALREADY_EXISTS,
              `ACL rule ${row.user_mask} ${row.resource_mask} ${row.rights_mask} ${row.zone_mask} already exists`,
            ),
        });
        return id;
      });
    },
    find,
    async get(id) {
      const rule = await find(id);
      if (rule === undefined) throw notFound('ACL rule', id);
      return rule;
    },
    async list() {
      const rows = await exec.db.selectFrom('acl_rules').selectAll().orderBy('id').execute();
      return rows.map(fromRow);
    },
    async delete(id) {
      const result = await exec.db.deleteFrom('acl_rules').where('id', '=', id).executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) throw notFound('ACL rule', id);
    },
  };
}
