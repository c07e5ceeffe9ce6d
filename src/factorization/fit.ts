import { performance } from 'node:perf_hooks';
import { CollabperfError } from '../errors.js';
import { getBackend } from '../backends/registry.js';
import { Rng } from '../numeric/rng.js';
import type { KernelBackend, KernelOptions, KernelProblem } from '../backends/types.js';
import { FactorModel } from './model.js';
import { resolveFitOptions, type FitOptions, type IterationReport, type ResolvedFitOptions } from './options.js';
import { buildProblem, toEntries, type Entries, type RatingsInput } from './ratings.js';

/** The outcome of {@link fit}. */
export interface FitResult {
  model: FactorModel;
  /** One report per iteration run. */
  history: IterationReport[];
  /** The backend that ran the kernels. */
  backend: string;
  /** True when validation stopped the fit before `iters`. */
  stoppedEarly: boolean;
  /** The iteration whose model was kept (the best on validation, else the last). */
  bestIter: number;
}

/**
 * Fills U then V with uniform values in ±initScale/sqrt(k) from Rng(seed, 0), the one
 * initialisation both backends start from (docs/kernels.md).
 */
export function initFactors(U: Float64Array, V: Float64Array, k: number, seed: number, initScale: number): void {
  const rng = new Rng(seed, 0);
  const s = (2 * initScale) / Math.sqrt(k);
  for (let i = 0; i < U.length; i++) U[i] = (rng.nextDouble() - 0.5) * s;
  for (let i = 0; i < V.length; i++) V[i] = (rng.nextDouble() - 0.5) * s;
}

function weightedMean(values: Float64Array, weights: Float64Array | null): number {
  let s = 0;
  let w = 0;
  for (let i = 0; i < values.length; i++) {
    const wi = weights ? weights[i] : 1;
    s += wi * values[i];
    w += wi;
  }
  return s / w;
}

/** Validation entries must fit inside the training matrix's shape. */
function validationEntries(input: RatingsInput, nRows: number, nCols: number): Entries {
  const e = toEntries(input, 'validation');
  if (e.nRows > nRows || e.nCols > nCols) {
    throw new CollabperfError('E_INDEX_OUT_OF_RANGE', `validation has indices beyond the training matrix (${nRows} x ${nCols})`);
  }
  return e;
}

function rmseOn(model: FactorModel, e: Entries): number {
  let sse = 0;
  let ws = 0;
  const k = model.k;
  for (let i = 0; i < e.rows.length; i++) {
    const r = e.rows[i];
    const c = e.cols[i];
    let dot = 0.0;
    for (let f = 0; f < k; f++) dot += model.U[r * k + f] * model.V[c * k + f];
    const err = e.values[i] - (model.mu + model.rowBias[r] + model.colBias[c] + dot);
    const w = e.weights ? e.weights[i] : 1;
    sse += w * err * err;
    ws += w;
  }
  return Math.sqrt(sse / ws);
}

function kernelOptions(o: ResolvedFitOptions, cancel: Int32Array): KernelOptions {
  return {
    useBias: o.useBias,
    lambda: o.lambda,
    lambdaBias: o.lambdaBias,
    weightedLambda: o.weightedLambda,
    threads: o.threads,
    learningRate: o.learningRate,
    lrDecay: o.lrDecay,
    seed: o.seed,
    sgdMode: o.sgdMode,
    cancel,
  };
}

function aborted(): CollabperfError {
  return new CollabperfError('E_ABORTED', 'the fit was cancelled');
}

/**
 * Factorizes a sparse rating matrix with ALS or SGD on the chosen backend. Each iteration runs
 * off the main thread (native) or in short slices that yield to the event loop (TypeScript);
 * progress, early stopping and cancellation behave the same on both.
 *
 * @example
 * const { model } = await fit({ rows, cols, values }, { algo: 'als', rank: 16, iters: 10 });
 * model.predict(0, 3);
 */
export async function fit(input: RatingsInput, options: FitOptions = {}): Promise<FitResult> {
  const o = resolveFitOptions(options);
  const entries = toEntries(input);
  const problem = buildProblem(entries);
  const validation = options.validation ? validationEntries(options.validation, problem.nRows, problem.nCols) : null;
  const backend = getBackend(options.backend);
  return runFit(problem, o, backend, validation, options);
}

/**
 * The iteration loop on an already built problem (used by {@link fit} and by callers that reuse
 * one problem for several fits, e.g. benchmarks and hyperparameter searches).
 */
export async function runFit(
  problem: KernelProblem,
  o: ResolvedFitOptions,
  backend: KernelBackend,
  validation: Entries | null,
  hooks: Pick<FitOptions, 'onProgress' | 'signal' | 'earlyStopping'> = {},
): Promise<FitResult> {
  const { signal, onProgress } = hooks;
  if (signal?.aborted) throw aborted();
  const k = o.rank;
  const U = new Float64Array(problem.nRows * k);
  const V = new Float64Array(problem.nCols * k);
  initFactors(U, V, k, o.seed, o.initScale);
  const mu = o.useBias ? weightedMean(problem.value, problem.weight) : 0;
  const model = new FactorModel(problem.nRows, problem.nCols, k, mu, U, V, new Float64Array(problem.nRows), new Float64Array(problem.nCols), {
    options: o,
    backend: backend.name,
    iterations: 0,
    trainRmse: NaN,
  });
  const cancel = new Int32Array(1);
  const onAbort = (): void => {
    cancel[0] = 1;
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  const kopts = kernelOptions(o, cancel);
  const history: IterationReport[] = [];
  const t0 = performance.now();
  let best: { iter: number; rmse: number; U: Float64Array; V: Float64Array; rb: Float64Array; cb: Float64Array } | null = null;
  let stoppedEarly = false;
  try {
    for (let it = 0; it < o.iters; it++) {
      const t = performance.now();
      const status = o.algo === 'als' ? await backend.alsSweep(problem, model, kopts) : await backend.sgdEpoch(problem, model, kopts, it);
      const seconds = (performance.now() - t) / 1000;
      if (status === 'aborted' || signal?.aborted) throw aborted();
      const loss = await backend.trainLoss(problem, model, kopts);
      const report: IterationReport = { iter: it + 1, iters: o.iters, trainRmse: Math.sqrt(loss.sse / loss.wsum), seconds, elapsed: (performance.now() - t0) / 1000 };
      if (!Number.isFinite(report.trainRmse)) {
        throw new CollabperfError('E_NUMERIC', `training diverged at iteration ${it + 1} (train RMSE ${report.trainRmse}); lower the learning rate or raise lambda`);
      }
      if (validation) report.validRmse = rmseOn(model, validation);
      history.push(report);
      onProgress?.(report);
      if (validation && hooks.earlyStopping !== false) {
        if (!best || report.validRmse! < best.rmse - o.minDelta) {
          best = { iter: it + 1, rmse: report.validRmse!, U: U.slice(), V: V.slice(), rb: model.rowBias.slice(), cb: model.colBias.slice() };
        } else if (it + 1 - best.iter >= o.patience) {
          stoppedEarly = it + 1 < o.iters;
          break;
        }
      }
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  let bestIter = history.length;
  if (best && best.iter !== history.length) {
    U.set(best.U);
    V.set(best.V);
    model.rowBias.set(best.rb);
    model.colBias.set(best.cb);
    bestIter = best.iter;
  }
  const kept = history[bestIter - 1];
  model.training.iterations = history.length;
  model.training.trainRmse = kept.trainRmse;
  if (kept.validRmse !== undefined) model.training.validRmse = kept.validRmse;
  return { model, history, backend: backend.name, stoppedEarly, bestIter };
}
