import { sql } from 'kysely';
import type { Expression, ExpressionBuilder, Kysely, SqlBool } from 'kysely';
import { NimbusError } from '../../domain/errors.js';
import { conflict, notFound, StoreErrorCode, translateDriverErrors } from '../errors.js';
import type { Executor } from '../executor.js';
import type { Database, PoolName } from '../schema.js';
import { allocateIds } from '../sequences.js';

/** Keyset pagination (`afterId`, fast at any depth) or OpenNebula's offset form; ordered by id. */
export interface Page {
  readonly limit?: number;
  /** Only ids greater than this one: pass the previous page's `nextAfterId`. */
  readonly afterId?: number;
  readonly offset?: number;
  /** Read past the record cache and leave it as it is (internal passes over many records). */
  readonly uncached?: boolean;
}

export interface PageResult<R> {
  readonly items: R[];
  /** `afterId` for the next page, null when this page is the last. */
  readonly nextAfterId: number | null;
}

/** What insert takes: the store assigns the id and the version (0). */
export type NewRecord<R> = Omit<R, 'id' | 'version'>;

/** Filters every pool supports; all given conditions must hold. */
export interface PoolFilter {
  readonly ids?: readonly number[];
  /** Inclusive id range (OpenNebula start/end). */
  readonly idFrom?: number;
  readonly idTo?: number;
  readonly name?: string;
  /** Case-insensitive substring of the name. */
  readonly nameContains?: string;
}

/**
 * The visibility rule of OpenNebula's pool queries, as data: an object is listed when the caller
 * owns it, or it is in one of the caller's groups with GROUP_U, or it has OTHER_U (when
 * `otherUse`), or an ACL grants its owner, group or id. The auth domain decides the inputs.
 */
export interface VisibleTo {
  readonly uid: number;
  readonly gids: readonly number[];
  readonly otherUse: boolean;
  readonly aclUids?: readonly number[];
  readonly aclGids?: readonly number[];
  readonly aclIds?: readonly number[];
}

export interface OwnedFilter extends PoolFilter {
  readonly uid?: number;
  readonly gid?: number;
  readonly visibleTo?: VisibleTo;
}

/** CRUD of one pool; every method runs in the transaction of the repository set it came from. */
export interface PoolRepository<R extends { readonly id: number; readonly version: number }, F> {
  /** The object, or NOT_FOUND. */
  get(id: number): Promise<R>;
  find(id: number): Promise<R | undefined>;
  /** First object (lowest id) with this name, of this owner when `uid` is given. */
  findByName(name: string, uid?: number): Promise<R | undefined>;
  list(filter?: F, page?: Page): Promise<PageResult<R>>;
  count(filter?: F): Promise<number>;
  /** Allocates the next id of the pool; NAME_TAKEN where names are unique. */
  insert(record: NewRecord<R>): Promise<number>;
  /** One id block and multi-row statements; the ids are consecutive, in input order. */
  insertMany(records: readonly NewRecord<R>[]): Promise<number[]>;
  /** Writes the whole record if its version is still the stored one, else CONFLICT; returns it with the new version. */
  update(record: R): Promise<R>;
  /** NOT_FOUND if absent; CONFLICT if `expectedVersion` is given and stale. */
  delete(id: number, expectedVersion?: number): Promise<void>;
}

export type Row = Record<string, unknown>;
export type LooseDatabase = Record<string, Row>;
export type Where = ExpressionBuilder<LooseDatabase, string>;

/** A join table that indexes a list field of the record (datastore clusters, user groups ...). */
export interface MembershipSpec<R> {
  readonly table: keyof Database & string;
  readonly ownerColumn: string;
  readonly memberColumn: string;
  members(record: R): readonly number[];
}

export interface PoolSpec<R extends { readonly id: number; readonly version: number }, F> {
  readonly table: keyof Database & string;
  readonly pool: PoolName;
  /** How messages name an object: `VM 7`, `image 3`. */
  readonly noun: string;
  /** OpenNebula's name rule: unique in the pool, unique per owner, or free. */
  readonly nameScope: 'global' | 'owner' | 'none';
  /** Every column but `version`. */
  toRow(record: Omit<R, 'version'>): Row;
  fromRow(row: Row): R;
  where?(eb: Where, filter: F): Expression<SqlBool>[];
  readonly membership?: MembershipSpec<Omit<R, 'version'>>;
  /** Message when a delete is refused by a foreign key (the object still has dependants). */
  inUse?(id: number): string;
}

/** SQLite allows 32766 bound parameters per statement, PostgreSQL 65535. */
const MAX_PARAMETERS = 30000;
/** Above any real page size; SQLite needs a LIMIT for OFFSET. */
const NO_LIMIT = Number.MAX_SAFE_INTEGER;

export function loose(db: Kysely<Database>): Kysely<LooseDatabase> {
  return db as unknown as Kysely<LooseDatabase>;
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

const NEVER = sql<SqlBool>`1 = 0`;

/** `column IN (values)`, which is false for no values rather than a syntax error. */
export function isIn(eb: Where, column: string, values: readonly number[]): Expression<SqlBool> {
  return values.length === 0 ? NEVER : eb(column, 'in', values);
}

/** `column = value`, or `column IN (values)` for a list. */
export function oneOrMany(eb: Where, column: string, value: number | readonly number[]): Expression<SqlBool> {
  return typeof value === 'number' ? eb(column, '=', value) : isIn(eb, column, value);
}

export function poolConditions(eb: Where, filter: PoolFilter): Expression<SqlBool>[] {
  const conditions: Expression<SqlBool>[] = [];
  if (filter.ids !== undefined) conditions.push(isIn(eb, 'id', filter.ids));
  if (filter.idFrom !== undefined) conditions.push(eb('id', '>=', filter.idFrom));
  if (filter.idTo !== undefined) conditions.push(eb('id', '<=', filter.idTo));
  if (filter.name !== undefined) conditions.push(eb('name', '=', filter.name));
  if (filter.nameContains !== undefined) {
    const pattern = `%${filter.nameContains.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    conditions.push(sql<SqlBool>`lower(${sql.ref('name')}) like ${pattern} escape '\\'`);
  }
  return conditions;
}

const GROUP_U = 0o040;
const OTHER_U = 0o004;

export function ownedConditions(eb: Where, filter: OwnedFilter): Expression<SqlBool>[] {
  const conditions = poolConditions(eb, filter);
  if (filter.uid !== undefined) conditions.push(eb('uid', '=', filter.uid));
  if (filter.gid !== undefined) conditions.push(eb('gid', '=', filter.gid));
  const v = filter.visibleTo;
  if (v !== undefined) {
    const grants: Expression<SqlBool>[] = [eb('uid', '=', v.uid)];
    if (v.gids.length > 0) {
      grants.push(
        eb.and([isIn(eb, 'gid', v.gids), sql<SqlBool>`(${sql.ref('permissions')} & ${GROUP_U}) <> 0`]),
      );
    }
    if (v.otherUse) grants.push(sql<SqlBool>`(${sql.ref('permissions')} & ${OTHER_U}) <> 0`);
    if (v.aclUids !== undefined && v.aclUids.length > 0) grants.push(isIn(eb, 'uid', v.aclUids));
    if (v.aclGids !== undefined && v.aclGids.length > 0) grants.push(isIn(eb, 'gid', v.aclGids));
    if (v.aclIds !== undefined && v.aclIds.length > 0) grants.push(isIn(eb, 'id', v.aclIds));
    conditions.push(eb.or(grants));
  }
  return conditions;
}

/** `id IN (SELECT owner FROM membership WHERE member = ?)`: objects listed in a cluster, users in a group. */
export function memberOf(eb: Where, spec: MembershipSpec<never>, memberId: number): Expression<SqlBool> {
  return eb(
    'id',
    'in',
    eb.selectFrom(spec.table).select(spec.ownerColumn).where(spec.memberColumn, '=', memberId),
  );
}

/**
 * Decoded records of one pool by id, for lists outside transactions: a list reads only (id,
 * version) and decodes the rows whose version it has not seen. Committed (id, version) pairs never
 * repeat (versions only grow, ids are never reused), so a hit is always current — also with
 * several nimbusd on one PostgreSQL. Only reads outside transactions fill it: those see
 * committed rows only.
 */
export class RecordCache<R> {
  readonly #records = new Map<number, R>();
  constructor(private readonly capacity = 200_000) {}

  get(id: number, version: number): R | undefined {
    const r = this.#records.get(id) as (R & { version: number }) | undefined;
    return r !== undefined && r.version === version ? r : undefined;
  }

  put(id: number, record: R): void {
    if (this.#records.size >= this.capacity) this.#records.clear();
    this.#records.set(id, record);
  }
}

/** Ids per statement when fetching cache misses. */
const MISS_CHUNK = 5_000;

export class SqlPoolRepository<
  R extends { readonly id: number; readonly version: number },
  F,
> implements PoolRepository<R, F> {
  constructor(
    protected readonly exec: Executor,
    protected readonly spec: PoolSpec<R, F>,
    private readonly cache?: RecordCache<R>,
  ) {}

  protected get db(): Kysely<LooseDatabase> {
    return loose(this.exec.db);
  }

  async get(id: number): Promise<R> {
    const record = await this.find(id);
    if (record === undefined) throw notFound(this.spec.noun, id);
    return record;
  }

  async find(id: number): Promise<R | undefined> {
    const row = await this.db.selectFrom(this.spec.table).selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : (await this.toRecords(this.db, [row]))[0];
  }

  async findByName(name: string, uid?: number): Promise<R | undefined> {
    let query = this.db.selectFrom(this.spec.table).selectAll().where('name', '=', name);
    if (uid !== undefined) query = query.where('uid', '=', uid);
    const row = await query.orderBy('id').limit(1).executeTakeFirst();
    return row === undefined ? undefined : (await this.toRecords(this.db, [row]))[0];
  }

  async list(filter?: F, page: Page = {}): Promise<PageResult<R>> {
    if (this.cache !== undefined && page.uncached !== true) return this.listCached(this.cache, filter, page);
    let query = this.db.selectFrom(this.spec.table).selectAll();
    const conditions = this.conditions(filter);
    if (conditions !== undefined) query = query.where(conditions);
    if (page.afterId !== undefined) query = query.where('id', '>', page.afterId);
    query = query.orderBy('id');
    if (page.limit !== undefined || page.offset !== undefined) query = query.limit(page.limit ?? NO_LIMIT);
    if (page.offset !== undefined) query = query.offset(page.offset);
    const items = await this.toRecords(this.db, await query.execute());
    const last = items[items.length - 1];
    const full = page.limit !== undefined && items.length === page.limit && last !== undefined;
    return { items, nextAfterId: full ? last.id : null };
  }

  private async listCached(cache: RecordCache<R>, filter: F | undefined, page: Page): Promise<PageResult<R>> {
    const conditions = this.conditions(filter);
    const shaped = <Q extends ReturnType<typeof this.selectBase>>(query: Q): Q => {
      let q = query;
      if (conditions !== undefined) q = q.where(conditions) as Q;
      if (page.afterId !== undefined) q = q.where('id', '>', page.afterId) as Q;
      q = q.orderBy('id') as Q;
      if (page.limit !== undefined || page.offset !== undefined) q = q.limit(page.limit ?? NO_LIMIT) as Q;
      if (page.offset !== undefined) q = q.offset(page.offset) as Q;
      return q;
    };
    const keys = (await shaped(this.selectBase().select(['id', 'version'])).execute()) as {
      id: number;
      version: number;
    }[];
    const items: (R | undefined)[] = keys.map((k) => cache.get(Number(k.id), Number(k.version)));
    const missing = keys.filter((_, i) => items[i] === undefined).map((k) => Number(k.id));
    const fetched = new Map<number, R>();
    const keep = (records: readonly R[]): void => {
      for (const record of records) {
        fetched.set(record.id, record);
        cache.put(record.id, record);
      }
    };
    if (missing.length > keys.length / 2) {
      // Mostly cold (first list after a start): one scan is cheaper than id lists.
      keep(await this.toRecords(this.db, await shaped(this.selectBase().selectAll()).execute()));
    } else {
      for (const ids of chunk(missing, MISS_CHUNK)) {
        const rows = await this.db.selectFrom(this.spec.table).selectAll().where('id', 'in', ids).execute();
        keep(await this.toRecords(this.db, rows));
      }
    }
    // A row changed or deleted between the two reads is taken as read the second time, or left out.
    const result = items
      .map((r, i) => r ?? fetched.get(Number(keys[i]!.id)))
      .filter((r): r is R => r !== undefined);
    const last = keys[keys.length - 1];
    const full = page.limit !== undefined && keys.length === page.limit && last !== undefined;
    return { items: result, nextAfterId: full ? Number(last.id) : null };
  }

  private selectBase() {
    return this.db.selectFrom(this.spec.table);
  }

  async count(filter?: F): Promise<number> {
    let query = this.db.selectFrom(this.spec.table).select((eb) => eb.fn.countAll<number>().as('n'));
    const conditions = this.conditions(filter);
    if (conditions !== undefined) query = query.where(conditions);
    const row = await query.executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async insert(record: NewRecord<R>): Promise<number> {
    const [id] = await this.insertMany([record]);
    return id as number;
  }

  async insertMany(records: readonly NewRecord<R>[]): Promise<number[]> {
    if (records.length === 0) return [];
    return this.exec.atomic(async (typedDb) => {
      const db = loose(typedDb);
      const first = await allocateIds(typedDb, this.spec.pool, records.length);
      const withIds = records.map((r, i) => ({ ...r, id: first + i }) as unknown as Omit<R, 'version'>);
      const rows = withIds.map((r) => ({ ...this.spec.toRow(r), version: 0 }));
      const perStatement = Math.max(1, Math.floor(MAX_PARAMETERS / Object.keys(rows[0] as Row).length));
      await translateDriverErrors(
        async () => {
          for (const part of chunk(rows, perStatement))
            await db.insertInto(this.spec.table).values(part).execute();
        },
        { onUnique: () => this.nameTaken(records) },
      );
      await this.writeMembership(db, withIds, 'insert');
      await this.writeChildren(db, withIds, 'insert');
      return withIds.map((r) => r.id);
    });
  }

  async update(record: R): Promise<R> {
    const { id, version } = record;
    const row = this.spec.toRow(record);
    delete row.id;
    // A single-row update needs no transaction of its own; one with index or child rows does.
    const run: Executor['atomic'] =
      this.spec.membership === undefined && !this.hasChildren
        ? (work) => work(this.exec.db)
        : (work) => this.exec.atomic(work);
    return run(async (typedDb) => {
      const db = loose(typedDb);
      const result = await translateDriverErrors(
        () =>
          db
            .updateTable(this.spec.table)
            .set({ ...row, version: version + 1 })
            .where('id', '=', id)
            .where('version', '=', version)
            .executeTakeFirst(),
        { onUnique: () => this.nameTaken([record]) },
      );
      if (Number(result.numUpdatedRows) === 0) throw await this.missingOrConflict(db, id);
      await this.writeMembership(db, [record], 'update');
      await this.writeChildren(db, [record], 'update');
      return { ...record, version: version + 1 };
    });
  }

  async delete(id: number, expectedVersion?: number): Promise<void> {
    // One statement: the foreign keys cascade (or refuse) inside it.
    let query = this.db.deleteFrom(this.spec.table).where('id', '=', id);
    if (expectedVersion !== undefined) query = query.where('version', '=', expectedVersion);
    const result = await translateDriverErrors(() => query.executeTakeFirst(), {
      onForeignKey: () =>
        new NimbusError(
          StoreErrorCode.IN_USE,
          this.spec.inUse?.(id) ?? `${this.spec.noun} ${id} is still referenced; remove its dependants first`,
        ),
    });
    if (Number(result.numDeletedRows) === 0) throw await this.missingOrConflict(this.db, id);
  }

  /** Pools with child tables set this and override toRecords and writeChildren. */
  protected readonly hasChildren: boolean = false;

  /** Records from rows; pools with child tables load the children here. */
  protected async toRecords(_db: Kysely<LooseDatabase>, rows: Row[]): Promise<R[]> {
    return rows.map((row) => this.spec.fromRow(row));
  }

  /** Child rows (address ranges) after the parent row is written, in the same transaction. */
  protected async writeChildren(
    _db: Kysely<LooseDatabase>,
    _records: readonly Omit<R, 'version'>[],
    _op: 'insert' | 'update',
  ): Promise<void> {}

  private conditions(filter: F | undefined): ((eb: Where) => Expression<SqlBool>) | undefined {
    const where = this.spec.where;
    if (filter === undefined || where === undefined) return undefined;
    return (eb) => eb.and(where(eb, filter));
  }

  private async writeMembership(
    db: Kysely<LooseDatabase>,
    records: readonly Omit<R, 'version'>[],
    op: 'insert' | 'update',
  ): Promise<void> {
    const m = this.spec.membership;
    if (m === undefined) return;
    if (op === 'update') {
      await db
        .deleteFrom(m.table)
        .where(
          m.ownerColumn,
          'in',
          records.map((r) => r.id),
        )
        .execute();
    }
    const rows = records.flatMap((r) =>
      [...new Set(m.members(r))].map((member) => ({ [m.ownerColumn]: r.id, [m.memberColumn]: member })),
    );
    for (const part of chunk(rows, MAX_PARAMETERS / 2)) await db.insertInto(m.table).values(part).execute();
  }

  private async missingOrConflict(db: Kysely<LooseDatabase>, id: number): Promise<NimbusError> {
    const exists = await db.selectFrom(this.spec.table).select('id').where('id', '=', id).executeTakeFirst();
    return exists === undefined ? notFound(this.spec.noun, id) : conflict(this.spec.noun, id);
  }

  private nameTaken(records: readonly Partial<Row>[]): NimbusError {
    const { noun, nameScope } = this.spec;
    if (records.length !== 1) {
      return new NimbusError(
        StoreErrorCode.NAME_TAKEN,
        `a name among the ${records.length} new ${noun}s is already taken`,
        'NAME',
      );
    }
    const r = records[0] as Row;
    const name = JSON.stringify(r.name);
    const message =
      nameScope === 'owner'
        ? `${noun} name ${name} is already taken by another ${noun} of user ${String(r.uid)}`
        : `${noun} name ${name} is already taken`;
    return new NimbusError(StoreErrorCode.NAME_TAKEN, message, 'NAME');
  }
}
