import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  parseTemplate,
  templateFromJson,
  templateToJson,
  validateTemplate,
} from '../../../src/domain/template/index.js';
import { expectNimbusError } from './support.js';

describe('templateToJson', () => {
  it('writes a single attribute once as a string, repeated as an array, vectors always as arrays', () => {
    const t = parseTemplate(
      'CPU = 1\nLABEL = a\nLABEL = b\nDISK = [ SIZE = 1, IMAGE = x ]\nOS = [ ARCH = x86_64 ]\nV = [ ]',
    );
    assert.deepStrictEqual(templateToJson(t), {
      CPU: '1',
      DISK: [{ IMAGE: 'x', SIZE: '1' }],
      LABEL: ['a', 'b'],
      OS: [{ ARCH: 'x86_64' }],
      V: [{}],
    });
  });

  it('writes a name with single and vector values as one array, in order', () => {
    assert.deepStrictEqual(templateToJson(parseTemplate('X = 1\nX = [ A = 2 ]')), { X: ['1', { A: '2' }] });
  });

  it('lists names and sub-names alphabetically', () => {
    const json = templateToJson({ B: ['1'], A: [{ Z: '1', Y: '2' }] });
    assert.deepStrictEqual(Object.keys(json), ['A', 'B']);
    assert.deepStrictEqual(Object.keys((json['A'] as object[])[0]!), ['Y', 'Z']);
  });
});

describe('templateFromJson', () => {
  it('reads strings, numbers, arrays and vectors', () => {
    assert.deepStrictEqual(
      templateFromJson({
        cpu: 0.5,
        MEMORY: 1024,
        LABEL: ['a', 2],
        DISK: [{ image: 'x', size: 10 }, { IMAGE: 'y' }],
      }),
      {
        CPU: ['0.5'],
        DISK: [{ IMAGE: 'x', SIZE: '10' }, { IMAGE: 'y' }],
        LABEL: ['a', '2'],
        MEMORY: ['1024'],
      },
    );
  });

  it('reads an object standing alone as one vector (Sunstone sends "DISK": {...})', () => {
    assert.deepStrictEqual(templateFromJson({ NIC: { NETWORK: 'public' } }), {
      NIC: [{ NETWORK: 'public' }],
    });
  });

  it('reads an empty array as no value', () => {
    assert.deepStrictEqual(templateFromJson({ NIC: [], CPU: '1' }), { CPU: ['1'] });
  });

  it('stores names as the text form does', () => {
    assert.deepStrictEqual(templateFromJson({ '1a': 'x', xmlrpc: 'y' }), {
      ONE_1A: ['x'],
      ONE_XMLRPC: ['y'],
    });
  });

  it('reads "__proto__" from JSON text as an ordinary name, without touching prototypes', () => {
    const t = templateFromJson(JSON.parse('{"__proto__": {"polluted": "yes"}, "constructor": "x"}'));
    assert.deepStrictEqual(t, { CONSTRUCTOR: ['x'], __PROTO__: [{ POLLUTED: 'yes' }] });
    assert.equal(({} as Record<string, unknown>)['POLLUTED'], undefined);
  });

  const REFUSED: readonly [string, unknown, string | undefined, string][] = [
    ['an array at the top', [], undefined, 'must be an object of attributes, not an array'],
    ['null at the top', null, undefined, 'not null'],
    ['a string at the top', 'CPU = 1', undefined, 'not a string'],
    ['a bad name', { 'A-B': '1' }, 'A-B', 'attribute name "A-B"'],
    [
      'two spellings of one name',
      { cpu: '1', CPU: '2' },
      'CPU',
      '"cpu" and "CPU" name the same attribute CPU',
    ],
    ['a boolean', { ENABLED: true }, 'ENABLED', 'is a boolean; OpenNebula templates say "YES" or "NO"'],
    [
      'null',
      { A: null },
      'A',
      '"A" must be a string, a number, an object (vector) or an array of those, not null',
    ],
    ['NaN', { A: Number.NaN }, 'A', 'not the number NaN'],
    ['a nested array', { A: [['x']] }, 'A[0]', 'is an array inside an array'],
    [
      'null in an array',
      { A: ['x', null] },
      'A[1]',
      '"A[1]" must be a string, a number or an object (vector), not null',
    ],
    [
      'an object inside a vector',
      { DISK: [{ IMAGE: 'x' }, { SIZE: { GB: 1 } }] },
      'DISK[1]/SIZE',
      'vector attributes cannot nest',
    ],
    [
      'an array inside a vector',
      { DISK: [{ SIZE: [1] }] },
      'DISK[0]/SIZE',
      'is an array: vector attributes cannot nest',
    ],
    ['a boolean inside a vector', { DISK: [{ RO: false }] }, 'DISK[0]/RO', 'is a boolean'],
    ['null inside a vector', { DISK: { SIZE: null } }, 'DISK/SIZE', 'must be a string or a number, not null'],
    ['a bad sub-name', { DISK: [{ 'a b': '1' }] }, 'DISK[0]/a b', 'sub-attribute name "a b"'],
    ['a sub-name starting with a digit', { DISK: [{ '1x': '1' }] }, 'DISK[0]/1x', 'starts with a digit'],
    [
      'two spellings of one sub-name',
      { DISK: [{ size: '1', SIZE: '2' }] },
      'DISK[0]/SIZE',
      'name the same sub-attribute DISK[0]/SIZE',
    ],
    ['"]]>" in a value', { A: 'x]]>' }, 'A', 'contains "]]>"'],
    ['a trailing backslash', { DISK: [{ PATH: 'C:\\' }] }, 'DISK[0]/PATH', 'ends with a backslash'],
    ['a control character', { A: ['ok', 'a\u0000b'] }, 'A[1]', 'control character U+0000'],
    ['a class instance', { A: new Date(0) }, 'A', 'not an object'],
  ];

  for (const [description, json, field, message] of REFUSED) {
    it(`refuses ${description}`, () => {
      const error = expectNimbusError(() => templateFromJson(json));
      assert.equal(error.code, 'TEMPLATE_INVALID');
      assert.equal(error.field, field);
      assert.ok(error.message.includes(message), error.message);
    });
  }
});

describe('validateTemplate', () => {
  it('accepts a template and returns it', () => {
    const t = parseTemplate('A = 1\nD = [ B = 2 ]');
    assert.deepStrictEqual(validateTemplate(t), { ok: true, value: t });
  });

  const INVALID: readonly [string, unknown, string | undefined, string][] = [
    ['a non-object', 'x', undefined, 'not a string'],
    ['a lower-case name', { a: ['1'] }, 'a', 'must be made of A-Z'],
    ['a name starting with a digit', { '1A': ['1'] }, '1A', 'ONE_1A'],
    ['an empty value list', { A: [] }, 'A', 'non-empty array'],
    ['a bare string instead of a list', { A: 'x' }, 'A', 'non-empty array'],
    ['a number value', { A: [1] }, 'A', 'must be a string or a vector object, not the number 1'],
    ['a bad sub-name', { D: [{ 'x-y': '1' }] }, 'D/x-y', 'sub-attribute name'],
    ['a digit sub-name', { D: [{ '1': '1' }] }, 'D/1', 'starts with a digit'],
    ['a non-string sub-value', { D: ['a', { S: 1 }] }, 'D[1]/S', 'must be a string, not the number 1'],
    ['"]]>" in a sub-value', { D: [{ S: ']]>' }] }, 'D/S', 'contains "]]>"'],
    ['a trailing backslash', { A: ['x\\'] }, 'A', 'ends with a backslash'],
  ];

  for (const [description, value, field, message] of INVALID) {
    it(`refuses ${description}`, () => {
      const result = validateTemplate(value);
      assert.equal(result.ok, false);
      if (result.ok) return;
      assert.equal(result.error.code, 'TEMPLATE_INVALID');
      assert.equal(result.error.field, field);
      assert.ok(result.error.message.includes(message), result.error.message);
    });
  }
});
