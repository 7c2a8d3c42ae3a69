import { ClusterService, type ClusterMemberKind } from '../../../controller/clusters.js';
import { ClusterCreate, ClusterListQuery, ClusterMemberParams } from '../../../protocol/clusters.js';
import { Created, Done, IdParams } from '../../../protocol/common.js';
import { clusterBody } from '../../bodies/cluster.js';
import type { RestApp, RestDeps } from '../app.js';
import { pageOf } from '../paging.js';
import { callerOf } from '../request-context.js';
import { registerOwnedRoutes } from './owned.js';

const tags = ['clusters'];

export function registerClusterRoutes(app: RestApp, { ctx }: RestDeps): void {
  const clusters = new ClusterService(ctx);

  app.post(
    '/api/v1/clusters',
    { schema: { tags, summary: 'Create a cluster', body: ClusterCreate, response: { 201: Created } } },
    async (request, reply) => {
      const id = await clusters.create(callerOf(request), request.body.name);
      return reply.status(201).send({ ID: id });
    },
  );

  app.get(
    '/api/v1/clusters',
    { schema: { tags, summary: 'List clusters', querystring: ClusterListQuery } },
    async (request) => {
      const list = await clusters.list(callerOf(request), request.query);
      const page = pageOf(list, (v) => v.cluster.id, request.query);
      return {
        CLUSTER_POOL: { CLUSTER: page.items.map((v) => clusterBody(v.cluster, v.members)) },
        ...page.next,
      };
    },
  );

  app.get(
    '/api/v1/clusters/:id',
    { schema: { tags, summary: 'Show a cluster and its members', params: IdParams } },
    async (request) => {
      const view = await clusters.get(callerOf(request), request.params.id);
      return { CLUSTER: clusterBody(view.cluster, view.members) };
    },
  );

  // Rename is registered before the template route here (OpenAPI path order), hence two calls.
  registerOwnedRoutes(app, {
    collection: 'clusters',
    tags,
    rename: { summary: 'Rename a cluster', run: (caller, id, name) => clusters.rename(caller, id, name) },
  });
  registerOwnedRoutes(app, {
    collection: 'clusters',
    tags,
    template: {
      summary: 'Replace or merge the cluster template (RESERVED_CPU, RESERVED_MEM ...)',
      run: (caller, id, template, merge) => clusters.updateTemplate(caller, id, template, merge),
    },
    delete: { summary: 'Delete an empty cluster', run: (caller, id) => clusters.delete(caller, id) },
  });

  // PUT adds the member (addhost / adddatastore / addvnet), DELETE removes it (delhost ...).
  for (const [collection, kind] of [
    ['hosts', 'host'],
    ['datastores', 'datastore'],
    ['vnets', 'vnet'],
  ] as const satisfies readonly (readonly [string, ClusterMemberKind])[]) {
    const path = `/api/v1/clusters/:id/${collection}/:member`;
    const schema = (summary: string) => ({
      tags,
      summary,
      params: ClusterMemberParams,
      response: { 200: Done },
    });
    app.put(path, { schema: schema(`Add a ${kind} to the cluster`) }, async (request) => {
      const { id, member } = request.params;
      await clusters.changeMember(callerOf(request), id, kind, member, true);
      return { ID: id };
    });
    app.delete(path, { schema: schema(`Remove a ${kind} from the cluster`) }, async (request) => {
      const { id, member } = request.params;
      await clusters.changeMember(callerOf(request), id, kind, member, false);
      return { ID: id };
    });
  }
}
