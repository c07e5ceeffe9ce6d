/**
 * SGD epoch of the TypeScript backend (docs/kernels.md, "SGD epoch", deterministic mode). Every
 * floating-point expression keeps the doc's order and parentheses: the C++ core compiles the same
 * expressions without FMA contraction, and the two must agree bit for bit.
 */
import type { KernelModel, KernelOptions, KernelProblem, KernelStatus } from '../types.js';
import { Rng } from './rng.js';

/** Time between two returns to the event loop. */
const SLICE_MS = 25;
/** Approximate flops between two looks at the clock and the cancel flag (well under 1 ms once compiled, a few ms before). */
const CHECK_WORK = 1 << 20;

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
export async function sgdEpoch(
  problem: KernelProblem,
  model: KernelModel,
  options: KernelOptions,
  epoch: number,
): Promise<KernelStatus> {
  const cancel = options.cancel;
  if (cancel !== null && cancel[0] !== 0) return 'aborted';
  // The shuffle counts towards the first slice: it alone takes ~20 ms per million entries.
  let sliceStart = performance.now();
  const nnz = problem.nnz;
  const perm = new Int32Array(nnz);
  for (let i = 0; i < nnz; i++) perm[i] = i;
  new Rng(options.seed, 1 + epoch).shuffle(perm);
  const lr = options.learningRate / (1 + options.lrDecay * epoch);
  const chunk = Math.max(256, Math.floor(CHECK_WORK / (6 * model.k + 16)));

  for (let from = 0; from < nnz; from += chunk) {
    if (cancel !== null && cancel[0] !== 0) return 'aborted';
    if (performance.now() - sliceStart >= SLICE_MS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
    sgdRange(problem, model, options, lr, perm, from, Math.min(nnz, from + chunk));
  }
  return 'ok';
}

/**
 * Visits `perm[from..to)`. Synchronous so that the optimising compiler sees a plain loop; the
 * running state lives only in the model, so splitting the epoch into ranges changes nothing.
 */
function sgdRange(
  problem: KernelProblem,
  model: KernelModel,
  options: KernelOptions,
  lr: number,
  perm: Int32Array,
  from: number,
  to: number,
): void {
  const { rowIdx, colIdx, value, weight } = problem;
  const { k, mu, U, V, rowBias, colBias } = model;
  const { useBias, lambda, lambdaBias } = options;
  for (let q = from; q < to; q++) {
    const e = perm[q];
    const r = rowIdx[e];
    const c = colIdx[e];
    const y = value[e];
    const w = weight === null ? 1 : weight[e];
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
