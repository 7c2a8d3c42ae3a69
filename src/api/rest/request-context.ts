import type { FastifyRequest } from 'fastify';
import type { Caller } from '../../controller/caller.js';
import { NimbusError } from '../../domain/errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller | null;
  }
  interface FastifySchema {
    /** OpenAPI grouping and one-line description. */
    tags?: string[];
    summary?: string;
    hide?: boolean;
  }
  interface FastifyContextConfig {
    /** Served without authentication (login, openapi.json, static assets, token-checked sockets). */
    public?: boolean;
  }
}

/** The authenticated caller of a route that is not public. */
export function callerOf(request: FastifyRequest): Caller {
  if (request.caller === null)
    throw new NimbusError('AUTHENTICATION', "User couldn't be authenticated, aborting call.");
  return request.caller;
}
