import type { RestApp, RestDeps } from '../app.js';
import { registerAuthRoutes } from './auth.js';
import { registerUserRoutes } from './users.js';

export type RouteModule = (app: RestApp, deps: RestDeps) => void | Promise<void>;

/** Every route module, one line each. */
export const ROUTE_MODULES: readonly RouteModule[] = [registerAuthRoutes, registerUserRoutes];
