import { NimbusError } from '../errors.js';

/** A template (text or XML form) that does not parse; line and column are 1-based. */
export class TemplateSyntaxError extends NimbusError {
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super('TEMPLATE_SYNTAX', message);
    this.name = 'TemplateSyntaxError';
  }
}

/** A malformed `$VARIABLE` reference inside a template value; line and column are 1-based. */
export class TemplateVariableError extends NimbusError {
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super('TEMPLATE_VARIABLE', message);
    this.name = 'TemplateVariableError';
  }
}

/** A template value the requested form cannot carry without changing it. */
export function unrepresentable(message: string, field: string): NimbusError {
  return new NimbusError('TEMPLATE_UNREPRESENTABLE', message, field);
}

/** A template-shaped input (JSON, helper arguments) that breaks the data model. */
export function invalidTemplate(message: string, field?: string): NimbusError {
  return new NimbusError('TEMPLATE_INVALID', message, field);
}

/** 1-based line and column (in code points, as editors count) of a UTF-16 offset. */
export function positionAt(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  let column = 1;
  for (let i = lineStart; i < offset && i < text.length; i++) {
    const c = text.charCodeAt(i);
    // The low half of a surrogate pair is the same character as its high half.
    if (c < 0xdc00 || c > 0xdfff || i === lineStart || !isHighSurrogate(text.charCodeAt(i - 1))) column++;
  }
  return { line, column };
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

/** How a character appears in an error message: `"x"`, `'"'`, or a description. */
export function describeChar(text: string, offset: number): string {
  if (offset >= text.length) return 'end of input';
  const c = text.codePointAt(offset) ?? 0;
  if (c === 0x0a || (c === 0x0d && text.charCodeAt(offset + 1) === 0x0a)) return 'end of line';
  if (c === 0x22) return `'"'`;
  if (c < 0x20 || c === 0x7f) return `character U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
  return `"${String.fromCodePoint(c)}"`;
}
