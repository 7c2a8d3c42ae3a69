/**
 * A set of 32-bit indices whose memory grows with the members, not with the index space, and
 * that answers "first member >= i" and "first non-member >= i" in O(levels) = O(7) steps.
 *
 * Layout: level 0 stores 32-bit words of member bits in a Map keyed by word number (absent =
 * all zero). Two summary trees sit above it, 32-ary, each level in its own Map:
 *   full[k] bit j of word w  <=> the level k-1 word w*32+j is all ones   (for "first free")
 *   some[k] bit j of word w  <=> the level k-1 word w*32+j is not zero   (for "first taken")
 * Seven levels cover 32^7 = 2^35 >= 2^32 indices. A word that becomes zero is deleted, so the
 * maps hold at most one word per member per level (far fewer when members cluster).
 */

const LEVELS = 7;
const ALL = -1; // a full 32-bit word, as an int32

function lowest(word: number): number {
  return 31 - Math.clz32(word & -word);
}

/** Bits below `bit` set: ~(-1 << 0) = 0, ~(-1 << 31) = 0x7fffffff. */
function below(bit: number): number {
  return ~(-1 << bit);
}

export class SparseBitSet {
  private readonly base = new Map<number, number>();
  /** full[0] and some[0] are unused; level k >= 1 summarises level k-1. */
  private readonly full: Map<number, number>[] = [];
  private readonly some: Map<number, number>[] = [];
  private count = 0;

  constructor() {
    for (let k = 0; k < LEVELS; k++) {
      this.full.push(new Map());
      this.some.push(new Map());
    }
  }

  get size(): number {
    return this.count;
  }

  has(index: number): boolean {
    const word = this.base.get(Math.floor(index / 32)) ?? 0;
    return (word & (1 << (index % 32))) !== 0;
  }

  /** Adds `index`; false when it was already a member. */
  add(index: number): boolean {
    const w = Math.floor(index / 32);
    const bit = 1 << (index % 32);
    const old = this.base.get(w) ?? 0;
    if ((old & bit) !== 0) return false;
    const now = old | bit;
    this.base.set(w, now);
    this.count++;
    if (old === 0) this.markUp(this.some, w, (before) => before === 0);
    if (now === ALL) this.markUp(this.full, w, (_before, after) => after === ALL);
    return true;
  }

  /** Removes `index`; false when it was not a member. */
  delete(index: number): boolean {
    const w = Math.floor(index / 32);
    const bit = 1 << (index % 32);
    const old = this.base.get(w) ?? 0;
    if ((old & bit) === 0) return false;
    const now = old & ~bit;
    if (now === 0) this.base.delete(w);
    else this.base.set(w, now);
    this.count--;
    if (old === ALL) this.clearUp(this.full, w, (before) => before === ALL);
    if (now === 0) this.clearUp(this.some, w, (_before, after) => after === 0);
    return true;
  }

  /** Sets the summary bit of child word `child` at each level while `goOn(before, after)`. */
  private markUp(
    tree: Map<number, number>[],
    child: number,
    goOn: (before: number, after: number) => boolean,
  ): void {
    for (let k = 1; k < LEVELS; k++) {
      const w = Math.floor(child / 32);
      const level = tree[k] as Map<number, number>;
      const before = level.get(w) ?? 0;
      const after = before | (1 << (child % 32));
      level.set(w, after);
      if (!goOn(before, after)) return;
      child = w;
    }
  }

  private clearUp(
    tree: Map<number, number>[],
    child: number,
    goOn: (before: number, after: number) => boolean,
  ): void {
    for (let k = 1; k < LEVELS; k++) {
      const w = Math.floor(child / 32);
      const level = tree[k] as Map<number, number>;
      const before = level.get(w) ?? 0;
      const after = before & ~(1 << (child % 32));
      if (after === 0) level.delete(w);
      else level.set(w, after);
      if (!goOn(before, after)) return;
      child = w;
    }
  }

  private word(tree: Map<number, number>[], k: number, w: number): number {
    return (k === 0 ? this.base : (tree[k] as Map<number, number>)).get(w) ?? 0;
  }

  /** First index >= from that is NOT a member (may be beyond any range the caller cares about). */
  nextClear(from: number): number {
    let k = 0;
    let pos = from;
    for (;;) {
      const w = Math.floor(pos / 32);
      const masked = this.word(this.full, k, w) | below(pos % 32);
      if (masked !== ALL) {
        pos = w * 32 + lowest(~masked);
        break;
      }
      k++;
      if (k === LEVELS) return Infinity;
      pos = w + 1;
    }
    while (k > 0) {
      k--;
      pos = pos * 32 + lowest(~this.word(this.full, k, pos));
    }
    return pos;
  }

  /** First member >= from, or Infinity. */
  nextSet(from: number): number {
    let k = 0;
    let pos = from;
    for (;;) {
      const w = Math.floor(pos / 32);
      const masked = this.word(this.some, k, w) & ~below(pos % 32);
      if (masked !== 0) {
        pos = w * 32 + lowest(masked);
        break;
      }
      k++;
      if (k === LEVELS) return Infinity;
      pos = w + 1;
    }
    while (k > 0) {
      k--;
      pos = pos * 32 + lowest(this.word(this.some, k, pos));
    }
    return pos;
  }

  /** Words held across all levels: what memory is proportional to. */
  get wordCount(): number {
    let n = this.base.size;
    for (let k = 1; k < LEVELS; k++)
      n += (this.full[k] as Map<number, number>).size + (this.some[k] as Map<number, number>).size;
    return n;
  }
}
