import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAnyTemplate, parseTemplate } from '../../../src/domain/template/index.js';
import type { Template } from '../../../src/domain/template/index.js';

/** [description, template text, expected template] */
const GOLDEN: readonly [string, string, Template][] = [
  ['empty text', '', {}],
  ['only blanks and comments', '  \n# a comment\n\t\n   # another\n', {}],
  ['bare word', 'CPU = 1', { CPU: ['1'] }],
  ['no blanks around "="', 'CPU=1\nMEMORY=512', { CPU: ['1'], MEMORY: ['512'] }],
  ['quoted value', 'NAME = "web server"', { NAME: ['web server'] }],
  ['empty quoted value', 'NAME = ""', { NAME: [''] }],
  ['"NAME =" then newline is an empty value', 'NAME =\nCPU = 1', { CPU: ['1'], NAME: [''] }],
  ['"NAME =" with blanks then newline', 'NAME =  \t\nCPU = 1', { CPU: ['1'], NAME: [''] }],
  ['"NAME =" at the end of the text', 'NAME =', { NAME: [''] }],
  ['names are case-insensitive, stored upper-case', 'memory = 1\nMeMoRy = 2', { MEMORY: ['1', '2'] }],
  ['several attributes on one line', 'A = 1 B = "2" C=3', { A: ['1'], B: ['2'], C: ['3'] }],
  ['newline between the name and "="', 'A\n  = 1', { A: ['1'] }],
  ['comment between the name and "="', 'A # why\n= 1', { A: ['1'] }],
  ['trailing comment', 'A = b # note\nC = "d" # note', { A: ['b'], C: ['d'] }],
  ['comment right after a bare word', 'A = b#note', { A: ['b'] }],
  ['comment at the end without newline', 'A = 1 # last', { A: ['1'] }],
  ['"#" inside quotes is not a comment', 'A = "x # y"', { A: ['x # y'] }],
  ['special characters inside quotes', 'A = "[a, b] = c"', { A: ['[a, b] = c'] }],
  ['quoted value spanning lines', 'S = "line 1\nline 2\n"', { S: ['line 1\nline 2\n'] }],
  ['\\" is un-escaped', 'A = "say \\"hi\\""', { A: ['say "hi"'] }],
  ['other backslashes stay literal', 'A = "C:\\dir\\new\\t"', { A: ['C:\\dir\\new\\t'] }],
  ['backslash before a backslash-quote', 'A = "a\\\\"b"', { A: ['a\\"b'] }],
  ['\\" is un-escaped in bare words too', 'A = a\\"b', { A: ['a"b'] }],
  ['a quote inside a bare word is literal', 'A = a"b', { A: ['a"b'] }],
  ['bare word longer than the quoted string wins (flex longest match)', 'A = "abc"def', { A: ['"abc"def'] }],
  ['quoted string longer than the bare word wins', 'A = "a b"C = 1', { A: ['a b'], C: ['1'] }],
  ['bare word ending in a backslash', 'PATH = C:\\images\\', { PATH: ['C:\\images\\'] }],
  ['bare word stops at "[", "]" and ","', 'A = [ B = x,C = y]', { A: [{ B: 'x', C: 'y' }] }],
  ['unicode values', 'A = 中文-镜像\nB = "😀 é"', { A: ['中文-镜像'], B: ['😀 é'] }],
  [
    'variables are kept as text',
    'C = [ K = "$USER[SSH_PUBLIC_KEY]", H = $NAME ]',
    { C: [{ H: '$NAME', K: '$USER[SSH_PUBLIC_KEY]' }] },
  ],
  ['vector', 'DISK = [ IMAGE = "debian", SIZE = 10 ]', { DISK: [{ IMAGE: 'debian', SIZE: '10' }] }],
  ['vector without blanks', 'DISK=[IMAGE=a,SIZE=1]', { DISK: [{ IMAGE: 'a', SIZE: '1' }] }],
  [
    'vector sub-names upper-cased and sorted',
    'D = [ z = 1, a = 2, M = 3 ]',
    { D: [{ A: '2', M: '3', Z: '1' }] },
  ],
  [
    'newlines around "[", "," and "]"',
    'D = [\n  A = 1\n  ,\n  B = 2\n]\nE = 3',
    { D: [{ A: '1', B: '2' }], E: ['3'] },
  ],
  [
    'comments inside a vector',
    'D = [ # first\n A = 1, # one\n # between\n B = 2 # two\n ]',
    { D: [{ A: '1', B: '2' }] },
  ],
  ['empty vector', 'V = [ ]', { V: [{}] }],
  ['empty vector over lines', 'V = [\n\n]', { V: [{}] }],
  ['empty vector without blanks', 'V=[]', { V: [{}] }],
  ['empty quoted sub-value', 'D = [ A = "" ]', { D: [{ A: '' }] }],
  ['multi-line quoted sub-value', 'C = [ S = "a\nb", T = 1 ]', { C: [{ S: 'a\nb', T: '1' }] }],
  [
    'a later duplicate sub-attribute replaces an earlier one',
    'D = [ A = 1, B = 2, A = 3 ]',
    { D: [{ A: '3', B: '2' }] },
  ],
  [
    'repeated vectors keep their order',
    'DISK = [ IMAGE = b ]\nDISK = [ IMAGE = a ]\nDISK = [ IMAGE = c ]',
    { DISK: [{ IMAGE: 'b' }, { IMAGE: 'a' }, { IMAGE: 'c' }] },
  ],
  [
    'single and vector under one name keep their order',
    'X = 1\nX = [ A = 2 ]\nX = 3',
    { X: ['1', { A: '2' }, '3'] },
  ],
  ['vector followed by an attribute on the same line', 'A = [B=1]C=2', { A: [{ B: '1' }], C: ['2'] }],
  [
    'CRLF line endings',
    'A = 1\r\nB =\r\nD = [\r\n  X = "y" ,\r\n  Z = 2 ]\r\n',
    { A: ['1'], B: [''], D: [{ X: 'y', Z: '2' }] },
  ],
  ['CRLF inside a quoted value is kept', 'A = "a\r\nb"', { A: ['a\r\nb'] }],
  ['a lone CR counts as a blank', 'A = 1\rB = 2', { A: ['1'], B: ['2'] }],
  ['leading BOM', '\uFEFFA = 1', { A: ['1'] }],
  ['tabs', '\tA\t=\t"x"\t# c', { A: ['x'] }],
  [
    'names starting with a digit get "ONE_" (OpenNebula Attribute.h)',
    '1A = x\n_B = y',
    { ONE_1A: ['x'], _B: ['y'] },
  ],
  ['names starting with XML get "ONE_"', 'XMLRPC = 1\nxml_x = 2', { ONE_XMLRPC: ['1'], ONE_XML_X: ['2'] }],
  ['sub-names keep a leading digit', 'D = [ 1X = y ]', { D: [{ '1X': 'y' }] }],
  [
    'names that look like Object.prototype members',
    '__proto__ = 1\nconstructor = [ a = 1 ]',
    { CONSTRUCTOR: [{ A: '1' }], __PROTO__: ['1'] },
  ],
];

describe('parseTemplate: golden cases', () => {
  for (const [description, text, expected] of GOLDEN) {
    it(description, () => {
      assert.deepStrictEqual(parseTemplate(text), expected);
    });
  }

  it('lists names in canonical (alphabetical) order', () => {
    const t = parseTemplate('NIC = [ A = 1 ]\nCPU = 1\nDISK = [ B = 2 ]\nA_B = 1\nAB = 2\n');
    assert.deepStrictEqual(Object.keys(t), ['AB', 'A_B', 'CPU', 'DISK', 'NIC']);
  });

  it('does not touch Object.prototype', () => {
    parseTemplate('__proto__ = [ polluted = yes ]\nPROTOTYPE = 1');
    assert.equal(({} as Record<string, unknown>)['POLLUTED'], undefined);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });

  it('reads a long template quickly enough to be linear', () => {
    const text = 'DISK = [ IMAGE = "x", SIZE = 1 ]\n'.repeat(20000);
    assert.equal(parseTemplate(text)['DISK']!.length, 20000);
  });
});

describe('parseAnyTemplate', () => {
  it('reads the XML form when the first non-blank character is "<"', () => {
    assert.deepStrictEqual(parseAnyTemplate('\n  <TEMPLATE><A>1</A></TEMPLATE>'), { A: ['1'] });
    assert.deepStrictEqual(parseAnyTemplate('\uFEFF<TEMPLATE><A>1</A></TEMPLATE>'), { A: ['1'] });
  });

  it('reads the text form otherwise', () => {
    assert.deepStrictEqual(parseAnyTemplate('A = "<b>"'), { A: ['<b>'] });
    assert.deepStrictEqual(parseAnyTemplate('  \n'), {});
  });
});
