import { sql } from 'kysely';
import type { CreateTableBuilder, Kysely } from 'kysely';
import { NimbusError } from '../domain/errors.js';
import { inTransaction } from './dialect.js';
import type { StoreKind } from './dialect.js';
import { StoreErrorCode } from './errors.js';
import type { Database, PoolName } from './schema.js';

/**
 * Versioned schema migrations, applied in order at start-up by openStore. Each one runs in its
 * own transaction together with its row in schema_migrations, so a crash never leaves a
 * half-applied version; on PostgreSQL an advisory lock lets several nimbusd start at once.
 * Never edit a released migration: add the next one.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  up(db: Kysely<Database>): Promise<void>;
}

/** Any 64-bit constant; it names the lock that serializes schema changes across nimbusd instances. */
const MIGRATION_LOCK_KEY = 0x6e696d627573; // "nimbus"

function ownedTable<T extends string>(db: Kysely<Database>, table: T) {
  return db.schema
    .createTable(table)
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('uid', 'integer', (c) => c.notNull())
    .addColumn('gid', 'integer', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('permissions', 'integer', (c) => c.notNull())
    .addColumn('lock', 'text')
    .addColumn('template', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull());
}

async function ownerIndexes(db: Kysely<Database>, table: string, uniqueNamePerOwner: boolean): Promise<void> {
  const nameIndex = db.schema.createIndex(`${table}_uid_name`).on(table).columns(['uid', 'name']);
  await (uniqueNamePerOwner ? nameIndex.unique() : nameIndex).execute();
  await db.schema.createIndex(`${table}_gid`).on(table).column('gid').execute();
}

async function seedSequences(db: Kysely<Database>, pools: readonly PoolName[]): Promise<void> {
  await db
    .insertInto('pool_sequences')
    .values(pools.map((pool) => ({ pool, next_id: 0 })))
    .execute();
}

function notNullColumns<T extends string, C extends string>(
  builder: CreateTableBuilder<T, C>,
  columns: Readonly<Record<string, 'integer' | 'bigint' | 'text'>>,
): CreateTableBuilder<T, string> {
  let b: CreateTableBuilder<T, string> = builder;
  for (const [name, type] of Object.entries(columns)) b = b.addColumn(name, type, (c) => c.notNull());
  return b;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'pools: sequences, users, groups, ACL, clusters, hosts, datastores, images, templates, VMs, history',
    async up(db) {
      await db.schema
        .createTable('pool_sequences')
        .addColumn('pool', 'text', (c) => c.primaryKey())
        .addColumn('next_id', 'bigint', (c) => c.notNull())
        .execute();
      await seedSequences(db, [
        'vm',
        'template',
        'image',
        'datastore',
        'host',
        'cluster',
        'user',
        'group',
        'acl',
      ]);

      await notNullColumns(
        db.schema.createTable('users').addColumn('id', 'integer', (c) => c.primaryKey()),
        {
          gid: 'integer',
          groups: 'text',
          name: 'text',
          password: 'text',
          auth_driver: 'text',
          enabled: 'integer',
          login_tokens: 'text',
          template: 'text',
          quotas: 'text',
          version: 'integer',
        },
      ).execute();
      await db.schema.createIndex('users_name').unique().on('users').column('name').execute();
      await db.schema.createIndex('users_gid').on('users').column('gid').execute();
      await db.schema
        .createTable('group_members')
        .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('group_id', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('group_members_pk', ['user_id', 'group_id'])
        .execute();
      await db.schema.createIndex('group_members_group').on('group_members').column('group_id').execute();

      await notNullColumns(
        db.schema.createTable('groups').addColumn('id', 'integer', (c) => c.primaryKey()),
        {
          name: 'text',
          admins: 'text',
          template: 'text',
          quotas: 'text',
          version: 'integer',
        },
      ).execute();
      await db.schema.createIndex('groups_name').unique().on('groups').column('name').execute();

      await notNullColumns(
        db.schema.createTable('acl_rules').addColumn('id', 'integer', (c) => c.primaryKey()),
        {
          user_mask: 'text',
          resource_mask: 'text',
          rights_mask: 'text',
          zone_mask: 'text',
        },
      ).execute();
      await db.schema
        .createIndex('acl_rules_rule')
        .unique()
        .on('acl_rules')
        .columns(['user_mask', 'resource_mask', 'rights_mask', 'zone_mask'])
        .execute();

      await notNullColumns(
        db.schema.createTable('clusters').addColumn('id', 'integer', (c) => c.primaryKey()),
        {
          name: 'text',
          template: 'text',
          version: 'integer',
        },
      ).execute();
      await db.schema.createIndex('clusters_name').unique().on('clusters').column('name').execute();

      await notNullColumns(
        db.schema.createTable('hosts').addColumn('id', 'integer', (c) => c.primaryKey()),
        {
          name: 'text',
          state: 'integer',
          prev_state: 'integer',
          im_mad: 'text',
          vm_mad: 'text',
          cluster_id: 'integer',
          mem_usage: 'bigint',
          cpu_usage: 'bigint',
          total_mem: 'bigint',
          total_cpu: 'bigint',
          max_mem: 'bigint',
          max_cpu: 'bigint',
          running_vms: 'integer',
          vms: 'text',
          template: 'text',
          monitoring: 'text',
          last_mon_time: 'bigint',
          version: 'integer',
        },
      ).execute();
      await db.schema.createIndex('hosts_name').unique().on('hosts').column('name').execute();
      await db.schema.createIndex('hosts_cluster').on('hosts').column('cluster_id').execute();
      await db.schema.createIndex('hosts_state').on('hosts').column('state').execute();

      await notNullColumns(ownedTable(db, 'datastores'), {
        ds_mad: 'text',
        tm_mad: 'text',
        base_path: 'text',
        type: 'integer',
        disk_type: 'integer',
        state: 'integer',
        clusters: 'text',
        total_mb: 'bigint',
        free_mb: 'bigint',
        used_mb: 'bigint',
      }).execute();
      await db.schema.createIndex('datastores_name').unique().on('datastores').column('name').execute();
      await ownerIndexes(db, 'datastores', false);
      await db.schema
        .createTable('datastore_clusters')
        .addColumn('datastore_id', 'integer', (c) =>
          c.notNull().references('datastores.id').onDelete('cascade'),
        )
        .addColumn('cluster_id', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('datastore_clusters_pk', ['datastore_id', 'cluster_id'])
        .execute();
      await db.schema
        .createIndex('datastore_clusters_cluster')
        .on('datastore_clusters')
        .column('cluster_id')
        .execute();

      await notNullColumns(ownedTable(db, 'images'), {
        type: 'integer',
        disk_type: 'integer',
        persistent: 'integer',
        regtime: 'bigint',
        source: 'text',
        path: 'text',
        format: 'text',
        fs: 'text',
        size_mb: 'bigint',
        state: 'integer',
        prev_state: 'integer',
        running_vms: 'integer',
        cloning_ops: 'integer',
        cloning_id: 'integer',
        target_snapshot: 'integer',
        datastore_id: 'integer',
        vms: 'text',
        clones: 'text',
      }).execute();
      await ownerIndexes(db, 'images', true);
      await db.schema.createIndex('images_datastore').on('images').column('datastore_id').execute();
      await db.schema.createIndex('images_state').on('images').column('state').execute();

      await notNullColumns(ownedTable(db, 'vm_templates'), { regtime: 'bigint' }).execute();
      await ownerIndexes(db, 'vm_templates', true);

      await notNullColumns(ownedTable(db, 'vms'), {
        state: 'integer',
        lcm_state: 'integer',
        prev_state: 'integer',
        prev_lcm_state: 'integer',
        resched: 'integer',
        stime: 'bigint',
        etime: 'bigint',
        deploy_id: 'text',
        last_poll: 'bigint',
        monitoring: 'text',
        user_template: 'text',
      })
        .addColumn('host_id', 'integer')
        .execute();
      await ownerIndexes(db, 'vms', false);
      await db.schema.createIndex('vms_state').on('vms').columns(['state', 'lcm_state']).execute();
      await db.schema.createIndex('vms_host').on('vms').column('host_id').execute();

      await notNullColumns(
        db.schema
          .createTable('history')
          .addColumn('vm_id', 'integer', (c) => c.notNull().references('vms.id').onDelete('cascade'))
          .addColumn('seq', 'integer', (c) => c.notNull()),
        {
          hostname: 'text',
          hid: 'integer',
          cid: 'integer',
          stime: 'bigint',
          etime: 'bigint',
          vm_mad: 'text',
          tm_mad: 'text',
          ds_id: 'integer',
          pstime: 'bigint',
          petime: 'bigint',
          rstime: 'bigint',
          retime: 'bigint',
          estime: 'bigint',
          eetime: 'bigint',
          action: 'integer',
          uid: 'integer',
          gid: 'integer',
          request_id: 'bigint',
        },
      )
        .addPrimaryKeyConstraint('history_pk', ['vm_id', 'seq'])
        .execute();
      await db.schema.createIndex('history_host').on('history').column('hid').execute();
    },
  },
  {
    version: 2,
    name: 'networking: virtual networks, address ranges, leases, security groups',
    async up(db) {
      await seedSequences(db, ['vnet', 'secgroup']);

      await notNullColumns(ownedTable(db, 'vnets'), {
        clusters: 'text',
        bridge: 'text',
        bridge_type: 'text',
        state: 'integer',
        prev_state: 'integer',
        vn_mad: 'text',
        phydev: 'text',
        vlan_id: 'text',
        outer_vlan_id: 'text',
        vlan_id_automatic: 'integer',
        outer_vlan_id_automatic: 'integer',
      })
        .addColumn('parent_network_id', 'integer')
        .execute();
      await ownerIndexes(db, 'vnets', true);
      await db.schema.createIndex('vnets_parent').on('vnets').column('parent_network_id').execute();
      await db.schema
        .createTable('vnet_clusters')
        .addColumn('vnet_id', 'integer', (c) => c.notNull().references('vnets.id').onDelete('cascade'))
        .addColumn('cluster_id', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('vnet_clusters_pk', ['vnet_id', 'cluster_id'])
        .execute();
      await db.schema.createIndex('vnet_clusters_cluster').on('vnet_clusters').column('cluster_id').execute();

      await notNullColumns(
        db.schema
          .createTable('address_ranges')
          .addColumn('vnet_id', 'integer', (c) => c.notNull().references('vnets.id').onDelete('cascade'))
          .addColumn('ar_id', 'integer', (c) => c.notNull()),
        {
          position: 'integer',
          type: 'text',
          mac: 'text',
          size: 'bigint',
          next: 'bigint',
          attributes: 'text',
        },
      )
        .addColumn('ip', 'text')
        .addColumn('global_prefix', 'text')
        .addColumn('ula_prefix', 'text')
        .addColumn('ip6', 'text')
        .addColumn('prefix_length', 'integer')
        .addColumn('parent_network_ar_id', 'integer')
        .addPrimaryKeyConstraint('address_ranges_pk', ['vnet_id', 'ar_id'])
        .execute();

      // The primary key makes a double lease impossible; RESTRICT keeps an AR (and so its vnet)
      // from being removed while any of its addresses is leased, as OpenNebula refuses it.
      await db.schema
        .createTable('leases')
        .addColumn('vnet_id', 'integer', (c) => c.notNull())
        .addColumn('ar_id', 'integer', (c) => c.notNull())
        .addColumn('idx', 'bigint', (c) => c.notNull())
        .addColumn('owner_kind', 'text', (c) => c.notNull())
        .addColumn('owner_id', 'integer')
        .addColumn('nic_id', 'integer')
        .addPrimaryKeyConstraint('leases_pk', ['vnet_id', 'ar_id', 'idx'])
        .addForeignKeyConstraint(
          'leases_ar_fk',
          ['vnet_id', 'ar_id'],
          'address_ranges',
          ['vnet_id', 'ar_id'],
          (fk) => fk.onDelete('restrict'),
        )
        .addCheckConstraint('leases_owner_kind', sql`owner_kind in ('vm', 'vnet', 'hold')`)
        .execute();
      await db.schema.createIndex('leases_owner').on('leases').columns(['owner_kind', 'owner_id']).execute();

      await ownedTable(db, 'security_groups').execute();
      await ownerIndexes(db, 'security_groups', true);
    },
  },
  {
    version: 3,
    name: 'history revision: lets lists cache the last history record of each VM',
    async up(db) {
      await db.schema
        .alterTable('history')
        .addColumn('rev', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
    },
  },
  {
    version: 4,
    name: 'lifecycle: driver operations in flight, host credentials, monitoring samples',
    async up(db) {
      // One row per driver operation the controller waits for: the VM's operation lock, and
      // what is re-sent after a restart or a reconnect (op_id is the agent's idempotency key).
      await notNullColumns(
        db.schema.createTable('vm_operations').addColumn('op_id', 'text', (c) => c.primaryKey()),
        {
          vm_id: 'integer',
          host_id: 'integer',
          driver: 'text',
          op: 'text',
          args: 'text',
          action: 'text',
          started: 'bigint',
          deadline: 'bigint',
          state: 'text',
        },
      ).execute();
      await db.schema.createIndex('vm_operations_vm').on('vm_operations').column('vm_id').execute();
      await db.schema.createIndex('vm_operations_host').on('vm_operations').column('host_id').execute();

      // Join tokens and host keys are stored hashed (SHA-256 of a 256-bit random secret).
      await db.schema
        .createTable('host_credentials')
        .addColumn('host_id', 'integer', (c) => c.primaryKey().references('hosts.id').onDelete('cascade'))
        .addColumn('token_hash', 'text')
        .addColumn('token_expires', 'bigint')
        .addColumn('key_hash', 'text')
        .execute();

      for (const table of ['host_monitoring', 'vm_monitoring'] as const) {
        await db.schema
          .createTable(table)
          .addColumn('object_id', 'integer', (c) => c.notNull())
          .addColumn('resolution', 'integer', (c) => c.notNull())
          .addColumn('ts', 'bigint', (c) => c.notNull())
          .addColumn('data', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint(`${table}_pk`, ['object_id', 'resolution', 'ts'])
          .execute();
        await db.schema.createIndex(`${table}_age`).on(table).columns(['resolution', 'ts']).execute();
      }
    },
  },
  {
    version: 5,
    name: 'VM groups (affinity): roles with their VMs',
    async up(db) {
      await seedSequences(db, ['vmgroup']);
      await notNullColumns(ownedTable(db, 'vm_groups'), { roles: 'text' }).execute();
      await ownerIndexes(db, 'vm_groups', true);
    },
  },
  {
    version: 6,
    name: 'scheduler: VMs flagged for rescheduling found by index',
    async up(db) {
      await db.schema
        .createIndex('vms_resched')
        .on('vms')
        .column('resched')
        .where(sql.ref('resched'), '=', 1)
        .execute();
    },
  },
  {
    version: 7,
    name: 'VNC ports held per cluster',
    async up(db) {
      await db.schema
        .createTable('vnc_ports')
        .addColumn('cluster_id', 'integer', (c) => c.notNull())
        .addColumn('port', 'integer', (c) => c.notNull())
        .addColumn('vm_id', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('vnc_ports_pk', ['cluster_id', 'port'])
        .execute();
      await db.schema.createIndex('vnc_ports_vm').on('vnc_ports').column('vm_id').execute();
    },
  },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

/** The applied schema version, 0 for an empty database. */
export async function schemaVersion(db: Kysely<Database>): Promise<number> {
  await createMigrationsTable(db);
  const row = await db
    .selectFrom('schema_migrations')
    .select((eb) => eb.fn.max('version').as('version'))
    .executeTakeFirst();
  return row?.version ?? 0;
}

async function createMigrationsTable(db: Kysely<Database>): Promise<void> {
  await db.schema
    .createTable('schema_migrations')
    .ifNotExists()
    .addColumn('version', 'integer', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('applied_at', 'bigint', (c) => c.notNull())
    .execute();
}

export interface MigrateOptions {
  /** Stop at this version instead of the latest (tests of older schemas). */
  readonly target?: number;
  /** The migration list; tests pass their own. */
  readonly migrations?: readonly Migration[];
}

/**
 * Bring the schema to the latest version (or `target`). Idempotent: applied versions are
 * skipped. Refuses a database whose schema is newer than this code, rather than guessing.
 */
export async function migrate(
  db: Kysely<Database>,
  kind: StoreKind,
  options: MigrateOptions = {},
): Promise<number> {
  const migrations = options.migrations ?? MIGRATIONS;
  const latest = migrations[migrations.length - 1]?.version ?? 0;
  const target = options.target ?? latest;
  await inTransaction(db, kind, async (trx) => {
    await lockSchema(trx, kind);
    await createMigrationsTable(trx);
  });
  const current = await schemaVersion(db);
  if (current > latest) {
    throw new NimbusError(
      StoreErrorCode.SCHEMA_TOO_NEW,
      `the database schema is version ${current} but this Nimbus knows versions up to ${latest}; upgrade Nimbus`,
    );
  }
  for (const migration of migrations) {
    if (migration.version > target) break;
    await inTransaction(db, kind, async (trx) => {
      await lockSchema(trx, kind);
      const applied = await trx
        .selectFrom('schema_migrations')
        .select('version')
        .where('version', '=', migration.version)
        .executeTakeFirst();
      if (applied !== undefined) return;
      await migration.up(trx);
      await trx
        .insertInto('schema_migrations')
        .values({
          version: migration.version,
          name: migration.name,
          applied_at: Math.floor(Date.now() / 1000),
        })
        .execute();
    });
  }
  return schemaVersion(db);
}

/** PostgreSQL: one schema change at a time across processes, released at commit. SQLite's
 * BEGIN IMMEDIATE already holds the only write lock. */
async function lockSchema(trx: Kysely<Database>, kind: StoreKind): Promise<void> {
  if (kind === 'postgres')
    await sql`select pg_advisory_xact_lock(${sql.lit(MIGRATION_LOCK_KEY)})`.execute(trx);
}
