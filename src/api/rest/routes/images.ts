import type { RestApp, RestDeps } from '../app.js';

export function registerImageRoutes(_app: RestApp, _deps: RestDeps): void {
  // filled by the images work
}
