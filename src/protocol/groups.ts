import { PageQuery } from './common.js';
import { Type, type Static } from 'typebox';

export const GroupCreate = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 128 }) },
  { additionalProperties: false },
);
export type GroupCreate = Static<typeof GroupCreate>;

/** `?name=` lists the group of that name (how the CLI resolves names). */
export const GroupListQuery = Type.Object(
  {
    ...PageQuery,
    name: Type.Optional(Type.String({ maxLength: 128 })),
  },
  { additionalProperties: false },
);
export type GroupListQuery = Static<typeof GroupListQuery>;

/** `addadmin`: the user (a member of the group) to make an administrator. */
export const GroupAdminAdd = Type.Object(
  { user: Type.Integer({ minimum: 0, maximum: 2147483647 }) },
  { additionalProperties: false },
);
export type GroupAdminAdd = Static<typeof GroupAdminAdd>;

export const GroupAdminParams = Type.Object({
  id: Type.Integer({ minimum: 0, maximum: 2147483647 }),
  uid: Type.Integer({ minimum: 0, maximum: 2147483647 }),
});
export type GroupAdminParams = Static<typeof GroupAdminParams>;
