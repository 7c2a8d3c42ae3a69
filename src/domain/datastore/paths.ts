/**
 * Pure POSIX path arithmetic for the datastore rules. No file system access: symbolic links are
 * the controller's business (it passes `realpath`'d paths).
 */

/**
 * Normalize an absolute path: collapse `//`, drop `.`, resolve `..` (never above `/`), no
 * trailing slash. `/var/tmp/../../etc//shadow` → `/etc/shadow`. Undefined for relative paths.
 */
export function normalizeAbsolutePath(path: string): string | undefined {
  if (!path.startsWith('/')) return undefined;
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return '/' + parts.join('/');
}

/** Is `path` the directory `dir` or inside it? Both normalized; `/var/tmpx` is not in `/var/tmp`. */
export function isWithin(path: string, dir: string): boolean {
  if (dir === '/') return true;
  return path === dir || path.startsWith(dir + '/');
}

/** `<base>/<id>` with exactly one slash between them. */
export function joinPath(base: string, name: string | number): string {
  return `${base.replace(/\/+$/, '')}/${name}`;
}

/** A space-separated directory list (SAFE_DIRS, RESTRICTED_DIRS) as normalized absolute paths. */
export function parseDirList(text: string): {
  readonly dirs: readonly string[];
  readonly invalid: readonly string[];
} {
  const dirs: string[] = [];
  const invalid: string[] = [];
  for (const word of text.split(/\s+/)) {
    if (word === '') continue;
    const dir = normalizeAbsolutePath(word);
    if (dir === undefined) invalid.push(word);
    else if (!dirs.includes(dir)) dirs.push(dir);
  }
  return { dirs, invalid };
}
