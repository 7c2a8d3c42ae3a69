import { UserService } from '../../../controller/users.js';
import { Created, Done, IdParams } from '../../../protocol/common.js';
import { GroupChange, PasswordChange, UserCreate, UserListQuery } from '../../../protocol/users.js';
import { userBody } from '../../bodies/user.js';
import type { RestApp, RestDeps } from '../app.js';
import { pageOf } from '../paging.js';
import { callerOf } from '../request-context.js';
import { registerOwnedRoutes } from './owned.js';

const tags = ['users'];

export function registerUserRoutes(app: RestApp, { ctx }: RestDeps): void {
  const users = new UserService(ctx);

  app.post(
    '/api/v1/users',
    { schema: { tags, summary: 'Create a user', body: UserCreate, response: { 201: Created } } },
    async (request, reply) => {
      const id = await users.create(callerOf(request), request.body);
      return reply.status(201).send({ ID: id });
    },
  );

  app.get(
    '/api/v1/users',
    { schema: { tags, summary: 'List users', querystring: UserListQuery } },
    async (request) => {
      const list = await users.list(callerOf(request), { name: request.query.name });
      const page = pageOf(list, (u) => u.id, request.query);
      return {
        USER_POOL: { USER: page.items.map((u) => userBody(u, ctx.names, { quotas: false })) },
        ...page.next,
      };
    },
  );

  app.get(
    '/api/v1/users/:id',
    { schema: { tags, summary: 'Show a user', params: IdParams } },
    async (request) => {
      const user = await users.get(callerOf(request), request.params.id);
      return { USER: userBody(user, ctx.names, { quotas: true }) };
    },
  );

  app.put(
    '/api/v1/users/:id/password',
    {
      schema: {
        tags,
        summary: 'Change the password (ends all sessions)',
        params: IdParams,
        body: PasswordChange,
        response: { 200: Done },
      },
    },
    async (request) => {
      await users.changePassword(callerOf(request), request.params.id, request.body.password);
      return { ID: request.params.id };
    },
  );

  app.post(
    '/api/v1/users/:id/chgrp',
    {
      schema: {
        tags,
        summary: 'Change the primary group',
        params: IdParams,
        body: GroupChange,
        response: { 200: Done },
      },
    },
    async (request) => {
      await users.changeGroup(callerOf(request), request.params.id, request.body.group);
      return { ID: request.params.id };
    },
  );

  for (const [verb, enabled] of [
    ['enable', true],
    ['disable', false],
  ] as const) {
    app.post(
      `/api/v1/users/:id/${verb}`,
      {
        schema: {
          tags,
          summary: `${verb[0]!.toUpperCase()}${verb.slice(1)} a user`,
          params: IdParams,
          response: { 200: Done },
        },
      },
      async (request) => {
        await users.setEnabled(callerOf(request), request.params.id, enabled);
        return { ID: request.params.id };
      },
    );
  }

  registerOwnedRoutes(app, {
    collection: 'users',
    tags,
    template: {
      summary: 'Replace or merge the user template',
      run: (caller, id, template, merge) => users.updateTemplate(caller, id, template, merge),
    },
    delete: { summary: 'Delete a user that owns nothing', run: (caller, id) => users.delete(caller, id) },
  });
}
