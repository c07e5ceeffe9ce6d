/**
 * The PCA imputation loop and the warm subspace iteration were rewritten for speed (task-major
 * storage, several running sums at once, a cold start shared across ranks) on the promise that every
 * sum is still taken in the same order, so results are bit-for-bit those of the plain row-major
 * loops. These tests hold them to that promise against a straightforward reference implementation.
 */
import { describe, expect, it } from 'vitest';
import { symmetricEigen, topEigenvectors } from '../../../src/app/linalg/dense.js';
import { imputeLowRank, PCA_MAX_ITERATIONS, PCA_RELAX, PCA_SOFT_THRESHOLD, PCA_TOLERANCE } from '../../../src/app/predictors/pca.js';
import { Rng } from '../../../src/numeric/rng.js';

/** The row-major subspace iteration (n × r columns), summing every entry in index order. */
function referenceTop(a: Float64Array, n: number, r: number, start: Float64Array, steps: number): { values: Float64Array; vectors: Float64Array } {
  let Q: Float64Array = Float64Array.from(start);
  let values: Float64Array = new Float64Array(r);
  const mul = (q: Float64Array): Float64Array => {
    const out = new Float64Array(n * r);
    for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) for (let j = 0; j < r; j++) out[i * r + j] += a[i * n + k] * q[k * r + j];
    return out;
  };
  for (let step = 0; step < steps; step++) {
    const Y = mul(Q);
    for (let j = 0; j < r; j++) {
      // Gram–Schmidt twice; the test matrices have full rank, so no column vanishes.
      for (let pass = 0; pass < 2; pass++) {
        for (let k = 0; k < j; k++) {
          let d = 0;
          for (let i = 0; i < n; i++) d += Y[i * r + j] * Y[i * r + k];
          for (let i = 0; i < n; i++) Y[i * r + j] -= d * Y[i * r + k];
        }
      }
      let norm = 0;
      for (let i = 0; i < n; i++) norm += Y[i * r + j] ** 2;
      norm = Math.sqrt(norm);
      for (let i = 0; i < n; i++) Y[i * r + j] /= norm;
    }
    const AY = mul(Y);
    const B = new Float64Array(r * r);
    for (let j = 0; j < r; j++) {
      for (let k = 0; k <= j; k++) {
        let s = 0;
        for (let i = 0; i < n; i++) s += Y[i * r + j] * AY[i * r + k];
        B[j * r + k] = s;
        B[k * r + j] = s;
      }
    }
    const eig = symmetricEigen(B, r);
    values = eig.values;
    Q = new Float64Array(n * r);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < r; j++) {
        let s = 0;
        for (let k = 0; k < r; k++) s += Y[i * r + k] * eig.vectors[k * r + j];
        Q[i * r + j] = s;
      }
    }
  }
  return { values, vectors: Q };
}

/** The imputation loop as first written: row-major centred matrix, one running sum per entry. */
function referenceImpute(X: Float64Array, M: number, T: number, rank: number): { completed: Float64Array; scores: Float64Array; components: Float64Array; iterations: number } {
  const Z = Float64Array.from(X);
  const missing: number[] = [];
  const colMean = new Float64Array(T);
  const colCount = new Int32Array(T);
  for (let i = 0; i < M * T; i++) {
    if (Number.isNaN(Z[i])) missing.push(i);
    else {
      colMean[i % T] += Z[i];
      colCount[i % T]++;
    }
  }
  for (let t = 0; t < T; t++) colMean[t] = colCount[t] > 0 ? colMean[t] / colCount[t] : 0;
  for (const i of missing) Z[i] = colMean[i % T];
  const threshold = PCA_SOFT_THRESHOLD * (Math.sqrt(M) + Math.sqrt(T));
  let basis: Float64Array | undefined;
  let V: Float64Array = new Float64Array(T * rank);
  const S = new Float64Array(M * rank);
  let iterations = 0;
  for (;;) {
    iterations++;
    const mean = new Float64Array(T);
    for (let m = 0; m < M; m++) for (let t = 0; t < T; t++) mean[t] += Z[m * T + t];
    for (let t = 0; t < T; t++) mean[t] /= M;
    const Zc = Float64Array.from(Z, (z, i) => z - mean[i % T]);
    const C = new Float64Array(T * T);
    for (let m = 0; m < M; m++) for (let t = 0; t < T; t++) for (let u = 0; u <= t; u++) C[t * T + u] += Zc[m * T + t] * Zc[m * T + u];
    for (let t = 0; t < T; t++) for (let u = 0; u < t; u++) C[u * T + t] = C[t * T + u];
    const top = basis ? referenceTop(C, T, rank, basis, 2) : topEigenvectors(C, T, rank);
    basis = top.vectors;
    V = Float64Array.from(top.vectors);
    const shrink = Float64Array.from(top.values, (e) => {
      const sv = Math.sqrt(Math.max(0, e));
      return sv > threshold ? (sv - threshold) / sv : 0;
    });
    for (let m = 0; m < M; m++) {
      for (let k = 0; k < rank; k++) {
        let s = 0;
        for (let t = 0; t < T; t++) s += Zc[m * T + t] * V[t * rank + k];
        S[m * rank + k] = s;
      }
    }
    if (missing.length === 0 || iterations >= PCA_MAX_ITERATIONS) break;
    let change = 0;
    for (const i of missing) {
      const m = Math.floor(i / T);
      const t = i % T;
      let v = mean[t];
      for (let k = 0; k < rank; k++) v += shrink[k] * S[m * rank + k] * V[t * rank + k];
      change += (v - Z[i]) ** 2;
      Z[i] += PCA_RELAX * (v - Z[i]);
    }
    if (Math.sqrt(change / missing.length) < PCA_TOLERANCE) break;
  }
  return { completed: Z, scores: S, components: V, iterations };
}

function randomCovariance(n: number, rows: number, seed: number): Float64Array {
  const rng = new Rng(seed, 0);
  const a = new Float64Array(n * n);
  for (let r = 0; r < rows; r++) {
    const x = Array.from({ length: n }, (_, i) => (i < 3 ? 2 : 0.4) * (rng.nextDouble() - 0.5));
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] += x[i] * x[j];
  }
  return a;
}

const bits = (a: Float64Array): string[] => Array.from(a, (v) => (Object.is(v, -0) ? '-0' : String(v)));

describe('pca loops against the reference implementation', () => {
  it('warm topEigenvectors gives the reference bits for every rank, including ranks past a block of four', () => {
    const n = 13;
    const a = randomCovariance(n, 30, 4);
    const full = symmetricEigen(a, n);
    const rng = new Rng(9, 1);
    for (const r of [1, 3, 4, 5, 7]) {
      const start = new Float64Array(n * r);
      for (let i = 0; i < n; i++) for (let j = 0; j < r; j++) start[i * r + j] = full.vectors[i * n + j] + 0.1 * (rng.nextDouble() - 0.5);
      const got = topEigenvectors(a, n, r, { start, steps: 3 });
      const want = referenceTop(a, n, r, start, 3);
      expect(bits(got.values)).toEqual(bits(want.values));
      expect(bits(got.vectors)).toEqual(bits(want.vectors));
    }
  });

  it('imputeLowRank gives the reference bits and iteration count on a sparse matrix, ranks 1 to 6', () => {
    const M = 23;
    const T = 11;
    const rng = new Rng(5, 2);
    const X = new Float64Array(M * T);
    for (let m = 0; m < M; m++) {
      const f = rng.nextDouble() - 0.5;
      for (let t = 0; t < T; t++) X[m * T + t] = rng.nextDouble() < 0.3 && t !== m % T ? NaN : 2 * f * ((t % 3) - 1) + 0.3 * (rng.nextDouble() - 0.5);
    }
    for (let rank = 1; rank <= 6; rank++) {
      const got = imputeLowRank(X, M, T, rank);
      const want = referenceImpute(X, M, T, rank);
      expect(got.iterations).toBe(want.iterations);
      expect(bits(got.completed)).toEqual(bits(want.completed));
      expect(bits(got.scores)).toEqual(bits(want.scores));
      expect(bits(got.components)).toEqual(bits(want.components));
    }
  });

});
