import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { NimbusError } from '../../../src/domain/errors.js';
import {
  parseAnyTemplate,
  parseTemplate,
  parseTemplateXml,
  TemplateSyntaxError,
} from '../../../src/domain/template/index.js';
import { expectNimbusError } from './support.js';

/** [template text, line, column, part of the message] */
const TEXT_CASES: readonly [string, number, number, string][] = [
  ['CPU 1', 1, 5, 'expected "=" after attribute name "CPU", found "1"'],
  ['CPU', 1, 4, 'expected "=" after attribute name "CPU", found end of input'],
  ['A = 1\nCPU\n', 3, 1, 'expected "=" after attribute name "CPU"'],
  ['A [ B = 1 ]', 1, 3, 'expected "=" after attribute name "A", found "["'],
  ['A-B = 1', 1, 2, 'expected "=" after attribute name "A", found "-"'],
  ['A.B = 1', 1, 2, 'found "."'],
  ['= 1', 1, 1, 'expected an attribute name, found "="'],
  ['A = 1\n= 2', 2, 1, 'unexpected "=" after the value of "A"'],
  ['A = b = c', 1, 7, 'quote a value that contains "="'],
  ['é = 1', 1, 1, 'expected an attribute name, found "é"'],
  ['"A" = 1', 1, 1, 'unexpected quoted string'],
  ['A = "a" "b"', 1, 9, 'unexpected quoted string after the value of "A"'],
  [']', 1, 1, 'unexpected "]": no vector is open'],
  ['A = 1 ]', 1, 7, 'unexpected "]" after the value of "A"'],
  [',', 1, 1, '"," only separates the elements of a vector'],
  ['A = 1,', 1, 6, 'unexpected "," after the value of "A"'],
  ['A = [ B = 1 ] ]', 1, 15, 'no vector is open'],
  ['A = [ B = 1 ]\n  [', 2, 3, 'expected an attribute name, found "["'],
  ['A = "abc', 1, 9, 'unterminated quoted string starting at 1:5'],
  ['A = 1\nB = "abc\nC = 2', 3, 6, 'unterminated quoted string starting at 2:5 (value of "B")'],
  ['A = "x\\"', 1, 9, 'is escaped by the backslash before it, and a value cannot end with a backslash'],
  ['D = [ K = "v', 1, 13, 'unterminated quoted string starting at 1:11 (value of "D/K")'],
  ['A = ]', 1, 5, 'expected a value after "=" for "A", found "]"'],
  ['A = ,', 1, 5, 'expected a value after "=" for "A", found ","'],
  ['A = =', 1, 5, 'found "="'],
  [
    'A = # comment',
    1,
    5,
    '"#" starts a comment only after a complete value; write A = "" for an empty value',
  ],
  ['A = "x]]>y"', 1, 7, 'value of "A" contains "]]>"'],
  ['A = [ B = "]]>" ]', 1, 12, 'value of "A/B" contains "]]>"'],
  ['A = "multi\nline ]]>"', 2, 6, 'contains "]]>"'],
  ['A = "\u0000"', 1, 6, 'control character U+0000 is not allowed in a template'],
  ['A = x\u0007y', 1, 6, 'control character U+0007'],
  ['A = 1\n# \u001b[31m\n', 2, 3, 'control character U+001B'],
  ['A = "\uD800"', 1, 6, 'unpaired surrogate U+D800'],
  ['A = "x\uDC00"', 1, 7, 'unpaired surrogate U+DC00'],
  ['A = \uFFFE', 1, 5, 'control character U+FFFE'],
  ['A = [ B = 1, ]', 1, 12, 'trailing "," before "]" in vector "A"'],
  ['A = [\n  B = 1,\n]', 2, 8, 'trailing ","'],
  ['A = [ B = [ C = 1 ] ]', 1, 11, 'vector attributes cannot nest'],
  ['A = [ B = 1', 1, 12, 'unterminated vector "A" starting at 1:5 (missing "]")'],
  ['A = [', 1, 6, 'unterminated vector "A" starting at 1:5'],
  [
    'X = 1\nDISK = [\n  IMAGE = a\n# no closing bracket\n',
    5,
    1,
    'unterminated vector "DISK" starting at 2:8',
  ],
  ['A = [ B', 1, 8, 'unterminated vector "A"'],
  ['A = [ B =', 1, 10, 'unterminated vector "A"'],
  ['A = [ B = "1"x', 1, 15, 'unterminated vector "A"'],
  ['A = [ B = 1 C = 2 ]', 1, 13, 'expected "," or "]" after the value of "A/B", found "C"'],
  ['A = [ B = "x" "y" ]', 1, 15, 'expected "," or "]" after the value of "A/B"'],
  ['A = [ B ]', 1, 9, 'expected "=" after "A/B", found "]"'],
  ['A = [ B C ]', 1, 9, 'expected "=" after "A/B", found "C"'],
  ['A = [ B = ]', 1, 11, 'expected a value after "=" for "A/B", found "]"'],
  ['A = [ B = , C = 1 ]', 1, 11, 'expected a value after "=" for "A/B", found ","'],
  ['A = [ B = # c\n ]', 1, 11, 'write B = "" for an empty value'],
  [
    'A = [ B =\n C = 1 ]',
    1,
    10,
    'missing value for "A/B": inside a vector an empty value must be written B = ""',
  ],
  ['A = [ B =\r\n C = 1 ]', 1, 10, 'missing value for "A/B"'],
  ['A = [ , B = 1 ]', 1, 7, 'expected a sub-attribute name in vector "A", found ","'],
  ['A = [ B = 1,, C = 2 ]', 1, 13, 'expected a sub-attribute name in vector "A", found ","'],
  ['A = [ [ ] ]', 1, 7, 'expected a sub-attribute name in vector "A", found "["'],
  ['A = [ "B" = 1 ]', 1, 7, `expected a sub-attribute name in vector "A", found '"'`],
  ['A = [ B-C = 1 ]', 1, 8, 'expected "=" after "A/B", found "-"'],
  ['A = "a b"c', 1, 11, 'expected "=" after attribute name "C", found end of input'],
  ['A = [ B = 1 ] C', 1, 16, 'expected "=" after attribute name "C"'],
  ['A = 1\r\nB 2\r\n', 2, 3, 'expected "=" after attribute name "B", found "2"'],
  ['\uFEFFCPU 1', 1, 5, 'expected "=" after attribute name "CPU"'],
  ['NAME = "中文" X', 1, 14, 'expected "=" after attribute name "X", found end of input'],
  ['A = "😀" 😀', 1, 9, 'expected an attribute name, found "😀"'],
];

/** [XML text, line, column, part of the message] */
const XML_CASES: readonly [string, number, number, string][] = [
  ['', 1, 1, 'malformed XML'],
  ['<!-- only a comment -->', 1, 1, 'malformed XML'],
  ['garbage', 1, 1, 'malformed XML'],
  ['<TEMPLATE>', 1, 1, "malformed XML: Unclosed tag 'TEMPLATE'"],
  ['<TEMPLATE><A>1</B></TEMPLATE>', 1, 15, "malformed XML: Expected closing tag 'A'"],
  ['<TEMPLATE><A>1</A></TEMPLATE>trailing', 1, 30, 'malformed XML'],
  ['<VM><A>1</A></VM>', 1, 1, 'expected root element <TEMPLATE>, found <VM>'],
  ['<TEMPLATE/>\n<TEMPLATE/>', 2, 1, 'a template has one root element <TEMPLATE>; found another <TEMPLATE>'],
  ['<TEMPLATE><A>1</A></TEMPLATE><X/>', 1, 30, 'found another <X>'],
  [
    '<!DOCTYPE t [<!ENTITY e "x">]><TEMPLATE><A>&e;</A></TEMPLATE>',
    1,
    1,
    'a DOCTYPE is not allowed in a template',
  ],
  ['<TEMPLATE a="1"/>', 1, 1, 'XML attributes are not allowed in a template (<TEMPLATE> has "a")'],
  [
    '<TEMPLATE>\n  <A x="1">1</A>\n</TEMPLATE>',
    2,
    3,
    'XML attributes are not allowed in a template (<A> has "x")',
  ],
  ['<TEMPLATE><DISK><IMAGE id="1">x</IMAGE></DISK></TEMPLATE>', 1, 17, '<IMAGE> has "id"'],
  [
    '<TEMPLATE>\n <DISK>\n  <A><B>1</B></A>\n </DISK>\n</TEMPLATE>',
    3,
    6,
    'vector attributes cannot nest: <DISK><A> holds element <B>',
  ],
  ['<TEMPLATE><DISK>t<A>1</A></DISK></TEMPLATE>', 1, 11, '<DISK> mixes text with child elements'],
  ['<TEMPLATE><DISK><A>1</A><![CDATA[x]]></DISK></TEMPLATE>', 1, 11, '<DISK> mixes text with child elements'],
  ['<TEMPLATE>text</TEMPLATE>', 1, 1, 'text directly inside <TEMPLATE>'],
  ['<TEMPLATE><![CDATA[x]]></TEMPLATE>', 1, 1, 'CDATA directly inside <TEMPLATE>'],
  ['<TEMPLATE><a-b>1</a-b></TEMPLATE>', 1, 11, 'attribute name <a-b> must be made of A-Z, a-z, 0-9 and "_"'],
  ['<TEMPLATE><DISK><a.b>1</a.b></DISK></TEMPLATE>', 1, 17, 'sub-attribute name <a.b> must be made of'],
  ['<TEMPLATE><x:A>1</x:A></TEMPLATE>', 1, 11, 'attribute name <x:A>'],
  ['<TEMPLATE><A>&foo;</A></TEMPLATE>', 1, 11, 'unknown or malformed XML entity "&foo;" in "A"'],
  [
    '<TEMPLATE><DISK><S>&#x110000;</S></DISK></TEMPLATE>',
    1,
    17,
    'malformed XML entity "&#x110000;" in "DISK/S"',
  ],
  ['<TEMPLATE><DISK><S>&#xZZ;</S></DISK></TEMPLATE>', 1, 20, "malformed XML: char '&' is not expected"],
  ['<TEMPLATE><A>]]&gt;</A></TEMPLATE>', 1, 11, 'value of "A" contains "]]>"'],
  ['<TEMPLATE><A>&#1;</A></TEMPLATE>', 1, 11, 'control character U+0001, which XML cannot carry'],
  ['<TEMPLATE><A>\u0002</A></TEMPLATE>', 1, 11, 'control character U+0002'],
];

describe('malformed text templates', () => {
  for (const [text, line, column, message] of TEXT_CASES) {
    it(`${JSON.stringify(text)} -> ${line}:${column}`, () => {
      const error = expectNimbusError(() => parseTemplate(text));
      assert.ok(error instanceof TemplateSyntaxError, `not a TemplateSyntaxError: ${error.message}`);
      assert.equal(error.code, 'TEMPLATE_SYNTAX');
      assert.ok(
        error.message.includes(message),
        `message ${JSON.stringify(error.message)} lacks ${JSON.stringify(message)}`,
      );
      assert.deepStrictEqual([error.line, error.column], [line, column], error.message);
    });
  }
});

describe('malformed XML templates', () => {
  for (const [xml, line, column, message] of XML_CASES) {
    it(`${JSON.stringify(xml)} -> ${line}:${column}`, () => {
      const error = expectNimbusError(() => parseTemplateXml(xml));
      assert.ok(error instanceof TemplateSyntaxError, `not a TemplateSyntaxError: ${error.message}`);
      assert.equal(error.code, 'TEMPLATE_SYNTAX');
      assert.ok(
        error.message.includes(message),
        `message ${JSON.stringify(error.message)} lacks ${JSON.stringify(message)}`,
      );
      assert.deepStrictEqual([error.line, error.column], [line, column], error.message);
    });
  }

  it('reads another root element when asked to', () => {
    assert.deepStrictEqual(
      parseTemplateXml('<USER_TEMPLATE><A>1</A></USER_TEMPLATE>', { root: 'USER_TEMPLATE' }),
      { A: ['1'] },
    );
  });
});

describe('no input crashes the parsers', () => {
  const alphabet = fc.constantFrom(
    ...'AB_1 \t\n\r="\\#[],<>/!?&;:-xé😀]]>'.split(''),
    ']]>',
    '<A>',
    '</A>',
    '<![CDATA[',
    '&amp;',
    '\u0000',
  );

  it('parseTemplate returns a template or throws TemplateSyntaxError', () => {
    fc.assert(
      fc.property(fc.string({ unit: alphabet, maxLength: 60 }), (text) => {
        try {
          parseTemplate(text);
        } catch (error) {
          assert.ok(error instanceof TemplateSyntaxError, String(error));
          assert.ok(error.line >= 1 && error.column >= 1);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('parseAnyTemplate and parseTemplateXml throw only NimbusErrors', () => {
    fc.assert(
      fc.property(fc.string({ unit: alphabet, maxLength: 60 }), (text) => {
        for (const parse of [
          parseAnyTemplate,
          (t: string) => parseTemplateXml(`<TEMPLATE>${t}</TEMPLATE>`),
        ]) {
          try {
            parse(text);
          } catch (error) {
            assert.ok(error instanceof NimbusError, String(error));
          }
        }
      }),
      { numRuns: 3000 },
    );
  });
});
