import { templateFromInput } from '../../../controller/template-input.js';
import { VmTemplateService } from '../../../controller/vmtemplates.js';
import { Created, Done, IdParams, ListQuery } from '../../../protocol/common.js';
import {
  Instantiated,
  VmTemplateClone,
  VmTemplateCreate,
  VmTemplateInstantiate,
} from '../../../protocol/vmtemplates.js';
import { vmTemplateBody } from '../../bodies/vmtemplate.js';
import type { RestApp, RestDeps } from '../app.js';
import { callerOf } from '../request-context.js';
import { registerOwnedRoutes } from './owned.js';

const tags = ['templates'];

export function registerTemplateRoutes(app: RestApp, { ctx, lifecycle }: RestDeps): void {
  const templates = new VmTemplateService(ctx);

  app.post(
    '/api/v1/templates',
    {
      schema: {
        tags,
        summary: 'Create a VM template (NAME required; text, XML or JSON)',
        body: VmTemplateCreate,
        response: { 201: Created },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const template = typeof body === 'string' ? templateFromInput(body) : templateFromInput(body.template);
      const id = await templates.create(callerOf(request), template);
      return reply.status(201).send({ ID: id });
    },
  );

  app.get(
    '/api/v1/templates',
    { schema: { tags, summary: 'List VM templates', querystring: ListQuery } },
    async (request) => {
      const q = request.query;
      const page = await templates.list(callerOf(request), {
        filter: q.filter ?? -2,
        name: q.name,
        limit: q.limit,
        after: q.after,
      });
      return {
        VMTEMPLATE_POOL: { VMTEMPLATE: page.items.map((t) => vmTemplateBody(t, ctx.names)) },
        ...(q.limit !== undefined ? { next_after: page.nextAfterId } : {}),
      };
    },
  );

  app.get(
    '/api/v1/templates/:id',
    { schema: { tags, summary: 'Show a VM template', params: IdParams } },
    async (request) => {
      const template = await templates.get(callerOf(request), request.params.id);
      return { VMTEMPLATE: vmTemplateBody(template, ctx.names) };
    },
  );

  registerOwnedRoutes(app, {
    collection: 'templates',
    tags,
    template: {
      summary: 'Replace or merge the template contents',
      run: (caller, id, template, merge) => templates.update(caller, id, template, merge),
    },
    rename: {
      summary: 'Rename a VM template',
      run: (caller, id, name) => templates.rename(caller, id, name),
    },
    chown: {
      summary: 'Change owner and/or group (-1 keeps)',
      run: (caller, id, owner) => templates.chown(caller, id, owner),
    },
    chmod: { summary: 'Change permissions', run: (caller, id, octet) => templates.chmod(caller, id, octet) },
  });

  app.post(
    '/api/v1/templates/:id/clone',
    {
      schema: {
        tags,
        summary: 'Clone a VM template (the copy belongs to the caller)',
        params: IdParams,
        body: VmTemplateClone,
        response: { 201: Created },
      },
    },
    async (request, reply) => {
      const id = await templates.clone(callerOf(request), request.params.id, request.body.name);
      return reply.status(201).send({ ID: id });
    },
  );

  app.post(
    '/api/v1/templates/:id/instantiate',
    {
      schema: {
        tags,
        summary: 'Instantiate VMs from a template (extra merged over it)',
        params: IdParams,
        body: VmTemplateInstantiate,
        response: { 201: Instantiated },
      },
    },
    async (request, reply) => {
      const body = request.body ?? {};
      const ids = await templates.instantiate(callerOf(request), request.params.id, {
        name: body.name,
        hold: body.hold,
        multiple: body.multiple,
        extra: body.extra === undefined ? undefined : templateFromInput(body.extra, 'extra'),
      });
      lifecycle?.engine.kickPlacement();
      return reply.status(201).send({ ID: ids[0]!, IDS: ids });
    },
  );

  app.delete(
    '/api/v1/templates/:id',
    { schema: { tags, summary: 'Delete a VM template', params: IdParams, response: { 200: Done } } },
    async (request) => {
      await templates.delete(callerOf(request), request.params.id);
      return { ID: request.params.id };
    },
  );
}
