import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  DiskType,
  ImageState,
  ImageType,
  ctime,
  diskTypeString,
  imageStateName,
  imageStateShortName,
  imageStateString,
  imageTypeName,
  imageTypeShortName,
  isLockedState,
  parseDiskType,
  parseImageType,
  stampedMessage,
  withDriverMessage,
} from '../../../src/domain/image/index.js';
import { NOW, NOW_CTIME } from './fixtures.js';

describe('image enums (reference §3.3)', () => {
  it('STATE numbers, names and short names', () => {
    const rows = Object.entries(ImageState).map(([name, n]) => [
      n,
      name,
      imageStateName(n),
      imageStateShortName(n),
    ]);
    assert.deepEqual(rows, [
      [0, 'INIT', 'INIT', 'init'],
      [1, 'READY', 'READY', 'rdy'],
      [2, 'USED', 'USED', 'used'],
      [3, 'DISABLED', 'DISABLED', 'disa'],
      [4, 'LOCKED', 'LOCKED', 'lock'],
      [5, 'ERROR', 'ERROR', 'err'],
      [6, 'CLONE', 'CLONE', 'clon'],
      [7, 'DELETE', 'DELETE', 'dele'],
      [8, 'USED_PERS', 'USED_PERS', 'used'],
      [9, 'LOCKED_USED', 'LOCKED_USED', 'lock'],
      [10, 'LOCKED_USED_PERS', 'LOCKED_USED_PERS', 'lock'],
    ]);
    assert.equal(imageStateName(11), 'UNKNOWN(11)');
    assert.equal(imageStateShortName(11), '-');
  });
  it('messages print USED_PERS as USED and LOCKED_USED_PERS as LOCKED_USED', () => {
    assert.equal(imageStateString(ImageState.USED_PERS), 'USED');
    assert.equal(imageStateString(ImageState.LOCKED_USED_PERS), 'LOCKED_USED');
    assert.equal(imageStateString(ImageState.CLONE), 'CLONE');
  });
  it('TYPE numbers, names and short names', () => {
    const rows = Object.entries(ImageType).map(([name, n]) => [
      n,
      name,
      imageTypeName(n),
      imageTypeShortName(n),
    ]);
    assert.deepEqual(rows, [
      [0, 'OS', 'OS', 'OS'],
      [1, 'CDROM', 'CDROM', 'CD'],
      [2, 'DATABLOCK', 'DATABLOCK', 'DB'],
      [3, 'KERNEL', 'KERNEL', 'KL'],
      [4, 'RAMDISK', 'RAMDISK', 'RD'],
      [5, 'CONTEXT', 'CONTEXT', 'CX'],
      [6, 'BACKUP', 'BACKUP', 'BK'],
    ]);
    assert.equal(imageTypeName(9), 'UNKNOWN(9)');
    assert.equal(imageTypeShortName(9), '-');
    assert.equal(parseImageType(' datablock '), ImageType.DATABLOCK);
    assert.equal(parseImageType('ISO'), undefined);
  });
  it('DISK_TYPE numbers and strings', () => {
    assert.deepEqual(
      Object.values(DiskType).map((n) => [n, diskTypeString(n)]),
      [
        [0, 'FILE'],
        [1, 'CDROM'],
        [2, 'BLOCK'],
        [3, 'RBD'],
        [4, 'RBD_CDROM'],
        [5, 'GLUSTER'],
        [6, 'GLUSTER_CDROM'],
        [7, 'SHEEPDOG'],
        [8, 'SHEEPDOG_CDROM'],
        [9, 'ISCSI'],
        [255, ''],
      ],
    );
    assert.equal(parseDiskType('cdrom'), DiskType.CD_ROM);
    assert.equal(parseDiskType('tape'), DiskType.NONE);
  });
  it('locked states', () => {
    assert.deepEqual(Object.values(ImageState).filter(isLockedState), [
      ImageState.LOCKED,
      ImageState.LOCKED_USED,
      ImageState.LOCKED_USED_PERS,
    ]);
  });
});

describe('error text helpers', () => {
  it('ctime is C ctime() in UTC with a space-padded day', () => {
    assert.equal(ctime(NOW), NOW_CTIME);
    assert.equal(ctime(Date.UTC(2025, 11, 25, 7, 5, 9) / 1000), 'Thu Dec 25 07:05:09 2025');
    assert.equal(stampedMessage(NOW, 'x'), `${NOW_CTIME} : x`);
  });
  it('driver messages are appended unless empty or "-"', () => {
    assert.equal(withDriverMessage('E', ' boom '), 'E: boom');
    assert.equal(withDriverMessage('E', ''), 'E');
    assert.equal(withDriverMessage('E', '- nothing'), 'E');
  });
});
