import type { Logger } from 'pino';
import { compileAcl, type AclEvaluator, type AuthItem, authorize } from '../domain/auth/authorize.js';
import type { AclResourceType } from '../domain/auth/acl.js';
import { NimbusError } from '../domain/errors.js';
import type { Store } from '../store/index.js';
import type { Caller } from './caller.js';
import type { DaemonConfig } from './config.js';

/**
 * What every controller service gets: the store, the configuration, a clock, a logger, and the
 * shared caches (compiled ACL table, user and group names). Services are plain classes built
 * from a context; routes build the services they use.
 */
export interface ControllerContext {
  readonly store: Store;
  readonly config: DaemonConfig;
  readonly log: Logger;
  /** Epoch seconds. */
  now(): number;
  readonly acl: AclCache;
  readonly names: NameDirectory;
  /** Refuse with AUTHORIZATION unless the caller may do all of `items`; `method` names the request. */
  authorize(caller: Caller, items: AuthItem | readonly AuthItem[], method: string): void;
  /** Drop cached credentials of a user (password change, disable, delete, group change). */
  forgetCredentials(uid: number): void;
  /**
   * Events other services react to. The lifecycle engine sets `imageCopyEnded` to move VMs waiting
   * in CLONING on; the default does nothing.
   */
  readonly events: { imageCopyEnded: (imageId: number, ok: boolean) => void };
}

/** The compiled ACL table, rebuilt after any ACL change (and at most every few seconds otherwise,
 * so that several nimbusd on one PostgreSQL converge). */
export class AclCache {
  #evaluator: AclEvaluator | null = null;
  #loadedAt = 0;
  constructor(
    private readonly store: Store,
    private readonly maxAgeMs = 5_000,
  ) {}

  async evaluator(): Promise<AclEvaluator> {
    if (this.#evaluator === null || Date.now() - this.#loadedAt > this.maxAgeMs) {
      const rules = await this.store.acl.list();
      this.#evaluator = compileAcl(rules, { zoneId: 0 });
      this.#loadedAt = Date.now();
    }
    return this.#evaluator;
  }

  invalidate(): void {
    this.#evaluator = null;
  }
}

/** UNAME / GNAME for rendering: user and group names by id, loaded once and kept current. */
export class NameDirectory {
  #users: Map<number, string> | null = null;
  #groups: Map<number, string> | null = null;
  constructor(private readonly store: Store) {}

  async load(): Promise<void> {
    if (this.#users === null) {
      const users = await this.store.users.list(undefined, { limit: 1_000_000 });
      this.#users = new Map(users.items.map((u) => [u.id, u.name]));
    }
    if (this.#groups === null) {
      const groups = await this.store.groups.list(undefined, { limit: 1_000_000 });
      this.#groups = new Map(groups.items.map((g) => [g.id, g.name]));
    }
  }

  /** Call `load()` first (the REST layer does it once per request). */
  user(uid: number): string {
    return this.#users?.get(uid) ?? '';
  }

  group(gid: number): string {
    return this.#groups?.get(gid) ?? '';
  }

  /** Changes whenever the names may have changed: rendered bodies cached under it stay valid. */
  get generation(): number {
    return this.#generation;
  }

  #generation = 0;

  invalidate(): void {
    this.#users = null;
    this.#groups = null;
    this.#generation++;
  }
}

export function createContext(
  store: Store,
  config: DaemonConfig,
  log: Logger,
  hooks: { forgetCredentials(uid: number): void } = { forgetCredentials: () => undefined },
): ControllerContext {
  const acl = new AclCache(store);
  return {
    store,
    config,
    log,
    now: () => Math.floor(Date.now() / 1000),
    acl,
    names: new NameDirectory(store),
    authorize(caller, items, method) {
      const result = authorize(caller.authorizer, items, method);
      if (!result.ok) throw new NimbusError(result.error.code, result.error.message);
    },
    forgetCredentials: (uid) => hooks.forgetCredentials(uid),
    events: { imageCopyEnded: () => undefined },
  };
}

/** The OpenNebula method name a REST request corresponds to, for messages (`one.vm.action`). */
export function methodName(resource: AclResourceType, verb: string): string {
  const prefix: Partial<Record<AclResourceType, string>> = {
    VM: 'vm',
    HOST: 'host',
    NET: 'vn',
    IMAGE: 'image',
    USER: 'user',
    TEMPLATE: 'template',
    GROUP: 'group',
    DATASTORE: 'datastore',
    CLUSTER: 'cluster',
    SECGROUP: 'secgroup',
  };
  return `one.${prefix[resource] ?? resource.toLowerCase()}.${verb}`;
}
