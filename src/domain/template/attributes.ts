/**
 * Reading and editing templates. Every function is pure: it returns a new template (names in
 * canonical order) and leaves its argument untouched. Names are matched like the parsers store
 * them (case-insensitive; see names.ts), so `getSingle(t, 'memory')` finds MEMORY.
 */
import { invalidTemplate } from './errors.js';
import { isNameText, storedAttributeName } from './names.js';
import type { Template, TemplateValue, VectorValue } from './types.js';

function storedName(name: string): string {
  if (!isNameText(name))
    throw invalidTemplate(`attribute name "${name}" must be made of A-Z, a-z, 0-9 and "_"`, name);
  return storedAttributeName(name);
}

function valuesOf(template: Template, name: string): readonly TemplateValue[] {
  const stored = storedName(name);
  return Object.hasOwn(template, stored) ? template[stored]! : [];
}

function normalizedVector(vector: Readonly<Record<string, string>>, field: string): VectorValue {
  const subs = new Map<string, string>();
  for (const key of Object.keys(vector)) {
    if (!isNameText(key))
      throw invalidTemplate(
        `sub-attribute name "${key}" must be made of A-Z, a-z, 0-9 and "_"`,
        `${field}/${key}`,
      );
    subs.set(key.toUpperCase(), vector[key]!);
  }
  const out: Record<string, string> = {};
  for (const key of [...subs.keys()].sort()) out[key] = subs.get(key)!;
  return out;
}

function normalizedValue(value: TemplateValue, field: string): TemplateValue {
  return typeof value === 'string' ? value : normalizedVector(value, field);
}

/** The template with `name` holding `values` (none: removed), names in canonical order. */
function withAttribute(template: Template, name: string, values: readonly TemplateValue[]): Template {
  const out: Record<string, readonly TemplateValue[]> = {};
  const names = Object.hasOwn(template, name) ? Object.keys(template) : [...Object.keys(template), name];
  for (const key of names.sort()) {
    if (key !== name) out[key] = template[key]!;
    else if (values.length > 0) out[key] = values;
  }
  return out;
}

/** Names of the attributes, in canonical (alphabetical) order. */
export function attributeNames(template: Template): string[] {
  return Object.keys(template).sort();
}

/** The first single value of an attribute (OpenNebula's `Template::get`), or undefined. */
export function getSingle(template: Template, name: string): string | undefined {
  for (const value of valuesOf(template, name)) if (typeof value === 'string') return value;
  return undefined;
}

/** Every single value of an attribute, in order. */
export function getSingles(template: Template, name: string): string[] {
  return valuesOf(template, name).filter((v): v is string => typeof v === 'string');
}

/** Every vector value of an attribute (all DISKs, all NICs), in order. */
export function getVectors(template: Template, name: string): VectorValue[] {
  return valuesOf(template, name).filter((v): v is VectorValue => typeof v !== 'string');
}

/** The first vector value of an attribute, or undefined. */
export function getVector(template: Template, name: string): VectorValue | undefined {
  for (const value of valuesOf(template, name)) if (typeof value !== 'string') return value;
  return undefined;
}

/** A sub-attribute of the first vector with that name (`$NIC[IP]`), or undefined. */
export function getVectorValue(template: Template, name: string, sub: string): string | undefined {
  const vector = getVector(template, name);
  const key = sub.toUpperCase();
  return vector !== undefined && Object.hasOwn(vector, key) ? vector[key] : undefined;
}

/** Replaces every value of `name` with the given ones (none removes the attribute). */
export function replaceAttribute(
  template: Template,
  name: string,
  values: readonly TemplateValue[],
): Template {
  const stored = storedName(name);
  return withAttribute(
    template,
    stored,
    values.map((v, i) => normalizedValue(v, values.length > 1 ? `${stored}[${i}]` : stored)),
  );
}

/** Sets a single attribute, replacing every value of that name (OpenNebula's `Template::replace`). */
export function setSingle(template: Template, name: string, value: string): Template {
  return replaceAttribute(template, name, [value]);
}

/** Sets one vector attribute, replacing every value of that name. */
export function setVector(
  template: Template,
  name: string,
  vector: Readonly<Record<string, string>>,
): Template {
  return replaceAttribute(template, name, [vector]);
}

/** Appends a value after the existing ones of that name (another DISK, another NIC). */
export function addAttribute(template: Template, name: string, value: TemplateValue): Template {
  const stored = storedName(name);
  const before = Object.hasOwn(template, stored) ? template[stored]! : [];
  return withAttribute(template, stored, [...before, normalizedValue(value, `${stored}[${before.length}]`)]);
}

/** Removes every value of an attribute. */
export function removeAttribute(template: Template, name: string): Template {
  return withAttribute(template, storedName(name), []);
}

/**
 * OpenNebula's update merge (`Template::merge`, one:src/template/Template.cc; `update` type 1,
 * `instantiate` extra template): every name present in `update` replaces all values of that name
 * in `base` (single and vector attributes alike, so a DISK in the update replaces all DISKs), and
 * an empty vector in the update removes the attribute without adding anything.
 */
export function mergeTemplate(base: Template, update: Template): Template {
  const out: Record<string, readonly TemplateValue[]> = {};
  for (const name of new Set([...Object.keys(base), ...Object.keys(update)])) {
    if (!Object.hasOwn(update, name)) {
      out[name] = base[name]!;
      continue;
    }
    const kept = update[name]!.filter((v) => typeof v === 'string' || Object.keys(v).length > 0);
    if (kept.length > 0) out[name] = kept;
  }
  const sorted: Record<string, readonly TemplateValue[]> = {};
  for (const name of Object.keys(out).sort()) sorted[name] = out[name]!;
  return sorted;
}

/** Builds a template from (name, value) pairs in order; names are stored as the parsers store them. */
export function templateFromEntries(entries: Iterable<readonly [string, TemplateValue]>): Template {
  const grouped = new Map<string, TemplateValue[]>();
  for (const [name, value] of entries) {
    const stored = storedName(name);
    const values = grouped.get(stored);
    const normalized = normalizedValue(value, stored);
    if (values === undefined) grouped.set(stored, [normalized]);
    else values.push(normalized);
  }
  const out: Record<string, TemplateValue[]> = {};
  for (const name of [...grouped.keys()].sort()) out[name] = grouped.get(name)!;
  return out;
}
