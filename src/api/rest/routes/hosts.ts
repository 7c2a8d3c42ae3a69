import { HostService } from '../../../controller/hosts.js';
import { HostStatus } from '../../../domain/host/index.js';
import { Created, Done, IdParams } from '../../../protocol/common.js';
import { HostCreate, HostListQuery } from '../../../protocol/hosts.js';
import { hostBody } from '../../bodies/host.js';
import type { RestApp, RestDeps } from '../app.js';
import { pageOf } from '../paging.js';
import { callerOf } from '../request-context.js';
import { registerOwnedRoutes } from './owned.js';

const tags = ['hosts'];

export function registerHostRoutes(app: RestApp, { ctx }: RestDeps): void {
  const hosts = new HostService(ctx);

  app.post(
    '/api/v1/hosts',
    { schema: { tags, summary: 'Add a host', body: HostCreate, response: { 201: Created } } },
    async (request, reply) => {
      const id = await hosts.create(callerOf(request), request.body);
      return reply.status(201).send({ ID: id });
    },
  );

  app.get(
    '/api/v1/hosts',
    { schema: { tags, summary: 'List hosts', querystring: HostListQuery } },
    async (request) => {
      const list = await hosts.list(callerOf(request), request.query);
      const clusters = await hosts.clusterNames();
      const page = pageOf(list, (h) => h.id, request.query);
      return {
        HOST_POOL: { HOST: page.items.map((h) => hostBody(h, clusters.get(h.clusterId) ?? '')) },
        ...page.next,
      };
    },
  );

  app.get(
    '/api/v1/hosts/:id',
    { schema: { tags, summary: 'Show a host', params: IdParams } },
    async (request) => {
      const host = await hosts.get(callerOf(request), request.params.id);
      const clusters = await hosts.clusterNames();
      return { HOST: hostBody(host, clusters.get(host.clusterId) ?? '') };
    },
  );

  for (const [verb, status, summary] of [
    ['enable', HostStatus.ENABLED, 'Enable a host (schedulable again)'],
    ['disable', HostStatus.DISABLED, 'Disable a host (monitored, no new VMs)'],
    ['offline', HostStatus.OFFLINE, 'Take a host offline (not monitored, no new VMs)'],
  ] as const) {
    app.post(
      `/api/v1/hosts/:id/${verb}`,
      { schema: { tags, summary, params: IdParams, response: { 200: Done } } },
      async (request) => {
        await hosts.setStatus(callerOf(request), request.params.id, status);
        return { ID: request.params.id };
      },
    );
  }

  registerOwnedRoutes(app, {
    collection: 'hosts',
    tags,
    template: {
      summary: 'Replace or merge the host template (RESERVED_CPU, RESERVED_MEM ...)',
      run: (caller, id, template, merge) => hosts.updateTemplate(caller, id, template, merge),
    },
    rename: { summary: 'Rename a host', run: (caller, id, name) => hosts.rename(caller, id, name) },
    delete: { summary: 'Delete a host without VMs', run: (caller, id) => hosts.delete(caller, id) },
  });
}
