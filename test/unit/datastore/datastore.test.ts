import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  DS_MAD_CONF,
  DatastoreState,
  DatastoreType,
  TM_MAD_CONF,
  applyDatastoreMonitor,
  availableMb,
  bootstrapDatastores,
  checkImageFits,
  datastoreStateName,
  datastoreStateShortName,
  datastoreTypeName,
  datastoreTypeShortName,
  isPersistentOnly,
  joinPath,
  newDatastoreRecord,
  parseDatastoreType,
  releaseCapacity,
  reserveCapacity,
  setDatastoreEnabled,
  tmTargetsOf,
  validateDatastoreTemplate,
  validateObjectName,
} from '../../../src/domain/datastore/index.js';
import type { Template } from '../../../src/domain/template/types.js';
import { makeDatastore } from '../image/fixtures.js';

function t(attrs: Record<string, string>): Template {
  return Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, [v]]));
}

describe('datastore enums (reference §3.5)', () => {
  it('TYPE and STATE', () => {
    assert.deepEqual(
      Object.entries(DatastoreType).map(([name, n]) => [
        n,
        name,
        datastoreTypeName(n),
        datastoreTypeShortName(n),
      ]),
      [
        [0, 'IMAGE_DS', 'IMAGE_DS', 'img'],
        [1, 'SYSTEM_DS', 'SYSTEM_DS', 'sys'],
        [2, 'FILE_DS', 'FILE_DS', 'fil'],
        [3, 'BACKUP_DS', 'BACKUP_DS', 'bck'],
      ],
    );
    assert.deepEqual(
      Object.entries(DatastoreState).map(([name, n]) => [
        n,
        name,
        datastoreStateName(n),
        datastoreStateShortName(n),
      ]),
      [
        [0, 'READY', 'READY', 'on'],
        [1, 'DISABLED', 'DISABLED', 'off'],
      ],
    );
    assert.equal(datastoreTypeName(7), 'UNKNOWN(7)');
    assert.equal(datastoreTypeShortName(7), '-');
    assert.equal(datastoreStateName(7), 'UNKNOWN(7)');
    assert.equal(datastoreStateShortName(7), '-');
    assert.equal(parseDatastoreType('system_ds'), DatastoreType.SYSTEM_DS);
    assert.equal(parseDatastoreType('SYSTEM'), undefined);
  });
});

describe('TM_MAD_CONF facts (reference §9.1)', () => {
  it('ssh, shared, qcow2, ceph', () => {
    const facts = (name: string): unknown => {
      const c = TM_MAD_CONF[name];
      return c && [c.lnTarget, c.cloneTarget, c.shared];
    };
    assert.deepEqual(facts('ssh'), ['SYSTEM', 'SYSTEM', false]);
    assert.deepEqual(facts('shared'), ['NONE', 'SYSTEM', true]);
    assert.deepEqual(facts('qcow2'), ['NONE', 'SYSTEM', true]);
    assert.deepEqual(facts('ceph'), ['NONE', 'SELF', true]);
  });
  it('tmTargetsOf: the datastore template wins over TM_MAD_CONF', () => {
    assert.deepEqual(tmTargetsOf({ tmMad: 'ssh', template: {} }), {
      lnTarget: 'SYSTEM',
      cloneTarget: 'SYSTEM',
      shared: false,
    });
    assert.deepEqual(
      tmTargetsOf({ tmMad: 'ssh', template: t({ LN_TARGET: 'none', SHARED: 'yes', CLONE_TARGET: 'bogus' }) }),
      {
        lnTarget: 'NONE',
        cloneTarget: 'SYSTEM',
        shared: true,
      },
    );
    assert.deepEqual(tmTargetsOf({ tmMad: 'unknown', template: {} }), {
      lnTarget: 'NONE',
      cloneTarget: 'SYSTEM',
      shared: false,
    });
  });
  it('PERSISTENT_ONLY from DS_MAD_CONF or the template', () => {
    assert.equal(DS_MAD_CONF['dev']?.persistentOnly, true);
    assert.equal(isPersistentOnly({ dsMad: 'dev', template: {} }), true);
    assert.equal(isPersistentOnly({ dsMad: 'fs', template: {} }), false);
    assert.equal(isPersistentOnly({ dsMad: 'fs', template: t({ PERSISTENT_ONLY: 'YES' }) }), true);
    assert.equal(isPersistentOnly({ dsMad: 'dev', template: t({ PERSISTENT_ONLY: 'no' }) }), false);
  });
});

describe('bootstrapDatastores', () => {
  it('DS 0 system, 1 default, 2 files under the given location, in cluster 0', () => {
    const [system, def, files] = bootstrapDatastores({ location: '/work/var/datastores/' });
    assert.ok(system && def && files);
    assert.deepEqual(
      [system, def, files].map((d) => [
        d.id,
        d.name,
        d.type,
        d.dsMad,
        d.tmMad,
        d.basePath,
        d.clusters,
        d.uid,
        d.gid,
        d.permissions,
      ]),
      [
        [0, 'system', 1, '-', 'ssh', '/work/var/datastores/0', [0], 0, 0, 0o640],
        [1, 'default', 0, 'fs', 'ssh', '/work/var/datastores/1', [0], 0, 0, 0o640],
        [2, 'files', 2, 'fs', 'ssh', '/work/var/datastores/2', [0], 0, 0, 0o640],
      ],
    );
    assert.deepEqual(system.template, {
      BASE_PATH: ['/work/var/datastores/'],
      SHARED: ['NO'],
      TM_MAD: ['ssh'],
      TYPE: ['SYSTEM_DS'],
    });
    assert.deepEqual(def.template, {
      BASE_PATH: ['/work/var/datastores/'],
      CLONE_TARGET: ['SYSTEM'],
      DISK_TYPE: ['FILE'],
      DS_MAD: ['fs'],
      LN_TARGET: ['SYSTEM'],
      RESTRICTED_DIRS: ['/'],
      SAFE_DIRS: ['/var/tmp'],
      TM_MAD: ['ssh'],
      TYPE: ['IMAGE_DS'],
    });
    assert.deepEqual(files.template['TYPE'], ['FILE_DS']);
  });
  it('other TM and safe dirs; a relative location or unknown TM is a bug', () => {
    const [system, def] = bootstrapDatastores({
      location: '/',
      tmMad: 'shared',
      safeDirs: ['/srv/upload', '/var/tmp'],
    });
    assert.equal(system?.basePath, '/0');
    assert.deepEqual(system?.template['SHARED'], ['YES']);
    assert.deepEqual(def?.template['SAFE_DIRS'], ['/srv/upload /var/tmp']);
    assert.deepEqual(def?.template['LN_TARGET'], ['NONE']);
    assert.throws(() => bootstrapDatastores({ location: 'var/datastores' }), /must be absolute/);
    assert.throws(() => bootstrapDatastores({ location: '/x', tmMad: 'lvm' }), /unknown TM_MAD/);
  });
});

describe('validateDatastoreTemplate', () => {
  const LOCATION = '/var/lib/nimbus/datastores';
  it('an image datastore: TM facts filled in, DISK_TYPE FILE, BASE_PATH from the location', () => {
    const r = validateDatastoreTemplate(
      t({
        NAME: 'images',
        DS_MAD: 'fs',
        TM_MAD: 'qcow2',
        SAFE_DIRS: '/var/tmp /srv/images/',
        SHARED: 'YES',
        LIMIT_MB: '0100',
      }),
      LOCATION,
    );
    assert.ok(r.ok, r.ok ? '' : r.error.message);
    assert.equal(r.value.type, DatastoreType.IMAGE_DS);
    assert.equal(r.value.baseDir, LOCATION);
    assert.deepEqual(r.value.template, {
      BASE_PATH: [LOCATION + '/'],
      CLONE_TARGET: ['SYSTEM'],
      DISK_TYPE: ['FILE'],
      DS_MAD: ['fs'],
      LIMIT_MB: ['100'],
      LN_TARGET: ['NONE'],
      SAFE_DIRS: ['/var/tmp /srv/images'],
      TM_MAD: ['qcow2'],
      TYPE: ['IMAGE_DS'],
    });
    const ds = newDatastoreRecord(r.value, {
      id: 100,
      uid: 0,
      gid: 0,
      permissions: 0o640,
      clusters: [101, 0, 0],
    });
    assert.equal(ds.basePath, LOCATION + '/100');
    assert.deepEqual(ds.clusters, [0, 101]);
    assert.equal(ds.state, DatastoreState.READY);
  });
  it('a system datastore: no DS_MAD, SHARED from the TM', () => {
    const r = validateDatastoreTemplate(
      t({
        NAME: 'sys',
        TYPE: 'system_ds',
        TM_MAD: 'shared',
        LN_TARGET: 'NONE',
        DISK_TYPE: 'BLOCK',
        BASE_PATH: '/srv//ds/',
      }),
      LOCATION,
    );
    assert.ok(r.ok);
    assert.equal(r.value.dsMad, '-');
    assert.equal(r.value.baseDir, '/srv/ds');
    assert.deepEqual(r.value.template, {
      BASE_PATH: ['/srv/ds/'],
      SHARED: ['YES'],
      TM_MAD: ['shared'],
      TYPE: ['SYSTEM_DS'],
    });
  });
  it('a ceph datastore with its required attributes; a dev datastore is persistent-only', () => {
    const ceph = validateDatastoreTemplate(
      t({ NAME: 'ceph', DS_MAD: 'ceph', TM_MAD: 'ceph', DISK_TYPE: 'rbd', BRIDGE_LIST: 'node1' }),
      LOCATION,
    );
    assert.ok(ceph.ok);
    assert.equal(ceph.value.diskType, 3);
    const dev = validateDatastoreTemplate(
      t({ NAME: 'dev', DS_MAD: 'dev', TM_MAD: 'ssh', DISK_TYPE: 'BLOCK' }),
      LOCATION,
    );
    assert.ok(dev.ok);
    assert.deepEqual(dev.value.template['PERSISTENT_ONLY'], ['YES']);
    const backup = validateDatastoreTemplate(
      t({ NAME: 'b', TYPE: 'BACKUP_DS', DS_MAD: 'rsync', RSYNC_HOST: 'h', RSYNC_USER: 'u' }),
      LOCATION,
    );
    assert.ok(backup.ok);
    assert.equal(backup.value.tmMad, '-');
  });
  const refusals: [string, Record<string, string>, string, string][] = [
    ['no NAME', { DS_MAD: 'fs', TM_MAD: 'ssh' }, 'NAME', 'Invalid NAME, it cannot be empty'],
    [
      'TYPE',
      { NAME: 'x', TYPE: 'SCRATCH', DS_MAD: 'fs', TM_MAD: 'ssh' },
      'TYPE',
      'Unknown datastore TYPE "SCRATCH"; use IMAGE_DS, SYSTEM_DS, FILE_DS or BACKUP_DS',
    ],
    [
      'system with DS_MAD',
      { NAME: 'x', TYPE: 'SYSTEM_DS', DS_MAD: 'fs', TM_MAD: 'ssh' },
      'DS_MAD',
      'SYSTEM datastores cannot have DS_MAD defined.',
    ],
    ['no DS_MAD', { NAME: 'x', TM_MAD: 'ssh' }, 'DS_MAD', 'No DS_MAD in template.'],
    [
      'unknown DS_MAD',
      { NAME: 'x', DS_MAD: 'vcenter', TM_MAD: 'ssh' },
      'DS_MAD',
      'DS_MAD named "vcenter" is not defined in oned.conf',
    ],
    [
      'backup driver for images',
      { NAME: 'x', DS_MAD: 'restic', TM_MAD: 'ssh' },
      'DS_MAD',
      'DS_MAD "restic" is a backup driver; use it with TYPE = BACKUP_DS',
    ],
    [
      'image driver for backups',
      { NAME: 'x', TYPE: 'BACKUP_DS', DS_MAD: 'fs' },
      'DS_MAD',
      'DS_MAD "fs" cannot hold backups; a BACKUP_DS needs a backup driver (rsync, restic)',
    ],
    [
      'missing required',
      { NAME: 'x', DS_MAD: 'ceph', TM_MAD: 'ceph', DISK_TYPE: 'RBD' },
      'BRIDGE_LIST',
      'Datastore template is missing the "BRIDGE_LIST" attribute or it\'s empty.',
    ],
    ['no TM_MAD', { NAME: 'x', DS_MAD: 'fs' }, 'TM_MAD', 'No TM_MAD in template.'],
    [
      'unknown TM_MAD',
      { NAME: 'x', DS_MAD: 'fs', TM_MAD: 'fs_lvm' },
      'TM_MAD',
      'TM_MAD named "fs_lvm" is not defined in oned.conf',
    ],
    [
      'unknown DISK_TYPE',
      { NAME: 'x', DS_MAD: 'fs', TM_MAD: 'ssh', DISK_TYPE: 'TAPE' },
      'DISK_TYPE',
      'Unknown DISK_TYPE in template.',
    ],
    [
      'CDROM DISK_TYPE',
      { NAME: 'x', DS_MAD: 'fs', TM_MAD: 'ssh', DISK_TYPE: 'RBD_CDROM' },
      'DISK_TYPE',
      'Invalid DISK_TYPE in template.',
    ],
    [
      'relative BASE_PATH',
      { NAME: 'x', DS_MAD: 'fs', TM_MAD: 'ssh', BASE_PATH: 'ds' },
      'BASE_PATH',
      'BASE_PATH "ds" must be an absolute path',
    ],
    [
      'relative SAFE_DIRS',
      { NAME: 'x', DS_MAD: 'fs', TM_MAD: 'ssh', SAFE_DIRS: '/var/tmp tmp' },
      'SAFE_DIRS',
      'SAFE_DIRS must list absolute directories; "tmp" is not one',
    ],
    [
      'LIMIT_MB',
      { NAME: 'x', DS_MAD: 'fs', TM_MAD: 'ssh', LIMIT_MB: '10G' },
      'LIMIT_MB',
      'LIMIT_MB must be a whole number of MB, not "10G"',
    ],
    [
      'PERSISTENT_ONLY',
      { NAME: 'x', DS_MAD: 'fs', TM_MAD: 'ssh', PERSISTENT_ONLY: 'sure' },
      'PERSISTENT_ONLY',
      'PERSISTENT_ONLY must be YES or NO, not "sure"',
    ],
  ];
  for (const [title, attrs, field, message] of refusals) {
    it(`refuses: ${title}`, () => {
      const r = validateDatastoreTemplate(t(attrs), LOCATION);
      assert.ok(!r.ok);
      assert.equal(r.error.message, message);
      assert.equal(r.error.field, field);
    });
  }
  it('PERSISTENT_ONLY and DATASTORE_CAPACITY_CHECK are normalized', () => {
    const r = validateDatastoreTemplate(
      t({ NAME: 'x', DS_MAD: 'fs', TM_MAD: 'ssh', PERSISTENT_ONLY: 'yes', DATASTORE_CAPACITY_CHECK: 'no' }),
      LOCATION,
    );
    assert.ok(r.ok);
    assert.deepEqual(
      [r.value.template['PERSISTENT_ONLY'], r.value.template['DATASTORE_CAPACITY_CHECK']],
      [['YES'], ['NO']],
    );
  });
});

describe('capacity', () => {
  const ds = makeDatastore({ totalMb: 1000, freeMb: 300, usedMb: 700 });
  it('fits and does not fit', () => {
    assert.ok(checkImageFits(ds, 300).ok);
    const r = checkImageFits(ds, 301);
    assert.ok(!r.ok);
    assert.equal(
      r.error.message,
      'Not enough space in datastore 1 "default": the image needs 301 MB, 300 MB are available',
    );
    assert.equal(r.error.code, 'DATASTORE_FULL');
  });
  it('LIMIT_MB caps what is available', () => {
    const limited = { ...ds, template: t({ LIMIT_MB: '750' }) };
    assert.equal(availableMb(limited), 50);
    assert.ok(!checkImageFits(limited, 51).ok);
    assert.equal(availableMb({ ...ds, template: t({ LIMIT_MB: '500' }) }), 0);
  });
  it('no check when disabled, or before the first monitor', () => {
    assert.ok(checkImageFits({ ...ds, template: t({ DATASTORE_CAPACITY_CHECK: 'NO' }) }, 5000).ok);
    assert.ok(checkImageFits(ds, 5000, false).ok);
    assert.ok(!checkImageFits({ ...ds, template: t({ DATASTORE_CAPACITY_CHECK: 'yes' }) }, 5000, false).ok);
    assert.ok(checkImageFits(makeDatastore({ totalMb: 0, freeMb: 0, usedMb: 0 }), 5000).ok);
    assert.ok(
      !checkImageFits(
        makeDatastore({ totalMb: 0, freeMb: 0, usedMb: 0, template: t({ LIMIT_MB: '100' }) }),
        5000,
      ).ok,
    );
  });
  it('reserve and release never go negative nor above TOTAL_MB', () => {
    const reserved = reserveCapacity(ds, 500);
    assert.deepEqual([reserved.freeMb, reserved.usedMb], [0, 1200]);
    const back = releaseCapacity(releaseCapacity(reserved, 2000), -5);
    assert.deepEqual([back.freeMb, back.usedMb], [1000, 0]);
    const unknown = releaseCapacity(makeDatastore({ totalMb: 0, freeMb: 0, usedMb: 0 }), 10);
    assert.deepEqual([unknown.freeMb, unknown.usedMb], [10, 0]);
  });
  it('a monitor report replaces the figures', () => {
    const m = applyDatastoreMonitor(ds, { totalMb: 2000.7, freeMb: -3, usedMb: Number.NaN });
    assert.deepEqual([m.totalMb, m.freeMb, m.usedMb], [2000, 0, 0]);
  });
});

describe('setDatastoreEnabled and names', () => {
  it('only system datastores can be disabled', () => {
    const sys = makeDatastore({ type: DatastoreType.SYSTEM_DS });
    const off = setDatastoreEnabled(sys, false);
    assert.ok(off.ok);
    assert.equal(off.value.state, DatastoreState.DISABLED);
    const on = setDatastoreEnabled(off.value, true);
    assert.ok(on.ok);
    assert.equal(on.value.state, DatastoreState.READY);
    const same = setDatastoreEnabled(sys, true);
    assert.ok(same.ok);
    assert.equal(same.value, sys);
    const img = setDatastoreEnabled(makeDatastore(), false);
    assert.ok(!img.ok);
    assert.equal(img.error.message, 'Only SYSTEM_DS can be disabled or enabled');
  });
  it('object names and paths', () => {
    assert.ok(validateObjectName('default').ok);
    const long = validateObjectName('x'.repeat(129));
    assert.ok(!long.ok);
    assert.equal(long.error.message, 'Invalid NAME, max length is 128 chars');
    const extra = validateObjectName('a b', ' ');
    assert.ok(!extra.ok);
    assert.equal(joinPath('/a/b//', 3), '/a/b/3');
  });
});
