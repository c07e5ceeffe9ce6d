/**
 * ALS sweep of the TypeScript backend (docs/kernels.md, "ALS sweep"): every row's factors and bias
 * solved exactly from its normal equations with the column side fixed, then every column's.
 */
import { CollabperfError } from '../../errors.js';
import type { AnyKernelModel, FactorArray, KernelOptions, KernelProblem, KernelStatus } from '../types.js';
import { choleskyInPlace, choleskySolveInPlace } from '../../numeric/cholesky.js';
import { drive, Slice, solveRows, WorkBudget, type Steps } from './slice.js';
import { MAX_SMALL_ALS_K, solveRangeSmall, type SmallPass } from './als-small.js';

/** Entries gathered at a time for the Gram matrix (d * BLOCK doubles of scratch, twice). */
export const BLOCK = 64;

/** One side of the sweep: the CSR row pass or the CSC column pass. */
export interface AlsPass {
  what: 'row' | 'column';
  count: number;
  ptr: Int32Array;
  /** Index on the fixed side of each entry. */
  idx: Int32Array;
  val: Float64Array | Float32Array;
  wt: Float64Array | null;
  /** Fixed factors and biases (V/colBias for the row pass). */
  fixed: FactorArray;
  fixedBias: FactorArray;
  /** Solved factors and biases (U/rowBias for the row pass). */
  /** A Float32Array here rounds every stored value to float32 (what the native float32 sweep does). */
  out: FactorArray;
  outBias: FactorArray;
  k: number;
  mu: number;
  useBias: boolean;
  lambda: number;
  lambdaBias: number;
  weightedLambda: boolean;
}

/**
 * One ALS iteration: solves every row (U, rowBias) against the current V/colBias, then every
 * column (V, colBias) against the U/rowBias just computed. Rows/columns without entries get zero
 * factors (and a zero bias when biases are on).
 *
 * Returns to the event loop about every 25 ms and stops with `'aborted'` soon after
 * `options.cancel[0]` becomes non-zero (then the model holds a mix of old and new rows, which is
 * still a valid model). `options.threads` and `options.sgdMode` are ignored.
 *
 * @throws CollabperfError `E_NUMERIC` when a row's or column's system has a non-positive Cholesky
 *   pivot (only possible with lambda = 0, or lambdaBias = 0 with zero weights); the message names it.
 *   The rows solved before it keep their new values.
 */
export function alsSweep(problem: KernelProblem, model: AnyKernelModel, options: KernelOptions): Promise<KernelStatus> {
  const slice = new Slice();
  return drive(alsSweepSteps(problem, model, options, slice), slice);
}

/**
 * {@link alsSweep} as a generator that yields whenever `slice` is due; the caller returns to the
 * event loop (or not) and resets the slice. Used by `fitMany` to share one slice across calls.
 */
export function* alsSweepSteps(problem: KernelProblem, model: AnyKernelModel, options: KernelOptions, slice: Slice): Steps<KernelStatus> {
  const cancel = options.cancel;
  if (cancel !== null && cancel[0] !== 0) return 'aborted';
  const k = model.k;
  const d = options.useBias ? k + 1 : k;
  // Scratch shared by every row and column of this call.
  const A = new Float64Array(d * d);
  const b = new Float64Array(d);
  const X = new Float64Array(d * BLOCK);
  const WX = new Float64Array(d * BLOCK);
  const common = {
    k,
    mu: model.mu,
    useBias: options.useBias,
    lambda: options.lambda,
    lambdaBias: options.lambdaBias,
    weightedLambda: options.weightedLambda,
  };
  const rowPass: AlsPass = {
    what: 'row',
    count: problem.nRows,
    ptr: problem.rowPtr,
    idx: problem.colIdx,
    val: problem.value,
    wt: problem.weight,
    fixed: model.V,
    fixedBias: model.colBias,
    out: model.U,
    outBias: model.rowBias,
    ...common,
  };
  const colPass: AlsPass = {
    what: 'column',
    count: problem.nCols,
    ptr: problem.colPtr,
    idx: problem.cscRow,
    val: problem.cscValue,
    wt: problem.cscWeight,
    fixed: model.U,
    fixedBias: model.rowBias,
    out: model.V,
    outBias: model.colBias,
    ...common,
  };

  const budget = new WorkBudget();
  // Small ranks of float64 models: the scalar solver of als-small.ts (native's bits).
  const small = k <= MAX_SMALL_ALS_K && model.U instanceof Float64Array;
  for (const pass of [rowPass, colPass]) {
    const solve = small ? (from: number, work: number) => solveRangeSmallOrThrow(pass, from, work) : (from: number, work: number) => solveRange(pass, from, work, A, b, X, WX);
    const status = yield* solveRows(pass.count, solve, budget, cancel, slice);
    if (status === 'aborted') return status;
  }
  return 'ok';
}

function solveRangeSmallOrThrow(pass: AlsPass, from: number, budget: number): number {
  const next = solveRangeSmall(pass as SmallPass, from, budget);
  if (next >= 0) return next;
  const r = -1 - next;
  throw numericError(pass, r, pass.ptr[r + 1] - pass.ptr[r]);
}

/**
 * Solves rows `from, from+1, ...` of one pass until about `budget` multiply-adds are spent.
 * Synchronous so that the optimising compiler sees a plain loop (no await inside).
 *
 * @returns the first row not yet solved.
 */
function solveRange(
  pass: AlsPass,
  from: number,
  budget: number,
  A: Float64Array,
  b: Float64Array,
  X: Float64Array,
  WX: Float64Array,
): number {
  const { count, ptr, idx, val, wt, fixed, fixedBias, out, outBias, k, mu, useBias, lambda, lambdaBias, weightedLambda } = pass;
  const d = useBias ? k + 1 : k;
  const dd = d * d;
  const workPerEntry = (d * (d + 1)) / 2 + d;
  const workPerSolve = (dd * d) / 6 + 2 * dd;
  let work = 0;
  let r = from;
  for (; r < count && work < budget; r++) {
    const start = ptr[r];
    const end = ptr[r + 1];
    const n = end - start;
    const ro = r * k;
    if (n === 0) {
      for (let f = 0; f < k; f++) out[ro + f] = 0;
      if (useBias) outBias[r] = 0;
      work += d;
      continue;
    }
    A.fill(0);
    b.fill(0);
    for (let s0 = start; s0 < end; s0 += BLOCK) {
      const m = end - s0 < BLOCK ? end - s0 : BLOCK;
      // Gather the block transposed (X[i*BLOCK + q] = a_i of entry q) so that the Gram below is
      // made of contiguous dot products kept in registers, instead of a rank-1 update per entry
      // that loads and stores the whole triangle of A for every entry.
      for (let q = 0; q < m; q++) {
        const p = s0 + q;
        const c = idx[p];
        const w = wt === null ? 1 : wt[p];
        const t = (val[p] - mu) - fixedBias[c];
        const wt_ = w * t;
        const go = c * k;
        for (let i = 0; i < k; i++) {
          const ai = fixed[go + i];
          X[i * BLOCK + q] = ai;
          WX[i * BLOCK + q] = w * ai;
          b[i] += wt_ * ai;
        }
        if (useBias) {
          X[k * BLOCK + q] = 1;
          WX[k * BLOCK + q] = w;
          b[k] += wt_;
        }
      }
      gramBlock(A, d, X, WX, m);
    }
    const scale = weightedLambda ? n : 1;
    const lr = lambda * scale;
    for (let i = 0; i < k; i++) A[i * (d + 1)] += lr;
    if (useBias) A[k * (d + 1)] += lambdaBias * scale;
    for (let i = 0; i < d; i++) {
      const io = i * d;
      for (let j = i + 1; j < d; j++) A[j * d + i] = A[io + j];
    }
    if (!choleskyInPlace(A, d)) throw numericError(pass, r, n);
    choleskySolveInPlace(A, d, b);
    for (let f = 0; f < k; f++) out[ro + f] = b[f];
    if (useBias) outBias[r] = b[k];
    work += n * workPerEntry + workPerSolve;
  }
  return r;
}

function numericError(pass: AlsPass, index: number, n: number): CollabperfError {
  const scaled = pass.weightedLambda ? ` (times n = ${n}, weightedLambda)` : '';
  const bias = pass.useBias ? `, lambdaBias = ${pass.lambdaBias}` : '';
  return new CollabperfError(
    'E_NUMERIC',
    `ALS: the normal equations of ${pass.what} ${index} (0-based, ${n} entr${n === 1 ? 'y' : 'ies'}) are not positive definite ` +
      `(non-positive Cholesky pivot; lambda = ${pass.lambda}${bias}${scaled}); use lambda > 0`,
  );
}

/**
 * Adds the upper triangle of `WX^T X` over the first `m` gathered entries to `A` (tiles on the
 * diagonal also write a few lower elements, which the mirror overwrites afterwards). 4x2 register
 * tiles: eight multiply-adds per six loads, eight independent sums.
 */
export function gramBlock(A: Float64Array, d: number, X: Float64Array, WX: Float64Array, m: number): void {
  let i = 0;
  for (; i + 3 < d; i += 4) {
    const i0 = i * BLOCK;
    const i1 = i0 + BLOCK;
    const i2 = i1 + BLOCK;
    const i3 = i2 + BLOCK;
    const a0 = i * d;
    const a1 = a0 + d;
    const a2 = a1 + d;
    const a3 = a2 + d;
    let j = i;
    for (; j + 1 < d; j += 2) {
      const j0 = j * BLOCK;
      const j1 = j0 + BLOCK;
      let s00 = 0, s01 = 0, s10 = 0, s11 = 0, s20 = 0, s21 = 0, s30 = 0, s31 = 0;
      for (let q = 0; q < m; q++) {
        const y0 = X[j0 + q];
        const y1 = X[j1 + q];
        const x0 = WX[i0 + q];
        s00 += x0 * y0;
        s01 += x0 * y1;
        const x1 = WX[i1 + q];
        s10 += x1 * y0;
        s11 += x1 * y1;
        const x2 = WX[i2 + q];
        s20 += x2 * y0;
        s21 += x2 * y1;
        const x3 = WX[i3 + q];
        s30 += x3 * y0;
        s31 += x3 * y1;
      }
      A[a0 + j] += s00;
      A[a0 + j + 1] += s01;
      A[a1 + j] += s10;
      A[a1 + j + 1] += s11;
      A[a2 + j] += s20;
      A[a2 + j + 1] += s21;
      A[a3 + j] += s30;
      A[a3 + j + 1] += s31;
    }
    if (j < d) {
      const j0 = j * BLOCK;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let q = 0; q < m; q++) {
        const y = X[j0 + q];
        s0 += WX[i0 + q] * y;
        s1 += WX[i1 + q] * y;
        s2 += WX[i2 + q] * y;
        s3 += WX[i3 + q] * y;
      }
      A[a0 + j] += s0;
      A[a1 + j] += s1;
      A[a2 + j] += s2;
      A[a3 + j] += s3;
    }
  }
  for (; i < d; i++) {
    const i0 = i * BLOCK;
    const a0 = i * d;
    for (let j = i; j < d; j++) {
      const j0 = j * BLOCK;
      let s = 0;
      for (let q = 0; q < m; q++) s += WX[i0 + q] * X[j0 + q];
      A[a0 + j] += s;
    }
  }
}
