/**
 * The XML form of a template (reference §2.1): `<TEMPLATE>` holding one element per attribute;
 * a single attribute is `<NAME>value</NAME>` (text and/or CDATA), a vector is an element whose
 * children are `<SUB>value</SUB>` elements; repeated attributes are repeated elements.
 *
 * Reading follows OpenNebula's `Template::from_xml` (one:src/template/Template.cc): an element
 * with element children is a vector (whitespace between them is formatting), any other element is
 * a single attribute; a later duplicate sub-element replaces an earlier one. Nimbus refuses, with
 * the element's line and column, what OpenNebula silently drops or mangles: attributes, text mixed
 * with child elements, elements nested below a vector, names that are not `[A-Za-z0-9_]+`,
 * unknown entities, a DOCTYPE.
 *
 * The one choice OpenNebula leaves open: an element with no content at all (`<NIC_DEFAULT/>`) is an
 * empty vector, and an empty single attribute is written `<NAME><![CDATA[]]></NAME>` (as OpenNebula
 * writes it), so both round-trip. OpenNebula itself drops a contentless element.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { positionAt, TemplateSyntaxError, unrepresentable } from './errors.js';
import {
  attributeValues,
  checkedVector,
  isNameText,
  storedAttributeName,
  storedNameProblem,
  storedSubNameProblem,
  valueProblem,
  xmlSubNameProblem,
} from './names.js';
import type { Template, TemplateValue, VectorValue } from './types.js';

export interface TemplateXmlOptions {
  /** Root element name; `TEMPLATE` unless reading e.g. a `USER_TEMPLATE`. */
  readonly root?: string;
}

type XmlNode = Record<string, unknown>;

const TEXT = '#text';
const CDATA = '#cdata';
const COMMENT = '#comment';
const ATTRIBUTES = ':@';

const parser = new XMLParser({
  preserveOrder: true,
  trimValues: false,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  processEntities: false, // decoded here, so unknown entities are errors and &#13; keeps its CR
  ignoreDeclaration: true,
  ignorePiTags: true,
  cdataPropName: CDATA,
  commentPropName: COMMENT,
});

/** Parses `<TEMPLATE>...</TEMPLATE>`. Throws TemplateSyntaxError with a 1-based line and column. */
export function parseTemplateXml(xml: string, options: TemplateXmlOptions = {}): Template {
  const src = xml.charCodeAt(0) === 0xfeff ? xml.slice(1) : xml;
  const root = options.root ?? 'TEMPLATE';
  const valid = XMLValidator.validate(src);
  if (valid !== true) {
    // the validator leaves line or column undefined for some errors (empty input)
    throw new TemplateSyntaxError(`malformed XML: ${valid.err.msg}`, valid.err.line || 1, valid.err.col || 1);
  }
  const reader = new XmlReader(src, startTagOffsets(src));
  let nodes: XmlNode[];
  try {
    nodes = parser.parse(src) as XmlNode[];
  } catch (error) {
    throw new TemplateSyntaxError(`malformed XML: ${(error as Error).message}`, 1, 1);
  }
  return reader.readDocument(nodes, root);
}

/** Offsets of every start tag in document order (validated XML, so a light scan suffices). */
function startTagOffsets(src: string): number[] {
  const offsets: number[] = [];
  for (let p = src.indexOf('<'); p !== -1; p = src.indexOf('<', p + 1)) {
    if (src.startsWith('<!--', p)) {
      p = src.indexOf('-->', p);
    } else if (src.startsWith('<![CDATA[', p)) {
      p = src.indexOf(']]>', p);
    } else if (src.startsWith('<!', p)) {
      const { line, column } = positionAt(src, p);
      throw new TemplateSyntaxError('a DOCTYPE is not allowed in a template', line, column);
    } else if (src.charCodeAt(p + 1) !== 0x3f && src.charCodeAt(p + 1) !== 0x2f) {
      offsets.push(p); // neither <?...?> nor </...>
    }
    if (p === -1) break;
  }
  return offsets;
}

function nameOf(node: XmlNode): string {
  for (const key of Object.keys(node)) if (key !== ATTRIBUTES) return key;
  return '';
}

function isElementName(name: string): boolean {
  return name !== TEXT && name !== CDATA && name !== COMMENT;
}

class XmlReader {
  private element = -1;

  constructor(
    private readonly src: string,
    private readonly offsets: readonly number[],
  ) {}

  private fail(message: string, element = this.element): TemplateSyntaxError {
    const { line, column } = positionAt(this.src, this.offsets[element] ?? 0);
    return new TemplateSyntaxError(message, line, column);
  }

  /** Moves to the next element in document order and checks it has no XML attributes. */
  private enter(node: XmlNode, name: string): void {
    this.element++;
    if (node[ATTRIBUTES] !== undefined) {
      const attrs = Object.keys(node[ATTRIBUTES] as object).join('", "');
      throw this.fail(`XML attributes are not allowed in a template (<${name}> has "${attrs}")`);
    }
  }

  readDocument(nodes: readonly XmlNode[], root: string): Template {
    let top: XmlNode | undefined;
    for (const node of nodes) {
      const name = nameOf(node);
      if (name === COMMENT || (name === TEXT && isBlank(node[TEXT]))) continue;
      if (!isElementName(name)) throw this.fail(`text outside the <${root}> element`, 0);
      if (top !== undefined) {
        const second = this.countElements(top); // elements are counted in document order
        throw this.fail(`a template has one root element <${root}>; found another <${name}>`, second);
      }
      top = node;
    }
    if (top === undefined) throw new TemplateSyntaxError(`expected a <${root}> element`, 1, 1);
    const topName = nameOf(top);
    this.enter(top, topName);
    if (topName !== root) throw this.fail(`expected root element <${root}>, found <${topName}>`);
    const attributes = new Map<string, TemplateValue[]>();
    for (const child of top[topName] as XmlNode[]) {
      const name = nameOf(child);
      if (name === COMMENT) continue;
      if (name === TEXT) {
        if (isBlank(child[TEXT])) continue;
        throw this.fail(`text directly inside <${root}>: every value must be inside an attribute element`, 0);
      }
      if (name === CDATA)
        throw this.fail(
          `CDATA directly inside <${root}>: every value must be inside an attribute element`,
          0,
        );
      this.enter(child, name);
      if (!isNameText(name))
        throw this.fail(`attribute name <${name}> must be made of A-Z, a-z, 0-9 and "_"`);
      const stored = storedAttributeName(name);
      const value = this.readAttribute(child[name] as XmlNode[], name);
      const values = attributes.get(stored);
      if (values === undefined) attributes.set(stored, [value]);
      else values.push(value);
    }
    const out: Record<string, TemplateValue[]> = {};
    for (const name of [...attributes.keys()].sort()) out[name] = attributes.get(name)!;
    return out;
  }

  private countElements(node: XmlNode): number {
    let count = 1;
    const children = node[nameOf(node)];
    if (Array.isArray(children)) {
      for (const child of children as XmlNode[])
        if (isElementName(nameOf(child))) count += this.countElements(child);
    }
    return count;
  }

  private readAttribute(children: readonly XmlNode[], name: string): TemplateValue {
    const hasElements = children.some((c) => isElementName(nameOf(c)));
    if (!hasElements) {
      const hasContent = children.some((c) => nameOf(c) !== COMMENT);
      return hasContent ? this.readText(children, name) : {};
    }
    const owner = this.element;
    const subs = new Map<string, string>();
    for (const child of children) {
      const sub = nameOf(child);
      if (sub === COMMENT || (sub === TEXT && isBlank(child[TEXT]))) continue;
      if (!isElementName(sub)) {
        throw this.fail(
          `<${name}> mixes text with child elements: a vector holds only <SUB>value</SUB> elements`,
          owner,
        );
      }
      this.enter(child, sub);
      if (!isNameText(sub))
        throw this.fail(`sub-attribute name <${sub}> must be made of A-Z, a-z, 0-9 and "_"`);
      const grand = child[sub] as XmlNode[];
      if (grand.some((g) => isElementName(nameOf(g)))) {
        this.element++;
        throw this.fail(
          `vector attributes cannot nest: <${name}><${sub}> holds element <${nameOf(grand.find((g) => isElementName(nameOf(g)))!)}>`,
        );
      }
      subs.set(sub.toUpperCase(), this.readText(grand, `${name}/${sub}`));
    }
    const vector: Record<string, string> = {};
    for (const key of [...subs.keys()].sort()) vector[key] = subs.get(key)!;
    return vector;
  }

  /** Concatenated text and CDATA of an element without element children. */
  private readText(children: readonly XmlNode[], where: string): string {
    let value = '';
    for (const child of children) {
      const kind = nameOf(child);
      if (kind === TEXT) value += this.decode(String(child[TEXT]), where);
      else if (kind === CDATA) value += cdataText(child[CDATA]);
    }
    const problem = valueProblem(value);
    if (problem !== undefined) throw this.fail(`value of "${where}" ${problem}`);
    return value;
  }

  private decode(text: string, where: string): string {
    if (text.indexOf('&') === -1) return text;
    return text.replace(/&([^;&]*);?/g, (ref: string, body: string) => {
      const decoded = ref.endsWith(';') ? decodeReference(body) : undefined;
      if (decoded === undefined) {
        throw this.fail(
          `unknown or malformed XML entity "${ref}" in "${where}" (use &amp; for a literal "&")`,
        );
      }
      return decoded;
    });
  }
}

const NAMED_ENTITIES: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeReference(body: string): string | undefined {
  if (Object.hasOwn(NAMED_ENTITIES, body)) return NAMED_ENTITIES[body];
  const m = /^#(?:x([0-9A-Fa-f]{1,6})|([0-9]{1,7}))$/.exec(body);
  if (m === null) return undefined;
  const code = m[1] !== undefined ? parseInt(m[1], 16) : parseInt(m[2]!, 10);
  return code <= 0x10ffff ? String.fromCodePoint(code) : undefined;
}

function cdataText(cdata: unknown): string {
  let text = '';
  for (const part of cdata as XmlNode[]) text += String(part[TEXT] ?? '');
  return text;
}

function isBlank(text: unknown): boolean {
  return typeof text === 'string' && /^[ \t\r\n]*$/.test(text);
}

/**
 * `<TEMPLATE><NAME><![CDATA[v]]></NAME><DISK><IMAGE><![CDATA[x]]></IMAGE></DISK></TEMPLATE>`,
 * names alphabetical. A CR is written as `&#13;` between CDATA sections, since XML readers turn a
 * raw CR into LF. Throws TEMPLATE_UNREPRESENTABLE for what XML cannot carry.
 */
export function serializeTemplateXml(template: Template, options: TemplateXmlOptions = {}): string {
  const root = options.root ?? 'TEMPLATE';
  const out: string[] = [`<${root}>`];
  for (const name of Object.keys(template).sort()) {
    const problem = storedNameProblem(name);
    if (problem !== undefined) throw unrepresentable(problem, name);
    const values = attributeValues(template, name);
    for (let i = 0; i < values.length; i++) {
      const value = values[i]!;
      const field = values.length > 1 ? `${name}[${i}]` : name;
      if (typeof value === 'string') out.push(`<${name}>${cdata(value, field)}</${name}>`);
      else out.push(vectorXml(name, checkedVector(value, field), field));
    }
  }
  out.push(`</${root}>`);
  return out.join('');
}

function vectorXml(name: string, vector: VectorValue, field: string): string {
  const keys = Object.keys(vector).sort();
  if (keys.length === 0) return `<${name}/>`;
  let xml = `<${name}>`;
  for (const key of keys) {
    const problem = storedSubNameProblem(key);
    if (problem !== undefined) throw unrepresentable(problem, `${field}/${key}`);
    const xmlProblem = xmlSubNameProblem(key);
    if (xmlProblem !== undefined) throw unrepresentable(xmlProblem, `${field}/${key}`);
    xml += `<${key}>${cdata(vector[key]!, `${field}/${key}`)}</${key}>`;
  }
  return `${xml}</${name}>`;
}

function cdata(value: string, field: string): string {
  if (typeof value !== 'string') throw unrepresentable(`value of "${field}" is not a string`, field);
  const problem = valueProblem(value);
  if (problem !== undefined) throw unrepresentable(`value of "${field}" ${problem}`, field);
  const body = value.indexOf('\r') === -1 ? value : value.replaceAll('\r', ']]>&#13;<![CDATA[');
  return `<![CDATA[${body}]]>`;
}
