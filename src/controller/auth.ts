import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { hash as argon2Hash, verify as argon2Verify } from '@node-rs/argon2';
import { isOneadmin } from '../domain/auth/authorize.js';
import type { UserRecord } from '../domain/auth/record.js';
import { findLoginToken, login as planLogin, sessionGroups } from '../domain/auth/users.js';
import { NimbusError } from '../domain/errors.js';
import { getSingle } from '../domain/template/index.js';
import type { Caller } from './caller.js';
import type { ControllerContext } from './context.js';

/** Hashes a password for storage (argon2id, the library's defaults: m=19 MiB, t=2, p=1). */
export function hashPassword(plain: string): Promise<string> {
  return argon2Hash(plain, { algorithm: 2 });
}

/** A login token is shown once as `<uid>.<64 hex>`; only the SHA-256 of the secret part is stored. */
export function tokenHash(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

const AUTH_FAILED = "User couldn't be authenticated, aborting call.";

interface CachedCredential {
  readonly uid: number;
  readonly expiresAt: number;
}

/**
 * Authentication: HTTP Basic (user:password, or user:token as OpenNebula sessions do) and bearer
 * tokens from `login`. A verified password is remembered in memory (keyed by a hash of the pair,
 * never the password itself) for `credentialCacheMs`, so a request costs a map lookup instead of
 * an argon2 run; changing or disabling a user forgets its entries at once.
 */
export class AuthService {
  readonly #cache = new Map<string, CachedCredential>();
  /** Cache keys are an HMAC under a key that lives only in this process. */
  readonly #cacheKey = randomBytes(32);
  /** Verified when the user does not exist, so both answers take one argon2 run. */
  #dummyHash: Promise<string> | null = null;

  constructor(private readonly ctx: ControllerContext) {}

  async authenticateBasic(name: string, secret: string): Promise<Caller> {
    const key = createHmac('sha256', this.#cacheKey)
      .update(name)
      .update('\0')
      .update(secret)
      .digest('base64');
    const cached = this.#cache.get(key);
    const nowMs = Date.now();
    if (cached !== undefined && cached.expiresAt > nowMs) {
      const user = await this.ctx.store.users.find(cached.uid);
      if (user !== undefined && user.enabled && user.name === name) return this.callerFor(user, null);
      this.#cache.delete(key);
    }
    const user = await this.ctx.store.users.findByName(name);
    if (user === undefined || !user.enabled) {
      // Same cost as a wrong password: the answer time does not tell which names exist.
      this.#dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
      await verifyPassword(await this.#dummyHash, secret);
      throw authFailed();
    }
    // A login token is accepted in place of the password (OpenNebula's `user:token` session).
    const token = findLoginToken(user.loginTokens, tokenHash(secret), this.ctx.now());
    if (token !== null) return this.callerFor(user, token.egid);
    if (!(await verifyPassword(user.password, secret))) throw authFailed();
    if (this.ctx.config.credentialCacheMs > 0) {
      if (this.#cache.size > 10_000) this.#cache.clear();
      this.#cache.set(key, { uid: user.id, expiresAt: nowMs + this.ctx.config.credentialCacheMs });
    }
    return this.callerFor(user, null);
  }

  async authenticateBearer(token: string): Promise<Caller> {
    const match = /^(\d{1,10})\.([0-9a-f]{64})$/.exec(token);
    if (match === null) throw authFailed();
    const user = await this.ctx.store.users.find(Number(match[1]));
    if (user === undefined || !user.enabled) throw authFailed();
    const found = findLoginToken(user.loginTokens, tokenHash(match[2]!), this.ctx.now());
    if (found === null) throw authFailed();
    return this.callerFor(user, found.egid);
  }

  /** Creates a login token for the caller (`one.user.login`); returns it once, in clear. */
  async login(
    caller: Caller,
    validSeconds: number | undefined,
    egid: number,
  ): Promise<{ token: string; expiresAt: number }> {
    const secret = randomBytes(32).toString('hex');
    const valid = validSeconds ?? this.ctx.config.tokenTtl;
    let expiresAt = -1;
    await this.ctx.store.transaction(
      async (tx) => {
        const user = await tx.users.get(caller.uid);
        const outcome = planLogin(
          user,
          { tokenHash: tokenHash(secret), valid, egid },
          { now: this.ctx.now(), maxTokenTime: -1, sessionGids: caller.gids, isAdmin: caller.isOneadmin },
        );
        if (!outcome.ok) throw new NimbusError(outcome.error.code, outcome.error.message, 'valid');
        expiresAt = outcome.value.token?.expirationTime ?? -1;
        await tx.users.update({ ...user, loginTokens: outcome.value.tokens });
      },
      { retries: 3 },
    );
    return { token: `${caller.uid}.${secret}`, expiresAt };
  }

  /** Forget every cached credential of a user (password change, disable, delete). */
  forget(uid: number): void {
    for (const [key, entry] of this.#cache) if (entry.uid === uid) this.#cache.delete(key);
  }

  async callerFor(user: UserRecord, egid: number | null): Promise<Caller> {
    const session = sessionGroups(user, egid === null ? null : { egid });
    const subject = { uid: user.id, gid: session.gid, gids: session.gids };
    const evaluator = await this.ctx.acl.evaluator();
    return {
      uid: user.id,
      name: user.name,
      gid: session.gid,
      gids: session.gids,
      isOneadmin: isOneadmin(subject),
      umask: getSingle(user.template, 'UMASK'),
      authorizer: evaluator.forSubject(subject),
    };
  }
}

async function verifyPassword(stored: string, plain: string): Promise<boolean> {
  if (stored.startsWith('$argon2')) {
    try {
      return await argon2Verify(stored, plain);
    } catch {
      return false;
    }
  }
  // Users migrated from OpenNebula keep their SHA-256 hex password until they change it.
  if (/^[0-9a-f]{64}$/.test(stored)) {
    const given = Buffer.from(createHash('sha256').update(plain).digest('hex'));
    return timingSafeEqual(given, Buffer.from(stored));
  }
  return false;
}

function authFailed(): NimbusError {
  return new NimbusError('AUTHENTICATION', AUTH_FAILED);
}
