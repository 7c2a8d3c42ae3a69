import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  ImageState as S,
  ImageType,
  acquireImage,
  allocateImage,
  assignDiskTargets,
  changeImageType,
  completeCopy,
  diskAttributesFromImage,
  releaseImage,
  setImagePersistent,
  validateImageTemplate,
  type ImageRecord,
} from '../../../src/domain/image/index.js';
import type { Result } from '../../../src/domain/errors.js';
import { NOW, makeDatastore } from './fixtures.js';

function value<T>(r: Result<T>): T {
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  return r.value;
}

/**
 * The seed's install workflow (README "VM 创建流程"): an installer CDROM and a blank persistent
 * DATABLOCK → install over VNC → terminate the VM → chtype the DATABLOCK to OS, make it
 * non-persistent → instantiate as many VMs as wanted from it.
 */
describe('install workflow: CDROM + blank persistent DATABLOCK → OS image for many VMs', () => {
  const ds = makeDatastore();
  const ctx = { datastore: ds, callerInOneadminGroup: false };

  it('runs end to end', () => {
    // 1. Register the installer ISO and a blank 10 GB persistent DATABLOCK.
    const isoSpec = value(
      validateImageTemplate(
        { NAME: ['debian-12-netinst'], TYPE: ['CDROM'], PATH: ['/var/tmp/debian-12.iso'] },
        ctx,
      ),
    );
    let iso = allocateImage(isoSpec, ds.id, { id: 0, uid: 2, gid: 1, permissions: 0o600, now: NOW });
    assert.equal(iso.state, S.LOCKED);
    iso = value(completeCopy(iso, { source: '/ds/1/iso', format: 'raw', sizeMb: 620 }));
    assert.equal(iso.state, S.READY);

    const dbSpec = value(
      validateImageTemplate(
        { NAME: ['debian-disk'], TYPE: ['DATABLOCK'], SIZE: ['10240'], PERSISTENT: ['YES'] },
        ctx,
      ),
    );
    assert.equal(dbSpec.dsAction, 'mkfs');
    let disk = allocateImage(dbSpec, ds.id, { id: 1, uid: 2, gid: 1, permissions: 0o600, now: NOW });
    disk = value(completeCopy(disk, { source: '/ds/1/disk' }));
    assert.equal(disk.state, S.READY);
    assert.equal(disk.persistent, true);

    // 2. The installer VM 20 takes both.
    iso = value(acquireImage(iso, 20));
    disk = value(acquireImage(disk, 20));
    assert.equal(iso.state, S.USED);
    assert.equal(disk.state, S.USED_PERS);
    const isoDisk = value(diskAttributesFromImage({ IMAGE_ID: '0' }, iso, ds));
    const dataDisk = value(diskAttributesFromImage({ IMAGE_ID: '1' }, disk, ds));
    assert.deepEqual(
      [isoDisk['READONLY'], isoDisk['CLONE'], isoDisk['SAVE'], isoDisk['TYPE']],
      ['YES', 'NO', 'NO', 'CDROM'],
    );
    assert.deepEqual([dataDisk['PERSISTENT'], dataDisk['CLONE'], dataDisk['SAVE']], ['YES', 'NO', 'YES']);
    const targets = value(
      assignDiskTargets({
        vmId: 20,
        disks: [
          { diskId: 0, kind: 'CDROM', imageDevPrefix: isoDisk['DEV_PREFIX'] },
          { diskId: 1, kind: 'DATABLOCK', imageDevPrefix: dataDisk['DEV_PREFIX'] },
        ],
        context: {},
      }),
    );
    assert.deepEqual(targets, {
      disks: [
        { diskId: 0, target: 'hda' },
        { diskId: 1, target: 'sda' },
      ],
      context: 'hdb',
    });

    // A second VM cannot take the persistent disk meanwhile.
    const second = acquireImage(disk, 21);
    assert.ok(!second.ok);
    assert.equal(second.error.message, 'Cannot acquire image 1, it is persistent and already in use');

    // Nor can it be made non-persistent while a VM uses it.
    assert.ok(!setImagePersistent(disk, false, { datastorePersistentOnly: false }).ok);

    // 3. The install is done; the VM is terminated (EPILOG saved the disk back) and releases both.
    iso = value(releaseImage(iso, 20));
    disk = value(releaseImage(disk, 20));
    assert.equal(iso.state, S.READY);
    assert.equal(disk.state, S.READY);

    // 4. chtype DATABLOCK → OS, then non-persistent.
    disk = value(changeImageType(disk, 'OS'));
    assert.equal(disk.type, ImageType.OS);
    disk = value(setImagePersistent(disk, false, { datastorePersistentOnly: false }));
    assert.equal(disk.persistent, false);

    // 5. Two VMs boot from it at once, each on its own clone.
    const vms = [30, 31];
    let os: ImageRecord = disk;
    for (const vm of vms) os = value(acquireImage(os, vm));
    assert.equal(os.state, S.USED);
    assert.equal(os.runningVms, 2);
    assert.deepEqual(os.vms, vms);
    const osDisk = value(diskAttributesFromImage({ IMAGE_ID: '1' }, os, ds));
    assert.deepEqual([osDisk['CLONE'], osDisk['SAVE'], osDisk['PERSISTENT']], ['YES', 'NO', undefined]);
    assert.deepEqual(
      value(
        assignDiskTargets({
          vmId: 30,
          disks: [{ diskId: 0, kind: 'OS', imageDevPrefix: osDisk['DEV_PREFIX'] }],
          context: {},
        }),
      ),
      { disks: [{ diskId: 0, target: 'sda' }], context: 'hda' },
    );

    // 6. Both end; the image is READY again.
    for (const vm of vms) os = value(releaseImage(os, vm));
    assert.equal(os.state, S.READY);
    assert.equal(os.runningVms, 0);
  });
});
