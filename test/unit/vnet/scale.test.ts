import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  applyLeaseChange,
  leaseAddresses,
  planLease,
  planNicRelease,
  type LeaseOwner,
} from '../../../src/domain/vnet/index.js';
import { leasesOf, seededRandom32, vnetWithArs } from './fixtures.js';

describe('leases on a /8', () => {
  it('allocates, releases and re-allocates 100,000 leases with state sized by the leases', () => {
    const vnet = vnetWithArs([{ TYPE: 'IP4', IP: '10.0.0.0', SIZE: '16777216' }]);
    const leases = leasesOf(vnet);
    const state = leases.ar(0)!;
    const owners: LeaseOwner[] = [];
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      const owner: LeaseOwner = { kind: 'vm', id: i, nicId: 0 };
      const grant = planLease(vnet, leases, { owner });
      assert.ok(grant.ok);
      applyLeaseChange(leases, grant.value.change);
      owners.push(owner);
    }
    assert.equal(state.used, n);
    assert.equal(leaseAddresses(vnet.ars[0]!, state.next).ip, '10.1.134.159'); // index 99,999

    const random = seededRandom32(7);
    let released = 0;
    let cursorReleased = false;
    for (let i = 0; i < n; i++) {
      if (random() % 2 === 0) continue;
      if (i === n - 1) cursorReleased = true;
      const mac = leaseAddresses(vnet.ars[0]!, i).mac;
      applyLeaseChange(leases, planNicRelease(vnet, leases, { arId: 0, mac, owner: owners[i]! }));
      released++;
    }
    assert.equal(state.used, n - released);
    for (let i = 0; i < released; i++) {
      const grant = planLease(vnet, leases, { owner: { kind: 'vm', id: n + i, nicId: 0 } });
      assert.ok(grant.ok);
      applyLeaseChange(leases, grant.value.change);
    }
    assert.equal(state.used, n);
    // round robin: the new leases continue after the last one instead of filling the holes
    // (the cursor's own index is handed out again first when it was released)
    assert.equal(state.next, n + released - (cursorReleased ? 2 : 1));
    assert.ok(state.firstFreeFrom(0) < n - 1, 'holes below the cursor wait for the wrap-around');
    // memory follows the leases: about one word per 32 leases at each level, nothing per SIZE
    assert.ok(state.indexWords < n, `${state.indexWords} summary words for ${n} leases`);
  });

  it('wraps around the end of a /8 to the first free address', () => {
    const vnet = vnetWithArs([{ TYPE: 'IP4', IP: '10.0.0.0', SIZE: '16777216' }]);
    const leases = leasesOf(vnet);
    const state = leases.ar(0)!;
    state.take(0, { kind: 'hold' });
    state.next = 16777216 - 3;
    const got: string[] = [];
    for (let i = 0; i < 5; i++) {
      const grant = planLease(vnet, leases, { owner: { kind: 'vm', id: i, nicId: 0 } });
      assert.ok(grant.ok);
      applyLeaseChange(leases, grant.value.change);
      got.push(leaseAddresses(grant.value.ar, grant.value.lease.index).ip!);
    }
    assert.deepEqual(got, ['10.255.255.253', '10.255.255.254', '10.255.255.255', '10.0.0.1', '10.0.0.2']);
  });
});
