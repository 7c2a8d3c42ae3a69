import type { Generated } from 'kysely';
/**
 * The database schema as Kysely sees it: one interface per table, column names in snake_case.
 * Columns that are filtered, joined or ordered on are typed columns; templates, lists and other
 * nested values are JSON text. Booleans are integers 0/1 on both dialects; quantities and epoch
 * times are BIGINT (parsed back to number), ids and enums INTEGER.
 */

/** Sequence names, one per pool: ids start at 0 and are never handed out twice. */
export type PoolName =
  | 'vm'
  | 'template'
  | 'image'
  | 'datastore'
  | 'host'
  | 'cluster'
  | 'user'
  | 'group'
  | 'acl'
  | 'vnet'
  | 'secgroup'
  | 'vmgroup';

export interface PoolSequencesTable {
  pool: PoolName;
  next_id: number;
}

export interface SchemaMigrationsTable {
  version: number;
  name: string;
  applied_at: number;
}

/** The header every owned object has (OpenNebula ID/UID/GID/NAME/PERMISSIONS/LOCK/TEMPLATE). */
export interface OwnedColumns {
  id: number;
  uid: number;
  gid: number;
  name: string;
  permissions: number;
  /** JSON ObjectLock or null */
  lock: string | null;
  /** JSON Template */
  template: string;
  version: number;
}

export interface VmsTable extends OwnedColumns {
  state: number;
  lcm_state: number;
  prev_state: number;
  prev_lcm_state: number;
  resched: number;
  stime: number;
  etime: number;
  deploy_id: string;
  last_poll: number;
  /** JSON Record<string, string> */
  monitoring: string;
  /** JSON Template */
  user_template: string;
  host_id: number | null;
}

export interface HistoryTable {
  vm_id: number;
  seq: number;
  hostname: string;
  hid: number;
  cid: number;
  stime: number;
  etime: number;
  vm_mad: string;
  tm_mad: string;
  ds_id: number;
  pstime: number;
  petime: number;
  rstime: number;
  retime: number;
  estime: number;
  eetime: number;
  action: number;
  uid: number;
  gid: number;
  request_id: number;
  /** Bumped by every rewrite of the row: (vm_id, seq, rev) names one committed content. */
  rev: Generated<number>;
}

export interface VmTemplatesTable extends OwnedColumns {
  regtime: number;
}

export interface ImagesTable extends OwnedColumns {
  type: number;
  disk_type: number;
  persistent: number;
  regtime: number;
  source: string;
  path: string;
  format: string;
  fs: string;
  size_mb: number;
  state: number;
  prev_state: number;
  running_vms: number;
  cloning_ops: number;
  cloning_id: number;
  target_snapshot: number;
  datastore_id: number;
  /** JSON number[] */
  vms: string;
  /** JSON number[] */
  clones: string;
}

export interface DatastoresTable extends OwnedColumns {
  ds_mad: string;
  tm_mad: string;
  base_path: string;
  type: number;
  disk_type: number;
  state: number;
  /** JSON number[], the record's order; datastore_clusters is its index. */
  clusters: string;
  total_mb: number;
  free_mb: number;
  used_mb: number;
}

export interface DatastoreClustersTable {
  datastore_id: number;
  cluster_id: number;
}

export interface HostsTable {
  id: number;
  name: string;
  state: number;
  prev_state: number;
  im_mad: string;
  vm_mad: string;
  cluster_id: number;
  mem_usage: number;
  cpu_usage: number;
  total_mem: number;
  total_cpu: number;
  max_mem: number;
  max_cpu: number;
  running_vms: number;
  /** JSON number[] */
  vms: string;
  template: string;
  monitoring: string;
  last_mon_time: number;
  version: number;
}

export interface ClustersTable {
  id: number;
  name: string;
  template: string;
  version: number;
}

export interface UsersTable {
  id: number;
  gid: number;
  /** JSON number[], the record's order; group_members is its index. */
  groups: string;
  name: string;
  password: string;
  auth_driver: string;
  enabled: number;
  /** JSON LoginToken[] */
  login_tokens: string;
  template: string;
  /** JSON QuotaSet */
  quotas: string;
  version: number;
}

export interface GroupMembersTable {
  user_id: number;
  group_id: number;
}

export interface GroupsTable {
  id: number;
  name: string;
  /** JSON number[] */
  admins: string;
  template: string;
  quotas: string;
  version: number;
}

/** ACL masks as lower-case hex without 0x, as OpenNebula prints them: 64-bit values survive exactly. */
export interface AclRulesTable {
  id: number;
  user_mask: string;
  resource_mask: string;
  rights_mask: string;
  zone_mask: string;
}

export interface VnetsTable extends OwnedColumns {
  clusters: string;
  bridge: string;
  bridge_type: string;
  state: number;
  prev_state: number;
  parent_network_id: number | null;
  vn_mad: string;
  phydev: string;
  vlan_id: string;
  outer_vlan_id: string;
  vlan_id_automatic: number;
  outer_vlan_id_automatic: number;
}

export interface VnetClustersTable {
  vnet_id: number;
  cluster_id: number;
}

export interface AddressRangesTable {
  vnet_id: number;
  ar_id: number;
  /** Position in the vnet's AR list, so the list reads back in the record's order. */
  position: number;
  type: string;
  mac: string;
  ip: string | null;
  size: number;
  global_prefix: string | null;
  ula_prefix: string | null;
  ip6: string | null;
  prefix_length: number | null;
  parent_network_ar_id: number | null;
  next: number;
  /** JSON Template */
  attributes: string;
}

export type LeaseOwnerKind = 'vm' | 'vnet' | 'hold';

export interface LeasesTable {
  vnet_id: number;
  ar_id: number;
  idx: number;
  owner_kind: LeaseOwnerKind;
  /** VM or reservation vnet id; null for a hold. */
  owner_id: number | null;
  /** NIC_ID for VM leases, null otherwise. */
  nic_id: number | null;
}

export type SecurityGroupsTable = OwnedColumns;

/** VM groups: the owned header plus the roles (JSON VmGroupRole[], VMS included). */
export interface VmGroupsTable extends OwnedColumns {
  roles: string;
}

export interface Database {
  schema_migrations: SchemaMigrationsTable;
  pool_sequences: PoolSequencesTable;
  vms: VmsTable;
  history: HistoryTable;
  vm_templates: VmTemplatesTable;
  images: ImagesTable;
  datastores: DatastoresTable;
  datastore_clusters: DatastoreClustersTable;
  hosts: HostsTable;
  clusters: ClustersTable;
  users: UsersTable;
  group_members: GroupMembersTable;
  groups: GroupsTable;
  acl_rules: AclRulesTable;
  vnets: VnetsTable;
  vnet_clusters: VnetClustersTable;
  address_ranges: AddressRangesTable;
  leases: LeasesTable;
  security_groups: SecurityGroupsTable;
  vm_groups: VmGroupsTable;
  vm_operations: VmOperationsTable;
  host_credentials: HostCredentialsTable;
  vnc_ports: VncPortsTable;
  host_monitoring: MonitoringTable;
  vm_monitoring: MonitoringTable;
}

/** A driver operation the controller waits for (the VM's operation lock). */
export interface VmOperationsTable {
  op_id: string;
  vm_id: number;
  host_id: number;
  /** 'vmm' | 'tm' */
  driver: string;
  op: string;
  /** JSON operation arguments, as sent. */
  args: string;
  /** What started it: a user action (`poweroff`), an event (`event:prolog-success`), `recover:retry`. */
  action: string;
  /** Epoch ms. */
  started: number;
  /** Epoch ms after which the operation counts as failed (TIMEOUT). */
  deadline: number;
  /** 'sent' until a result settles it; 'abandoned' after recover (a late result is ignored). */
  state: string;
}

/** A VNC port a VM holds in a cluster. */
export interface VncPortsTable {
  cluster_id: number;
  port: number;
  vm_id: number;
}

export interface HostCredentialsTable {
  host_id: number;
  /** SHA-256 hex of the one-time join token; null once used. */
  token_hash: string | null;
  /** Epoch s. */
  token_expires: number | null;
  /** SHA-256 hex of the host key issued at join. */
  key_hash: string | null;
}

/** One monitoring sample (resolution 0 = as reported) or a downsampled bucket (resolution = its seconds). */
export interface MonitoringTable {
  object_id: number;
  resolution: number;
  /** Epoch s (bucket start for downsampled rows). */
  ts: number;
  /** JSON figures. */
  data: string;
}
