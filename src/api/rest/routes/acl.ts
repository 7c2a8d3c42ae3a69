import type { RestApp, RestDeps } from '../app.js';

export function registerAclRoutes(_app: RestApp, _deps: RestDeps): void {
  // filled by the acl work
}
