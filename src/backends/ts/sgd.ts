/**
 * SGD epoch of the TypeScript backend (docs/kernels.md, "SGD epoch", deterministic mode). Every
 * floating-point expression keeps the doc's order and parentheses: the C++ core compiles the same
 * expressions without FMA contraction, and the two must agree bit for bit.
 */
import type { AnyKernelModel, KernelOptions, KernelProblem, KernelStatus } from '../types.js';
import { Rng } from '../../numeric/rng.js';
import { CHECK_WORK, drive, Slice, type Steps } from './slice.js';

/**
 * One SGD epoch over all entries in a shuffled order (`Rng(seed, 1 + epoch).shuffle` of
 * 0..nnz-1) with learning rate `learningRate / (1 + lrDecay * epoch)`.
 *
 * `sgdMode: 'parallel'` runs the deterministic mode too (the TS backend has no threads), and
 * `weightedLambda` does not apply to SGD. Returns to the event loop about every 25 ms and stops
 * with `'aborted'` soon after `options.cancel[0]` becomes non-zero (the entries already visited
 * stay updated).
 *
 * @param epoch - epoch number, from 0; selects the shuffle stream and the decayed learning rate.
 */
export function sgdEpoch(problem: KernelProblem, model: AnyKernelModel, options: KernelOptions, epoch: number): Promise<KernelStatus> {
  const slice = new Slice();
  return drive(sgdEpochSteps(problem, model, options, epoch, slice), slice);
}

/** {@link sgdEpoch} as a generator that yields whenever `slice` is due (see `alsSweepSteps`). */
export function* sgdEpochSteps(
  problem: KernelProblem,
  model: AnyKernelModel,
  options: KernelOptions,
  epoch: number,
  slice: Slice,
): Steps<KernelStatus> {
  const cancel = options.cancel;
  if (cancel !== null && cancel[0] !== 0) return 'aborted';
  // The shuffle (one uninterrupted call, ~10 ms per million entries) counts towards the slice.
  const nnz = problem.nnz;
  const perm = new Int32Array(nnz);
  for (let i = 0; i < nnz; i++) perm[i] = i;
  new Rng(options.seed, 1 + epoch).shuffle(perm);
  const lr = options.learningRate / (1 + options.lrDecay * epoch);
  const chunk = Math.max(256, Math.floor(CHECK_WORK / (6 * model.k + 16)));
  // Scratch for one range's entries in visiting order, reused by every range.
  const sr = new Int32Array(chunk);
  const sc = new Int32Array(chunk);
  const sy = new Float64Array(chunk);
  const sw = new Float64Array(chunk);

  for (let from = 0; from < nnz; from += chunk) {
    if (cancel !== null && cancel[0] !== 0) return 'aborted';
    if (slice.due()) {
      yield;
      // A cancel that arrived while we were away must win even if no work is left.
      if (cancel !== null && cancel[0] !== 0) return 'aborted';
    }
    sgdRange(problem, model, options, lr, perm, from, Math.min(nnz, from + chunk), sr, sc, sy, sw);
  }
  return 'ok';
}

/**
 * Visits `perm[from..to)`. Synchronous so that the optimising compiler sees a plain loop; the
 * running state lives only in the model, so splitting the epoch into ranges changes nothing.
 */
function sgdRange(
  problem: KernelProblem,
  model: AnyKernelModel,
  options: KernelOptions,
  lr: number,
  perm: Int32Array,
  from: number,
  to: number,
  sr: Int32Array,
  sc: Int32Array,
  sy: Float64Array,
  sw: Float64Array,
): void {
  const { rowIdx, colIdx, value, weight } = problem;
  const { k, mu, U, V, rowBias, colBias } = model;
  const { useBias, lambda, lambdaBias } = options;
  const m = to - from;
  // Gather the range's entries first: these random reads are independent of each other, so the
  // processor overlaps their cache misses, which it cannot do behind the updates' dependencies.
  for (let q = 0; q < m; q++) {
    const e = perm[from + q];
    sr[q] = rowIdx[e];
    sc[q] = colIdx[e];
    sy[q] = value[e];
    sw[q] = weight === null ? 1 : weight[e];
  }
  for (let q = 0; q < m; q++) {
    const r = sr[q];
    const c = sc[q];
    const y = sy[q];
    const w = sw[q];
    const ro = r * k;
    const co = c * k;
    let dot = 0.0;
    for (let f = 0; f < k; f++) dot += U[ro + f] * V[co + f];
    const pred = ((mu + rowBias[r]) + colBias[c]) + dot;
    const err = y - pred;
    const g = w * err;
    if (useBias) {
      const br = rowBias[r];
      const bc = colBias[c];
      rowBias[r] = br + lr * (g - lambdaBias * br);
      colBias[c] = bc + lr * (g - lambdaBias * bc);
    }
    for (let f = 0; f < k; f++) {
      const uf = U[ro + f];
      const vf = V[co + f];
      U[ro + f] = uf + lr * (g * vf - lambda * uf);
      V[co + f] = vf + lr * (g * uf - lambda * vf);
    }
  }
}
