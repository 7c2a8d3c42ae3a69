import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { aclRuleToString } from '../../../src/domain/auth/acl.js';
import { compileAcl } from '../../../src/domain/auth/authorize.js';
import type { GroupRecord, LoginToken, UserRecord } from '../../../src/domain/auth/record.js';
import { validateObjectName } from '../../../src/domain/object.js';
import {
  addGroupAdmin,
  addSecondaryGroup,
  bootstrapIdentities,
  changePrimaryGroup,
  checkGroupDeletable,
  checkPasswordChange,
  checkUniqueName,
  checkUserDeletable,
  findLoginToken,
  groupAuthObject,
  isLoginTokenExpired,
  login,
  pruneExpiredLoginTokens,
  removeGroupAdmin,
  removeSecondaryGroup,
  sessionGroups,
  setUserEnabled,
  userAuthObject,
  userSecretsVisibility,
  validateGroupName,
  validatePassword,
  validateUserName,
  type LoginContext,
} from '../../../src/domain/auth/users.js';

const EMPTY = { vm: null, datastore: [], network: [], image: [] };

function user(over: Partial<UserRecord> = {}): UserRecord {
  return {
    id: 3,
    gid: 1,
    groups: [1],
    name: 'alice',
    password: 'hash',
    authDriver: 'core',
    enabled: true,
    loginTokens: [],
    template: {},
    quotas: EMPTY,
    version: 0,
    ...over,
  };
}

function group(over: Partial<GroupRecord> = {}): GroupRecord {
  return { id: 100, name: 'dev', admins: [], template: {}, quotas: EMPTY, version: 0, ...over };
}

function message(r: { ok: boolean; error?: { message: string } }): string {
  assert.equal(r.ok, false, 'expected a failure');
  return r.error?.message ?? '';
}

describe('names and passwords', () => {
  it('accepts ordinary names', () => {
    assert.deepEqual(validateUserName('alice.smith-2@corp'), { ok: true, value: 'alice.smith-2@corp' });
    assert.deepEqual(validateGroupName('dev team'), { ok: true, value: 'dev team' });
  });

  it('refuses empty names, forbidden characters and more than 128 bytes', () => {
    assert.equal(message(validateUserName('')), 'Invalid NAME, it cannot be empty');
    assert.equal(message(validateUserName('a b')), "Invalid NAME, char ' ' is not allowed");
    assert.equal(message(validateUserName('a\tb')), "Invalid NAME, char '\\t' is not allowed");
    assert.equal(message(validateUserName('a:b')), "Invalid NAME, char ':' is not allowed");
    for (const c of '&|:\\";/\'#{}$<>') assert.equal(validateGroupName(`g${c}`).ok, false, c);
    assert.equal(message(validateObjectName('x'.repeat(129))), 'Invalid NAME, max length is 128 chars');
    assert.equal(validateObjectName('x'.repeat(128)).ok, true);
    assert.equal(validateObjectName('é'.repeat(65)).ok, false);
    const r = validateUserName('');
    assert.equal(!r.ok && r.error.field, 'NAME');
  });

  it('checks passwords', () => {
    assert.equal(validatePassword('s3cret!').ok, true);
    assert.equal(message(validatePassword('')), 'Invalid password, it cannot be empty');
    assert.equal(message(validatePassword('a b')), "Invalid password, character ' ' is not allowed");
    assert.equal(validatePassword('', { passwordRequired: false }).ok, true);
  });

  it('refuses a taken name', () => {
    assert.equal(
      message(checkUniqueName('USER', 'bob', [{ id: 4, name: 'bob' }])),
      'NAME is already taken by USER 4.',
    );
    assert.equal(checkUniqueName('GROUP', 'ops', [{ id: 4, name: 'bob' }]).ok, true);
  });
});

describe('bootstrap identities', () => {
  it('creates oneadmin 0 and serveradmin 1 in group 0, groups oneadmin 0 and users 1', () => {
    const r = bootstrapIdentities({ oneadminPassword: 'h0', serveradminPassword: 'h1' });
    assert.ok(r.ok);
    const { users, groups } = r.value;
    assert.deepEqual(
      users.map((u) => [u.id, u.name, u.gid, u.groups, u.authDriver, u.password, u.enabled]),
      [
        [0, 'oneadmin', 0, [0], 'core', 'h0', true],
        [1, 'serveradmin', 0, [0], 'server_cipher', 'h1', true],
      ],
    );
    assert.deepEqual(
      groups.map((g) => [g.id, g.name]),
      [
        [0, 'oneadmin'],
        [1, 'users'],
      ],
    );
  });

  it('takes the oneadmin name from one_auth but never serveradmin', () => {
    const r = bootstrapIdentities({ oneadminName: 'root', oneadminPassword: 'h', serveradminPassword: 'h' });
    assert.equal(r.ok && r.value.users[0]?.name, 'root');
    assert.equal(
      message(
        bootstrapIdentities({ oneadminName: 'serveradmin', oneadminPassword: 'h', serveradminPassword: 'h' }),
      ),
      "The name 'serveradmin' is reserved",
    );
    assert.equal(
      bootstrapIdentities({ oneadminName: 'a b', oneadminPassword: 'h', serveradminPassword: 'h' }).ok,
      false,
    );
  });
});

describe('users and groups as objects', () => {
  it('a user may use and manage itself; members may use their group', () => {
    const a = compileAcl([]).forSubject({ uid: 3, gids: [1, 100] });
    assert.equal(a.can('MANAGE', userAuthObject(user())), true);
    assert.equal(a.can('ADMIN', userAuthObject(user())), false);
    assert.equal(a.can('USE', userAuthObject(user({ id: 4 }))), false);
    assert.equal(a.can('USE', groupAuthObject(group())), true);
    assert.equal(a.can('MANAGE', groupAuthObject(group())), false);
    assert.equal(a.can('USE', groupAuthObject(group({ id: 101 }))), false);
  });
});

describe('group membership', () => {
  it('chgrp to a new group moves the user out of the old primary group', () => {
    assert.deepEqual(changePrimaryGroup(user({ groups: [1, 5] }), 100), {
      ok: true,
      value: user({ gid: 100, groups: [5, 100] }),
    });
  });

  it('chgrp to a secondary group keeps the old primary as secondary', () => {
    assert.deepEqual(changePrimaryGroup(user({ groups: [1, 100] }), 100), {
      ok: true,
      value: user({ gid: 100, groups: [1, 100] }),
    });
  });

  it('chgrp to the same group changes nothing; bad ids and oneadmin are refused', () => {
    const u = user();
    const same = changePrimaryGroup(u, 1);
    assert.ok(same.ok && same.value === u);
    assert.equal(message(changePrimaryGroup(u, -1)), 'Wrong group ID');
    assert.equal(
      message(changePrimaryGroup(user({ id: 0, name: 'oneadmin', gid: 0, groups: [0] }), 1)),
      'user [0] oneadmin cannot be moved outside of the group [0] oneadmin',
    );
    assert.equal(
      message(changePrimaryGroup(user({ authDriver: 'ldap' }), 100, { driverManagedGroups: true })),
      'Groups cannot be manually managed for auth driver ldap',
    );
    assert.equal(changePrimaryGroup(user({ groups: [1, 100] }), 100, { driverManagedGroups: true }).ok, true);
  });

  it('adds and removes secondary groups', () => {
    assert.deepEqual(addSecondaryGroup(user(), 100), { ok: true, value: user({ groups: [1, 100] }) });
    assert.equal(message(addSecondaryGroup(user(), 1)), 'User is already in this group');
    assert.deepEqual(removeSecondaryGroup(user({ groups: [1, 100] }), 100), { ok: true, value: user() });
    assert.equal(message(removeSecondaryGroup(user(), 100)), 'User is not part of this group');
    assert.equal(message(removeSecondaryGroup(user(), 1)), 'Cannot remove user from the primary group');
    assert.equal(addSecondaryGroup(user(), 100, { driverManagedGroups: true }).ok, false);
    assert.equal(removeSecondaryGroup(user(), 100, { driverManagedGroups: true }).ok, false);
  });

  it('group admins must be members and get the admin ACL rules', () => {
    const r = addGroupAdmin(group(), user({ groups: [1, 100] }));
    assert.ok(r.ok);
    assert.deepEqual(r.value.group.admins, [3]);
    assert.equal(r.value.rules.length, 4);
    assert.equal(aclRuleToString(r.value.rules[3]!), '#3 GROUP/#100 MANAGE *');
    assert.equal(message(addGroupAdmin(group(), user())), 'User 3 is not part of Group 100.');
    assert.equal(
      message(addGroupAdmin(group({ admins: [3] }), user({ groups: [100] }))),
      'User 3 is already an administrator of Group 100.',
    );
    const removed = removeGroupAdmin(group({ admins: [3, 4] }), 3);
    assert.ok(removed.ok);
    assert.deepEqual(removed.value.group.admins, [4]);
    assert.equal(removed.value.rules.length, 4);
    assert.equal(message(removeGroupAdmin(group(), 3)), 'User 3 is not an administrator of Group 100.');
  });
});

describe('deleting, enabling, passwords', () => {
  it('keeps system groups, non-empty groups and oneadmin', () => {
    assert.equal(message(checkGroupDeletable({ id: 1 }, 0)), 'System Groups (ID < 100) cannot be deleted.');
    assert.equal(message(checkGroupDeletable({ id: 100 }, 2)), 'Group 100 is not empty.');
    assert.equal(checkGroupDeletable({ id: 100 }, 0).ok, true);
    assert.equal(message(checkUserDeletable({ id: 0 })), 'oneadmin cannot be deleted.');
    assert.equal(checkUserDeletable({ id: 3 }).ok, true);
  });

  it('enables and disables users but not oneadmin', () => {
    assert.deepEqual(setUserEnabled(user(), false), { ok: true, value: user({ enabled: false }) });
    const u = user();
    const same = setUserEnabled(u, true);
    assert.ok(same.ok && same.value === u);
    assert.equal(message(setUserEnabled(user({ id: 0 }), false)), 'Cannot enable/disable oneadmin user');
  });

  it('lets only admins change passwords of drivers without PASSWORD_CHANGE', () => {
    assert.equal(
      message(
        checkPasswordChange(user({ authDriver: 'ldap' }), 'x', {
          isAdmin: false,
          passwordChangeAllowed: false,
        }),
      ),
      'Password for driver ldap cannot be changed.',
    );
    assert.equal(checkPasswordChange(user(), 'x', { isAdmin: true, passwordChangeAllowed: false }).ok, true);
    assert.equal(
      checkPasswordChange(user(), 'a b', { isAdmin: false, passwordChangeAllowed: true }).ok,
      false,
    );
    assert.equal(
      checkPasswordChange(user(), '', {
        isAdmin: false,
        passwordChangeAllowed: true,
        passwordRequired: false,
      }).ok,
      true,
    );
  });
});

describe('login tokens', () => {
  const now = 1_000_000;
  const ctx: LoginContext = { now, maxTokenTime: -1, sessionGids: [1], isAdmin: false };
  const token = (tokenHash: string, expirationTime: number, egid = -1): LoginToken => ({
    tokenHash,
    expirationTime,
    egid,
  });

  it('issues a token valid for the given seconds, or forever with -1', () => {
    const r = login(user(), { tokenHash: 'h1', valid: 3600, egid: -1 }, ctx);
    assert.deepEqual(r, {
      ok: true,
      value: { tokens: [token('h1', now + 3600)], token: token('h1', now + 3600) },
    });
    const forever = login(user(), { tokenHash: 'h1', valid: -1, egid: -1 }, ctx);
    assert.equal(forever.ok && forever.value.token?.expirationTime, -1);
  });

  it('caps validity at MAX_TOKEN_TIME and refuses when tokens are disabled', () => {
    const capped = login(user(), { tokenHash: 'h', valid: -1, egid: -1 }, { ...ctx, maxTokenTime: 86400 });
    assert.equal(capped.ok && capped.value.token?.expirationTime, now + 86400);
    const shorter = login(user(), { tokenHash: 'h', valid: 60, egid: -1 }, { ...ctx, maxTokenTime: 86400 });
    assert.equal(shorter.ok && shorter.value.token?.expirationTime, now + 60);
    assert.deepEqual(
      login(
        user({ authDriver: 'ldap' }),
        { tokenHash: 'h', valid: 60, egid: -1 },
        { ...ctx, maxTokenTime: 0 },
      ),
      {
        ok: false,
        error: { code: 'ACTION', message: 'Login tokens are disabled for driver ldap' },
      },
    );
  });

  it('valid 0 deletes the given token, or all of them when none is given', () => {
    const u = user({ loginTokens: [token('a', -1), token('b', -1)] });
    assert.deepEqual(login(u, { tokenHash: 'a', valid: 0, egid: -1 }, ctx), {
      ok: true,
      value: { tokens: [token('b', -1)], token: null },
    });
    assert.deepEqual(login(u, { tokenHash: '', valid: 0, egid: -1, noTokenGiven: true }, ctx), {
      ok: true,
      value: { tokens: [], token: null },
    });
    assert.equal(message(login(u, { tokenHash: 'zz', valid: 0, egid: -1 }, ctx)), 'Could not find token');
    assert.equal(
      message(login(u, { tokenHash: 'a', valid: -5, egid: -1 }, ctx)),
      'Wrong valid period for token',
    );
  });

  it('scopes a token to a group of the user that the session holds', () => {
    const u = user({ groups: [1, 100] });
    const full = { ...ctx, sessionGids: [1, 100] };
    const scoped = login(u, { tokenHash: 'h', valid: 60, egid: 100 }, full);
    assert.equal(scoped.ok && scoped.value.token?.egid, 100);
    assert.equal(
      message(login(u, { tokenHash: 'h', valid: 60, egid: 7 }, full)),
      'EGID is not in user group list',
    );
    assert.equal(
      message(login(u, { tokenHash: 'h', valid: 60, egid: 100 }, { ...ctx, sessionGids: [1] })),
      'EGID is not in user group list',
    );
    assert.equal(login(u, { tokenHash: 'h', valid: 60, egid: 7 }, { ...full, isAdmin: true }).ok, true);
    assert.equal(
      message(login(u, { tokenHash: 'h', valid: 60, egid: -1 }, { ...ctx, sessionGids: [100] })),
      'Cannot create a full token with a specific group token',
    );
  });

  it('keeps at most 10 live tokens, dropping expired ones first, and refreshes a presented token', () => {
    const ten = Array.from({ length: 10 }, (_, i) => token(`t${i}`, now + 100));
    assert.equal(
      message(login(user({ loginTokens: ten }), { tokenHash: 'new', valid: 60, egid: -1 }, ctx)),
      'Max number of tokens limit reached.',
    );
    const withExpired = [...ten.slice(0, 9), token('old', now - 1)];
    const r = login(user({ loginTokens: withExpired }), { tokenHash: 'new', valid: 60, egid: -1 }, ctx);
    assert.ok(r.ok);
    assert.equal(r.value.tokens.length, 10);
    assert.ok(!r.value.tokens.some((t) => t.tokenHash === 'old'));
    const refreshed = login(user({ loginTokens: ten }), { tokenHash: 't3', valid: 600, egid: -1 }, ctx);
    assert.ok(refreshed.ok);
    assert.equal(refreshed.value.tokens.length, 10);
    assert.equal(refreshed.value.tokens.find((t) => t.tokenHash === 't3')?.expirationTime, now + 600);
  });

  it('finds valid tokens and the session groups they give', () => {
    const tokens = [token('a', now + 10), token('b', now), token('c', -1, 100)];
    assert.equal(findLoginToken(tokens, 'a', now)?.tokenHash, 'a');
    assert.equal(findLoginToken(tokens, 'b', now), null);
    assert.equal(findLoginToken(tokens, 'zz', now), null);
    assert.equal(isLoginTokenExpired(token('b', now), now), false);
    assert.equal(isLoginTokenExpired(token('b', now), now + 1), true);
    assert.deepEqual(
      pruneExpiredLoginTokens(tokens, now + 11).map((t) => t.tokenHash),
      ['c'],
    );
    const u = user({ gid: 1, groups: [1, 100] });
    assert.deepEqual(sessionGroups(u, null), { gid: 1, gids: [1, 100] });
    assert.deepEqual(sessionGroups(u, token('a', -1)), { gid: 1, gids: [1, 100] });
    assert.deepEqual(sessionGroups(u, token('c', -1, 100)), { gid: 100, gids: [100] });
  });
});

describe('secrets', () => {
  it('admins see and decrypt everything; users see their own hash and tokens only', () => {
    assert.deepEqual(userSecretsVisibility({ uid: 0, gids: [0] }, { id: 3 }), {
      password: true,
      loginTokens: true,
      decrypt: true,
    });
    assert.deepEqual(userSecretsVisibility({ uid: 3, gids: [1] }, { id: 3 }), {
      password: true,
      loginTokens: true,
      decrypt: false,
    });
    assert.deepEqual(userSecretsVisibility({ uid: 5, gids: [100] }, { id: 3 }), {
      password: false,
      loginTokens: false,
      decrypt: false,
    });
  });
});
