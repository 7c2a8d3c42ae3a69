import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { AuthService } from '../../controller/auth.js';
import type { Caller } from '../../controller/caller.js';
import type { Lifecycle } from '../../controller/lifecycle/wiring.js';
import type { ControllerContext } from '../../controller/context.js';
import type { MonitoringService } from '../../controller/monitoring.js';
import { NimbusError } from '../../domain/errors.js';
import { errorBody, statusOf } from './errors.js';
import { RouteCatalog } from './openapi.js';
import websocket from '@fastify/websocket';
import { MAX_FRAME_BYTES } from '../../protocol/agent.js';
import { ROUTE_MODULES } from './routes/index.js';
import './request-context.js';

export type RestApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export interface RestDeps {
  readonly ctx: ControllerContext;
  readonly auth: AuthService;
  readonly monitoring?: MonitoringService;
  readonly lifecycle?: Lifecycle;
  /** SHA-256 of the TLS certificate, for the agent join command. */
  readonly fingerprint?: string | null;
  /** nimbusd's own URL once it listens ('' before, or when it listens on a wildcard address). */
  readonly advertised?: { url: string };
}

export interface RestAppOptions {
  readonly logger: FastifyBaseLogger | false;
  readonly https?: { readonly key: Buffer; readonly cert: Buffer };
}

/** JSON bodies up to 4 MiB (templates, big ACL or quota sets); uploads stream separately. */
const BODY_LIMIT = 4 * 1024 * 1024;

/**
 * The REST API under /api/v1 (and, later, /RPC2, consoles and the web UI on the same port).
 * Routes are thin: validate with their TypeBox schema, call a controller service, render.
 */
export async function buildRestApp(deps: RestDeps, options: RestAppOptions): Promise<RestApp> {
  const app = Fastify({
    ...(options.logger === false ? { logger: false } : { loggerInstance: options.logger }),
    ...(options.https !== undefined ? { https: options.https } : {}),
    bodyLimit: BODY_LIMIT,
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false },
    },
    logController: new LogController({ disableRequestLogging: true }),
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as RestApp;

  const catalog = new RouteCatalog();
  app.decorate('routeCatalog', catalog);
  app.addHook('onRoute', (route) => catalog.record(route));
  app.decorateRequest('caller', null);

  // OpenNebula templates may be sent as text; image uploads stream as octet-stream.
  app.addContentTypeParser('text/plain', { parseAs: 'string', bodyLimit: BODY_LIMIT }, (_req, body, done) =>
    done(null, body),
  );
  app.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload));

  app.addHook('onRequest', async (request, reply) => {
    request.caller = null;
    if (request.routeOptions.config.public === true) return;
    const header = request.headers.authorization;
    if (header === undefined || header === '') {
      void reply.header('www-authenticate', 'Basic realm="nimbus"');
      throw new NimbusError(
        'AUTHENTICATION',
        'authentication required: send HTTP Basic credentials or a bearer token from POST /api/v1/login',
      );
    }
    request.caller = await authenticate(deps.auth, header);
    await deps.ctx.names.load();
  });

  app.setErrorHandler((error, request, reply) => {
    if (error instanceof NimbusError) {
      return reply.status(statusOf(error.code)).send(errorBody(error));
    }
    const e = error as Error & {
      validation?: { instancePath: string; message?: string; params?: Record<string, unknown> }[];
      validationContext?: string;
      statusCode?: number;
      code?: string;
    };
    if (e.validation !== undefined && e.validation.length > 0) {
      const v = e.validation[0]!;
      const missing = v.params?.missingProperty;
      const path = [e.validationContext ?? 'body', ...v.instancePath.split('/').filter(Boolean)];
      if (typeof missing === 'string') path.push(missing);
      const field = path.join('/');
      const allowed = Array.isArray(v.params?.allowedValues)
        ? ` (one of ${v.params.allowedValues.join(', ')})`
        : '';
      const extra =
        typeof v.params?.additionalProperty === 'string' ? ` "${v.params.additionalProperty}"` : '';
      return reply.status(400).send({
        code: 'VALIDATION',
        message: `${field}: ${v.message ?? 'is invalid'}${extra}${allowed}`,
        field,
      });
    }
    if (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500) {
      const code =
        e.statusCode === 413
          ? 'PAYLOAD_TOO_LARGE'
          : e.statusCode === 415
            ? 'UNSUPPORTED_MEDIA_TYPE'
            : 'BAD_REQUEST';
      return reply.status(e.statusCode).send({ code, message: e.message });
    }
    request.log.error({ err: error }, 'internal error');
    return reply.status(500).send({
      code: 'INTERNAL',
      message: `internal error (request ${request.id}); the nimbusd log has the details`,
    });
  });

  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .send({ code: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` }),
  );

  app.get(
    '/api/v1/openapi.json',
    { config: { public: true }, schema: { tags: ['meta'], summary: 'This OpenAPI 3.1 document' } },
    async () => catalog.openapi(),
  );
  // WebSocket routes (the agents' link) need the plugin before any route module registers.
  await app.register(websocket, { options: { maxPayload: MAX_FRAME_BYTES } });
  for (const register of ROUTE_MODULES) await register(app, deps);
  return app;
}

async function authenticate(auth: AuthService, header: string): Promise<Caller> {
  const space = header.indexOf(' ');
  const scheme = header.slice(0, space === -1 ? header.length : space).toLowerCase();
  const value = space === -1 ? '' : header.slice(space + 1).trim();
  if (scheme === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0)
      throw new NimbusError(
        'AUTHENTICATION',
        'malformed Basic credentials: expected base64 of user:password',
      );
    return auth.authenticateBasic(decoded.slice(0, colon), decoded.slice(colon + 1));
  }
  if (scheme === 'bearer') return auth.authenticateBearer(value);
  throw new NimbusError(
    'AUTHENTICATION',
    `unsupported authorization scheme "${scheme}": use Basic or Bearer`,
  );
}

declare module 'fastify' {
  interface FastifyInstance {
    routeCatalog: RouteCatalog;
  }
}
