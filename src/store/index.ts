/**
 * The store: Kysely schema, migrations run at start-up, one repository per pool, on SQLite
 * (default, one controller) or PostgreSQL (scale-out). Controllers use only what is exported here.
 */
export { openStore } from './store.js';
export type { OpenStoreOptions, Repositories, Store, TransactionOptions } from './store.js';
export type { PostgresStoreOptions, SqliteStoreOptions, StoreKind, StoreOptions } from './dialect.js';
export { StoreErrorCode } from './errors.js';
export { LATEST_SCHEMA_VERSION } from './migrations.js';
export type { PoolName } from './schema.js';
export type { SequenceRepository } from './sequences.js';
export type {
  NewRecord,
  OwnedFilter,
  Page,
  PageResult,
  PoolFilter,
  PoolRepository,
  VisibleTo,
} from './repositories/pool.js';
export type { AclRepository } from './repositories/acl.js';
export type { ClusterFilter, ClusterRepository } from './repositories/clusters.js';
export type { DatastoreFilter, DatastoreRepository } from './repositories/datastores.js';
export type { HistoryFilter, HistoryRepository } from './repositories/history.js';
export type { HostFilter, HostRepository } from './repositories/hosts.js';
export type { ImageFilter, ImageRepository } from './repositories/images.js';
export type { LeaseOwnerRef, LeaseRepository } from './repositories/leases.js';
export type { SecurityGroupFilter, SecurityGroupRepository } from './repositories/secgroups.js';
export type { GroupFilter, GroupRepository, UserFilter, UserRepository } from './repositories/users.js';
export type { VmFilter, VmRepository } from './repositories/vms.js';
export type { VmGroupFilter, VmGroupRepository } from './repositories/vmgroups.js';
export type { VmTemplateFilter, VmTemplateRepository } from './repositories/vmtemplates.js';
export type { VnetFilter, VnetRepository } from './repositories/vnets.js';
