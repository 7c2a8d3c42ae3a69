import { AsyncLocalStorage } from 'node:async_hooks';
import type {
  Kysely,
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from 'kysely';
import { NimbusError } from '../domain/errors.js';
import { createKysely, inTransaction } from './dialect.js';
import type { StoreKind, StoreOptions } from './dialect.js';
import { classifyDriverError, StoreErrorCode } from './errors.js';
import { transactionExecutor } from './executor.js';
import type { Executor } from './executor.js';
import { migrate, schemaVersion } from './migrations.js';
import { createAclRepository } from './repositories/acl.js';
import type { AclRepository } from './repositories/acl.js';
import { createClusterRepository } from './repositories/clusters.js';
import type { ClusterRepository } from './repositories/clusters.js';
import { createDatastoreRepository } from './repositories/datastores.js';
import type { DatastoreRepository } from './repositories/datastores.js';
import { createHistoryRepository, LastHistoryCache } from './repositories/history.js';
import type { HistoryRepository } from './repositories/history.js';
import { createHostRepository } from './repositories/hosts.js';
import type { HostRepository } from './repositories/hosts.js';
import { createImageRepository } from './repositories/images.js';
import type { ImageRepository } from './repositories/images.js';
import { createLeaseRepository } from './repositories/leases.js';
import type { LeaseRepository } from './repositories/leases.js';
import { createSecurityGroupRepository } from './repositories/secgroups.js';
import type { SecurityGroupRepository } from './repositories/secgroups.js';
import { createGroupRepository, createUserRepository } from './repositories/users.js';
import type { GroupRepository, UserRepository } from './repositories/users.js';
import { RecordCache } from './repositories/pool.js';
import { createVmRepository } from './repositories/vms.js';
import type { VmRecord } from '../domain/vm/record.js';
import type { VmRepository } from './repositories/vms.js';
import { createVmTemplateRepository } from './repositories/vmtemplates.js';
import type { VmTemplateRepository } from './repositories/vmtemplates.js';
import { createVmGroupRepository } from './repositories/vmgroups.js';
import type { VmGroupRepository } from './repositories/vmgroups.js';
import { createVnetRepository } from './repositories/vnets.js';
import type { VnetRepository } from './repositories/vnets.js';
import { createHostCredentialRepository } from './repositories/host-credentials.js';
import { createVncPortRepository, type VncPortRepository } from './repositories/vnc-ports.js';
import type { HostCredentialRepository } from './repositories/host-credentials.js';
import { createVmOperationRepository } from './repositories/operations.js';
import type { VmOperationRepository } from './repositories/operations.js';
import { createMonitoringRepository } from './repositories/monitoring.js';
import type { MonitoringRepository } from './repositories/monitoring.js';
import type { Database } from './schema.js';
import { createSequenceRepository } from './sequences.js';
import type { SequenceRepository } from './sequences.js';

/** One repository per pool. Inside `store.transaction` they all share the transaction. */
export interface Repositories {
  readonly vms: VmRepository;
  readonly history: HistoryRepository;
  readonly vmTemplates: VmTemplateRepository;
  readonly images: ImageRepository;
  readonly datastores: DatastoreRepository;
  readonly hosts: HostRepository;
  readonly clusters: ClusterRepository;
  readonly users: UserRepository;
  readonly groups: GroupRepository;
  readonly acl: AclRepository;
  readonly vnets: VnetRepository;
  readonly leases: LeaseRepository;
  readonly securityGroups: SecurityGroupRepository;
  readonly vmGroups: VmGroupRepository;
  readonly sequences: SequenceRepository;
  readonly operations: VmOperationRepository;
  readonly hostCredentials: HostCredentialRepository;
  readonly vncPorts: VncPortRepository;
  readonly monitoring: MonitoringRepository;
}

export interface TransactionOptions {
  /**
   * Run `work` again, from the start, up to this many times when it fails with CONFLICT (a stale
   * version, a PostgreSQL deadlock or serialization failure). Default 0. Only for work whose
   * effects are all in the store.
   */
  readonly retries?: number;
}

export interface Store extends Repositories {
  readonly kind: StoreKind;
  /**
   * Run `work` in one transaction: committed when it resolves, rolled back when it throws. Use
   * only the `tx` repositories inside; the store's own ones (and a nested transaction) are
   * refused there with NESTED_TRANSACTION, because on SQLite they would wait for this very
   * transaction, and on PostgreSQL they would silently run outside it.
   */
  transaction<T>(work: (tx: Repositories) => Promise<T>, options?: TransactionOptions): Promise<T>;
  schemaVersion(): Promise<number>;
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  /** Migrate up to this version instead of the latest (tests of older schemas). */
  readonly migrateTo?: number;
}

/** Opens the database, applies pending migrations, and returns the repositories. */
export async function openStore(options: StoreOptions, open: OpenStoreOptions = {}): Promise<Store> {
  const db = createKysely(options);
  try {
    await migrate(db, options.kind, open.migrateTo === undefined ? {} : { target: open.migrateTo });
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return new SqlStore(db, options.kind);
}

/** Record caches of the repositories used outside transactions (see RecordCache). */
interface RepositoryCaches {
  readonly vms: RecordCache<VmRecord>;
  readonly lastHistory: LastHistoryCache;
}

export function createRepositories(exec: Executor, caches?: RepositoryCaches): Repositories {
  return {
    vms: createVmRepository(exec, caches?.vms),
    history: createHistoryRepository(exec, caches?.lastHistory),
    vmTemplates: createVmTemplateRepository(exec),
    images: createImageRepository(exec),
    datastores: createDatastoreRepository(exec),
    hosts: createHostRepository(exec),
    clusters: createClusterRepository(exec),
    users: createUserRepository(exec),
    groups: createGroupRepository(exec),
    acl: createAclRepository(exec),
    vnets: createVnetRepository(exec),
    leases: createLeaseRepository(exec),
    securityGroups: createSecurityGroupRepository(exec),
    vmGroups: createVmGroupRepository(exec),
    sequences: createSequenceRepository(exec.db),
    operations: createVmOperationRepository(exec),
    hostCredentials: createHostCredentialRepository(exec),
    vncPorts: createVncPortRepository(exec),
    monitoring: createMonitoringRepository(exec),
  };
}

interface TransactionScope {
  active: boolean;
}

const transactionScope = new AsyncLocalStorage<TransactionScope>();

function insideTransaction(): boolean {
  return transactionScope.getStore()?.active === true;
}

function nestedTransactionError(): NimbusError {
  return new NimbusError(
    StoreErrorCode.NESTED_TRANSACTION,
    'the store was used directly inside store.transaction(); use the repositories passed to the transaction',
  );
}

/** Refuses queries through the store's own repositories while the caller is inside a transaction. */
const outsideTransactionGuard: KyselyPlugin = {
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    if (insideTransaction()) throw nestedTransactionError();
    return args.node;
  },
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  },
};

/**
 * SQLite has one connection and one writer: transactions wait here, in arrival order, instead
 * of interleaving their statements on the shared connection.
 */
class TransactionQueue {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(work);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}

class SqlStore implements Store {
  readonly #db: Kysely<Database>;
  readonly #queue: TransactionQueue | undefined;
  readonly #repositories: Repositories;

  constructor(
    db: Kysely<Database>,
    readonly kind: StoreKind,
  ) {
    this.#db = db;
    this.#queue = kind === 'sqlite' ? new TransactionQueue() : undefined;
    this.#repositories = createRepositories(
      {
        db: db.withPlugin(outsideTransactionGuard),
        atomic: (work) => this.#runTransaction((trx) => work(trx)),
      },
      { vms: new RecordCache<VmRecord>(), lastHistory: new LastHistoryCache() },
    );
  }

  get vms() {
    return this.#repositories.vms;
  }
  get history() {
    return this.#repositories.history;
  }
  get vmTemplates() {
    return this.#repositories.vmTemplates;
  }
  get images() {
    return this.#repositories.images;
  }
  get datastores() {
    return this.#repositories.datastores;
  }
  get hosts() {
    return this.#repositories.hosts;
  }
  get clusters() {
    return this.#repositories.clusters;
  }
  get users() {
    return this.#repositories.users;
  }
  get groups() {
    return this.#repositories.groups;
  }
  get acl() {
    return this.#repositories.acl;
  }
  get vnets() {
    return this.#repositories.vnets;
  }
  get leases() {
    return this.#repositories.leases;
  }
  get securityGroups() {
    return this.#repositories.securityGroups;
  }
  get vmGroups() {
    return this.#repositories.vmGroups;
  }
  get sequences() {
    return this.#repositories.sequences;
  }

  get operations() {
    return this.#repositories.operations;
  }

  get hostCredentials() {
    return this.#repositories.hostCredentials;
  }

  get vncPorts() {
    return this.#repositories.vncPorts;
  }

  get monitoring() {
    return this.#repositories.monitoring;
  }

  async transaction<T>(work: (tx: Repositories) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    const retries = options.retries ?? 0;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#runTransaction((trx) => work(createRepositories(transactionExecutor(trx))));
      } catch (error) {
        if (attempt >= retries || !(error instanceof NimbusError) || error.code !== StoreErrorCode.CONFLICT)
          throw error;
      }
    }
  }

  schemaVersion(): Promise<number> {
    return schemaVersion(this.#db);
  }

  close(): Promise<void> {
    return this.#db.destroy();
  }

  async #runTransaction<T>(work: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
    if (insideTransaction()) throw nestedTransactionError();
    const run = async (): Promise<T> => {
      const scope: TransactionScope = { active: true };
      try {
        return await inTransaction(this.#db, this.kind, (trx) =>
          transactionScope.run(scope, () => work(trx)),
        );
      } catch (error) {
        // A deadlock or serialization failure surfaces at any statement, or at COMMIT.
        if (!(error instanceof NimbusError) && classifyDriverError(error) === 'retryable') {
          throw new NimbusError(
            StoreErrorCode.CONFLICT,
            `the database refused a concurrent change (${(error as Error).message}); retry`,
          );
        }
        throw error;
      } finally {
        scope.active = false;
      }
    };
    return this.#queue === undefined ? run() : this.#queue.run(run);
  }
}
