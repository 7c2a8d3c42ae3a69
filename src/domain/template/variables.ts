/**
 * `$VARIABLE` substitution in template values (reference §4.2), following OpenNebula's
 * one:src/parsers/vm_var_parser.l, vm_var_syntax.y and vm_file_var_syntax.y:
 *
 *   $NAME  $VMID  $CPU ...            a single attribute of the VM
 *   $UID  $UNAME  $GID  $GNAME        the owner
 *   $TEMPLATE                         the whole VM template, XML, base64
 *   $NIC[IP]                          a sub-attribute of the first vector with that name
 *   $NIC[IP, NETWORK="public"]        ... of the first one whose KEY equals the value
 *   $NETWORK[attr, NETWORK_ID=0 | NETWORK="name" | NIC_ID=1]   a virtual network used by a NIC
 *   $IMAGE[attr, IMAGE_ID=3 | IMAGE="name"]                    an image used by a DISK
 *   $USER[attr]                       the owner's user template
 *   $FILE[IMAGE="name"(, IMAGE_UNAME=.. | IMAGE_UID=..)]  $FILE[IMAGE_ID=3]   (FILES_DS etc.)
 *
 * Names, attributes and condition keys are case-insensitive; blanks are allowed inside the
 * brackets, not between the name and "[". A condition value is `"quoted"` (no escapes) or a bare
 * `[A-Za-z0-9_.-]+`. `\$` is a literal "$" (OpenNebula copies the backslash too; reference §4.2
 * and Nimbus drop it); any other backslash is kept. A "$" not followed by a name, or a bracket
 * that is not closed or not of one of the forms above, is an error (OpenNebula: syntax error).
 * Anything that resolves to nothing becomes the empty string.
 */
import { positionAt, TemplateVariableError } from './errors.js';

export interface VariableCondition {
  readonly key: string;
  readonly value: string;
}

interface ReferenceBase {
  /** The reference as written, e.g. `$NIC[IP, NETWORK="public"]`. */
  readonly source: string;
  /** UTF-16 offset of the "$" in the text, and its 1-based line and column. */
  readonly offset: number;
  readonly line: number;
  readonly column: number;
}

export type VariableReference =
  | (ReferenceBase & { readonly kind: 'attribute'; readonly name: string })
  | (ReferenceBase & {
      readonly kind: 'vector';
      readonly name: string;
      readonly attribute: string;
      readonly condition?: VariableCondition;
    })
  | (ReferenceBase & {
      readonly kind: 'file';
      readonly name: 'FILE';
      readonly conditions: readonly VariableCondition[];
    });

export type OwnerField = 'UID' | 'UNAME' | 'GID' | 'GNAME';

/**
 * Where values come from. The controller wires it to the VM, its owner, the network and image
 * pools; createTemplateResolver builds one from a VM template and owner info. Return undefined
 * for "not found": it becomes the empty string.
 */
export interface VariableResolver {
  /** `$NAME`, `$VMID`, `$CPU`: a single attribute of the VM. */
  attribute(name: string): string | undefined;
  /** `$UID`, `$UNAME`, `$GID`, `$GNAME`. */
  owner(field: OwnerField): string | undefined;
  /** `$TEMPLATE`: the whole VM template as base64 XML. */
  template(): string | undefined;
  /** `$NIC[IP]`, `$DISK[SIZE, DISK_ID="0"]`: sub-attribute of the first (matching) vector. */
  vector(name: string, attribute: string, condition?: VariableCondition): string | undefined;
  /** `$NETWORK[attr, key=value]`, key one of NETWORK_ID, NETWORK, NIC_ID. */
  network(attribute: string, condition: VariableCondition): string | undefined;
  /** `$IMAGE[attr, key=value]`, key one of IMAGE_ID, IMAGE. */
  image(attribute: string, condition: VariableCondition): string | undefined;
  /** `$USER[attr]`; attr TEMPLATE is the whole user template as base64 XML. */
  user(attribute: string): string | undefined;
  /** `$FILE[IMAGE=.., IMAGE_UNAME=..]`: the file image's path for FILES_DS, KERNEL_DS, INITRD_DS. */
  file(conditions: readonly VariableCondition[]): string | undefined;
}

const OWNER_FIELDS: ReadonlySet<string> = new Set(['UID', 'UNAME', 'GID', 'GNAME']);
const NETWORK_KEYS: ReadonlySet<string> = new Set(['NETWORK_ID', 'NETWORK', 'NIC_ID']);
const IMAGE_KEYS: ReadonlySet<string> = new Set(['IMAGE_ID', 'IMAGE']);

const DOLLAR = 0x24;
const BACKSLASH = 0x5c;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const COMMA = 0x2c;
const EQUAL = 0x3d;
const QUOTE = 0x22;

function isNameChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}

function isBareValueChar(c: number): boolean {
  return isNameChar(c) || c === 0x2e || c === 0x2d;
}

function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** A reference ends on its line: the end of the text or of the line means a missing "]". */
function endsReference(text: string, offset: number): boolean {
  const c = text.charCodeAt(offset);
  return offset >= text.length || c === 0x0a || c === 0x0d;
}

/** The variables a text references, in order (for validation when a template is created). */
export function listVariables(text: string): VariableReference[] {
  return tokenize(text).filter((part): part is VariableReference => typeof part !== 'string');
}

/** True when the text holds a `$` reference (cheap check before substituting). */
export function hasVariables(text: string): boolean {
  return text.indexOf('$') !== -1;
}

/** Replaces every reference in `text` by its value. Throws TemplateVariableError on malformed ones. */
export function substituteVariables(text: string, resolver: VariableResolver): string {
  if (text.indexOf('$') === -1 && text.indexOf('\\') === -1) return text;
  let out = '';
  for (const part of tokenize(text)) out += typeof part === 'string' ? part : resolveVariable(part, resolver);
  return out;
}

/** The value of one reference, with OpenNebula's rules for which lookups apply. */
export function resolveVariable(reference: VariableReference, resolver: VariableResolver): string {
  switch (reference.kind) {
    case 'attribute':
      if (reference.name === 'TEMPLATE') return resolver.template() ?? '';
      if (OWNER_FIELDS.has(reference.name)) return resolver.owner(reference.name as OwnerField) ?? '';
      return resolver.attribute(reference.name) ?? '';
    case 'file':
      return resolver.file(reference.conditions) ?? '';
    case 'vector': {
      const { name, attribute, condition } = reference;
      if (name === 'NETWORK') {
        return condition !== undefined && NETWORK_KEYS.has(condition.key)
          ? (resolver.network(attribute, condition) ?? '')
          : '';
      }
      if (name === 'IMAGE') {
        return condition !== undefined && IMAGE_KEYS.has(condition.key)
          ? (resolver.image(attribute, condition) ?? '')
          : '';
      }
      if (name === 'USER') return resolver.user(attribute) ?? '';
      return resolver.vector(name, attribute, condition) ?? '';
    }
  }
}

/** Literal pieces (with `\$` already turned into "$") and references, in order. */
function tokenize(text: string): (string | VariableReference)[] {
  const parts: (string | VariableReference)[] = [];
  let literal = '';
  let from = 0;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === BACKSLASH) {
      if (text.charCodeAt(i + 1) === DOLLAR) {
        literal += `${text.slice(from, i)}$`;
        i += 2;
        from = i;
      } else {
        i += 2; // as OpenNebula's lexer: a backslash and the character after it are literal
      }
    } else if (c === DOLLAR) {
      literal += text.slice(from, i);
      if (literal !== '') parts.push(literal);
      literal = '';
      const reference = new ReferenceReader(text, i).read();
      parts.push(reference);
      i = reference.offset + reference.source.length;
      from = i;
    } else {
      i++;
    }
  }
  literal += text.slice(from);
  if (literal !== '') parts.push(literal);
  return parts;
}

interface Item {
  readonly key: string;
  readonly value?: string;
}

class ReferenceReader {
  private pos: number;

  constructor(
    private readonly text: string,
    private readonly start: number,
  ) {
    this.pos = start + 1;
  }

  private fail(offset: number, message: string): TemplateVariableError {
    const { line, column } = positionAt(this.text, offset);
    return new TemplateVariableError(message, line, column);
  }

  private found(offset: number): string {
    if (offset >= this.text.length) return 'end of text';
    const c = this.text.codePointAt(offset)!;
    if (c === 0x0a || c === 0x0d) return 'end of line';
    return `"${String.fromCodePoint(c)}"`;
  }

  private readName(): string {
    const from = this.pos;
    while (isNameChar(this.text.charCodeAt(this.pos))) this.pos++;
    return this.text.slice(from, this.pos).toUpperCase();
  }

  private skipBlanks(): void {
    while (isBlank(this.text.charCodeAt(this.pos))) this.pos++;
  }

  private unterminated(): TemplateVariableError {
    const shown = this.text.slice(this.start, Math.min(this.pos, this.start + 40)).split('\n')[0];
    return this.fail(this.start, `unterminated variable reference "${shown}" (missing "]")`);
  }

  read(): VariableReference {
    const name = this.readName();
    if (name === '') {
      throw this.fail(
        this.start,
        `"$" must be followed by a variable name, found ${this.found(this.pos)} (write \\$ for a literal "$")`,
      );
    }
    if (this.text.charCodeAt(this.pos) !== OPEN) return this.reference({ kind: 'attribute', name });
    this.pos++;
    const items = this.readItems(name);
    if (name === 'FILE') {
      if (items.length > 2 || items.some((item) => item.value === undefined)) {
        throw this.fail(
          this.start,
          `"${this.source()}" is not a file reference: write $FILE[IMAGE="name"] or $FILE[IMAGE_ID=id], optionally followed by IMAGE_UNAME="user" or IMAGE_UID=id`,
        );
      }
      return this.reference({
        kind: 'file',
        name,
        conditions: items.map((item) => ({ key: item.key, value: item.value! })),
      });
    }
    const [first, second] = items;
    if (
      first === undefined ||
      first.value !== undefined ||
      items.length > 2 ||
      (second !== undefined && second.value === undefined)
    ) {
      throw this.fail(
        this.start,
        `"${this.source()}" is not a vector reference: write $${name}[ATTRIBUTE] or $${name}[ATTRIBUTE, KEY="value"]`,
      );
    }
    const condition = second === undefined ? undefined : { key: second.key, value: second.value! };
    return this.reference(
      condition === undefined
        ? { kind: 'vector', name, attribute: first.key }
        : { kind: 'vector', name, attribute: first.key, condition },
    );
  }

  private source(): string {
    return this.text.slice(this.start, this.pos);
  }

  private reference<T extends object>(fields: T): T & ReferenceBase {
    const { line, column } = positionAt(this.text, this.start);
    return { ...fields, source: this.source(), offset: this.start, line, column };
  }

  /** `KEY` or `KEY = value` items up to the closing "]" (pos is just after "["). */
  private readItems(name: string): Item[] {
    const items: Item[] = [];
    const text = this.text;
    this.skipBlanks();
    for (;;) {
      if (endsReference(text, this.pos)) throw this.unterminated();
      const at = this.pos;
      const key = this.readName();
      if (key === '') {
        if (text.charCodeAt(at) === CLOSE && items.length === 0) {
          throw this.fail(at, `empty brackets in "$${name}[]": write $${name}[ATTRIBUTE]`);
        }
        throw this.fail(at, `expected a name inside "$${name}[...]", found ${this.found(at)}`);
      }
      this.skipBlanks();
      let value: string | undefined;
      if (text.charCodeAt(this.pos) === EQUAL) {
        this.pos++;
        this.skipBlanks();
        value = this.readConditionValue(name, key);
        this.skipBlanks();
      }
      items.push(value === undefined ? { key } : { key, value });
      const c = text.charCodeAt(this.pos);
      if (c === COMMA) {
        this.pos++;
        this.skipBlanks();
      } else if (c === CLOSE) {
        this.pos++;
        return items;
      } else if (endsReference(text, this.pos)) {
        throw this.unterminated();
      } else {
        throw this.fail(this.pos, `expected "," or "]" in "$${name}[...]", found ${this.found(this.pos)}`);
      }
    }
  }

  private readConditionValue(name: string, key: string): string {
    const text = this.text;
    const at = this.pos;
    if (text.charCodeAt(at) === QUOTE) {
      const close = text.indexOf('"', at + 1);
      if (close === -1) throw this.fail(at, `unterminated quoted value for ${key} in "$${name}[...]"`);
      this.pos = close + 1;
      return text.slice(at + 1, close);
    }
    while (isBareValueChar(text.charCodeAt(this.pos))) this.pos++;
    if (this.pos === at) {
      if (endsReference(text, at)) throw this.unterminated();
      throw this.fail(
        at,
        `expected a value after "${key}=" in "$${name}[...]", found ${this.found(at)} (quote it: ${key}="...")`,
      );
    }
    return text.slice(at, this.pos);
  }
}
