/**
 * OpenNebula's scheduler expressions (reference §5.2): boolean requirements
 * (`SCHED_REQUIREMENTS`, `SCHED_DS_REQUIREMENTS`) and arithmetic ranks (`SCHED_RANK`). Parsed once
 * and compiled to closures over a variable lookup; a syntax error names its column.
 *
 * Requirements follow `expr_bool.y`: `=`, `!=`, `>`, `<`, `@>` against a number or a string (a
 * string compares with shell wildcards), `&`, `|`, `!` and parentheses. `!`, `&` and `|` share
 * ONE precedence level and group left to right: `A | B & C` is `(A | B) & C` — an expression
 * that mixes `&` and `|` without parentheses gets a warning. A missing attribute compares false;
 * an empty expression is true. `CURRENT_VMS = 5` asks whether VM 5 is on the host.
 */
import { fail, ok, type Result } from '../domain/errors.js';

/** Every value of an attribute (several for multi-valued ones), or undefined when it is missing. */
export type Lookup = (name: string) => readonly string[] | undefined;

export interface CompiledRequirement {
  readonly source: string;
  readonly test: (lookup: Lookup) => boolean;
  /** Grouping warnings (`&` and `|` mixed without parentheses). */
  readonly warnings: readonly string[];
  /** The attribute names the expression reads (upper case). */
  readonly variables: ReadonlySet<string>;
}

export interface CompiledRank {
  readonly source: string;
  /** Evaluated as a float, rounded like OpenNebula; a missing variable counts 0. */
  readonly rank: (lookup: Lookup) => number;
  /** The attribute names the expression reads (upper case). */
  readonly variables: ReadonlySet<string>;
}

// ---- tokens ----------------------------------------------------------------------------------

type TokenKind = 'name' | 'string' | 'number' | 'op' | 'end';
interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  /** 1-based column. */
  readonly column: number;
}

class SyntaxFailure extends Error {
  constructor(
    message: string,
    readonly column: number,
  ) {
    super(message);
  }
}

function tokenize(source: string, ops: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const column = i + 1;
    if (c === '"') {
      const end = source.indexOf('"', i + 1);
      if (end < 0) throw new SyntaxFailure('unterminated string', column);
      tokens.push({ kind: 'string', text: source.slice(i + 1, end), column });
      i = end + 1;
      continue;
    }
    const number = /^\d+(\.\d+)?/.exec(source.slice(i));
    if (number !== null) {
      tokens.push({ kind: 'number', text: number[0], column });
      i += number[0].length;
      continue;
    }
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(source.slice(i));
    if (name !== null) {
      tokens.push({ kind: 'name', text: name[0], column });
      i += name[0].length;
      continue;
    }
    if (c === '@' && source[i + 1] === '>' && ops.includes('@')) {
      tokens.push({ kind: 'op', text: '@>', column });
      i += 2;
      continue;
    }
    if (ops.includes(c)) {
      tokens.push({ kind: 'op', text: c, column });
      i++;
      continue;
    }
    throw new SyntaxFailure(`unexpected character "${c}"`, column);
  }
  tokens.push({ kind: 'end', text: '', column: source.length + 1 });
  return tokens;
}

class Cursor {
  #i = 0;
  /** Attribute names met while parsing. */
  readonly variables = new Set<string>();
  constructor(readonly tokens: readonly Token[]) {}
  peek(): Token {
    return this.tokens[this.#i]!;
  }
  next(): Token {
    const t = this.tokens[this.#i]!;
    if (t.kind !== 'end') this.#i++;
    return t;
  }
  isOp(text: string): boolean {
    const t = this.peek();
    return t.kind === 'op' && t.text === text;
  }
  expect(text: string, what: string): void {
    if (!this.isOp(text))
      throw new SyntaxFailure(`expected ${what}, found ${describe(this.peek())}`, this.peek().column);
    this.next();
  }
}

function describe(t: Token): string {
  if (t.kind === 'end') return 'the end of the expression';
  if (t.kind === 'string') return `"${t.text}"`;
  return `"${t.text}"`;
}

// ---- shell wildcards ---------------------------------------------------------------------------

/** `fnmatch` without flags: `*`, `?`, `[abc]`, `[a-z]`, `[!a]`; `\` escapes. */
export function wildcardMatch(pattern: string, value: string): boolean {
  return wildcardMatcher(pattern)(value);
}

/** A matcher for one pattern, built once: a plain comparison when it has no wildcard. */
export function wildcardMatcher(pattern: string): (value: string) => boolean {
  if (!/[*?[\\]/.test(pattern)) return (value) => value === pattern;
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '\\' && i + 1 < pattern.length) re += escapeRe(pattern[++i]!);
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) {
        re += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, end);
      const negate = body.startsWith('!');
      if (negate) body = body.slice(1);
      re += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = end;
    } else re += escapeRe(c);
  }
  const compiled = new RegExp(`${re}$`, 's');
  return (value) => compiled.test(value);
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

// ---- requirements ------------------------------------------------------------------------------

type Test = (lookup: Lookup) => boolean;

const numeric = (text: string): number | undefined => {
  const t = text.trim();
  return /^-?\d+(\.\d+)?$/.test(t) ? Number(t) : undefined;
};

function comparison(cursor: Cursor): Test {
  const variable = cursor.next();
  if (variable.kind !== 'name' && variable.kind !== 'string') {
    throw new SyntaxFailure(`expected an attribute name, found ${describe(variable)}`, variable.column);
  }
  const name = variable.text.toUpperCase();
  cursor.variables.add(name);
  const opToken = cursor.next();
  let op: string;
  if (opToken.kind === 'op' && opToken.text === '!') {
    cursor.expect('=', '"=" after "!"');
    op = '!=';
  } else if (opToken.kind === 'op' && ['=', '>', '<', '@>'].includes(opToken.text)) {
    op = opToken.text;
  } else {
    throw new SyntaxFailure(
      `expected =, !=, >, < or @> after ${name}, found ${describe(opToken)}`,
      opToken.column,
    );
  }
  let negative = false;
  if (cursor.isOp('-')) {
    cursor.next();
    negative = true;
  }
  const operand = cursor.next();
  if (operand.kind !== 'number' && operand.kind !== 'name' && operand.kind !== 'string') {
    throw new SyntaxFailure(
      `expected a number or a string after ${op}, found ${describe(operand)}`,
      operand.column,
    );
  }
  if (operand.kind !== 'number' && negative) throw new SyntaxFailure('"-" before a string', operand.column);
  if (operand.kind !== 'number' && (op === '>' || op === '<')) {
    throw new SyntaxFailure(`${op} compares numbers; "${operand.text}" is a string`, operand.column);
  }

  if (name === 'CURRENT_VMS') {
    if (op !== '=' && op !== '!=') throw new SyntaxFailure('CURRENT_VMS takes only = and !=', opToken.column);
    const id = operand.text;
    return (lookup) => {
      const has = (lookup(name) ?? []).some((v) => v === id);
      return op === '=' ? has : !has;
    };
  }
  if (operand.kind === 'number') {
    const target = Number(operand.text) * (negative ? -1 : 1);
    const cmp = (v: string): boolean | undefined => {
      const n = numeric(v);
      if (n === undefined) return undefined;
      switch (op) {
        case '=':
        case '@>':
          return n === target;
        case '!=':
          return n !== target;
        case '>':
          return n > target;
        default:
          return n < target;
      }
    };
    return (lookup) => {
      const values = lookup(name);
      if (values === undefined || values.length === 0) return false;
      if (op === '@>') return values.some((v) => cmp(v) === true);
      return cmp(values[0]!) === true;
    };
  }
  const match = wildcardMatcher(operand.text);
  return (lookup) => {
    const values = lookup(name);
    if (values === undefined || values.length === 0) return false;
    if (op === '@>') return values.some(match);
    const matches = match(values[0]!);
    return op === '=' ? matches : !matches;
  };
}

interface Level {
  sawAnd: boolean;
  sawOr: boolean;
}

function booleanExpr(cursor: Cursor, warnings: string[], source: string): Test {
  const level: Level = { sawAnd: false, sawOr: false };
  let left = unary(cursor, warnings, source);
  for (;;) {
    if (cursor.isOp('&') || cursor.isOp('|')) {
      const op = cursor.next();
      if (op.text === '&') level.sawAnd = true;
      else level.sawOr = true;
      const right = unary(cursor, warnings, source);
      const l = left;
      left = op.text === '&' ? (k) => l(k) && right(k) : (k) => l(k) || right(k);
      continue;
    }
    break;
  }
  if (level.sawAnd && level.sawOr) {
    warnings.push(
      'the expression mixes & and | without parentheses: OpenNebula groups them left to right (A | B & C means (A | B) & C); add parentheses to say what you mean',
    );
  }
  return left;
}

function unary(cursor: Cursor, warnings: string[], source: string): Test {
  if (cursor.isOp('!')) {
    cursor.next();
    const inner = unary(cursor, warnings, source);
    return (k) => !inner(k);
  }
  if (cursor.isOp('(')) {
    const open = cursor.next();
    const inner = booleanExpr(cursor, warnings, source);
    if (!cursor.isOp(')'))
      throw new SyntaxFailure(`"(" at column ${open.column} is not closed`, cursor.peek().column);
    cursor.next();
    return inner;
  }
  return comparison(cursor);
}

/** Compiles a requirement expression, or says where it is wrong (`EXPRESSION_SYNTAX`, column). */
export function compileRequirement(source: string): Result<CompiledRequirement> {
  if (source.trim() === '') return ok({ source, test: () => true, warnings: [], variables: new Set() });
  try {
    const cursor = new Cursor(tokenize(source, '@!&|=><()-'));
    const warnings: string[] = [];
    const test = booleanExpr(cursor, warnings, source);
    const rest = cursor.peek();
    if (rest.kind !== 'end') throw new SyntaxFailure(`unexpected ${describe(rest)}`, rest.column);
    return ok({ source, test, warnings, variables: cursor.variables });
  } catch (e) {
    if (e instanceof SyntaxFailure) {
      return fail('EXPRESSION_SYNTAX', `syntax error at column ${e.column}: ${e.message}`);
    }
    throw e;
  }
}

// ---- ranks -------------------------------------------------------------------------------------

type Value = (lookup: Lookup) => number;

function sum(cursor: Cursor): Value {
  let left = product(cursor);
  while (cursor.isOp('+') || cursor.isOp('-')) {
    const op = cursor.next().text;
    const right = product(cursor);
    const l = left;
    left = op === '+' ? (k) => l(k) + right(k) : (k) => l(k) - right(k);
  }
  return left;
}

function product(cursor: Cursor): Value {
  let left = factor(cursor);
  while (cursor.isOp('*') || cursor.isOp('/')) {
    const op = cursor.next().text;
    const right = factor(cursor);
    const l = left;
    left =
      op === '*'
        ? (k) => l(k) * right(k)
        : (k) => {
            const d = right(k);
            return d === 0 ? 0 : l(k) / d;
          };
  }
  return left;
}

function factor(cursor: Cursor): Value {
  if (cursor.isOp('-')) {
    cursor.next();
    const inner = factor(cursor);
    return (k) => -inner(k);
  }
  if (cursor.isOp('(')) {
    const open = cursor.next();
    const inner = sum(cursor);
    if (!cursor.isOp(')'))
      throw new SyntaxFailure(`"(" at column ${open.column} is not closed`, cursor.peek().column);
    cursor.next();
    return inner;
  }
  const t = cursor.next();
  if (t.kind === 'number') {
    const n = Number(t.text);
    return () => n;
  }
  if (t.kind === 'name' || t.kind === 'string') {
    const name = t.text.toUpperCase();
    cursor.variables.add(name);
    return (lookup) => {
      const v = lookup(name)?.[0];
      const n = v === undefined ? undefined : numeric(v);
      return n ?? 0;
    };
  }
  throw new SyntaxFailure(`expected a number, an attribute or "(", found ${describe(t)}`, t.column);
}

/** Compiles a rank expression, or says where it is wrong. */
export function compileRank(source: string): Result<CompiledRank> {
  if (source.trim() === '') return ok({ source, rank: () => 0, variables: new Set() });
  try {
    const cursor = new Cursor(tokenize(source, '+-*/()'));
    const value = sum(cursor);
    const rest = cursor.peek();
    if (rest.kind !== 'end') throw new SyntaxFailure(`unexpected ${describe(rest)}`, rest.column);
    return ok({ source, rank: (k) => Math.round(value(k)) + 0, variables: cursor.variables });
  } catch (e) {
    if (e instanceof SyntaxFailure) {
      return fail('EXPRESSION_SYNTAX', `syntax error at column ${e.column}: ${e.message}`);
    }
    throw e;
  }
}
