/**
 * Evaluation of prediction intervals on held-out cells: empirical coverage and mean width, for the
 * adaptive conformal intervals of {@link withIntervals} and for the baseline of one global residual
 * quantile, under the same protocols and folds as {@link evaluate}.
 */
import { performance } from 'node:perf_hooks';
import { CollabperfError } from '../../errors.js';
import type { Dataset } from '../data/dataset.js';
import { taskScales, type TaskScales } from '../eval/metrics.js';
import { poolPredictions, resolveSeeds, type CellPredictions, type FoldPredictions } from '../eval/evaluate.js';
import { formatProtocol, makeFolds, parseProtocol, type ProtocolSpec } from '../eval/protocols.js';
import { heldOutCells, trainView } from '../eval/split.js';
import { runFolds, type FoldRunOptions } from '../folds/runner.js';
import { clipRanges } from '../predictors/baseline-shared.js';
import type { PredictContext, Predictor } from '../predictors/types.js';
import { checkLevel, DEFAULT_INTERVAL_FOLDS, DEFAULT_LEVEL, withIntervals, type IntervalOptions } from './intervals.js';

/** Coverage and width of intervals over a set of cells. */
export interface IntervalMetrics {
  /** Number of cells. */
  n: number;
  /** Share of cells whose truth lies in [lower, upper] (NaN without cells). */
  coverage: number;
  /** Mean of upper - lower on each task's own scale. */
  meanWidth: number;
  /** Mean width on the 0–100 scale of each task (NaN when no task scales were given). */
  meanWidth100: number;
  /** Median width on the 0–100 scale (NaN when no task scales were given). */
  medianWidth100: number;
}

/**
 * Coverage and mean width of intervals. With `norm` (the cells' task indices and the dataset's
 * {@link taskScales}) widths are also given on the 0–100 scale, so tasks on different scales can be
 * averaged. Arrays of different lengths are `E_LENGTH_MISMATCH`.
 */
export function intervalMetrics(
  truth: ArrayLike<number>,
  lower: ArrayLike<number>,
  upper: ArrayLike<number>,
  norm?: { task: ArrayLike<number>; scales: TaskScales },
): IntervalMetrics {
  const n = truth.length;
  if (lower.length !== n || upper.length !== n || (norm && norm.task.length !== n)) {
    throw new CollabperfError('E_LENGTH_MISMATCH', `interval arrays differ in length (truth ${n}, lower ${lower.length}, upper ${upper.length}${norm ? `, task ${norm.task.length}` : ''})`);
  }
  let hit = 0;
  let w = 0;
  let w100 = 0;
  const widths100 = new Float64Array(norm ? n : 0);
  for (let i = 0; i < n; i++) {
    if (truth[i] >= lower[i] && truth[i] <= upper[i]) hit++;
    const width = upper[i] - lower[i];
    w += width;
    if (norm) {
      widths100[i] = (100 * width) / norm.scales.range100[norm.task[i]];
      w100 += widths100[i];
    }
  }
  widths100.sort();
  const h = n >> 1;
  return {
    n,
    coverage: n === 0 ? NaN : hit / n,
    meanWidth: n === 0 ? NaN : w / n,
    meanWidth100: norm && n > 0 ? w100 / n : NaN,
    medianWidth100: norm && n > 0 ? (n % 2 ? widths100[h] : (widths100[h - 1] + widths100[h]) / 2) : NaN,
  };
}

/** Options of {@link evaluateIntervals}. */
export interface EvaluateIntervalsOptions {
  /** Which cells to hold out (as for `evaluate`). */
  protocol: ProtocolSpec | string;
  /** Seeds to run, or how many (`n` → seeds 0..n-1); a seed draws the folds and is the predictors' seed. */
  seeds: number[] | number;
  /** Nominal level of the reported intervals, in (0, 1); default 0.9. */
  level?: number;
  /** More levels to report coverage at (from the same calibration, so nearly free), e.g. for a coverage curve. */
  levels?: number[];
  /** Calibration folds of {@link withIntervals} (default 5). */
  folds?: number;
  /** Further options of {@link withIntervals} (for studies of the method). */
  intervalOptions?: Omit<IntervalOptions, 'level' | 'folds'>;
  /** Backend, threads, abort signal for the predictors. */
  ctx?: Omit<PredictContext, 'seed'>;
  /** Called after every protocol fold of every method. */
  onProgress?: (p: { method: string; seed: number; fold: number; folds: number; done: number; total: number }) => void;
  /** Protocol folds fitted at once ({@link FoldRunOptions.concurrency}); results never depend on it. */
  concurrency?: number;
}

/** Adaptive and global intervals measured side by side. */
export interface IntervalComparison {
  /** Adaptive conformal intervals ({@link FittedIntervalPredictor.interval}). */
  adaptive: IntervalMetrics;
  /** One global residual quantile ({@link FittedIntervalPredictor.globalInterval}). */
  global: IntervalMetrics;
  /**
   * Mean 0–100 width of intervals of one constant half-width (0–100 scale, clipped to the task's
   * range) chosen on the held-out cells themselves to reach exactly the adaptive coverage: the
   * narrowest any constant-width method could be at that coverage. An oracle for comparison, not a
   * method; adaptive intervals narrower than this are narrower at equal coverage.
   */
  constantWidth100AtEqualCoverage: number;
}

/** Predictions of held-out cells with their intervals (one entry per held-out cell per seed and fold). */
export interface IntervalCells extends CellPredictions {
  lower: Float64Array;
  upper: Float64Array;
  globalLower: Float64Array;
  globalUpper: Float64Array;
}

/** Results of one method in {@link evaluateIntervals}. */
export interface IntervalMethodResult extends IntervalComparison {
  method: string;
  description: string;
  /** Pooled over the held-out cells of each seed. */
  perSeed: Array<{ seed: number } & IntervalComparison>;
  /** Coverage and width at every level of `levels` (and `level`), pooled over all seeds. */
  byLevel: Array<{ level: number } & IntervalComparison>;
  cells: IntervalCells;
  /** Wall time of all fits (calibration included) and intervals, milliseconds. */
  ms: number;
}

/** What {@link evaluateIntervals} returns. */
export interface IntervalEvaluation {
  dataset: string;
  protocol: string;
  level: number;
  folds: number;
  seeds: number[];
  /** Adaptive and global metrics pooled over every held-out cell of every seed. */
  methods: IntervalMethodResult[];
}

function invalid(message: string, field: string): CollabperfError {
  return new CollabperfError('E_INVALID_ARGUMENT', message, { field });
}


interface Chunk extends FoldPredictions {
  /** Per level: adaptive and global bounds. */
  bounds: Array<{ lower: Float64Array; upper: Float64Array; gLower: Float64Array; gUpper: Float64Array }>;
}

/** The pooled predictions of the chunks with their intervals at level number `li`. */
function concat(chunks: Chunk[], li: number): IntervalCells {
  const p = poolPredictions(chunks);
  const n = p.truth.length;
  const out: IntervalCells = {
    model: p.model,
    task: p.task,
    truth: p.truth,
    prediction: p.prediction,
    lower: new Float64Array(n),
    upper: new Float64Array(n),
    globalLower: new Float64Array(n),
    globalUpper: new Float64Array(n),
    seed: p.seed,
    fold: p.fold,
  };
  let o = 0;
  for (const c of chunks) {
    out.lower.set(c.bounds[li].lower, o);
    out.upper.set(c.bounds[li].upper, o);
    out.globalLower.set(c.bounds[li].gLower, o);
    out.globalUpper.set(c.bounds[li].gUpper, o);
    o += c.cells.value.length;
  }
  return out;
}

interface Ranges {
  scales: TaskScales;
  lo: Float64Array;
  hi: Float64Array;
}

function compare(chunks: Chunk[], li: number, r: Ranges): IntervalComparison {
  const c = concat(chunks, li);
  const norm = { task: c.task, scales: r.scales };
  const adaptive = intervalMetrics(c.truth, c.lower, c.upper, norm);
  return { adaptive, global: intervalMetrics(c.truth, c.globalLower, c.globalUpper, norm), constantWidth100AtEqualCoverage: oracleConstantWidth(c, adaptive.coverage, r) };
}

/** See {@link IntervalComparison.constantWidth100AtEqualCoverage}. */
function oracleConstantWidth(c: IntervalCells, coverage: number, r: Ranges): number {
  const n = c.truth.length;
  if (n === 0 || !Number.isFinite(coverage)) return NaN;
  const range = r.scales.range100;
  const a = Float64Array.from(c.truth, (v, i) => (Math.abs(v - c.prediction[i]) * 100) / range[c.task[i]]).sort();
  const need = Math.round(coverage * n);
  if (need === 0) return 0;
  const h = a[need - 1];
  let w = 0;
  for (let i = 0; i < n; i++) {
    const t = c.task[i];
    const half = (h * range[t]) / 100;
    const p = c.prediction[i];
    w += ((Math.max(p, Math.min(p + half, r.hi[t])) - Math.min(p, Math.max(p - half, r.lo[t]))) * 100) / range[t];
  }
  return w / n;
}

/**
 * Evaluates the intervals of predictors under a protocol over seeds: for every fold, each predictor
 * is wrapped by {@link withIntervals} and fitted on a training view that physically lacks the fold's
 * held-out cells (so calibration can only use training cells), and the intervals of the held-out
 * cells are scored. Widths on the 0–100 scale use the task scales of the whole dataset, as the
 * error metrics of `evaluate` do. Bad levels, seeds or protocols are `E_INVALID_ARGUMENT`.
 */
export async function evaluateIntervals(ds: Dataset, predictors: Predictor[], opts: EvaluateIntervalsOptions): Promise<IntervalEvaluation> {
  if (predictors.length === 0) throw invalid('give at least one method to evaluate', 'method');
  const level = checkLevel(opts.level ?? DEFAULT_LEVEL);
  const levels = [level, ...(opts.levels ?? []).filter((l) => l !== level)];
  levels.forEach(checkLevel);
  const folds = opts.folds ?? DEFAULT_INTERVAL_FOLDS;
  const spec = typeof opts.protocol === 'string' ? parseProtocol(opts.protocol) : opts.protocol;
  const seeds = resolveSeeds(opts.seeds);
  const splits = seeds.map((seed) => ({ seed, folds: makeFolds(ds, spec, seed) }));
  const ranges: Ranges = { scales: taskScales(ds), ...clipRanges(ds) };
  const wrapped = predictors.map((p) => withIntervals(p, { ...opts.intervalOptions, level, folds }));
  const total = predictors.length * splits.reduce((a, s) => a + s.folds.length, 0);
  const signal = opts.ctx?.signal;
  const acc = predictors.map(() => ({ chunks: [] as Chunk[], ms: 0 }));
  let done = 0;

  const jobs = splits.flatMap(({ seed, folds: fs }) => fs.map((fold, f) => ({ seed, fold, f, folds: fs.length, held: heldOutCells(ds, fold.trainMask) })));
  for (let p = 0; p < wrapped.length; p++) {
    const t0 = performance.now();
    const chunks = await runFolds(
      wrapped[p],
      jobs.length,
      // A fresh training view per fit, without the fold's held-out cells.
      (j) => ({ train: trainView(ds, jobs[j].fold.trainMask), ctx: { ...opts.ctx, seed: jobs[j].seed } }),
      (fitted, j): Chunk => {
        const { held, seed, f, folds } = jobs[j];
        const bounds = levels.map((l) => {
          const a = fitted.interval(Int32Array.from(held.model), Int32Array.from(held.task), l);
          const g = fitted.globalInterval(Int32Array.from(held.model), Int32Array.from(held.task), l);
          return { lower: a.lower, upper: a.upper, gLower: g.lower, gUpper: g.upper, prediction: a.prediction };
        });
        done++;
        opts.onProgress?.({ method: predictors[p].name, seed, fold: f + 1, folds, done, total });
        return { cells: held, prediction: bounds[0].prediction, bounds, seed, fold: f + 1 };
      },
      { signal, what: 'interval evaluation', concurrency: opts.concurrency },
    );
    acc[p].chunks.push(...chunks);
    acc[p].ms = performance.now() - t0;
  }

  return {
    dataset: ds.name,
    protocol: formatProtocol(spec),
    level,
    folds,
    seeds,
    methods: predictors.map((pred, p) => {
      const chunks = acc[p].chunks;
      const all = compare(chunks, 0, ranges);
      const cells = concat(chunks, 0);
      return {
        method: pred.name,
        description: pred.description,
        ...all,
        perSeed: seeds.map((seed) => ({ seed, ...compare(chunks.filter((c) => c.seed === seed), 0, ranges) })),
        byLevel: levels.map((l, li) => ({ level: l, ...compare(chunks, li, ranges) })).sort((a, b) => a.level - b.level),
        cells,
        ms: acc[p].ms,
      };
    }),
  };
}

/** {@link IntervalEvaluation} without the per-cell arrays, for `--json` (typed arrays serialise badly). */
export type IntervalEvaluationSummary = Omit<IntervalEvaluation, 'methods'> & { methods: Array<Omit<IntervalMethodResult, 'cells'>> };

/**
 * The result without per-cell intervals, which are large and serialise badly (typed arrays become
 * objects keyed by index); NaN metrics become `null` under `JSON.stringify`.
 */
export function intervalEvaluationSummary(r: IntervalEvaluation): IntervalEvaluationSummary {
  return { ...r, seeds: [...r.seeds], methods: r.methods.map(({ cells: _cells, ...rest }) => rest) };
}
