/**
 * ALS sweep of the TypeScript backend (docs/kernels.md, "ALS sweep"): every row's factors and bias
 * solved exactly from its normal equations with the column side fixed, then every column's.
 */
import { CollabperfError } from '../../errors.js';
import type { KernelModel, KernelOptions, KernelProblem, KernelStatus } from '../types.js';
import { choleskyInPlace, choleskySolveInPlace } from './cholesky.js';

/** Time between two returns to the event loop. */
const SLICE_MS = 25;
/**
 * Approximate multiply-adds between two looks at the clock and the cancel flag (~1-3 ms of work);
 * counted in work rather than rows because a row's cost grows with its entries and with d^2.
 */
const CHECK_WORK = 1 << 22;

/** One side of the sweep: the CSR row pass or the CSC column pass. */
interface AlsPass {
  what: 'row' | 'column';
  count: number;
  ptr: Int32Array;
  /** Index on the fixed side of each entry. */
  idx: Int32Array;
  val: Float64Array;
  wt: Float64Array | null;
  /** Fixed factors and biases (V/colBias for the row pass). */
  fixed: Float64Array;
  fixedBias: Float64Array;
  /** Solved factors and biases (U/rowBias for the row pass). */
  out: Float64Array;
  outBias: Float64Array;
  k: number;
  mu: number;
  useBias: boolean;
  lambda: number;
  lambdaBias: number;
  weightedLambda: boolean;
  lambdaName: string;
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
 */
export async function alsSweep(problem: KernelProblem, model: KernelModel, options: KernelOptions): Promise<KernelStatus> {
  const cancel = options.cancel;
  if (cancel !== null && cancel[0] !== 0) return 'aborted';
  const k = model.k;
  const d = options.useBias ? k + 1 : k;
  // Scratch shared by every row and column of this call.
  const A = new Float64Array(d * d);
  const b = new Float64Array(d);
  const common = {
    k,
    mu: model.mu,
    useBias: options.useBias,
    lambda: options.lambda,
    lambdaBias: options.lambdaBias,
    weightedLambda: options.weightedLambda,
    lambdaName: options.weightedLambda ? 'lambda * n' : 'lambda',
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

  let sliceStart = performance.now();
  for (const pass of [rowPass, colPass]) {
    let i = 0;
    while (i < pass.count) {
      i = solveRange(pass, i, CHECK_WORK, A, b);
      if (cancel !== null && cancel[0] !== 0) return 'aborted';
      if (performance.now() - sliceStart >= SLICE_MS) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        sliceStart = performance.now();
      }
    }
  }
  return 'ok';
}

/**
 * Solves rows `from, from+1, ...` of one pass until about `budget` multiply-adds are spent.
 * Synchronous so that the optimising compiler sees a plain loop (no await inside).
 *
 * @returns the first row not yet solved.
 */
function solveRange(pass: AlsPass, from: number, budget: number, A: Float64Array, b: Float64Array): number {
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
    // Upper triangle only (j >= i); the bias slot is column k of the upper triangle, whose
    // coefficient a_k = 1 turns w * a_i * a_k into w * a_i.
    for (let p = start; p < end; p++) {
      const c = idx[p];
      const w = wt === null ? 1 : wt[p];
      const t = (val[p] - mu) - fixedBias[c];
      const wt_ = w * t;
      const go = c * k;
      for (let i = 0; i < k; i++) {
        const ai = fixed[go + i];
        const wai = w * ai;
        const io = i * d;
        b[i] += wt_ * ai;
        for (let j = i; j < k; j++) A[io + j] += wai * fixed[go + j];
        if (useBias) A[io + k] += wai;
      }
      if (useBias) {
        A[k * d + k] += w;
        b[k] += wt_;
      }
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
  return new CollabperfError(
    'E_NUMERIC',
    `ALS: the normal equations of ${pass.what} ${index} (0-based, ${n} entr${n === 1 ? 'y' : 'ies'}) are not positive definite ` +
      `(non-positive Cholesky pivot with ${pass.lambdaName} = ${pass.lambda * (pass.weightedLambda ? n : 1)}); use lambda > 0`,
  );
}
