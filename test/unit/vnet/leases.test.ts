import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ADDRESS_NOT_AVAILABLE_MESSAGE,
  applyLeaseChange,
  checkReservationNetworks,
  invertLeaseChange,
  leaseAddresses,
  leaseAttributes,
  nextArId,
  parseLeaseDescription,
  parseReservationRequest,
  planAddressRangeRemoval,
  planHold,
  planLease,
  planNicRelease,
  planRelease,
  planReservation,
  planReservationReturn,
  VnetLeases,
  type LeaseOwner,
  type VnetRecord,
} from '../../../src/domain/vnet/index.js';
import { ar, errorOf, leasesOf, unwrap, vnetWithArs } from './fixtures.js';

const vm = (id: number, nicId = 0): LeaseOwner => ({ kind: 'vm', id, nicId });

/** Plans and applies a lease; returns its IP (or MAC). */
function take(
  vnet: VnetRecord,
  leases: VnetLeases,
  owner: LeaseOwner,
  want: { ip?: string; mac?: string; ip6?: string } = {},
) {
  const grant = unwrap(planLease(vnet, leases, { owner, ...want }));
  applyLeaseChange(leases, grant.change);
  const a = leaseAddresses(grant.ar, grant.lease.index);
  return a.ip ?? a.ip6 ?? a.mac;
}

function releaseNic(vnet: VnetRecord, leases: VnetLeases, ip: string, owner: LeaseOwner) {
  const arRec = vnet.ars[0]!;
  const index = Number(ip.split('.')[3]) - Number(arRec.ip!.split('.')[3]);
  const mac = leaseAddresses(arRec, index).mac;
  const change = planNicRelease(vnet, leases, { arId: arRec.arId, mac, owner });
  applyLeaseChange(leases, change);
  return change;
}

describe('allocation order', () => {
  it('hands out addresses in order from the cursor and wraps around', () => {
    const vnet = vnetWithArs([{ TYPE: 'IP4', IP: '10.0.0.1', SIZE: '5' }]);
    const leases = leasesOf(vnet);
    assert.deepEqual(
      [1, 2, 3].map((i) => take(vnet, leases, vm(i))),
      ['10.0.0.1', '10.0.0.2', '10.0.0.3'],
    );
    // a freed address behind the cursor waits for the wrap-around
    releaseNic(vnet, leases, '10.0.0.1', vm(1));
    assert.equal(take(vnet, leases, vm(4)), '10.0.0.4');
    assert.equal(take(vnet, leases, vm(5)), '10.0.0.5');
    assert.equal(take(vnet, leases, vm(6)), '10.0.0.1', 'wrapped to the start');
    assert.equal(leases.ar(0)?.next, 0);
    releaseNic(vnet, leases, '10.0.0.3', vm(3));
    assert.equal(take(vnet, leases, vm(7)), '10.0.0.3');
  });

  it('keeps the cursor on the last address handed out, as OpenNebula does', () => {
    const vnet = vnetWithArs([{ TYPE: 'IP4', IP: '10.0.0.1', SIZE: '5' }]);
    const leases = leasesOf(vnet);
    take(vnet, leases, vm(1));
    take(vnet, leases, vm(2));
    const grant = unwrap(planLease(vnet, leases, { owner: vm(3) }));
    assert.deepEqual(grant.change.cursors, [{ arId: 0, next: 2, previous: 1 }]);
    // released at the cursor: handed out again next (get_single_addr starts at `next`)
    releaseNic(vnet, leases, '10.0.0.2', vm(2));
    assert.equal(take(vnet, leases, vm(4)), '10.0.0.2');
  });

  it('tries ranges in ascending AR_ID order, the first with a free address wins', () => {
    const high = ar({ TYPE: 'IP4', IP: '10.1.0.1', SIZE: '2' }, 5);
    const low = ar({ TYPE: 'IP4', IP: '10.0.0.1', SIZE: '1' }, 2);
    const base = vnetWithArs([]);
    const vnet: VnetRecord = { ...base, ars: [high, low] };
    const leases = leasesOf(vnet);
    assert.deepEqual(
      [1, 2, 3].map((i) => take(vnet, leases, vm(i))),
      ['10.0.0.1', '10.1.0.1', '10.1.0.2'],
    );
    const e = errorOf(planLease(vnet, leases, { owner: vm(9) }));
    assert.equal(e.code, 'NO_FREE_LEASE');
    assert.equal(e.message, 'Cannot get IP/MAC lease from virtual network 0.');
  });

  it('starts over from 0 when a stored cursor is beyond SIZE', () => {
    const vnet = vnetWithArs([{ TYPE: 'IP4', IP: '10.0.0.1', SIZE: '3' }]);
    const leases = leasesOf(vnet);
    leases.ar(0)!.next = 99;
    assert.equal(take(vnet, leases, vm(1)), '10.0.0.1');
  });

  it('works for ETHER and IPv6 ranges', () => {
    const vnet = vnetWithArs([
      { TYPE: 'ETHER', MAC: '02:00:00:00:00:10', SIZE: '2' },
      { TYPE: 'IP6_STATIC', IP6: '2001:db8::5', PREFIX_LENGTH: '64', SIZE: '2' },
    ]);
    const leases = leasesOf(vnet);
    assert.equal(take(vnet, leases, vm(1)), '02:00:00:00:00:10');
    assert.equal(take(vnet, leases, vm(2)), '02:00:00:00:00:11');
    assert.equal(take(vnet, leases, vm(3)), '2001:db8::5');
  });
});

describe('specific addresses', () => {
  const vnet = vnetWithArs([
    { TYPE: 'IP4', IP: '10.0.0.1', SIZE: '10' },
    { TYPE: 'IP4_6_STATIC', IP: '10.0.1.1', IP6: '2001:db8::1', PREFIX_LENGTH: '64', SIZE: '10' },
  ]);

  it('takes the requested IP, MAC or IP6 without moving the cursor', () => {
    const leases = leasesOf(vnet);
    const grant = unwrap(planLease(vnet, leases, { owner: vm(1), ip: '10.0.0.7' }));
    assert.deepEqual(grant.lease, { vnetId: 0, arId: 0, index: 6, owner: vm(1) });
    assert.deepEqual(grant.change.cursors, []);
    applyLeaseChange(leases, grant.change);
    assert.equal(take(vnet, leases, vm(2), { mac: '02:00:0a:00:00:08' }), '10.0.0.8');
    assert.equal(take(vnet, leases, vm(3), { ip: '10.0.1.3' }), '10.0.1.3');
    assert.equal(take(vnet, leases, vm(4), { ip6: '2001:db8::5' }), '10.0.1.5');
    assert.equal(take(vnet, leases, vm(5)), '10.0.0.1', 'cursor untouched');
  });

  it("refuses an address in use or outside every range with OpenNebula's message", () => {
    const leases = leasesOf(vnet);
    take(vnet, leases, vm(1), { ip: '10.0.0.7' });
    for (const want of [
      { ip: '10.0.0.7' },
      { ip: '10.0.0.11' },
      { ip: '192.168.0.1' },
      { mac: '02:00:0b:00:00:01' },
      { ip6: '2001:db8::99' },
      { ip: 'junk' },
    ]) {
      const e = errorOf(planLease(vnet, leases, { owner: vm(2), ...want }));
      assert.equal(e.code, 'ADDRESS_UNAVAILABLE');
      assert.equal(e.message, ADDRESS_NOT_AVAILABLE_MESSAGE);
      assert.equal(e.message, 'Address is not part of the address range or in use.');
    }
    assert.equal(errorOf(planLease(vnet, leases, { owner: vm(2), ip: '10.0.0.7' })).field, 'IP');
  });

  it('refuses more than one requested address', () => {
    const e = errorOf(
      planLease(vnet, leasesOf(vnet), { owner: vm(1), ip: '10.0.0.1', mac: '02:00:0a:00:00:01' }),
    );
    assert.equal(e.message, 'Only one attribute MAC, IP or IP6 can be set.');
  });

  it('ignores empty requested attributes', () => {
    assert.equal(take(vnet, leasesOf(vnet), vm(1), { ip: ' ', mac: '' }), '10.0.0.1');
  });
});

describe('hold and release', () => {
  const vnet = vnetWithArs([
    { TYPE: 'IP4', IP: '10.0.0.1', SIZE: '4' },
    { TYPE: 'IP4', IP: '10.0.1.1', SIZE: '4' },
  ]);
  const hold = (leases: VnetLeases, lease: Record<string, string>) => {
    const change = unwrap(planHold(vnet, leases, { LEASES: [lease] }));
    applyLeaseChange(leases, change);
    return change;
  };

  it("parses the lease description with OpenNebula's messages", () => {
    assert.equal(errorOf(parseLeaseDescription({})).message, 'Empty lease description.');
    assert.equal(
      errorOf(parseLeaseDescription({ LEASES: ['IP=10.0.0.1'] })).message,
      'Empty lease description.',
    );
    assert.equal(
      errorOf(parseLeaseDescription({ LEASES: [{ AR_ID: '0' }] })).message,
      'Missing MAC, IP or IP6.',
    );
    assert.equal(errorOf(parseLeaseDescription({ LEASES: [{ IP: '' }] })).message, 'Missing MAC, IP or IP6.');
    assert.equal(
      errorOf(parseLeaseDescription({ LEASES: [{ IP: '10.0.0.1', IP6: '::1' }] })).message,
      'Only one attribute MAC, IP or IP6 can be set.',
    );
    assert.equal(
      errorOf(parseLeaseDescription({ LEASES: [{ IP: '10.0.0.1', AR_ID: 'x' }] })).field,
      'LEASES/AR_ID',
    );
    assert.deepEqual(unwrap(parseLeaseDescription({ LEASES: [{ MAC: '02:00:0a:00:00:01', AR_ID: '1' }] })), {
      address: { kind: 'MAC', value: '02:00:0a:00:00:01' },
      arId: 1,
    });
  });

  it('holds an address as VM -1; allocation skips it; release frees it', () => {
    const leases = leasesOf(vnet);
    const change = hold(leases, { IP: '10.0.0.1' });
    assert.deepEqual(change.taken, [{ vnetId: 0, arId: 0, index: 0, owner: { kind: 'hold' } }]);
    assert.deepEqual(leaseAttributes(vnet.ars[0]!, 0, { kind: 'hold' }), [
      ['IP', '10.0.0.1'],
      ['MAC', '02:00:0a:00:00:01'],
      ['VM', '-1'],
    ]);
    assert.equal(take(vnet, leases, vm(1)), '10.0.0.2');
    assert.equal(
      errorOf(planHold(vnet, leases, { LEASES: [{ IP: '10.0.0.1' }] })).message,
      ADDRESS_NOT_AVAILABLE_MESSAGE,
    );
    const released = unwrap(planRelease(vnet, leases, { LEASES: [{ IP: '10.0.0.1' }] }));
    assert.equal(released.freed.length, 1);
    applyLeaseChange(leases, released);
    assert.equal(take(vnet, leases, vm(2), { ip: '10.0.0.1' }), '10.0.0.1');
  });

  it('holds by MAC and honours AR_ID', () => {
    const leases = leasesOf(vnet);
    hold(leases, { MAC: '02:00:0a:00:01:02' });
    assert.equal(leases.ar(1)?.ownerOf(1)?.kind, 'hold');
    const e = errorOf(planHold(vnet, leases, { LEASES: [{ IP: '10.0.1.3', AR_ID: '0' }] }));
    assert.equal(e.message, ADDRESS_NOT_AVAILABLE_MESSAGE);
    assert.equal(e.field, 'LEASES/IP');
    hold(leases, { IP: '10.0.1.3', AR_ID: '1' });
    assert.equal(leases.used, 2);
  });

  it('refuses addresses outside every range', () => {
    assert.equal(
      errorOf(planHold(vnet, leasesOf(vnet), { LEASES: [{ IP: '10.0.2.1' }] })).message,
      ADDRESS_NOT_AVAILABLE_MESSAGE,
    );
    assert.equal(errorOf(planHold(vnet, leasesOf(vnet), {})).message, 'Empty lease description.');
  });

  it('holds in every range that has the address when AR_ID is absent', () => {
    // two overlapping ranges built by hand (defineVnet refuses overlaps)
    const a = ar({ TYPE: 'IP4', IP: '10.0.0.1', SIZE: '4' }, 0);
    const b = ar({ TYPE: 'IP4', IP: '10.0.0.3', SIZE: '4', MAC: '02:00:aa:00:00:00' }, 1);
    const both: VnetRecord = { ...vnet, ars: [a, b] };
    const leases = leasesOf(both);
    const change = unwrap(planHold(both, leases, { LEASES: [{ IP: '10.0.0.3' }] }));
    assert.deepEqual(
      change.taken.map((l) => [l.arId, l.index]),
      [
        [0, 2],
        [1, 0],
      ],
    );
  });

  it('release never frees a VM or reservation lease, and succeeds when nothing is held', () => {
    const leases = leasesOf(vnet);
    take(vnet, leases, vm(1), { ip: '10.0.0.2' });
    assert.deepEqual(unwrap(planRelease(vnet, leases, { LEASES: [{ IP: '10.0.0.2' }] })).freed, []);
    assert.deepEqual(unwrap(planRelease(vnet, leases, { LEASES: [{ IP: '10.0.0.3' }] })).freed, []);
    assert.equal(
      errorOf(planRelease(vnet, leases, { LEASES: [{ AR_ID: '0' }] })).message,
      'Missing MAC, IP or IP6.',
    );
  });
});

describe('NIC release', () => {
  it('frees only when the owner matches', () => {
    const vnet = vnetWithArs([{ TYPE: 'IP4', IP: '10.0.0.1', SIZE: '4' }]);
    const leases = leasesOf(vnet);
    take(vnet, leases, vm(1, 0));
    assert.equal(releaseNic(vnet, leases, '10.0.0.1', vm(1, 1)).freed.length, 0);
    assert.equal(releaseNic(vnet, leases, '10.0.0.1', vm(2, 0)).freed.length, 0);
    assert.equal(
      planNicRelease(vnet, leases, { arId: 9, mac: '02:00:0a:00:00:01', owner: vm(1) }).freed.length,
      0,
    );
    assert.equal(releaseNic(vnet, leases, '10.0.0.1', vm(1, 0)).freed.length, 1);
    assert.equal(leases.used, 0);
  });
});

describe('reservations', () => {
  const parent = vnetWithArs(
    [
      { TYPE: 'IP4', IP: '10.0.0.1', SIZE: '10', GATEWAY: '10.0.0.254', IPAM_MAD: 'internal' },
      { TYPE: 'IP4', IP: '10.0.1.1', SIZE: '100' },
    ],
    3,
  );

  it("parses the request with OpenNebula's messages", () => {
    const msg = (t: Record<string, string>) =>
      errorOf(parseReservationRequest(Object.fromEntries(Object.entries(t).map(([k, v]) => [k, [v]]))))
        .message;
    assert.equal(msg({ NAME: 'r' }), 'Reservation SIZE must be a greater than 0');
    assert.equal(msg({ SIZE: '0', NAME: 'r' }), 'Reservation SIZE must be a greater than 0');
    assert.equal(msg({ SIZE: '2', NETWORK_ID: '-1' }), 'NETWORK_ID must be equal or greater than 0');
    assert.equal(msg({ SIZE: '2' }), 'NAME for reservation has to be set');
    assert.equal(msg({ SIZE: '2', NAME: 'r', AR_ID: '-3' }), 'AR_ID must be equal or greater than 0');
    assert.equal(
      msg({ SIZE: '2', NAME: 'r', IP: '10.0.0.1' }),
      'AR_ID must be specified for IP/MAC based reservations',
    );
    assert.equal(
      msg({ SIZE: '2', NAME: 'r', AR_ID: '0', IP: '10.0.0.1', MAC: '02:00:0a:00:00:01' }),
      'Only one attribute MAC, IP or IP6 can be set.',
    );
    assert.deepEqual(
      unwrap(parseReservationRequest({ SIZE: ['4'], NETWORK_ID: ['7'], AR_ID: ['1'], IP: ['10.0.1.5'] })),
      {
        size: 4,
        name: null,
        networkId: 7,
        arId: 1,
        address: { kind: 'IP', value: '10.0.1.5' },
      },
    );
  });

  it('checks the parent and target networks', () => {
    const child = { ...parent, id: 8, parentNetworkId: 3 };
    unwrap(checkReservationNetworks(parent, null));
    unwrap(checkReservationNetworks(parent, child));
    assert.equal(
      errorOf(checkReservationNetworks(parent, parent)).message,
      'Cannot add a reservation from the same network',
    );
    assert.equal(
      errorOf(checkReservationNetworks(parent, { ...parent, id: 9 })).message,
      'Cannot add reservations to a non-reservation VNET',
    );
    assert.equal(
      errorOf(checkReservationNetworks(parent, { ...child, parentNetworkId: 5 })).message,
      'New reservations for virtual network 8 have to be from network 5',
    );
    assert.equal(
      errorOf(checkReservationNetworks(child, null)).message,
      'Cannot reserve addresses from a reserved VNET',
    );
  });

  it('carves a contiguous first-fit run into a child range', () => {
    const leases = leasesOf(parent);
    take(parent, leases, vm(1), { ip: '10.0.0.3' });
    const plan = unwrap(
      planReservation(
        parent,
        leases,
        { size: 4, name: 'r', networkId: null, arId: null, address: null },
        { vnetId: 8, arId: 0 },
      ),
    );
    assert.deepEqual(
      plan.change.taken.map((l) => l.index),
      [3, 4, 5, 6],
    );
    assert.ok(plan.change.taken.every((l) => l.owner.kind === 'vnet' && l.owner.id === 8 && l.vnetId === 3));
    assert.deepEqual(
      { ...plan.childAr, attributes: plan.childAr.attributes },
      {
        arId: 0,
        type: 'IP4',
        mac: '02:00:0a:00:00:04',
        ip: '10.0.0.4',
        size: 4,
        globalPrefix: null,
        ulaPrefix: null,
        ip6: null,
        prefixLength: null,
        parentNetworkArId: 0,
        next: 0,
        attributes: { GATEWAY: ['10.0.0.254'] },
      },
    );
    applyLeaseChange(leases, plan.change);
    assert.deepEqual(leaseAttributes(parent.ars[0]!, 3, plan.change.taken[0]!.owner).at(-1), ['VNET', '8']);
    // the next reservation skips to the next range when the first has no run long enough
    const next = unwrap(
      planReservation(
        parent,
        leases,
        { size: 5, name: 'r', networkId: null, arId: null, address: null },
        { vnetId: 9, arId: 0 },
      ),
    );
    assert.equal(next.childAr.ip, '10.0.1.1');
    assert.equal(next.childAr.parentNetworkArId, 1);
  });

  it('reserves from a given AR_ID and start address, or explains why not', () => {
    const leases = leasesOf(parent);
    take(parent, leases, vm(1), { ip: '10.0.1.10' });
    const req = (over: object) => ({ size: 3, name: 'r', networkId: null, arId: 1, address: null, ...over });
    const byIp = unwrap(
      planReservation(parent, leases, req({ address: { kind: 'IP', value: '10.0.1.5' } }), {
        vnetId: 8,
        arId: 2,
      }),
    );
    assert.deepEqual(
      byIp.change.taken.map((l) => l.index),
      [4, 5, 6],
    );
    assert.equal(byIp.childAr.arId, 2);
    const overlapping = errorOf(
      planReservation(parent, leases, req({ address: { kind: 'IP', value: '10.0.1.9' } }), {
        vnetId: 8,
        arId: 0,
      }),
    );
    assert.equal(overlapping.message, 'Not enough free addresses in address range 1, or it does not exist');
    const pastEnd = errorOf(
      planReservation(parent, leases, req({ address: { kind: 'IP', value: '10.0.1.99' } }), {
        vnetId: 8,
        arId: 0,
      }),
    );
    assert.equal(pastEnd.code, 'RESERVATION_INVALID');
    const noAr = errorOf(planReservation(parent, leases, req({ arId: 7 }), { vnetId: 8, arId: 0 }));
    assert.equal(noAr.message, 'Not enough free addresses in address range 7, or it does not exist');
    const tooBig = errorOf(
      planReservation(parent, leases, req({ arId: null, size: 101 }), { vnetId: 8, arId: 0 }),
    );
    assert.equal(tooBig.message, 'Not enough free addresses in an address range');
    const fromChild = errorOf(
      planReservation({ ...parent, parentNetworkId: 1 }, leases, req({}), { vnetId: 8, arId: 0 }),
    );
    assert.equal(fromChild.message, 'Cannot reserve addresses from a reserved VNET');
  });

  it('the reservation network leases its own range; free_ar returns it to the parent', () => {
    const leases = leasesOf(parent);
    const plan = unwrap(
      planReservation(
        parent,
        leases,
        { size: 3, name: 'r', networkId: null, arId: 0, address: null },
        { vnetId: 8, arId: 0 },
      ),
    );
    applyLeaseChange(leases, plan.change);
    const child: VnetRecord = { ...parent, id: 8, name: 'r', parentNetworkId: 3, ars: [plan.childAr] };
    const childLeases = leasesOf(child);
    assert.equal(take(child, childLeases, vm(1)), '10.0.0.1');

    assert.equal(
      errorOf(planAddressRangeRemoval(child, childLeases, 0)).message,
      'Address Range has leases in use',
    );
    releaseNic(child, childLeases, '10.0.0.1', vm(1));
    const removal = unwrap(planAddressRangeRemoval(child, childLeases, 0));
    assert.deepEqual(removal.returnToParent, {
      parentVnetId: 3,
      parentArId: 0,
      childVnetId: 8,
      mac: '02:00:0a:00:00:01',
      size: 3,
    });
    const back = planReservationReturn(parent, leases, removal.returnToParent!);
    assert.deepEqual(
      back.freed.map((l) => l.index),
      [0, 1, 2],
    );
    applyLeaseChange(leases, back);
    assert.equal(leases.used, 0);
    // nothing to return when the parent range is gone
    assert.deepEqual(
      planReservationReturn(parent, leases, { ...removal.returnToParent!, parentArId: 9 }).freed,
      [],
    );
  });
});

describe('address range removal', () => {
  const vnet = vnetWithArs([
    { TYPE: 'IP4', IP: '10.0.0.1', SIZE: '4' },
    { TYPE: 'ETHER', SIZE: '4' },
  ]);

  it('refuses a missing range, a range in use, a network in the wrong state', () => {
    const leases = leasesOf(vnet);
    take(vnet, leases, vm(1));
    assert.equal(errorOf(planAddressRangeRemoval(vnet, leases, 5)).message, 'Address Range does not exist');
    const inUse = errorOf(planAddressRangeRemoval(vnet, leases, 0));
    assert.equal(inUse.code, 'AR_IN_USE');
    assert.equal(inUse.message, 'Address Range has leases in use');
    const locked = errorOf(planAddressRangeRemoval({ ...vnet, state: 2 }, leases, 1));
    assert.equal(
      locked.message,
      'Could not remove Adress Range, Virtual Network is in wrong state: LOCK_CREATE',
    );
    assert.match(
      errorOf(planAddressRangeRemoval({ ...vnet, state: 42 }, leases, 1)).message,
      /wrong state: 42/,
    );
  });

  it('removes an unused range, or a used one with force', () => {
    const leases = leasesOf(vnet);
    take(vnet, leases, vm(1));
    const unused = unwrap(planAddressRangeRemoval({ ...vnet, state: 6 }, leases, 1));
    assert.deepEqual(unused.change.freed, []);
    assert.equal(unused.returnToParent, null);
    const forced = unwrap(planAddressRangeRemoval(vnet, leases, 0, { force: true }));
    assert.deepEqual(forced.change.freed, [{ vnetId: 0, arId: 0, index: 0, owner: vm(1) }]);
    applyLeaseChange(leases, forced.change);
    const after = { ...vnet, ars: vnet.ars.filter((r) => r.arId !== 0) };
    leases.syncRanges(after);
    assert.equal(leases.ar(0), undefined);
    assert.equal(nextArId(after), 2);
    assert.equal(nextArId({ ...vnet, ars: [] }), 0);
  });
});

describe('lease state bookkeeping', () => {
  const vnet = vnetWithArs([{ TYPE: 'IP4', IP: '10.0.0.1', SIZE: '4' }]);

  it('inverting an applied change restores the state, cursor included', () => {
    const leases = leasesOf(vnet);
    take(vnet, leases, vm(1));
    const grant = unwrap(planLease(vnet, leases, { owner: vm(2) }));
    applyLeaseChange(leases, grant.change);
    applyLeaseChange(leases, invertLeaseChange(grant.change));
    assert.equal(leases.used, 1);
    assert.equal(leases.ar(0)?.next, 0);
    assert.equal(take(vnet, leases, vm(3)), '10.0.0.2');
  });

  it('refuses changes that do not fit the state', () => {
    const leases = leasesOf(vnet);
    const grant = unwrap(planLease(vnet, leases, { owner: vm(1) }));
    applyLeaseChange(leases, grant.change);
    assert.throws(() => applyLeaseChange(leases, grant.change), /already taken/);
    assert.throws(
      () =>
        applyLeaseChange(
          leases,
          invertLeaseChange(
            invertLeaseChange({ ...grant.change, taken: [], freed: [{ ...grant.lease, index: 3 }] }),
          ),
        ),
      /is not taken/,
    );
    assert.throws(() => applyLeaseChange(leases, { ...grant.change, vnetId: 5 }), /applied to vnet 0/);
    assert.throws(
      () => applyLeaseChange(leases, { ...grant.change, taken: [{ ...grant.lease, arId: 4 }] }),
      /no address range 4/,
    );
    assert.throws(() => leases.ar(0)!.take(4, vm(1)), /outside SIZE 4/);
  });

  it('builds from lease rows and refuses rows of unknown ranges', () => {
    const leases = VnetLeases.fromRecords(vnet, [
      { vnetId: 0, arId: 0, index: 2, owner: vm(1) },
      { vnetId: 0, arId: 0, index: 0, owner: { kind: 'hold' } },
    ]);
    assert.deepEqual(
      [...leases.ar(0)!.leases()].map(([i, o]) => [i, o.kind]),
      [
        [0, 'hold'],
        [2, 'vm'],
      ],
    );
    assert.equal(leases.ar(0)!.free, 2);
    assert.throws(
      () => VnetLeases.fromRecords(vnet, [{ vnetId: 0, arId: 3, index: 0, owner: vm(1) }]),
      /missing address range 3/,
    );
  });

  it('follows SIZE and cursor changes of the records', () => {
    const leases = leasesOf(vnet);
    const grown = { ...vnet, ars: [{ ...vnet.ars[0]!, size: 8, next: 5 }] };
    leases.syncRanges(grown);
    assert.equal(leases.ar(0)!.size, 8);
    assert.equal(leases.ar(0)!.next, 5);
    leases.syncRanges({ ...vnet, ars: [{ ...vnet.ars[0]!, size: 3, next: 5 }] });
    assert.equal(leases.ar(0)!.next, 0);
  });

  it('answers run queries', () => {
    const state = leasesOf(vnet).ar(0)!;
    state.take(1, vm(1));
    assert.equal(state.isRunFree(2, 2), true);
    assert.equal(state.isRunFree(0, 2), false);
    assert.equal(state.isRunFree(3, 2), false, 'past the end');
    assert.equal(state.firstFreeRun(2), 2);
    assert.equal(state.firstFreeRun(3), -1);
    assert.equal(state.firstFreeRun(0), -1);
    assert.equal(state.firstTakenFrom(2), Infinity);
    assert.ok(state.indexWords > 0);
    for (const i of [0, 2, 3]) state.take(i, vm(i + 2));
    assert.equal(state.firstFreeFrom(0), -1);
  });
});
