import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  EMPTY_HOST_SHARE,
  HostState,
  HostStatus,
  addVmToShare,
  effectiveReservations,
  fitsOnHost,
  hostStateName,
  hostStateShortName,
  isMonitorable,
  isSchedulable,
  maxFromReservation,
  newHostRecord,
  parseReservation,
  removeVmFromShare,
  setHostStatus,
  updateShareCapacity,
  validateHostCreate,
  validateReservations,
  vmAllocation,
  type HostRecord,
  type HostShare,
} from '../../../src/domain/host/index.js';

const SHARE: HostShare = {
  ...EMPTY_HOST_SHARE,
  totalCpu: 400,
  maxCpu: 400,
  totalMem: 8 * 1024 * 1024,
  maxMem: 8 * 1024 * 1024,
};

function host(overrides: Partial<HostRecord> = {}): HostRecord {
  const spec = validateHostCreate({ name: 'node1', imMad: 'kvm', vmMad: 'kvm' });
  assert.ok(spec.ok);
  return { ...newHostRecord(spec.value, 3), ...overrides };
}

describe('host states (reference §3.4)', () => {
  it('numbers, names and short names', () => {
    assert.deepEqual(
      Object.entries(HostState).map(([name, n]) => [n, name, hostStateName(n), hostStateShortName(n)]),
      [
        [0, 'INIT', 'INIT', 'init'],
        [1, 'MONITORING_MONITORED', 'MONITORING_MONITORED', 'update'],
        [2, 'MONITORED', 'MONITORED', 'on'],
        [3, 'ERROR', 'ERROR', 'err'],
        [4, 'DISABLED', 'DISABLED', 'dsbl'],
        [5, 'MONITORING_ERROR', 'MONITORING_ERROR', 'retry'],
        [6, 'MONITORING_INIT', 'MONITORING_INIT', 'init'],
        [7, 'MONITORING_DISABLED', 'MONITORING_DISABLED', 'dsbl'],
        [8, 'OFFLINE', 'OFFLINE', 'off'],
      ],
    );
    assert.equal(hostStateName(9), 'UNKNOWN(9)');
    assert.equal(hostStateShortName(9), '-');
  });
  it('schedulable: MONITORED and MONITORING_MONITORED only; monitored: all but OFFLINE', () => {
    assert.deepEqual(Object.values(HostState).filter(isSchedulable), [1, 2]);
    assert.deepEqual(
      Object.values(HostState).filter((s) => !isMonitorable(s)),
      [8],
    );
  });
});

describe('one.host.status', () => {
  const states = Object.values(HostState);
  it('DISABLED and OFFLINE from every state', () => {
    for (const state of states) {
      const d = setHostStatus(host({ state, share: SHARE }), HostStatus.DISABLED);
      assert.ok(d.ok);
      assert.equal(d.value.state, HostState.DISABLED);
      const o = setHostStatus(
        host({ state, share: { ...SHARE, cpuUsage: 100, runningVms: 1 } }),
        HostStatus.OFFLINE,
      );
      assert.ok(o.ok);
      assert.equal(o.value.state, HostState.OFFLINE);
      assert.deepEqual(
        [o.value.share.maxCpu, o.value.share.totalMem, o.value.share.cpuUsage, o.value.share.runningVms],
        [0, 0, 100, 1],
      );
    }
  });
  it('ENABLED: INIT, or MONITORED straight away for a disabled host with known capacity', () => {
    for (const state of states) {
      const e = setHostStatus(host({ state, share: EMPTY_HOST_SHARE }), HostStatus.ENABLED);
      assert.ok(e.ok);
      assert.equal(e.value.state, HostState.INIT);
    }
    const back = setHostStatus(host({ state: HostState.DISABLED, share: SHARE }), HostStatus.ENABLED);
    assert.ok(back.ok);
    assert.equal(back.value.state, HostState.MONITORED);
    assert.equal(back.value.prevState, HostState.DISABLED);
    const off = setHostStatus(host({ state: HostState.OFFLINE }), HostStatus.ENABLED);
    assert.ok(off.ok);
    assert.equal(off.value.state, HostState.INIT);
  });
  it('no change returns the same record; a wrong code is refused', () => {
    const h = host({ state: HostState.DISABLED });
    const same = setHostStatus(h, HostStatus.DISABLED);
    assert.ok(same.ok);
    assert.equal(same.value, h);
    const bad = setHostStatus(h, 3);
    assert.ok(!bad.ok);
    assert.equal(bad.error.message, 'Wrong status code');
  });
});

describe('reservations and MAX', () => {
  it('parse', () => {
    assert.deepEqual(parseReservation(undefined), { ok: true, value: { kind: 'none' } });
    assert.deepEqual(parseReservation(' -200 '), { ok: true, value: { kind: 'absolute', value: -200 } });
    assert.deepEqual(parseReservation('12.5%'), { ok: true, value: { kind: 'percent', value: 12.5 } });
    assert.ok(!parseReservation('1.5').ok);
    const bad = parseReservation('lots');
    assert.ok(!bad.ok);
    assert.equal(
      bad.error.message,
      '"lots" is not a reservation: use a number (CPU×100 or KB) or a percentage like 10%',
    );
  });
  it('MAX = TOTAL − RESERVED; percentages; negative overcommits; never below 0; junk reserves nothing', () => {
    assert.equal(maxFromReservation(800, ''), 800);
    assert.equal(maxFromReservation(800, '100'), 700);
    assert.equal(maxFromReservation(800, '-200'), 1000);
    assert.equal(maxFromReservation(800, '25%'), 600);
    assert.equal(maxFromReservation(800, '-50%'), 1200);
    assert.equal(maxFromReservation(1001, '10%'), 900);
    assert.equal(maxFromReservation(800, '900'), 0);
    assert.equal(maxFromReservation(800, 'abc'), 800);
  });
  it('host template wins over the cluster template', () => {
    assert.deepEqual(
      effectiveReservations(
        { RESERVED_CPU: ['100'], RESERVED_MEM: [''] },
        { RESERVED_CPU: ['50'], RESERVED_MEM: ['10%'] },
      ),
      {
        cpu: '100',
        mem: '10%',
      },
    );
    assert.deepEqual(effectiveReservations({}), { cpu: undefined, mem: undefined });
  });
  it('updateShareCapacity recomputes MAX from TOTAL and keeps usage', () => {
    const s = updateShareCapacity(
      { ...EMPTY_HOST_SHARE, cpuUsage: 50 },
      { totalCpu: 800, totalMem: 1000.9, reservedCpu: '-200', reservedMem: '10%' },
    );
    assert.deepEqual(s, {
      ...EMPTY_HOST_SHARE,
      cpuUsage: 50,
      totalCpu: 800,
      maxCpu: 1000,
      totalMem: 1000,
      maxMem: 900,
    });
  });
  it('validateReservations names the attribute', () => {
    assert.ok(validateReservations({ RESERVED_CPU: ['10%'], RESERVED_MEM: [{ X: '1' }] }).ok);
    const r = validateReservations({ RESERVED_MEM: ['1GB'] });
    assert.ok(!r.ok);
    assert.equal(r.error.field, 'RESERVED_MEM');
    assert.match(r.error.message, /^RESERVED_MEM: "1GB" is not a reservation/);
  });
});

describe('VM allocation on a host', () => {
  it('CPU×100 (rounded) and MEMORY MB×1024', () => {
    assert.deepEqual(vmAllocation(0.5, 512), { cpu: 50, mem: 524288 });
    assert.deepEqual(vmAllocation(0.29, 1), { cpu: 29, mem: 1024 });
    assert.deepEqual(vmAllocation(-1, -1), { cpu: 0, mem: 0 });
  });
  it('fits, with the reason when not', () => {
    const busy = { ...SHARE, cpuUsage: 300 };
    assert.ok(fitsOnHost(busy, { cpu: 100, mem: 1024 }).ok);
    const cpu = fitsOnHost(busy, { cpu: 150, mem: 1024 });
    assert.ok(!cpu.ok);
    assert.equal(cpu.error.message, 'not enough CPU: requested 150, available 100');
    const mem = fitsOnHost({ ...SHARE, memUsage: SHARE.maxMem - 1024 }, { cpu: 100, mem: 2048 });
    assert.ok(!mem.ok);
    assert.equal(mem.error.message, 'not enough memory: requested 2048 KB, available 1024 KB');
    assert.equal(mem.error.code, 'HOST_CAPACITY');
  });
  it('add and remove; enforce off lets an admin overcommit; usage never negative', () => {
    const a = addVmToShare(SHARE, { cpu: 400, mem: 1024 });
    assert.ok(a.ok);
    assert.deepEqual([a.value.cpuUsage, a.value.memUsage, a.value.runningVms], [400, 1024, 1]);
    assert.ok(!addVmToShare(a.value, { cpu: 1, mem: 0 }).ok);
    const forced = addVmToShare(a.value, { cpu: 100, mem: 0 }, { enforce: false });
    assert.ok(forced.ok);
    assert.equal(forced.value.cpuUsage, 500);
    const neg = addVmToShare(SHARE, { cpu: -1, mem: 0 }, { enforce: false });
    assert.ok(!neg.ok);
    const r = removeVmFromShare(removeVmFromShare(a.value, { cpu: 400, mem: 1024 }), { cpu: 400, mem: 1024 });
    assert.deepEqual([r.cpuUsage, r.memUsage, r.runningVms], [0, 0, 0]);
  });
});

describe('host creation', () => {
  it('a kvm host in the default cluster, INIT with no capacity', () => {
    const h = host();
    assert.deepEqual(
      [h.id, h.name, h.state, h.imMad, h.vmMad, h.clusterId],
      [3, 'node1', HostState.INIT, 'kvm', 'kvm', 0],
    );
    assert.deepEqual(h.share, EMPTY_HOST_SHARE);
    const spec = validateHostCreate({ name: ' node2 ', imMad: 'KVM', vmMad: 'qemu', clusterId: 100 });
    assert.ok(spec.ok);
    assert.deepEqual(spec.value, { name: 'node2', imMad: 'kvm', vmMad: 'qemu', clusterId: 100 });
    const dummy = validateHostCreate({ name: 'sim-1', imMad: 'dummy', vmMad: 'dummy', clusterId: -1 });
    assert.ok(dummy.ok);
    assert.equal(dummy.value.clusterId, 0);
  });
  const refusals: [string, { name: string; imMad: string; vmMad: string }, string, string][] = [
    ['empty name', { name: '', imMad: 'kvm', vmMad: 'kvm' }, 'NAME', 'Invalid NAME, it cannot be empty'],
    [
      'bad char',
      { name: 'node;1', imMad: 'kvm', vmMad: 'kvm' },
      'NAME',
      "Invalid NAME, char ';' is not allowed",
    ],
    [
      'blank',
      { name: 'node 1', imMad: 'kvm', vmMad: 'kvm' },
      'NAME',
      'Invalid NAME "node 1": a host name cannot contain blanks or control characters',
    ],
    [
      'too long',
      { name: 'n'.repeat(129), imMad: 'kvm', vmMad: 'kvm' },
      'NAME',
      'Invalid NAME, max length is 128 chars',
    ],
    ['empty IM_MAD', { name: 'n', imMad: '', vmMad: 'kvm' }, 'IM_MAD', 'IM_MAD_NAME cannot be empty.'],
    ['empty VM_MAD', { name: 'n', imMad: 'kvm', vmMad: ' ' }, 'VM_MAD', 'VMM_MAD_NAME cannot be empty.'],
    [
      'xen IM',
      { name: 'n', imMad: 'xen', vmMad: 'kvm' },
      'IM_MAD',
      'IM_MAD "xen" is not supported; use kvm, qemu or dummy',
    ],
    [
      'lxc VM',
      { name: 'n', imMad: 'kvm', vmMad: 'lxc' },
      'VM_MAD',
      'VM_MAD "lxc" is not supported; use kvm, qemu or dummy',
    ],
    [
      'mixed dummy',
      { name: 'n', imMad: 'dummy', vmMad: 'kvm' },
      'VM_MAD',
      'IM_MAD "dummy" and VM_MAD "kvm" do not match: a dummy host uses dummy for both',
    ],
  ];
  for (const [title, input, field, message] of refusals) {
    it(`refuses: ${title}`, () => {
      const r = validateHostCreate(input);
      assert.ok(!r.ok);
      assert.equal(r.error.message, message);
      assert.equal(r.error.field, field);
    });
  }
});
