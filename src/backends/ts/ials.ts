/**
 * Implicit-feedback ALS of the TypeScript backend (Hu, Koren & Volinsky 2008), job algo 'ials'.
 *
 * Every cell (u, i) of the matrix has a preference p (1 for an entry with value r > 0, else 0) and a
 * confidence c (`1 + alpha * r`, or `1 + alpha * log(1 + r / epsilon)`; 1 off the entries). A sweep
 * minimises, rows then columns,
 *
 *   sum over all cells c_ui (p_ui - x_u . y_i)^2 + lambda (sum_u s_u |x_u|^2 + sum_i s_i |y_i|^2)
 *
 * (s = the row's or column's entry count with weightedLambda, else 1). No biases. Each row solves
 * `(G + sum_i (c_ui - 1) y_i y_i^T + lambda s_u I) x_u = sum_i c_ui p_ui y_i` with the Gram matrix
 * `G = Y^T Y` over ALL columns computed once per pass, so a pass costs O(nnz k^2 + n k^2) plus the
 * solves: O(n k^3) for the exact Cholesky solve, or O((nnz k + n k^2) * cgSteps) for conjugate
 * gradient (Takacs, Pilaszy & Tikk 2011), warm-started from the row's current factors.
 *
 * Operation order of the CG path (the contract a second implementation follows): per row, with
 * `lam = lambda * s_u`, `A z = G z + sum_e (c_e - 1) (y_e . z) y_e + lam z` evaluated as
 * `t[f] = sum_j G[f][j] z[j]` (j ascending from 0.0), then the entries in CSR order
 * (`d = y_e . z` from 0.0 over f ascending, `s = (c_e - 1) * d`, `t[f] += s * y_e[f]`), then
 * `t[f] += lam * z[f]`. `r = b - A x` with `b = sum_e c_e y_e` accumulated in CSR order;
 * `p = r`, `rs = r . r`; then each step: stop if `rs < 1e-20`; `q = A p`; `a = rs / (p . q)`;
 * `x += a p`; `r -= a q`; `rn = r . r`; stop if `rn < 1e-20`; `p = r + (rn / rs) p`; `rs = rn`.
 * `G[i][j]` (i <= j, mirrored) is the sum over blocks of 64 consecutive fixed rows, in order, of
 * each block's own sum from 0.0 in row order. Rows and columns without entries (or whose entries
 * all have r = 0) get zero factors, the exact minimiser, with either solver. The 'log' confidence
 * goes through the platform's `log`, which need not agree to the last bit between JavaScript and C++.
 *
 * float32 models (Float32Array U and V): every sum and solve stays in double; each stored factor is
 * rounded to float32 by the store itself, so the column pass's Gram matrix is built from the rounded
 * U. The native float32 sweep does the same (widen, solve in double, round on store): same bits.
 */
import { CollabperfError } from '../../errors.js';
import type { AnyKernelModel, FactorArray, ImplicitOptions, KernelOptions, KernelProblem, KernelStatus, LossSums } from '../types.js';
import { choleskyInPlace, choleskySolveInPlace } from '../../numeric/cholesky.js';
import { BLOCK, gramBlock } from './als.js';
import { CHECK_WORK, drive, Slice, solveRows, WorkBudget, type Steps } from './slice.js';

/** Below this squared residual norm CG stops (the row is solved to rounding). */
const CG_TINY = 1e-20;

/** The confidence of an entry with value r, as the options define it. */
export function confidenceOf(r: number, o: ImplicitOptions): number {
  if (o.confidence === 'log') return 1 + o.alpha * Math.log(1 + r / o.epsilon);
  return 1 + o.alpha * r;
}

function implicitOf(options: KernelOptions): ImplicitOptions {
  const o = options.implicit;
  if (o === undefined) throw new CollabperfError('E_INVALID_ARGUMENT', 'implicit ALS needs options.implicit (alpha, confidence, epsilon, solver, cgSteps)');
  return o;
}

/** One side of a sweep: solves `out` (nOut x k) against the fixed side. */
interface Pass {
  what: 'row' | 'column';
  count: number;
  ptr: Int32Array;
  idx: Int32Array;
  val: Float64Array | Float32Array;
  fixed: FactorArray;
  nFixed: number;
  out: FactorArray;
}

/** Scratch of one sweep, shared by every row and column. */
interface Scratch {
  G: Float64Array;
  A: Float64Array;
  b: Float64Array;
  X: Float64Array;
  WX: Float64Array;
  r: Float64Array;
  p: Float64Array;
  q: Float64Array;
}

/**
 * Adds `sum_j fixed_j fixed_j^T` over fixed rows `from..to` to the upper triangle of `G` (k x k).
 */
function gramRange(fixed: FactorArray, k: number, from: number, to: number, G: Float64Array, X: Float64Array): void {
  for (let s0 = from; s0 < to; s0 += BLOCK) {
    const m = to - s0 < BLOCK ? to - s0 : BLOCK;
    for (let q = 0; q < m; q++) {
      const o = (s0 + q) * k;
      for (let i = 0; i < k; i++) X[i * BLOCK + q] = fixed[o + i];
    }
    gramBlock(G, k, X, X, m);
  }
}

/** `G = fixed^T fixed` (full, symmetric), in slices. */
function* gramSteps(fixed: FactorArray, nFixed: number, k: number, G: Float64Array, X: Float64Array, slice: Slice): Steps<void> {
  G.fill(0);
  const chunk = Math.max(BLOCK, Math.floor(CHECK_WORK / (k * k)) * BLOCK);
  for (let from = 0; from < nFixed; from += chunk) {
    gramRange(fixed, k, from, Math.min(nFixed, from + chunk), G, X);
    if (slice.due()) yield;
  }
  for (let i = 0; i < k; i++) for (let j = i + 1; j < k; j++) G[j * k + i] = G[i * k + j];
}

/**
 * One implicit ALS iteration: every row's factors against the current V, then every column's
 * against the new U. See the module comment for the objective and the CG operation order.
 *
 * @throws CollabperfError `E_NUMERIC` when an exact solve meets a non-positive pivot (possible only
 *   with lambda = 0); `E_INVALID_ARGUMENT` without `options.implicit`.
 */
export function ialsSweep(problem: KernelProblem, model: AnyKernelModel, options: KernelOptions): Promise<KernelStatus> {
  const slice = new Slice();
  return drive(ialsSweepSteps(problem, model, options, slice), slice);
}

/** {@link ialsSweep} as a generator that yields whenever `slice` is due (see `alsSweepSteps`). */
export function* ialsSweepSteps(problem: KernelProblem, model: AnyKernelModel, options: KernelOptions, slice: Slice): Steps<KernelStatus> {
  const imp = implicitOf(options);
  const cancel = options.cancel;
  if (cancel !== null && cancel[0] !== 0) return 'aborted';
  const k = model.k;
  const sc: Scratch = {
    G: new Float64Array(k * k),
    A: new Float64Array(k * k),
    b: new Float64Array(k),
    X: new Float64Array(k * BLOCK),
    WX: new Float64Array(k * BLOCK),
    r: new Float64Array(k),
    p: new Float64Array(k),
    q: new Float64Array(k),
  };
  const passes: Pass[] = [
    { what: 'row', count: problem.nRows, ptr: problem.rowPtr, idx: problem.colIdx, val: problem.value, fixed: model.V, nFixed: problem.nCols, out: model.U },
    { what: 'column', count: problem.nCols, ptr: problem.colPtr, idx: problem.cscRow, val: problem.cscValue, fixed: model.U, nFixed: problem.nRows, out: model.V },
  ];
  const budget = new WorkBudget();
  for (const pass of passes) {
    yield* gramSteps(pass.fixed, pass.nFixed, k, sc.G, sc.X, slice);
    if (cancel !== null && cancel[0] !== 0) return 'aborted';
    const solve = imp.solver === 'cg' ? cgRange : exactRange;
    const status = yield* solveRows(pass.count, (from, work) => solve(pass, k, options, imp, from, work, sc), budget, cancel, slice);
    if (status === 'aborted') return status;
  }
  return 'ok';
}

/** Entries of a row with r > 0 (the others contribute nothing to its system). */
function positives(val: Float64Array | Float32Array, start: number, end: number): number {
  let n = 0;
  for (let e = start; e < end; e++) if (val[e] > 0) n++;
  return n;
}

/** Exact solves of rows `from, ...` until about `budget` multiply-adds; returns the next row. */
function exactRange(pass: Pass, k: number, o: KernelOptions, imp: ImplicitOptions, from: number, budget: number, sc: Scratch): number {
  const { count, ptr, idx, val, fixed, out } = pass;
  const { G, A, b, X, WX } = sc;
  const kk = k * k;
  const workPerEntry = (k * (k + 1)) / 2 + k;
  const workPerSolve = (kk * k) / 6 + 3 * kk;
  let work = 0;
  let r = from;
  for (; r < count && work < budget; r++) {
    const start = ptr[r];
    const end = ptr[r + 1];
    const ro = r * k;
    if (positives(val, start, end) === 0) {
      for (let f = 0; f < k; f++) out[ro + f] = 0;
      work += k;
      continue;
    }
    A.set(G);
    b.fill(0);
    let m = 0;
    for (let e = start; e < end; e++) {
      const v = val[e];
      if (!(v > 0)) continue;
      const c = confidenceOf(v, imp);
      const cm1 = c - 1;
      const go = idx[e] * k;
      for (let f = 0; f < k; f++) {
        const y = fixed[go + f];
        X[f * BLOCK + m] = y;
        WX[f * BLOCK + m] = cm1 * y;
        b[f] += c * y;
      }
      if (++m === BLOCK) {
        gramBlock(A, k, X, WX, m);
        m = 0;
      }
    }
    if (m > 0) gramBlock(A, k, X, WX, m);
    const lam = o.lambda * (o.weightedLambda ? end - start : 1);
    for (let f = 0; f < k; f++) A[f * (k + 1)] += lam;
    // gramBlock added to the upper triangle only (G's lower half is stale by that much): mirror it.
    for (let i = 0; i < k; i++) for (let j = i + 1; j < k; j++) A[j * k + i] = A[i * k + j];
    if (!choleskyInPlace(A, k)) throw numericError(pass, r, end - start, o.lambda);
    choleskySolveInPlace(A, k, b);
    for (let f = 0; f < k; f++) out[ro + f] = b[f];
    work += (end - start) * workPerEntry + workPerSolve;
  }
  return r;
}

/** `t = A z` for one row (see the module comment for the order). */
function applyA(G: Float64Array, k: number, fixed: FactorArray, idx: Int32Array, val: Float64Array | Float32Array, start: number, end: number, imp: ImplicitOptions, lam: number, z: Float64Array, t: Float64Array): void {
  for (let f = 0; f < k; f++) {
    const go = f * k;
    let s = 0.0;
    for (let j = 0; j < k; j++) s += G[go + j] * z[j];
    t[f] = s;
  }
  for (let e = start; e < end; e++) {
    const v = val[e];
    if (!(v > 0)) continue;
    const go = idx[e] * k;
    let d = 0.0;
    for (let f = 0; f < k; f++) d += fixed[go + f] * z[f];
    const s = (confidenceOf(v, imp) - 1) * d;
    for (let f = 0; f < k; f++) t[f] += s * fixed[go + f];
  }
  for (let f = 0; f < k; f++) t[f] += lam * z[f];
}

function dot(a: Float64Array, b: Float64Array, k: number): number {
  let s = 0.0;
  for (let f = 0; f < k; f++) s += a[f] * b[f];
  return s;
}

/** CG solves (cgSteps each, warm-started) of rows `from, ...`; returns the next row. */
function cgRange(pass: Pass, k: number, o: KernelOptions, imp: ImplicitOptions, from: number, budget: number, sc: Scratch): number {
  const { count, ptr, idx, val, fixed, out } = pass;
  const { G, b, r: res, p, q } = sc;
  const steps = imp.cgSteps;
  const x = sc.A.subarray(0, k); // A is unused by CG; its first k doubles hold the iterate
  let work = 0;
  let r = from;
  for (; r < count && work < budget; r++) {
    const start = ptr[r];
    const end = ptr[r + 1];
    const ro = r * k;
    if (positives(val, start, end) === 0) {
      for (let f = 0; f < k; f++) out[ro + f] = 0;
      work += k;
      continue;
    }
    const lam = o.lambda * (o.weightedLambda ? end - start : 1);
    for (let f = 0; f < k; f++) x[f] = out[ro + f];
    b.fill(0);
    for (let e = start; e < end; e++) {
      const v = val[e];
      if (!(v > 0)) continue;
      const c = confidenceOf(v, imp);
      const go = idx[e] * k;
      for (let f = 0; f < k; f++) b[f] += c * fixed[go + f];
    }
    applyA(G, k, fixed, idx, val, start, end, imp, lam, x, q);
    for (let f = 0; f < k; f++) {
      res[f] = b[f] - q[f];
      p[f] = res[f];
    }
    let rs = dot(res, res, k);
    for (let s = 0; s < steps; s++) {
      if (rs < CG_TINY) break;
      applyA(G, k, fixed, idx, val, start, end, imp, lam, p, q);
      const a = rs / dot(p, q, k);
      for (let f = 0; f < k; f++) {
        x[f] += a * p[f];
        res[f] -= a * q[f];
      }
      const rn = dot(res, res, k);
      if (rn < CG_TINY) break;
      const beta = rn / rs;
      for (let f = 0; f < k; f++) p[f] = res[f] + beta * p[f];
      rs = rn;
    }
    for (let f = 0; f < k; f++) out[ro + f] = x[f];
    work += (steps + 1) * ((end - start) * 2 * k + k * k);
  }
  return r;
}

function numericError(pass: Pass, index: number, n: number, lambda: number): CollabperfError {
  return new CollabperfError(
    'E_NUMERIC',
    `implicit ALS: the normal equations of ${pass.what} ${index} (0-based, ${n} entr${n === 1 ? 'y' : 'ies'}) are not positive definite ` +
      `(non-positive Cholesky pivot; lambda = ${lambda}); use lambda > 0`,
  );
}

/**
 * The implicit loss after an iteration: `sse` = sum over EVERY cell of `c (p - x_u . y_i)^2`,
 * `wsum` = the sum of the confidences (nRows * nCols + sum_e (c_e - 1)), and `objective` = sse plus
 * the L2 terms. The unobserved cells are summed through the Gram trick
 * (`sum_u x_u^T (Y^T Y) x_u` minus the observed cells' own squares), so it costs O(nnz k + n k^2).
 */
export function implicitLoss(problem: KernelProblem, model: AnyKernelModel, options: KernelOptions): Promise<LossSums> {
  const slice = new Slice();
  return drive(implicitLossSteps(problem, model, options, slice), slice);
}

/** {@link implicitLoss} as a generator that yields whenever `slice` is due. */
export function* implicitLossSteps(problem: KernelProblem, model: AnyKernelModel, options: KernelOptions, slice: Slice): Steps<LossSums> {
  const imp = implicitOf(options);
  const { k, U, V } = model;
  const { nRows, nCols, rowPtr, colPtr, colIdx, value } = problem;
  const G = new Float64Array(k * k);
  const X = new Float64Array(k * BLOCK);
  yield* gramSteps(V, nCols, k, G, X, slice);
  // sum_u x_u^T G x_u: every cell's squared prediction.
  let all = 0.0;
  const rowChunk = Math.max(16, Math.floor(CHECK_WORK / (k * k + 1)));
  for (let from = 0; from < nRows; from += rowChunk) {
    all += quadRange(U, G, k, from, Math.min(nRows, from + rowChunk));
    if (slice.due()) yield;
  }
  let obs = 0.0;
  let extraW = 0.0;
  const entryChunk = Math.max(256, Math.floor(CHECK_WORK / (2 * k + 8)));
  for (let r = 0; r < nRows; ) {
    let work = 0;
    for (; r < nRows && work < entryChunk; r++) {
      const ro = r * k;
      for (let e = rowPtr[r]; e < rowPtr[r + 1]; e++) {
        const v = value[e];
        const co = colIdx[e] * k;
        let d = 0.0;
        for (let f = 0; f < k; f++) d += U[ro + f] * V[co + f];
        if (v > 0) {
          const c = confidenceOf(v, imp);
          const err = 1 - d;
          obs += c * (err * err) - d * d;
          extraW += c - 1;
        }
      }
      work += rowPtr[r + 1] - rowPtr[r] + 1;
    }
    if (slice.due()) yield;
  }
  // Mathematically >= 0; the Gram-trick subtraction could round a near-perfect fit below it, which the loop would take for divergence.
  const sse = Math.max(0, all + obs);
  const reg = options.lambda * (l2(U, k, nRows, rowPtr, options.weightedLambda) + l2(V, k, nCols, colPtr, options.weightedLambda));
  return { sse, wsum: nRows * nCols + extraW, objective: sse + reg };
}

function quadRange(U: FactorArray, G: Float64Array, k: number, from: number, to: number): number {
  let s = 0.0;
  for (let r = from; r < to; r++) {
    const ro = r * k;
    let q = 0.0;
    for (let i = 0; i < k; i++) {
      const gi = i * k;
      let t = 0.0;
      for (let j = 0; j < k; j++) t += G[gi + j] * U[ro + j];
      q += U[ro + i] * t;
    }
    s += q;
  }
  return s;
}

/** `sum_r s_r |F_r|^2` (s_r = entry count with weightedLambda, else 1). */
function l2(F: FactorArray, k: number, n: number, ptr: Int32Array, weighted: boolean): number {
  let s = 0.0;
  for (let r = 0; r < n; r++) {
    const ro = r * k;
    let t = 0.0;
    for (let f = 0; f < k; f++) t += F[ro + f] * F[ro + f];
    s += weighted ? (ptr[r + 1] - ptr[r]) * t : t;
  }
  return s;
}
