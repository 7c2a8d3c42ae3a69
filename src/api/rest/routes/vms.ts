import type { RestApp, RestDeps } from '../app.js';

export function registerVmRoutes(_app: RestApp, _deps: RestDeps): void {
  // filled by the vms work
}
