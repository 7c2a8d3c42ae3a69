/** The VM domain: states, actions, the lifecycle table, recover, HISTORY and the VM log format. */
export * from './record.js';
export * from './states.js';
export * from './actions.js';
export * from './log.js';
export * from './history.js';
export * from './plan.js';
export * from './events.js';
export * from './cleanup.js';
export * from './transitions.js';
export * from './recover.js';
export * from './restricted.js';
