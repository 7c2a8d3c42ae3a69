import { GroupService } from '../../../controller/groups.js';
import { QuotaService, requireQuotaBlocks } from '../../../controller/quotas.js';
import { templateFromInput } from '../../../controller/template-input.js';
import { Created, Done, IdParams } from '../../../protocol/common.js';
import { GroupAdminAdd, GroupAdminParams, GroupCreate, GroupListQuery } from '../../../protocol/groups.js';
import { QuotaUpdate } from '../../../protocol/quotas.js';
import { groupBody, quotasBody } from '../../bodies/group.js';
import type { RestApp, RestDeps } from '../app.js';
import { pageOf } from '../paging.js';
import { callerOf } from '../request-context.js';
import { registerOwnedRoutes } from './owned.js';

const tags = ['groups'];

/** Groups (`onegroup`), and the quota routes of users and groups (`one.user.quota`, `one.group.quota`). */
export function registerGroupRoutes(app: RestApp, { ctx }: RestDeps): void {
  const groups = new GroupService(ctx);
  const quotas = new QuotaService(ctx);

  app.post(
    '/api/v1/groups',
    {
      schema: {
        tags,
        summary: 'Create a group (with the default ACL rules)',
        body: GroupCreate,
        response: { 201: Created },
      },
    },
    async (request, reply) => {
      const id = await groups.create(callerOf(request), request.body);
      return reply.status(201).send({ ID: id });
    },
  );

  app.get(
    '/api/v1/groups',
    { schema: { tags, summary: 'List groups', querystring: GroupListQuery } },
    async (request) => {
      const list = await groups.list(callerOf(request), { name: request.query.name });
      const page = pageOf(list, (g) => g.group.id, request.query);
      return { GROUP_POOL: { GROUP: page.items.map(groupBody) }, ...page.next };
    },
  );

  app.get(
    '/api/v1/groups/:id',
    { schema: { tags, summary: 'Show a group', params: IdParams } },
    async (request) => ({ GROUP: groupBody(await groups.get(callerOf(request), request.params.id)) }),
  );

  registerOwnedRoutes(app, {
    collection: 'groups',
    tags,
    template: {
      summary: 'Replace or merge the group template',
      run: (caller, id, template, merge) => groups.updateTemplate(caller, id, template, merge),
    },
  });

  app.post(
    '/api/v1/groups/:id/admins',
    {
      schema: {
        tags,
        summary: 'Make a member an administrator of the group',
        params: IdParams,
        body: GroupAdminAdd,
        response: { 200: Done },
      },
    },
    async (request) => {
      await groups.addAdmin(callerOf(request), request.params.id, request.body.user);
      return { ID: request.params.id };
    },
  );

  app.delete(
    '/api/v1/groups/:id/admins/:uid',
    {
      schema: {
        tags,
        summary: 'Remove an administrator of the group',
        params: GroupAdminParams,
        response: { 200: Done },
      },
    },
    async (request) => {
      await groups.removeAdmin(callerOf(request), request.params.id, request.params.uid);
      return { ID: request.params.id };
    },
  );

  app.delete(
    '/api/v1/groups/:id',
    {
      schema: { tags, summary: 'Delete a group without users', params: IdParams, response: { 200: Done } },
    },
    async (request) => {
      await groups.delete(callerOf(request), request.params.id);
      return { ID: request.params.id };
    },
  );

  for (const [collection, noun] of [
    ['groups', 'group'],
    ['users', 'user'],
  ] as const) {
    app.get(
      `/api/v1/${collection}/:id/quota`,
      { schema: { tags: [collection], summary: `Show the quotas of a ${noun}`, params: IdParams } },
      async (request) => {
        const { id } = request.params;
        const caller = callerOf(request);
        const set =
          noun === 'group' ? await quotas.groupQuotas(caller, id) : await quotas.userQuotas(caller, id);
        return quotasBody(id, set);
      },
    );

    app.put(
      `/api/v1/${collection}/:id/quota`,
      {
        schema: {
          tags: [collection],
          summary: `Set quota limits of a ${noun} (VM=[VMS=2] DATASTORE=[ID=1, SIZE=10240] ...)`,
          params: IdParams,
          body: QuotaUpdate,
        },
      },
      async (request) => {
        const { id } = request.params;
        const caller = callerOf(request);
        const template = requireQuotaBlocks(templateFromInput(request.body.template));
        const set =
          noun === 'group'
            ? await quotas.setGroupQuotas(caller, id, template)
            : await quotas.setUserQuotas(caller, id, template);
        return quotasBody(id, set);
      },
    );
  }
}
