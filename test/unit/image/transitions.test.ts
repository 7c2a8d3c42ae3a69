import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  ImageState as S,
  ImageType,
  acquireImage,
  allocateClone,
  changeImageType,
  completeCopy,
  copiedLogLine,
  enableImage,
  failCopy,
  failDelete,
  finishCloneFrom,
  imageStateName,
  planImageDelete,
  releaseImage,
  setImagePersistent,
  startCloneFrom,
  vmsWaitingForCopy,
  type ImageRecord,
} from '../../../src/domain/image/index.js';
import type { Result } from '../../../src/domain/errors.js';
import { ALL_STATES, NOW, NOW_CTIME, imageInState, makeImage } from './fixtures.js';

/** Expected outcome per state: a state number, or the exact error message. */
type Table = Readonly<Record<number, number | string>>;

function checkTable(
  name: string,
  table: Table,
  run: (state: number) => Result<ImageRecord>,
  extra?: (state: number, image: ImageRecord) => void,
): void {
  describe(name, () => {
    it('covers every image state', () => {
      assert.deepEqual(
        Object.keys(table)
          .map(Number)
          .sort((a, b) => a - b),
        [...ALL_STATES].sort((a, b) => a - b),
      );
    });
    for (const state of ALL_STATES) {
      const expected = table[state];
      it(`${imageStateName(state)} → ${typeof expected === 'number' ? imageStateName(expected) : JSON.stringify(expected)}`, () => {
        const result = run(state);
        if (typeof expected === 'number') {
          assert.ok(result.ok, result.ok ? '' : result.error.message);
          assert.equal(result.value.state, expected);
          extra?.(state, result.value);
        } else {
          assert.ok(!result.ok, 'expected a refusal');
          assert.equal(result.error.message, expected);
        }
      });
    }
  });
}

const inState = (state: number): string => `Cannot acquire image 5, it is in state: ${imageStateName(state)}`;
const IN_USE = 'Cannot acquire image 5, it is persistent and already in use';
const LOCKED = 'Cannot acquire image 5, it is locked';

checkTable(
  'acquire by a new VM, non-persistent image',
  {
    [S.INIT]: inState(S.INIT),
    [S.READY]: S.USED,
    [S.USED]: S.USED,
    [S.DISABLED]: inState(S.DISABLED),
    [S.LOCKED]: S.LOCKED_USED,
    [S.ERROR]: inState(S.ERROR),
    [S.CLONE]: inState(S.CLONE),
    [S.DELETE]: inState(S.DELETE),
    [S.USED_PERS]: IN_USE,
    [S.LOCKED_USED]: S.LOCKED_USED,
    [S.LOCKED_USED_PERS]: IN_USE,
  },
  (state) => acquireImage(imageInState(state), 7),
  (_state, image) => {
    assert.ok(image.vms.includes(7));
    assert.equal(image.runningVms, image.vms.length);
  },
);

checkTable(
  'acquire by a new VM, persistent image',
  {
    [S.INIT]: inState(S.INIT),
    [S.READY]: S.USED_PERS,
    [S.USED]: S.USED,
    [S.DISABLED]: inState(S.DISABLED),
    [S.LOCKED]: S.LOCKED_USED_PERS,
    [S.ERROR]: inState(S.ERROR),
    [S.CLONE]: inState(S.CLONE),
    [S.DELETE]: inState(S.DELETE),
    [S.USED_PERS]: IN_USE,
    [S.LOCKED_USED]: S.LOCKED_USED,
    [S.LOCKED_USED_PERS]: IN_USE,
  },
  (state) => acquireImage(imageInState(state, { persistent: true }), 7),
);

checkTable(
  'acquire, persistent SHAREABLE image',
  {
    [S.INIT]: inState(S.INIT),
    [S.READY]: S.USED_PERS,
    [S.USED]: S.USED,
    [S.DISABLED]: inState(S.DISABLED),
    [S.LOCKED]: S.LOCKED_USED_PERS,
    [S.ERROR]: inState(S.ERROR),
    [S.CLONE]: inState(S.CLONE),
    [S.DELETE]: inState(S.DELETE),
    [S.USED_PERS]: S.USED_PERS,
    [S.LOCKED_USED]: S.LOCKED_USED,
    [S.LOCKED_USED_PERS]: S.LOCKED_USED_PERS,
  },
  (state) =>
    acquireImage(imageInState(state, { persistent: true, template: { PERSISTENT_TYPE: ['shareable'] } }), 7),
  (state, image) => {
    if (state === S.USED_PERS) assert.deepEqual(image.vms, [3, 7]);
  },
);

checkTable(
  'acquire by disk attach (hot-plug), persistent SHAREABLE image',
  {
    [S.INIT]: inState(S.INIT),
    [S.READY]: S.USED_PERS,
    [S.USED]: S.USED,
    [S.DISABLED]: inState(S.DISABLED),
    [S.LOCKED]: LOCKED,
    [S.ERROR]: inState(S.ERROR),
    [S.CLONE]: inState(S.CLONE),
    [S.DELETE]: inState(S.DELETE),
    [S.USED_PERS]: S.USED_PERS,
    [S.LOCKED_USED]: LOCKED,
    [S.LOCKED_USED_PERS]: LOCKED,
  },
  (state) =>
    acquireImage(imageInState(state, { persistent: true, template: { PERSISTENT_TYPE: ['SHAREABLE'] } }), 7, {
      attach: true,
    }),
);

const wrongRelease = (state: number): string =>
  `Releasing image in wrong state: ${state === S.USED_PERS ? 'USED' : imageStateName(state)}`;

checkTable(
  'release by its last VM',
  {
    [S.INIT]: wrongRelease(S.INIT),
    [S.READY]: wrongRelease(S.READY),
    [S.USED]: S.READY,
    [S.DISABLED]: wrongRelease(S.DISABLED),
    [S.LOCKED]: wrongRelease(S.LOCKED),
    [S.ERROR]: wrongRelease(S.ERROR),
    [S.CLONE]: wrongRelease(S.CLONE),
    [S.DELETE]: wrongRelease(S.DELETE),
    [S.USED_PERS]: S.READY,
    [S.LOCKED_USED]: S.LOCKED,
    [S.LOCKED_USED_PERS]: S.LOCKED,
  },
  (state) => releaseImage(imageInState(state), 3),
  (_state, image) => {
    assert.deepEqual(image.vms, []);
    assert.equal(image.runningVms, 0);
  },
);

checkTable(
  'release by one of two VMs',
  {
    [S.INIT]: wrongRelease(S.INIT),
    [S.READY]: wrongRelease(S.READY),
    [S.USED]: S.USED,
    [S.DISABLED]: wrongRelease(S.DISABLED),
    [S.LOCKED]: wrongRelease(S.LOCKED),
    [S.ERROR]: wrongRelease(S.ERROR),
    [S.CLONE]: wrongRelease(S.CLONE),
    [S.DELETE]: wrongRelease(S.DELETE),
    [S.USED_PERS]: S.USED_PERS,
    [S.LOCKED_USED]: S.LOCKED_USED,
    [S.LOCKED_USED_PERS]: S.LOCKED_USED_PERS,
  },
  (state) => releaseImage(imageInState(state, { vms: [3, 4], runningVms: 2 }), 3),
  (_state, image) => assert.deepEqual(image.vms, [4]),
);

const cannot = (verb: string, state: number): string => {
  const shown =
    state === S.USED_PERS ? 'USED' : state === S.LOCKED_USED_PERS ? 'LOCKED_USED' : imageStateName(state);
  return `Could not ${verb} image: Image cannot be in state ${shown}.`;
};

checkTable(
  'enable',
  {
    [S.INIT]: cannot('enable', S.INIT),
    [S.READY]: S.READY,
    [S.USED]: cannot('enable', S.USED),
    [S.DISABLED]: S.READY,
    [S.LOCKED]: cannot('enable', S.LOCKED),
    [S.ERROR]: S.READY,
    [S.CLONE]: cannot('enable', S.CLONE),
    [S.DELETE]: cannot('enable', S.DELETE),
    [S.USED_PERS]: cannot('enable', S.USED_PERS),
    [S.LOCKED_USED]: cannot('enable', S.LOCKED_USED),
    [S.LOCKED_USED_PERS]: cannot('enable', S.LOCKED_USED_PERS),
  },
  (state) => enableImage(imageInState(state), true),
);

checkTable(
  'disable',
  {
    [S.INIT]: cannot('disable', S.INIT),
    [S.READY]: S.DISABLED,
    [S.USED]: cannot('disable', S.USED),
    [S.DISABLED]: S.DISABLED,
    [S.LOCKED]: cannot('disable', S.LOCKED),
    [S.ERROR]: S.DISABLED,
    [S.CLONE]: cannot('disable', S.CLONE),
    [S.DELETE]: cannot('disable', S.DELETE),
    [S.USED_PERS]: cannot('disable', S.USED_PERS),
    [S.LOCKED_USED]: cannot('disable', S.LOCKED_USED),
    [S.LOCKED_USED_PERS]: cannot('disable', S.LOCKED_USED_PERS),
  },
  (state) => enableImage(imageInState(state), false),
);

for (const [flag, verb] of [
  [true, 'make image persistent'],
  [false, 'make image non-persistent'],
] as const) {
  const shown = (state: number): string =>
    state === S.USED_PERS ? 'USED' : state === S.LOCKED_USED_PERS ? 'LOCKED_USED' : imageStateName(state);
  const refused = (state: number): string => `Could not ${verb}: Image cannot be in state ${shown(state)}.`;
  checkTable(
    flag ? 'persistent' : 'nonpersistent',
    {
      [S.INIT]: S.INIT,
      [S.READY]: S.READY,
      [S.USED]: refused(S.USED),
      [S.DISABLED]: S.DISABLED,
      [S.LOCKED]: S.LOCKED,
      [S.ERROR]: S.ERROR,
      [S.CLONE]: refused(S.CLONE),
      [S.DELETE]: S.DELETE,
      [S.USED_PERS]: refused(S.USED_PERS),
      [S.LOCKED_USED]: refused(S.LOCKED_USED),
      [S.LOCKED_USED_PERS]: refused(S.LOCKED_USED_PERS),
    },
    (state) =>
      setImagePersistent(imageInState(state, { persistent: !flag }), flag, {
        datastorePersistentOnly: false,
      }),
    (_state, image) => assert.equal(image.persistent, flag),
  );
}

checkTable(
  'chtype OS → DATABLOCK (no state restriction)',
  Object.fromEntries(ALL_STATES.map((s) => [s, s])),
  (state) => changeImageType(imageInState(state), 'DATABLOCK'),
  (_state, image) => assert.equal(image.type, ImageType.DATABLOCK),
);

const noClone = (state: number): string =>
  `Cannot clone image in state: ${state === S.USED_PERS ? 'USED' : state === S.LOCKED_USED_PERS ? 'LOCKED_USED' : imageStateName(state)}`;

checkTable(
  'clone, source side, non-persistent source',
  {
    [S.INIT]: noClone(S.INIT),
    [S.READY]: S.USED,
    [S.USED]: S.USED,
    [S.DISABLED]: noClone(S.DISABLED),
    [S.LOCKED]: noClone(S.LOCKED),
    [S.ERROR]: noClone(S.ERROR),
    [S.CLONE]: S.CLONE,
    [S.DELETE]: noClone(S.DELETE),
    [S.USED_PERS]: noClone(S.USED_PERS),
    [S.LOCKED_USED]: noClone(S.LOCKED_USED),
    [S.LOCKED_USED_PERS]: noClone(S.LOCKED_USED_PERS),
  },
  (state) => startCloneFrom(imageInState(state), 12),
  (_state, image) => {
    assert.ok(image.clones.includes(12));
    assert.equal(image.cloningOps, image.clones.length);
  },
);

checkTable(
  'delete',
  {
    [S.INIT]: S.DELETE,
    [S.READY]: S.DELETE,
    [S.USED]: 'Cannot delete image. There are 1 VMs using it.',
    [S.DISABLED]: S.DELETE,
    [S.LOCKED]: S.DELETE,
    [S.ERROR]: S.DELETE,
    [S.CLONE]: 'Cannot delete image. There are 1 active clone operations.',
    [S.DELETE]: S.DELETE,
    [S.USED_PERS]: 'Cannot delete image. There are 1 VMs using it.',
    [S.LOCKED_USED]: 'Cannot delete image. There are 1 VMs using it.',
    [S.LOCKED_USED_PERS]: 'Cannot delete image. There are 1 VMs using it.',
  },
  (state) => {
    const plan = planImageDelete(imageInState(state));
    return plan.ok ? { ok: true, value: plan.value.image } : plan;
  },
);

describe('acquire and release details', () => {
  it('a VM with two disks on one image counts once', () => {
    const once = acquireImage(makeImage(), 7);
    assert.ok(once.ok);
    const twice = acquireImage(once.value, 7);
    assert.ok(twice.ok);
    assert.equal(twice.value.runningVms, 1);
  });
  it('file images cannot be disks', () => {
    const kernel = makeImage({ type: ImageType.KERNEL, name: 'vmlinuz' });
    const r = acquireImage(kernel, 7);
    assert.ok(!r.ok);
    assert.equal(r.error.message, 'Image 5 (vmlinuz) of type KERNEL cannot be used as DISK.');
    const rel = releaseImage(kernel, 7);
    assert.ok(!rel.ok);
    assert.equal(rel.error.message, 'Trying to release a KERNEL, RAMDISK, BACKUP or CONTEXT image');
  });
  it('a USED image being cloned stays USED when its last VM leaves', () => {
    const r = releaseImage(imageInState(S.USED, { cloningOps: 1, clones: [9] }), 3);
    assert.ok(r.ok);
    assert.equal(r.value.state, S.USED);
  });
  it('releasing a VM that does not hold the image changes nothing but the state rule', () => {
    const r = releaseImage(imageInState(S.USED, { vms: [4], runningVms: 1 }), 3);
    assert.ok(r.ok);
    assert.deepEqual(r.value.vms, [4]);
    assert.equal(r.value.state, S.USED);
  });
  it('PREV_STATE keeps the state left', () => {
    const r = acquireImage(makeImage(), 7);
    assert.ok(r.ok);
    assert.equal(r.value.prevState, S.READY);
  });
});

describe('enable details', () => {
  it('ERROR with VMs still holding the image goes back to USED / USED_PERS', () => {
    const a = enableImage(makeImage({ state: S.ERROR, vms: [3], runningVms: 1 }), true);
    assert.ok(a.ok);
    assert.equal(a.value.state, S.USED);
    const b = enableImage(makeImage({ state: S.ERROR, persistent: true, vms: [3], runningVms: 1 }), true);
    assert.ok(b.ok);
    assert.equal(b.value.state, S.USED_PERS);
  });
  it('BACKUP images cannot be enabled or disabled', () => {
    const r = enableImage(makeImage({ type: ImageType.BACKUP }), true);
    assert.ok(!r.ok);
    assert.equal(r.error.message, 'Could not enable image: Backup images cannot be enabled or disabled.');
  });
});

describe('persistent details', () => {
  it('KERNEL, RAMDISK, CONTEXT stay non-persistent; BACKUP stays persistent', () => {
    for (const type of [ImageType.KERNEL, ImageType.RAMDISK, ImageType.CONTEXT]) {
      const r = setImagePersistent(makeImage({ type }), true, { datastorePersistentOnly: false });
      assert.ok(!r.ok);
      assert.equal(r.error.message, 'KERNEL, RAMDISK and CONTEXT must be non-persistent');
    }
    const b = setImagePersistent(makeImage({ type: ImageType.BACKUP, persistent: true }), false, {
      datastorePersistentOnly: false,
    });
    assert.ok(!b.ok);
    assert.equal(b.error.message, 'BACKUP images must be persistent');
  });
  it('PERSISTENT_ONLY datastores refuse non-persistent images', () => {
    const r = setImagePersistent(makeImage({ persistent: true }), false, { datastorePersistentOnly: true });
    assert.ok(!r.ok);
    assert.equal(r.error.message, 'This Datastore only accepts persistent images.');
    assert.ok(setImagePersistent(makeImage(), true, { datastorePersistentOnly: true }).ok);
  });
  it('images with snapshots stay persistent', () => {
    const r = setImagePersistent(makeImage({ persistent: true }), false, {
      datastorePersistentOnly: false,
      hasSnapshots: true,
    });
    assert.ok(!r.ok);
    assert.equal(r.error.message, 'Could not make image non-persistent: Image has snapshots.');
  });
  it('no change returns the same record', () => {
    const image = makeImage();
    const r = setImagePersistent(image, false, { datastorePersistentOnly: false });
    assert.ok(r.ok);
    assert.equal(r.value, image);
  });
});

describe('chtype', () => {
  const INCOMPATIBLE = 'Cannot change image type to an incompatible type for the current datastore.';
  const cases: [number, string, number | string][] = [
    [ImageType.OS, 'CDROM', ImageType.CDROM],
    [ImageType.OS, 'datablock', ImageType.DATABLOCK],
    [ImageType.DATABLOCK, 'OS', ImageType.OS],
    [ImageType.CDROM, 'DATABLOCK', ImageType.DATABLOCK],
    [ImageType.OS, 'OS', ImageType.OS],
    [ImageType.OS, 'KERNEL', INCOMPATIBLE],
    [ImageType.DATABLOCK, 'CONTEXT', INCOMPATIBLE],
    [ImageType.DATABLOCK, 'BACKUP', INCOMPATIBLE],
    [ImageType.KERNEL, 'RAMDISK', ImageType.RAMDISK],
    [ImageType.CONTEXT, 'KERNEL', ImageType.KERNEL],
    [ImageType.RAMDISK, 'OS', INCOMPATIBLE],
    [ImageType.BACKUP, 'OS', 'Cannot change type for BACKUP images.'],
    [
      ImageType.OS,
      'FLOPPY',
      'Unknown image type "FLOPPY"; use OS, CDROM, DATABLOCK, KERNEL, RAMDISK or CONTEXT',
    ],
  ];
  for (const [from, to, expected] of cases) {
    it(`${from} → ${to}`, () => {
      const r = changeImageType(makeImage({ type: from }), to);
      if (typeof expected === 'number') {
        assert.ok(r.ok);
        assert.equal(r.value.type, expected);
      } else {
        assert.ok(!r.ok);
        assert.equal(r.error.message, expected);
      }
    });
  }
  it('images with snapshots can only be OS or DATABLOCK', () => {
    const r = changeImageType(makeImage(), 'CDROM', { hasSnapshots: true });
    assert.ok(!r.ok);
    assert.equal(r.error.message, 'Image with snapshots can be only of type OS or DATABLOCK');
    assert.ok(changeImageType(makeImage(), 'DATABLOCK', { hasSnapshots: true }).ok);
  });
});

describe('clone', () => {
  it('a READY persistent source goes to CLONE', () => {
    const r = startCloneFrom(makeImage({ persistent: true }), 12);
    assert.ok(r.ok);
    assert.equal(r.value.state, S.CLONE);
    assert.deepEqual(r.value.clones, [12]);
  });
  it('file images and images with snapshots cannot be cloned', () => {
    const k = startCloneFrom(makeImage({ type: ImageType.CONTEXT }), 12);
    assert.ok(!k.ok);
    assert.equal(k.error.message, 'KERNEL, RAMDISK, BACKUP and CONTEXT cannot be cloned.');
    const s = startCloneFrom(makeImage(), 12, { hasSnapshots: true });
    assert.ok(!s.ok);
    assert.equal(s.error.message, 'Cannot clone images with snapshots');
  });
  it('the new image starts LOCKED with CLONING_ID and PATH = source SOURCE', () => {
    const source = makeImage({ template: { DEV_PREFIX: ['vd'], ERROR: ['old'], LAST_RELEASE: ['old'] } });
    const clone = allocateClone(source, {
      id: 12,
      name: 'debian-12-copy',
      uid: 3,
      gid: 1,
      permissions: 0o600,
      now: NOW,
      datastoreId: 1,
    });
    assert.equal(clone.state, S.LOCKED);
    assert.equal(clone.cloningId, 5);
    assert.equal(clone.path, source.source);
    assert.equal(clone.source, '');
    assert.equal(clone.persistent, false);
    assert.deepEqual(clone.template, { DEV_PREFIX: ['vd'] });
    assert.equal(
      allocateClone(source, {
        id: 13,
        name: 'p',
        uid: 3,
        gid: 1,
        permissions: 0o600,
        now: NOW,
        datastoreId: 1,
        persistent: true,
      }).persistent,
      true,
    );
  });
  it('the clone ends: source back to READY, new image READY with its SOURCE', () => {
    const started = startCloneFrom(makeImage({ persistent: true }), 12);
    assert.ok(started.ok);
    const done = finishCloneFrom(started.value, 12);
    assert.ok(done.ok);
    assert.equal(done.value.state, S.READY);
    assert.deepEqual(done.value.clones, []);
    const clone = allocateClone(makeImage(), {
      id: 12,
      name: 'c',
      uid: 3,
      gid: 1,
      permissions: 0o600,
      now: NOW,
      datastoreId: 1,
    });
    const copied = completeCopy(clone, { source: '/ds/1/new', format: 'qcow2' });
    assert.ok(copied.ok);
    assert.equal(copied.value.state, S.READY);
    assert.equal(copied.value.cloningId, -1);
    assert.equal(copiedLogLine(copied.value, 'clone'), 'Image cloned and ready to use.');
  });
  it('two clones: the source waits for both', () => {
    const a = startCloneFrom(makeImage(), 12);
    assert.ok(a.ok);
    const b = startCloneFrom(a.value, 13);
    assert.ok(b.ok);
    const c = finishCloneFrom(b.value, 12);
    assert.ok(c.ok);
    assert.equal(c.value.state, S.USED);
    const d = finishCloneFrom(c.value, 13);
    assert.ok(d.ok);
    assert.equal(d.value.state, S.READY);
  });
  it('finishing a clone on a source in the wrong state is refused', () => {
    const r = finishCloneFrom(makeImage(), 12);
    assert.ok(!r.ok);
    assert.equal(r.error.message, 'Release cloning image in wrong state');
  });
  it('clone failure: ERROR "Error cloning from Image <id>"', () => {
    const clone = allocateClone(makeImage(), {
      id: 12,
      name: 'c',
      uid: 3,
      gid: 1,
      permissions: 0o600,
      now: NOW,
      datastoreId: 1,
    });
    const r = failCopy(clone, { operation: 'clone', driverMessage: 'cp: disk full', now: NOW });
    assert.ok(r.ok);
    assert.equal(r.value.state, S.ERROR);
    assert.equal(r.value.cloningId, -1);
    assert.deepEqual(r.value.template['ERROR'], [`${NOW_CTIME} : Error cloning from Image 5: cp: disk full`]);
  });
});

describe('datastore copy callbacks', () => {
  it('allocate → LOCKED → copy succeeds → READY with SOURCE and FORMAT', () => {
    const locked = makeImage({ state: S.LOCKED, source: '', format: '' });
    const r = completeCopy(locked, { source: '/ds/1/abc', format: 'raw', sizeMb: 300 });
    assert.ok(r.ok);
    assert.equal(r.value.state, S.READY);
    assert.equal(r.value.source, '/ds/1/abc');
    assert.equal(r.value.format, 'raw');
    assert.equal(r.value.size, 300);
    assert.equal(copiedLogLine(r.value, 'cp'), 'Image (5) copied and ready to use.');
    assert.equal(copiedLogLine(r.value, 'mkfs'), 'Image created and ready to use');
  });
  it('VMs waiting in CLONING: LOCKED_USED → USED, LOCKED_USED_PERS → USED_PERS', () => {
    const a = imageInState(S.LOCKED_USED);
    assert.deepEqual(vmsWaitingForCopy(a), [3]);
    const ra = completeCopy(a, { source: '/x' });
    assert.ok(ra.ok);
    assert.equal(ra.value.state, S.USED);
    assert.equal(ra.value.format, 'qcow2');
    const rb = completeCopy(imageInState(S.LOCKED_USED_PERS), { source: '/x' });
    assert.ok(rb.ok);
    assert.equal(rb.value.state, S.USED_PERS);
    assert.deepEqual(vmsWaitingForCopy(makeImage()), []);
  });
  it('copy results for an image that is not copying are refused', () => {
    const r = completeCopy(makeImage(), { source: '/x' });
    assert.ok(!r.ok);
    assert.equal(r.error.code, 'IMAGE_STATE');
    const d = failCopy(makeImage({ state: S.DELETE }), { operation: 'mkfs', driverMessage: 'x', now: NOW });
    assert.ok(!d.ok);
  });
  it('copy failure: ERROR with the exact TEMPLATE/ERROR text', () => {
    const r = failCopy(makeImage({ state: S.LOCKED }), {
      operation: 'cp',
      driverMessage: 'Error copying /var/tmp/x.img: No such file or directory',
      now: NOW,
    });
    assert.ok(r.ok);
    assert.equal(r.value.state, S.ERROR);
    assert.deepEqual(r.value.template['ERROR'], [
      `${NOW_CTIME} : Error copying image in the datastore: Error copying /var/tmp/x.img: No such file or directory`,
    ]);
  });
  it('mkfs failure and a "-" driver message', () => {
    const r = failCopy(makeImage({ state: S.LOCKED }), { operation: 'mkfs', driverMessage: '-', now: NOW });
    assert.ok(r.ok);
    assert.deepEqual(r.value.template['ERROR'], [`${NOW_CTIME} : Error creating datablock`]);
  });
});

describe('delete details', () => {
  it('an image with no SOURCE yet is dropped at once', () => {
    const r = planImageDelete(makeImage({ state: S.LOCKED, source: '' }));
    assert.ok(r.ok);
    assert.equal(r.value.action, 'drop');
  });
  it('deleting a LOCKED clone releases its source', () => {
    const r = planImageDelete(makeImage({ state: S.LOCKED, cloningId: 4 }));
    assert.ok(r.ok);
    assert.equal(r.value.action, 'rm');
    assert.equal(r.value.releaseCloneOf, 4);
    assert.equal(r.value.image.cloningId, -1);
  });
  it('READY with VMs (BACKUP images excepted) is refused', () => {
    const r = planImageDelete(makeImage({ runningVms: 2, vms: [1, 2] }));
    assert.ok(!r.ok);
    assert.equal(r.error.message, 'Cannot delete image. There are 2 VMs using it.');
    assert.ok(planImageDelete(makeImage({ type: ImageType.BACKUP, runningVms: 1, vms: [1] })).ok);
  });
  it('rm failure: ERROR with the retry hint', () => {
    const image = failDelete(makeImage({ state: S.DELETE }), {
      driverMessage: 'rm: permission denied',
      now: NOW,
    });
    assert.equal(image.state, S.ERROR);
    assert.deepEqual(image.template['ERROR'], [
      `${NOW_CTIME} : Error removing image from datastore. Retry the operation or manually remove image source ` +
        '/var/lib/nimbus/datastores/1/0a1b2c and run the delete --force operation to completely delete the image: ' +
        'rm: permission denied',
    ]);
  });
});
