import { CollabperfError } from '../errors.js';
import { chooseBackend, getBackend } from '../backends/registry.js';
import { Rng } from '../numeric/rng.js';
import type { BatchProgress, FactorArray, FitJob, FitJobResult, KernelBackend, KernelOptions, KernelProblem } from '../backends/types.js';
import { denseFromStrings, IdIndex, isStringRatings, type IdList, type StringRatings } from './ids.js';
import { buildImplicitProblem } from './duplicates.js';
import { FactorModel } from './model.js';
import { resolveFitOptions, type FitOptions, type IterationReport, type ResolvedFitOptions } from './options.js';
import { buildProblem, checkMemoryBudget, remapIds, toEntries, type Entries, type IdMap, type RatingsInput, type SparseRatings } from './ratings.js';

/** Which backend ran a fit, and why (auto's rule, a request, or a fallback). */
export interface FitBackendReport {
  name: string;
  reason: string;
}

/** The outcome of {@link fit}. */
export interface FitResult<Id extends number | string = number> {
  model: FactorModel<Id>;
  /** One report per iteration run. */
  history: IterationReport[];
  /** The backend that ran the kernels. */
  backend: string;
  /**
   * Why that backend: the choice's reason, or the fallback (an implicit fit asked of a backend that
   * cannot run implicit ALS runs on TypeScript, and this says so).
   */
  backendReport: FitBackendReport;
  /** True when validation stopped the fit before `iters`. */
  stoppedEarly: boolean;
  /** The iteration whose model was kept (the best on validation, else the last). */
  bestIter: number;
  /**
   * Implicit fits: how many input entries named a cell already given and were added into it (an
   * interaction log's repeated plays). Always 0 for explicit fits, where a repeated cell is an error.
   */
  summedDuplicates: number;
}

/**
 * Fills U then V with uniform values in ±initScale/sqrt(k) from Rng(seed, 0), the one
 * initialisation both backends start from (docs/kernels.md). Float32Arrays receive each value
 * rounded to float32.
 */
export function initFactors(U: FactorArray, V: FactorArray, k: number, seed: number, initScale: number): void {
  const rng = new Rng(seed, 0);
  const s = (2 * initScale) / Math.sqrt(k);
  for (let i = 0; i < U.length; i++) U[i] = (rng.nextDouble() - 0.5) * s;
  for (let i = 0; i < V.length; i++) V[i] = (rng.nextDouble() - 0.5) * s;
}

function weightedMean(values: Float64Array | Float32Array, weights: Float64Array | null): number {
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
  const implicit = o.implicit ? { implicit: { alpha: o.alpha, confidence: o.confidence, epsilon: o.epsilon, solver: o.solver, cgSteps: o.cgSteps } } : {};
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
    ...implicit,
  };
}

function aborted(): CollabperfError {
  return new CollabperfError('E_ABORTED', 'the fit was cancelled');
}

/** Ratings with their id maps, ready to build a problem. */
interface Prepared {
  entries: Entries;
  rowIds: IdList | null;
  colIds: IdList | null;
}

/** Turns any accepted input into dense entries: string ids mapped, sparse integer ids remapped on request. */
function prepare(input: RatingsInput | StringRatings, o: FitOptions, rank: number): Prepared {
  const limits = { maxBytes: o.maxBytes, rank };
  if (isStringRatings(input)) {
    const d = denseFromStrings(input);
    const entries = toEntries({ rows: d.rows, cols: d.cols, values: d.values, weights: d.weights, nRows: d.nRows, nCols: d.nCols }, 'ratings', limits);
    return { entries, rowIds: d.rowIds.ids, colIds: d.colIds.ids };
  }
  if (o.remapIds === true) {
    if ((input as { dense?: unknown }).dense !== undefined) throw new CollabperfError('E_INVALID_ARGUMENT', 'remapIds applies to sparse { rows, cols, values } input', { field: 'remapIds' });
    const sparse = input as SparseRatings;
    // The ids are sparse by assumption: check them without the budget, which their maximum would break.
    const raw = toEntries({ rows: sparse.rows, cols: sparse.cols, values: sparse.values, weights: sparse.weights }, 'ratings', { maxBytes: Infinity });
    const m = remapIds(raw.rows, raw.cols);
    const nRows = m.map.rowIds.length;
    const nCols = m.map.colIds.length;
    checkMemoryBudget(nRows, nCols, raw.rows.length, limits, raw.weights !== null, `ratings: ${nRows} distinct row ids, ${nCols} distinct column ids`);
    return { entries: { ...raw, rows: m.rows, cols: m.cols, nRows, nCols }, rowIds: m.map.rowIds, colIds: m.map.colIds };
  }
  return { entries: toEntries(input, 'ratings', limits), rowIds: null, colIds: null };
}

/** Validation entries in the training data's ids. */
function validationFor(input: RatingsInput | StringRatings, p: Prepared, nRows: number, nCols: number): Entries {
  if (p.rowIds !== null && p.colIds !== null) {
    if (isStringRatings(input)) {
      const d = denseFromStrings(input, 'validation', { rows: new IdIndex(p.rowIds), cols: new IdIndex(p.colIds) });
      return toEntries({ rows: d.rows, cols: d.cols, values: d.values, weights: d.weights, nRows, nCols }, 'validation');
    }
    const raw = toEntries(input, 'validation', { maxBytes: Infinity });
    const m = remapIds(raw.rows, raw.cols, { rowIds: p.rowIds, colIds: p.colIds } as IdMap, 'validation');
    return { ...raw, rows: m.rows, cols: m.cols, nRows, nCols };
  }
  if (isStringRatings(input)) throw new CollabperfError('E_INVALID_ARGUMENT', 'validation has string ids, the training data has none');
  return validationEntries(input, nRows, nCols);
}

/**
 * Factorizes a sparse matrix with ALS or SGD, or implicit feedback with implicit ALS
 * (`implicit: true`), on the chosen backend. The whole fit is one backend call (native: off the
 * main thread; TypeScript: in slices that yield to the event loop); early stopping and cancellation
 * behave the same on both, and `onProgress` receives every iteration's report once the fit has run
 * (`onBatchProgress` follows it live).
 *
 * Input is `{ rows, cols, values }` of dense indices (with `remapIds: true`, any non-negative
 * integer ids), a dense matrix, or `{ row, col, value }` keyed by string ids; the model then speaks
 * those ids. A fit the chosen backend cannot run (implicit ALS or `dtype: 'float32'` on an
 * addon built before it had them, or a third-party backend without them) runs on TypeScript and
 * says so in `backendReport.reason`; the native addon built from this tree runs both.
 *
 * @example
 * const { model } = await fit({ rows, cols, values }, { algo: 'als', rank: 16, iters: 10 });
 * model.predict(0, 3);
 * const { model: m } = await fit({ row: users, col: items, value: plays }, { implicit: true, rank: 32 });
 * m.recommend('user42', 10); // [{ col: 'item7', score }, ...], the user's own items left out
 */
export async function fit(input: StringRatings, options?: FitOptions): Promise<FitResult<string>>;
export async function fit(input: RatingsInput, options?: FitOptions): Promise<FitResult<number>>;
export async function fit(input: RatingsInput | StringRatings, options: FitOptions = {}): Promise<FitResult<number | string>> {
  const o = resolveFitOptions(options);
  const prepared = prepare(input, options, o.rank);
  const { problem, merged } = o.implicit ? buildImplicitProblem(prepared.entries) : { problem: buildProblem(prepared.entries), merged: 0 };
  const validation = options.validation ? validationFor(options.validation, prepared, problem.nRows, problem.nCols) : null;
  const choice = chooseBackend({ nnz: problem.nnz, rank: o.rank }, options.backend);
  const [r] = await runFits(
    [{ problem, options: o, validation, earlyStopping: options.earlyStopping, rowIds: prepared.rowIds, colIds: prepared.colIds }],
    choice.backend,
    { signal: options.signal, onProgress: options.onBatchProgress, backendReason: choice.reason },
  );
  if (options.onProgress) for (const rep of r.history) options.onProgress(rep);
  return { ...r, summedDuplicates: merged } as FitResult<number | string>;
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
  /** External ids of the problem's rows and columns, kept in the model. */
  rowIds?: IdList | null;
  colIds?: IdList | null;
  /**
   * Factors to start from instead of {@link initFactors} (copied; nRows*rank and nCols*rank values,
   * row-major): a warm start, or a caller's own random start. Biases still start at 0.
   */
  start?: { U: ArrayLike<number>; V: ArrayLike<number> };
  /**
   * false: no training loss after each iteration, only one on the model kept (the history's other
   * `trainRmse` are NaN); for fits whose history is not read. Default true.
   */
  trackLoss?: boolean;
}

/** Hooks of {@link runFits}. */
export interface RunFitsHooks {
  /** Cancels every fit of the batch; it rejects with E_ABORTED. */
  signal?: AbortSignal;
  /** Live progress over the whole batch, at most every ~100 ms. */
  onProgress?: (p: BatchProgress) => void;
  /** Why `backend` was chosen, for the results' backendReport (default "chosen by the caller"). */
  backendReason?: string;
}

/** The model a spec starts from: initFactors, the weighted mean when biases are on, zero biases. */
function initialModel(spec: FitSpec, backend: KernelBackend): FactorModel {
  const { problem, options: o } = spec;
  const k = o.rank;
  const F = o.dtype === 'float32' ? Float32Array : Float64Array;
  const U = new F(problem.nRows * k);
  const V = new F(problem.nCols * k);
  if (spec.start) {
    U.set(spec.start.U);
    V.set(spec.start.V);
  } else {
    initFactors(U, V, k, o.seed, o.initScale);
  }
  const mu = o.useBias ? weightedMean(problem.value, problem.weight) : 0;
  // The training column sets are the problem's own CSR arrays: shared, not copied.
  return new FactorModel(
    problem.nRows,
    problem.nCols,
    k,
    mu,
    U,
    V,
    new F(problem.nRows),
    new F(problem.nCols),
    { options: o, backend: backend.name, iterations: 0, trainRmse: NaN },
    { known: { ptr: problem.rowPtr, cols: problem.colIdx }, rowIds: spec.rowIds ?? null, colIds: spec.colIds ?? null },
  );
}

function toResult(spec: FitSpec, model: FactorModel, r: FitJobResult, backend: KernelBackend, report: FitBackendReport, label: string): FitResult {
  const iters = spec.options.iters;
  let elapsed = 0;
  const history: IterationReport[] = r.history.map((h, i) => {
    elapsed += h.seconds;
    const rep: IterationReport = { iter: i + 1, iters, trainRmse: h.trainRmse, seconds: h.seconds, elapsed };
    if (spec.validation) rep.validRmse = h.validRmse;
    if (h.objective !== undefined) rep.objective = h.objective;
    return rep;
  });
  if (r.status === 'diverged') {
    const last = history[history.length - 1];
    const when = spec.trackLoss === false ? `by iteration ${history.length} (train RMSE of the kept model ${history[r.bestIter - 1].trainRmse})` : `at iteration ${history.length} (train RMSE ${last.trainRmse})`;
    throw new CollabperfError('E_NUMERIC', `${label}training diverged ${when}; lower the learning rate or raise lambda`);
  }
  const kept = history[r.bestIter - 1];
  model.training.iterations = history.length;
  model.training.trainRmse = kept.trainRmse;
  if (kept.validRmse !== undefined) model.training.validRmse = kept.validRmse;
  return { model, history, backend: backend.name, backendReport: report, stoppedEarly: r.stoppedEarly, bestIter: r.bestIter, summedDuplicates: 0 };
}

/**
 * Cancel flags of the batches running under each signal. One 'abort' listener per signal however
 * many fits share it: an ensemble's candidates and a fold runner's folds run a dozen fits at once
 * under one signal, and Node warns of a leak past ten listeners.
 */
const cancelFlags = new WeakMap<AbortSignal, Set<Int32Array>>();

/** Raises `cancel` when `signal` aborts; returns the function that stops watching. */
function watchAbort(signal: AbortSignal, cancel: Int32Array): () => void {
  let flags = cancelFlags.get(signal);
  if (!flags) {
    const set = new Set<Int32Array>();
    flags = set;
    cancelFlags.set(signal, set);
    signal.addEventListener('abort', () => set.forEach((c) => (c[0] = 1)), { once: true });
  }
  const mine = flags;
  mine.add(cancel);
  return () => {
    mine.delete(cancel);
  };
}

/**
 * Runs independent fits in one backend call (`fitMany`): the way to submit many small fits, e.g.
 * cross-validation folds or a hyperparameter grid, without paying a backend call per iteration.
 * Results are in spec order and identical to fitting each spec alone with {@link runFit}.
 *
 * @throws CollabperfError E_ABORTED when `hooks.signal` fires (no partial results); E_NUMERIC
 *   when a fit diverges (the message names the fit) or an ALS system is singular.
 */
export async function runFits(specs: readonly FitSpec[], chosen: KernelBackend, hooks: RunFitsHooks = {}): Promise<FitResult[]> {
  const { signal } = hooks;
  if (signal?.aborted) throw aborted();
  for (const [i, s] of specs.entries()) {
    const where = specs.length === 1 ? '' : `fit ${i + 1} of ${specs.length}: `;
    if (s.start) {
      const k = s.options.rank;
      if (s.start.U.length !== s.problem.nRows * k || s.start.V.length !== s.problem.nCols * k) {
        throw new CollabperfError('E_INVALID_ARGUMENT', `${where}start has ${s.start.U.length} and ${s.start.V.length} factor values, the problem needs ${s.problem.nRows * k} (nRows x rank) and ${s.problem.nCols * k} (nCols x rank)`, { field: 'start' });
      }
    }
    if (!s.options.implicit) continue;
    if (s.validation) throw new CollabperfError('E_INVALID_ARGUMENT', `${where}implicit ALS has no RMSE to validate on; evaluate held-out interactions with the ranking metrics instead`, { field: 'validation' });
    if (s.problem.weight !== null) throw new CollabperfError('E_INVALID_ARGUMENT', `${where}implicit ALS takes no weights: the values set the confidence`, { field: 'weights' });
    const v = s.problem.value;
    for (let e = 0; e < v.length; e++) {
      if (v[e] < 0) throw new CollabperfError('E_INVALID_ARGUMENT', `${where}implicit values must be >= 0 (counts or strengths), entry ${e} in row order is ${v[e]}`);
    }
  }
  let backend = chosen;
  let report: FitBackendReport = { name: chosen.name, reason: hooks.backendReason ?? 'chosen by the caller' };
  const lacks = (b: KernelBackend): string | null =>
    specs.some((s) => s.options.implicit) && b.details().implicitAls !== true
      ? 'implicit ALS'
      : specs.some((s) => s.options.dtype === 'float32' && s.options.algo === 'als') && b.details().float32Als !== true
        ? 'float32 ALS'
        : specs.some((s) => s.options.dtype === 'float32' && s.options.algo === 'sgd') && b.details().float32Sgd !== true
          ? 'float32 SGD'
          : null;
  const missing = lacks(chosen);
  if (missing !== null) {
    // A whole batch moves, so that its results still come from one backend call.
    backend = getBackend('ts');
    if (lacks(backend) !== null) throw new CollabperfError('E_BACKEND_UNAVAILABLE', `neither ${chosen.name} nor ts can run ${missing}`);
    report = { name: backend.name, reason: `${chosen.name} cannot run ${missing}, so this fit ran on ts (${chosen.name} was ${report.reason})` };
  }
  const cancel = new Int32Array(1);
  const models = specs.map((s) => initialModel(s, backend));
  const jobs: FitJob<FactorArray>[] = specs.map((s, i) => ({
    problem: s.problem,
    model: models[i],
    options: kernelOptions(s.options, cancel),
    algo: s.options.implicit ? 'ials' : s.options.algo,
    iters: s.options.iters,
    validation: s.validation ? { rows: s.validation.rows, cols: s.validation.cols, values: Float64Array.from(s.validation.values), weights: s.validation.weights } : null,
    earlyStopping: s.earlyStopping !== false,
    patience: s.options.patience,
    minDelta: s.options.minDelta,
    ...(s.trackLoss === false ? { trackLoss: false } : {}),
  }));
  const unwatch = signal ? watchAbort(signal, cancel) : () => {};
  let results: FitJobResult[];
  try {
    results = await backend.fitMany(jobs, hooks.onProgress);
  } finally {
    unwatch();
  }
  if (signal?.aborted || results.some((r) => r.status === 'aborted')) throw aborted();
  return results.map((r, i) => toResult(specs[i], models[i], r, backend, report, specs.length === 1 ? '' : `fit ${i + 1} of ${specs.length}: `));
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
  hooks: Pick<FitOptions, 'onProgress' | 'onBatchProgress' | 'signal' | 'earlyStopping'> & Pick<FitSpec, 'rowIds' | 'colIds'> & Pick<RunFitsHooks, 'backendReason'> = {},
): Promise<FitResult> {
  const [r] = await runFits([{ problem, options: o, validation, earlyStopping: hooks.earlyStopping, rowIds: hooks.rowIds, colIds: hooks.colIds }], backend, {
    signal: hooks.signal,
    onProgress: hooks.onBatchProgress,
    backendReason: hooks.backendReason,
  });
  if (hooks.onProgress) for (const rep of r.history) hooks.onProgress(rep);
  return r;
}
