import type { RestApp, RestDeps } from '../app.js';

export function registerHostRoutes(_app: RestApp, _deps: RestDeps): void {
  // filled by the hosts work
}
