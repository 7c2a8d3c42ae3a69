/** Request schemas of `/api/v1/vnets`, shared by the REST routes and the `nimbus vnet` CLI. */
import { Type, type Static } from 'typebox';
import { TemplateInput } from './common.js';

/**
 * A template-carrying request (create, addar, updatear, hold, release, reserve): a text/plain
 * body (OpenNebula text or XML), JSON `{ "template": <text | JSON form> }`, or the JSON form
 * itself (`{ "NAME": "net", "AR": [{ ... }] }`).
 */
export const VnetTemplateBody = Type.Union([
  Type.String({ maxLength: 1_048_576 }),
  Type.Object({ template: TemplateInput }, { additionalProperties: false }),
  TemplateInput,
]);
export type VnetTemplateBody = Static<typeof VnetTemplateBody>;

/** The template inside a VnetTemplateBody (`template` is no attribute name: they are upper case). */
export function templateOfBody(body: VnetTemplateBody): unknown {
  if (typeof body === 'string') return body;
  const keys = Object.keys(body);
  return keys.length === 1 && keys[0] === 'template' ? body.template : body;
}

/** `one.vn.allocate`'s cluster_id: the network joins this cluster (default 0, `default`). */
export const VnetCreateQuery = Type.Object(
  { cluster: Type.Optional(Type.Integer({ minimum: 0, maximum: 2147483647 })) },
  { additionalProperties: false },
);
export type VnetCreateQuery = Static<typeof VnetCreateQuery>;

/** `:id/ar/:arId` in a path. */
export const ArParams = Type.Object({
  id: Type.Integer({ minimum: 0, maximum: 2147483647 }),
  arId: Type.Integer({ minimum: 0, maximum: 2147483647 }),
});
export type ArParams = Static<typeof ArParams>;

/** `one.vn.rm_ar`'s force flag: drop the range with its leases. */
export const RemoveArQuery = Type.Object(
  { force: Type.Optional(Type.Boolean({ default: false })) },
  { additionalProperties: false },
);
export type RemoveArQuery = Static<typeof RemoveArQuery>;

/** Lease cursor: `<AR_ID>:<index>` of the last lease seen (the answer's `next_after`). */
export const LEASE_CURSOR_PATTERN = '^[0-9]+:[0-9]+$';

/** Leases of a network, optionally of one range, in pages ordered by range then address. */
export const LeaseListQuery = Type.Object(
  {
    ar: Type.Optional(Type.Integer({ minimum: 0, maximum: 2147483647 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
    after: Type.Optional(Type.String({ pattern: LEASE_CURSOR_PATTERN })),
  },
  { additionalProperties: false },
);
export type LeaseListQuery = Static<typeof LeaseListQuery>;
