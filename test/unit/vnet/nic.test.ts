import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  applyLeaseChange,
  leaseAttributes,
  lookupNetworkAttribute,
  nicAttributes,
  planLease,
} from '../../../src/domain/vnet/index.js';
import { leasesOf, unwrap, vnetFromTemplate } from './fixtures.js';

describe('NIC attributes after allocation', () => {
  const vnet = vnetFromTemplate(
    {
      NAME: ['public'],
      VN_MAD: ['802.1Q'],
      PHYDEV: ['eth0'],
      VLAN_ID: ['50'],
      SECURITY_GROUPS: ['100'],
      DNS: ['8.8.8.8'],
      GATEWAY: ['10.0.0.254'],
      NETWORK_MASK: ['255.255.255.0'],
      AR: [
        {
          TYPE: 'IP4_6',
          IP: '192.168.70.150',
          SIZE: '4',
          ULA_PREFIX: 'fd00::',
          GLOBAL_PREFIX: '2001:db8::',
          SECURITY_GROUPS: '101',
          GATEWAY: '192.168.70.1',
        },
        {
          TYPE: 'IP6_STATIC',
          IP6: '2001:db8:1::10',
          PREFIX_LENGTH: '64',
          SIZE: '4',
          VN_MAD: 'bridge',
          BRIDGE: 'br-static',
        },
      ],
    },
    7,
    { clusters: [100, 0] },
  );

  it('carries the network, the lease addresses and the security groups', () => {
    const leases = leasesOf(vnet);
    const grant = unwrap(planLease(vnet, leases, { owner: { kind: 'vm', id: 42, nicId: 0 } }));
    applyLeaseChange(leases, grant.change);
    const nic = nicAttributes({
      vnet,
      lease: grant.lease,
      vmId: 42,
      nic: { NIC_ID: '0', NETWORK: 'public', MODEL: 'virtio', SECURITY_GROUPS: '5' },
    });
    assert.deepEqual(nic, {
      NIC_ID: '0',
      MODEL: 'virtio',
      NETWORK: 'public',
      NETWORK_ID: '7',
      BRIDGE: 'onebr.50',
      BRIDGE_TYPE: 'linux',
      VN_MAD: '802.1Q',
      PHYDEV: 'eth0',
      VLAN_ID: '50',
      TARGET: 'one-42-0',
      CLUSTER_ID: '0,100',
      MAC: '02:00:c0:a8:46:96',
      IP: '192.168.70.150',
      IP6_LINK: 'fe80::c0ff:fea8:4696',
      IP6_ULA: 'fd00::c0ff:fea8:4696',
      IP6_GLOBAL: '2001:db8::c0ff:fea8:4696',
      AR_ID: '0',
      SECURITY_GROUPS: '0,5,100,101',
    });
  });

  it('applies AR overrides, inherits attributes, keeps a given TARGET', () => {
    const leases = leasesOf(vnet);
    const grant = unwrap(
      planLease(vnet, leases, { owner: { kind: 'vm', id: 3, nicId: 1 }, ip6: '2001:db8:1::11' }),
    );
    const nic = nicAttributes({
      vnet: { ...vnet, parentNetworkId: 2, outerVlanId: '9' },
      lease: grant.lease,
      vmId: 3,
      nic: { NIC_ID: '1', TARGET: 'tap7', IP: '1.2.3.4', DNS: '9.9.9.9' },
      inheritAttributes: ['DNS', 'NETWORK_MASK', 'GATEWAY', 'MISSING'],
    });
    assert.equal(nic['VN_MAD'], 'bridge');
    assert.equal(nic['BRIDGE'], 'br-static');
    assert.equal(nic['TARGET'], 'tap7');
    assert.equal(nic['IP6'], '2001:db8:1::11');
    assert.equal(nic['IP'], undefined, 'a stale requested IP is dropped for an IPv6-only range');
    assert.equal(nic['PARENT_NETWORK_ID'], '2');
    assert.equal(nic['OUTER_VLAN_ID'], '9');
    assert.equal(nic['DNS'], '9.9.9.9', 'the NIC value wins');
    assert.equal(nic['NETWORK_MASK'], '255.255.255.0', 'inherited from the VNET');
    assert.equal(nic['GATEWAY'], '10.0.0.254');
    assert.equal('MISSING' in nic, false);
    assert.equal(nic['SECURITY_GROUPS'], '0,100');
  });

  it('resolves context attributes from the AR first, then the VNET', () => {
    assert.equal(lookupNetworkAttribute(vnet, 0, 'GATEWAY'), '192.168.70.1');
    assert.equal(lookupNetworkAttribute(vnet, 1, 'GATEWAY'), '10.0.0.254');
    assert.equal(lookupNetworkAttribute(vnet, 1, 'PREFIX_LENGTH'), '64');
    assert.equal(lookupNetworkAttribute(vnet, 9, 'DNS'), '8.8.8.8');
    assert.equal(lookupNetworkAttribute(vnet, 0, 'SEARCH_DOMAIN'), undefined);
  });

  it('renders LEASE elements for one.vn.info', () => {
    const ar0 = vnet.ars[0]!;
    assert.deepEqual(leaseAttributes(ar0, 1, { kind: 'vm', id: 4, nicId: 0 }), [
      ['IP', '192.168.70.151'],
      ['IP6_GLOBAL', '2001:db8::c0ff:fea8:4697'],
      ['IP6_LINK', 'fe80::c0ff:fea8:4697'],
      ['IP6_ULA', 'fd00::c0ff:fea8:4697'],
      ['MAC', '02:00:c0:a8:46:97'],
      ['VM', '4'],
    ]);
    assert.deepEqual(leaseAttributes(vnet.ars[1]!, 0, { kind: 'vnet', id: 12 }), [
      ['IP6', '2001:db8:1::10'],
      ['MAC', vnet.ars[1]!.mac],
      ['VNET', '12'],
    ]);
  });
});
