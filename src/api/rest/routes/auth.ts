import { Login, LoginAnswer } from '../../../protocol/users.js';
import type { RestApp, RestDeps } from '../app.js';

/** POST /api/v1/login: credentials in the body, answers an expiring bearer token. */
export function registerAuthRoutes(app: RestApp, { auth }: RestDeps): void {
  app.post(
    '/api/v1/login',
    {
      config: { public: true },
      schema: {
        tags: ['auth'],
        summary: 'Exchange a user name and password for a login token',
        body: Login,
        response: { 200: LoginAnswer },
      },
    },
    async (request) => {
      const caller = await auth.authenticateBasic(request.body.username, request.body.password);
      const { token, expiresAt } = await auth.login(caller, request.body.expire, request.body.egid ?? -1);
      return { token, expiresAt, uid: caller.uid };
    },
  );
}
