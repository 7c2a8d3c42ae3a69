/**
 * Helpers shared by the route sweeps (fuzz.test.ts, security.test.ts): the route catalog's shape,
 * `:param` handling, schema-valid samples for TypeBox/JSON schemas, and the hints (template texts,
 * names, ids) that get a request past parsing. Where the two sweeps differ (IP ranges, bridge
 * names, sample strings) the caller passes its own values in.
 */

/** A route as the app's route catalog lists it. */
export interface CatalogRoute {
  readonly method: string;
  readonly url: string;
  readonly schema: Record<string, unknown>;
  readonly public: boolean;
}

/** A value to try for a schema property, by property name (`undefined`: no hint). */
export type Hint = (key: string) => unknown;

/** A route's `:param` (with an optional `(regex)` suffix); global, for `replace` and `matchAll`. */
export const PARAM = /:([A-Za-z_][A-Za-z0-9_]*)(\([^)]*\))?/g;

/** The names of a route URL's `:params`, in order. */
export function paramNames(url: string): string[] {
  return [...url.matchAll(PARAM)].map((m) => m[1] as string);
}

/** `/api/v1/<collection>/...` → collection (`vms`, `users` …). */
export function collectionOf(url: string): string {
  return /^\/api\/v1\/([^/:]+)/.exec(url)?.[1] ?? '';
}

/** A route URL with each `:param` replaced by `value(name)` (URI-encoded) and each `*` by `x`. */
export function fillUrl(url: string, value: (param: string) => number | string): string {
  return url
    .replace(PARAM, (_m, name: string) => encodeURIComponent(String(value(name))))
    .replace(/\*/g, 'x');
}

/** Whether a hinted value has the schema's basic type (patterns and ranges aside). */
export function fits(s: Record<string, unknown>, value: unknown): boolean {
  if (Array.isArray(s.anyOf)) return s.anyOf.some((b) => fits(b as Record<string, unknown>, value));
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  if (type === 'string') return typeof value === 'string';
  if (type === 'integer') return Number.isInteger(value);
  if (type === 'number') return typeof value === 'number';
  if (type === 'boolean') return typeof value === 'boolean';
  return false;
}

/** How a sampler fills strings (candidates tried in order against `pattern`) and whether it merges `allOf`. */
export interface SampleStyle {
  readonly strings: readonly string[];
  readonly fallback: (minLength: number) => string;
  readonly mergeAllOf: boolean;
}

/** Schema-valid values and required query strings, in one caller's style. */
export interface Sampler {
  readonly sampleOf: (schema: unknown, key: string, hint: Hint) => unknown;
  readonly queryOf: (schema: unknown, hint: Hint) => string;
}

/** `sampleOf`: a schema-valid value (required and hinted properties, hinted/object union branch); `queryOf`: the required query string, or ''. */
export function schemaSampler(style: SampleStyle): Sampler {
  function sampleString(s: Record<string, unknown>): string {
    const min = typeof s.minLength === 'number' ? s.minLength : 0;
    const pattern = typeof s.pattern === 'string' ? new RegExp(s.pattern, 'u') : null;
    for (const c of style.strings) {
      const v = c.padEnd(min, c.slice(-1));
      if (pattern === null || pattern.test(v)) return v;
    }
    return style.fallback(min);
  }

  function sampleOf(schema: unknown, key: string, hint: Hint): unknown {
    const s = (schema ?? {}) as Record<string, unknown>;
    const hinted = hint(key);
    if ('const' in s) return s.const;
    if (Array.isArray(s.enum)) return s.enum[0];
    if (hinted !== undefined && fits(s, hinted)) return hinted;
    if ('default' in s) return s.default;
    const branches = (s.anyOf ?? s.oneOf) as unknown[] | undefined;
    if (Array.isArray(branches) && branches.length > 0) {
      const hintedBranch = branches.find(
        (b) => hinted !== undefined && fits(b as Record<string, unknown>, hinted),
      );
      // JSON bodies are the norm: prefer the object form of `text | { template }` unions.
      const objectBranch = branches.find((b) => (b as Record<string, unknown>).type === 'object');
      return sampleOf(hintedBranch ?? objectBranch ?? branches[0], key, hint);
    }
    if (style.mergeAllOf && Array.isArray(s.allOf))
      return Object.assign({}, ...s.allOf.map((b) => sampleOf(b, key, hint)));
    const type = Array.isArray(s.type) ? s.type[0] : s.type;
    switch (type) {
      case 'object': {
        const out: Record<string, unknown> = {};
        const properties = (s.properties ?? {}) as Record<string, unknown>;
        const required = new Set((s.required ?? []) as string[]);
        for (const [name, sub] of Object.entries(properties)) {
          if (required.has(name) || hint(name) !== undefined) out[name] = sampleOf(sub, name, hint);
        }
        return out;
      }
      case 'array': {
        const n = typeof s.minItems === 'number' ? s.minItems : 0;
        return Array.from({ length: n }, () => sampleOf(s.items, key, hint));
      }
      case 'string':
        return sampleString(s);
      case 'integer':
      case 'number': {
        const min = typeof s.minimum === 'number' ? s.minimum : -Infinity;
        const max = typeof s.maximum === 'number' ? s.maximum : Infinity;
        return Math.min(Math.max(0, min), max);
      }
      case 'boolean':
        return false;
      case 'null':
        return null;
      default:
        return {};
    }
  }

  function queryOf(schema: unknown, hint: Hint): string {
    const s = schema as { properties?: Record<string, unknown>; required?: string[] } | undefined;
    if (s?.properties === undefined) return '';
    const pairs = (s.required ?? []).map((name): [string, string] => [
      name,
      String(sampleOf(s.properties?.[name], name, hint)),
    ]);
    const text = new URLSearchParams(pairs).toString();
    return text === '' ? '' : `?${text}`;
  }

  return { sampleOf, queryOf };
}

/** Template texts keyed by collection or by an action's last path segment, built from a name. */
export type TemplateTable = Readonly<Record<string, (name: string) => string>>;

/** Create templates by collection, so that creates get past parsing; VM templates' CPU and the vnet's bridge and AR are the caller's. */
export function createTemplates(p: {
  readonly templateCpu: string;
  readonly bridge: string;
  readonly arIp: string;
  readonly arSize: string;
}): TemplateTable {
  return {
    templates: (name) => `NAME = "${name}"\nCPU = "${p.templateCpu}"\nMEMORY = "64"`,
    images: (name) => `NAME = "${name}"\nTYPE = "DATABLOCK"\nSIZE = "1"`,
    vnets: (name) =>
      `NAME = "${name}"\nVN_MAD = "dummy"\nBRIDGE = "${p.bridge}"\nAR = [ TYPE = "IP4", IP = "${p.arIp}", SIZE = "${p.arSize}" ]`,
    vms: (name) => `NAME = "${name}"\nCPU = "0.1"\nMEMORY = "64"`,
    hosts: (name) => `NAME = "${name}"\nIM_MAD = "dummy"\nVM_MAD = "dummy"`,
    clusters: (name) => `NAME = "${name}"`,
    datastores: (name) => `NAME = "${name}"\nDS_MAD = "fs"\nTM_MAD = "qcow2"`,
    vmgroups: (name) => `NAME = "${name}"\nROLE = [ NAME = "probe" ]`,
  };
}

/** Template texts of vnet actions (reserve, hold, release, ar), by the last path segment; the IPs are the caller's. */
export function actionTemplates(p: { readonly leaseIp: string; readonly newArIp: string }): TemplateTable {
  return {
    reserve: (name) => `NAME = "${name}"\nSIZE = "1"`,
    hold: () => `LEASES = [ IP = "${p.leaseIp}" ]`,
    release: () => `LEASES = [ IP = "${p.leaseIp}" ]`,
    ar: () => `AR = [ TYPE = "IP4", IP = "${p.newArIp}", SIZE = "4" ]`,
    ':arId': () => 'AR = [ AR_ID = "0", SIZE = "8" ]',
    roles: () => 'ROLE = [ NAME = "probe-role" ]',
    ':roleId': () => 'ROLE = [ POLICY = "AFFINED" ]',
  };
}

/** What a caller's hints say for `template`: its template tables, and its quota and description texts. */
export interface HintTexts {
  readonly create: TemplateTable;
  readonly actions: TemplateTable;
  readonly quota: string;
  readonly description: string;
}

/** Hints for one request to `url` (a template text, a name, a password, a datastore id …); `template` overrides the template text. */
export type HintsFor = (collection: string, url: string, name: string, template?: string) => Hint;

/** A `hintsFor` over the caller's template texts. */
export function routeHints(texts: HintTexts): HintsFor {
  return (collection, url, name, template) => (key) => {
    if (key === 'template') {
      if (template !== undefined) return template;
      if (url.endsWith('/quota')) return texts.quota;
      if (/\/(template|update)$/.test(url)) return texts.description;
      const action = texts.actions[url.replace(/^.*\/(?=[^/]+$)/, '')];
      if (action !== undefined) return action(name);
      return (texts.create[collection] ?? (() => texts.description))(name);
    }
    if (key === 'name' || key === 'username') return name;
    if (key === 'password') return `${name}-pw`;
    if (key === 'octet') return '600';
    if (key === 'rule') return '#1 VM/* USE *';
    if (/^(datastore|datastoreId|datastore_id|ds|dsId)$/.test(key)) return 1;
    return undefined;
  };
}
