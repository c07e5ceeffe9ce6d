/**
 * Cross-validated evaluation of predictors: for every seed, the protocol's folds are drawn, each
 * predictor is fitted on a training view that physically lacks the fold's held-out cells, and its
 * predictions for those cells are scored. Metrics are reported per fold, per seed (pooling the
 * held-out cells of all folds of the seed, so that small folds do not get the weight of large ones)
 * and as mean and standard deviation over seeds.
 */
import { performance } from 'node:perf_hooks';
import { CollabperfError } from '../../errors.js';
import type { Dataset } from '../data/dataset.js';
import type { FittedPredictor, PredictContext, Predictor } from '../predictors/types.js';
import { cellsOf, type Cells } from '../data/observed-cells.js';
import { computeMetrics, METRIC_KEYS, taskScales, type Metrics, type ScoredCells } from './metrics.js';
import { formatProtocol, makeFolds, parseProtocol, type Fold, type ProtocolSpec } from './protocols.js';
import { maskIndices, trainView } from './split.js';
import { runFolds } from '../folds/runner.js';
import { FitCache, memberPredictors } from '../predictors/fit-cache.js';
import { PREDICTORS } from '../predictors/index.js';
import { WORKER_MIN_CELLS } from '../predictors/fit-pool.js';
import { FoldPool, type FoldJob, type FoldOutcome, type FoldWorkerSource } from './fold-pool.js';

/** Options of {@link evaluate}. */
export interface EvaluateOptions {
  /** Which cells to hold out (a {@link ProtocolSpec} or its string). Required unless `split` is given. */
  protocol?: ProtocolSpec | string;
  /**
   * Seeds to run, or how many (`n` → seeds 0..n-1). A seed draws the protocol's folds and is the
   * predictors' `ctx.seed`.
   */
  seeds: number[] | number;
  /**
   * Fixed folds (e.g. from {@link readSplitFile}) instead of drawing them from the protocol. When
   * every fold carries a `seed`, folds are grouped by it and those seeds are run (the `seeds` option
   * is then ignored); otherwise all folds are used for every seed.
   */
  split?: Fold[];
  /** Backend, threads, abort signal for the predictors; the seed comes from `seeds`. */
  ctx?: Omit<PredictContext, 'seed'>;
  /** Called after every fit-and-predict. */
  onProgress?: (p: EvaluateProgress) => void;
  /**
   * Worker threads for the folds of plain-JavaScript methods (see fold-pool.ts): `false` keeps every
   * fit on this thread; `minCells` replaces {@link WORKER_MIN_CELLS} and `source` the built
   * worker (tests). Predictions are the same either way.
   */
  workers?: false | { minCells?: number; source?: FoldWorkerSource };
}

/** Progress of {@link evaluate}. */
export interface EvaluateProgress {
  method: string;
  seed: number;
  /** 1-based fold number within the seed. */
  fold: number;
  folds: number;
  /** Fits finished so far, of `total` (methods × seeds × folds). */
  done: number;
  total: number;
}

/** One fit of one method on one fold. */
export interface FoldResult {
  seed: number;
  /** 1-based fold number within the seed. */
  fold: number;
  description: string;
  trainCells: number;
  testCells: number;
  metrics: Metrics;
  /** Hyperparameters the fitted predictor reports. */
  chosen: Record<string, number | string | boolean>;
  /** Wall time of fit + predict, milliseconds. */
  ms: number;
}

/**
 * Predictions of held-out cells, pooled over fits: one entry per held-out cell per seed and fold,
 * as parallel arrays. Built by {@link poolPredictions} from each fit's held-out {@link Cells}
 * (their `value` becomes `truth`) and the predictions made for them; not observed cells of a table
 * (a cell appears once per seed), so not a {@link Cells}.
 */
export interface CellPredictions extends ScoredCells {
  model: Int32Array;
  seed: Int32Array;
  /** 1-based fold number within the seed. */
  fold: Int32Array;
}

/** What one fit predicted for its held-out cells. */
export interface FoldPredictions {
  cells: Cells;
  /** One prediction per cell of `cells`. */
  prediction: Float64Array;
  seed: number;
  /** 1-based fold number within the seed. */
  fold: number;
}

/** The held-out cells and predictions of several fits as one {@link CellPredictions}, in the order given. */
export function poolPredictions(chunks: readonly FoldPredictions[]): CellPredictions {
  const n = chunks.reduce((a, c) => a + c.cells.value.length, 0);
  const out: CellPredictions = {
    model: new Int32Array(n),
    task: new Int32Array(n),
    truth: new Float64Array(n),
    prediction: new Float64Array(n),
    seed: new Int32Array(n),
    fold: new Int32Array(n),
  };
  let o = 0;
  for (const c of chunks) {
    const m = c.cells.value.length;
    out.model.set(c.cells.model, o);
    out.task.set(c.cells.task, o);
    out.truth.set(c.cells.value, o);
    out.prediction.set(c.prediction, o);
    out.seed.fill(c.seed, o, o + m);
    out.fold.fill(c.fold, o, o + m);
    o += m;
  }
  return out;
}

/** Results of one method. */
export interface MethodResult {
  method: string;
  description: string;
  folds: FoldResult[];
  /** Metrics of each seed over the pooled held-out cells of all its folds. */
  perSeed: Array<{ seed: number; metrics: Metrics }>;
  /** Mean over seeds of each metric (ignoring seeds where the metric is NaN). */
  mean: Metrics;
  /** Sample standard deviation over seeds (NaN with fewer than two seeds with a value). */
  std: Metrics;
  predictions: CellPredictions;
  /**
   * Total wall time of all fits and predictions, milliseconds. A composite method's excludes the
   * member fits it reused from methods evaluated before it (see {@link FitCache}).
   */
  ms: number;
}

/** What {@link evaluate} returns. */
export interface EvaluationResult {
  dataset: string;
  /** Canonical protocol string, or `"split"` for fixed folds without a protocol. */
  protocol: string;
  seeds: number[];
  /** The folds used for each seed (for {@link writeSplitFile}). */
  splits: Array<{ seed: number; folds: Fold[] }>;
  methods: MethodResult[];
}

function invalid(message: string, field?: string): CollabperfError {
  return new CollabperfError('E_INVALID_ARGUMENT', message, { field });
}

/** Seeds from a list (distinct integers) or a count n (seeds 0..n-1); shared by every protocol runner. */
export function resolveSeeds(seeds: number[] | number): number[] {
  if (typeof seeds === 'number') {
    if (!Number.isSafeInteger(seeds) || seeds < 1) throw invalid(`the number of seeds must be a positive integer, got ${seeds}`, 'seeds');
    return Array.from({ length: seeds }, (_, i) => i);
  }
  if (!Array.isArray(seeds) || seeds.length === 0) throw invalid('give at least one seed', 'seeds');
  const seen = new Set<number>();
  for (const s of seeds) {
    if (!Number.isSafeInteger(s)) throw invalid(`seeds must be integers, got ${s}`, 'seeds');
    if (seen.has(s)) throw invalid(`seed ${s} is given twice`, 'seeds');
    seen.add(s);
  }
  return [...seeds];
}

function checkFold(ds: Dataset, f: Fold, where: string): void {
  const nnz = ds.scores.value.length;
  if (f.trainMask.length !== nnz || f.testMask.length !== nnz) {
    throw new CollabperfError('E_LENGTH_MISMATCH', `${where}: masks have ${f.trainMask.length} / ${f.testMask.length} entries but dataset "${ds.name}" has ${nnz} observed cells`);
  }
  let test = 0;
  for (let e = 0; e < nnz; e++) {
    // A cell in both sets would be shown to the predictor and then scored as if unseen.
    if (f.trainMask[e] && f.testMask[e]) throw invalid(`${where}: a cell is in both the training and the test set`, 'split');
    if (f.testMask[e]) test++;
  }
  if (test === 0) throw invalid(`${where}: no held-out cells`, 'split');
}

function splitsFor(ds: Dataset, opts: EvaluateOptions): { protocol: string; splits: Array<{ seed: number; folds: Fold[] }> } {
  if (opts.split) {
    if (opts.split.length === 0) throw invalid('the split has no folds', 'split');
    opts.split.forEach((f, i) => checkFold(ds, f, `split fold ${i + 1}`));
    const label = opts.protocol === undefined ? 'split' : formatProtocol(typeof opts.protocol === 'string' ? parseProtocol(opts.protocol) : opts.protocol);
    const seeded = opts.split.filter((f) => f.seed !== undefined).length;
    if (seeded === opts.split.length) {
      const groups = new Map<number, Fold[]>();
      for (const f of opts.split) {
        const g = groups.get(f.seed!);
        if (g) g.push(f);
        else groups.set(f.seed!, [f]);
      }
      return { protocol: label, splits: [...groups].map(([seed, folds]) => ({ seed, folds })) };
    }
    if (seeded > 0) throw invalid('some folds of the split carry a seed and others do not', 'split');
    return { protocol: label, splits: resolveSeeds(opts.seeds).map((seed) => ({ seed, folds: opts.split! })) };
  }
  if (opts.protocol === undefined) throw invalid('give a protocol or a split', 'protocol');
  const spec = typeof opts.protocol === 'string' ? parseProtocol(opts.protocol) : opts.protocol;
  return { protocol: formatProtocol(spec), splits: resolveSeeds(opts.seeds).map((seed) => ({ seed, folds: makeFolds(ds, spec, seed) })) };
}

/** Mean and sample standard deviation of each metric over a list, skipping NaN values. */
export function summarizeMetrics(list: Metrics[]): { mean: Metrics; std: Metrics } {
  const mean = {} as Metrics;
  const std = {} as Metrics;
  for (const k of METRIC_KEYS) {
    const xs = list.map((m) => m[k]).filter((x) => !Number.isNaN(x));
    const mu = xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
    mean[k] = mu;
    std[k] = xs.length < 2 ? NaN : Math.sqrt(xs.reduce((a, x) => a + (x - mu) * (x - mu), 0) / (xs.length - 1));
  }
  return { mean, std };
}


/** A worker resolves a method by name: only the registered predictor of that name may go there. */
function isRegistered(pred: Predictor): boolean {
  return PREDICTORS.some((p) => p === pred);
}

const trainMaskOf = (m: Fold['trainMask']): Uint8Array => (m instanceof Uint8Array ? m : Uint8Array.from(m, (v) => (v ? 1 : 0)));

let nextFoldJob = 0;

/**
 * Runs `count` fold jobs of `pred` on the pool and maps each outcome through `onResult`; a job the
 * pool hands back (its workers went down) is fitted here by `inline`. Results are in job order; an
 * aborted `signal` stops between fits with E_ABORTED.
 */
async function runOnPool<R>(
  pool: FoldPool,
  pred: Predictor,
  count: number,
  jobOf: (j: number) => Omit<FoldJob, 'id' | 'method'>,
  how: { onResult: (r: FoldOutcome, j: number) => R; inline: (j: number) => Promise<R>; signal?: AbortSignal },
): Promise<R[]> {
  const aborted = (): CollabperfError => new CollabperfError('E_ABORTED', 'evaluation aborted');
  return Promise.all(
    Array.from({ length: count }, async (_, j) => {
      if (how.signal?.aborted) throw aborted();
      const r = await pool.run({ id: nextFoldJob++, method: pred.name, ...jobOf(j) });
      if (how.signal?.aborted) throw aborted();
      return r ? how.onResult(r, j) : how.inline(j);
    }),
  );
}

/** One (seed, fold) of an evaluation: the fold, its position among the seed's folds. */
interface EvalJob {
  seed: number;
  fold: Fold;
  /** 0-based fold index within the seed. */
  f: number;
  folds: number;
}

/** A fold's scores and its predictions, as {@link evaluate} keeps them. */
interface ScoredFold {
  result: FoldResult;
  chunk: FoldPredictions;
}

/**
 * Checks a method's predictions for a fold's held-out cells (one finite value per cell:
 * E_LENGTH_MISMATCH / E_NON_FINITE otherwise, naming the method and cell) and scores them.
 */
function scoreFoldPredictions(
  ds: Dataset,
  scales: ReturnType<typeof taskScales>,
  method: string,
  job: EvalJob,
  cells: Cells,
  prediction: Float64Array,
  chosen: FittedPredictor['chosen'],
  ms: number,
): ScoredFold {
  const { seed, fold, f } = job;
  const { model, task } = cells;
  if (prediction.length !== model.length) {
    throw new CollabperfError('E_LENGTH_MISMATCH', `method "${method}" returned ${prediction.length} predictions for ${model.length} cells`);
  }
  for (let i = 0; i < prediction.length; i++) {
    if (!Number.isFinite(prediction[i])) {
      throw new CollabperfError('E_NON_FINITE', `method "${method}" predicted ${prediction[i]} for (${ds.models[model[i]].name}, ${ds.tasks[task[i]].name}) (seed ${seed}, fold ${f + 1})`);
    }
  }
  const result: FoldResult = {
    seed,
    fold: f + 1,
    description: fold.description,
    trainCells: countSet(fold.trainMask),
    testCells: model.length,
    metrics: computeMetrics(ds, { task, truth: cells.value, prediction }, scales),
    chosen: { ...chosen },
    ms,
  };
  return { result, chunk: { cells, prediction, seed, fold: f + 1 } };
}

/**
 * Evaluate predictors under a protocol (or fixed split) over seeds. Every predictor sees exactly the
 * same folds. Predictions must be finite (`E_NON_FINITE` otherwise, naming the method); an aborted
 * `ctx.signal` stops between fits with `E_ABORTED`.
 */
export async function evaluate(ds: Dataset, predictors: Predictor[], opts: EvaluateOptions): Promise<EvaluationResult> {
  if (predictors.length === 0) throw invalid('give at least one method to evaluate', 'method');
  const names = new Set<string>();
  for (const p of predictors) {
    if (names.has(p.name)) throw invalid(`method "${p.name}" is given twice`, 'method');
    names.add(p.name);
  }
  const { protocol, splits } = splitsFor(ds, opts);
  const scales = taskScales(ds);
  const total = predictors.length * splits.reduce((a, s) => a + s.folds.length, 0);
  const signal = opts.ctx?.signal;

  interface Acc {
    folds: FoldResult[];
    perSeed: Array<{ seed: number; metrics: Metrics }>;
    chunks: FoldPredictions[];
    ms: number;
  }
  const acc: Acc[] = predictors.map(() => ({ folds: [], perSeed: [], chunks: [], ms: 0 }));
  let done = 0;

  // Every (seed, fold) of one method goes through the fold runner together; methods run one after
  // the other so that each one's seconds are its own.
  const jobs: EvalJob[] = splits.flatMap(({ seed, folds }) => folds.map((fold, f) => ({ seed, fold, f, folds: folds.length })));
  const held = jobs.map(({ fold }) => cellsOf(ds, maskIndices(ds, fold.testMask)));
  // When composite methods (ensemble, stack) run with their members, each fold's member fits are
  // made once and shared through a FitCache, which needs every method of a fold to see the same
  // training view object; otherwise each fit gets its own view, so that a predictor could not
  // disturb another's input even if it wrote to it.
  const members = memberPredictors(predictors);
  const fitCache = members.size > 0 ? new FitCache(members) : undefined;
  const views: Dataset[] = [];
  const viewOf = (j: number): Dataset => (fitCache ? (views[j] ??= trainView(ds, jobs[j].fold.trainMask)) : trainView(ds, jobs[j].fold.trainMask));
  // A method whose fits are plain JavaScript spreads its folds over worker threads on a large
  // enough table (fold-pool.ts), unless a composite evaluated with it needs its fits in the cache.
  const workers = opts.workers === false ? undefined : (opts.workers ?? {});
  const offThread = (pred: Predictor): boolean =>
    workers !== undefined &&
    pred.portable === true &&
    !members.has(pred) &&
    isRegistered(pred) &&
    jobs.length >= 2 &&
    ds.scores.value.length >= (workers.minCells ?? WORKER_MIN_CELLS);
  let pool: FoldPool | null | undefined;
  try {
    for (let p = 0; p < predictors.length; p++) {
      const pred = predictors[p];
      const t0 = performance.now();
      const scoreFold = (prediction: Float64Array, chosen: FittedPredictor['chosen'], j: number, ms: number): ScoredFold => {
        const scored = scoreFoldPredictions(ds, scales, pred.name, jobs[j], held[j], prediction, chosen, ms);
        done++;
        opts.onProgress?.({ method: pred.name, seed: jobs[j].seed, fold: jobs[j].f + 1, folds: jobs[j].folds, done, total });
        return scored;
      };
      const fitHere = (fitted: FittedPredictor, j: number, ms: number) =>
        scoreFold(Float64Array.from(fitted.predict(Int32Array.from(held[j].model), Int32Array.from(held[j].task))), fitted.chosen, j, ms);
      const ctxOf = (j: number): PredictContext => ({ ...opts.ctx, seed: jobs[j].seed, ...(fitCache ? { fitCache } : {}) });
      if (offThread(pred) && pool === undefined) pool = FoldPool.open(ds, workers?.source ? { source: workers.source } : {});
      const results = offThread(pred) && pool
        ? await runOnPool(pool, pred, jobs.length, (j) => ({ seed: jobs[j].seed, trainMask: trainMaskOf(jobs[j].fold.trainMask), model: held[j].model, task: held[j].task }), {
            onResult: (r, j) => scoreFold(r.prediction, r.chosen, j, r.ms),
            inline: async (j) => {
              const t = performance.now();
              return fitHere(await pred.fit(viewOf(j), ctxOf(j)), j, performance.now() - t);
            },
            signal,
          })
        : await runFolds(
            fitCache ? { ...pred, fit: (train: Dataset, ctx: PredictContext) => fitCache.fit(pred, train, ctx) } : pred,
            jobs.length,
            (j) => ({ train: viewOf(j), ctx: ctxOf(j) }),
            (fitted, j, ms) => fitHere(fitted, j, ms),
            { signal, what: 'evaluation' },
          );
      acc[p].ms = performance.now() - t0;
      for (const r of results) {
        acc[p].folds.push(r.result);
        acc[p].chunks.push(r.chunk);
      }
      for (const { seed } of splits) {
        const pooled = poolPredictions(acc[p].chunks.filter((c) => c.seed === seed));
        acc[p].perSeed.push({ seed, metrics: computeMetrics(ds, pooled, scales) });
      }
    }
  } finally {
    await pool?.close();
  }

  return {
    dataset: ds.name,
    protocol,
    seeds: splits.map((s) => s.seed),
    splits,
    methods: predictors.map((pred, p) => {
      const { mean, std } = summarizeMetrics(acc[p].perSeed.map((s) => s.metrics));
      return { method: pred.name, description: pred.description, folds: acc[p].folds, perSeed: acc[p].perSeed, mean, std, predictions: poolPredictions(acc[p].chunks), ms: acc[p].ms };
    }),
  };
}

function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * The per-cell predictions of an evaluation as CSV with a header:
 * `method,seed,fold,model,task,truth,prediction` (names quoted when needed; numbers in full
 * precision, on each task's own scale). `ds` is the evaluated dataset (for names).
 */
export function predictionsCsv(result: EvaluationResult, ds: Dataset): string {
  const lines = ['method,seed,fold,model,task,truth,prediction'];
  for (const m of result.methods) {
    const p = m.predictions;
    const method = csvField(m.method);
    for (let i = 0; i < p.truth.length; i++) {
      lines.push(`${method},${p.seed[i]},${p.fold[i]},${csvField(ds.models[p.model[i]].name)},${csvField(ds.tasks[p.task[i]].name)},${p.truth[i]},${p.prediction[i]}`);
    }
  }
  return lines.join('\n') + '\n';
}

/** A JSON-friendly view of an {@link EvaluationResult} (for `--json`). */
export interface EvaluationSummary {
  dataset: string;
  protocol: string;
  seeds: number[];
  methods: Array<{
    method: string;
    description: string;
    mean: Metrics;
    std: Metrics;
    perSeed: Array<{ seed: number; metrics: Metrics }>;
    folds: FoldResult[];
    ms: number;
  }>;
}

/**
 * The result without fold masks and per-cell predictions, which are large and serialise badly
 * (typed arrays become objects keyed by index); NaN metrics become `null` under `JSON.stringify`.
 */
export function evaluationSummary(result: EvaluationResult): EvaluationSummary {
  return {
    dataset: result.dataset,
    protocol: result.protocol,
    seeds: [...result.seeds],
    methods: result.methods.map((m) => ({ method: m.method, description: m.description, mean: m.mean, std: m.std, perSeed: m.perSeed, folds: m.folds, ms: m.ms })),
  };
}

function countSet(mask: Uint8Array): number {
  let n = 0;
  for (let e = 0; e < mask.length; e++) if (mask[e]) n++;
  return n;
}
