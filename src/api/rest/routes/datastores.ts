import { DatastoreService, type DatastoreView } from '../../../controller/datastores.js';
import { templateFromInput } from '../../../controller/template-input.js';
import { Created, Done, IdParams } from '../../../protocol/common.js';
import { DatastoreCreate, DatastoreListQuery } from '../../../protocol/datastores.js';
import { datastoreBody } from '../../bodies/datastore.js';
import type { RestApp, RestDeps } from '../app.js';
import { pageOf } from '../paging.js';
import { callerOf } from '../request-context.js';
import { registerOwnedRoutes } from './owned.js';

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

  registerOwnedRoutes(app, {
    collection: 'datastores',
    tags,
    template: {
      summary: 'Replace or merge the datastore template',
      run: (caller, id, template, merge) => datastores.updateTemplate(caller, id, template, merge),
    },
    rename: { summary: 'Rename a datastore', run: (caller, id, name) => datastores.rename(caller, id, name) },
    chown: {
      summary: 'Change owner and/or group (-1 keeps)',
      run: (caller, id, { uid, gid }) => datastores.chown(caller, id, uid, gid),
    },
    chmod: { summary: 'Change permissions', run: (caller, id, octet) => datastores.chmod(caller, id, octet) },
    delete: {
      summary: 'Delete a datastore without images',
      run: (caller, id) => datastores.delete(caller, id),
    },
  });
}
