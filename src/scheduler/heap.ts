/** A binary max-heap of host candidates: highest rank first, ties by lower host id. */

export interface Candidate {
  rank: number;
  /** Index of the host in the pass's host table. */
  readonly host: number;
  /** Host id, the tie-breaker. */
  readonly id: number;
  /** The host's version when the rank was computed (ranks that read live figures go stale). */
  readonly version: number;
}

function before(a: Candidate, b: Candidate): boolean {
  return a.rank > b.rank || (a.rank === b.rank && a.id < b.id);
}

export class CandidateHeap {
  readonly #items: Candidate[];

  constructor(items: Candidate[] = []) {
    this.#items = items;
    for (let i = (items.length >> 1) - 1; i >= 0; i--) this.#down(i);
  }

  get size(): number {
    return this.#items.length;
  }

  peek(): Candidate | undefined {
    return this.#items[0];
  }

  push(c: Candidate): void {
    const items = this.#items;
    items.push(c);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(items[i]!, items[parent]!)) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }

  pop(): Candidate | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      this.#down(0);
    }
    return top;
  }

  #down(start: number): void {
    const items = this.#items;
    const n = items.length;
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < n && before(items[l]!, items[best]!)) best = l;
      if (r < n && before(items[r]!, items[best]!)) best = r;
      if (best === i) return;
      [items[i], items[best]] = [items[best]!, items[i]!];
      i = best;
    }
  }
}
