import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Template } from '../../../src/domain/template/types.js';
import { DEFAULT_MAC_PREFIX, defaultBridgeName, defineVnet } from '../../../src/domain/vnet/index.js';
import { errorOf, seededRandom32, unwrap } from './fixtures.js';

const define = (template: Template, vnetId = 5) =>
  defineVnet(template, { vnetId, macPrefix: DEFAULT_MAC_PREFIX, random32: seededRandom32() });

describe('VNET template for creation', () => {
  it('normalises a bridge network: default bridge, SG 0, AR ids in order', () => {
    const def = unwrap(
      define({
        NAME: ['private'],
        VN_MAD: ['bridge'],
        SECURITY_GROUPS: ['101, 100'],
        DNS: ['1.1.1.1'],
        AUTOMATIC_VLAN_ID: ['NO'],
        AR: [
          { TYPE: 'IP4', IP: '10.0.0.1', SIZE: '10' },
          { TYPE: 'ETHER', SIZE: '5' },
        ],
      }),
    );
    assert.equal(def.name, 'private');
    assert.equal(def.bridge, 'onebr5');
    assert.equal(def.bridgeType, 'linux');
    assert.deepEqual(def.securityGroups, [0, 100, 101]);
    assert.deepEqual(
      def.ars.map((a) => a.arId),
      [0, 1],
    );
    assert.deepEqual(def.template, {
      VN_MAD: ['bridge'],
      SECURITY_GROUPS: ['0,100,101'],
      DNS: ['1.1.1.1'],
      PHYDEV: [''],
      BRIDGE: ['onebr5'],
      BRIDGE_TYPE: ['linux'],
    });
  });

  it('names the bridge after the VLAN when there is one', () => {
    const def = unwrap(define({ NAME: ['v'], VN_MAD: ['802.1Q'], PHYDEV: ['eth1'], VLAN_ID: ['0050'] }));
    assert.equal(def.vlanId, '50');
    assert.equal(def.bridge, 'onebr.50');
    assert.deepEqual(def.template['VLAN_ID'], ['50']);
    const auto = unwrap(
      define({ NAME: ['v'], VN_MAD: ['vxlan'], PHYDEV: ['eth1'], AUTOMATIC_VLAN_ID: ['yes'] }),
    );
    assert.equal(auto.vlanIdAutomatic, true);
    assert.equal(auto.template['AUTOMATIC_VLAN_ID'], undefined);
    assert.equal(auto.bridge, 'onebr5');
    assert.equal(defaultBridgeName(3, ''), 'onebr3');
    assert.equal(defaultBridgeName(3, '7'), 'onebr.7');
    assert.equal(defaultBridgeName(3, '7', 'none'), '');
  });

  it('keeps a given bridge; openvswitch and vcenter bridge types come from VN_MAD', () => {
    assert.equal(unwrap(define({ NAME: ['d'], VN_MAD: ['dummy'], BRIDGE: ['br0'] })).bridge, 'br0');
    const ovs = unwrap(define({ NAME: ['o'], VN_MAD: ['ovswitch_vxlan'], OUTER_VLAN_ID: ['10'] }));
    assert.equal(ovs.bridgeType, 'openvswitch');
    assert.equal(ovs.outerVlanId, '10');
    const vc = unwrap(define({ NAME: ['c'], VN_MAD: ['vcenter'], BRIDGE: ['VM Network (port group)'] }));
    assert.equal(vc.bridgeType, 'vcenter_port_groups');
    const none = unwrap(
      defineVnet(
        { NAME: ['n'], VN_MAD: ['custom'] },
        { vnetId: 1, macPrefix: DEFAULT_MAC_PREFIX, random32: () => 0, drivers: { custom: 'none' } },
      ),
    );
    assert.equal(none.bridge, '');
  });

  const refusals: [string, Template, string, string][] = [
    ['no NAME', { VN_MAD: ['bridge'] }, 'NAME', 'No NAME in template for Virtual Network.'],
    ['no VN_MAD', { NAME: ['x'] }, 'VN_MAD', 'No VN_MAD in template for Virtual Network.'],
    [
      'unknown VN_MAD',
      { NAME: ['x'], VN_MAD: ['brigde'] },
      'VN_MAD',
      'VN_MAD named "brigde" is not defined (known drivers: dummy, 802.1Q, ebtables, fw, ovswitch, vxlan, vcenter, ovswitch_vxlan, bridge, elastic, nodeport)',
    ],
    [
      'NAME as a vector',
      { NAME: [{ A: 'b' }], VN_MAD: ['bridge'] },
      'NAME',
      'NAME: must be a single value, not a vector',
    ],
    [
      '802.1Q without PHYDEV',
      { NAME: ['x'], VN_MAD: ['802.1Q'], VLAN_ID: ['5'] },
      'PHYDEV',
      'PHYDEV is mandatory for driver 802.1Q',
    ],
    [
      'vxlan without VLAN_ID',
      { NAME: ['x'], VN_MAD: ['vxlan'], PHYDEV: ['eth0'] },
      'VLAN_ID',
      'VLAN_ID (or AUTOMATIC_VLAN_ID) is mandatory for driver vxlan',
    ],
    [
      'dummy without BRIDGE',
      { NAME: ['x'], VN_MAD: ['dummy'] },
      'BRIDGE',
      'BRIDGE is mandatory for driver dummy',
    ],
    [
      'ovswitch_vxlan without OUTER_VLAN_ID',
      { NAME: ['x'], VN_MAD: ['ovswitch_vxlan'] },
      'OUTER_VLAN_ID',
      'OUTER_VLAN_ID (or AUTOMATIC) is mandatory for driver ovswitch_vxlan',
    ],
    [
      'VLAN_ID out of range',
      { NAME: ['x'], VN_MAD: ['802.1Q'], PHYDEV: ['eth0'], VLAN_ID: ['4096'] },
      'VLAN_ID',
      'VLAN_ID: "4096" must be an integer from 0 to 4095',
    ],
    [
      'AUTOMATIC_VLAN_ID not a boolean',
      { NAME: ['x'], VN_MAD: ['bridge'], AUTOMATIC_VLAN_ID: ['maybe'] },
      'AUTOMATIC_VLAN_ID',
      'AUTOMATIC_VLAN_ID: "maybe" must be YES or NO',
    ],
    [
      'bridge name too long',
      { NAME: ['x'], VN_MAD: ['bridge'], BRIDGE: ['a-very-long-bridge-name'] },
      'BRIDGE',
      'BRIDGE: "a-very-long-bridge-name" is not a usable interface name (at most 15 characters from A-Z a-z 0-9 _ . : -)',
    ],
    [
      'bad SECURITY_GROUPS',
      { NAME: ['x'], VN_MAD: ['bridge'], SECURITY_GROUPS: ['default'] },
      'SECURITY_GROUPS',
      'SECURITY_GROUPS: "default" is not a comma-separated list of security group ids',
    ],
    [
      'bad MTU',
      { NAME: ['x'], VN_MAD: ['bridge'], MTU: ['9'] },
      'MTU',
      'MTU: "9" must be an integer from 68 to 65535',
    ],
    [
      'bad AR',
      {
        NAME: ['x'],
        VN_MAD: ['bridge'],
        AR: [
          { TYPE: 'IP4', IP: '10.0.0.1', SIZE: '2' },
          { TYPE: 'IP4', SIZE: '2' },
        ],
      },
      'AR[1]/IP',
      'AR[1]/IP: is mandatory for TYPE IP4',
    ],
    [
      'overlapping ARs',
      {
        NAME: ['x'],
        VN_MAD: ['bridge'],
        AR: [
          { TYPE: 'IP4', IP: '10.0.0.1', SIZE: '2' },
          { TYPE: 'IP4', IP: '10.0.0.2', SIZE: '2' },
        ],
      },
      'AR[1]/IP',
      'AR[1]/IP: 10.0.0.2-10.0.0.3 overlaps address range 0 (10.0.0.1-10.0.0.2)',
    ],
  ];
  for (const [title, template, field, message] of refusals) {
    it(`refuses: ${title}`, () => {
      const e = errorOf(define(template));
      assert.equal(e.field, field);
      assert.equal(e.message, message);
    });
  }

  it('accepts a VXLAN VNI above 4095', () => {
    assert.equal(
      unwrap(define({ NAME: ['x'], VN_MAD: ['vxlan'], PHYDEV: ['eth0'], VLAN_ID: ['100000'] })).vlanId,
      '100000',
    );
  });
});
