import type { Caller } from '../../../controller/caller.js';
import { templateFromInput } from '../../../controller/template-input.js';
import type { Template } from '../../../domain/template/types.js';
import { Chmod, Chown, Done, IdParams, Lock, Rename, TemplateUpdate } from '../../../protocol/common.js';
import type { RestApp } from '../app.js';
import { callerOf } from '../request-context.js';

/** One route of an object: its OpenAPI summary and the service call it makes. */
interface OwnedRoute<A extends unknown[]> {
  readonly summary: string;
  readonly run: (caller: Caller, id: number, ...args: A) => Promise<unknown>;
}

export interface OwnedRoutes {
  /** The path segment under /api/v1 ("images" → /api/v1/images/:id/...). */
  readonly collection: string;
  readonly tags: string[];
  /** PUT …/:id/template: replace (or merge, with merge=true) the object's template. */
  readonly template?: OwnedRoute<[template: Template, merge: boolean]>;
  /** POST …/:id/rename */
  readonly rename?: OwnedRoute<[name: string]>;
  /** POST …/:id/chown (-1 or absent keeps the current owner / group). */
  readonly chown?: OwnedRoute<[owner: Chown]>;
  /** POST …/:id/chmod */
  readonly chmod?: OwnedRoute<[octet: string]>;
  /** POST …/:id/lock */
  readonly lock?: OwnedRoute<[level: number, test: boolean]>;
  /** POST …/:id/unlock */
  readonly unlock?: OwnedRoute<[]>;
  /** DELETE …/:id */
  readonly delete?: OwnedRoute<[]>;
}

/**
 * The routes every owned object has in common (template, rename, chown, chmod, lock, unlock,
 * delete), registered in that order, only those given; each answers `{ ID }` with 200.
 */
export function registerOwnedRoutes(app: RestApp, options: OwnedRoutes): void {
  const { tags } = options;
  const base = `/api/v1/${options.collection}/:id`;

  const template = options.template;
  if (template !== undefined) {
    app.put(
      `${base}/template`,
      {
        schema: {
          tags,
          summary: template.summary,
          params: IdParams,
          body: TemplateUpdate,
          response: { 200: Done },
        },
      },
      async (request) => {
        const parsed = templateFromInput(request.body.template);
        await template.run(callerOf(request), request.params.id, parsed, request.body.merge ?? false);
        return { ID: request.params.id };
      },
    );
  }

  const rename = options.rename;
  if (rename !== undefined) {
    app.post(
      `${base}/rename`,
      { schema: { tags, summary: rename.summary, params: IdParams, body: Rename, response: { 200: Done } } },
      async (request) => {
        await rename.run(callerOf(request), request.params.id, request.body.name);
        return { ID: request.params.id };
      },
    );
  }

  const chown = options.chown;
  if (chown !== undefined) {
    app.post(
      `${base}/chown`,
      { schema: { tags, summary: chown.summary, params: IdParams, body: Chown, response: { 200: Done } } },
      async (request) => {
        await chown.run(callerOf(request), request.params.id, request.body);
        return { ID: request.params.id };
      },
    );
  }

  const chmod = options.chmod;
  if (chmod !== undefined) {
    app.post(
      `${base}/chmod`,
      { schema: { tags, summary: chmod.summary, params: IdParams, body: Chmod, response: { 200: Done } } },
      async (request) => {
        await chmod.run(callerOf(request), request.params.id, request.body.octet);
        return { ID: request.params.id };
      },
    );
  }

  const lock = options.lock;
  if (lock !== undefined) {
    app.post(
      `${base}/lock`,
      { schema: { tags, summary: lock.summary, params: IdParams, body: Lock, response: { 200: Done } } },
      async (request) => {
        const body = request.body ?? {};
        await lock.run(callerOf(request), request.params.id, body.level ?? 1, body.test ?? false);
        return { ID: request.params.id };
      },
    );
  }

  const unlock = options.unlock;
  if (unlock !== undefined) {
    app.post(
      `${base}/unlock`,
      { schema: { tags, summary: unlock.summary, params: IdParams, response: { 200: Done } } },
      async (request) => {
        await unlock.run(callerOf(request), request.params.id);
        return { ID: request.params.id };
      },
    );
  }

  const remove = options.delete;
  if (remove !== undefined) {
    app.delete(
      base,
      { schema: { tags, summary: remove.summary, params: IdParams, response: { 200: Done } } },
      async (request) => {
        await remove.run(callerOf(request), request.params.id);
        return { ID: request.params.id };
      },
    );
  }
}
