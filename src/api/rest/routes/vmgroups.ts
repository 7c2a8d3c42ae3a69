import { templateFromInput } from '../../../controller/template-input.js';
import { VmGroupService } from '../../../controller/vmgroups.js';
import { Created, Done, IdParams, ListQuery } from '../../../protocol/common.js';
import { VmGroupCreate, VmGroupRoleParams, VmGroupRoleTemplate } from '../../../protocol/vmgroups.js';
import { vmGroupBody } from '../../bodies/vmgroup.js';
import type { RestApp, RestDeps } from '../app.js';
import { callerOf } from '../request-context.js';
import { registerOwnedRoutes } from './owned.js';

const tags = ['vmgroups'];

/** Text (text/plain) or `{ template }`: the template of a create or a role call. */
function templateOfBody(body: string | { template: unknown }) {
  return typeof body === 'string' ? templateFromInput(body) : templateFromInput(body.template);
}

/** `onevmgroup` / `one.vmgroup.*`: VM groups, their roles and affinity rules. */
export function registerVmGroupRoutes(app: RestApp, { ctx }: RestDeps): void {
  const groups = new VmGroupService(ctx);

  app.post(
    '/api/v1/vmgroups',
    {
      schema: {
        tags,
        summary: 'Create a VM group (NAME, ROLE vectors, AFFINED / ANTI_AFFINED rules)',
        body: VmGroupCreate,
        response: { 201: Created },
      },
    },
    async (request, reply) => {
      const id = await groups.create(callerOf(request), templateOfBody(request.body));
      return reply.status(201).send({ ID: id });
    },
  );

  app.get(
    '/api/v1/vmgroups',
    { schema: { tags, summary: 'List VM groups', querystring: ListQuery } },
    async (request) => {
      const q = request.query;
      const page = await groups.list(callerOf(request), {
        filter: q.filter ?? -2,
        name: q.name,
        limit: q.limit,
        after: q.after,
      });
      return {
        VM_GROUP_POOL: { VM_GROUP: page.items.map((g) => vmGroupBody(g, ctx.names)) },
        ...(q.limit !== undefined ? { next_after: page.nextAfterId } : {}),
      };
    },
  );

  app.get(
    '/api/v1/vmgroups/:id',
    { schema: { tags, summary: 'Show a VM group', params: IdParams } },
    async (request) => {
      const group = await groups.get(callerOf(request), request.params.id);
      return { VM_GROUP: vmGroupBody(group, ctx.names) };
    },
  );

  registerOwnedRoutes(app, {
    collection: 'vmgroups',
    tags,
    template: {
      summary:
        'Replace or merge the template (rules, attributes; roles through /roles); refused while it has VMs',
      run: (caller, id, template, merge) => groups.update(caller, id, template, merge),
    },
    rename: { summary: 'Rename a VM group', run: (caller, id, name) => groups.rename(caller, id, name) },
    chown: {
      summary: 'Change owner and/or group (-1 keeps)',
      run: (caller, id, owner) => groups.chown(caller, id, owner),
    },
    chmod: { summary: 'Change permissions', run: (caller, id, octet) => groups.chmod(caller, id, octet) },
    lock: {
      summary: 'Lock a VM group (1 use, 2 manage, 3 admin, 4 all)',
      run: (caller, id, level, test) => groups.lock(caller, id, level, test),
    },
    unlock: { summary: 'Unlock a VM group', run: (caller, id) => groups.unlock(caller, id) },
    delete: {
      summary: 'Delete a VM group (refused while its roles have VMs)',
      run: (caller, id) => groups.delete(caller, id),
    },
  });

  app.post(
    '/api/v1/vmgroups/:id/roles',
    {
      schema: {
        tags,
        summary: 'Add a role (a template with one ROLE vector)',
        params: IdParams,
        body: VmGroupRoleTemplate,
        response: { 200: Done },
      },
    },
    async (request) => {
      await groups.addRole(callerOf(request), request.params.id, templateOfBody(request.body));
      return { ID: request.params.id };
    },
  );

  app.patch(
    '/api/v1/vmgroups/:id/roles/:roleId',
    {
      schema: {
        tags,
        summary: 'Update a role (its ROLE vector merged over it; refused while it has VMs)',
        params: VmGroupRoleParams,
        body: VmGroupRoleTemplate,
        response: { 200: Done },
      },
    },
    async (request) => {
      const { id, roleId } = request.params;
      await groups.updateRole(callerOf(request), id, roleId, templateOfBody(request.body));
      return { ID: id };
    },
  );

  app.delete(
    '/api/v1/vmgroups/:id/roles/:roleId',
    {
      schema: {
        tags,
        summary: 'Delete a role (refused while it has VMs or a rule names it)',
        params: VmGroupRoleParams,
        response: { 200: Done },
      },
    },
    async (request) => {
      const { id, roleId } = request.params;
      await groups.deleteRole(callerOf(request), id, roleId);
      return { ID: id };
    },
  );
}
