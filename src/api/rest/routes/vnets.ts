import { templateFromInput } from '../../../controller/template-input.js';
import { VnetService } from '../../../controller/vnets.js';
import { Created, Done, IdParams, ListQuery } from '../../../protocol/common.js';
import {
  ArParams,
  LeaseListQuery,
  RemoveArQuery,
  templateOfBody,
  VnetCreateQuery,
  VnetTemplateBody,
} from '../../../protocol/vnets.js';
import { leaseListBody, vnetBody } from '../../bodies/vnet.js';
import type { RestApp, RestDeps } from '../app.js';
import { callerOf } from '../request-context.js';
import { registerOwnedRoutes } from './owned.js';

const tags = ['vnets'];

export function registerVnetRoutes(app: RestApp, { ctx }: RestDeps): void {
  const vnets = new VnetService(ctx);
  const templateOf = (body: VnetTemplateBody) => templateFromInput(templateOfBody(body));

  app.post(
    '/api/v1/vnets',
    {
      schema: {
        tags,
        summary: 'Create a virtual network from a template (NAME, VN_MAD, AR = [...] ...)',
        querystring: VnetCreateQuery,
        body: VnetTemplateBody,
        response: { 201: Created },
      },
    },
    async (request, reply) => {
      const id = await vnets.create(callerOf(request), templateOf(request.body), request.query.cluster);
      return reply.status(201).send({ ID: id });
    },
  );

  app.get(
    '/api/v1/vnets',
    { schema: { tags, summary: 'List virtual networks (no LEASES)', querystring: ListQuery } },
    async (request) => {
      const page = await vnets.list(callerOf(request), request.query);
      const body: Record<string, unknown> = {
        VNET_POOL: { VNET: page.items.map((v) => vnetBody(v.vnet, ctx.names, v.used)) },
      };
      if (request.query.limit !== undefined) body.next_after = page.nextAfterId;
      return body;
    },
  );

  app.get(
    '/api/v1/vnets/:id',
    { schema: { tags, summary: 'Show a virtual network with its leases', params: IdParams } },
    async (request) => {
      const detail = await vnets.get(callerOf(request), request.params.id);
      return { VNET: vnetBody(detail.vnet, ctx.names, detail.used, detail.leases) };
    },
  );

  app.get(
    '/api/v1/vnets/:id/leases',
    {
      schema: {
        tags,
        summary: 'List the leases of a network (of one range with ?ar=), by range and address',
        params: IdParams,
        querystring: LeaseListQuery,
      },
    },
    async (request) => {
      const page = await vnets.leases(callerOf(request), request.params.id, request.query);
      const body: Record<string, unknown> = { LEASES: { LEASE: leaseListBody(page.vnet, page.leases) } };
      if (request.query.limit !== undefined) body.next_after = page.nextAfter;
      return body;
    },
  );

  registerOwnedRoutes(app, {
    collection: 'vnets',
    tags,
    template: {
      summary: 'Replace or merge the network template',
      run: (caller, id, template, merge) => vnets.updateTemplate(caller, id, template, merge),
    },
    rename: { summary: 'Rename a network', run: (caller, id, name) => vnets.rename(caller, id, name) },
    chown: {
      summary: 'Change owner and/or group (-1 keeps)',
      run: (caller, id, { uid, gid }) => vnets.chown(caller, id, uid, gid),
    },
    chmod: { summary: 'Change permissions', run: (caller, id, octet) => vnets.chmod(caller, id, octet) },
    delete: {
      summary: 'Delete a network whose leases no VM uses (held leases go with it)',
      run: (caller, id) => vnets.delete(caller, id),
    },
  });

  app.post(
    '/api/v1/vnets/:id/ar',
    {
      schema: {
        tags,
        summary: 'Add address ranges (template AR = [TYPE = IP4, IP = ..., SIZE = ...])',
        params: IdParams,
        body: VnetTemplateBody,
        response: { 200: Done },
      },
    },
    async (request) => {
      await vnets.addAddressRanges(callerOf(request), request.params.id, templateOf(request.body));
      return { ID: request.params.id };
    },
  );

  app.put(
    '/api/v1/vnets/:id/ar/:arId',
    {
      schema: {
        tags,
        summary: 'Update an address range (template with one AR)',
        params: ArParams,
        body: VnetTemplateBody,
        response: { 200: Done },
      },
    },
    async (request) => {
      const { id, arId } = request.params;
      await vnets.updateAddressRange(callerOf(request), id, arId, templateOf(request.body));
      return { ID: id };
    },
  );

  app.delete(
    '/api/v1/vnets/:id/ar/:arId',
    {
      schema: {
        tags,
        summary: 'Remove an address range (refused while it has leases, unless ?force=true)',
        params: ArParams,
        querystring: RemoveArQuery,
        response: { 200: Done },
      },
    },
    async (request) => {
      const { id, arId } = request.params;
      await vnets.removeAddressRange(callerOf(request), id, arId, request.query.force ?? false);
      return { ID: id };
    },
  );

  app.post(
    '/api/v1/vnets/:id/free-ar/:arId',
    {
      schema: {
        tags,
        summary: "Free a reservation's address range (its addresses go back to the parent network)",
        params: ArParams,
        response: { 200: Done },
      },
    },
    async (request) => {
      const { id, arId } = request.params;
      await vnets.freeAddressRange(callerOf(request), id, arId);
      return { ID: id };
    },
  );

  for (const [verb, summary] of [
    ['hold', 'Put an address on hold (LEASES = [IP = ...] or MAC / IP6, optional AR_ID)'],
    ['release', 'Release an address on hold (LEASES = [IP = ...])'],
  ] as const) {
    app.post(
      `/api/v1/vnets/:id/${verb}`,
      { schema: { tags, summary, params: IdParams, body: VnetTemplateBody, response: { 200: Done } } },
      async (request) => {
        const template = templateOf(request.body);
        if (verb === 'hold') await vnets.hold(callerOf(request), request.params.id, template);
        else await vnets.release(callerOf(request), request.params.id, template);
        return { ID: request.params.id };
      },
    );
  }

  app.post(
    '/api/v1/vnets/:id/reserve',
    {
      schema: {
        tags,
        summary: 'Reserve addresses into a new (NAME) or existing (NETWORK_ID) reservation network',
        params: IdParams,
        body: VnetTemplateBody,
        response: { 200: Done },
      },
    },
    async (request) => {
      const id = await vnets.reserve(callerOf(request), request.params.id, templateOf(request.body));
      return { ID: id };
    },
  );
}
