import { HostService } from '../../../controller/hosts.js';
import { templateFromInput } from '../../../controller/template-input.js';
import { HostStatus } from '../../../domain/host/index.js';
import { Created, Done, IdParams, Rename, TemplateUpdate } from '../../../protocol/common.js';
import { HostCreate, HostListQuery } from '../../../protocol/hosts.js';
import { hostBody } from '../../bodies/host.js';
import type { RestApp, RestDeps } from '../app.js';
import { pageOf } from '../paging.js';
import { callerOf } from '../request-context.js';

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

  app.put(
    '/api/v1/hosts/:id/template',
    {
      schema: {
        tags,
        summary: 'Replace or merge the host template (RESERVED_CPU, RESERVED_MEM ...)',
        params: IdParams,
        body: TemplateUpdate,
        response: { 200: Done },
      },
    },
    async (request) => {
      const template = templateFromInput(request.body.template);
      await hosts.updateTemplate(callerOf(request), request.params.id, template, request.body.merge ?? false);
      return { ID: request.params.id };
    },
  );

  app.post(
    '/api/v1/hosts/:id/rename',
    { schema: { tags, summary: 'Rename a host', params: IdParams, body: Rename, response: { 200: Done } } },
    async (request) => {
      await hosts.rename(callerOf(request), request.params.id, request.body.name);
      return { ID: request.params.id };
    },
  );

  app.delete(
    '/api/v1/hosts/:id',
    { schema: { tags, summary: 'Delete a host without VMs', params: IdParams, response: { 200: Done } } },
    async (request) => {
      await hosts.delete(callerOf(request), request.params.id);
      return { ID: request.params.id };
    },
  );
}
