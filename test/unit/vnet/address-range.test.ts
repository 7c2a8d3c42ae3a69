import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { VectorValue } from '../../../src/domain/template/types.js';
import {
  addressRangeAttribute,
  addressRangeComputed,
  ArLeaseState,
  DEFAULT_MAC_PREFIX,
  defineAddressRange,
  indexOfIp,
  indexOfIp6,
  indexOfMac,
  layoutOf,
  leaseAddresses,
  MAX_DERIVED_SIZE,
  renderAddressRange,
  updateAddressRange,
  type AddressRangeRecord,
} from '../../../src/domain/vnet/index.js';
import { ar, errorOf, seededRandom32, unwrap } from './fixtures.js';

function define(vector: VectorValue, existing: AddressRangeRecord[] = [], random32 = seededRandom32()) {
  return defineAddressRange(vector, {
    arId: existing.length,
    macPrefix: DEFAULT_MAC_PREFIX,
    random32,
    existing,
  });
}

describe('address range definition: errors name the field', () => {
  const cases: [string, VectorValue, string, RegExp][] = [
    [
      'missing TYPE',
      { SIZE: '10' },
      'AR[0]/TYPE',
      /is mandatory \(one of ETHER, IP4, IP6, IP6_STATIC, IP4_6, IP4_6_STATIC\)/,
    ],
    ['unknown TYPE', { TYPE: 'IP5', SIZE: '1' }, 'AR[0]/TYPE', /"IP5" is not an address range TYPE/],
    ['IP4 without IP', { TYPE: 'IP4', SIZE: '10' }, 'AR[0]/IP', /is mandatory for TYPE IP4/],
    ['IP4_6 without IP', { TYPE: 'IP4_6', SIZE: '10' }, 'AR[0]/IP', /is mandatory for TYPE IP4_6/],
    ['bad IP', { TYPE: 'IP4', IP: '10.0.0.300', SIZE: '10' }, 'AR[0]/IP', /octet 300 is above 255/],
    ['IP4 without SIZE', { TYPE: 'IP4', IP: '10.0.0.1' }, 'AR[0]/SIZE', /is mandatory for TYPE IP4/],
    ['ETHER without SIZE', { TYPE: 'ETHER' }, 'AR[0]/SIZE', /is mandatory for TYPE ETHER/],
    [
      'SIZE zero',
      { TYPE: 'IP4', IP: '10.0.0.1', SIZE: '0' },
      'AR[0]/SIZE',
      /^AR\[0\]\/SIZE: must be a positive integer$/,
    ],
    ['SIZE negative', { TYPE: 'ETHER', SIZE: '-5' }, 'AR[0]/SIZE', /must be a positive integer/],
    ['SIZE not a number', { TYPE: 'ETHER', SIZE: 'ten' }, 'AR[0]/SIZE', /must be a positive integer/],
    ['SIZE fractional', { TYPE: 'ETHER', SIZE: '1.5' }, 'AR[0]/SIZE', /must be a positive integer/],
    ['SIZE above 2^32', { TYPE: 'ETHER', SIZE: '4294967297' }, 'AR[0]/SIZE', /at most 4294967296/],
    [
      'IPv4 overflow',
      { TYPE: 'IP4', IP: '255.255.255.250', SIZE: '10' },
      'AR[0]/SIZE',
      /10 addresses from IP 255.255.255.250 run past 255.255.255.255 \(at most 6 fit\)/,
    ],
    [
      'MAC overflow',
      { TYPE: 'ETHER', MAC: '02:00:ff:ff:ff:fe', SIZE: '3' },
      'AR[0]/SIZE',
      /3 addresses from MAC 02:00:ff:ff:ff:fe run past 02:00:ff:ff:ff:ff \(at most 2 fit\)/,
    ],
    ['bad MAC', { TYPE: 'ETHER', MAC: '02:00:00:00:00', SIZE: '3' }, 'AR[0]/MAC', /is not a MAC address/],
    ['multicast MAC', { TYPE: 'ETHER', MAC: '01:00:5e:00:00:01', SIZE: '3' }, 'AR[0]/MAC', /multicast MAC/],
    [
      'bad ULA prefix',
      { TYPE: 'IP6', SIZE: '3', ULA_PREFIX: 'fd00::1' },
      'AR[0]/ULA_PREFIX',
      /last 64 bits must be zero/,
    ],
    [
      'bad GLOBAL prefix',
      { TYPE: 'IP4_6', IP: '10.0.0.1', SIZE: '3', GLOBAL_PREFIX: 'x::' },
      'AR[0]/GLOBAL_PREFIX',
      /not an IPv6/,
    ],
    [
      'IP6_STATIC without IP6',
      { TYPE: 'IP6_STATIC', PREFIX_LENGTH: '64' },
      'AR[0]/IP6',
      /is mandatory for TYPE IP6_STATIC/,
    ],
    [
      'bad IP6',
      { TYPE: 'IP6_STATIC', IP6: '2001:db8::g', PREFIX_LENGTH: '64' },
      'AR[0]/IP6',
      /not an IPv6 address/,
    ],
    ['no PREFIX_LENGTH', { TYPE: 'IP6_STATIC', IP6: '2001:db8::1' }, 'AR[0]/PREFIX_LENGTH', /is mandatory/],
    [
      'PREFIX_LENGTH 0',
      { TYPE: 'IP4_6_STATIC', IP: '10.0.0.1', IP6: '2001:db8::1', PREFIX_LENGTH: '0' },
      'AR[0]/PREFIX_LENGTH',
      /from 1 to 128/,
    ],
    [
      'PREFIX_LENGTH 129',
      { TYPE: 'IP6_STATIC', IP6: '2001:db8::1', PREFIX_LENGTH: '129' },
      'AR[0]/PREFIX_LENGTH',
      /from 1 to 128/,
    ],
    [
      'IP6 outside its prefix',
      { TYPE: 'IP6_STATIC', IP6: '2001:db8::f0', PREFIX_LENGTH: '120', SIZE: '17' },
      'AR[0]/SIZE',
      /17 addresses from IP6 2001:db8::f0 run past the end of its \/120 network 2001:db8::ff \(at most 16 fit\)/,
    ],
    [
      'bad PORT_START',
      { TYPE: 'ETHER', SIZE: '3', PORT_START: 'x' },
      'AR[0]/PORT_START',
      /non-negative integer/,
    ],
    [
      'bad SECURITY_GROUPS',
      { TYPE: 'ETHER', SIZE: '3', SECURITY_GROUPS: '0,a' },
      'AR[0]/SECURITY_GROUPS',
      /security group ids/,
    ],
    ['external IPAM', { TYPE: 'ETHER', SIZE: '3', IPAM_MAD: 'aws' }, 'AR[0]/IPAM_MAD', /not supported/],
  ];
  for (const [title, vector, field, message] of cases) {
    it(title, () => {
      const e = errorOf(define(vector));
      assert.equal(e.code, 'AR_INVALID');
      assert.equal(e.field, field);
      assert.ok(e.message.startsWith(`${field}: `), e.message);
      assert.match(e.message, message);
    });
  }

  it('uses the field prefix it is given', () => {
    const e = errorOf(
      defineAddressRange(
        { TYPE: 'ETHER' },
        { arId: 4, macPrefix: DEFAULT_MAC_PREFIX, random32: seededRandom32(), field: 'AR' },
      ),
    );
    assert.equal(e.field, 'AR/SIZE');
  });
});

describe('address range definition: overlaps within one network', () => {
  const first = ar({ TYPE: 'IP4', IP: '10.0.0.0', SIZE: '10' });

  it('refuses overlapping IPv4 ranges', () => {
    const e = errorOf(define({ TYPE: 'IP4', IP: '10.0.0.5', SIZE: '10' }, [first]));
    assert.equal(e.message, 'AR[1]/IP: 10.0.0.5-10.0.0.14 overlaps address range 0 (10.0.0.0-10.0.0.9)');
  });

  it('refuses overlapping MAC ranges', () => {
    const e = errorOf(define({ TYPE: 'ETHER', MAC: '02:00:0a:00:00:09', SIZE: '2' }, [first]));
    assert.match(
      e.message,
      /^AR\[1\]\/MAC: 02:00:0a:00:00:09-02:00:0a:00:00:0a overlaps the MACs of address range 0/,
    );
  });

  it('refuses overlapping static IPv6 ranges', () => {
    const a = ar({ TYPE: 'IP6_STATIC', IP6: '2001:db8::10', PREFIX_LENGTH: '64', SIZE: '16' });
    const e = errorOf(
      define({ TYPE: 'IP6_STATIC', IP6: '2001:db8::1f', PREFIX_LENGTH: '64', SIZE: '2' }, [a]),
    );
    assert.match(e.message, /^AR\[1\]\/IP6: 2001:db8::1f-2001:db8::20 overlaps address range 0/);
  });

  it('accepts adjacent ranges', () => {
    unwrap(define({ TYPE: 'IP4', IP: '10.0.0.10', SIZE: '10' }, [first]));
  });

  it('draws a random MAC again when the first one collides', () => {
    const taken = ar({ TYPE: 'ETHER', MAC: '02:00:00:00:00:00', SIZE: '100' });
    const draws = [5, 1000];
    const next = unwrap(define({ TYPE: 'ETHER', SIZE: '10' }, [taken], () => draws.shift() ?? 0));
    assert.equal(next.mac, '02:00:00:00:03:e8');
  });

  it('gives up with a clear message when no random MAC fits', () => {
    const taken = ar({ TYPE: 'ETHER', MAC: '02:00:00:00:00:00', SIZE: '100' });
    const e = errorOf(define({ TYPE: 'ETHER', SIZE: '10' }, [taken], () => 7));
    assert.match(e.message, /set MAC explicitly/);
  });
});

describe('address range definition: what is stored', () => {
  it('IP4: MAC from the IP with the prefix', () => {
    const r = ar({ TYPE: 'ip4', IP: '192.168.70.150', SIZE: '5', GATEWAY: '192.168.70.1' });
    assert.equal(r.type, 'IP4');
    assert.equal(r.mac, '02:00:c0:a8:46:96');
    assert.deepEqual(r.attributes, { GATEWAY: ['192.168.70.1'] });
  });

  it('a custom MAC_PREFIX is used', () => {
    const r = unwrap(
      defineAddressRange(
        { TYPE: 'IP4', IP: '10.0.0.10', SIZE: '1' },
        { arId: 0, macPrefix: 0x0a0b, random32: () => 0 },
      ),
    );
    assert.equal(r.mac, '0a:0b:0a:00:00:0a');
  });

  it('ETHER / IP6: random MAC from the injected source, fitting the range', () => {
    const r = unwrap(define({ TYPE: 'ETHER', SIZE: '16' }, [], () => 0xfffffff0));
    assert.equal(r.mac, '02:00:ff:ff:ff:f0');
    // a draw past the last fitting start wraps (modulo) instead of overflowing
    assert.equal(
      unwrap(define({ TYPE: 'ETHER', SIZE: '16' }, [], () => 0xffffffff)).mac,
      '02:00:00:00:00:0e',
    );
    assert.equal(addressRangeComputed(r)[0]?.[1], '02:00:ff:ff:ff:ff');
    assert.equal(unwrap(define({ TYPE: 'IP6', SIZE: '1' }, [], () => 0x12345678)).mac, '02:00:12:34:56:78');
  });

  it('drops internal and computed attributes, and those of other types', () => {
    const r = ar({
      TYPE: 'ETHER',
      SIZE: '4',
      IP: '10.0.0.1',
      ULA_PREFIX: 'fd00::',
      IP6: '2001:db8::1',
      AR_ID: '7',
      ALLOCATED: '0 1',
      USED_LEASES: '3',
      MAC_END: 'x',
      PARENT_NETWORK_AR_ID: '2',
      DNS: '1.1.1.1',
    });
    assert.equal(r.arId, 0);
    assert.equal(r.ip, null);
    assert.equal(r.ulaPrefix, null);
    assert.equal(r.ip6, null);
    assert.equal(r.parentNetworkArId, null);
    assert.deepEqual(r.attributes, { DNS: ['1.1.1.1'] });
  });

  it('IP6_STATIC derives SIZE from PREFIX_LENGTH', () => {
    assert.equal(ar({ TYPE: 'IP6_STATIC', IP6: '2001:db8::', PREFIX_LENGTH: '120' }).size, 256);
    assert.equal(ar({ TYPE: 'IP6_STATIC', IP6: '2001:db8::10', PREFIX_LENGTH: '120' }).size, 240);
    assert.equal(ar({ TYPE: 'IP6_STATIC', IP6: '2001:db8::', PREFIX_LENGTH: '64' }).size, MAX_DERIVED_SIZE);
    // IPv4 room limits a dual-stack range
    const dual = ar({ TYPE: 'IP4_6_STATIC', IP: '255.255.255.0', IP6: '2001:db8::', PREFIX_LENGTH: '64' });
    assert.equal(dual.size, 256);
  });

  it('canonicalises IPv6 text', () => {
    const r = ar({
      TYPE: 'IP4_6',
      IP: '10.0.0.1',
      SIZE: '2',
      ULA_PREFIX: 'FD00:0:0:0::',
      GLOBAL_PREFIX: '2001:0DB8::',
    });
    assert.equal(r.ulaPrefix, 'fd00::');
    assert.equal(r.globalPrefix, '2001:db8::');
  });
});

describe('address range: computed fields and lease addresses', () => {
  it('IP4_6 with both prefixes', () => {
    const r = ar({
      TYPE: 'IP4_6',
      IP: '192.168.70.150',
      SIZE: '10',
      ULA_PREFIX: 'fd00::',
      GLOBAL_PREFIX: '2001:db8::',
    });
    assert.deepEqual(addressRangeComputed(r), [
      ['MAC_END', '02:00:c0:a8:46:9f'],
      ['IP_END', '192.168.70.159'],
      ['IP6_ULA', 'fd00::c0ff:fea8:4696'],
      ['IP6_ULA_END', 'fd00::c0ff:fea8:469f'],
      ['IP6_GLOBAL', '2001:db8::c0ff:fea8:4696'],
      ['IP6_GLOBAL_END', '2001:db8::c0ff:fea8:469f'],
    ]);
    assert.deepEqual(leaseAddresses(r, 0), {
      mac: '02:00:c0:a8:46:96',
      ip: '192.168.70.150',
      ip6Link: 'fe80::c0ff:fea8:4696',
      ip6Ula: 'fd00::c0ff:fea8:4696',
      ip6Global: '2001:db8::c0ff:fea8:4696',
    });
  });

  it('IP6_STATIC: IP6 = first + i, IP6_END', () => {
    const r = ar({
      TYPE: 'IP4_6_STATIC',
      IP: '10.0.0.1',
      IP6: '2001:db8::ffff:fffe',
      PREFIX_LENGTH: '64',
      SIZE: '4',
    });
    assert.deepEqual(addressRangeComputed(r), [
      ['MAC_END', '02:00:0a:00:00:04'],
      ['IP_END', '10.0.0.4'],
      ['IP6_END', '2001:db8::1:0:1'],
    ]);
    // crossing a 32-bit boundary is plain 128-bit addition
    assert.equal(leaseAddresses(r, 2).ip6, '2001:db8::1:0:0');
    assert.equal(indexOfIp6(r, '2001:db8::1:0:1'), 3);
    assert.equal(indexOfIp6(r, '2001:db8::1:0:2'), undefined);
  });

  it('PORT_START / PORT_SIZE give port ranges per lease', () => {
    const r = ar({ TYPE: 'IP4', IP: '10.0.0.1', SIZE: '4', PORT_START: '9000', PORT_SIZE: '10' });
    assert.equal(leaseAddresses(r, 2).externalPortRange, '9021:9030');
    assert.equal(leaseAddresses(r, 2).internalPortRange, '1-10/9021');
  });

  it('finds the index of an address, only inside the range', () => {
    const r = ar({ TYPE: 'IP4', IP: '10.0.0.10', SIZE: '5' });
    assert.equal(indexOfIp(r, '10.0.0.12'), 2);
    assert.equal(indexOfIp(r, '10.0.0.15'), undefined);
    assert.equal(indexOfIp(r, '10.0.0.9'), undefined);
    assert.equal(indexOfIp(r, 'bogus'), undefined);
    assert.equal(indexOfMac(r, '02:00:0a:00:00:0e'), 4);
    assert.equal(indexOfMac(r, '02:01:0a:00:00:0e'), undefined);
    assert.equal(indexOfMac(r, 'bogus'), undefined);
    assert.equal(indexOfIp6(r, '::1'), undefined);
    const ether = ar({ TYPE: 'ETHER', SIZE: '5' });
    assert.equal(indexOfIp(ether, '10.0.0.12'), undefined);
  });

  it('renders AR_POOL/AR: stored attributes alphabetically, computed, USED_LEASES', () => {
    const r = ar({ TYPE: 'IP4', IP: '10.0.0.1', SIZE: '2', VN_MAD: 'bridge', DNS: '8.8.8.8' });
    assert.deepEqual(renderAddressRange(r, 1), [
      ['AR_ID', '0'],
      ['DNS', '8.8.8.8'],
      ['IP', '10.0.0.1'],
      ['MAC', '02:00:0a:00:00:01'],
      ['SIZE', '2'],
      ['TYPE', 'IP4'],
      ['VN_MAD', 'bridge'],
      ['MAC_END', '02:00:0a:00:00:02'],
      ['IP_END', '10.0.0.2'],
      ['USED_LEASES', '1'],
    ]);
    assert.equal(addressRangeAttribute(r, 'DNS'), '8.8.8.8');
    assert.equal(addressRangeAttribute(r, 'GATEWAY'), undefined);
  });

  it('refuses to read a corrupt stored record', () => {
    const bad = { ...ar({ TYPE: 'ETHER', SIZE: '1' }), mac: 'zz' };
    assert.throws(() => layoutOf(bad), /address range 0: stored MAC is unreadable/);
  });
});

describe('address range update', () => {
  const base = ar({ TYPE: 'IP4_6', IP: '10.0.0.1', SIZE: '10', ULA_PREFIX: 'fd00::', GATEWAY: '10.0.0.254' });
  const leases = new ArLeaseState(0, 10);
  leases.take(7, { kind: 'hold' });
  const ctx = { leases, isReservation: false };

  it('keeps TYPE, MAC, IP; replaces the other attributes', () => {
    const r = unwrap(
      updateAddressRange(
        base,
        { TYPE: 'ETHER', MAC: '02:00:00:00:00:01', IP: '10.9.9.9', SIZE: '20', DNS: '1.1.1.1' },
        ctx,
      ),
    );
    assert.equal(r.type, 'IP4_6');
    assert.equal(r.mac, base.mac);
    assert.equal(r.ip, '10.0.0.1');
    assert.equal(r.size, 20);
    assert.equal(r.ulaPrefix, null, 'an absent prefix is removed, as update_attributes does');
    assert.deepEqual(r.attributes, { DNS: ['1.1.1.1'] });
  });

  it('keeps SIZE when absent and sets prefixes', () => {
    const r = unwrap(updateAddressRange(base, { GLOBAL_PREFIX: '2001:db8::' }, ctx));
    assert.equal(r.size, 10);
    assert.equal(r.globalPrefix, '2001:db8::');
  });

  it('refuses a SIZE that would cut off a used lease', () => {
    const e = errorOf(updateAddressRange(base, { SIZE: '7' }, ctx));
    assert.equal(
      e.message,
      'New SIZE cannot be applied. There are used leases that would fall outside the range.',
    );
    unwrap(updateAddressRange(base, { SIZE: '8' }, ctx));
  });

  it('refuses to change the SIZE of a reservation', () => {
    const e = errorOf(updateAddressRange(base, { SIZE: '12' }, { ...ctx, isReservation: true }));
    assert.equal(e.message, 'The SIZE of a reservation cannot be changed.');
    unwrap(updateAddressRange(base, { SIZE: '10' }, { ...ctx, isReservation: true }));
  });

  it('validates what it changes', () => {
    assert.match(
      errorOf(updateAddressRange(base, { SIZE: 'x' }, ctx)).message,
      /AR\[0\]\/SIZE: must be a positive integer/,
    );
    assert.match(
      errorOf(updateAddressRange(base, { ULA_PREFIX: 'fd00::1' }, ctx)).message,
      /AR\[0\]\/ULA_PREFIX/,
    );
    assert.match(errorOf(updateAddressRange(base, { SIZE: '4294967295' }, ctx)).message, /do not fit/);
    assert.match(errorOf(updateAddressRange(base, { PORT_SIZE: '-1' }, ctx)).message, /PORT_SIZE/);
  });

  it('static IPv6: PREFIX_LENGTH may change and bounds SIZE', () => {
    const s = ar({
      TYPE: 'IP6_STATIC',
      IP6: '2001:db8::',
      PREFIX_LENGTH: '120',
      SIZE: '100',
      IPAM_MAD: 'internal',
    });
    const none = new ArLeaseState(0, 100);
    const r = unwrap(
      updateAddressRange(s, { PREFIX_LENGTH: '112', SIZE: '1000' }, { leases: none, isReservation: false }),
    );
    assert.equal(r.prefixLength, 112);
    assert.deepEqual(r.attributes['IPAM_MAD'], ['internal']);
    assert.match(
      errorOf(updateAddressRange(s, { PREFIX_LENGTH: '124' }, { leases: none, isReservation: false }))
        .message,
      /do not fit/,
    );
    assert.match(
      errorOf(updateAddressRange(s, { PREFIX_LENGTH: 'abc' }, { leases: none, isReservation: false }))
        .message,
      /from 1 to 128/,
    );
  });

  it('moves the cursor back inside a shrunk range', () => {
    const r = unwrap(updateAddressRange({ ...base, next: 9 }, { SIZE: '8' }, ctx));
    assert.equal(r.next, 0);
  });
});
