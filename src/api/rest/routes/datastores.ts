import { DatastoreService, type DatastoreView } from '../../../controller/datastores.js';
import { templateFromInput } from '../../../controller/template-input.js';
import { Chmod, Chown, Created, Done, IdParams, Rename, TemplateUpdate } from '../../../protocol/common.js';
import { DatastoreCreate, DatastoreListQuery } from '../../../protocol/datastores.js';
import { datastoreBody } from '../../bodies/datastore.js';
import type { RestApp, RestDeps } from '../app.js';
import { pageOf } from '../paging.js';
import { callerOf } from '../request-context.js';

const tags = ['datastores'];

export function registerDatastoreRoutes(app: RestApp, { ctx }: RestDeps): void {
  const datastores = new DatastoreService(ctx);
  const body = (v: DatastoreView): Record<string, unknown> => datastoreBody(v.datastore, v.images, ctx.names);

  app.post(
    '/api/v1/datastores',
    {
      schema: { tags, summary: 'Create a datastore', body: DatastoreCreate, response: { 201: Created } },
    },
    async (request, reply) => {
      const template = templateFromInput(request.body.template);
      const cluster = request.body.cluster;
      const id = await datastores.create(
        callerOf(request),
        template,
        cluster === undefined || cluster < 0 ? undefined : cluster,
      );
      return reply.status(201).send({ ID: id });
    },
  );

  app.get(
    '/api/v1/datastores',
    { schema: { tags, summary: 'List datastores', querystring: DatastoreListQuery } },
    async (request) => {
      const list = await datastores.list(callerOf(request), request.query);
      const page = pageOf(list, (d) => d.datastore.id, request.query);
      return { DATASTORE_POOL: { DATASTORE: page.items.map(body) }, ...page.next };
    },
  );

  app.get(
    '/api/v1/datastores/:id',
    { schema: { tags, summary: 'Show a datastore', params: IdParams } },
    async (request) => ({ DATASTORE: body(await datastores.get(callerOf(request), request.params.id)) }),
  );

  for (const [verb, enabled] of [
    ['enable', true],
    ['disable', false],
  ] as const) {
    app.post(
      `/api/v1/datastores/:id/${verb}`,
      {
        schema: {
          tags,
          summary: `${enabled ? 'Enable' : 'Disable'} a system datastore`,
          params: IdParams,
          response: { 200: Done },
        },
      },
      async (request) => {
        await datastores.setEnabled(callerOf(request), request.params.id, enabled);
        return { ID: request.params.id };
      },
    );
  }

  app.put(
    '/api/v1/datastores/:id/template',
    {
      schema: {
        tags,
        summary: 'Replace or merge the datastore template',
        params: IdParams,
        body: TemplateUpdate,
        response: { 200: Done },
      },
    },
    async (request) => {
      const template = templateFromInput(request.body.template);
      await datastores.updateTemplate(
        callerOf(request),
        request.params.id,
        template,
        request.body.merge ?? false,
      );
      return { ID: request.params.id };
    },
  );

  app.post(
    '/api/v1/datastores/:id/rename',
    {
      schema: {
        tags,
        summary: 'Rename a datastore',
        params: IdParams,
        body: Rename,
        response: { 200: Done },
      },
    },
    async (request) => {
      await datastores.rename(callerOf(request), request.params.id, request.body.name);
      return { ID: request.params.id };
    },
  );

  app.post(
    '/api/v1/datastores/:id/chown',
    {
      schema: {
        tags,
        summary: 'Change owner and/or group (-1 keeps)',
        params: IdParams,
        body: Chown,
        response: { 200: Done },
      },
    },
    async (request) => {
      await datastores.chown(callerOf(request), request.params.id, request.body.uid, request.body.gid);
      return { ID: request.params.id };
    },
  );

  app.post(
    '/api/v1/datastores/:id/chmod',
    {
      schema: { tags, summary: 'Change permissions', params: IdParams, body: Chmod, response: { 200: Done } },
    },
    async (request) => {
      await datastores.chmod(callerOf(request), request.params.id, request.body.octet);
      return { ID: request.params.id };
    },
  );

  app.delete(
    '/api/v1/datastores/:id',
    {
      schema: {
        tags,
        summary: 'Delete a datastore without images',
        params: IdParams,
        response: { 200: Done },
      },
    },
    async (request) => {
      await datastores.delete(callerOf(request), request.params.id);
      return { ID: request.params.id };
    },
  );
}
