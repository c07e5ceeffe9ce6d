import { CollabperfError } from '../errors.js';
import { getBackend } from '../backends/registry.js';
import { Rng } from '../numeric/rng.js';
import type { BatchProgress, FitJob, FitJobResult, KernelBackend, KernelOptions, KernelProblem } from '../backends/types.js';
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
 * Factorizes a sparse rating matrix with ALS or SGD on the chosen backend. The whole fit is one
 * backend call (native: off the main thread; TypeScript: in slices that yield to the event loop);
 * early stopping and cancellation behave the same on both, and `onProgress` receives every
 * iteration's report once the fit has run (`onBatchProgress` follows it live).
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

/** One fit of a batch given to {@link runFits}. */
export interface FitSpec {
  /** The training matrix (several specs may share one). */
  problem: KernelProblem;
  options: ResolvedFitOptions;
  /** Held-out entries to report RMSE on after each iteration (and to stop early on). */
  validation?: Entries | null;
  /** With validation: stop early and keep the best iteration (default true). */
  earlyStopping?: boolean;
}

/** Hooks of {@link runFits}. */
export interface RunFitsHooks {
  /** Cancels every fit of the batch; it rejects with E_ABORTED. */
  signal?: AbortSignal;
  /** Live progress over the whole batch, at most every ~100 ms. */
  onProgress?: (p: BatchProgress) => void;
}

/** The model a spec starts from: initFactors, the weighted mean when biases are on, zero biases. */
function initialModel(spec: FitSpec, backend: KernelBackend): FactorModel {
  const { problem, options: o } = spec;
  const k = o.rank;
  const U = new Float64Array(problem.nRows * k);
  const V = new Float64Array(problem.nCols * k);
  initFactors(U, V, k, o.seed, o.initScale);
  const mu = o.useBias ? weightedMean(problem.value, problem.weight) : 0;
  return new FactorModel(problem.nRows, problem.nCols, k, mu, U, V, new Float64Array(problem.nRows), new Float64Array(problem.nCols), {
    options: o,
    backend: backend.name,
    iterations: 0,
    trainRmse: NaN,
  });
}

function toResult(spec: FitSpec, model: FactorModel, r: FitJobResult, backend: KernelBackend, label: string): FitResult {
  const iters = spec.options.iters;
  let elapsed = 0;
  const history: IterationReport[] = r.history.map((h, i) => {
    elapsed += h.seconds;
    const rep: IterationReport = { iter: i + 1, iters, trainRmse: h.trainRmse, seconds: h.seconds, elapsed };
    if (spec.validation) rep.validRmse = h.validRmse;
    return rep;
  });
  if (r.status === 'diverged') {
    const last = history[history.length - 1];
    throw new CollabperfError('E_NUMERIC', `${label}training diverged at iteration ${history.length} (train RMSE ${last.trainRmse}); lower the learning rate or raise lambda`);
  }
  const kept = history[r.bestIter - 1];
  model.training.iterations = history.length;
  model.training.trainRmse = kept.trainRmse;
  if (kept.validRmse !== undefined) model.training.validRmse = kept.validRmse;
  return { model, history, backend: backend.name, stoppedEarly: r.stoppedEarly, bestIter: r.bestIter };
}

/**
 * Runs independent fits in one backend call (`fitMany`): the way to submit many small fits, e.g.
 * cross-validation folds or a hyperparameter grid, without paying a backend call per iteration.
 * Results are in spec order and identical to fitting each spec alone with {@link runFit}.
 *
 * @throws CollabperfError E_ABORTED when `hooks.signal` fires (no partial results); E_NUMERIC
 *   when a fit diverges (the message names the fit) or an ALS system is singular.
 */
export async function runFits(specs: readonly FitSpec[], backend: KernelBackend, hooks: RunFitsHooks = {}): Promise<FitResult[]> {
  const { signal } = hooks;
  if (signal?.aborted) throw aborted();
  const cancel = new Int32Array(1);
  const models = specs.map((s) => initialModel(s, backend));
  const jobs: FitJob[] = specs.map((s, i) => ({
    problem: s.problem,
    model: models[i],
    options: kernelOptions(s.options, cancel),
    algo: s.options.algo,
    iters: s.options.iters,
    validation: s.validation ? { rows: s.validation.rows, cols: s.validation.cols, values: s.validation.values, weights: s.validation.weights } : null,
    earlyStopping: s.earlyStopping !== false,
    patience: s.options.patience,
    minDelta: s.options.minDelta,
  }));
  const onAbort = (): void => {
    cancel[0] = 1;
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  let results: FitJobResult[];
  try {
    results = await backend.fitMany(jobs, hooks.onProgress);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (signal?.aborted || results.some((r) => r.status === 'aborted')) throw aborted();
  return results.map((r, i) => toResult(specs[i], models[i], r, backend, specs.length === 1 ? '' : `fit ${i + 1} of ${specs.length}: `));
}

/**
 * One fit on an already built problem (used by {@link fit} and by callers that reuse one problem,
 * e.g. the CLI and benchmarks): a batch of one through {@link runFits}. `onProgress` receives
 * every iteration's report after the backend call; `onBatchProgress` follows it live.
 */
export async function runFit(
  problem: KernelProblem,
  o: ResolvedFitOptions,
  backend: KernelBackend,
  validation: Entries | null,
  hooks: Pick<FitOptions, 'onProgress' | 'onBatchProgress' | 'signal' | 'earlyStopping'> = {},
): Promise<FitResult> {
  const [r] = await runFits([{ problem, options: o, validation, earlyStopping: hooks.earlyStopping }], backend, { signal: hooks.signal, onProgress: hooks.onBatchProgress });
  if (hooks.onProgress) for (const rep of r.history) hooks.onProgress(rep);
  return r;
}
