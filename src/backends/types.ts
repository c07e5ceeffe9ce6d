/**
 * The kernel contract shared by every backend (see docs/kernels.md). `fitMany` runs whole fits
 * (batched); the one-iteration kernels remain as building blocks and for backends without it.
 */

/** Sparse observed entries, in CSR (by row) and CSC (by column) form. Read-only for kernels. */
export interface KernelProblem {
  nRows: number;
  nCols: number;
  nnz: number;
  /** nRows+1 offsets into the CSR arrays; entries inside a row sorted by column. */
  rowPtr: Int32Array;
  /** Row of each CSR entry. */
  rowIdx: Int32Array;
  /** Column of each CSR entry. */
  colIdx: Int32Array;
  /** Float32Array when the ratings came as one: kept in float32, read widened to double. */
  value: Float64Array | Float32Array;
  /** Per-entry weights in CSR order; null means all 1. */
  weight: Float64Array | null;
  /** nCols+1 offsets into the CSC arrays; entries inside a column sorted by row. */
  colPtr: Int32Array;
  cscRow: Int32Array;
  /** Same type as `value`. */
  cscValue: Float64Array | Float32Array;
  cscWeight: Float64Array | null;
}

/**
 * Storage of a model's parameters: float64, or float32 (half the memory; explicit and implicit ALS,
 * SGD in both modes, see docs/kernels.md "float32 factors"). The four arrays of one model share one type.
 */
export type FactorArray = Float64Array | Float32Array;

/**
 * Model parameters, mutated in place by kernels. `A` is the storage: kernels accept either
 * (`KernelModel<FactorArray>`); the default keeps float64-only callers typed as before.
 */
export interface KernelModel<A extends FactorArray = Float64Array> {
  k: number;
  mu: number;
  /** nRows*k, row-major. */
  U: A;
  /** nCols*k, row-major. */
  V: A;
  rowBias: A;
  colBias: A;
}

/** A model of either storage, what kernels take. */
export type AnyKernelModel = KernelModel<FactorArray>;

export type SgdMode = 'deterministic' | 'parallel';

/** How an implicit-feedback value r >= 0 becomes a confidence (Hu, Koren & Volinsky 2008). */
export type ConfidenceKind = 'linear' | 'log';

/** Per-row solver of implicit ALS: the exact Cholesky solve, or conjugate gradient with a fixed number of steps. */
export type ImplicitSolver = 'cholesky' | 'cg';

/**
 * Implicit-feedback ALS settings (job algo `'ials'`). An entry with value r > 0 has preference 1 and
 * confidence `1 + alpha * r` ('linear') or `1 + alpha * log(1 + r / epsilon)` ('log'); every other
 * cell, observed with r = 0 or not observed at all, has preference 0 and confidence 1.
 */
export interface ImplicitOptions {
  alpha: number;
  confidence: ConfidenceKind;
  /** Scale of the 'log' confidence (unused by 'linear'). */
  epsilon: number;
  solver: ImplicitSolver;
  /** CG steps per row and sweep, warm-started from the current factors (solver 'cg'). */
  cgSteps: number;
}

export interface KernelOptions {
  useBias: boolean;
  lambda: number;
  lambdaBias: number;
  /** ALS only: scale lambda and lambdaBias by the row's/column's entry count. */
  weightedLambda: boolean;
  threads: number;
  learningRate: number;
  lrDecay: number;
  seed: number;
  sgdMode: SgdMode;
  /** Length-1 flag; a kernel returns 'aborted' soon after cancel[0] becomes non-zero. */
  cancel: Int32Array | null;
  /** Required by (and only read by) jobs with algo 'ials'. */
  implicit?: ImplicitOptions;
}

export type KernelStatus = 'ok' | 'aborted';

export interface LossSums {
  /** Sum over entries of w * (y - pred)^2. */
  sse: number;
  /** Sum of weights. */
  wsum: number;
  /**
   * Implicit ALS only: the whole objective the sweeps minimise, `sse` (over every cell of the
   * matrix) plus the L2 terms. Exact sweeps never increase it.
   */
  objective?: number;
}

/** What `collabperf info` and `backendInfo()` print about a backend. */
export interface BackendDetails {
  name: BackendName;
  /** Linear algebra in use, e.g. "OpenBLAS 0.3.21 (Haswell)" or "TypeScript loops". */
  blas: string;
  /** Threads the BLAS itself uses inside one call (the kernels split rows across their own threads). */
  blasThreads: number;
  /** Threads the kernels may use. */
  maxThreads: number;
  /** Where the addon was loaded from, for native. */
  path?: string;
  /** Whether SGD's parallel (block-scheduled) mode is available. */
  parallelSgd: boolean;
  /** Whether `fitMany` runs jobs with algo 'ials' (implicit ALS); absent means no. */
  implicitAls?: boolean;
  /** Whether `alsSweep`, `trainLoss` and `fitMany` (algo 'als') take float32 models; absent means no. */
  float32Als?: boolean;
  /**
   * Whether SGD (`sgdEpoch`, `fitMany` algo 'sgd') takes float32 models, in deterministic mode and,
   * where `parallelSgd`, in parallel mode; absent means no.
   */
  float32Sgd?: boolean;
}

/** The built-in backends, or the name a third party registered with `registerBackend`. */
export type BackendName = 'native' | 'ts' | (string & {});

/** Held-out entries a whole fit reports RMSE on after every iteration and may stop early on. */
export interface KernelValidation {
  rows: Int32Array;
  cols: Int32Array;
  values: Float64Array;
  /** null means all 1. */
  weights: Float64Array | null;
}

/**
 * One whole fit: the iteration loop (ALS sweeps or SGD epochs, the training loss after each, the
 * validation RMSE, early stopping with patience that keeps the best iteration) run inside one
 * backend call. `model` arrives initialised (initFactors, mu) and leaves holding the kept iteration.
 */
export interface FitJob<A extends FactorArray = Float64Array> {
  problem: KernelProblem;
  /** float32 storage (Float32Array arrays) with any algo, where the backend's details say so. */
  model: KernelModel<A>;
  options: KernelOptions;
  /** 'ials' is implicit-feedback ALS (options.implicit), run only by backends whose details say `implicitAls`. */
  algo: 'als' | 'sgd' | 'ials';
  /** Iterations to run at most, >= 1. */
  iters: number;
  validation: KernelValidation | null;
  /** With validation: stop after `patience` iterations without an improvement of more than minDelta. */
  earlyStopping: boolean;
  patience: number;
  minDelta: number;
  /**
   * false: the training loss is computed once, on the model the fit keeps (its iteration's
   * `trainRmse`; every other iteration reports NaN), not after every iteration; a non-finite model
   * is then caught only at the end. For fits whose history nobody reads: at small ranks the loss
   * pass costs a third of an ALS sweep. Absent means true.
   */
  trackLoss?: boolean;
}

/** Per-iteration figures of a whole fit, in order. */
export interface FitJobIteration {
  /** Weighted training RMSE after the iteration. */
  trainRmse: number;
  /** Validation RMSE after the iteration (NaN without validation). */
  validRmse: number;
  /** Seconds the iteration took. */
  seconds: number;
  /** Implicit ALS: the objective after the iteration (see LossSums.objective). */
  objective?: number;
}

export interface FitJobResult {
  /** 'aborted' when options.cancel was raised; 'diverged' when the training RMSE became non-finite. */
  status: KernelStatus | 'diverged';
  history: FitJobIteration[];
  /** 1-based iteration whose parameters the model holds (the best on validation, else the last). */
  bestIter: number;
  stoppedEarly: boolean;
}

/** Progress of a batch: how many iterations have finished over all jobs, sent at most every ~100 ms. */
export interface BatchProgress {
  jobsDone: number;
  jobs: number;
  /** The last finished iteration of each job so far (0 = not started). */
  itersDone: Int32Array;
}

/** The model a backend's {@link KernelBackend.recommendMany} scores: a KernelModel plus its shape. */
export interface RecommendModel extends KernelModel<FactorArray> {
  nRows: number;
  nCols: number;
}

/** Options of {@link KernelBackend.recommendMany}. */
export interface RecommendBatchOptions {
  /** Threads, 1..1024 (clamped to the backend's pool). */
  threads: number;
  /** Per-model-row excluded columns, CSR (nRows+1 offsets into excludeIdx): the known columns. */
  excludePtr?: Int32Array;
  excludeIdx?: Int32Array;
  /** Columns excluded for every row. */
  exclude?: Int32Array;
}

/**
 * Top columns of a batch: row q's are `idx[q*width .. q*width + count[q])`, best first, with their
 * scores in `score` at the same positions; `width` is min(n, nCols).
 */
export interface RecommendBatch {
  idx: Int32Array;
  score: Float64Array;
  count: Int32Array;
  width: number;
}

/**
 * The candidate rows of a nearest-rows search ({@link KernelBackend.nearestRows}), task-major:
 * `zt[t * nCand + i]` is candidate i's value on column t (0 where it has none), `wt` the same
 * positions' presence (1 or 0).
 */
export interface NeighbourTable {
  nCand: number;
  nCols: number;
  zt: Float64Array;
  wt: Float64Array;
}

/**
 * The query rows of a nearest-rows search: `query` is nQuery x nCols (NaN where a row has no
 * value); a candidate counts for query q when it shares at least `need[q]` columns with it and is
 * not position `self[q]` (-1: none).
 */
export interface NeighbourQueries {
  query: Float64Array;
  need: Int32Array;
  self: Int32Array;
}

/**
 * The nearest candidates of each query: query q's are `idx[q*L .. q*L + count[q])` with their
 * distances in `dist`, ascending by (distance, position); `finite[q]` counts its candidates at a
 * finite distance (so `count[q] = min(L, finite[q])`).
 */
export interface NearestRows {
  idx: Int32Array;
  dist: Float64Array;
  count: Int32Array;
  finite: Int32Array;
}

/**
 * The candidates of a similarity search ({@link KernelBackend.neighbourWeights}), candidate-major:
 * `resid[i * nCols + t]` is candidate i's value on column t (0 where it has none), `mask` the same
 * positions' presence (1 or 0).
 */
export interface SimilarityTable {
  nCand: number;
  nCols: number;
  resid: Float64Array;
  mask: Float64Array;
}

/**
 * What a similarity search asks: query rows (nQuery x nCols, NaN where missing), each leaving out
 * candidate `self[q]` (-1: none); the cells `cellTask[cellPtr[q] .. cellPtr[q+1])` of query q; the
 * overlap shrinkages `betas`, the fewest shared columns `minOverlap`, and at most `kMax` neighbours.
 */
export interface SimilarityQueries {
  rows: Float64Array;
  self: Int32Array;
  cellPtr: Int32Array;
  cellTask: Int32Array;
  betas: Float64Array;
  minOverlap: number;
  kMax: number;
}

/**
 * Per cell c and shrinkage b (slot s = c * betas.length + b): its `found[s]` best neighbours'
 * positions `idx[s*kMax ..]` and shrunk similarities `w[s*kMax ..]`, best first.
 */
export interface NeighbourWeights {
  idx: Int32Array;
  w: Float64Array;
  found: Int32Array;
}

/** One backend: the kernels with the same signature in every implementation. */
export interface KernelBackend {
  readonly name: BackendName;
  /** Accepts float32 storage (all four arrays Float32Array). */
  alsSweep(problem: KernelProblem, model: AnyKernelModel, options: KernelOptions): Promise<KernelStatus>;
  /** Accepts float32 storage (`float32Sgd`), in either mode. */
  sgdEpoch(problem: KernelProblem, model: AnyKernelModel, options: KernelOptions, epoch: number): Promise<KernelStatus>;
  /** Accepts float32 storage. */
  trainLoss(problem: KernelProblem, model: AnyKernelModel, options: KernelOptions): Promise<LossSums>;
  /**
   * Runs independent whole fits in one call; results in job order, identical whatever the thread
   * count. Small jobs may run side by side on the backend's threads, large ones one at a time with
   * their own threads. A job that fails rejects the whole call with its CollabperfError.
   */
  fitMany(jobs: FitJob<FactorArray>[], onProgress?: (p: BatchProgress) => void): Promise<FitJobResult[]>;
  details(): BackendDetails;
  /**
   * Optional: the top n columns of many rows at once (dense rows), with FactorModel.recommend's
   * scores and tie order bit for bit, whatever the thread count. Synchronous. Backends without it
   * leave FactorModel.recommendMany on its TypeScript loop.
   */
  recommendMany?(model: RecommendModel, rows: Int32Array, n: number, options: RecommendBatchOptions): RecommendBatch;
  /**
   * Optional (the TypeScript backend has it; callers fall back to it): the L nearest candidates of
   * each query by the mean squared difference over shared columns (docs/kernels.md, "Nearest
   * rows"), synchronous, the same bits on every backend and thread count.
   */
  nearestRows?(table: NeighbourTable, queries: NeighbourQueries, L: number, options: { threads: number }): NearestRows;
  /**
   * Optional (the TypeScript backend has it; callers fall back to it): for each query cell, the
   * most similar candidates having its column, by shrunk cosine similarity over shared columns
   * (docs/kernels.md, "Neighbour weights"), synchronous, the same bits on every backend.
   */
  neighbourWeights?(table: SimilarityTable, queries: SimilarityQueries, options: { threads: number }): NeighbourWeights;
}
