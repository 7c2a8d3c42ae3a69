import type { RestApp, RestDeps } from '../app.js';

export function registerGroupRoutes(_app: RestApp, _deps: RestDeps): void {
  // filled by the groups work
}
