import { parseTemplate } from './text-parser.js';
import type { Template } from './types.js';
import { parseTemplateXml } from './xml.js';

/**
 * Reads either form, as OpenNebula's `Template::parse_str_or_xml` does: XML when the first
 * non-blank character is "<" (OpenNebula looks at the very first character only), else text.
 */
export function parseAnyTemplate(text: string): Template {
  for (let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x3c) return parseTemplateXml(text);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
  }
  return parseTemplate(text);
}
