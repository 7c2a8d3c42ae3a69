import { Type, type Static } from 'typebox';

/** `:id` in a path: a non-negative object id. */
export const IdParams = Type.Object({ id: Type.Integer({ minimum: 0, maximum: 2147483647 }) });
export type IdParams = Static<typeof IdParams>;

/** 201 answer of every create: `{ "ID": 7 }` (the CLI prints `ID: 7`). */
export const Created = Type.Object({ ID: Type.Integer() });
export type Created = Static<typeof Created>;

/** Answer of actions that return nothing else. */
export const Done = Type.Object({ ID: Type.Integer() });

/**
 * A template in a request: OpenNebula text (`CPU = 1 ...`), the XML `<TEMPLATE>` form, or the
 * JSON form (`{"CPU":"1","DISK":[{...}]}`).
 */
export const TemplateInput = Type.Union([
  Type.String({ maxLength: 1_048_576 }),
  Type.Record(Type.String({ pattern: '^[A-Za-z0-9_]+$' }), Type.Unknown()),
]);
export type TemplateInput = Static<typeof TemplateInput>;

/** `update`: replace the whole template, or merge into it (OpenNebula type 0 / 1). */
export const TemplateUpdate = Type.Object(
  { template: TemplateInput, merge: Type.Optional(Type.Boolean({ default: false })) },
  { additionalProperties: false },
);
export type TemplateUpdate = Static<typeof TemplateUpdate>;

export const Rename = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 128 }) },
  { additionalProperties: false },
);
export type Rename = Static<typeof Rename>;

/** chown: -1 keeps the current value, as OpenNebula. */
export const Chown = Type.Object(
  {
    uid: Type.Optional(Type.Integer({ minimum: -1 })),
    gid: Type.Optional(Type.Integer({ minimum: -1 })),
  },
  { additionalProperties: false },
);
export type Chown = Static<typeof Chown>;

/** chmod: octal text ("640") or the permission string ("um-u-----"). */
export const Chmod = Type.Object(
  { octet: Type.String({ pattern: '^([0-7]{3}|[u-][m-][a-][u-][m-][a-][u-][m-][a-])$' }) },
  { additionalProperties: false },
);
export type Chmod = Static<typeof Chmod>;

/**
 * Listing: OpenNebula's filter flag (-4 my primary group's, -3 mine, -2 all I may see, -1 mine
 * and my groups', >= 0 that user's), name search, state, and keyset pages (`after` = last id seen).
 */
export const ListQuery = Type.Object(
  {
    filter: Type.Optional(Type.Integer({ minimum: -4, default: -2 })),
    name: Type.Optional(Type.String({ maxLength: 128 })),
    state: Type.Optional(Type.Integer({ minimum: -2, maximum: 255 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
    after: Type.Optional(Type.Integer({ minimum: -1 })),
  },
  { additionalProperties: false },
);
export type ListQuery = Static<typeof ListQuery>;

export const ErrorBody = Type.Object({
  code: Type.String(),
  message: Type.String(),
  field: Type.Optional(Type.String()),
});

/** Keyset pages for the small pools (users, groups, hosts, clusters, datastores). */
export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
  after: Type.Optional(Type.Integer({ minimum: -1 })),
};

/** `one.*.lock`: level 1 use, 2 manage, 3 admin, 4 all (default 1); `test` refuses an existing lock. */
export const Lock = Type.Object(
  {
    level: Type.Optional(Type.Integer({ minimum: 1, maximum: 4, default: 1 })),
    test: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type Lock = Static<typeof Lock>;
