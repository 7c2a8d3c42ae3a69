import type { RestApp, RestDeps } from '../app.js';
import { registerAclRoutes } from './acl.js';
import { registerAgentRoutes } from './agents.js';
import { registerAuthRoutes } from './auth.js';
import { registerClusterRoutes } from './clusters.js';
import { registerDatastoreRoutes } from './datastores.js';
import { registerGroupRoutes } from './groups.js';
import { registerHostRoutes } from './hosts.js';
import { registerImageRoutes } from './images.js';
import { registerTemplateRoutes } from './templates.js';
import { registerUserRoutes } from './users.js';
import { registerVmLifecycleRoutes } from './vm-lifecycle.js';
import { registerMonitoringRoutes } from './monitoring.js';
import { registerPlacementRoutes } from './placement.js';
import { registerVmGroupRoutes } from './vmgroups.js';
import { registerVmRoutes } from './vms.js';
import { registerVnetRoutes } from './vnets.js';

export type RouteModule = (app: RestApp, deps: RestDeps) => void | Promise<void>;

/** Every route module, one line each. */
export const ROUTE_MODULES: readonly RouteModule[] = [
  registerAuthRoutes,
  registerAgentRoutes,
  registerUserRoutes,
  registerGroupRoutes,
  registerAclRoutes,
  registerHostRoutes,
  registerClusterRoutes,
  registerDatastoreRoutes,
  registerTemplateRoutes,
  registerVmRoutes,
  registerVmLifecycleRoutes,
  registerMonitoringRoutes,
  registerPlacementRoutes,
  registerVnetRoutes,
  registerImageRoutes,
  registerVmGroupRoutes,
];
