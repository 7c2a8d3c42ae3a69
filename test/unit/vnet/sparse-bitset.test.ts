import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SparseBitSet } from '../../../src/domain/vnet/sparse-bitset.js';

function modelNextClear(set: Set<number>, from: number): number {
  let i = from;
  while (set.has(i)) i++;
  return i;
}

function modelNextSet(set: Set<number>, from: number): number {
  let best = Infinity;
  for (const v of set) if (v >= from && v < best) best = v;
  return best;
}

describe('SparseBitSet', () => {
  it('answers next clear / next set across words and levels', () => {
    const s = new SparseBitSet();
    for (let i = 0; i < 32 * 32 * 3 + 5; i++) s.add(i); // three full level-1 words and a bit
    assert.equal(s.size, 3077);
    assert.equal(s.nextClear(0), 3077);
    assert.equal(s.nextClear(5000), 5000);
    assert.equal(s.nextSet(0), 0);
    assert.equal(s.nextSet(3077), Infinity);
    s.delete(1500);
    assert.equal(s.nextClear(0), 1500);
    assert.equal(s.nextClear(1501), 3077);
    assert.equal(s.has(1500), false);
    assert.equal(s.has(1499), true);
  });

  it('reports add / delete of members it has or lacks', () => {
    const s = new SparseBitSet();
    assert.equal(s.add(7), true);
    assert.equal(s.add(7), false);
    assert.equal(s.delete(8), false);
    assert.equal(s.delete(7), true);
    assert.equal(s.size, 0);
    assert.equal(s.wordCount, 0, 'empty words are dropped at every level');
  });

  it('works at the top of the 32-bit index space', () => {
    const s = new SparseBitSet();
    const top = 0xffffffff;
    s.add(top);
    s.add(top - 1);
    assert.equal(s.nextSet(0), top - 1);
    assert.equal(s.nextClear(top - 1), top + 1);
    assert.equal(s.nextSet(top + 1), Infinity);
    assert.ok(s.has(top));
  });

  it('stays small for clustered members: a full run of 2^20 is a handful of summary words', () => {
    const s = new SparseBitSet();
    for (let i = 0; i < 1 << 20; i++) s.add(i);
    assert.equal(s.nextClear(0), 1 << 20);
    // 32768 base words + 1024 + 32 + 1 (+1 + 1) per summary tree
    assert.ok(s.wordCount < 40_000, String(s.wordCount));
  });

  it('agrees with a Set model on random operations', () => {
    const index = fc.oneof(fc.integer({ min: 0, max: 4096 }), fc.integer({ min: 0, max: 0xffffffff }));
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), i: index }),
      fc.record({ kind: fc.constant('delete' as const), i: index }),
      fc.record({
        kind: fc.constant('run' as const),
        i: fc.integer({ min: 0, max: 4000 }),
        n: fc.integer({ min: 1, max: 200 }),
      }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), fc.array(index, { maxLength: 20 }), (ops, probes) => {
        const s = new SparseBitSet();
        const model = new Set<number>();
        for (const o of ops) {
          if (o.kind === 'add') {
            const isNew = !model.has(o.i);
            model.add(o.i);
            assert.equal(s.add(o.i), isNew);
          } else if (o.kind === 'delete') {
            assert.equal(s.delete(o.i), model.delete(o.i));
          } else {
            for (let i = o.i; i < o.i + o.n; i++) {
              s.add(i);
              model.add(i);
            }
          }
        }
        assert.equal(s.size, model.size);
        for (const p of [...probes, 0, ...model].slice(0, 60)) {
          assert.equal(s.has(p), model.has(p));
          assert.equal(s.nextClear(p), modelNextClear(model, p), `nextClear(${p})`);
          assert.equal(s.nextSet(p), modelNextSet(model, p), `nextSet(${p})`);
        }
      }),
      { numRuns: 300 },
    );
  });
});
