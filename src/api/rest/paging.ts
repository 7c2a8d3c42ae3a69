/**
 * One page of an already filtered list, by id (`after` = the last id seen), and the answer's
 * `next_after` field when the caller asked for pages.
 */
export function pageOf<T>(
  items: readonly T[],
  idOf: (item: T) => number,
  query: { readonly limit?: number | undefined; readonly after?: number | undefined },
): { items: T[]; next: Record<string, number | null> } {
  const after = query.after ?? -1;
  const from = items.filter((item) => idOf(item) > after);
  if (query.limit === undefined) return { items: from, next: {} };
  const page = from.slice(0, query.limit);
  const last = page[page.length - 1];
  const full = page.length === query.limit && last !== undefined && from.length > query.limit;
  return { items: page, next: { next_after: full ? idOf(last) : null } };
}
