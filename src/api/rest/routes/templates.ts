import type { RestApp, RestDeps } from '../app.js';

export function registerTemplateRoutes(_app: RestApp, _deps: RestDeps): void {
  // filled by the templates work
}
