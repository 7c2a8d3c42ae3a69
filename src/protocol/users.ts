import { Type, type Static } from 'typebox';
import { PageQuery } from './common.js';

export const UserCreate = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
    /** Primary group id; default `users` (1). */
    group: Type.Optional(Type.Integer({ minimum: 0 })),
    authDriver: Type.Optional(Type.Literal('core')),
  },
  { additionalProperties: false },
);
export type UserCreate = Static<typeof UserCreate>;

export const PasswordChange = Type.Object(
  { password: Type.String({ minLength: 1, maxLength: 1024 }) },
  { additionalProperties: false },
);
export type PasswordChange = Static<typeof PasswordChange>;

export const GroupChange = Type.Object(
  { group: Type.Integer({ minimum: 0 }) },
  { additionalProperties: false },
);
export type GroupChange = Static<typeof GroupChange>;

export const Login = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 128 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
    /** Token lifetime in seconds (default 36000, as `oneuser login`); -1 never expires. */
    expire: Type.Optional(Type.Integer({ minimum: -1, maximum: 315_360_000 })),
    /** Scope the token to one group; -1 all the user's groups. */
    egid: Type.Optional(Type.Integer({ minimum: -1, default: -1 })),
  },
  { additionalProperties: false },
);
export type Login = Static<typeof Login>;

export const LoginAnswer = Type.Object({
  token: Type.String(),
  /** Epoch seconds; -1 never. */
  expiresAt: Type.Integer(),
  uid: Type.Integer(),
});

export const UserListQuery = Type.Object(
  { ...PageQuery, name: Type.Optional(Type.String({ maxLength: 128 })) },
  { additionalProperties: false },
);
