import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CliFailure } from '../../../src/cli/program.js';
import {
  MAX_RANGE_SIZE,
  diskAttachSource,
  diskTemplate,
  expandVmRefs,
  integerArgument,
  migrationMode,
  nicAttachSource,
  nicTemplate,
  numberArgument,
  parseSizeMb,
  recoverOperation,
  resizeBody,
  sizeArgument,
} from '../../../src/cli/vm-arguments.js';

/** Asserts `run` throws a CliFailure (exit 2) with one line matching `pattern`. */
function failsWith(run: () => unknown, pattern: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof CliFailure, String(error));
    assert.equal(error.exitCode, 2);
    assert.doesNotMatch(error.message, /\n/);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('parseSizeMb (--memory, disk-resize SIZE)', () => {
  it('reads MB, M, G and T, any case, with an optional B', () => {
    assert.equal(parseSizeMb('512'), 512);
    assert.equal(parseSizeMb('512M'), 512);
    assert.equal(parseSizeMb('512mb'), 512);
    assert.equal(parseSizeMb('2G'), 2048);
    assert.equal(parseSizeMb('2gb'), 2048);
    assert.equal(parseSizeMb('1.5G'), 1536);
    assert.equal(parseSizeMb('1T'), 1_048_576);
    assert.equal(parseSizeMb(' 64 '), 64);
  });

  it('rounds down to whole MB, as onevm does', () => {
    assert.equal(parseSizeMb('0.1G'), 102);
    assert.equal(parseSizeMb('1.9'), 1);
  });

  it('refuses what is not a size of at least 1 MB', () => {
    for (const bad of [
      '',
      'abc',
      '-1',
      '0',
      '0.5',
      '2K',
      '1e3',
      '2 G',
      'G',
      '1,5G',
      '512MiB',
      '99999999999999999T',
    ])
      assert.equal(parseSizeMb(bad), undefined, bad);
  });

  it('sizeArgument names the option in one line', () => {
    assert.equal(sizeArgument('2G', '--memory'), 2048);
    failsWith(
      () => sizeArgument('lots', '--memory'),
      /^nimbus: --memory: "lots" is not a size; write MB \(512\)/,
    );
    failsWith(() => sizeArgument('0', 'SIZE'), /^nimbus: SIZE: "0"/);
  });
});

describe('integerArgument and numberArgument', () => {
  it('take whole numbers >= min and name the argument otherwise', () => {
    assert.equal(integerArgument('0', 'DISK_ID', 0), 0);
    assert.equal(integerArgument('12', '--lines', 1), 12);
    failsWith(() => integerArgument('0', '--lines', 1), /^nimbus: --lines: "0" is not a whole number >= 1$/);
    failsWith(() => integerArgument('-1', 'DISK_ID', 0), /DISK_ID/);
    failsWith(() => integerArgument('1.5', 'NIC_ID', 0), /NIC_ID/);
    failsWith(() => integerArgument('x', 'NIC_ID', 0), /NIC_ID/);
  });

  it('numberArgument takes decimals', () => {
    assert.equal(numberArgument('0.5', '--timeout', 0), 0.5);
    assert.equal(numberArgument('0', '--timeout', 0), 0);
    failsWith(() => numberArgument('-1', '--timeout', 0), /^nimbus: --timeout: "-1"/);
    failsWith(() => numberArgument('soon', '--timeout', 0), /--timeout/);
  });
});

describe('expandVmRefs (onevm range)', () => {
  it('expands ids, lists and ranges in order, each once', () => {
    assert.deepEqual(expandVmRefs(['3', '4', '5']), ['3', '4', '5']);
    assert.deepEqual(expandVmRefs(['3,5']), ['3', '5']);
    assert.deepEqual(expandVmRefs(['3..6']), ['3', '4', '5', '6']);
    assert.deepEqual(expandVmRefs(['1,4..5', '4', '9']), ['1', '4', '5', '9']);
    assert.deepEqual(expandVmRefs(['7..7']), ['7']);
  });

  it('keeps names, even ones with commas or dots', () => {
    assert.deepEqual(expandVmRefs(['web', '3', 'db,1', 'a..b']), ['web', '3', 'db,1', 'a..b']);
  });

  it('refuses backwards, huge and empty ranges in one line', () => {
    failsWith(() => expandVmRefs(['7..3']), /^nimbus: range 7\.\.3 runs backwards; write 3\.\.7$/);
    failsWith(() => expandVmRefs([`0..${MAX_RANGE_SIZE}`]), /names more than 10000 VMs/);
    failsWith(() => expandVmRefs(['']), /empty/);
  });
});

describe('recoverOperation', () => {
  it('maps each flag to its operation; --recreate is delete-recreate', () => {
    assert.equal(recoverOperation({ success: true }), 'success');
    assert.equal(recoverOperation({ failure: true }), 'failure');
    assert.equal(recoverOperation({ retry: true }), 'retry');
    assert.equal(recoverOperation({ delete: true }), 'delete');
    assert.equal(recoverOperation({ recreate: true }), 'delete-recreate');
    assert.equal(recoverOperation({ deleteDb: true }), 'delete-db');
  });

  it('wants exactly one', () => {
    failsWith(
      () => recoverOperation({}),
      /^nimbus: recover needs one of --success, --failure, --retry, --delete, --recreate, --delete-db$/,
    );
    failsWith(
      () => recoverOperation({ success: true, deleteDb: true }),
      /^nimbus: recover takes one operation, got --success and --delete-db$/,
    );
  });
});

describe('migrationMode', () => {
  it('is saved by default, live, or through a (hard) poweroff', () => {
    assert.deepEqual(migrationMode({}), {});
    assert.deepEqual(migrationMode({ live: true }), { live: true });
    assert.deepEqual(migrationMode({ poweroff: true }), { poweroff: 'soft' });
    assert.deepEqual(migrationMode({ poweroffHard: true }), { poweroff: 'hard' });
  });

  it('refuses flags that exclude each other', () => {
    failsWith(() => migrationMode({ poweroff: true, poweroffHard: true }), /--poweroff or --poweroff-hard/);
    failsWith(() => migrationMode({ live: true, poweroffHard: true }), /--live and --poweroff-hard/);
    failsWith(() => migrationMode({ live: true, poweroff: true }), /--live and --poweroff exclude/);
  });
});

describe('resizeBody', () => {
  it('builds CPU, VCPU, MEMORY (MB) and enforce', () => {
    assert.deepEqual(resizeBody({ cpu: '0.5', vcpu: '2', memory: '2G', enforce: true }), {
      CPU: 0.5,
      VCPU: 2,
      MEMORY: 2048,
      enforce: true,
    });
    assert.deepEqual(resizeBody({ memory: '768' }), { MEMORY: 768 });
  });

  it('needs something to change, and names the bad option', () => {
    failsWith(() => resizeBody({ enforce: true }), /^nimbus: resize needs --cpu, --vcpu or --memory$/);
    failsWith(() => resizeBody({ memory: '2X' }), /^nimbus: --memory: "2X" is not a size/);
    failsWith(() => resizeBody({ cpu: '0' }), /^nimbus: --cpu: "0"/);
    failsWith(() => resizeBody({ vcpu: '1.5' }), /^nimbus: --vcpu: "1.5"/);
  });
});

describe('disk-attach and nic-attach sources', () => {
  it('an image with TARGET and CACHE becomes a DISK vector', () => {
    const source = diskAttachSource({ image: 'data', target: 'vdb', cache: 'none' });
    assert.deepEqual(source, { kind: 'image', image: 'data', target: 'vdb', cache: 'none' });
    assert.equal(
      diskTemplate(7, { target: 'vdb', cache: 'none' }),
      'DISK = [\n  CACHE = "none",\n  IMAGE_ID = "7",\n  TARGET = "vdb" ]\n',
    );
    assert.equal(diskTemplate(0, {}), 'DISK = [\n  IMAGE_ID = "0" ]\n');
  });

  it('--file excludes the image options; one of the two is needed', () => {
    assert.deepEqual(diskAttachSource({ file: 'disk.tmpl' }), { kind: 'file', file: 'disk.tmpl' });
    failsWith(() => diskAttachSource({ file: 'd', image: 'x' }), /not both/);
    failsWith(
      () => diskAttachSource({ target: 'vdb' }),
      /^nimbus: disk-attach needs --image IMAGE or --file FILE$/,
    );
    failsWith(
      () => diskAttachSource({ image: 'x', cache: 'fast' }),
      /^nimbus: --cache: "fast" is not one of default/,
    );
    failsWith(() => diskAttachSource({ image: 'x', target: 'vd b' }), /^nimbus: --target:/);
  });

  it('a network with an IP becomes a NIC vector', () => {
    assert.deepEqual(nicAttachSource({ network: 'priv', ip: '10.0.0.5' }), {
      kind: 'network',
      network: 'priv',
      ip: '10.0.0.5',
    });
    assert.equal(nicTemplate(2, { ip: '10.0.0.5' }), 'NIC = [\n  IP = "10.0.0.5",\n  NETWORK_ID = "2" ]\n');
    assert.deepEqual(nicAttachSource({ file: '-' }), { kind: 'file', file: '-' });
    failsWith(() => nicAttachSource({ file: '-', ip: '10.0.0.1' }), /not both/);
    failsWith(() => nicAttachSource({}), /^nimbus: nic-attach needs --network NETWORK or --file FILE$/);
    failsWith(
      () => nicAttachSource({ network: 'p', ip: '10.0.0.300' }),
      /^nimbus: --ip: "10.0.0.300" is not an IPv4/,
    );
    failsWith(() => nicAttachSource({ network: 'p', ip: 'fe80::1' }), /--ip/);
  });
});
