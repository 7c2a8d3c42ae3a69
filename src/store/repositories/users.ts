import type { Expression, SqlBool } from 'kysely';
import type { GroupRecord, LoginToken, UserRecord } from '../../domain/auth/record.js';
import type { QuotaSet } from '../../domain/quota/record.js';
import type { Template } from '../../domain/template/types.js';
import { fromFlag, fromJson, toFlag, toJson } from '../codec.js';
import type { Executor } from '../executor.js';
import type { GroupsTable, UsersTable } from '../schema.js';
import { memberOf, poolConditions, SqlPoolRepository } from './pool.js';
import type { MembershipSpec, PoolFilter, PoolRepository, Row, Where } from './pool.js';

export interface UserFilter extends PoolFilter {
  /** Primary group. */
  readonly gid?: number;
  /** Users in this group, primary or secondary (GROUP's USERS). */
  readonly groupId?: number;
  readonly enabled?: boolean;
  readonly authDriver?: string;
}

export type UserRepository = PoolRepository<UserRecord, UserFilter>;
export type GroupFilter = PoolFilter;
export type GroupRepository = PoolRepository<GroupRecord, GroupFilter>;

const groupMembership: MembershipSpec<Omit<UserRecord, 'version'>> = {
  table: 'group_members',
  ownerColumn: 'user_id',
  memberColumn: 'group_id',
  members: (r) => r.groups,
};

function userToRow(r: Omit<UserRecord, 'version'>): Omit<UsersTable, 'version'> {
  return {
    id: r.id,
    gid: r.gid,
    groups: toJson(r.groups),
    name: r.name,
    password: r.password,
    auth_driver: r.authDriver,
    enabled: toFlag(r.enabled),
    login_tokens: toJson(r.loginTokens),
    template: toJson(r.template),
    quotas: toJson(r.quotas),
  };
}

function userFromRow(row: UsersTable): UserRecord {
  return {
    id: row.id,
    gid: row.gid,
    groups: fromJson<number[]>(row.groups),
    name: row.name,
    password: row.password,
    authDriver: row.auth_driver,
    enabled: fromFlag(row.enabled),
    loginTokens: fromJson<LoginToken[]>(row.login_tokens),
    template: fromJson<Template>(row.template),
    quotas: fromJson<QuotaSet>(row.quotas),
    version: row.version,
  };
}

function userWhere(eb: Where, f: UserFilter): Expression<SqlBool>[] {
  const conditions = poolConditions(eb, f);
  if (f.gid !== undefined) conditions.push(eb('gid', '=', f.gid));
  if (f.groupId !== undefined) conditions.push(memberOf(eb, groupMembership, f.groupId));
  if (f.enabled !== undefined) conditions.push(eb('enabled', '=', toFlag(f.enabled)));
  if (f.authDriver !== undefined) conditions.push(eb('auth_driver', '=', f.authDriver));
  return conditions;
}

export function createUserRepository(exec: Executor): UserRepository {
  return new SqlPoolRepository<UserRecord, UserFilter>(exec, {
    table: 'users',
    pool: 'user',
    noun: 'user',
    nameScope: 'global',
    toRow: userToRow,
    fromRow: (row: Row) => userFromRow(row as unknown as UsersTable),
    where: userWhere,
    membership: groupMembership,
  });
}

export function createGroupRepository(exec: Executor): GroupRepository {
  return new SqlPoolRepository<GroupRecord, GroupFilter>(exec, {
    table: 'groups',
    pool: 'group',
    noun: 'group',
    nameScope: 'global',
    toRow: (r): Omit<GroupsTable, 'version'> => ({
      id: r.id,
      name: r.name,
      admins: toJson(r.admins),
      template: toJson(r.template),
      quotas: toJson(r.quotas),
    }),
    fromRow: (row: Row) => {
      const g = row as unknown as GroupsTable;
      return {
        id: g.id,
        name: g.name,
        admins: fromJson<number[]>(g.admins),
        template: fromJson<Template>(g.template),
        quotas: fromJson<QuotaSet>(g.quotas),
        version: g.version,
      };
    },
    where: poolConditions,
  });
}
