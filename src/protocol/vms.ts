import { Type, type Static } from 'typebox';
import { TemplateInput } from './common.js';

/**
 * `POST /api/v1/vms` (`one.vm.allocate`): `{ "template": ..., "hold": false }`, or the template
 * text as `text/plain` (then `?hold=true` in the query).
 */
export const VmCreate = Type.Union([
  Type.String({ maxLength: 1_048_576 }),
  Type.Object(
    { template: TemplateInput, hold: Type.Optional(Type.Boolean()) },
    { additionalProperties: false },
  ),
]);
export type VmCreate = Static<typeof VmCreate>;

export const VmCreateQuery = Type.Object(
  { hold: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
);
export type VmCreateQuery = Static<typeof VmCreateQuery>;

/**
 * `one.vmpool.info` / `infoextended`: filter flag (-4 my primary group's, -3 mine, -2 all I may
 * see, -1 mine and my groups', >= 0 that user's), state (-2 any, -1 any but DONE, or a STATE
 * number), name (substring), keyset pages (`limit`, `after`), `extended` for full bodies.
 */
export const VmListQuery = Type.Object(
  {
    filter: Type.Optional(Type.Integer({ minimum: -4, default: -2 })),
    name: Type.Optional(Type.String({ maxLength: 128 })),
    state: Type.Optional(Type.Integer({ minimum: -2, maximum: 11, default: -1 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
    after: Type.Optional(Type.Integer({ minimum: -1 })),
    extended: Type.Optional(Type.Boolean({ default: false })),
  },
  { additionalProperties: false },
);
export type VmListQuery = Static<typeof VmListQuery>;
