/**
 * Names and values every template form agrees on.
 *
 * Attribute names are `[A-Za-z0-9_]+`, case-insensitive and stored upper-case. Like OpenNebula's
 * `Attribute` constructor (one:include/Attribute.h), a top-level name that does not start with a
 * letter or "_", or that starts with "XML", is stored with a "ONE_" prefix so it is a valid XML
 * element name (`1A = x` is stored as `ONE_1A`). OpenNebula tests the "XML" prefix case-sensitively
 * on the name as typed; Nimbus tests it on the upper-cased name so `xml_a` and `XML_A` agree.
 * Sub-attribute names of a vector keep their upper-cased form as typed.
 *
 * Every stored key is therefore made of `A-Z 0-9 _` only, which no `Object.prototype` member is
 * (they all contain lower-case letters): templates are plain objects and cannot be polluted.
 */
import { unrepresentable } from './errors.js';
import type { Template, TemplateValue, VectorValue } from './types.js';

const NAME_CHARS = /^[A-Za-z0-9_]+$/;
const STORED_NAME = /^[A-Z_][A-Z0-9_]*$/;
const STORED_SUB_NAME = /^[A-Z0-9_]+$/;

export function isNameText(text: string): boolean {
  return NAME_CHARS.test(text);
}

/** The stored form of a top-level attribute name that matched `[A-Za-z0-9_]+`. */
export function storedAttributeName(text: string): string {
  const upper = text.toUpperCase();
  const first = upper.charCodeAt(0);
  const startsBadly = first >= 0x30 && first <= 0x39;
  return startsBadly || upper.startsWith('XML') ? `ONE_${upper}` : upper;
}

/** Why a top-level key cannot be stored as is, or undefined if it can. */
export function storedNameProblem(name: string): string | undefined {
  if (!STORED_SUB_NAME.test(name)) return `attribute name "${name}" must be made of A-Z, 0-9 and "_"`;
  if (!STORED_NAME.test(name) || name.startsWith('XML')) {
    return `attribute name "${name}" must start with a letter or "_" and not with "XML" (OpenNebula stores it as "${storedAttributeName(name)}")`;
  }
  return undefined;
}

/** Why a sub-attribute key cannot be stored as is, or undefined if it can. */
export function storedSubNameProblem(name: string): string | undefined {
  return STORED_SUB_NAME.test(name)
    ? undefined
    : `sub-attribute name "${name}" must be made of A-Z, 0-9 and "_"`;
}

/** Why a sub-attribute name cannot be an XML element name (it starts with a digit), or undefined. */
export function xmlSubNameProblem(name: string): string | undefined {
  const first = name.charCodeAt(0);
  return first >= 0x30 && first <= 0x39
    ? `sub-attribute name "${name}" starts with a digit, which an XML element name cannot`
    : undefined;
}

/**
 * Characters XML 1.0 cannot carry, not even as references: C0 controls other than tab, LF and CR,
 * U+FFFE, U+FFFF and unpaired surrogates. A template holding one could not be stored or sent in
 * its XML form, so every input path refuses it.
 */
// eslint-disable-next-line no-control-regex -- these control characters are exactly what is refused
const SUSPECT_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/g;

/** Offset of the first character no template may contain, or -1. */
export function forbiddenCharAt(text: string): number {
  SUSPECT_CHAR.lastIndex = 0;
  for (let m = SUSPECT_CHAR.exec(text); m !== null; m = SUSPECT_CHAR.exec(text)) {
    const i = m.index;
    const c = text.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) return i;
    // A surrogate is fine as the first half of a pair; the regex then resumes after the pair.
    const next = text.charCodeAt(i + 1);
    if (c > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) return i;
    SUSPECT_CHAR.lastIndex = i + 2;
  }
  return -1;
}

export function describeForbiddenChar(text: string, offset: number): string {
  const c = text.charCodeAt(offset);
  const hex = c.toString(16).toUpperCase().padStart(4, '0');
  return c >= 0xd800 && c <= 0xdfff ? `unpaired surrogate U+${hex}` : `control character U+${hex}`;
}

/** Why a value cannot be stored (in any form), or undefined if it can. */
export function valueProblem(value: string): string | undefined {
  if (value.includes(']]>'))
    return 'contains "]]>", which OpenNebula refuses (it would end the XML CDATA section)';
  const bad = forbiddenCharAt(value);
  if (bad !== -1) return `contains ${describeForbiddenChar(value, bad)}, which XML cannot carry`;
  return undefined;
}

/** The values of an attribute, refusing what is not a non-empty list (hand-built templates). */
export function attributeValues(template: Template, name: string): readonly TemplateValue[] {
  const values: unknown = template[name];
  if (!Array.isArray(values) || values.length === 0)
    throw unrepresentable(`"${name}" must be a non-empty array of values`, name);
  return values as TemplateValue[];
}

/** A vector value, refusing anything else that is not a string (null, arrays, numbers). */
export function checkedVector(value: unknown, field: string): VectorValue {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw unrepresentable(`value of "${field}" is neither a string nor a vector`, field);
  }
  return value as VectorValue;
}

/** True when the text form cannot write the value: `"...\"` would read as an escaped quote. */
export function endsWithBackslash(value: string): boolean {
  return value.charCodeAt(value.length - 1) === 0x5c;
}
