import { describe, expect, it } from 'vitest';
import { fit } from '../../src/factorization/fit.js';
import { syntheticImplicit } from '../../src/factorization/synthetic.js';
import { nativeForSuite } from '../helpers/backends.js';

/**
 * float32 implicit ALS (dtype 'float32'): both backends widen the factors to double, solve in
 * double and round each stored value to float32, so native and TypeScript agree bit for bit with
 * the linear confidence (CG and, within 1e-6, the exact solver whose sums go in another order).
 * Against float64 the stated tolerance, after 5 iterations: objective within 1e-4 relative, factors
 * within 1e-3 of the largest factor magnitude, and at least 90% of each row's top-10 columns shared.
 */
const native = nativeForSuite('native float32 implicit ALS');

const d = syntheticImplicit({ nRows: 300, nCols: 120, nnz: 4000, rank: 4, seed: 3, candidates: 3 });
const data = { rows: d.train.rows, cols: d.train.cols, values: d.train.values, nRows: d.nRows, nCols: d.nCols };

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** The 10 best-scored columns of every row (ties by column index), scored in double. */
function top10(U: ArrayLike<number>, V: ArrayLike<number>, nRows: number, nCols: number, k: number): number[][] {
  const out: number[][] = [];
  for (let r = 0; r < nRows; r++) {
    const s: number[] = [];
    for (let c = 0; c < nCols; c++) {
      let t = 0;
      for (let f = 0; f < k; f++) t += U[r * k + f] * V[c * k + f];
      s.push(t);
    }
    out.push([...s.keys()].sort((a, b) => s[b] - s[a] || a - b).slice(0, 10));
  }
  return out;
}

function overlap(a: number[][], b: number[][]): number {
  let same = 0;
  for (let r = 0; r < a.length; r++) same += a[r].filter((c) => b[r].includes(c)).length;
  return same / (10 * a.length);
}

const K = 8;
const base = { implicit: true, rank: K, iters: 5, alpha: 8, lambda: 0.2, cgSteps: 3, threads: 2, seed: 11 } as const;

describe('float32 implicit ALS', () => {
  for (const solver of ['cg', 'cholesky'] as const) {
    it(`${solver}: TypeScript float32 stores Float32Arrays and stays within the stated tolerance of float64`, async () => {
      const f32 = await fit(data, { ...base, solver, dtype: 'float32', backend: 'ts' });
      const f64 = await fit(data, { ...base, solver, backend: 'ts' });
      expect(f32.model.U).toBeInstanceOf(Float32Array);
      expect(f32.model.V).toBeInstanceOf(Float32Array);
      const o32 = f32.history[4].objective!;
      const o64 = f64.history[4].objective!;
      expect(Math.abs(o32 - o64)).toBeLessThanOrEqual(1e-4 * o64);
      const scale = Math.max(maxAbs(f64.model.U), maxAbs(f64.model.V));
      expect(maxDiff(f32.model.U, f64.model.U)).toBeLessThanOrEqual(1e-3 * scale);
      expect(maxDiff(f32.model.V, f64.model.V)).toBeLessThanOrEqual(1e-3 * scale);
      // Rounding happened: float32 is not float64 in disguise.
      expect(maxDiff(f32.model.U, f64.model.U)).toBeGreaterThan(0);
      expect(overlap(top10(f32.model.U, f32.model.V, d.nRows, d.nCols, K), top10(f64.model.U, f64.model.V, d.nRows, d.nCols, K))).toBeGreaterThanOrEqual(0.9);
      expect(f32.history[4].objective!).toBeLessThan(f32.history[0].objective!);
    });

    // The native CG of a float32 model runs in float arithmetic (native/core/ials_kernel.inc), the
    // TypeScript one widens to double: they agree to float rounding. The exact solver widens on both.
    const agree = solver === 'cg' ? 'within float rounding' : 'within 1e-6';
    it.runIf(native !== null)(`${solver}: native float32 agrees with TypeScript float32 (${agree})`, async () => {
      const n = await fit(data, { ...base, solver, dtype: 'float32', backend: 'native' });
      const t = await fit(data, { ...base, solver, dtype: 'float32', backend: 'ts' });
      expect(n.backend).toBe('native');
      expect(n.model.U).toBeInstanceOf(Float32Array);
      const scale = Math.max(maxAbs(t.model.U), maxAbs(t.model.V));
      const tol = solver === 'cg' ? 1e-3 * scale : 1e-6;
      expect(maxDiff(n.model.U, t.model.U)).toBeLessThanOrEqual(tol);
      expect(maxDiff(n.model.V, t.model.V)).toBeLessThanOrEqual(tol);
      const objTol = solver === 'cg' ? 1e-4 : 1e-9;
      for (let i = 0; i < 5; i++) expect(Math.abs(n.history[i].objective! - t.history[i].objective!)).toBeLessThanOrEqual(objTol * t.history[i].objective!);
      if (solver === 'cg') {
        // Float arithmetic really ran (not the widened double path), and ranks the same items.
        expect(maxDiff(n.model.U, t.model.U)).toBeGreaterThan(0);
        expect(overlap(top10(n.model.U, n.model.V, d.nRows, d.nCols, K), top10(t.model.U, t.model.V, d.nRows, d.nCols, K))).toBeGreaterThanOrEqual(0.9);
      }
    });
  }

  it.runIf(native !== null)('native float32 gives the same model on 1 and 2 threads', async () => {
    const one = await fit(data, { ...base, dtype: 'float32', backend: 'native', threads: 1 });
    const two = await fit(data, { ...base, dtype: 'float32', backend: 'native', threads: 2 });
    expect(maxDiff(one.model.U, two.model.U)).toBe(0);
    expect(maxDiff(one.model.V, two.model.V)).toBe(0);
  });
});
