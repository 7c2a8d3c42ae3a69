import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  decideImagePath,
  imagePathPolicyOf,
  isWithin,
  normalizeAbsolutePath,
  parseDirList,
  type ImagePathPolicy,
} from '../../../src/domain/datastore/index.js';

const DEFAULT: ImagePathPolicy = { safeDirs: ['/var/tmp'], restrictedDirs: ['/'] };
const PROTECTED = ['/var/lib/nimbus'];

function decide(path: string, admin: boolean, policy: ImagePathPolicy = DEFAULT): string {
  const r = decideImagePath({ path, policy, callerInOneadminGroup: admin, protectedDirs: PROTECTED });
  return r.ok ? `allowed ${r.value}` : `refused: ${r.error.message}`;
}

describe('path arithmetic', () => {
  it('normalizes absolute paths, never above /', () => {
    assert.equal(normalizeAbsolutePath('/var/tmp/../../etc//shadow'), '/etc/shadow');
    assert.equal(normalizeAbsolutePath('/../../etc/./passwd/'), '/etc/passwd');
    assert.equal(normalizeAbsolutePath('/'), '/');
    assert.equal(normalizeAbsolutePath('etc/shadow'), undefined);
  });
  it('isWithin compares whole components', () => {
    assert.ok(isWithin('/var/tmp/a', '/var/tmp'));
    assert.ok(isWithin('/var/tmp', '/var/tmp'));
    assert.ok(!isWithin('/var/tmpfoo/a', '/var/tmp'));
    assert.ok(isWithin('/anything', '/'));
  });
  it('parseDirList', () => {
    assert.deepEqual(parseDirList(' /var/tmp  /srv/images/ /var/tmp relative '), {
      dirs: ['/var/tmp', '/srv/images'],
      invalid: ['relative'],
    });
  });
});

describe('decideImagePath', () => {
  const cases: [string, boolean, string, ImagePathPolicy?][] = [
    ['/var/tmp/debian.qcow2', false, 'allowed /var/tmp/debian.qcow2'],
    ['/var/tmp/sub/dir/a.img', true, 'allowed /var/tmp/sub/dir/a.img'],
    ['/etc/shadow', true, 'refused: PATH /etc/shadow is in /etc, which is never an image source'],
    ['/etc/shadow', false, 'refused: PATH /etc/shadow is in /etc, which is never an image source'],
    [
      '/var/safe/../../etc/shadow',
      false,
      'refused: PATH /var/safe/../../etc/shadow (resolves to /etc/shadow) is in /etc, which is never an image source',
      { safeDirs: ['/var/safe'], restrictedDirs: ['/'] },
    ],
    [
      '/var/tmp/../../../etc/shadow',
      true,
      'refused: PATH /var/tmp/../../../etc/shadow (resolves to /etc/shadow) is in /etc, which is never an image source',
    ],
    [
      '//etc//shadow',
      true,
      'refused: PATH //etc//shadow (resolves to /etc/shadow) is in /etc, which is never an image source',
    ],
    [
      '/proc/self/environ',
      true,
      'refused: PATH /proc/self/environ is in /proc, which is never an image source',
    ],
    ['/dev/sda', true, 'refused: PATH /dev/sda is in /dev, which is never an image source'],
    ['/root/disk.img', true, 'refused: PATH /root/disk.img is in /root, which is never an image source'],
    [
      '/etc/passwd',
      true,
      'refused: PATH /etc/passwd is in /etc, which is never an image source',
      { safeDirs: ['/'], restrictedDirs: [] },
    ],
    [
      '/var/lib/nimbus/datastores/1/0a1b2c',
      true,
      'refused: PATH /var/lib/nimbus/datastores/1/0a1b2c is in /var/lib/nimbus, which is never an image source',
    ],
    [
      '/home/alice/.ssh/id_ed25519',
      true,
      'refused: PATH /home/alice/.ssh/id_ed25519 is inside a .ssh directory, which is never an image source',
      { safeDirs: ['/home'], restrictedDirs: ['/'] },
    ],
    [
      '/var/tmpfoo/a.img',
      false,
      "refused: PATH /var/tmpfoo/a.img is outside the datastore's SAFE_DIRS (/var/tmp); only users in the oneadmin group may register images from other local directories. Upload the file, or use an http(s) URL",
    ],
    [
      '/home/alice/disk.img',
      false,
      "refused: PATH /home/alice/disk.img is outside the datastore's SAFE_DIRS (/var/tmp); only users in the oneadmin group may register images from other local directories. Upload the file, or use an http(s) URL",
      { safeDirs: ['/var/tmp'], restrictedDirs: ['/srv/private'] },
    ],
    [
      '/home/alice/disk.img',
      true,
      "refused: PATH /home/alice/disk.img is in the datastore's RESTRICTED_DIRS (/) and not in its SAFE_DIRS (/var/tmp)",
    ],
    [
      '/home/alice/disk.img',
      true,
      'allowed /home/alice/disk.img',
      { safeDirs: [], restrictedDirs: ['/srv/private'] },
    ],
    [
      '/srv/private/x.img',
      true,
      "refused: PATH /srv/private/x.img is in the datastore's RESTRICTED_DIRS (/srv/private) and not in its SAFE_DIRS (none)",
      { safeDirs: [], restrictedDirs: ['/srv/private'] },
    ],
    [
      '/srv/private/public/x.img',
      false,
      'allowed /srv/private/public/x.img',
      { safeDirs: ['/srv/private/public/'], restrictedDirs: ['/srv/private'] },
    ],
    ['var/tmp/a.img', true, 'refused: PATH "var/tmp/a.img" must be an absolute path'],
    ['/var/tmp/a\0.img', true, 'refused: PATH must not contain NUL characters'],
  ];
  for (const [path, admin, expected, policy] of cases) {
    it(`${admin ? 'oneadmin' : 'user'}: ${JSON.stringify(path)}`, () => {
      assert.equal(decide(path, admin, policy), expected);
    });
  }
  it('refusals carry PATH_RESTRICTED and the field', () => {
    const r = decideImagePath({ path: '/etc/shadow', policy: DEFAULT, callerInOneadminGroup: true });
    assert.ok(!r.ok);
    assert.equal(r.error.code, 'PATH_RESTRICTED');
    assert.equal(r.error.field, 'PATH');
  });
});

describe('imagePathPolicyOf', () => {
  it("reads the datastore's lists, with OpenNebula's defaults", () => {
    assert.deepEqual(imagePathPolicyOf({ template: {} }), { safeDirs: ['/var/tmp'], restrictedDirs: ['/'] });
    assert.deepEqual(
      imagePathPolicyOf({ template: { SAFE_DIRS: ['/srv/img /var/tmp/'], RESTRICTED_DIRS: [' '] } }),
      {
        safeDirs: ['/srv/img', '/var/tmp'],
        restrictedDirs: ['/'],
      },
    );
  });
});
