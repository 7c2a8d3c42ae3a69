/**
 * /api/v1/openapi.json is an OpenAPI 3.1 document in shape, and describes every /api/v1 route
 * registered at run time: method, summary, tags, path parameters.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestNimbus, type TestNimbus } from './harness.js';

interface CatalogRoute {
  readonly method: string;
  readonly url: string;
  readonly schema: Record<string, unknown>;
  readonly public: boolean;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = any;

const OPERATION_KEYS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const PATH_ITEM_KEYS = new Set([
  ...OPERATION_KEYS,
  '$ref',
  'summary',
  'description',
  'servers',
  'parameters',
]);
const PARAMETER_PLACES = new Set(['path', 'query', 'header', 'cookie']);
const STATUS_KEY = /^([1-5]XX|[1-5][0-9]{2}|default)$/;

/** `/api/v1/vms/:id/disks/:diskId` → `/api/v1/vms/{id}/disks/{diskId}` */
function openapiPath(url: string): string {
  return url.replace(/:([A-Za-z_][A-Za-z0-9_]*)(\([^)]*\))?/g, '{$1}');
}

/** Every `$ref` in the document, with where it was found. */
function refsIn(value: unknown, at: string, out: [string, string][] = []): [string, string][] {
  if (Array.isArray(value)) value.forEach((v, i) => refsIn(v, `${at}/${i}`, out));
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.push([at, v]);
      else refsIn(v, `${at}/${k}`, out);
    }
  }
  return out;
}

function resolvePointer(doc: Doc, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  return ref
    .slice(2)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], doc);
}

describe('OpenAPI document', () => {
  let t: TestNimbus;
  let doc: Doc;
  let routes: CatalogRoute[];

  before(async () => {
    t = await startTestNimbus();
    routes = t.nimbus.app.routeCatalog.routes.filter((r) => r.url.startsWith('/api/v1'));
    const res = await t.anonymous('GET', '/api/v1/openapi.json');
    assert.equal(res.status, 200);
    doc = res.body;
  });
  after(async () => t.close());

  it('has the OpenAPI 3.1 top-level shape', () => {
    assert.match(doc.openapi, /^3\.1\.\d+$/);
    assert.equal(typeof doc.info?.title, 'string');
    assert.equal(typeof doc.info?.version, 'string');
    assert.equal(typeof doc.paths, 'object');
    for (const [name, scheme] of Object.entries<Doc>(doc.components?.securitySchemes ?? {})) {
      assert.ok(['http', 'apiKey', 'oauth2', 'openIdConnect', 'mutualTLS'].includes(scheme.type), name);
    }
    for (const [at, ref] of refsIn(doc, '#')) {
      assert.notEqual(resolvePointer(doc, ref), undefined, `${at}: $ref ${ref} does not resolve`);
    }
  });

  it('describes every operation completely', () => {
    const problems: string[] = [];
    const schemes = new Set(Object.keys(doc.components?.securitySchemes ?? {}));
    for (const [path, item] of Object.entries<Doc>(doc.paths)) {
      if (!path.startsWith('/')) problems.push(`${path}: path does not start with /`);
      for (const key of Object.keys(item)) {
        if (!PATH_ITEM_KEYS.has(key)) problems.push(`${path}: unknown path item key ${key}`);
      }
      const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      for (const method of OPERATION_KEYS.filter((m) => item[m] !== undefined)) {
        const op = item[method];
        const where = `${method.toUpperCase()} ${path}`;
        if (typeof op.summary !== 'string' || op.summary.trim() === '') problems.push(`${where}: no summary`);
        if (!Array.isArray(op.tags) || op.tags.some((tag: unknown) => typeof tag !== 'string'))
          problems.push(`${where}: tags must be an array of strings`);
        const responses = Object.entries<Doc>(op.responses ?? {});
        if (responses.length === 0) problems.push(`${where}: no responses`);
        for (const [status, response] of responses) {
          if (!STATUS_KEY.test(status)) problems.push(`${where}: response key ${status}`);
          if (typeof response.description !== 'string')
            problems.push(`${where}: response ${status} has no description`);
        }
        const params: Doc[] = op.parameters ?? [];
        const seen = new Set<string>();
        for (const p of params) {
          if (typeof p.name !== 'string' || !PARAMETER_PLACES.has(p.in))
            problems.push(`${where}: bad parameter ${JSON.stringify(p)}`);
          if (p.in === 'path' && p.required !== true)
            problems.push(`${where}: path parameter ${p.name} not required`);
          if (p.schema === undefined || typeof p.schema !== 'object')
            problems.push(`${where}: parameter ${p.name} has no schema`);
          if (seen.has(`${p.in}:${p.name}`)) problems.push(`${where}: parameter ${p.name} twice`);
          seen.add(`${p.in}:${p.name}`);
        }
        const declared = params.filter((p) => p.in === 'path').map((p) => p.name);
        for (const name of templated) {
          if (!declared.includes(name)) problems.push(`${where}: path parameter {${name}} not declared`);
        }
        for (const name of declared) {
          if (!templated.includes(name))
            problems.push(`${where}: declares path parameter ${name} absent from the path`);
        }
        if (op.requestBody !== undefined) {
          const content = Object.entries<Doc>(op.requestBody.content ?? {});
          if (content.length === 0) problems.push(`${where}: requestBody without content`);
          for (const [type, media] of content) {
            if (typeof media.schema !== 'object')
              problems.push(`${where}: requestBody ${type} without schema`);
          }
        }
        for (const requirement of op.security ?? []) {
          for (const name of Object.keys(requirement)) {
            if (!schemes.has(name)) problems.push(`${where}: unknown security scheme ${name}`);
          }
        }
      }
    }
    assert.deepEqual(problems, []);
  });

  it('lists every registered /api/v1 route with its method, a real summary and tags', () => {
    const problems: string[] = [];
    for (const route of routes) {
      const op = doc.paths[openapiPath(route.url)]?.[route.method.toLowerCase()];
      const where = `${route.method} ${route.url}`;
      if (op === undefined) {
        problems.push(`${where}: missing from openapi.json`);
        continue;
      }
      // Hidden routes (the document itself) need no description of their own.
      if (route.schema.hide === true) continue;
      if (typeof route.schema.summary !== 'string' || route.schema.summary.trim() === '')
        problems.push(`${where}: no summary in its schema`);
      if (!Array.isArray(route.schema.tags) || route.schema.tags.length === 0)
        problems.push(`${where}: no tags`);
      if (op.security === undefined || (route.public ? op.security.length !== 0 : op.security.length === 0))
        problems.push(`${where}: security does not say whether credentials are needed`);
    }
    const documented = Object.entries<Doc>(doc.paths).flatMap(([path, item]) =>
      OPERATION_KEYS.filter((m) => item[m] !== undefined).map((m) => `${m.toUpperCase()} ${path}`),
    );
    const registered = new Set(routes.map((r) => `${r.method} ${openapiPath(r.url)}`));
    for (const op of documented)
      if (!registered.has(op)) problems.push(`${op}: documented but not registered`);
    assert.ok(routes.length > 2, 'routes registered');
    assert.deepEqual(problems, []);
  });
});
