import { PageQuery } from './common.js';
import { Type, type Static } from 'typebox';

/** `one.host.allocate(name, im_mad, vm_mad, cluster_id)`; drivers kvm, qemu or dummy. */
export const HostCreate = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128 }),
    im: Type.String({ minLength: 1, maxLength: 64 }),
    vm: Type.String({ minLength: 1, maxLength: 64 }),
    /** Cluster id; -1 or absent: the default cluster 0. */
    cluster: Type.Optional(Type.Integer({ minimum: -1 })),
  },
  { additionalProperties: false },
);
export type HostCreate = Static<typeof HostCreate>;

export const HostListQuery = Type.Object(
  {
    ...PageQuery,
    cluster: Type.Optional(Type.Integer({ minimum: 0 })),
    /** Host STATE (reference §3.4). */
    state: Type.Optional(Type.Integer({ minimum: 0, maximum: 8 })),
    /** Part of the name, case-insensitive. */
    name: Type.Optional(Type.String({ maxLength: 128 })),
  },
  { additionalProperties: false },
);
export type HostListQuery = Static<typeof HostListQuery>;
