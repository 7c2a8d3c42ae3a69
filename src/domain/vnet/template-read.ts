/**
 * Small readers over the template data model (template/types.ts), local to vnet so this folder
 * depends only on the types, not on the parser.
 */
import type { Template, VectorValue } from '../template/types.js';

/** First single (string) value of NAME, or undefined. A vector under that name does not count. */
export function singleValue(template: Template, name: string): string | undefined {
  for (const value of template[name] ?? []) {
    if (typeof value === 'string') return value;
  }
  return undefined;
}

/** All vector values of NAME, in order. */
export function vectorValues(template: Template, name: string): VectorValue[] {
  return (template[name] ?? []).filter((v): v is VectorValue => typeof v !== 'string');
}

/** A sub-attribute of a vector; empty strings read as absent, as OpenNebula's vector_value does. */
export function vectorField(vector: VectorValue, name: string): string | undefined {
  const value = vector[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** Non-negative decimal integer, or undefined when the text is not one. */
export function parseCount(text: string): number | undefined {
  if (!/^[0-9]+$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** OpenNebula booleans in templates: YES/NO (any case); also TRUE/FALSE. */
export function parseYesNo(text: string): boolean | undefined {
  const upper = text.trim().toUpperCase();
  if (upper === 'YES' || upper === 'TRUE') return true;
  if (upper === 'NO' || upper === 'FALSE') return false;
  return undefined;
}

/** A comma-separated list of ids ("0, 100"), deduplicated and sorted like std::set<int>. */
export function parseIdList(text: string): number[] | undefined {
  const ids = new Set<number>();
  for (const part of text.split(',')) {
    const trimmed = part.trim();
    if (trimmed === '') continue;
    const id = parseCount(trimmed);
    if (id === undefined) return undefined;
    ids.add(id);
  }
  return [...ids].sort((a, b) => a - b);
}
