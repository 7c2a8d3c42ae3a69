import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  chmodRequestFromOctal,
  defaultPermissions,
  parseChmod,
  parseUmask,
  permissionsFromFields,
  permissionsFromString,
  permissionsToFields,
  permissionsToOctal,
  permissionsToString,
  permissionsToTriplets,
  permissionTriplet,
  planChmod,
  PERMISSION_FIELDS,
  type ChmodRequest,
} from '../../../src/domain/auth/permissions.js';

const ALL_VALUES = Array.from({ length: 512 }, (_, i) => i);
const KEEP: ChmodRequest = Object.fromEntries(PERMISSION_FIELDS.map((f) => [f, -1])) as ChmodRequest;

describe('permission conversions', () => {
  it('round-trips all 512 values through fields, string, octal and chmod input', () => {
    for (const perms of ALL_VALUES) {
      const fields = permissionsToFields(perms);
      assert.equal(permissionsFromFields(fields), perms);
      const text = permissionsToString(perms);
      assert.equal(text.length, 9);
      assert.deepEqual(permissionsFromString(text), { ok: true, value: perms });
      const octal = permissionsToOctal(perms);
      assert.match(octal, /^[0-7]{3}$/);
      assert.deepEqual(parseChmod(octal), { ok: true, value: perms });
      assert.deepEqual(parseChmod(perms), { ok: true, value: perms });
      assert.deepEqual(parseChmod(text), { ok: true, value: perms });
      const t = permissionsToTriplets(perms);
      assert.equal(t.owner + t.group + t.other, text);
    }
  });

  it('maps fields to OpenNebula names with 0/1 values', () => {
    assert.deepEqual(permissionsToFields(0o640), {
      OWNER_U: 1,
      OWNER_M: 1,
      OWNER_A: 0,
      GROUP_U: 1,
      GROUP_M: 0,
      GROUP_A: 0,
      OTHER_U: 0,
      OTHER_M: 0,
      OTHER_A: 0,
    });
    assert.equal(permissionsFromFields({ ...permissionsToFields(0), OTHER_A: 1, OWNER_U: 1 }), 0o401);
  });

  it('prints the CLI forms', () => {
    assert.equal(permissionsToString(0o640), 'um-u-----');
    assert.equal(permissionsToString(0o777), 'umaumauma');
    assert.equal(permissionsToString(0), '---------');
    assert.deepEqual(permissionsToTriplets(0o604), { owner: 'um-', group: '---', other: 'u--' });
    assert.equal(permissionTriplet(5), 'u-a');
    assert.equal(permissionsToOctal(0o7), '007');
  });

  it('refuses values outside 0..0o777', () => {
    assert.throws(() => permissionsToString(512), RangeError);
    assert.throws(() => permissionsToFields(-1), RangeError);
    assert.throws(() => permissionsToOctal(1.5), RangeError);
  });
});

describe('parseChmod', () => {
  it('accepts 640, 0640, 0o640 and um-u-----', () => {
    assert.deepEqual(parseChmod('640'), { ok: true, value: 0o640 });
    assert.deepEqual(parseChmod(' 0640 '), { ok: true, value: 0o640 });
    assert.deepEqual(parseChmod(0o640), { ok: true, value: 0o640 });
    assert.deepEqual(parseChmod('um-u-----'), { ok: true, value: 0o640 });
  });

  it('refuses bad input with a message naming it', () => {
    for (const bad of ['64', '800', '6400', 'abc', '', 'umau', 'mu-------']) {
      const r = parseChmod(bad);
      assert.equal(r.ok, false, bad);
      if (!r.ok) {
        assert.equal(r.error.code, 'INVALID_ARGUMENT');
        assert.ok(r.error.message.includes(`"${bad}"`), r.error.message);
      }
    }
    for (const bad of [512, -1, 1.5]) assert.equal(parseChmod(bad).ok, false);
    const r = permissionsFromString('um-u----x');
    assert.equal(r.ok, false);
  });
});

describe('default permissions of a new object', () => {
  it('is 600 for a regular user with the default umask 177', () => {
    assert.equal(defaultPermissions({ uid: 3, gid: 1 }), 0o600);
  });

  it('starts from 777 for oneadmin (uid 0 or gid 0)', () => {
    assert.equal(defaultPermissions({ uid: 0, gid: 0, umask: 0o022 }), 0o755);
    assert.equal(defaultPermissions({ uid: 5, gid: 0, umask: 0 }), 0o777);
    assert.equal(defaultPermissions({ uid: 0, gid: 1 }), 0o600);
  });

  it('starts from 666, or 660 when ENABLE_OTHER_PERMISSIONS is NO', () => {
    assert.equal(defaultPermissions({ uid: 3, gid: 1, umask: 0o022 }), 0o644);
    assert.equal(defaultPermissions({ uid: 3, gid: 1, umask: 0o022, enableOtherPermissions: false }), 0o640);
    assert.equal(defaultPermissions({ uid: 3, gid: 1, umask: 0 }), 0o666);
  });

  it('takes the umask from the user template UMASK', () => {
    assert.deepEqual(parseUmask('022'), { ok: true, value: 0o022 });
    assert.deepEqual(parseUmask(undefined), { ok: true, value: 0o177 });
    assert.deepEqual(parseUmask('  '), { ok: true, value: 0o177 });
    assert.deepEqual(parseUmask(undefined, 0o007), { ok: true, value: 0o007 });
    const bad = parseUmask('999');
    assert.equal(bad.ok, false);
    if (!bad.ok) assert.equal(bad.error.field, 'UMASK');
    assert.equal(parseUmask('01777').ok, false);
  });
});

describe('planChmod', () => {
  const admin = { isAdmin: true };
  const user = { isAdmin: false };

  it('sets all bits from an octal request and needs MANAGE when no ADMIN bit changes', () => {
    assert.deepEqual(planChmod(0o600, chmodRequestFromOctal(0o640), user), {
      ok: true,
      value: { permissions: 0o640, operation: 'MANAGE' },
    });
  });

  it('needs ADMIN when an ADMIN bit changes', () => {
    assert.deepEqual(planChmod(0o600, chmodRequestFromOctal(0o700), user), {
      ok: true,
      value: { permissions: 0o700, operation: 'ADMIN' },
    });
    assert.deepEqual(planChmod(0o611, { ...KEEP, GROUP_A: 0 }, user), {
      ok: true,
      value: { permissions: 0o601, operation: 'ADMIN' },
    });
    // Setting an ADMIN bit to its current value is no change.
    assert.deepEqual(planChmod(0o700, { ...KEEP, OWNER_A: 1, GROUP_U: 1 }, user), {
      ok: true,
      value: { permissions: 0o740, operation: 'MANAGE' },
    });
  });

  it('keeps bits given as -1', () => {
    assert.deepEqual(planChmod(0o640, KEEP, user), {
      ok: true,
      value: { permissions: 0o640, operation: 'MANAGE' },
    });
  });

  it('refuses values other than -1, 0, 1', () => {
    const r = planChmod(0o600, { ...KEEP, GROUP_M: 2 }, user);
    assert.deepEqual(r, {
      ok: false,
      error: {
        code: 'INVALID_ARGUMENT',
        message: 'New permission values must be -1, 0 or 1',
        field: 'GROUP_M',
      },
    });
  });

  it('refuses OTHER changes to non-admins when ENABLE_OTHER_PERMISSIONS is NO', () => {
    const noOther = { isAdmin: false, enableOtherPermissions: false };
    assert.deepEqual(planChmod(0o600, chmodRequestFromOctal(0o604), noOther), {
      ok: false,
      error: { code: 'AUTHORIZATION', message: "'other' permissions is disabled in oned.conf" },
    });
    // Unchanged OTHER bits are fine, and admins may change them.
    assert.equal(planChmod(0o604, chmodRequestFromOctal(0o644), noOther).ok, true);
    assert.equal(
      planChmod(0o600, chmodRequestFromOctal(0o604), { ...admin, enableOtherPermissions: false }).ok,
      true,
    );
  });
});
