import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  compileRank,
  compileRequirement,
  wildcardMatch,
  type Lookup,
} from '../../../src/scheduler/expressions.js';

/** A host as the scheduler sees it (template, share, monitoring, multi-valued attributes). */
const HOST: Record<string, readonly string[]> = {
  NAME: ['node01'],
  ID: ['3'],
  CLUSTER_ID: ['100'],
  HYPERVISOR: ['kvm'],
  FREE_CPU: ['350'],
  MAX_MEM: ['8388608'],
  RUNNING_VMS: ['4'],
  TOTALCPU: ['400'],
  LABELS: ['ssd', 'gpu'],
  CURRENT_VMS: ['7', '12'],
  'HOST/VMS/ID': ['7', '12'],
  PRIORITY: ['-2'],
};
const lookup: Lookup = (name) => HOST[name];

const holds = (expr: string): boolean => {
  const c = compileRequirement(expr);
  assert.ok(c.ok, c.ok ? '' : c.error.message);
  return c.value.test(lookup);
};

describe('requirement expressions (reference §5.2)', () => {
  const cases: readonly [string, boolean][] = [
    ['', true],
    ['ID = 3', true],
    ['ID != 3', false],
    ['FREE_CPU > 300', true],
    ['FREE_CPU < 300', false],
    ['RUNNING_VMS < 5.5', true],
    ['PRIORITY = -2', true],
    ['HYPERVISOR = kvm', true],
    ['HYPERVISOR = "kvm"', true],
    ['NAME = "node*"', true],
    ['NAME = "node0?"', true],
    ['NAME = "node[0-9]1"', true],
    ['NAME = "web*"', false],
    ['NAME != "web*"', true],
    ['LABELS @> "gpu"', true],
    ['LABELS @> "fpga"', false],
    ['"HOST/VMS/ID" @> 12', true],
    ['CURRENT_VMS = 7', true],
    ['CURRENT_VMS != 7', false],
    ['CURRENT_VMS = 99', false],
    ['MISSING = 1', false],
    ['MISSING != 1', false],
    ['MISSING = "x"', false],
    ['!(MISSING = 1)', true],
    ['ID = 3 & HYPERVISOR = kvm', true],
    ['ID = 4 | HYPERVISOR = kvm', true],
    ['(ID = 4) | (HYPERVISOR = xen)', false],
    ['CLUSTER_ID = 100 & !(NAME = "node02")', true],
    // One precedence level, left to right: A | B & C is (A | B) & C.
    ['ID = 3 | ID = 4 & ID = 5', false],
    ['ID = 3 | (ID = 4 & ID = 5)', true],
    ['! ID = 4 & ID = 3', true],
    ['! ID = 3 | ID = 3', true],
    ['name = "node01"', true],
  ];
  for (const [expr, expected] of cases) {
    it(`${JSON.stringify(expr)} → ${expected}`, () => assert.equal(holds(expr), expected));
  }

  it('warns when & and | are mixed without parentheses, not when grouped', () => {
    const mixed = compileRequirement('A = 1 | B = 2 & C = 3');
    assert.ok(mixed.ok);
    assert.equal(mixed.value.warnings.length, 1);
    assert.match(mixed.value.warnings[0]!, /left to right/);
    const grouped = compileRequirement('A = 1 | (B = 2 & C = 3)');
    assert.ok(grouped.ok);
    assert.deepEqual(grouped.value.warnings, []);
  });

  const errors: readonly [string, number, RegExp][] = [
    ['FREE_CPU >= 100', 11, /expected a number or a string/],
    ['ID = ', 6, /expected a number or a string after =/],
    ['(ID = 3', 8, /"\(" at column 1 is not closed/],
    ['ID 3', 4, /expected =, !=, >, < or @>/],
    ['NAME = "x', 8, /unterminated string/],
    ['ID = 3 &', 9, /expected an attribute name/],
    ['ID = 3 ; ID = 4', 8, /unexpected character ";"/],
    ['NAME > "a"', 8, /compares numbers/],
    ['CURRENT_VMS > 3', 13, /only = and !=/],
    ['ID = 3 )', 8, /unexpected/],
  ];
  for (const [expr, column, message] of errors) {
    it(`refuses ${JSON.stringify(expr)} at column ${column}`, () => {
      const c = compileRequirement(expr);
      assert.ok(!c.ok);
      assert.equal(c.error.code, 'EXPRESSION_SYNTAX');
      assert.match(c.error.message, new RegExp(`column ${column}:`));
      assert.match(c.error.message, message);
    });
  }
});

describe('rank expressions', () => {
  const cases: readonly [string, number][] = [
    ['', 0],
    ['RUNNING_VMS', 4],
    ['- RUNNING_VMS', -4],
    ['FREE_CPU', 350],
    ['FREE_CPU / 100 + RUNNING_VMS * 2', 12],
    ['(FREE_CPU - 50) / 3', 100],
    ['-(1 + 2) * 2', -6],
    ['MISSING + 1', 1],
    ['PRIORITY', -2],
    ['10 / 0', 0],
    ['7 / 2', 4],
  ];
  for (const [expr, expected] of cases) {
    it(`${JSON.stringify(expr)} → ${expected}`, () => {
      const c = compileRank(expr);
      assert.ok(c.ok, c.ok ? '' : c.error.message);
      assert.equal(c.value.rank(lookup), expected);
    });
  }
  it('refuses a bad rank with its column', () => {
    const c = compileRank('FREE_CPU * * 2');
    assert.ok(!c.ok);
    assert.match(c.error.message, /column 12: expected a number, an attribute or "\("/);
  });
});

describe('shell wildcards', () => {
  for (const [pattern, value, expected] of [
    ['*', '', true],
    ['a*c', 'abbbc', true],
    ['a?c', 'abc', true],
    ['a?c', 'ac', false],
    ['[!a]x', 'bx', true],
    ['[!a]x', 'ax', false],
    ['a.b', 'axb', false],
    ['\\*', '*', true],
    ['[', '[', true],
  ] as const) {
    it(`${pattern} ~ ${JSON.stringify(value)} → ${expected}`, () =>
      assert.equal(wildcardMatch(pattern, value), expected));
  }
});
