import type { RestApp, RestDeps } from '../app.js';

export function registerVnetRoutes(_app: RestApp, _deps: RestDeps): void {
  // filled by the vnets work
}
