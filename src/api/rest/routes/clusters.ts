import type { RestApp, RestDeps } from '../app.js';

export function registerClusterRoutes(_app: RestApp, _deps: RestDeps): void {
  // filled by the clusters work
}
