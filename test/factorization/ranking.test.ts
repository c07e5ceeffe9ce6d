import { describe, expect, it } from 'vitest';
import { evaluateRanking, popularityRanking, rankingMetrics } from '../../src/factorization/ranking.js';
import { FactorModel } from '../../src/factorization/model.js';
import { resolveFitOptions } from '../../src/factorization/options.js';
import { fit } from '../../src/factorization/fit.js';
import { syntheticImplicit } from '../../src/factorization/synthetic.js';

const L = Math.log2;

describe('rankingMetrics on hand-computed examples', () => {
  // Row A: hits at ranks 2 and 5 of 5, 3 relevant. Row B: a hit at rank 1, 1 relevant. Row C: nothing relevant (left out).
  const lists = [[1, 2, 3, 4, 5], [7, 8, 9, 10, 11], [1, 2, 3]];
  const relevant = [new Set([2, 5, 9]), new Set([7]), new Set<number>()];

  it('at k = 5', () => {
    const m = rankingMetrics(lists, relevant, 5);
    expect(m.rows).toBe(2);
    expect(m.precision).toBeCloseTo((2 / 5 + 1 / 5) / 2, 15);
    expect(m.recall).toBeCloseTo((2 / 3 + 1) / 2, 15);
    const ndcgA = (1 / L(3) + 1 / L(6)) / (1 + 1 / L(3) + 1 / L(4));
    expect(m.ndcg).toBeCloseTo((ndcgA + 1) / 2, 15);
    // AP of A = (1/2 + 2/5) / min(5, 3) = 0.3; of B = 1.
    expect(m.map).toBeCloseTo((0.3 + 1) / 2, 15);
  });

  it('at k = 2 (lists cut, ideal DCG over min(k, relevant))', () => {
    const m = rankingMetrics(lists, relevant, 2);
    expect(m.precision).toBeCloseTo((1 / 2 + 1 / 2) / 2, 15);
    expect(m.recall).toBeCloseTo((1 / 3 + 1) / 2, 15);
    expect(m.ndcg).toBeCloseTo((1 / L(3) / (1 + 1 / L(3)) + 1) / 2, 15);
    expect(m.map).toBeCloseTo((0.5 / 2 + 1) / 2, 15);
  });

  it('is NaN over no rows, and refuses a bad k', () => {
    expect(rankingMetrics([[1]], [new Set()], 3).rows).toBe(0);
    expect(Number.isNaN(rankingMetrics([], [], 3).ndcg)).toBe(true);
    expect(() => rankingMetrics([], [], 0)).toThrow(/k must be/);
  });
});

describe('evaluateRanking and the popularity baseline', () => {
  // k = 1 factors: row scores are col factor * row factor, so row 0 (factor 1) ranks columns 4 > 3 > 2 > 1 > 0,
  // row 1 (factor -1) ranks them 0 > 1 > ... Row 0 has trained on column 4, row 1 on columns 0 and 2.
  const training = { options: resolveFitOptions({}), backend: 'ts', iterations: 0, trainRmse: 0 };
  const m = new FactorModel(2, 5, 1, 0, Float64Array.of(1, -1), Float64Array.of(0, 1, 2, 3, 4), new Float64Array(2), new Float64Array(5), training, {
    known: { ptr: Int32Array.of(0, 1, 3), cols: Int32Array.of(4, 0, 2) },
  });

  it('ranks with training columns excluded and counts what it cannot judge', () => {
    // Row 0 held out: 2 (rank 2 of [3, 2]), 4 (in training: left out), 9 (unknown column). Row 5: unknown row.
    // Row 1 held out: 1 (rank 1 of [1, 3]).
    const r = evaluateRanking(m, { rows: [0, 0, 0, 5, 1, 1], cols: [2, 4, 9, 1, 1, 3], values: [1, 1, 1, 1, 1, 0] }, { k: 2 });
    const want = rankingMetrics([[3, 2], [1, 3]], [new Set([2, -3]), new Set([1])], 2);
    expect(r).toEqual({ ...want, unknownRows: 1, unknownCols: 1, inTraining: 1 });
    expect(r.recall).toBeCloseTo((1 / 2 + 1) / 2, 15);
  });

  it('popularity recommends the most-trained columns a row does not have', () => {
    // Counts: col 4: 1, col 0: 1, col 2: 1, others 0 => order 0, 2, 4, 1, 3.
    const r = popularityRanking(m, { rows: [0, 1], cols: [1, 3] }, { k: 3 });
    expect(r).toEqual({ ...rankingMetrics([[0, 2, 1], [4, 1, 3]], [new Set([1]), new Set([3])], 3), unknownRows: 0, unknownCols: 0, inTraining: 0 });
  });

  it('samples rows reproducibly with maxRows', () => {
    const held = { rows: [0, 1], cols: [1, 3] };
    const a = evaluateRanking(m, held, { k: 2, maxRows: 1, seed: 4 });
    expect(a.rows).toBe(1);
    expect(evaluateRanking(m, held, { k: 2, maxRows: 1, seed: 4 })).toEqual(a);
  });
});

describe('implicit ALS on planted data', () => {
  it('beats the most-popular baseline by at least twice on NDCG@10', async () => {
    const d = syntheticImplicit({ nRows: 600, nCols: 300, nnz: 12_000, rank: 6, seed: 8 });
    const { model } = await fit({ ...d.train, nRows: d.nRows, nCols: d.nCols }, { implicit: true, rank: 12, iters: 10 });
    const als = evaluateRanking(model, d.test, { k: 10 });
    const pop = popularityRanking(model, d.test, { k: 10 });
    expect(als.rows).toBeGreaterThan(300);
    expect(als.ndcg).toBeGreaterThan(2 * pop.ndcg);
    expect(als.recall).toBeGreaterThan(pop.recall);
  });
});
