import type { RestApp, RestDeps } from '../app.js';

export function registerDatastoreRoutes(_app: RestApp, _deps: RestDeps): void {
  // filled by the datastores work
}
