/**
 * Inputs are never mutated: fit sorts and copies into its own CSR/CSC structures, so the caller's
 * typed arrays (which it may share with other fits, or reuse) come back bit for bit as given.
 */
import { describe, expect, it } from 'vitest';
import { fit } from '../../src/factorization/fit.js';
import { backendsUnderTest } from '../helpers/backends.js';
import { planted } from '../helpers/planted.js';

const data = planted(30, 20, 2, 0.5, 0.01);

/** The training cells in reverse order, so an in-place sort by row would show. */
function typedInput() {
  const n = data.train.rows.length;
  const rev = <T extends Int32Array | Float64Array>(make: (n: number) => T, src: number[]) => {
    const a = make(n);
    for (let i = 0; i < n; i++) a[i] = src[n - 1 - i];
    return a;
  };
  const weights = new Float64Array(n);
  for (let i = 0; i < n; i++) weights[i] = 1 + (i % 3);
  return {
    rows: rev((k) => new Int32Array(k), data.train.rows),
    cols: rev((k) => new Int32Array(k), data.train.cols),
    values: rev((k) => new Float64Array(k), data.train.values),
    weights,
  };
}

const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');

describe('fit leaves its inputs untouched', () => {
  for (const backend of backendsUnderTest()) {
    for (const algo of ['als', 'sgd'] as const) {
      it(`${backend.name} ${algo}: ratings, weights and validation arrays`, async () => {
        const input = typedInput();
        const validation = { rows: Int32Array.from(data.test.rows).reverse(), cols: Int32Array.from(data.test.cols).reverse(), values: Float64Array.from(data.test.values).reverse() };
        const before = [input, validation].flatMap((o) => Object.values(o).map(bytes));
        const r = await fit(input, { algo, rank: 2, iters: 3, backend: backend.name, validation });
        expect(r.history.length).toBeGreaterThan(0);
        expect([input, validation].flatMap((o) => Object.values(o).map(bytes))).toEqual(before);
      });
    }
    it(`${backend.name}: a dense matrix with NaN holes`, async () => {
      const dense = new Float64Array(data.nRows * data.nCols).fill(NaN);
      data.train.rows.forEach((r, i) => (dense[r * data.nCols + data.train.cols[i]] = data.train.values[i]));
      const before = bytes(dense);
      await fit({ dense, nRows: data.nRows, nCols: data.nCols }, { rank: 2, iters: 2, backend: backend.name });
      expect(bytes(dense)).toBe(before);
    });
  }
});
