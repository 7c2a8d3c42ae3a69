import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_MAC_PREFIX,
  eui64InterfaceId,
  FALLBACK_MAC_PREFIX,
  formatIpv4,
  formatIpv6,
  formatMac,
  isUnicastMac,
  linkLocalAddress,
  macFromIpv4,
  macPlus,
  macPrefixFromConfig,
  parseIpv4,
  parseIpv6,
  parseIpv6Prefix64,
  parseMac,
  parseMacPrefix,
  slaacAddress,
} from '../../../src/domain/vnet/address.js';
import { errorOf, unwrap } from './fixtures.js';

describe('IPv4', () => {
  it('parses and formats dotted quads', () => {
    assert.equal(unwrap(parseIpv4('192.168.70.150')), 0xc0a84696);
    assert.equal(unwrap(parseIpv4('0.0.0.0')), 0);
    assert.equal(unwrap(parseIpv4('255.255.255.255')), 0xffffffff);
    assert.equal(formatIpv4(0xc0a84696), '192.168.70.150');
    assert.equal(formatIpv4(0xffffffff), '255.255.255.255');
    assert.equal(formatIpv4(0x0a00000a), '10.0.0.10');
  });

  it('refuses anything but a strict dotted quad, saying why', () => {
    const cases: [string, RegExp][] = [
      ['10.0.0', /expected 4 dot-separated octets, got 3/],
      ['10.0.0.0.1', /got 5/],
      ['10.0.0.256', /octet 256 is above 255/],
      ['10.0.0.010', /octet "010" has a leading zero/],
      ['10.0..1', /empty octet/],
      ['10.0.0.-1', /octet "-1" is not a decimal number/],
      ['10.0.0.1 ', /octet "1 " is not a decimal number/],
      ['a.b.c.d', /octet "a"/],
    ];
    for (const [text, why] of cases) {
      const e = errorOf(parseIpv4(text));
      assert.equal(e.code, 'ADDRESS_INVALID');
      assert.match(e.message, why, text);
      assert.ok(e.message.includes(`"${text}" is not an IPv4 address`));
    }
  });
});

describe('MAC', () => {
  it('parses either case and prints lower-case colon form', () => {
    const mac = unwrap(parseMac('02:00:C0:A8:46:96'));
    assert.deepEqual(mac, { high: 0x0200, low: 0xc0a84696 });
    assert.equal(formatMac(mac), '02:00:c0:a8:46:96');
    assert.equal(formatMac({ high: 0, low: 0 }), '00:00:00:00:00:00');
    assert.equal(formatMac({ high: 0xffff, low: 0xffffffff }), 'ff:ff:ff:ff:ff:ff');
  });

  it('refuses other forms', () => {
    for (const text of ['02:00:c0:a8:46', '02-00-c0-a8-46-96', '2:0:c0:a8:46:96', '02:00:c0:a8:46:9g', '']) {
      assert.match(errorOf(parseMac(text)).message, /is not a MAC address/, text);
    }
  });

  it('derives the MAC from an IPv4 address: golden cases', () => {
    const golden: [string, string][] = [
      ['192.168.70.150', '02:00:c0:a8:46:96'],
      ['10.0.0.10', '02:00:0a:00:00:0a'],
      ['0.0.0.0', '02:00:00:00:00:00'],
      ['255.255.255.255', '02:00:ff:ff:ff:ff'],
    ];
    for (const [ip, mac] of golden) {
      assert.equal(formatMac(macFromIpv4(DEFAULT_MAC_PREFIX, unwrap(parseIpv4(ip)))), mac);
    }
    // and back: the low 32 bits are the IPv4 address
    assert.equal(formatIpv4(unwrap(parseMac('02:00:c0:a8:46:96')).low), '192.168.70.150');
  });

  it('adds offsets to the low 32 bits only', () => {
    const mac = unwrap(parseMac('02:00:0a:00:00:ff'));
    assert.equal(formatMac(macPlus(mac, 1)), '02:00:0a:00:01:00');
  });

  it('tells unicast from multicast', () => {
    assert.equal(isUnicastMac(unwrap(parseMac('02:00:00:00:00:01'))), true);
    assert.equal(isUnicastMac(unwrap(parseMac('03:00:00:00:00:01'))), false);
  });

  it('reads MAC_PREFIX like oned: default 02:00, 00:01 when malformed', () => {
    assert.equal(unwrap(parseMacPrefix('02:00')), 0x0200);
    assert.equal(unwrap(parseMacPrefix('AA:b')), 0xaa0b);
    assert.equal(errorOf(parseMacPrefix('02:00:00')).field, 'MAC_PREFIX');
    assert.deepEqual(macPrefixFromConfig(undefined), { prefix: DEFAULT_MAC_PREFIX });
    assert.deepEqual(macPrefixFromConfig(' '), { prefix: DEFAULT_MAC_PREFIX });
    assert.deepEqual(macPrefixFromConfig('0a:01'), { prefix: 0x0a01 });
    const bad = macPrefixFromConfig('junk');
    assert.equal(bad.prefix, FALLBACK_MAC_PREFIX);
    assert.match(bad.warning ?? '', /using 00:01/);
  });
});

describe('IPv6', () => {
  it('prints RFC 5952 canonical text', () => {
    const golden: [string, string][] = [
      ['::', '::'],
      ['::1', '::1'],
      ['0:0:0:0:0:0:0:1', '::1'],
      ['2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['2001:0db8:0000:0000:0000:0000:0002:0001', '2001:db8::2:1'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
      ['2001:db8:0:0:1:0:0:0', '2001:db8:0:0:1::'],
      ['fe80::', 'fe80::'],
      ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
      ['::ffff:192.168.70.150', '::ffff:c0a8:4696'],
      ['64:ff9b::10.0.0.1', '64:ff9b::a00:1'],
      ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
    ];
    for (const [input, canonical] of golden)
      assert.equal(formatIpv6(unwrap(parseIpv6(input))), canonical, input);
  });

  it('refuses malformed addresses, prefixes and zones', () => {
    const cases: [string, RegExp][] = [
      ['1::2::3', /"::" appears more than once/],
      ['1:2:3:4:5:6:7:8:9', /expected 8 groups, got 9/],
      ['1:2:3:4:5:6:7', /expected 8 groups, got 7/],
      ['1:2:3:4::5:6:7:8', /too many groups/],
      ['12345::', /group "12345"/],
      ['2001:db8::/64', /prefix length is not allowed/],
      ['fe80::1%eth0', /zone index/],
      ['::1.2.3', /embedded/],
    ];
    for (const [text, why] of cases) assert.match(errorOf(parseIpv6(text)).message, why, text);
  });

  it('accepts /64 prefixes only with a zero interface part', () => {
    assert.equal(formatIpv6(unwrap(parseIpv6Prefix64('2001:db8:1:2::'))), '2001:db8:1:2::');
    assert.match(errorOf(parseIpv6Prefix64('2001:db8::1')).message, /last 64 bits must be zero/);
    assert.match(errorOf(parseIpv6Prefix64('nope')).message, /not an IPv6 address/);
  });
});

describe('EUI-64 and SLAAC', () => {
  it('flips bit 0x02 of the first octet and inserts ff:fe', () => {
    const golden: [string, string][] = [
      ['02:00:c0:a8:46:96', '0000c0fffea84696'],
      ['02:00:0a:00:00:0a', '00000afffe00000a'],
      ['00:11:22:33:44:55', '021122fffe334455'],
      ['ff:ff:ff:ff:ff:ff', 'fdfffffffeffffff'],
      ['00:00:00:00:00:00', '020000fffe000000'],
    ];
    for (const [mac, id] of golden) {
      assert.equal(
        eui64InterfaceId(unwrap(parseMac(mac)))
          .toString(16)
          .padStart(16, '0'),
        id,
        mac,
      );
    }
  });

  it('builds link-local, ULA and global addresses', () => {
    const mac = unwrap(parseMac('02:00:c0:a8:46:96'));
    assert.equal(formatIpv6(linkLocalAddress(mac)), 'fe80::c0ff:fea8:4696');
    assert.equal(
      formatIpv6(slaacAddress(unwrap(parseIpv6('fd00:1:2:3::')), mac)),
      'fd00:1:2:3:0:c0ff:fea8:4696',
    );
    assert.equal(formatIpv6(slaacAddress(unwrap(parseIpv6('2001:db8::')), mac)), '2001:db8::c0ff:fea8:4696');
    const other = unwrap(parseMac('00:11:22:33:44:55'));
    assert.equal(formatIpv6(linkLocalAddress(other)), 'fe80::211:22ff:fe33:4455');
  });
});
