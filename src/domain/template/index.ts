/** The OpenNebula template language: text, XML and JSON forms, helpers, `$VARIABLE` substitution. */
export type { Template, TemplateJson, TemplateValue, VectorValue } from './types.js';
export { TemplateSyntaxError, TemplateVariableError } from './errors.js';
export { parseTemplate } from './text-parser.js';
export { serializeTemplate } from './text-serializer.js';
export { parseTemplateXml, serializeTemplateXml, type TemplateXmlOptions } from './xml.js';
export { parseAnyTemplate } from './any.js';
export { templateFromJson, templateToJson, validateTemplate } from './json.js';
export {
  addAttribute,
  attributeNames,
  getSingle,
  getSingles,
  getVector,
  getVectors,
  getVectorValue,
  mergeTemplate,
  removeAttribute,
  replaceAttribute,
  setSingle,
  setVector,
  templateFromEntries,
} from './attributes.js';
export {
  hasVariables,
  listVariables,
  resolveVariable,
  substituteVariables,
  type OwnerField,
  type VariableCondition,
  type VariableReference,
  type VariableResolver,
} from './variables.js';
export { createTemplateResolver, type TemplateResolverContext } from './resolver.js';
export { applyTemplateUpdate, REDACTED, redactSecrets, restoreSecrets } from './secrets.js';
