/**
 * The OpenNebula template data model (reference §4).
 *
 * A template is a multimap from an upper-case attribute name to its values, in order of
 * appearance. Like OpenNebula's own `Template` (a std::multimap), the canonical text and XML
 * forms list names alphabetically and keep repeated attributes (several DISK) in order; the
 * sub-attributes of a vector are a map (a later duplicate replaces an earlier one) and are also
 * listed alphabetically.
 */
export type VectorValue = Readonly<Record<string, string>>;
export type TemplateValue = string | VectorValue;
export type Template = Readonly<Record<string, readonly TemplateValue[]>>;

/** A template as JSON for the API and CLI: a single attribute as a string, one repeated as an
 * array of strings, a vector attribute always as an array of objects. */
export type TemplateJson = Readonly<Record<string, string | readonly (string | VectorValue)[]>>;
