import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  ImageState,
  ImageType,
  diskAttributesFromImage,
  diskPersistenceAttributes,
} from '../../../src/domain/image/index.js';
import { makeDatastore, makeImage } from './fixtures.js';

describe('diskAttributesFromImage', () => {
  it('a non-persistent OS image on an ssh datastore (golden)', () => {
    const r = diskAttributesFromImage(
      { IMAGE: 'debian-12', IMAGE_UNAME: 'alice' },
      makeImage(),
      makeDatastore(),
      {
        tmMadSystem: 'ssh',
        imageOwnerName: 'alice',
      },
    );
    assert.ok(r.ok);
    assert.deepEqual(r.value, {
      CLONE: 'YES',
      CLONE_TARGET: 'SYSTEM',
      CLUSTER_ID: '0',
      DATASTORE: 'default',
      DATASTORE_ID: '1',
      DEV_PREFIX: 'sd',
      DISK_SNAPSHOT_TOTAL_SIZE: '0',
      DISK_TYPE: 'FILE',
      DRIVER: 'qcow2',
      FORMAT: 'qcow2',
      IMAGE: 'debian-12',
      IMAGE_ID: '5',
      IMAGE_STATE: '1',
      IMAGE_UID: '2',
      IMAGE_UNAME: 'alice',
      LN_TARGET: 'SYSTEM',
      ORIGINAL_SIZE: '2048',
      READONLY: 'NO',
      SAVE: 'NO',
      SIZE: '2048',
      SOURCE: '/var/lib/nimbus/datastores/1/0a1b2c',
      TM_MAD: 'ssh',
      TM_MAD_SYSTEM: 'ssh',
      TYPE: 'FILE',
    });
  });
  it('persistent → PERSISTENT=YES, CLONE=NO, SAVE=YES; DISK attributes win over the image', () => {
    const image = makeImage({
      persistent: true,
      template: { DEV_PREFIX: ['sd'], DRIVER: ['raw'], TARGET: ['sdc'] },
    });
    const r = diskAttributesFromImage(
      { DEV_PREFIX: 'vd', DRIVER: 'qcow2', SIZE: '4096', TARGET: 'vdb', PERSISTENT: 'NO' },
      image,
      makeDatastore(),
    );
    assert.ok(r.ok);
    assert.deepEqual(
      [
        r.value['PERSISTENT'],
        r.value['CLONE'],
        r.value['SAVE'],
        r.value['DEV_PREFIX'],
        r.value['DRIVER'],
        r.value['SIZE'],
        r.value['TARGET'],
      ],
      ['YES', 'NO', 'YES', 'vd', 'qcow2', '4096', 'vdb'],
    );
  });
  it('image DRIVER and TARGET apply when the DISK has none; shareable; cloning while locked', () => {
    const image = makeImage({
      state: ImageState.LOCKED_USED,
      format: '',
      template: { DRIVER: ['raw'], TARGET: ['vdc'], PERSISTENT_TYPE: ['SHAREABLE'], READONLY: ['yes'] },
    });
    const r = diskAttributesFromImage({ CLONING: 'NO' }, image, makeDatastore({ clusters: [] }));
    assert.ok(r.ok);
    assert.equal(r.value['DRIVER'], 'raw');
    assert.equal(r.value['FORMAT'], 'raw');
    assert.equal(r.value['TARGET'], 'vdc');
    assert.equal(r.value['SHAREABLE'], 'YES');
    assert.equal(r.value['CLONING'], 'YES');
    assert.equal(r.value['READONLY'], 'YES');
    assert.equal(r.value['CLUSTER_ID'], undefined);
    const ready = diskAttributesFromImage({ CLONING: 'YES' }, makeImage(), makeDatastore());
    assert.ok(ready.ok);
    assert.equal(ready.value['CLONING'], undefined);
  });
  it('CDROM: read-only, hd by default, TYPE CDROM (RBD_CDROM on a ceph datastore)', () => {
    const cd = makeImage({ type: ImageType.CDROM, template: {}, format: 'raw' });
    const r = diskAttributesFromImage({}, cd, makeDatastore());
    assert.ok(r.ok);
    assert.deepEqual(
      [r.value['READONLY'], r.value['CLONE'], r.value['SAVE'], r.value['DEV_PREFIX'], r.value['TYPE']],
      ['YES', 'NO', 'NO', 'hd', 'CDROM'],
    );
    const rbd = diskAttributesFromImage(
      {},
      { ...cd, diskType: 3 },
      makeDatastore({ tmMad: 'ceph', diskType: 3, template: {} }),
      {
        defaultCdromDevPrefix: 'sd',
      },
    );
    assert.ok(rbd.ok);
    assert.deepEqual(
      [
        rbd.value['TYPE'],
        rbd.value['DISK_TYPE'],
        rbd.value['DEV_PREFIX'],
        rbd.value['CLONE_TARGET'],
        rbd.value['LN_TARGET'],
      ],
      ['RBD_CDROM', 'RBD', 'sd', 'SELF', 'NONE'],
    );
    for (const [diskType, type] of [
      [5, 'GLUSTER_CDROM'],
      [7, 'SHEEPDOG_CDROM'],
    ] as const) {
      const g = diskAttributesFromImage({}, { ...cd, diskType }, makeDatastore());
      assert.ok(g.ok);
      assert.equal(g.value['TYPE'], type);
    }
  });
  it('IMMUTABLE persistent images are read-only; defaults apply for a DATABLOCK without DEV_PREFIX', () => {
    assert.deepEqual(
      diskPersistenceAttributes(
        makeImage({ persistent: true, template: { PERSISTENT_TYPE: ['immutable'] } }),
      ),
      {
        SAVE: 'NO',
        CLONE: 'NO',
        READONLY: 'YES',
      },
    );
    const r = diskAttributesFromImage(
      {},
      makeImage({ type: ImageType.DATABLOCK, template: {} }),
      makeDatastore(),
      { defaultDevPrefix: 'vd' },
    );
    assert.ok(r.ok);
    assert.equal(r.value['DEV_PREFIX'], 'vd');
  });
  it('file images cannot be disks', () => {
    const r = diskAttributesFromImage(
      {},
      makeImage({ type: ImageType.CONTEXT, name: 'init.sh' }),
      makeDatastore(),
    );
    assert.ok(!r.ok);
    assert.equal(r.error.message, 'Image 5 (init.sh) of type CONTEXT cannot be used as DISK.');
  });
});
