/**
 * The canonical text form: names alphabetical (OpenNebula's std::multimap order), repeated
 * attributes in order, one attribute per line, every value double-quoted with `"` written `\"`:
 *
 *   CPU = "1"
 *   DISK = [
 *     IMAGE = "debian",
 *     SIZE = "10240" ]
 *   NIC_DEFAULT = [ ]
 *
 * parseTemplate(serializeTemplate(t)) equals t for every template this accepts; anything it
 * cannot write faithfully is refused with TEMPLATE_UNREPRESENTABLE, never altered.
 */
import { unrepresentable } from './errors.js';
import {
  attributeValues,
  checkedVector,
  endsWithBackslash,
  storedNameProblem,
  storedSubNameProblem,
  valueProblem,
} from './names.js';
import type { Template, VectorValue } from './types.js';

export function serializeTemplate(template: Template): string {
  const out: string[] = [];
  for (const name of Object.keys(template).sort()) {
    const problem = storedNameProblem(name);
    if (problem !== undefined) throw unrepresentable(problem, name);
    const values = attributeValues(template, name);
    for (let i = 0; i < values.length; i++) {
      const value = values[i]!;
      const field = values.length > 1 ? `${name}[${i}]` : name;
      if (typeof value === 'string') out.push(`${name} = ${quote(value, field)}\n`);
      else out.push(vectorText(name, checkedVector(value, field), field));
    }
  }
  return out.join('');
}

function vectorText(name: string, vector: VectorValue, field: string): string {
  const keys = Object.keys(vector).sort();
  if (keys.length === 0) return `${name} = [ ]\n`;
  const lines: string[] = [];
  for (const key of keys) {
    const problem = storedSubNameProblem(key);
    if (problem !== undefined) throw unrepresentable(problem, `${field}/${key}`);
    lines.push(`  ${key} = ${quote(vector[key]!, `${field}/${key}`)}`);
  }
  return `${name} = [\n${lines.join(',\n')} ]\n`;
}

function quote(value: string, field: string): string {
  if (typeof value !== 'string') throw unrepresentable(`value of "${field}" is not a string`, field);
  const problem = valueProblem(value);
  if (problem !== undefined) throw unrepresentable(`value of "${field}" ${problem}`, field);
  if (endsWithBackslash(value)) {
    throw unrepresentable(
      `value of "${field}" ends with a backslash, which the text form cannot write (\\" before the closing quote reads as an escaped quote)`,
      field,
    );
  }
  return value.indexOf('"') === -1 ? `"${value}"` : `"${value.replaceAll('"', '\\"')}"`;
}
