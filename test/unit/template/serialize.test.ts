import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  parseTemplate,
  parseTemplateXml,
  serializeTemplate,
  serializeTemplateXml,
} from '../../../src/domain/template/index.js';
import type { Template } from '../../../src/domain/template/index.js';
import { expectNimbusError } from './support.js';

const SAMPLE: Template = {
  NIC: [{ NETWORK: 'public' }],
  CPU: ['1'],
  DISK: [{ SIZE: '10', IMAGE: 'x' }, { IMAGE: 'y' }],
  NOTE: ['say "hi"\nbye'],
  EMPTY: [''],
  V: [{}],
};

describe('serializeTemplate', () => {
  it('writes the canonical text form', () => {
    assert.equal(
      serializeTemplate(SAMPLE),
      'CPU = "1"\nDISK = [\n  IMAGE = "x",\n  SIZE = "10" ]\nDISK = [\n  IMAGE = "y" ]\nEMPTY = ""\n' +
        'NIC = [\n  NETWORK = "public" ]\nNOTE = "say \\"hi\\"\nbye"\nV = [ ]\n',
    );
  });

  it('writes nothing for an empty template', () => {
    assert.equal(serializeTemplate({}), '');
  });

  it('keeps repeated attributes in order, names alphabetical', () => {
    const text = serializeTemplate({ B: ['2', '1'], A: [{ Z: '1' }, '0'] });
    assert.equal(text, 'A = [\n  Z = "1" ]\nA = "0"\nB = "2"\nB = "1"\n');
  });

  it('writes values that look like syntax so they read back unchanged', () => {
    const t: Template = {
      A: ['# not a comment'],
      B: ['[x, y] = z'],
      C: ['\\"'],
      D: ['a\\b'],
      E: ['$NIC[IP]'],
      F: ['\r\n\t'],
    };
    assert.deepStrictEqual(parseTemplate(serializeTemplate(t)), t);
  });

  const UNREPRESENTABLE: readonly [string, Template, string, string][] = [
    ['a value ending in a backslash', { PATH: ['C:\\'] }, 'PATH', 'ends with a backslash'],
    ['a sub-value ending in a backslash', { D: [{ P: 'x\\' }] }, 'D/P', 'ends with a backslash'],
    ['a value with "]]>"', { A: ['x]]>y'] }, 'A', 'contains "]]>"'],
    ['a repeated value with "]]>"', { A: ['ok', ']]>'] }, 'A[1]', 'contains "]]>"'],
    ['a control character', { A: ['\u0001'] }, 'A', 'control character U+0001'],
    ['an unpaired surrogate', { A: ['\uD83D'] }, 'A', 'unpaired surrogate U+D83D'],
    ['a lower-case name', { cpu: ['1'] }, 'cpu', 'must be made of A-Z, 0-9 and "_"'],
    ['a name with a dash', { 'A-B': ['1'] }, 'A-B', 'must be made of'],
    ['a name starting with a digit', { '1A': ['1'] }, '1A', 'OpenNebula stores it as "ONE_1A"'],
    [
      'a name starting with XML',
      { XMLRPC: ['1'] },
      'XMLRPC',
      'must start with a letter or "_" and not with "XML"',
    ],
    ['an empty name', { '': ['1'] }, '', 'must be made of'],
    ['a lower-case sub-name', { D: [{ size: '1' }] }, 'D/size', 'sub-attribute name "size"'],
    ['a value that is not a string', { A: [1 as unknown as string] }, 'A', 'neither a string nor a vector'],
    ['a sub-value that is not a string', { D: [{ S: 1 as unknown as string }] }, 'D/S', 'is not a string'],
    ['an attribute without values', { A: [] }, 'A', 'non-empty array'],
  ];

  for (const [description, template, field, message] of UNREPRESENTABLE) {
    it(`refuses ${description}`, () => {
      const error = expectNimbusError(() => serializeTemplate(template));
      assert.equal(error.code, 'TEMPLATE_UNREPRESENTABLE');
      assert.equal(error.field, field);
      assert.ok(error.message.includes(message), error.message);
    });
  }
});

describe('serializeTemplateXml', () => {
  it('writes the XML form of reference §2.1', () => {
    assert.equal(
      serializeTemplateXml({ NAME: ['v'], DISK: [{ IMAGE: 'x' }] }),
      '<TEMPLATE><DISK><IMAGE><![CDATA[x]]></IMAGE></DISK><NAME><![CDATA[v]]></NAME></TEMPLATE>',
    );
  });

  it('writes an empty single as empty CDATA and an empty vector as an empty element', () => {
    const t: Template = { A: [''], V: [{}] };
    const xml = serializeTemplateXml(t);
    assert.equal(xml, '<TEMPLATE><A><![CDATA[]]></A><V/></TEMPLATE>');
    assert.deepStrictEqual(parseTemplateXml(xml), t);
  });

  it('writes CR as a character reference so XML readers keep it', () => {
    const t: Template = { A: ['a\r\nb\r'] };
    const xml = serializeTemplateXml(t);
    assert.equal(xml, '<TEMPLATE><A><![CDATA[a]]>&#13;<![CDATA[\nb]]>&#13;<![CDATA[]]></A></TEMPLATE>');
    assert.deepStrictEqual(parseTemplateXml(xml), t);
  });

  it('keeps markup characters and a trailing backslash inside CDATA', () => {
    const t: Template = { A: ['<b>&amp;</b>'], B: ['C:\\'] };
    assert.deepStrictEqual(parseTemplateXml(serializeTemplateXml(t)), t);
  });

  it('uses another root when asked to', () => {
    assert.equal(
      serializeTemplateXml({ A: ['1'] }, { root: 'USER_TEMPLATE' }),
      '<USER_TEMPLATE><A><![CDATA[1]]></A></USER_TEMPLATE>',
    );
  });

  const UNREPRESENTABLE: readonly [string, Template, string, string][] = [
    ['a value with "]]>"', { A: [']]>'] }, 'A', 'contains "]]>"'],
    ['a sub-value with a control character', { D: [{ S: '\u001b' }] }, 'D/S', 'control character U+001B'],
    [
      'a sub-name starting with a digit (no XML element name can)',
      { D: [{ '1X': 'y' }] },
      'D/1X',
      'starts with a digit',
    ],
    ['a name starting with a digit', { '9': ['1'] }, '9', 'must start with a letter'],
    ['a lower-case sub-name', { D: [{ a: '1' }] }, 'D/a', 'sub-attribute name "a"'],
    [
      'a value that is not a string',
      { A: [null as unknown as string] },
      'A',
      'neither a string nor a vector',
    ],
    ['a sub-value that is not a string', { D: [{ S: null as unknown as string }] }, 'D/S', 'is not a string'],
  ];

  for (const [description, template, field, message] of UNREPRESENTABLE) {
    it(`refuses ${description}`, () => {
      const error = expectNimbusError(() => serializeTemplateXml(template));
      assert.equal(error.code, 'TEMPLATE_UNREPRESENTABLE');
      assert.equal(error.field, field);
      assert.ok(error.message.includes(message), error.message);
    });
  }
});

describe('parseTemplateXml', () => {
  it('reads text, CDATA, entities and pretty-printing', () => {
    const xml =
      '<?xml version="1.0"?>\n<!-- c -->\n<TEMPLATE>\n  <A>a &lt;b&gt; &amp; &quot;c&quot; &apos;d&apos; &#65;&#x42;</A>\n' +
      '  <B><![CDATA[x]]>y<!-- c --><![CDATA[z]]></B>\n  <disk>\n    <image>i</image>\n    <!-- c -->\n  </disk>\n</TEMPLATE>\n';
    assert.deepStrictEqual(parseTemplateXml(xml), {
      A: [`a <b> & "c" 'd' AB`],
      B: ['xyz'],
      DISK: [{ IMAGE: 'i' }],
    });
  });

  it('reads contentless elements as empty vectors, whitespace as a value', () => {
    assert.deepStrictEqual(parseTemplateXml('<TEMPLATE><A/><B></B><C> </C><D><!-- c --></D></TEMPLATE>'), {
      A: [{}],
      B: [{}],
      C: [' '],
      D: [{}],
    });
  });

  it('reads an empty sub-element as an empty value, a later duplicate replacing an earlier one', () => {
    assert.deepStrictEqual(parseTemplateXml('<TEMPLATE><D><A/><B>1</B><b>2</b></D></TEMPLATE>'), {
      D: [{ A: '', B: '2' }],
    });
  });

  it('keeps repeated elements in order and stores names as the text form does', () => {
    assert.deepStrictEqual(
      parseTemplateXml('<TEMPLATE><X>1</X><_1>a</_1><X><Y>2</Y></X><xml_a>b</xml_a></TEMPLATE>'),
      {
        ONE_XML_A: ['b'],
        X: ['1', { Y: '2' }],
        _1: ['a'],
      },
    );
  });

  it('skips a BOM', () => {
    assert.deepStrictEqual(parseTemplateXml('\uFEFF<TEMPLATE><A>1</A></TEMPLATE>'), { A: ['1'] });
  });
});
