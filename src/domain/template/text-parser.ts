/**
 * The OpenNebula template text form (`KEY = VALUE`), read the way OpenNebula's own lexer and
 * grammar read it (one:src/parsers/template_parser.l, template_syntax.y; reference §4.1):
 *
 * * Between attributes, blanks, newlines and `#` comments (to the end of the line) are skipped;
 *   that holds inside a vector too, and between a name and its "=". Several attributes may share
 *   a line (`A = 1 B = 2`). Names are stored as names.ts says: upper-case, "ONE_" before a leading
 *   digit or "XML", as OpenNebula's Attribute constructor does.
 * * After "=", only blanks are skipped: a newline right after "=" makes an empty value. A value is
 *   a double-quoted string (may span lines; the only escape is `\"`), a bare word (no blank,
 *   newline, `= # , [ ]`), or `[` opening a vector. `\"` is un-escaped in bare words too.
 * * When a bare word would be longer than the quoted string it starts with (`"a"b`), the bare
 *   word wins, as flex's longest match makes it.
 * * Inside a vector each element is `NAME = value` (an empty value must be written `""`), elements
 *   are separated by "," and vectors do not nest. A "," must be followed by another element:
 *   OpenNebula's grammar (`array_val COMMA VARIABLE EQUAL STRING`) has no trailing comma.
 * * A later duplicate sub-attribute replaces an earlier one: the rule of the data model (types.ts)
 *   and of OpenNebula's XML reader (`VectorAttribute::replace`). OpenNebula's text grammar keeps
 *   the first instead (`std::map::insert` in template_syntax.y); Nimbus reads both forms alike.
 *
 * Where OpenNebula's lexer has no rule (its flex default echoes the character and goes on), Nimbus
 * reports an error instead. Deliberate differences, all refusals or leniencies at the edges:
 * a quoted string with no closing quote is an error (flex falls back to a bare word starting with
 * `"`); a comment or `NAME =` on the last line without a final newline is accepted; CR before LF
 * counts as part of the line break outside quoted strings (quoted strings keep every character);
 * a leading BOM is skipped; "]]>" is refused in any value, not only on the line of the "=";
 * characters XML cannot carry (C0 controls other than tab/LF/CR, U+FFFE/U+FFFF, unpaired
 * surrogates) are refused anywhere.
 */
import { describeChar, positionAt, TemplateSyntaxError } from './errors.js';
import { describeForbiddenChar, forbiddenCharAt, storedAttributeName } from './names.js';
import type { Template, TemplateValue, VectorValue } from './types.js';

const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const HASH = 0x23;
const COMMA = 0x2c;
const EQUAL = 0x3d;
const OPEN = 0x5b;
const BACKSLASH = 0x5c;
const CLOSE = 0x5d;

/** Character classes for ASCII; every code unit >= 128 is a bare-word character. */
const NAME = 1;
const LOWER = 2;
const STOP = 4; // ends a bare word
const CLASS = new Uint8Array(128);
for (let c = 0x30; c <= 0x39; c++) CLASS[c] = NAME;
for (let c = 0x41; c <= 0x5a; c++) CLASS[c] = NAME;
for (let c = 0x61; c <= 0x7a; c++) CLASS[c] = NAME | LOWER;
CLASS[0x5f] = NAME;
for (const c of [TAB, LF, CR, SPACE, HASH, COMMA, EQUAL, OPEN, CLOSE]) CLASS[c] = STOP;

function isNameChar(c: number): boolean {
  return c < 128 && (CLASS[c]! & NAME) !== 0;
}

function isBareChar(c: number): boolean {
  return c >= 128 || (c >= 0 && (CLASS[c]! & STOP) === 0); // NaN (past the end) is no character
}

/** Parses the `KEY = VALUE` text form. Throws TemplateSyntaxError with a 1-based line and column. */
export function parseTemplate(text: string): Template {
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const bad = forbiddenCharAt(src);
  if (bad !== -1) {
    throw syntaxError(src, bad, `${describeForbiddenChar(src, bad)} is not allowed in a template`);
  }
  return new TextParser(src).parse();
}

function syntaxError(src: string, offset: number, message: string): TemplateSyntaxError {
  const { line, column } = positionAt(src, offset);
  return new TemplateSyntaxError(message, line, column);
}

class TextParser {
  private pos = 0;
  private readonly len: number;
  private readonly attributes = new Map<string, TemplateValue[]>();
  /** The attribute whose value was read last, for hints in error messages. */
  private previous = '';

  constructor(private readonly src: string) {
    this.len = src.length;
  }

  parse(): Template {
    for (;;) {
      this.skipTrivia();
      if (this.pos >= this.len) break;
      this.parseAttribute();
    }
    const out: Record<string, TemplateValue[]> = {};
    for (const name of [...this.attributes.keys()].sort()) out[name] = this.attributes.get(name)!;
    return out;
  }

  private fail(offset: number, message: string): TemplateSyntaxError {
    return syntaxError(this.src, offset, message);
  }

  /** Blanks, newlines and comments: everything OpenNebula's lexer skips between tokens. */
  private skipTrivia(): void {
    const src = this.src;
    const len = this.len;
    let p = this.pos;
    while (p < len) {
      const c = src.charCodeAt(p);
      if (c === SPACE || c === LF || c === TAB || c === CR) {
        p++;
      } else if (c === HASH) {
        const nl = src.indexOf('\n', p);
        p = nl === -1 ? len : nl + 1;
      } else {
        break;
      }
    }
    this.pos = p;
  }

  /** Blanks only (after "="). A CR counts as a blank unless it starts a CRLF line break. */
  private skipBlanks(): void {
    const src = this.src;
    let p = this.pos;
    for (;;) {
      const c = src.charCodeAt(p);
      if (c === SPACE || c === TAB || (c === CR && src.charCodeAt(p + 1) !== LF)) p++;
      else break;
    }
    this.pos = p;
  }

  /** Reads `[A-Za-z0-9_]+` at pos (the caller checked the first character) and upper-cases it. */
  private readName(): string {
    const src = this.src;
    const start = this.pos;
    let p = start;
    let lower = 0;
    for (let c = src.charCodeAt(p); c < 128 && (CLASS[c]! & NAME) !== 0; c = src.charCodeAt(++p)) {
      lower |= CLASS[c]!;
    }
    this.pos = p;
    const name = src.slice(start, p);
    return (lower & LOWER) !== 0 ? name.toUpperCase() : name;
  }

  private parseAttribute(): void {
    const src = this.src;
    const start = this.pos;
    const first = src.charCodeAt(start);
    if (!isNameChar(first)) throw this.fail(start, this.unexpectedAtAttributeStart(start, first));
    const typed = this.readName();
    const lead = typed.charCodeAt(0);
    // only a leading digit or "X" (for "XML") can need the "ONE_" prefix
    const name = lead <= 0x39 || lead === 0x58 ? storedAttributeName(typed) : typed;
    this.skipTrivia();
    if (src.charCodeAt(this.pos) !== EQUAL) {
      throw this.fail(
        this.pos,
        `expected "=" after attribute name "${name}", found ${describeChar(src, this.pos)}`,
      );
    }
    this.pos++;
    this.skipBlanks();
    const p = this.pos;
    const c = src.charCodeAt(p);
    let value: TemplateValue;
    if (p >= this.len) {
      value = '';
    } else if (c === LF) {
      this.pos = p + 1;
      value = '';
    } else if (c === CR) {
      this.pos = p + 2; // skipBlanks left a CR here only before LF
      value = '';
    } else if (c === OPEN) {
      value = this.parseVector(name, p);
    } else {
      value = this.readValue(name);
    }
    const values = this.attributes.get(name);
    if (values === undefined) this.attributes.set(name, [value]);
    else values.push(value);
    this.previous = name;
  }

  private unexpectedAtAttributeStart(offset: number, c: number): string {
    const found = describeChar(this.src, offset);
    const after = this.previous === '' ? '' : ` after the value of "${this.previous}"`;
    if (c === EQUAL && this.previous !== '') {
      return `unexpected "="${after}; quote a value that contains "=" (${this.previous} = "a=b")`;
    }
    if (c === CLOSE) return `unexpected "]"${after}: no vector is open`;
    if (c === COMMA) return `unexpected ","${after}: "," only separates the elements of a vector`;
    if (c === QUOTE) return `unexpected quoted string${after}: expected an attribute name`;
    return `expected an attribute name, found ${found}${after}`;
  }

  /** A single value at pos, which is not EOF, a newline or "[". `where` names it for messages. */
  private readValue(where: string): string {
    const src = this.src;
    const start = this.pos;
    const c = src.charCodeAt(start);
    if (c === QUOTE) return this.readQuoted(where);
    if (!isBareChar(c)) {
      const hint =
        c === HASH
          ? ` ("#" starts a comment only after a complete value; write ${lastPart(where)} = "" for an empty value)`
          : '';
      throw this.fail(
        start,
        `expected a value after "=" for "${where}", found ${describeChar(src, start)}${hint}`,
      );
    }
    return this.readBareFrom(start);
  }

  private readQuoted(where: string): string {
    const src = this.src;
    const start = this.pos;
    let close = src.indexOf('"', start + 1);
    let lastEscaped = -1;
    while (close !== -1 && src.charCodeAt(close - 1) === BACKSLASH) {
      lastEscaped = close;
      close = src.indexOf('"', close + 1);
    }
    if (close === -1) {
      const at = positionAt(src, start);
      let message = `unterminated quoted string starting at ${at.line}:${at.column} (value of "${where}")`;
      if (lastEscaped !== -1) {
        const q = positionAt(src, lastEscaped);
        message += `; the '"' at ${q.line}:${q.column} is escaped by the backslash before it, and a value cannot end with a backslash`;
      }
      throw this.fail(this.len, message);
    }
    // flex takes the longest token: `"a"b` is one bare word when no bare-word stop lies inside.
    if (close + 1 < this.len && isBareChar(src.charCodeAt(close + 1)) && this.bareReaches(start, close)) {
      return this.readBareFrom(start);
    }
    this.pos = close + 1;
    let value = src.slice(start + 1, close);
    if (value.indexOf('\\"') !== -1) value = value.replaceAll('\\"', '"');
    const cdata = value.indexOf(']]>');
    if (cdata !== -1) {
      throw this.fail(
        src.indexOf(']]>', start),
        `value of "${where}" contains "]]>", which OpenNebula refuses (it would end the XML CDATA section)`,
      );
    }
    return value;
  }

  private bareReaches(start: number, end: number): boolean {
    for (let p = start; p <= end; p++) if (!isBareChar(this.src.charCodeAt(p))) return false;
    return true;
  }

  private readBareFrom(start: number): string {
    let p = start;
    while (p < this.len && isBareChar(this.src.charCodeAt(p))) p++;
    this.pos = p;
    const word = this.src.slice(start, p);
    return word.indexOf('\\"') === -1 ? word : word.replaceAll('\\"', '"');
  }

  private parseVector(name: string, open: number): VectorValue {
    const src = this.src;
    this.pos = open + 1;
    const vector: Record<string, string> = {};
    let sorted = true;
    let last = '';
    this.skipTrivia();
    if (src.charCodeAt(this.pos) === CLOSE) {
      this.pos++;
      return vector;
    }
    for (;;) {
      const at = this.pos;
      if (at >= this.len) throw this.unterminatedVector(name, open);
      if (!isNameChar(src.charCodeAt(at))) {
        throw this.fail(
          at,
          `expected a sub-attribute name in vector "${name}", found ${describeChar(src, at)}`,
        );
      }
      const sub = this.readName();
      const where = `${name}/${sub}`;
      this.skipTrivia();
      if (src.charCodeAt(this.pos) !== EQUAL) {
        if (this.pos >= this.len) throw this.unterminatedVector(name, open);
        throw this.fail(this.pos, `expected "=" after "${where}", found ${describeChar(src, this.pos)}`);
      }
      this.pos++;
      this.skipBlanks();
      const v = this.pos;
      const c = src.charCodeAt(v);
      if (v >= this.len) throw this.unterminatedVector(name, open);
      if (c === LF || c === CR) {
        throw this.fail(
          v,
          `missing value for "${where}": inside a vector an empty value must be written ${sub} = ""`,
        );
      }
      if (c === OPEN) throw this.fail(v, `vector attributes cannot nest ("${where}" opens a "[")`);
      const value = this.readValue(where);
      if (sorted && sub <= last) sorted = false;
      last = sub;
      vector[sub] = value;
      this.skipTrivia();
      const sep = src.charCodeAt(this.pos);
      if (sep === COMMA) {
        const comma = this.pos;
        this.pos++;
        this.skipTrivia();
        if (src.charCodeAt(this.pos) === CLOSE) {
          throw this.fail(
            comma,
            `trailing "," before "]" in vector "${name}": OpenNebula expects another element after ","`,
          );
        }
      } else if (sep === CLOSE) {
        this.pos++;
        break;
      } else if (this.pos >= this.len) {
        throw this.unterminatedVector(name, open);
      } else {
        throw this.fail(
          this.pos,
          `expected "," or "]" after the value of "${where}", found ${describeChar(src, this.pos)}`,
        );
      }
    }
    if (sorted) return vector;
    const ordered: Record<string, string> = {};
    for (const key of Object.keys(vector).sort()) ordered[key] = vector[key]!;
    return ordered;
  }

  private unterminatedVector(name: string, open: number): TemplateSyntaxError {
    const at = positionAt(this.src, open);
    return this.fail(
      this.len,
      `unterminated vector "${name}" starting at ${at.line}:${at.column} (missing "]")`,
    );
  }
}

function lastPart(where: string): string {
  const slash = where.indexOf('/');
  return slash === -1 ? where : where.slice(slash + 1);
}
