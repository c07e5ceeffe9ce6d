/**
 * The ALS row solver for ranks 1..{@link MAX_SMALL_ALS_K} on float64 models (docs/kernels.md, "Small
 * ranks"): each row's normal equations summed entry by entry in locals, one loop per rank, and
 * solved by a Cholesky of order d <= 4 with the pivots' reciprocals. At these ranks the general
 * path's gather, Gram blocks and scratch matrices cost more than the sums they organise.
 *
 * The twin of native/core/als_small.cpp: the same operations in the same order, so the two
 * backends give the same bits. Per entry, with a = [x_0..x_{k-1}, 1] and t = (y - mu) - bias_c:
 * G[f][q] += (w x_f) x_q, bias row G[k][q] += w x_q, G[k][k] += w, r_f += (w x_f) t, r_k += w t.
 */

import type { AlsPass } from './als.js';

/** Ranks the small solver takes. */
export const MAX_SMALL_ALS_K = 3;

/** One side of a sweep as the small solver reads it: an {@link AlsPass} of a float64 model. */
export type SmallPass = Omit<AlsPass, 'fixed' | 'fixedBias' | 'out' | 'outBias'> & {
  fixed: Float64Array;
  fixedBias: Float64Array;
  out: Float64Array;
  outBias: Float64Array;
};

/**
 * The system of one row: `G` (row-major 4 x 4, lower triangle) and `r` (4), written by the
 * accumulators, regularised, then solved in place.
 */
const G = new Float64Array(16);
const R = new Float64Array(4);
const U = new Float64Array(4);

function accumulate1(p: SmallPass, s: number, e: number): void {
  const { idx, val, wt, fixed, fixedBias, mu } = p;
  let g00 = 0, gb0 = 0, gbb = 0, r0 = 0, rb = 0;
  for (let j = s; j < e; j++) {
    const c = idx[j];
    const w = wt === null ? 1 : wt[j];
    const t = (val[j] - mu) - fixedBias[c];
    const x0 = fixed[c];
    const wx0 = w * x0;
    g00 += wx0 * x0;
    r0 += wx0 * t;
    gb0 += wx0;
    gbb += w;
    rb += w * t;
  }
  G[0] = g00;
  G[4] = gb0;
  G[5] = gbb;
  R[0] = r0;
  R[1] = rb;
}

function accumulate2(p: SmallPass, s: number, e: number): void {
  const { idx, val, wt, fixed, fixedBias, mu } = p;
  let g00 = 0, g10 = 0, g11 = 0, gb0 = 0, gb1 = 0, gbb = 0, r0 = 0, r1 = 0, rb = 0;
  for (let j = s; j < e; j++) {
    const c = idx[j];
    const w = wt === null ? 1 : wt[j];
    const t = (val[j] - mu) - fixedBias[c];
    const x0 = fixed[2 * c];
    const x1 = fixed[2 * c + 1];
    const wx0 = w * x0;
    const wx1 = w * x1;
    g00 += wx0 * x0;
    r0 += wx0 * t;
    g10 += wx1 * x0;
    g11 += wx1 * x1;
    r1 += wx1 * t;
    gb0 += wx0;
    gb1 += wx1;
    gbb += w;
    rb += w * t;
  }
  G[0] = g00;
  G[4] = g10;
  G[5] = g11;
  G[8] = gb0;
  G[9] = gb1;
  G[10] = gbb;
  R[0] = r0;
  R[1] = r1;
  R[2] = rb;
}

function accumulate3(p: SmallPass, s: number, e: number): void {
  const { idx, val, wt, fixed, fixedBias, mu } = p;
  let g00 = 0, g10 = 0, g11 = 0, g20 = 0, g21 = 0, g22 = 0, gb0 = 0, gb1 = 0, gb2 = 0, gbb = 0;
  let r0 = 0, r1 = 0, r2 = 0, rb = 0;
  for (let j = s; j < e; j++) {
    const c = idx[j];
    const w = wt === null ? 1 : wt[j];
    const t = (val[j] - mu) - fixedBias[c];
    const x0 = fixed[3 * c];
    const x1 = fixed[3 * c + 1];
    const x2 = fixed[3 * c + 2];
    const wx0 = w * x0;
    const wx1 = w * x1;
    const wx2 = w * x2;
    g00 += wx0 * x0;
    r0 += wx0 * t;
    g10 += wx1 * x0;
    g11 += wx1 * x1;
    r1 += wx1 * t;
    g20 += wx2 * x0;
    g21 += wx2 * x1;
    g22 += wx2 * x2;
    r2 += wx2 * t;
    gb0 += wx0;
    gb1 += wx1;
    gb2 += wx2;
    gbb += w;
    rb += w * t;
  }
  G[0] = g00;
  G[4] = g10;
  G[5] = g11;
  G[8] = g20;
  G[9] = g21;
  G[10] = g22;
  G[12] = gb0;
  G[13] = gb1;
  G[14] = gb2;
  G[15] = gbb;
  R[0] = r0;
  R[1] = r1;
  R[2] = r2;
  R[3] = rb;
}

/**
 * Solves G x = R in place (x in R), order d: L[j][j] = sqrt(G[j][j] - sum_p L[j][p]^2) kept as its
 * reciprocal u_j, L[i][j] = (G[i][j] - sum_p L[i][p] L[j][p]) u_j, y_i = (R_i - sum_{p<i} L[i][p] y_p) u_i,
 * x_i = (y_i - sum_{p>i} L[p][i] x_p) u_i, each sum subtracted term by term, p ascending.
 * Returns the failing pivot or -1.
 */
function solveSmall(d: number): number {
  for (let j = 0; j < d; j++) {
    let s = G[j * 4 + j];
    for (let p = 0; p < j; p++) s -= G[j * 4 + p] * G[j * 4 + p];
    if (!(s > 0)) return j;
    const u = 1 / Math.sqrt(s);
    U[j] = u;
    for (let i = j + 1; i < d; i++) {
      let v = G[i * 4 + j];
      for (let p = 0; p < j; p++) v -= G[i * 4 + p] * G[j * 4 + p];
      G[i * 4 + j] = v * u;
    }
  }
  for (let i = 0; i < d; i++) {
    let v = R[i];
    for (let p = 0; p < i; p++) v -= G[i * 4 + p] * R[p];
    R[i] = v * U[i];
  }
  for (let i = d - 1; i >= 0; i--) {
    let v = R[i];
    for (let p = i + 1; p < d; p++) v -= G[p * 4 + i] * R[p];
    R[i] = v * U[i];
  }
  return -1;
}

/**
 * Solves rows `from, from+1, ...` of a pass with 1 <= k <= {@link MAX_SMALL_ALS_K} until about
 * `budget` multiply-adds are spent; returns the first row not solved, or `-1 - r` when row r's
 * system has a non-positive pivot (the caller raises the error).
 */
export function solveRangeSmall(p: SmallPass, from: number, budget: number): number {
  const { ptr, out, outBias, k, useBias, weightedLambda, count } = p;
  const acc = k === 1 ? accumulate1 : k === 2 ? accumulate2 : accumulate3;
  const workPerEntry = ((k + 1) * (k + 2)) / 2 + k + 1;
  let work = 0;
  let r = from;
  for (; r < count && work < budget; r++) {
    const s = ptr[r];
    const e = ptr[r + 1];
    const ro = r * k;
    if (e === s) {
      for (let f = 0; f < k; f++) out[ro + f] = 0;
      if (useBias) outBias[r] = 0;
      work += k + 1;
      continue;
    }
    acc(p, s, e);
    const scale = weightedLambda ? e - s : 1;
    const lr = p.lambda * scale;
    for (let f = 0; f < k; f++) G[f * 5] += lr;
    if (useBias) G[k * 5] += p.lambdaBias * scale;
    if (solveSmall(useBias ? k + 1 : k) >= 0) return -1 - r;
    for (let f = 0; f < k; f++) out[ro + f] = R[f];
    if (useBias) outBias[r] = R[k];
    work += (e - s) * workPerEntry + 16;
  }
  return r;
}
