import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  DiskType,
  ImageState,
  ImageType,
  allocateImage,
  validateImageTemplate,
  type ImageCreateContext,
} from '../../../src/domain/image/index.js';
import type { Template } from '../../../src/domain/template/types.js';
import { NOW, makeDatastore } from './fixtures.js';

const imageDs: ImageCreateContext = { datastore: makeDatastore(), callerInOneadminGroup: false };
const fileDs: ImageCreateContext = {
  datastore: makeDatastore({ id: 2, name: 'files', type: 2, template: { TYPE: ['FILE_DS'] } }),
  callerInOneadminGroup: false,
};

function t(attrs: Record<string, string>): Template {
  return Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, [v]]));
}

describe('validateImageTemplate: accepted templates', () => {
  it('an OS image from a local PATH: TYPE defaults to OS, DEV_PREFIX to sd, DS cp', () => {
    const r = validateImageTemplate(t({ NAME: 'debian-12', PATH: '/var/tmp/debian.qcow2' }), imageDs);
    assert.ok(r.ok, r.ok ? '' : r.error.message);
    assert.equal(r.value.type, ImageType.OS);
    assert.equal(r.value.persistent, false);
    assert.equal(r.value.dsAction, 'cp');
    assert.equal(r.value.pathKind, 'local');
    assert.equal(r.value.sizeMb, null);
    assert.equal(r.value.diskType, DiskType.FILE);
    assert.deepEqual(r.value.template, { DEV_PREFIX: ['sd'] });
  });
  it('a CDROM from a URL gets DEV_PREFIX hd', () => {
    const r = validateImageTemplate(
      t({ NAME: 'alpine.iso', TYPE: 'cdrom', PATH: 'https://dl.example.org/alpine.iso' }),
      imageDs,
    );
    assert.ok(r.ok);
    assert.equal(r.value.type, ImageType.CDROM);
    assert.equal(r.value.pathKind, 'url');
    assert.deepEqual(r.value.template['DEV_PREFIX'], ['hd']);
  });
  it('an empty persistent DATABLOCK: mkfs of SIZE MB, raw by default, qcow2 with DRIVER or a qcow2 TM', () => {
    const r = validateImageTemplate(
      t({
        NAME: 'data',
        TYPE: 'DATABLOCK',
        SIZE: '10240',
        PERSISTENT: 'yes',
        FS: 'ext4',
        DESCRIPTION: 'disk',
      }),
      imageDs,
    );
    assert.ok(r.ok);
    assert.equal(r.value.dsAction, 'mkfs');
    assert.equal(r.value.sizeMb, 10240);
    assert.equal(r.value.persistent, true);
    assert.equal(r.value.format, 'raw');
    assert.equal(r.value.fs, 'ext4');
    assert.deepEqual(r.value.template, { DESCRIPTION: ['disk'], DEV_PREFIX: ['sd'] });
    const q = validateImageTemplate(t({ NAME: 'd', TYPE: 'DATABLOCK', SIZE: '1', DRIVER: 'qcow2' }), imageDs);
    assert.ok(q.ok);
    assert.equal(q.value.format, 'qcow2');
    const tm = validateImageTemplate(t({ NAME: 'd', TYPE: 'DATABLOCK', SIZE: '1' }), {
      ...imageDs,
      datastore: makeDatastore({ tmMad: 'qcow2' }),
    });
    assert.ok(tm.ok);
    assert.equal(tm.value.format, 'qcow2');
    const f = validateImageTemplate(t({ NAME: 'd', TYPE: 'DATABLOCK', SIZE: '1', FORMAT: 'QCOW2' }), imageDs);
    assert.ok(f.ok);
    assert.equal(f.value.format, 'qcow2');
  });
  it('SOURCE (oneadmin group only) needs SIZE and makes the image READY at once', () => {
    const r = validateImageTemplate(
      t({ NAME: 'raw-lv', SOURCE: '/dev/vg0/lv1', SIZE: '4096', DISK_TYPE: 'block' }),
      {
        ...imageDs,
        callerInOneadminGroup: true,
      },
    );
    assert.ok(r.ok);
    assert.equal(r.value.dsAction, 'none');
    assert.equal(r.value.diskType, DiskType.BLOCK);
    const image = allocateImage(r.value, 1, { id: 9, uid: 0, gid: 0, permissions: 0o600, now: NOW });
    assert.equal(image.state, ImageState.READY);
    assert.equal(image.source, '/dev/vg0/lv1');
    assert.equal(image.size, 4096);
  });
  it('KERNEL in a FILE_DS: non-persistent, no DEV_PREFIX or TARGET', () => {
    const r = validateImageTemplate(
      t({ NAME: 'vmlinuz', TYPE: 'KERNEL', PATH: '/var/tmp/vmlinuz', DEV_PREFIX: 'vd', TARGET: 'vda' }),
      fileDs,
    );
    assert.ok(r.ok);
    assert.equal(r.value.persistent, false);
    assert.deepEqual(r.value.template, {});
  });
  it('DEFAULT_IMAGE_PERSISTENT_NEW applies when PERSISTENT is absent; an explicit PERSISTENT wins', () => {
    const ctx = { ...imageDs, defaults: { persistentNew: true } };
    const a = validateImageTemplate(t({ NAME: 'a', PATH: '/var/tmp/a' }), ctx);
    assert.ok(a.ok);
    assert.equal(a.value.persistent, true);
    const b = validateImageTemplate(t({ NAME: 'b', PATH: '/var/tmp/b', PERSISTENT: 'NO' }), ctx);
    assert.ok(b.ok);
    assert.equal(b.value.persistent, false);
  });
  it('a PERSISTENT_ONLY datastore makes images persistent unless PERSISTENT=NO is asked', () => {
    const ctx = {
      ...imageDs,
      datastore: makeDatastore({ dsMad: 'dev', template: { DISK_TYPE: ['BLOCK'] } }),
    };
    const a = validateImageTemplate(t({ NAME: 'a', PATH: '/var/tmp/a' }), ctx);
    assert.ok(a.ok);
    assert.equal(a.value.persistent, true);
    const b = validateImageTemplate(t({ NAME: 'b', PATH: '/var/tmp/b', PERSISTENT: 'no' }), ctx);
    assert.ok(!b.ok);
    assert.equal(b.error.message, 'This Datastore only accepts persistent images.');
  });
  it('PERSISTENT_TYPE, TARGET, DRIVER, READONLY, MD5 are normalized', () => {
    const r = validateImageTemplate(
      t({
        NAME: 'x',
        PATH: '/var/tmp/x',
        PERSISTENT_TYPE: 'shareable',
        TARGET: 'VDB',
        DRIVER: 'RAW',
        READONLY: 'yes',
        MD5: 'D41D8CD98F00B204E9800998ECF8427E',
        DEV_PREFIX: 'VD',
      }),
      imageDs,
    );
    assert.ok(r.ok);
    assert.deepEqual(r.value.template, {
      DEV_PREFIX: ['vd'],
      DRIVER: ['raw'],
      MD5: ['d41d8cd98f00b204e9800998ecf8427e'],
      PERSISTENT_TYPE: ['SHAREABLE'],
      READONLY: ['YES'],
      TARGET: ['vdb'],
    });
  });
  it('allocate: LOCKED, REGTIME now, counters empty', () => {
    const r = validateImageTemplate(t({ NAME: 'a', PATH: '/var/tmp/a' }), imageDs);
    assert.ok(r.ok);
    const image = allocateImage(r.value, 1, { id: 9, uid: 2, gid: 1, permissions: 0o600, now: NOW });
    assert.equal(image.state, ImageState.LOCKED);
    assert.equal(image.regtime, NOW);
    assert.equal(image.size, 0);
    assert.equal(image.cloningId, -1);
    assert.equal(image.datastoreId, 1);
  });
});

describe('validateImageTemplate: refusals name the field', () => {
  const cases: [string, Record<string, string>, string, string, Partial<ImageCreateContext>?][] = [
    ['no NAME', { PATH: '/var/tmp/a' }, 'NAME', 'Invalid NAME, it cannot be empty'],
    ['bad NAME char', { NAME: 'a/b', PATH: '/var/tmp/a' }, 'NAME', "Invalid NAME, char '/' is not allowed"],
    [
      'unknown TYPE',
      { NAME: 'a', TYPE: 'FLOPPY', PATH: '/x' },
      'TYPE',
      'Unknown TYPE "FLOPPY"; use OS, CDROM, DATABLOCK, KERNEL, RAMDISK or CONTEXT',
    ],
    [
      'BACKUP',
      { NAME: 'a', TYPE: 'BACKUP', PATH: '/x' },
      'TYPE',
      'BACKUP images are created by VM backups, not registered',
    ],
    [
      'KERNEL in IMAGE_DS',
      { NAME: 'a', TYPE: 'KERNEL', PATH: '/x' },
      'TYPE',
      'Images of type KERNEL go to a FILE_DS datastore, not to IMAGE_DS datastore 1',
    ],
    [
      'persistent KERNEL',
      { NAME: 'a', TYPE: 'KERNEL', PATH: '/x', PERSISTENT: 'YES' },
      'PERSISTENT',
      'KERNEL, RAMDISK and CONTEXT must be non-persistent',
      fileDs,
    ],
    [
      'OS in FILE_DS',
      { NAME: 'a', PATH: '/x' },
      'TYPE',
      'Images of type OS go to an IMAGE_DS datastore, not to FILE_DS datastore 2',
      fileDs,
    ],
    [
      'PERSISTENT=maybe',
      { NAME: 'a', PATH: '/x', PERSISTENT: 'maybe' },
      'PERSISTENT',
      'PERSISTENT must be YES or NO, not "maybe"',
    ],
    [
      'PERSISTENT_TYPE',
      { NAME: 'a', PATH: '/x', PERSISTENT_TYPE: 'RW' },
      'PERSISTENT_TYPE',
      'PERSISTENT_TYPE must be IMMUTABLE or SHAREABLE, not "RW"',
    ],
    [
      'DEV_PREFIX xvd',
      { NAME: 'a', PATH: '/x', DEV_PREFIX: 'xvd' },
      'DEV_PREFIX',
      'DEV_PREFIX "xvd" is not supported; use hd (IDE), sd (SCSI/SATA) or vd (virtio)',
    ],
    [
      'TARGET',
      { NAME: 'a', PATH: '/x', TARGET: 'xvdc:cdrom' },
      'TARGET',
      'TARGET "xvdc:cdrom" is not valid; use a device prefix (hd, sd, vd) and letters, e.g. vdb',
    ],
    [
      'DRIVER',
      { NAME: 'a', PATH: '/x', DRIVER: 'vmdk' },
      'DRIVER',
      'DRIVER must be raw or qcow2, not "vmdk"',
    ],
    [
      'READONLY',
      { NAME: 'a', PATH: '/x', READONLY: 'ro' },
      'READONLY',
      'READONLY must be YES or NO, not "ro"',
    ],
    ['MD5', { NAME: 'a', PATH: '/x', MD5: 'abc' }, 'MD5', 'MD5 must be 32 hexadecimal characters'],
    [
      'FORMAT',
      { NAME: 'a', PATH: '/x', FORMAT: 'vmdk' },
      'FORMAT',
      'FORMAT must be raw or qcow2, not "vmdk"',
    ],
    [
      'FS',
      { NAME: 'a', TYPE: 'DATABLOCK', SIZE: '1', FS: 'ext4; rm -rf /' },
      'FS',
      'FS "ext4; rm -rf /" is not a file system type name (e.g. ext4, xfs, vfat)',
    ],
    [
      'DISK_TYPE',
      { NAME: 'a', PATH: '/x', DISK_TYPE: 'RBD' },
      'DISK_TYPE',
      'DISK_TYPE must be FILE, BLOCK or CDROM, not "RBD"',
    ],
    [
      'SIZE',
      { NAME: 'a', TYPE: 'DATABLOCK', SIZE: '10G' },
      'SIZE',
      'SIZE must be a whole number of MB greater than 0, not "10G"',
    ],
    [
      'SIZE 0',
      { NAME: 'a', TYPE: 'DATABLOCK', SIZE: '0' },
      'SIZE',
      'SIZE must be a whole number of MB greater than 0, not "0"',
    ],
    [
      'empty DATABLOCK without SIZE',
      { NAME: 'a', TYPE: 'DATABLOCK' },
      'SIZE',
      'SIZE (MB) is required for an empty DATABLOCK image (no PATH or SOURCE)',
    ],
    [
      'CDROM without PATH',
      { NAME: 'a', TYPE: 'CDROM' },
      'PATH',
      'Either PATH or SOURCE are required for CDROM',
    ],
    [
      'PATH and SOURCE',
      { NAME: 'a', PATH: '/x', SOURCE: '/y' },
      'PATH',
      'Template malformed, PATH and SOURCE are mutually exclusive.',
    ],
    [
      'SOURCE by a user',
      { NAME: 'a', SOURCE: '/y', SIZE: '1' },
      'SOURCE',
      'Template includes a restricted attribute SOURCE.',
    ],
    [
      'SOURCE without SIZE',
      { NAME: 'a', SOURCE: '/y' },
      'SIZE',
      'SIZE (MB) is required when SOURCE is given',
      { callerInOneadminGroup: true },
    ],
    [
      'relative PATH',
      { NAME: 'a', PATH: 'images/a.img' },
      'PATH',
      'PATH "images/a.img" must be an absolute path or an http(s) URL',
    ],
    [
      'ftp PATH',
      { NAME: 'a', PATH: 'ftp://host/a.img' },
      'PATH',
      'PATH "ftp://host/a.img" uses an unsupported scheme; use an absolute local path or an http(s) URL',
    ],
    ['NUL in PATH', { NAME: 'a', PATH: '/var/tmp/a\0b' }, 'PATH', 'PATH must not contain NUL characters'],
  ];
  for (const [title, attrs, field, message, ctx] of cases) {
    it(title, () => {
      const r = validateImageTemplate(t(attrs), { ...imageDs, ...ctx });
      assert.ok(!r.ok, 'expected a refusal');
      assert.equal(r.error.message, message);
      assert.equal(r.error.field, field);
    });
  }
  it('system and backup datastores take no images; a disabled one neither', () => {
    for (const [type, word] of [
      [1, 'system'],
      [3, 'backup'],
    ] as const) {
      const r = validateImageTemplate(t({ NAME: 'a', PATH: '/x' }), {
        ...imageDs,
        datastore: makeDatastore({ type }),
      });
      assert.ok(!r.ok);
      assert.equal(r.error.message, `New images cannot be allocated in a ${word} datastore.`);
    }
    const d = validateImageTemplate(t({ NAME: 'a', PATH: '/x' }), {
      ...imageDs,
      datastore: makeDatastore({ state: 1 }),
    });
    assert.ok(!d.ok);
    assert.equal(d.error.code, 'DATASTORE_DISABLED');
  });
});
