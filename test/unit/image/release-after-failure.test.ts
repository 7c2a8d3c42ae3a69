import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  ImageState as S,
  ImageType,
  acquireImage,
  diskMayHaveBeenWritten,
  enableImage,
  releaseAfterVmFailure,
  vmFailurePhase,
  type VmFailureRelease,
} from '../../../src/domain/image/index.js';
import { NOW, NOW_CTIME, imageInState, makeImage } from './fixtures.js';

const prologFailure: VmFailureRelease = {
  vmId: 3,
  phase: 'PROLOG',
  faultImageIds: [],
  diskWasWritten: false,
  reason: 'Error executing image transfer script: ssh: connect to host node2 port 22: Connection refused',
  now: NOW,
};

describe('releaseAfterVmFailure: the image is not at fault', () => {
  it('a persistent DATABLOCK returns to READY (OpenNebula: ERROR) and records why in LAST_RELEASE', () => {
    const image = imageInState(S.USED_PERS, {
      type: ImageType.DATABLOCK,
      template: { ERROR: ['old error'] },
    });
    const r = releaseAfterVmFailure(image, prologFailure);
    assert.ok(r.ok);
    assert.equal(r.value.outcome, 'RELEASED');
    assert.equal(r.value.image.state, S.READY);
    assert.deepEqual(r.value.image.vms, []);
    assert.equal(r.value.image.runningVms, 0);
    assert.deepEqual(r.value.image.template['LAST_RELEASE'], [
      `${NOW_CTIME} : Released by VM 3, which failed in prolog for a reason other than this image: ` +
        'Error executing image transfer script: ssh: connect to host node2 port 22: Connection refused',
    ]);
    assert.deepEqual(r.value.image.template['ERROR'], ['old error'], 'an older ERROR is left alone');
  });
  it('a non-persistent image goes back to READY even if the guest wrote to its clone', () => {
    const r = releaseAfterVmFailure(imageInState(S.USED), {
      ...prologFailure,
      phase: 'RUNNING',
      diskWasWritten: true,
    });
    assert.ok(r.ok);
    assert.equal(r.value.outcome, 'RELEASED');
    assert.equal(r.value.image.state, S.READY);
  });
  it('read-only persistent images (CDROM, IMMUTABLE, READONLY=YES) are never suspect', () => {
    const written = { ...prologFailure, phase: 'RUNNING', diskWasWritten: true } as const;
    for (const image of [
      imageInState(S.USED_PERS, { type: ImageType.CDROM }),
      imageInState(S.USED_PERS, { template: { PERSISTENT_TYPE: ['IMMUTABLE'] } }),
      imageInState(S.USED_PERS, { template: { READONLY: ['YES'] } }),
    ]) {
      const r = releaseAfterVmFailure(image, written);
      assert.ok(r.ok);
      assert.equal(r.value.outcome, 'RELEASED');
      assert.equal(r.value.image.state, S.READY);
    }
  });
  it('a shared persistent image used by another VM stays USED_PERS', () => {
    const image = imageInState(S.USED_PERS, {
      vms: [3, 4],
      runningVms: 2,
      template: { PERSISTENT_TYPE: ['SHAREABLE'] },
    });
    const r = releaseAfterVmFailure(image, prologFailure);
    assert.ok(r.ok);
    assert.equal(r.value.image.state, S.USED_PERS);
    assert.deepEqual(r.value.image.vms, [4]);
  });
  it('an empty reason leaves no trailing colon', () => {
    const r = releaseAfterVmFailure(imageInState(S.USED_PERS), {
      ...prologFailure,
      phase: 'BOOT',
      reason: ' ',
    });
    assert.ok(r.ok);
    assert.equal(r.value.note, 'Released by VM 3, which failed in boot for a reason other than this image');
  });
});

describe('releaseAfterVmFailure: the image is at fault', () => {
  it('the failure was reading or copying this image → ERROR with the reason in TEMPLATE/ERROR', () => {
    const image = imageInState(S.USED_PERS);
    const r = releaseAfterVmFailure(image, {
      ...prologFailure,
      faultImageIds: [5],
      reason: 'cp: cannot open /var/lib/nimbus/datastores/1/0a1b2c: Input/output error',
    });
    assert.ok(r.ok);
    assert.equal(r.value.outcome, 'ERROR');
    assert.equal(r.value.image.state, S.ERROR);
    assert.deepEqual(r.value.image.template['ERROR'], [
      `${NOW_CTIME} : VM 3 failed in prolog reading or copying this image: ` +
        'cp: cannot open /var/lib/nimbus/datastores/1/0a1b2c: Input/output error',
    ]);
    assert.equal(r.value.image.template['LAST_RELEASE'], undefined);
  });
  it('a faulty non-persistent image goes to ERROR too, and other VMs keep it referenced', () => {
    const image = imageInState(S.USED, { vms: [3, 4], runningVms: 2 });
    const r = releaseAfterVmFailure(image, { ...prologFailure, faultImageIds: [5] });
    assert.ok(r.ok);
    assert.equal(r.value.image.state, S.ERROR);
    assert.deepEqual(r.value.image.vms, [4]);
    const again = acquireImage(r.value.image, 8);
    assert.ok(!again.ok, 'a new VM would fail the same way');
    const enabled = enableImage(r.value.image, true);
    assert.ok(enabled.ok);
    assert.equal(enabled.value.state, S.USED);
  });
  it('a writable persistent disk written by a VM that did not end cleanly → ERROR', () => {
    const r = releaseAfterVmFailure(imageInState(S.USED_PERS), {
      ...prologFailure,
      phase: 'EPILOG',
      diskWasWritten: true,
      reason: 'Error executing image transfer script: mv: write error: No space left on device',
    });
    assert.ok(r.ok);
    assert.equal(r.value.outcome, 'ERROR');
    assert.equal(r.value.image.state, S.ERROR);
    assert.match(
      (r.value.image.template['ERROR'] ?? [])[0] as string,
      /^Wed Jun {2}3 21:49:08 2026 : VM 3 failed in epilog after writing to this persistent disk; its content may be inconsistent\. Check it, then enable the image: /,
    );
  });
});

describe('releaseAfterVmFailure: other states', () => {
  it('an image still being copied loses the VM and stays LOCKED, whatever the fault list says', () => {
    for (const state of [S.LOCKED_USED, S.LOCKED_USED_PERS]) {
      const r = releaseAfterVmFailure(imageInState(state), {
        ...prologFailure,
        phase: 'PENDING',
        faultImageIds: [5],
      });
      assert.ok(r.ok);
      assert.equal(r.value.image.state, S.LOCKED);
      assert.equal(r.value.outcome, 'RELEASED');
      assert.deepEqual(r.value.image.vms, []);
    }
  });
  it('an image whose copy failed (ERROR) loses the VM, which OpenNebula forgets to do', () => {
    const image = makeImage({ state: S.ERROR, vms: [3], runningVms: 1 });
    const r = releaseAfterVmFailure(image, { ...prologFailure, phase: 'PENDING' });
    assert.ok(r.ok);
    assert.equal(r.value.image.state, S.ERROR);
    assert.equal(r.value.image.runningVms, 0);
    assert.equal(r.value.outcome, 'ERROR');
    const enabled = enableImage(r.value.image, true);
    assert.ok(enabled.ok);
    assert.equal(enabled.value.state, S.READY);
  });
  it('ERROR or DISABLED without the VM: unchanged', () => {
    const image = makeImage({ state: S.DISABLED });
    const r = releaseAfterVmFailure(image, prologFailure);
    assert.ok(r.ok);
    assert.equal(r.value.image, image);
    assert.equal(r.value.outcome, 'RELEASED');
    const d = releaseAfterVmFailure(makeImage({ state: S.DISABLED, vms: [3], runningVms: 1 }), prologFailure);
    assert.ok(d.ok);
    assert.deepEqual(d.value.image.vms, []);
  });
  it('wrong states and file images are refused', () => {
    const r = releaseAfterVmFailure(makeImage({ state: S.INIT }), prologFailure);
    assert.ok(!r.ok);
    assert.equal(r.error.message, 'Releasing image in wrong state: INIT');
    const k = releaseAfterVmFailure(makeImage({ type: ImageType.RAMDISK }), prologFailure);
    assert.ok(!k.ok);
    assert.equal(k.error.code, 'IMAGE_TYPE');
  });
  it('vmFailurePhase from STATE / LCM_STATE names', () => {
    const rows: [string, string, string][] = [
      ['PENDING', 'LCM_INIT', 'PENDING'],
      ['CLONING_FAILURE', 'LCM_INIT', 'PENDING'],
      ['POWEROFF', 'LCM_INIT', 'RUNNING'],
      ['ACTIVE', 'LCM_INIT', 'PENDING'],
      ['ACTIVE', 'PROLOG_FAILURE', 'PROLOG'],
      ['ACTIVE', 'PROLOG_MIGRATE_UNKNOWN_FAILURE', 'PROLOG'],
      ['ACTIVE', 'BOOT_FAILURE', 'BOOT'],
      ['ACTIVE', 'EPILOG_STOP_FAILURE', 'EPILOG'],
      ['ACTIVE', 'UNKNOWN', 'RUNNING'],
      ['ACTIVE', 'CLEANUP_DELETE', 'RUNNING'],
    ];
    for (const [state, lcm, phase] of rows)
      assert.equal(vmFailurePhase(state, lcm), phase, `${state}/${lcm}`);
  });
  it('diskMayHaveBeenWritten: only once the guest has run', () => {
    assert.deepEqual(
      (['PENDING', 'PROLOG', 'BOOT', 'RUNNING', 'EPILOG'] as const).map(diskMayHaveBeenWritten),
      [false, false, false, true, true],
    );
  });
});

describe('a whole VM fails in PROLOG because its CDROM image cannot be read', () => {
  it('only the CDROM goes to ERROR; the OS and the persistent DATABLOCK are usable at once', () => {
    const os = makeImage({ id: 10, vms: [3], runningVms: 1, state: S.USED });
    const cd = makeImage({ id: 11, type: ImageType.CDROM, vms: [3], runningVms: 1, state: S.USED });
    const db = makeImage({
      id: 12,
      type: ImageType.DATABLOCK,
      persistent: true,
      vms: [3],
      runningVms: 1,
      state: S.USED_PERS,
    });
    const failure: VmFailureRelease = {
      ...prologFailure,
      faultImageIds: [11],
      reason: 'cp: /ds/1/cd: No such file',
    };
    const after = [os, cd, db].map((image) => {
      const r = releaseAfterVmFailure(image, failure);
      assert.ok(r.ok);
      return r.value;
    });
    assert.deepEqual(
      after.map((x) => [x.image.id, x.image.state, x.outcome]),
      [
        [10, S.READY, 'RELEASED'],
        [11, S.ERROR, 'ERROR'],
        [12, S.READY, 'RELEASED'],
      ],
    );
    const next = acquireImage((after[2] as { image: typeof db }).image, 4);
    assert.ok(next.ok);
    assert.equal(next.value.state, S.USED_PERS);
  });
});
