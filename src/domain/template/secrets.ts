import { mergeTemplate } from './attributes.js';
import type { Template, TemplateValue } from './types.js';

/** Shown in place of a secret (docs/decisions/secrets.md). */
export const REDACTED = '********';

/**
 * Secrets inside templates: context passwords, the VNC/SPICE password (sub-attributes), and a
 * user's TOKEN_PASSWORD / PASSWORD (top-level). Bodies show `********` instead, to everybody.
 */
const SECRET_SUBATTRIBUTES: Readonly<Record<string, readonly string[]>> = {
  CONTEXT: ['PASSWORD', 'PASSWORD_BASE64', 'CRYPTED_PASSWORD', 'CRYPTED_PASSWORD_BASE64'],
  GRAPHICS: ['PASSWD'],
};
const SECRET_ATTRIBUTES: readonly string[] = ['TOKEN_PASSWORD', 'PASSWORD'];

/** A template with its secrets replaced by `********`; everything else is the same object. */
export function redactSecrets(t: Template): Template {
  return mapSecrets(t, () => REDACTED);
}

/**
 * Puts the stored secrets back where an update carries the mask: a client that read a body
 * (secrets shown as `********`) and sends it back must not overwrite the secrets with the mask.
 * A masked value is matched by attribute, position among same-named values, and sub-attribute.
 */
export function restoreSecrets(updated: Template, stored: Template): Template {
  return mapSecrets(updated, (value, name, index, sub) => {
    if (value !== REDACTED) return value;
    const original = stored[name]?.[index];
    if (original === undefined) return value;
    if (sub === undefined) return typeof original === 'string' ? original : value;
    return typeof original === 'string' ? value : (original[sub] ?? value);
  });
}

/** `one.*.update`: replace the template or merge into it, keeping secrets sent back masked. */
export function applyTemplateUpdate(current: Template, update: Template, merge: boolean): Template {
  return restoreSecrets(merge ? mergeTemplate(current, update) : update, current);
}

function mapSecrets(
  t: Template,
  replace: (value: string, name: string, index: number, sub?: string) => string,
): Template {
  let out: Record<string, readonly TemplateValue[]> | null = null;
  const edit = (): Record<string, readonly TemplateValue[]> => (out ??= { ...t });
  for (const name of SECRET_ATTRIBUTES) {
    const values = t[name];
    if (values === undefined) continue;
    const next = values.map((v, i) => (typeof v === 'string' ? replace(v, name, i) : v));
    if (next.some((v, i) => v !== values[i])) edit()[name] = next;
  }
  for (const [name, keys] of Object.entries(SECRET_SUBATTRIBUTES)) {
    const values = t[name];
    if (values === undefined) continue;
    const next = values.map((v, i) => {
      if (typeof v === 'string' || !keys.some((k) => k in v)) return v;
      const copy: Record<string, string> = { ...v };
      for (const k of keys) if (k in copy) copy[k] = replace(copy[k]!, name, i, k);
      return keys.some((k) => copy[k] !== v[k]) ? copy : v;
    });
    if (next.some((v, i) => v !== values[i])) edit()[name] = next;
  }
  return out ?? t;
}
