/**
 * The JSON form used by the REST API and `nimbus template parse`:
 * `{"CPU":"1","DISK":[{"IMAGE":"a"},{"IMAGE":"b"}],"LABELS":["x","y"]}` — a single attribute that
 * appears once is a string, one that appears more than once an array of strings, a vector
 * attribute always an array of objects (a name with both kinds is an array of both, in order).
 *
 * Reading is stricter than writing is varied: names are matched case-insensitively and stored as
 * the text form stores them (see names.ts); a number is taken as its decimal text; an object
 * standing alone is read as one vector (Sunstone sends `"DISK": {...}`); an empty array means no
 * value. Booleans, null, nested arrays and objects inside a vector are refused with the field path
 * (`DISK[1]/SIZE`), as is any value no template form could store.
 */
import type { Result } from '../errors.js';
import { fail, ok } from '../errors.js';
import { invalidTemplate } from './errors.js';
import {
  endsWithBackslash,
  isNameText,
  storedAttributeName,
  storedNameProblem,
  storedSubNameProblem,
  valueProblem,
  xmlSubNameProblem,
} from './names.js';
import type { Template, TemplateJson, TemplateValue, VectorValue } from './types.js';

export function templateToJson(template: Template): TemplateJson {
  const out: Record<string, string | (string | VectorValue)[]> = {};
  for (const name of Object.keys(template).sort()) {
    const values = template[name]!;
    if (values.length === 1 && typeof values[0] === 'string') {
      out[name] = values[0];
    } else {
      out[name] = values.map((v) => (typeof v === 'string' ? v : sortedCopy(v)));
    }
  }
  return out;
}

function sortedCopy(vector: VectorValue): VectorValue {
  const copy: Record<string, string> = {};
  for (const key of Object.keys(vector).sort()) copy[key] = vector[key]!;
  return copy;
}

/** Reads the JSON form (already JSON.parse'd). Throws NimbusError TEMPLATE_INVALID with `field`. */
export function templateFromJson(json: unknown): Template {
  if (!isPlainObject(json)) {
    throw invalidTemplate(`a template in JSON must be an object of attributes, not ${kindOf(json)}`);
  }
  const attributes = new Map<string, TemplateValue[]>();
  const spelled = new Map<string, string>();
  for (const key of Object.keys(json)) {
    if (!isNameText(key))
      throw invalidTemplate(`attribute name "${key}" must be made of A-Z, a-z, 0-9 and "_"`, key);
    const name = storedAttributeName(key);
    const before = spelled.get(name);
    if (before !== undefined) {
      throw invalidTemplate(
        `"${before}" and "${key}" name the same attribute ${name}; give its values once, as an array`,
        key,
      );
    }
    spelled.set(name, key);
    const raw = json[key];
    const values: TemplateValue[] = [];
    if (Array.isArray(raw)) {
      raw.forEach((item: unknown, i) => values.push(readValue(item, `${name}[${i}]`, false)));
    } else {
      values.push(readValue(raw, name, true));
    }
    if (values.length > 0) attributes.set(name, values);
  }
  const out: Record<string, TemplateValue[]> = {};
  for (const name of [...attributes.keys()].sort()) out[name] = attributes.get(name)!;
  return out;
}

function readValue(raw: unknown, field: string, topLevel: boolean): TemplateValue {
  if (isPlainObject(raw)) return readVector(raw, field);
  if (Array.isArray(raw)) {
    throw invalidTemplate(
      `"${field}" is an array inside an array; give one value or vector per element`,
      field,
    );
  }
  return readScalar(
    raw,
    field,
    topLevel
      ? 'a string, a number, an object (vector) or an array of those'
      : 'a string, a number or an object (vector)',
  );
}

function readVector(raw: Record<string, unknown>, field: string): VectorValue {
  const subs = new Map<string, string>();
  const spelled = new Map<string, string>();
  for (const key of Object.keys(raw)) {
    const path = `${field}/${key}`;
    if (!isNameText(key))
      throw invalidTemplate(`sub-attribute name "${key}" must be made of A-Z, a-z, 0-9 and "_"`, path);
    const sub = key.toUpperCase();
    const xmlProblem = xmlSubNameProblem(sub);
    if (xmlProblem !== undefined) throw invalidTemplate(xmlProblem, path);
    const before = spelled.get(sub);
    if (before !== undefined)
      throw invalidTemplate(`"${before}" and "${key}" name the same sub-attribute ${field}/${sub}`, path);
    spelled.set(sub, key);
    const value = raw[key];
    if (isPlainObject(value) || Array.isArray(value)) {
      throw invalidTemplate(
        `"${field}/${sub}" is ${kindOf(value)}: vector attributes cannot nest`,
        `${field}/${sub}`,
      );
    }
    subs.set(sub, readScalar(value, `${field}/${sub}`, 'a string or a number'));
  }
  const vector: Record<string, string> = {};
  for (const key of [...subs.keys()].sort()) vector[key] = subs.get(key)!;
  return vector;
}

function readScalar(raw: unknown, field: string, expected: string): string {
  let value: string;
  if (typeof raw === 'string') {
    value = raw;
  } else if (typeof raw === 'number' && Number.isFinite(raw)) {
    value = String(raw);
  } else if (typeof raw === 'boolean') {
    throw invalidTemplate(`"${field}" is a boolean; OpenNebula templates say "YES" or "NO"`, field);
  } else {
    throw invalidTemplate(`"${field}" must be ${expected}, not ${kindOf(raw)}`, field);
  }
  const problem = storableProblem(value);
  if (problem !== undefined) throw invalidTemplate(`value of "${field}" ${problem}`, field);
  return value;
}

/** Why a value cannot be stored and written in every template form (text, XML, JSON). */
function storableProblem(value: string): string | undefined {
  const problem = valueProblem(value);
  if (problem !== undefined) return problem;
  if (endsWithBackslash(value)) return 'ends with a backslash, which the OpenNebula text form cannot write';
  return undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return `the number ${String(value)}`;
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

/**
 * Checks a value claims to be a Template (for input built outside the parsers, e.g. from JSON):
 * stored names, non-empty value lists, string values, flat vectors, and values every form can
 * write. Returns the template itself when it is valid.
 */
export function validateTemplate(value: unknown): Result<Template> {
  if (!isPlainObject(value))
    return fail('TEMPLATE_INVALID', `a template must be an object of attributes, not ${kindOf(value)}`);
  for (const name of Object.keys(value)) {
    const nameProblem = storedNameProblem(name);
    if (nameProblem !== undefined) return fail('TEMPLATE_INVALID', nameProblem, name);
    const values = value[name];
    if (!Array.isArray(values) || values.length === 0) {
      return fail('TEMPLATE_INVALID', `"${name}" must be a non-empty array of values`, name);
    }
    for (let i = 0; i < values.length; i++) {
      const item: unknown = values[i];
      const field = values.length > 1 ? `${name}[${i}]` : name;
      if (typeof item === 'string') {
        const problem = storableProblem(item);
        if (problem !== undefined) return fail('TEMPLATE_INVALID', `value of "${field}" ${problem}`, field);
      } else if (isPlainObject(item)) {
        for (const sub of Object.keys(item)) {
          const path = `${field}/${sub}`;
          const subProblem = storedSubNameProblem(sub) ?? xmlSubNameProblem(sub);
          if (subProblem !== undefined) return fail('TEMPLATE_INVALID', subProblem, path);
          const subValue = item[sub];
          if (typeof subValue !== 'string') {
            return fail('TEMPLATE_INVALID', `"${path}" must be a string, not ${kindOf(subValue)}`, path);
          }
          const problem = storableProblem(subValue);
          if (problem !== undefined) return fail('TEMPLATE_INVALID', `value of "${path}" ${problem}`, path);
        }
      } else {
        return fail(
          'TEMPLATE_INVALID',
          `"${field}" must be a string or a vector object, not ${kindOf(item)}`,
          field,
        );
      }
    }
  }
  return ok(value as Template);
}
