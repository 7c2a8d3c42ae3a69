import { HostService } from '../../../controller/hosts.js';
import { HostStatus } from '../../../domain/host/index.js';
import { Type } from 'typebox';
import { driverForVmMad } from '../../../controller/agents/hub.js';
import { Done, IdParams } from '../../../protocol/common.js';
import { HostCreate, HostListQuery } from '../../../protocol/hosts.js';
import { hostBody } from '../../bodies/host.js';
import type { RestApp, RestDeps } from '../app.js';
import { pageOf } from '../paging.js';
import { callerOf } from '../request-context.js';
import { registerOwnedRoutes } from './owned.js';

const tags = ['hosts'];

/** How to start the host's agent: the one-time token and the command line with it. */
const JoinInfo = Type.Object({ TOKEN: Type.String(), EXPIRES: Type.Integer(), COMMAND: Type.String() });
const HostCreated = Type.Object({ ID: Type.Integer(), JOIN: Type.Optional(JoinInfo) });

export function registerHostRoutes(
  app: RestApp,
  { ctx, lifecycle, fingerprint, advertised }: RestDeps,
): void {
  const hosts = new HostService(ctx);

  app.post(
    '/api/v1/hosts',
    { schema: { tags, summary: 'Add a host', body: HostCreate, response: { 201: HostCreated } } },
    async (request, reply) => {
      const caller = callerOf(request);
      const id = await hosts.create(caller, request.body);
      if (lifecycle === undefined || lifecycle.embedded.isEmbedded({ id, vmMad: request.body.vm })) {
        await lifecycle?.embedded.refresh(id);
        return reply.status(201).send({ ID: id });
      }
      const join = await hosts.issueJoinToken(caller, id);
      // INIT now; ERROR unless its agent connects within the monitoring interval.
      lifecycle.engine.hostDisconnected(id);
      return reply.status(201).send({ ID: id, JOIN: joinAnswer(request, id, request.body.vm, join) });
    },
  );

  app.post(
    '/api/v1/hosts/:id/token',
    {
      schema: {
        tags,
        summary: "A new one-time join token for the host's agent",
        params: IdParams,
        response: { 200: Type.Object({ ID: Type.Integer(), JOIN: JoinInfo }) },
      },
    },
    async (request) => {
      const host = await ctx.store.hosts.get(request.params.id);
      const join = await hosts.issueJoinToken(callerOf(request), host.id);
      return { ID: host.id, JOIN: joinAnswer(request, host.id, host.vmMad, join) };
    },
  );

  function joinAnswer(
    request: { protocol: string; host: string },
    id: number,
    vmMad: string,
    join: { token: string; expires: number },
  ) {
    // nimbusd's own address when it has a definite one; else the address the client reached.
    const base = advertised?.url || `${request.protocol}://${request.host}`;
    const url = base.replace(/^http/, 'ws');
    const parts = ['nimbus-agent', '--controller', url, '--host-id', String(id), '--token', join.token];
    if (fingerprint) parts.push('--fingerprint', fingerprint);
    parts.push('--driver', driverForVmMad(vmMad));
    return { TOKEN: join.token, EXPIRES: join.expires, COMMAND: parts.join(' ') };
  }

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
      run: async (caller, id, template, merge) => {
        await hosts.updateTemplate(caller, id, template, merge);
        // The embedded agent reads the template at welcome: reconnect it. AGENT = "remote" moves
        // a dummy host's agent out of this process (and back).
        await lifecycle?.embedded.refresh(id);
      },
    },
    rename: { summary: 'Rename a host', run: (caller, id, name) => hosts.rename(caller, id, name) },
    delete: {
      summary: 'Delete a host without VMs',
      run: async (caller, id) => {
        await hosts.delete(caller, id);
        await lifecycle?.embedded.refresh(id);
      },
    },
  });
}
