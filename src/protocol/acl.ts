import { Type, type Static } from 'typebox';

const HexWord = Type.String({ minLength: 1, maxLength: 20 });

/**
 * A new ACL rule: either `rule`, the string form (`@1 VM+IMAGE/* CREATE *`), or the hex words of
 * `one.acl.addrule` (`user`, `resource`, `rights`, optional `zone`; lower-case hex, 0x optional).
 */
export const AclCreate = Type.Object(
  {
    rule: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    user: Type.Optional(HexWord),
    resource: Type.Optional(HexWord),
    rights: Type.Optional(HexWord),
    zone: Type.Optional(HexWord),
  },
  { additionalProperties: false },
);
export type AclCreate = Static<typeof AclCreate>;
