import type { RouteOptions } from 'fastify';

interface RecordedRoute {
  readonly method: string;
  readonly url: string;
  readonly schema: Record<string, unknown>;
  readonly public: boolean;
}

/** Routes as registered, for the OpenAPI document and the route-enumeration test. */
export class RouteCatalog {
  readonly routes: RecordedRoute[] = [];

  record(route: RouteOptions): void {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      if (method === 'HEAD' || method === 'OPTIONS') continue;
      this.routes.push({
        method,
        url: route.url,
        schema: (route.schema ?? {}) as Record<string, unknown>,
        public: route.config?.public === true,
      });
    }
  }

  openapi(): Record<string, unknown> {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const r of this.routes) {
      if (!r.url.startsWith('/api/v1') || r.schema.hide === true) continue;
      const path = r.url.replace(/:([A-Za-z_]+)/g, '{$1}');
      const op: Record<string, unknown> = {
        summary: r.schema.summary ?? `${r.method} ${r.url}`,
        tags: r.schema.tags ?? [],
        security: r.public ? [] : [{ basic: [] }, { bearer: [] }],
        parameters: [
          ...objectParams(r.schema.params, 'path'),
          ...objectParams(r.schema.querystring, 'query'),
        ],
        responses: responses(r.schema.response),
      };
      if (r.schema.body !== undefined) {
        op.requestBody = { required: true, content: { 'application/json': { schema: r.schema.body } } };
      }
      (paths[path] ??= {})[r.method.toLowerCase()] = op;
    }
    return {
      openapi: '3.1.0',
      info: {
        title: 'Nimbus REST API',
        version: '1',
        description: 'OpenNebula-compatible private cloud controller',
      },
      components: {
        securitySchemes: {
          basic: { type: 'http', scheme: 'basic' },
          bearer: { type: 'http', scheme: 'bearer' },
        },
        schemas: {
          Error: {
            type: 'object',
            required: ['code', 'message'],
            properties: { code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' } },
          },
        },
      },
      paths,
    };
  }
}

function objectParams(schema: unknown, location: 'path' | 'query'): unknown[] {
  const s = schema as { properties?: Record<string, unknown>; required?: string[] } | undefined;
  if (s?.properties === undefined) return [];
  return Object.entries(s.properties).map(([name, sub]) => ({
    name,
    in: location,
    required: location === 'path' || (s.required ?? []).includes(name),
    schema: sub,
  }));
}

function responses(schema: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const given = (schema ?? {}) as Record<string, unknown>;
  for (const [status, s] of Object.entries(given)) {
    out[status] = { description: status, content: { 'application/json': { schema: s } } };
  }
  if (Object.keys(out).length === 0) out['200'] = { description: 'OK' };
  out['4XX'] = {
    description: 'Error',
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  };
  return out;
}
