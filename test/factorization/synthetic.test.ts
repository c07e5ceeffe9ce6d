import { describe, expect, it } from 'vitest';
import { syntheticImplicit, syntheticRatings, type SyntheticSplit } from '../../src/factorization/synthetic.js';

/** Both generators emit cells row by row, columns distinct within a row; the split keeps that order. */
function checkSplit(d: SyntheticSplit): void {
  const cells = new Set<number>();
  for (const part of [d.train, d.test]) {
    expect(part.cols.length).toBe(part.rows.length);
    expect(part.values.length).toBe(part.rows.length);
    for (let i = 0; i < part.rows.length; i++) {
      if (i > 0) expect(part.rows[i] >= part.rows[i - 1]).toBe(true);
      const cell = part.rows[i] * d.nCols + part.cols[i];
      expect(cells.has(cell)).toBe(false);
      cells.add(cell);
    }
  }
}

describe('synthetic train/test split', () => {
  it('keeps the generation order in both parts, no cell in both, and is deterministic', () => {
    const spec = { nRows: 400, nCols: 120, nnz: 9000, rank: 3, testFraction: 0.1, seed: 3 };
    const a = syntheticRatings(spec);
    checkSplit(a);
    expect(a.test.rows.length / (a.train.rows.length + a.test.rows.length)).toBeCloseTo(0.1, 1);
    const b = syntheticRatings(spec);
    expect(Array.from(b.train.values)).toEqual(Array.from(a.train.values));
    expect(Array.from(b.test.cols)).toEqual(Array.from(a.test.cols));
    const imp = syntheticImplicit({ nRows: 300, nCols: 150, nnz: 3000, rank: 3, seed: 4, candidates: 3 });
    checkSplit(imp);
    expect(imp.test.rows.length).toBeGreaterThan(0);
  });

  it('gives test arrays of their own, not views of the train arrays', () => {
    const d = syntheticRatings({ nRows: 200, nCols: 80, nnz: 3000, testFraction: 0.2, seed: 9 });
    const train = Array.from(d.train.values);
    d.test.values.fill(0);
    expect(Array.from(d.train.values)).toEqual(train);
  });
});
