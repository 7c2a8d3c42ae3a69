import type { Kysely } from 'kysely';
import { NimbusError } from '../../domain/errors.js';
import type { LeaseOwner, LeaseRecord } from '../../domain/vnet/record.js';
import { notFound, StoreErrorCode, translateDriverErrors } from '../errors.js';
import type { Executor } from '../executor.js';
import type { Database, LeasesTable } from '../schema.js';
import { chunk } from './pool.js';

/**
 * Leases: one row per taken address, keyed (vnet_id, ar_id, idx), so an address can be leased
 * only once whatever the callers do; the AR must exist (foreign key).
 */
export interface LeaseRepository {
  /** LEASE_TAKEN if the address is leased already; NOT_FOUND if the AR does not exist. */
  insert(lease: LeaseRecord): Promise<void>;
  /** All or none (a reservation takes a block). */
  insertMany(leases: readonly LeaseRecord[]): Promise<void>;
  find(vnetId: number, arId: number, index: number): Promise<LeaseRecord | undefined>;
  /** NOT_FOUND if the address is not leased. */
  delete(vnetId: number, arId: number, index: number): Promise<void>;
  /** Leases of a network (of one AR when given), by AR then index. */
  listByVnet(vnetId: number, arId?: number): Promise<LeaseRecord[]>;
  /** Leases held by a VM (all its NICs), by a reservation, or on hold. */
  listByOwner(owner: LeaseOwnerRef): Promise<LeaseRecord[]>;
  /** Used addresses per AR of a network (ARs without leases are absent). */
  countByAr(vnetId: number): Promise<Map<number, number>>;
  /** Releases everything an owner holds; returns how many. */
  deleteByOwner(owner: LeaseOwnerRef): Promise<number>;
}

/** An owner without the NIC: `{ kind: 'vm', id }` means every NIC of the VM. */
export type LeaseOwnerRef =
  | { readonly kind: 'vm'; readonly id: number }
  | { readonly kind: 'vnet'; readonly id: number }
  | { readonly kind: 'hold' };

function toRow(l: LeaseRecord): LeasesTable {
  const o = l.owner;
  return {
    vnet_id: l.vnetId,
    ar_id: l.arId,
    idx: l.index,
    owner_kind: o.kind,
    owner_id: o.kind === 'hold' ? null : o.id,
    nic_id: o.kind === 'vm' ? o.nicId : null,
  };
}

function fromRow(row: LeasesTable): LeaseRecord {
  let owner: LeaseOwner;
  switch (row.owner_kind) {
    case 'vm':
      owner = { kind: 'vm', id: row.owner_id as number, nicId: row.nic_id as number };
      break;
    case 'vnet':
      owner = { kind: 'vnet', id: row.owner_id as number };
      break;
    default:
      owner = { kind: 'hold' };
  }
  return { vnetId: row.vnet_id, arId: row.ar_id, index: row.idx, owner };
}

const LEASE_COLUMNS = 6;

export function createLeaseRepository(exec: Executor): LeaseRepository {
  const byOwner = (db: Kysely<Database>, owner: LeaseOwnerRef) => {
    const query = db.selectFrom('leases').where('owner_kind', '=', owner.kind);
    return owner.kind === 'hold' ? query : query.where('owner_id', '=', owner.id);
  };

  const insertMany = (leases: readonly LeaseRecord[]): Promise<void> =>
    exec.atomic(async (db) => {
      const first = leases[0];
      if (first === undefined) return;
      const one = leases.length === 1;
      await translateDriverErrors(
        async () => {
          for (const part of chunk(leases.map(toRow), Math.floor(30000 / LEASE_COLUMNS))) {
            await db.insertInto('leases').values(part).execute();
          }
        },
        {
          onUnique: () =>
            new NimbusError(
              StoreErrorCode.LEASE_TAKEN,
              one
                ? `address ${first.index} of AR ${first.arId} in vnet ${first.vnetId} is already leased`
                : `some of the ${leases.length} addresses are already leased`,
            ),
          onForeignKey: () =>
            one ? notFound(`AR ${first.arId} of vnet`, first.vnetId) : notFound('AR of vnet', first.vnetId),
        },
      );
    });

  return {
    insert: (lease) => insertMany([lease]),
    insertMany,

    async find(vnetId, arId, index) {
      const row = await exec.db
        .selectFrom('leases')
        .selectAll()
        .where('vnet_id', '=', vnetId)
        .where('ar_id', '=', arId)
        .where('idx', '=', index)
        .executeTakeFirst();
      return row === undefined ? undefined : fromRow(row);
    },

    async delete(vnetId, arId, index) {
      const result = await exec.db
        .deleteFrom('leases')
        .where('vnet_id', '=', vnetId)
        .where('ar_id', '=', arId)
        .where('idx', '=', index)
        .executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) {
        throw new NimbusError(
          StoreErrorCode.NOT_FOUND,
          `address ${index} of AR ${arId} in vnet ${vnetId} is not leased`,
        );
      }
    },

    async listByVnet(vnetId, arId) {
      let query = exec.db.selectFrom('leases').selectAll().where('vnet_id', '=', vnetId);
      if (arId !== undefined) query = query.where('ar_id', '=', arId);
      const rows = await query.orderBy('ar_id').orderBy('idx').execute();
      return rows.map(fromRow);
    },

    async listByOwner(owner) {
      const rows = await byOwner(exec.db, owner)
        .selectAll()
        .orderBy('vnet_id')
        .orderBy('ar_id')
        .orderBy('idx')
        .execute();
      return rows.map(fromRow);
    },

    async countByAr(vnetId) {
      const rows = await exec.db
        .selectFrom('leases')
        .select((eb) => ['ar_id', eb.fn.countAll<number>().as('n')])
        .where('vnet_id', '=', vnetId)
        .groupBy('ar_id')
        .orderBy('ar_id')
        .execute();
      return new Map(rows.map((r) => [r.ar_id, Number(r.n)]));
    },

    async deleteByOwner(owner) {
      let query = exec.db.deleteFrom('leases').where('owner_kind', '=', owner.kind);
      if (owner.kind !== 'hold') query = query.where('owner_id', '=', owner.id);
      const result = await query.executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
