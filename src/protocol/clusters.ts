import { PageQuery } from './common.js';
import { Type, type Static } from 'typebox';

export const ClusterCreate = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 128 }) },
  { additionalProperties: false },
);
export type ClusterCreate = Static<typeof ClusterCreate>;

export const ClusterListQuery = Type.Object(
  {
    ...PageQuery,
    name: Type.Optional(Type.String({ maxLength: 128 })),
  },
  { additionalProperties: false },
);
export type ClusterListQuery = Static<typeof ClusterListQuery>;

/** `/clusters/:id/hosts/:member` and the like: addhost / delhost, adddatastore, addvnet ... */
export const ClusterMemberParams = Type.Object({
  id: Type.Integer({ minimum: 0, maximum: 2147483647 }),
  member: Type.Integer({ minimum: 0, maximum: 2147483647 }),
});
export type ClusterMemberParams = Static<typeof ClusterMemberParams>;
