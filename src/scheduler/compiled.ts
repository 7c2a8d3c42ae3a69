/**
 * Expressions as a pass uses them: compiled once per distinct text (or, for the benchmark's
 * baseline, parsed again on every evaluation), with the parse error kept as text.
 */
import {
  compileRank,
  compileRequirement,
  type CompiledRank,
  type CompiledRequirement,
} from './expressions.js';

export type Compiled<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

export class Expressions {
  readonly #requirements = new Map<string, Compiled<CompiledRequirement>>();
  readonly #ranks = new Map<string, Compiled<CompiledRank>>();
  constructor(private readonly compiled: boolean) {}

  requirement(text: string): Compiled<CompiledRequirement> {
    let c = this.#requirements.get(text);
    if (c === undefined) {
      const r = compileRequirement(text);
      c = r.ok
        ? { ok: true, value: this.compiled ? r.value : interpretedRequirement(r.value) }
        : { ok: false, error: r.error.message };
      this.#requirements.set(text, c);
    }
    return c;
  }

  rank(text: string): Compiled<CompiledRank> {
    let c = this.#ranks.get(text);
    if (c === undefined) {
      const r = compileRank(text);
      c = r.ok
        ? { ok: true, value: this.compiled ? r.value : interpretedRank(r.value) }
        : { ok: false, error: r.error.message };
      this.#ranks.set(text, c);
    }
    return c;
  }
}

/** The benchmark's baseline: the expression is parsed again on every evaluation. */
function interpretedRequirement(c: CompiledRequirement): CompiledRequirement {
  const source = c.source;
  return {
    ...c,
    test: (lookup) => (compileRequirement(source) as { value: CompiledRequirement }).value.test(lookup),
  };
}

function interpretedRank(c: CompiledRank): CompiledRank {
  const source = c.source;
  return { ...c, rank: (lookup) => (compileRank(source) as { value: CompiledRank }).value.rank(lookup) };
}

export function readsAny(variables: ReadonlySet<string>, names: readonly string[]): boolean {
  return names.some((n) => variables.has(n));
}

/** `AUTOMATIC & (USER)`, the effective requirement OpenNebula prints. */
export function combinedRequirement(automatic: string, user: string): string {
  const a = automatic.trim();
  const u = user.trim();
  if (a === '') return u;
  if (u === '') return a;
  return `${a} & ( ${u} )`;
}
