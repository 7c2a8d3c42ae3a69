import type { Expression, Kysely, SqlBool } from 'kysely';
import { NimbusError } from '../../domain/errors.js';
import type { Template } from '../../domain/template/types.js';
import type { AddressRangeRecord, AddressRangeType, VnetRecord } from '../../domain/vnet/record.js';
import { fromFlag, fromJson, toFlag, toJson } from '../codec.js';
import { StoreErrorCode, translateDriverErrors } from '../errors.js';
import type { Executor } from '../executor.js';
import type { AddressRangesTable, Database, VnetsTable } from '../schema.js';
import { ownedFromColumns, ownedToColumns } from './owned.js';
import { chunk, isIn, memberOf, oneOrMany, ownedConditions, SqlPoolRepository } from './pool.js';
import type { LooseDatabase, MembershipSpec, OwnedFilter, PoolRepository, Row, Where } from './pool.js';

export interface VnetFilter extends OwnedFilter {
  readonly clusterId?: number;
  readonly state?: number | readonly number[];
  /** Reservations of this network. */
  readonly parentNetworkId?: number;
}

/** Virtual networks with their address ranges (own table, read and written with the vnet). */
export type VnetRepository = PoolRepository<VnetRecord, VnetFilter>;

const clusterMembership: MembershipSpec<Omit<VnetRecord, 'version'>> = {
  table: 'vnet_clusters',
  ownerColumn: 'vnet_id',
  memberColumn: 'cluster_id',
  members: (r) => r.clusters,
};

function toRow(r: Omit<VnetRecord, 'version'>): Omit<VnetsTable, 'version'> {
  return {
    ...ownedToColumns(r),
    clusters: toJson(r.clusters),
    bridge: r.bridge,
    bridge_type: r.bridgeType,
    state: r.state,
    prev_state: r.prevState,
    parent_network_id: r.parentNetworkId,
    vn_mad: r.vnMad,
    phydev: r.phydev,
    vlan_id: r.vlanId,
    outer_vlan_id: r.outerVlanId,
    vlan_id_automatic: toFlag(r.vlanIdAutomatic),
    outer_vlan_id_automatic: toFlag(r.outerVlanIdAutomatic),
  };
}

function fromRow(row: VnetsTable, ars: readonly AddressRangeRecord[]): VnetRecord {
  return {
    ...ownedFromColumns(row),
    clusters: fromJson<number[]>(row.clusters),
    bridge: row.bridge,
    bridgeType: row.bridge_type,
    state: row.state,
    prevState: row.prev_state,
    parentNetworkId: row.parent_network_id,
    vnMad: row.vn_mad,
    phydev: row.phydev,
    vlanId: row.vlan_id,
    outerVlanId: row.outer_vlan_id,
    vlanIdAutomatic: fromFlag(row.vlan_id_automatic),
    outerVlanIdAutomatic: fromFlag(row.outer_vlan_id_automatic),
    ars,
  };
}

function arToRow(vnetId: number, position: number, ar: AddressRangeRecord): AddressRangesTable {
  return {
    vnet_id: vnetId,
    ar_id: ar.arId,
    position,
    type: ar.type,
    mac: ar.mac,
    ip: ar.ip,
    size: ar.size,
    global_prefix: ar.globalPrefix,
    ula_prefix: ar.ulaPrefix,
    ip6: ar.ip6,
    prefix_length: ar.prefixLength,
    parent_network_ar_id: ar.parentNetworkArId,
    next: ar.next,
    attributes: toJson(ar.attributes),
  };
}

function arFromRow(row: AddressRangesTable): AddressRangeRecord {
  return {
    arId: row.ar_id,
    type: row.type as AddressRangeType,
    mac: row.mac,
    ip: row.ip,
    size: row.size,
    globalPrefix: row.global_prefix,
    ulaPrefix: row.ula_prefix,
    ip6: row.ip6,
    prefixLength: row.prefix_length,
    parentNetworkArId: row.parent_network_ar_id,
    next: row.next,
    attributes: fromJson<Template>(row.attributes),
  };
}

function where(eb: Where, f: VnetFilter): Expression<SqlBool>[] {
  const conditions = ownedConditions(eb, f);
  if (f.clusterId !== undefined) conditions.push(memberOf(eb, clusterMembership, f.clusterId));
  if (f.state !== undefined) conditions.push(oneOrMany(eb, 'state', f.state));
  if (f.parentNetworkId !== undefined) conditions.push(eb('parent_network_id', '=', f.parentNetworkId));
  return conditions;
}

const IDS_PER_QUERY = 500;

class SqlVnetRepository extends SqlPoolRepository<VnetRecord, VnetFilter> {
  protected override readonly hasChildren = true;

  constructor(exec: Executor) {
    super(exec, {
      table: 'vnets',
      pool: 'vnet',
      noun: 'vnet',
      nameScope: 'owner',
      toRow,
      fromRow: (row: Row) => fromRow(row as unknown as VnetsTable, []),
      where,
      membership: clusterMembership,
      inUse: (id) => `vnet ${id} has leased addresses; release them before deleting the network`,
    });
  }

  protected override async toRecords(db: Kysely<LooseDatabase>, rows: Row[]): Promise<VnetRecord[]> {
    const typed = db as unknown as Kysely<Database>;
    const byVnet = new Map<number, AddressRangeRecord[]>();
    for (const ids of chunk(
      rows.map((r) => r.id as number),
      IDS_PER_QUERY,
    )) {
      const arRows = await typed
        .selectFrom('address_ranges')
        .selectAll()
        .where('vnet_id', 'in', ids)
        .orderBy('vnet_id')
        .orderBy('position')
        .execute();
      for (const ar of arRows) {
        const list = byVnet.get(ar.vnet_id) ?? [];
        list.push(arFromRow(ar));
        byVnet.set(ar.vnet_id, list);
      }
    }
    return rows.map((row) => fromRow(row as unknown as VnetsTable, byVnet.get(row.id as number) ?? []));
  }

  /** Upsert the listed ARs, delete the others; an AR with leases cannot go (leases_ar_fk RESTRICT). */
  protected override async writeChildren(
    db: Kysely<LooseDatabase>,
    records: readonly Omit<VnetRecord, 'version'>[],
    op: 'insert' | 'update',
  ): Promise<void> {
    const typed = db as unknown as Kysely<Database>;
    for (const vnet of records) {
      if (op === 'update') {
        const keep = vnet.ars.map((ar) => ar.arId);
        const gone = await typed
          .selectFrom('address_ranges')
          .select('ar_id')
          .where('vnet_id', '=', vnet.id)
          .where((eb) => eb.not(isIn(eb as unknown as Where, 'ar_id', keep)))
          .execute();
        for (const { ar_id } of gone) {
          await translateDriverErrors(
            () =>
              typed
                .deleteFrom('address_ranges')
                .where('vnet_id', '=', vnet.id)
                .where('ar_id', '=', ar_id)
                .execute(),
            {
              onForeignKey: () =>
                new NimbusError(
                  StoreErrorCode.IN_USE,
                  `AR ${ar_id} of vnet ${vnet.id} has leased addresses; release them before removing the range`,
                ),
            },
          );
        }
      }
      if (vnet.ars.length === 0) continue;
      const rows = vnet.ars.map((ar, position) => arToRow(vnet.id, position, ar));
      await translateDriverErrors(
        () =>
          typed
            .insertInto('address_ranges')
            .values(rows)
            .onConflict((oc) =>
              oc.columns(['vnet_id', 'ar_id']).doUpdateSet((eb) => ({
                position: eb.ref('excluded.position'),
                type: eb.ref('excluded.type'),
                mac: eb.ref('excluded.mac'),
                ip: eb.ref('excluded.ip'),
                size: eb.ref('excluded.size'),
                global_prefix: eb.ref('excluded.global_prefix'),
                ula_prefix: eb.ref('excluded.ula_prefix'),
                ip6: eb.ref('excluded.ip6'),
                prefix_length: eb.ref('excluded.prefix_length'),
                parent_network_ar_id: eb.ref('excluded.parent_network_ar_id'),
                next: eb.ref('excluded.next'),
                attributes: eb.ref('excluded.attributes'),
              })),
            )
            .execute(),
        {
          onUnique: () =>
            new NimbusError(
              StoreErrorCode.ALREADY_EXISTS,
              `vnet ${vnet.id} lists the same AR_ID twice`,
              'AR/AR_ID',
            ),
        },
      );
    }
  }
}

export function createVnetRepository(exec: Executor): VnetRepository {
  return new SqlVnetRepository(exec);
}
