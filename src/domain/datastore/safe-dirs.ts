import { fail, ok, type Result } from '../errors.js';
import type { DatastoreRecord } from './record.js';
import { isWithin, normalizeAbsolutePath, parseDirList } from './paths.js';

/**
 * May an image be registered from a local PATH on the front-end?
 *
 * OpenNebula checks this in the `fs` driver (`libfs.sh check_restricted`): a path under one of the
 * datastore's RESTRICTED_DIRS (default `/`) is refused unless it is under one of its SAFE_DIRS
 * (default `/var/tmp`); the test is a plain string prefix on `readlink -f`. Nimbus keeps that
 * rule and tightens it:
 *
 * * Paths are compared by whole components (`/var/tmpfoo` is not in `/var/tmp`) after
 *   normalization, so `/var/tmp/../../etc/shadow` is judged as `/etc/shadow`.
 * * System directories (`/etc`, `/proc`, `/sys`, `/dev`, `/boot`, `/root`, `/run`), any
 *   `.ssh` or `.gnupg` directory, and the controller's own directories (`protectedDirs`: the
 *   datastore location, the database) are refused to everybody, even when listed in SAFE_DIRS:
 *   they are never image sources, and the datastores hold other users' images.
 * * A caller outside the oneadmin group may only use SAFE_DIRS, whatever RESTRICTED_DIRS says;
 *   the oneadmin group gets OpenNebula's rule.
 *
 * The controller must pass `realpath(PATH)`: this function does no I/O, so a symbolic link in
 * /var/tmp pointing at /etc/shadow is only caught if the link has been resolved first.
 */

export const DEFAULT_SAFE_DIRS: readonly string[] = ['/var/tmp'];
export const DEFAULT_RESTRICTED_DIRS: readonly string[] = ['/'];
export const ALWAYS_REFUSED_DIRS: readonly string[] = [
  '/etc',
  '/proc',
  '/sys',
  '/dev',
  '/boot',
  '/root',
  '/run',
];
const SECRET_COMPONENTS: readonly string[] = ['.ssh', '.gnupg'];

export interface ImagePathPolicy {
  readonly safeDirs: readonly string[];
  readonly restrictedDirs: readonly string[];
}

/** SAFE_DIRS / RESTRICTED_DIRS of a datastore, with OpenNebula's defaults when unset. */
export function imagePathPolicyOf(ds: Pick<DatastoreRecord, 'template'>): ImagePathPolicy {
  const list = (name: string, fallback: readonly string[]): readonly string[] => {
    const value = ds.template[name]?.[0];
    if (typeof value !== 'string' || value.trim() === '') return fallback;
    return parseDirList(value).dirs;
  };
  return {
    safeDirs: list('SAFE_DIRS', DEFAULT_SAFE_DIRS),
    restrictedDirs: list('RESTRICTED_DIRS', DEFAULT_RESTRICTED_DIRS),
  };
}

export interface ImagePathRequest {
  /** The requested PATH, after `realpath` in the controller. */
  readonly path: string;
  readonly policy: ImagePathPolicy;
  readonly callerInOneadminGroup: boolean;
  /** The controller's own directories: datastore location, database, keys. */
  readonly protectedDirs?: readonly string[];
}

function refused(message: string): ReturnType<typeof fail> {
  return fail('PATH_RESTRICTED', message, 'PATH');
}

function normalizedList(dirs: readonly string[]): string[] {
  return dirs.map((d) => normalizeAbsolutePath(d)).filter((d): d is string => d !== undefined);
}

/** Decide whether PATH may be copied into the datastore; the value is the normalized path. */
export function decideImagePath(request: ImagePathRequest): Result<string> {
  const { path } = request;
  if (path.includes('\0')) return refused('PATH must not contain NUL characters');
  const normal = normalizeAbsolutePath(path);
  if (normal === undefined) return refused(`PATH "${path}" must be an absolute path`);
  const shown = normal === path ? normal : `${path} (resolves to ${normal})`;

  const hard = [...ALWAYS_REFUSED_DIRS, ...normalizedList(request.protectedDirs ?? [])].find((dir) =>
    isWithin(normal, dir),
  );
  if (hard !== undefined) {
    return refused(`PATH ${shown} is in ${hard}, which is never an image source`);
  }
  const secret = normal.split('/').find((part) => SECRET_COMPONENTS.includes(part));
  if (secret !== undefined) {
    return refused(`PATH ${shown} is inside a ${secret} directory, which is never an image source`);
  }

  const safe = normalizedList(request.policy.safeDirs);
  const safeText = safe.length > 0 ? safe.join(' ') : 'none';
  if (safe.some((dir) => isWithin(normal, dir))) return ok(normal);

  if (!request.callerInOneadminGroup) {
    return refused(
      `PATH ${shown} is outside the datastore's SAFE_DIRS (${safeText}); only users in the oneadmin group may ` +
        'register images from other local directories. Upload the file, or use an http(s) URL',
    );
  }
  const restricted = normalizedList(request.policy.restrictedDirs).find((dir) => isWithin(normal, dir));
  if (restricted !== undefined) {
    return refused(
      `PATH ${shown} is in the datastore's RESTRICTED_DIRS (${restricted}) and not in its SAFE_DIRS (${safeText})`,
    );
  }
  return ok(normal);
}
