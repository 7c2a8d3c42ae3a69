import { templateFromInput } from '../../../controller/template-input.js';
import { VmService } from '../../../controller/vms.js';
import { Created, IdParams } from '../../../protocol/common.js';
import { VmCreate, VmCreateQuery, VmListQuery } from '../../../protocol/vms.js';
import { ShortBodyCache, vmBody } from '../../bodies/vm.js';
import type { RestApp, RestDeps } from '../app.js';
import { callerOf } from '../request-context.js';
import { registerOwnedRoutes } from './owned.js';

const tags = ['vms'];

export function registerVmRoutes(app: RestApp, { ctx, lifecycle, monitoring }: RestDeps): void {
  const vms = new VmService(ctx);
  const shortBodies = new ShortBodyCache();

  app.post(
    '/api/v1/vms',
    {
      schema: {
        tags,
        summary: 'Create a VM from a template (PENDING, or HOLD with hold)',
        body: VmCreate,
        querystring: VmCreateQuery,
        response: { 201: Created },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const template = typeof body === 'string' ? templateFromInput(body) : templateFromInput(body.template);
      const hold = (typeof body === 'string' ? undefined : body.hold) ?? request.query.hold ?? false;
      const id = await vms.allocate(callerOf(request), template, hold);
      lifecycle?.engine.kickPlacement();
      return reply.status(201).send({ ID: id });
    },
  );

  app.get(
    '/api/v1/vms',
    {
      schema: {
        tags,
        summary: 'List VMs (short bodies; extended=true for full ones)',
        querystring: VmListQuery,
      },
    },
    async (request, reply) => {
      const q = request.query;
      const extended = q.extended ?? false;
      const page = await vms.list(callerOf(request), {
        filter: q.filter ?? -2,
        state: q.state ?? -1,
        name: q.name,
        limit: q.limit,
        after: q.after,
        allHistory: extended,
      });
      if (!extended) {
        // Short bodies come pre-serialized from the cache: the answer is assembled as text.
        const items = page.vms.map((vm) => shortBodies.json(vm, page.history.get(vm.id)?.[0], ctx.names));
        const next = q.limit !== undefined ? `,"next_after":${JSON.stringify(page.nextAfter)}` : '';
        return reply
          .type('application/json; charset=utf-8')
          .send(`{"VM_POOL":{"VM":[${items.join(',')}]}${next}}`);
      }
      const bodies = page.vms.map((vm) =>
        vmBody(vm, page.history.get(vm.id) ?? [], ctx.names, {
          allowedActions: false,
          latest: monitoring?.latestVm(vm.id),
        }),
      );
      return {
        VM_POOL: { VM: bodies },
        ...(q.limit !== undefined ? { next_after: page.nextAfter } : {}),
      };
    },
  );

  app.get(
    '/api/v1/vms/:id',
    { schema: { tags, summary: 'Show a VM (full body and the actions allowed now)', params: IdParams } },
    async (request) => {
      const { vm, history } = await vms.get(callerOf(request), request.params.id);
      return {
        VM: vmBody(vm, history, ctx.names, { allowedActions: true, latest: monitoring?.latestVm(vm.id) }),
      };
    },
  );

  registerOwnedRoutes(app, {
    collection: 'vms',
    tags,
    template: {
      summary: 'Replace or merge the USER_TEMPLATE',
      run: (caller, id, template, merge) => vms.updateUserTemplate(caller, id, template, merge),
    },
    rename: { summary: 'Rename a VM', run: (caller, id, name) => vms.rename(caller, id, name) },
    chown: {
      summary: 'Change owner and/or group (-1 keeps); quota usage moves along',
      run: (caller, id, owner) => vms.chown(caller, id, owner),
    },
    chmod: { summary: 'Change permissions', run: (caller, id, octet) => vms.chmod(caller, id, octet) },
    delete: {
      summary: 'End a VM that has not reached a host (PENDING, HOLD); it stays listed as DONE',
      run: (caller, id) => vms.delete(caller, id),
    },
  });
}
