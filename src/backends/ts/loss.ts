/**
 * Training loss of the TypeScript backend (docs/kernels.md, "Prediction" and `trainLoss`).
 */
import type { AnyKernelModel, KernelOptions, KernelProblem, LossSums } from '../types.js';
import { CHECK_WORK, drive, Slice, type Steps } from './slice.js';

/**
 * Sums `w * (y - pred)^2` (evaluated as `w * (err * err)`) and `w` over all entries, in CSR order,
 * with `pred = ((mu + rowBias[r]) + colBias[c]) + dot` and `dot` accumulated from 0 over f = 0..k-1.
 *
 * Returns to the event loop about every 25 ms; the running sums carry across the pauses, so the
 * result does not depend on them. The loss cannot be aborted (it has no status to report it), so
 * `options.cancel` is not consulted; `options` is otherwise unused (biases are read from the model,
 * where they stay 0 without useBias).
 */
export function trainLoss(problem: KernelProblem, model: AnyKernelModel, options: KernelOptions): Promise<LossSums> {
  void options;
  const slice = new Slice();
  return drive(trainLossSteps(problem, model, slice), slice);
}

/** {@link trainLoss} as a generator that yields whenever `slice` is due (see `alsSweepSteps`). */
export function* trainLossSteps(problem: KernelProblem, model: AnyKernelModel, slice: Slice): Steps<LossSums> {
  const nnz = problem.nnz;
  const chunk = Math.max(256, Math.floor(CHECK_WORK / (2 * model.k + 8)));
  const acc = new Float64Array(2);
  for (let from = 0; from < nnz; from += chunk) {
    if (slice.due()) yield;
    lossRange(problem, model, from, Math.min(nnz, from + chunk), acc);
  }
  return { sse: acc[0], wsum: acc[1] };
}

/** Adds entries `from..to` (CSR order) to `acc = [sse, wsum]`. Synchronous for the optimiser. */
function lossRange(problem: KernelProblem, model: AnyKernelModel, from: number, to: number, acc: Float64Array): void {
  const { rowIdx, colIdx, value, weight } = problem;
  const { k, mu, U, V, rowBias, colBias } = model;
  let sse = acc[0];
  let wsum = acc[1];
  for (let e = from; e < to; e++) {
    const r = rowIdx[e];
    const c = colIdx[e];
    const w = weight === null ? 1 : weight[e];
    const ro = r * k;
    const co = c * k;
    let dot = 0.0;
    for (let f = 0; f < k; f++) dot += U[ro + f] * V[co + f];
    const pred = ((mu + rowBias[r]) + colBias[c]) + dot;
    const err = value[e] - pred;
    sse += w * (err * err);
    wsum += w;
  }
  acc[0] = sse;
  acc[1] = wsum;
}
