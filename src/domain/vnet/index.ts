/** Virtual networks: address arithmetic, address ranges, leases, NIC attributes, VNET templates. */
export * from './address.js';
export * from './address-range.js';
export * from './lease-state.js';
export * from './leases.js';
export * from './nic.js';
export * from './vnet-template.js';
export type * from './record.js';
