import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  addAttribute,
  attributeNames,
  getSingle,
  getSingles,
  getVector,
  getVectors,
  getVectorValue,
  mergeTemplate,
  parseTemplate,
  removeAttribute,
  replaceAttribute,
  setSingle,
  setVector,
  templateFromEntries,
} from '../../../src/domain/template/index.js';
import type { Template } from '../../../src/domain/template/index.js';
import { expectNimbusError } from './support.js';

function frozen(t: Template): Template {
  for (const values of Object.values(t)) {
    for (const v of values) Object.freeze(v);
    Object.freeze(values);
  }
  return Object.freeze(t);
}

const VM = frozen(
  parseTemplate(
    'NAME = web\nCPU = 1\nLABEL = a\nLABEL = [ X = 1 ]\nLABEL = b\nDISK = [ IMAGE = debian, SIZE = 10 ]\nDISK = [ IMAGE = data ]\nNIC = [ IP = 10.0.0.1 ]',
  ),
);

describe('reading attributes', () => {
  it('getSingle returns the first single value, names case-insensitive', () => {
    assert.equal(getSingle(VM, 'cpu'), '1');
    assert.equal(getSingle(VM, 'LABEL'), 'a');
    assert.equal(getSingle(VM, 'DISK'), undefined);
    assert.equal(getSingle(VM, 'MISSING'), undefined);
    assert.equal(getSingle(VM, 'toString'), undefined);
  });

  it('getSingles and getVectors split the values of one name', () => {
    assert.deepStrictEqual(getSingles(VM, 'LABEL'), ['a', 'b']);
    assert.deepStrictEqual(getVectors(VM, 'LABEL'), [{ X: '1' }]);
    assert.deepStrictEqual(getVectors(VM, 'disk'), [{ IMAGE: 'debian', SIZE: '10' }, { IMAGE: 'data' }]);
    assert.deepStrictEqual(getVectors(VM, 'NONE'), []);
  });

  it('getVector and getVectorValue read the first vector', () => {
    assert.deepStrictEqual(getVector(VM, 'DISK'), { IMAGE: 'debian', SIZE: '10' });
    assert.equal(getVector(VM, 'CPU'), undefined);
    assert.equal(getVectorValue(VM, 'nic', 'ip'), '10.0.0.1');
    assert.equal(getVectorValue(VM, 'NIC', 'MAC'), undefined);
    assert.equal(getVectorValue(VM, 'NONE', 'IP'), undefined);
    assert.equal(getVectorValue(VM, 'NIC', 'constructor'), undefined);
  });

  it('attributeNames lists names alphabetically', () => {
    assert.deepStrictEqual(attributeNames(VM), ['CPU', 'DISK', 'LABEL', 'NAME', 'NIC']);
  });

  it('refuses a name outside [A-Za-z0-9_]', () => {
    const error = expectNimbusError(() => getSingle(VM, 'A-B'));
    assert.equal(error.code, 'TEMPLATE_INVALID');
    assert.equal(error.field, 'A-B');
  });
});

describe('editing attributes returns new templates', () => {
  it('setSingle replaces every value of a name (OpenNebula Template::replace)', () => {
    const t = setSingle(VM, 'label', 'c');
    assert.deepStrictEqual(t['LABEL'], ['c']);
    assert.deepStrictEqual(getSingles(VM, 'LABEL'), ['a', 'b']);
    assert.deepStrictEqual(Object.keys(setSingle(VM, 'AAA', 'x')), [
      'AAA',
      'CPU',
      'DISK',
      'LABEL',
      'NAME',
      'NIC',
    ]);
  });

  it('setVector replaces every value with one vector, sub-names upper-cased and sorted', () => {
    const t = setVector(VM, 'DISK', { size: '5', IMAGE: 'x' });
    assert.deepStrictEqual(t['DISK'], [{ IMAGE: 'x', SIZE: '5' }]);
    assert.deepStrictEqual(Object.keys(t['DISK']![0]!), ['IMAGE', 'SIZE']);
  });

  it('addAttribute appends after the existing values', () => {
    const t = addAttribute(VM, 'disk', { IMAGE: 'third' });
    assert.deepStrictEqual(getVectors(t, 'DISK'), [
      { IMAGE: 'debian', SIZE: '10' },
      { IMAGE: 'data' },
      { IMAGE: 'third' },
    ]);
    assert.deepStrictEqual(addAttribute({}, 'A', 'x'), { A: ['x'] });
  });

  it('replaceAttribute sets several values, and none removes the name', () => {
    assert.deepStrictEqual(replaceAttribute(VM, 'LABEL', ['x', { Y: '1' }])['LABEL'], ['x', { Y: '1' }]);
    assert.equal(Object.hasOwn(replaceAttribute(VM, 'LABEL', []), 'LABEL'), false);
  });

  it('removeAttribute removes every value; removing a missing name changes nothing', () => {
    assert.deepStrictEqual(attributeNames(removeAttribute(VM, 'disk')), ['CPU', 'LABEL', 'NAME', 'NIC']);
    assert.deepStrictEqual(removeAttribute(VM, 'MISSING'), VM);
  });

  it('refuses a bad sub-name', () => {
    const error = expectNimbusError(() => setVector(VM, 'D', { 'a-b': '1' }));
    assert.equal(error.code, 'TEMPLATE_INVALID');
    assert.equal(error.field, 'D/a-b');
  });

  it('templateFromEntries groups values by stored name, in order', () => {
    assert.deepStrictEqual(
      templateFromEntries([
        ['nic', { ip: '1' }],
        ['CPU', '1'],
        ['NIC', { IP: '2' }],
        ['1x', 'y'],
      ]),
      { CPU: ['1'], NIC: [{ IP: '1' }, { IP: '2' }], ONE_1X: ['y'] },
    );
  });
});

describe('mergeTemplate (OpenNebula update type 1, instantiate extra template)', () => {
  it('replaces single attributes and keeps the others', () => {
    const t = mergeTemplate(VM, parseTemplate('CPU = 2\nMEMORY = 512'));
    assert.equal(getSingle(t, 'CPU'), '2');
    assert.equal(getSingle(t, 'MEMORY'), '512');
    assert.equal(getSingle(t, 'NAME'), 'web');
    assert.deepStrictEqual(Object.keys(t), ['CPU', 'DISK', 'LABEL', 'MEMORY', 'NAME', 'NIC']);
  });

  it('replaces all vectors of a name with the update ones, as a whole', () => {
    const t = mergeTemplate(VM, parseTemplate('DISK = [ IMAGE = new ]'));
    assert.deepStrictEqual(t['DISK'], [{ IMAGE: 'new' }]);
    assert.deepStrictEqual(t['NIC'], [{ IP: '10.0.0.1' }]);
  });

  it('replaces every value of a repeated name, single or vector', () => {
    assert.deepStrictEqual(mergeTemplate(VM, parseTemplate('LABEL = z'))['LABEL'], ['z']);
  });

  it('removes an attribute given as an empty vector', () => {
    const t = mergeTemplate(VM, parseTemplate('NIC = [ ]\nDISK = [ ]\nDISK = [ IMAGE = kept ]'));
    assert.equal(Object.hasOwn(t, 'NIC'), false);
    assert.deepStrictEqual(t['DISK'], [{ IMAGE: 'kept' }]);
  });

  it('leaves both inputs untouched', () => {
    const update = frozen(parseTemplate('CPU = 4'));
    mergeTemplate(VM, update);
    assert.equal(getSingle(VM, 'CPU'), '1');
  });
});
