import { AclService } from '../../../controller/acl.js';
import { NimbusError } from '../../../domain/errors.js';
import { AclCreate } from '../../../protocol/acl.js';
import { Created, Done, IdParams } from '../../../protocol/common.js';
import { aclBody } from '../../bodies/acl.js';
import type { RestApp, RestDeps } from '../app.js';
import { callerOf } from '../request-context.js';

const tags = ['acl'];

/** ACL rules (`oneacl`): oneadmin only. */
export function registerAclRoutes(app: RestApp, { ctx }: RestDeps): void {
  const acl = new AclService(ctx);

  app.post(
    '/api/v1/acl',
    {
      schema: {
        tags,
        summary:
          'Add an ACL rule: {"rule": "@1 VM+IMAGE/* CREATE *"} or the hex words user, resource, rights[, zone]',
        body: AclCreate,
        response: { 201: Created },
      },
    },
    async (request, reply) => {
      const { rule, user, resource, rights, zone } = request.body;
      let id: number;
      if (rule !== undefined) {
        if (user !== undefined || resource !== undefined || rights !== undefined || zone !== undefined) {
          throw new NimbusError(
            'VALIDATION',
            'give either rule or the hex words user, resource, rights, zone',
            'body/rule',
          );
        }
        id = await acl.create(callerOf(request), { rule });
      } else {
        if (user === undefined || resource === undefined || rights === undefined) {
          const missing = user === undefined ? 'user' : resource === undefined ? 'resource' : 'rights';
          throw new NimbusError(
            'VALIDATION',
            `body/${missing}: required, with the other hex words (or give rule in the string form)`,
            `body/${missing}`,
          );
        }
        id = await acl.create(callerOf(request), {
          user,
          resource,
          rights,
          ...(zone !== undefined ? { zone } : {}),
        });
      }
      return reply.status(201).send({ ID: id });
    },
  );

  app.get('/api/v1/acl', { schema: { tags, summary: 'List ACL rules' } }, async (request) => {
    const rules = await acl.list(callerOf(request));
    return { ACL_POOL: { ACL: rules.map(aclBody) } };
  });

  app.delete(
    '/api/v1/acl/:id',
    { schema: { tags, summary: 'Delete an ACL rule', params: IdParams, response: { 200: Done } } },
    async (request) => {
      await acl.delete(callerOf(request), request.params.id);
      return { ID: request.params.id };
    },
  );
}
