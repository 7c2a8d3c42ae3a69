import { NimbusError } from '../domain/errors.js';
import { parseAnyTemplate, templateFromJson, TemplateSyntaxError } from '../domain/template/index.js';
import type { Template } from '../domain/template/types.js';

/**
 * A template as a request carries it: OpenNebula text, the XML `<TEMPLATE>` form, or the JSON
 * form. Syntax errors keep their position in the message and name the request field.
 */
export function templateFromInput(input: unknown, field = 'template'): Template {
  if (typeof input === 'string') {
    try {
      return parseAnyTemplate(input);
    } catch (error) {
      if (error instanceof TemplateSyntaxError) {
        throw new NimbusError(
          error.code,
          `line ${error.line}, column ${error.column}: ${error.message}`,
          field,
        );
      }
      throw error;
    }
  }
  try {
    return templateFromJson(input);
  } catch (error) {
    if (error instanceof NimbusError) {
      throw new NimbusError(
        error.code,
        error.message,
        error.field === undefined ? field : `${field}/${error.field}`,
      );
    }
    throw error;
  }
}
