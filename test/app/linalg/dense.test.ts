import { describe, expect, it } from 'vitest';
import { ridgeRegression, solveSpd, symmetricEigen, topEigenvectors } from '../../../src/app/linalg/dense.js';
import { Rng } from '../../../src/numeric/rng.js';
import { isCollabperfError } from '../../../src/errors.js';

function randomSymmetric(n: number, seed: number): Float64Array {
  const rng = new Rng(seed, 0);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const v = rng.nextDouble() * 2 - 1;
      a[i * n + j] = v;
      a[j * n + i] = v;
    }
  }
  return a;
}

function checkEigen(a: Float64Array, n: number, values: Float64Array, vectors: Float64Array, tol: number): void {
  for (let j = 0; j < n; j++) {
    // A v = λ v
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += a[i * n + k] * vectors[k * n + j];
      expect(Math.abs(s - values[j] * vectors[i * n + j])).toBeLessThan(tol);
    }
    // orthonormal columns
    for (let l = 0; l <= j; l++) {
      let d = 0;
      for (let i = 0; i < n; i++) d += vectors[i * n + j] * vectors[i * n + l];
      expect(Math.abs(d - (j === l ? 1 : 0))).toBeLessThan(tol);
    }
  }
  for (let j = 1; j < n; j++) expect(values[j]).toBeLessThanOrEqual(values[j - 1]);
}

describe('symmetricEigen', () => {
  it('decomposes random symmetric matrices (eigen equation, orthonormality, order)', () => {
    for (const n of [1, 2, 3, 7, 30]) {
      const a = randomSymmetric(n, n);
      const { values, vectors } = symmetricEigen(a, n);
      checkEigen(a, n, values, vectors, 1e-10);
      let trace = 0;
      for (let i = 0; i < n; i++) trace += a[i * n + i];
      expect(values.reduce((s, v) => s + v, 0)).toBeCloseTo(trace, 10);
    }
  });

  it('knows a 2×2 case by hand and handles diagonal and repeated eigenvalues', () => {
    const r = symmetricEigen(Float64Array.from([2, 1, 1, 2]), 2);
    expect(r.values[0]).toBeCloseTo(3, 14);
    expect(r.values[1]).toBeCloseTo(1, 14);
    expect(Math.abs(r.vectors[0])).toBeCloseTo(Math.SQRT1_2, 14);
    const d = symmetricEigen(Float64Array.from([1, 0, 0, 0, 5, 0, 0, 0, 5]), 3);
    expect(Array.from(d.values)).toEqual([5, 5, 1]);
    expect(d.sweeps).toBe(0);
  });

  it('converges in fewer sweeps from a nearby basis and gives the same decomposition', () => {
    const n = 25;
    const a = randomSymmetric(n, 9);
    const cold = symmetricEigen(a, n);
    const b = Float64Array.from(a);
    for (let i = 0; i < n; i++) b[i * n + i] += 1e-4 * i;
    const warm = symmetricEigen(b, n, { start: cold.vectors });
    checkEigen(b, n, warm.values, warm.vectors, 1e-10);
    const ref = symmetricEigen(b, n);
    expect(warm.sweeps).toBeLessThan(ref.sweeps);
    for (let j = 0; j < n; j++) expect(warm.values[j]).toBeCloseTo(ref.values[j], 10);
  });

  it('rejects a wrong size', () => {
    expect(() => symmetricEigen(new Float64Array(5), 2)).toThrow(/2×2/);
  });
});

describe('solveSpd', () => {
  it('solves an SPD system and reports a non-SPD one as E_NUMERIC', () => {
    const a = Float64Array.from([4, 2, 0, 2, 5, 1, 0, 1, 3]);
    const x = solveSpd(a, Float64Array.from([2, 1, 3]), 3);
    const back = [0, 1, 2].map((i) => a[i * 3] * x[0] + a[i * 3 + 1] * x[1] + a[i * 3 + 2] * x[2]);
    expect(back[0]).toBeCloseTo(2, 12);
    expect(back[1]).toBeCloseTo(1, 12);
    expect(back[2]).toBeCloseTo(3, 12);
    let err: unknown;
    try {
      solveSpd(Float64Array.from([1, 2, 2, 1]), Float64Array.from([1, 1]), 2);
    } catch (e) {
      err = e;
    }
    expect(isCollabperfError(err) && err.code).toBe('E_NUMERIC');
  });
});

describe('ridgeRegression', () => {
  it('recovers an exact linear relation at lambda 0, never shrinks the intercept, shrinks with lambda', () => {
    const n = 20;
    const X = new Float64Array(n * 2);
    const y = new Float64Array(n);
    const rng = new Rng(1, 0);
    for (let i = 0; i < n; i++) {
      X[i * 2] = rng.nextDouble();
      X[i * 2 + 1] = rng.nextDouble();
      y[i] = 10 + 2 * X[i * 2] - 3 * X[i * 2 + 1];
    }
    const f = ridgeRegression(X, y, n, 2);
    expect(f.intercept).toBeCloseTo(10, 9);
    expect(f.coef[0]).toBeCloseTo(2, 9);
    expect(f.coef[1]).toBeCloseTo(-3, 9);
    const g = ridgeRegression(X, y, n, 2, { lambda: 1e6 });
    expect(Math.abs(g.coef[0])).toBeLessThan(1e-3);
    expect(g.intercept).toBeCloseTo(y.reduce((s, v) => s + v, 0) / n, 3);
  });

  it('gives zero coefficients for constant features and honours weights', () => {
    const X = Float64Array.from([1, 1, 1, 1]);
    const f = ridgeRegression(X, [1, 2, 3, 4], 4, 1);
    expect(f.coef[0]).toBe(0);
    expect(f.intercept).toBeCloseTo(2.5, 12);
    const w = ridgeRegression(Float64Array.from([0, 1, 2]), [0, 1, 100], 3, 1, { weights: [1, 1, 0] });
    expect(w.coef[0]).toBeCloseTo(1, 10);
    expect(w.intercept).toBeCloseTo(0, 10);
  });
});

describe('topEigenvectors', () => {
  it('cold: the leading part of the full decomposition', () => {
    const n = 12;
    const a = randomSymmetric(n, 3);
    const full = symmetricEigen(a, n);
    const top = topEigenvectors(a, n, 3);
    expect(Array.from(top.values)).toEqual(Array.from(full.values.slice(0, 3)));
    for (let i = 0; i < n; i++) for (let j = 0; j < 3; j++) expect(top.vectors[i * 3 + j]).toBe(full.vectors[i * n + j]);
  });

  it('warm: subspace iteration from a perturbed basis converges to the leading eigenpairs', () => {
    const n = 15;
    const r = 3;
    // a covariance with a clear gap after the third eigenvalue
    const rng = new Rng(8, 0);
    const F = Array.from({ length: 40 }, () => Array.from({ length: n }, (_, i) => (i < 3 ? 3 : 0.3) * (rng.nextDouble() - 0.5)));
    const a = new Float64Array(n * n);
    for (const row of F) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] += row[i] * row[j];
    const full = symmetricEigen(a, n);
    const start = new Float64Array(n * r);
    for (let i = 0; i < n; i++) for (let j = 0; j < r; j++) start[i * r + j] = full.vectors[i * n + j] + 0.2 * (rng.nextDouble() - 0.5);
    const top = topEigenvectors(a, n, r, { start, steps: 30 });
    for (let j = 0; j < r; j++) {
      expect(top.values[j]).toBeCloseTo(full.values[j], 8);
      let d = 0;
      for (let i = 0; i < n; i++) d += top.vectors[i * r + j] * full.vectors[i * n + j];
      expect(Math.abs(d)).toBeCloseTo(1, 8);
    }
  });

  it('keeps r orthonormal columns when the matrix has lower rank', () => {
    const n = 4;
    const a = new Float64Array(n * n);
    a[0] = 2; // rank one
    const start = Float64Array.from([0.5, 0.5, 0.5, 0.5, 0.5, -0.5, 0.5, -0.5].map((v, i) => v + i * 1e-3));
    const { vectors } = topEigenvectors(a, n, 2, { start });
    for (let j = 0; j < 2; j++) {
      for (let l = 0; l <= j; l++) {
        let d = 0;
        for (let i = 0; i < n; i++) d += vectors[i * 2 + j] * vectors[i * 2 + l];
        expect(d).toBeCloseTo(j === l ? 1 : 0, 10);
      }
    }
  });
});
