/**
 * Prediction intervals for any predictor: locally adaptive (normalised) cross-conformal prediction.
 *
 * {@link withIntervals} wraps a {@link Predictor}. Its `fit` sees only the training Dataset, and
 * calibrates on cells of that Dataset alone:
 *
 * 1. Calibration fits (2K + 1 fits of the base predictor in all) on the calibration folds of
 *    folds/calibration.ts; a predictor with {@link Predictor.fitWithFolds} (the stack, which learns
 *    its weights on the same folds) makes them in one call.
 *    - K cell folds: the training cells are dealt into K folds at random; each fold is held out in
 *      turn and predicted by the base predictor fitted on the rest (plain K-fold cross-conformal).
 *      These residuals look like a cell held out from a well-observed model.
 *    - K sparse-model folds: the models with at least two scores are dealt into K groups; in fold k
 *      each model of group k keeps r random scores (r drawn from 0..4) and its other cells are held
 *      out. These residuals look like the cells of a model with only a few scores, which is what the
 *      cells still to be predicted mostly are (a new model, a row with gaps): intervals calibrated on
 *      well-observed models only are too narrow there (about 84% coverage of nominal 90% for new
 *      models with 2 scores on the built-in datasets; see bench/coverage.ts).
 *    - The final fit on all training cells, which `predict` and the intervals use.
 * 2. Residuals on a 0–100 scale per task (the task's declared scale, else the min–max of its training
 *    scores, like {@link taskScales}), so that one quantile serves tasks in percent, 0–1 or Elo.
 * 3. Difficulty sigma(cell) = exp(linear function of features of the cell), fitted by ridge
 *    regression of log(|residual| + δ). Features are computed the same way for a calibration cell
 *    (from its fold's fit) and for a query cell (from the final fit): log(1 + scores of the model),
 *    the task's share of scores, whether the model has no score, how well the fitted predictor
 *    explains the model's and the task's own training scores (in-sample error relative to the fit's
 *    mean), the task's out-of-fold error on random cells and on sparse models (relative to the mean),
 *    and how far the prediction lies from the task's mean.
 * 4. Mondrian groups by how many scores the cell's model had in its fit (0, 1, 2, 3, 4, 5–6, …,
 *    merged until each holds enough residuals), each with its own regression shrunk towards the
 *    pooled one. Conformal scores |residual| / sigma are cross-fitted (sigma from the regression on
 *    the other half of the models), and the level's conformal quantile q of a group is the
 *    ceil((n + 1) · level)-th smallest score of the group. Grouping keeps coverage near the level for
 *    rows with 2 scores as well as for rows with 20, even when sigma misjudges the difference.
 * 5. The interval of a cell is prediction ± q · sigma(cell) (converted back to the task's own scale),
 *    clipped to the task's scale widened to the training scores (as the predictors clip).
 *
 * For comparison, {@link FittedIntervalPredictor.globalInterval} gives plain cross-conformal intervals
 * of constant width: one quantile of |residual| on the 0–100 scale over the cell-fold residuals.
 *
 * Coverage is guaranteed only as far as the held-out cells resemble the calibration cells; it is
 * measured on the built-in datasets by bench/coverage.ts.
 */
import { Rng } from '../../numeric/rng.js';
import { CollabperfError } from '../../errors.js';
import type { Dataset } from '../data/dataset.js';
import { cellsOf } from '../data/observed-cells.js';
import { taskScales } from '../eval/metrics.js';
import { trainView } from '../eval/split.js';
import { calibrationFolds, DEFAULT_CALIBRATION_FOLDS } from '../folds/calibration.js';
import { runFolds } from '../folds/runner.js';
import { ridgeRegression } from '../linalg/dense.js';
import { checkPredictArgs, clipRanges, throwIfAborted } from '../predictors/baseline-shared.js';
import type { FittedPredictor, PredictContext, Predictor } from '../predictors/types.js';

/** The interval level used when none is given. */
export const DEFAULT_LEVEL = 0.9;
/** Calibration folds used when none are given. */
export const DEFAULT_INTERVAL_FOLDS = DEFAULT_CALIBRATION_FOLDS;

/** Options of {@link withIntervals}. */
export interface IntervalOptions {
  /** Default level of {@link FittedIntervalPredictor.interval}, in (0, 1); default 0.9. */
  level?: number;
  /** Calibration folds K (integer >= 2): the base predictor is fitted 2K + 1 times (K + 1 without `sparseModels`); default 5. */
  folds?: number;
  /**
   * Also calibrate on simulated sparse models (step 1 of the module comment); default true. Turn it
   * off only to study plain cell-wise cross-conformal calibration.
   */
  sparseModels?: boolean;
  /**
   * Group conformal scores by the model's number of scores (step 4); default true. Off, one quantile
   * of |residual| / sigma serves every cell.
   */
  groupByCount?: boolean;
}

/** Intervals for a list of cells, on each task's own scale. */
export interface Intervals {
  /** The point prediction (as `predict` returns it). */
  prediction: Float64Array;
  /** Lower bound; `-Infinity` when calibration had too few cells for the level and the task has no scale. */
  lower: Float64Array;
  /** Upper bound; `Infinity` in the same case. */
  upper: Float64Array;
}

/** What calibration found, for reports and `--json`. */
export interface CalibrationSummary {
  /** Calibration folds K. */
  folds: number;
  /** Conformal scores (residuals of held-out training cells) used, all kinds. */
  residuals: number;
  /** Of those, residuals of random held-out cells (the ones {@link FittedIntervalPredictor.globalInterval} uses). */
  cellResiduals: number;
  /** Residuals of cells of simulated sparse models. */
  sparseResiduals: number;
  /** Mondrian groups: models with `minScores`..`maxScores` scores (inclusive; `maxScores` is Infinity for the last, `null` in JSON) and their number of residuals. */
  groups: Array<{ minScores: number; maxScores: number; residuals: number }>;
  /** Names of the difficulty features, in the order of `coef`. */
  features: string[];
  /** Intercept and coefficients of the pooled difficulty regression (log scale). */
  intercept: number;
  coef: number[];
  /** Per Mondrian group: intercept then coefficients of its own difficulty regression. */
  groupCoef: number[][];
}

/** A fitted predictor that also gives intervals. */
export interface FittedIntervalPredictor extends FittedPredictor {
  /** Level used when `interval` is called without one. */
  readonly level: number;
  /**
   * Adaptive conformal intervals of the cells at `level` (default: the wrapper's level), on each
   * task's own scale. `level` outside (0, 1) is `E_INVALID_ARGUMENT`.
   */
  interval(models: Int32Array, tasks: Int32Array, level?: number): Intervals;
  /**
   * Baseline: plain cross-conformal intervals of one width on the 0–100 scale for every cell (the
   * quantile of |residual| over random held-out cells), clipped like {@link interval}.
   */
  globalInterval(models: Int32Array, tasks: Int32Array, level?: number): Intervals;
  /**
   * Intervals for every task of a model that is not in the table, from its scores folded in
   * ({@link FittedPredictor.foldIn}): calibrated like a table row with that many scores, without
   * refitting. Present when the base predictor's fit can fold in.
   */
  foldInInterval?(scores: ReadonlyArray<{ task: number; value: number }>, level?: number): Intervals;
  /** Difficulty sigma of each cell on the 0–100 scale (the interval half-width is q · sigma). */
  difficulty(models: Int32Array, tasks: Int32Array): Float64Array;
  readonly calibration: CalibrationSummary;
}

/** A predictor wrapped by {@link withIntervals}. */
export interface IntervalPredictor extends Predictor {
  /** The wrapped predictor. */
  readonly base: Predictor;
  readonly level: number;
  readonly folds: number;
  fit(train: Dataset, ctx: PredictContext): Promise<FittedIntervalPredictor>;
}

/**
 * Checks an interval level: a number strictly between 0 and 1, else `E_INVALID_ARGUMENT` (field
 * `level`). Returns it, so callers can validate `--level` before any work.
 */
export function checkLevel(level: unknown): number {
  if (typeof level !== 'number' || !(level > 0 && level < 1)) {
    throw new CollabperfError('E_INVALID_ARGUMENT', `the interval level must be a number strictly between 0 and 1 (e.g. 0.9 for 90%), got ${String(level)}`, { field: 'level' });
  }
  return level;
}

function checkFolds(folds: unknown): number {
  if (typeof folds !== 'number' || !Number.isSafeInteger(folds) || folds < 2) {
    throw new CollabperfError('E_INVALID_ARGUMENT', `interval calibration needs an integer number of folds >= 2, got ${String(folds)}`, { field: 'folds' });
  }
  return folds;
}

/**
 * The conformal quantile of sorted scores at `level`: the ceil((n + 1) · level)-th smallest, or
 * Infinity when there are too few scores for the level (the only interval with the guarantee then).
 */
export function conformalQuantile(sorted: ArrayLike<number>, level: number): number {
  const n = sorted.length;
  // The small tolerance keeps e.g. (9 + 1) · 0.9 = 9.000000000000002 from rounding up to 10.
  const k = Math.ceil((n + 1) * level - 1e-9);
  if (k > n) return Infinity;
  return sorted[Math.max(k, 1) - 1];
}

// PRNG streams of the calibration, apart from the protocols' (0x101..) and predictors' streams; the
// folds themselves draw from 0x636f6e00 and 0x636f6e01 (folds/calibration.ts).
const STREAM_HALVES = 0x636f6e02;
const STREAM_IN_SAMPLE = 0x636f6e03;

/** Fewest conformal scores in a Mondrian group; fewer make the group's quantile too noisy. */
const MIN_GROUP = 150;
/** Candidate lower edges of the Mondrian groups (numbers of scores of a model), before merging. */
const GROUP_EDGES = [0, 1, 2, 3, 4, 5, 7, 10, 15, 22, 33, 50, 75, 110, 170, 250];

const FEATURES = [
  'log1p(model scores)',
  'log(task scores / most scores of a task)',
  'model has no score',
  'log model in-sample error / mean in-sample error',
  'log task in-sample error / mean in-sample error',
  'log task out-of-fold error / mean out-of-fold error, random cells',
  'log task out-of-fold error / mean out-of-fold error, sparse models',
  'log1p |prediction - task mean| / task sd',
];
const P = FEATURES.length;

/** Counts and in-sample fit of one fitted predictor on the Dataset it was fitted on. */
interface FitStats {
  modelCount: Int32Array;
  taskCount: Int32Array;
  maxTaskCount: number;
  /** Mean |in-sample residual| (0–100) of each model's training cells (`meanErr` for a model without). */
  modelErr: Float64Array;
  taskErr: Float64Array;
  meanErr: number;
  taskMean: Float64Array;
  taskSd: Float64Array;
}

/**
 * Most training cells whose in-sample residuals a fit's statistics are computed from. Predicting every
 * training cell of each of the 2K + 1 fits was most of the calibration time on a 6.8k-model table
 * (knn predicts a model's cells at O(candidates × tasks)); the error levels it estimates need far
 * fewer cells. Above the cap, whole models are taken in a seeded order (the same for every fit of a
 * calibration) until the cap is reached; the others count as average models (`meanErr`). 3,000
 * rather than 6,000 since the stack's 11 fits each predict with every candidate: openllm-v1's
 * coverage and widths were the same to the digit (90.3% / 14.9 and 90.0% / 17.8, bench/coverage.ts).
 */
export const IN_SAMPLE_MAX_CELLS = 3000;

/** Which models' training cells {@link fitStats} predicts: every model, or a seeded sample of them. */
function inSampleModels(d: Dataset, seed: number): Uint8Array | null {
  const n = d.scores.value.length;
  if (n <= IN_SAMPLE_MAX_CELLS) return null;
  const count = new Int32Array(d.models.length);
  for (let e = 0; e < n; e++) count[d.scores.model[e]]++;
  const order = Int32Array.from(d.models, (_, m) => m);
  new Rng(seed, STREAM_IN_SAMPLE).shuffle(order);
  const use = new Uint8Array(d.models.length);
  let taken = 0;
  for (let i = 0; i < order.length && taken < IN_SAMPLE_MAX_CELLS; i++) {
    use[order[i]] = 1;
    taken += count[order[i]];
  }
  return use;
}

function fitStats(fitted: FittedPredictor, d: Dataset, range100: Float64Array, sampled: Uint8Array | null): FitStats {
  const nM = d.models.length;
  const nT = d.tasks.length;
  const { model, task, value } = d.scores;
  const n = value.length;
  const cells: number[] = [];
  for (let e = 0; e < n; e++) if (!sampled || sampled[model[e]]) cells.push(e);
  const pred = cells.length > 0 ? fitted.predict(Int32Array.from(cells, (e) => model[e]), Int32Array.from(cells, (e) => task[e])) : new Float64Array(0);
  const modelCount = new Int32Array(nM);
  const taskCount = new Int32Array(nT);
  const modelErr = new Float64Array(nM);
  const modelErrCount = new Int32Array(nM);
  const taskErr = new Float64Array(nT);
  const taskErrCount = new Int32Array(nT);
  const taskMean = new Float64Array(nT);
  const taskSd = new Float64Array(nT);
  for (let e = 0; e < n; e++) {
    modelCount[model[e]]++;
    taskCount[task[e]]++;
    taskMean[task[e]] += (value[e] * 100) / range100[task[e]];
  }
  let all = 0;
  cells.forEach((e, i) => {
    const t = task[e];
    const a = (Math.abs(value[e] - pred[i]) * 100) / range100[t];
    modelErr[model[e]] += a;
    modelErrCount[model[e]]++;
    taskErr[t] += a;
    taskErrCount[t]++;
    all += a;
  });
  all = cells.length > 0 ? all / cells.length : 0;
  let maxTaskCount = 1;
  for (let m = 0; m < nM; m++) modelErr[m] = modelErrCount[m] > 0 ? modelErr[m] / modelErrCount[m] : all;
  for (let t = 0; t < nT; t++) {
    taskErr[t] = taskErrCount[t] > 0 ? taskErr[t] / taskErrCount[t] : all;
    taskMean[t] = taskCount[t] > 0 ? taskMean[t] / taskCount[t] : 50;
    maxTaskCount = Math.max(maxTaskCount, taskCount[t]);
  }
  for (let e = 0; e < n; e++) {
    const t = task[e];
    taskSd[t] += ((value[e] * 100) / range100[t] - taskMean[t]) ** 2;
  }
  for (let t = 0; t < nT; t++) taskSd[t] = taskCount[t] > 1 ? Math.max(Math.sqrt(taskSd[t] / taskCount[t]), 1e-6) : 10;
  return { modelCount, taskCount, maxTaskCount, modelErr, taskErr, meanErr: all, taskMean, taskSd };
}

/**
 * `s` with one more model (index `s.modelCount.length`): a row outside the table with the given
 * scores, whose in-sample error is that of its folded-in predictions `pred` (one per task) on them.
 */
function withNewRow(s: FitStats, scores: ReadonlyArray<{ task: number; value: number }>, pred: Float64Array, range100: Float64Array): FitStats {
  const grow = <T extends Int32Array | Float64Array>(a: T, v: number): T => {
    const out = new (a.constructor as { new (n: number): T })(a.length + 1);
    out.set(a);
    out[a.length] = v;
    return out;
  };
  let err = 0;
  for (const g of scores) err += (Math.abs(g.value - pred[g.task]) * 100) / range100[g.task];
  return { ...s, modelCount: grow(s.modelCount, scores.length), modelErr: grow(s.modelErr, scores.length > 0 ? err / scores.length : s.meanErr) };
}

/**
 * Difficulty features of cell (m, t) given the statistics of the fit that predicts it. Levels that
 * differ between fits (a fold fit has fewer cells than the final fit, so other in-sample errors and
 * task counts) enter only relative to the same fit's mean: otherwise a fold-to-final shift of those
 * levels would move every query sigma away from the calibrated ones.
 */
function features(out: Float64Array, at: number, s: FitStats, m: number, t: number, pred100: number, oofTask: number, oofTaskSparse: number, delta: number): void {
  const o = at * P;
  out[o] = Math.log1p(s.modelCount[m]);
  out[o + 1] = Math.log((1 + s.taskCount[t]) / (1 + s.maxTaskCount));
  out[o + 2] = s.modelCount[m] === 0 ? 1 : 0;
  out[o + 3] = Math.log((delta + s.modelErr[m]) / (delta + s.meanErr));
  out[o + 4] = Math.log((delta + s.taskErr[t]) / (delta + s.meanErr));
  out[o + 5] = oofTask;
  out[o + 6] = oofTaskSparse;
  // A task without training scores has no mean to be far from.
  out[o + 7] = s.taskCount[t] > 0 ? Math.log1p(Math.abs(pred100 - s.taskMean[t]) / s.taskSd[t]) : 0;
}

/**
 * Ridge penalty of a group's difficulty regression towards the pooled one, in squared feature units.
 * Strong on purpose: a group's residuals come from few models, and on the built-in datasets penalties
 * from 30 to 300 gave the same or narrower intervals than 3 at the same coverage.
 */
const GROUP_RIDGE = 100;

/** Pseudo-residuals at the mean that a task's out-of-fold error is shrunk with. */
const SHRINK = 3;

/** Mondrian groups over the number of scores of a model, merged until each has MIN_GROUP scores. */
function makeGroups(counts: Int32Array): Array<{ lo: number; hi: number }> {
  const edges = [...GROUP_EDGES];
  let maxCount = 0;
  for (const c of counts) maxCount = Math.max(maxCount, c);
  while (edges[edges.length - 1] <= maxCount) edges.push(Math.ceil(edges[edges.length - 1] * 1.5));
  const raw = edges.map((lo, i) => ({ lo, hi: i + 1 < edges.length ? edges[i + 1] - 1 : Infinity, n: 0 }));
  for (const c of counts) {
    let i = raw.length - 1;
    while (raw[i].lo > c) i--;
    raw[i].n++;
  }
  // Greedy from few scores upwards; a small remainder joins the last group.
  const out: Array<{ lo: number; hi: number; n: number }> = [];
  let cur: { lo: number; hi: number; n: number } | undefined;
  for (const g of raw) {
    cur = cur ? { lo: cur.lo, hi: g.hi, n: cur.n + g.n } : { ...g };
    if (cur.n >= MIN_GROUP) {
      out.push(cur);
      cur = undefined;
    }
  }
  if (cur) {
    if (out.length > 0) {
      const last = out[out.length - 1];
      out[out.length - 1] = { lo: last.lo, hi: Infinity, n: last.n + cur.n };
    } else out.push({ lo: 0, hi: Infinity, n: cur.n });
  }
  out[out.length - 1].hi = Infinity;
  return out;
}

function groupOf(groups: Array<{ lo: number; hi: number }>, count: number): number {
  let i = groups.length - 1;
  while (i > 0 && groups[i].lo > count) i--;
  return i;
}

/** A fitted difficulty model: log sigma = a group's linear function of the features, clamped. */
interface DifficultyModel {
  pooled: { intercept: number; coef: Float64Array };
  coefs: Array<{ intercept: number; coef: Float64Array }>;
  /** Sigma of row `i` of the feature matrix `F` in group `g`. */
  sigma(F: Float64Array, i: number, g: number): number;
}

/**
 * Fits the difficulty regressions on the calibration rows selected by `use` (all when null): a pooled
 * ridge regression of y = log(δ + |residual|) on the features, then one per Mondrian group shrunk
 * towards it. What makes a cell hard differs by regime (for a model with 2 scores its unknown level
 * dominates, for a well-observed one the task's noise), and one log-linear fit over both would split
 * the difference and under-adapt in each. The linear predictor of a query is clamped to the range it
 * took on the group's rows: no extrapolation of the exponent.
 */
function fitDifficulty(X: Float64Array, y: Float64Array, groupOfCal: Int32Array, nG: number, use: ((i: number) => boolean) | null): DifficultyModel {
  const rows: number[] = [];
  for (let i = 0; i < y.length; i++) if (!use || use(i)) rows.push(i);
  const pick = (idx: number[]): { Xs: Float64Array; ys: Float64Array } => {
    const Xs = new Float64Array(idx.length * P);
    const ys = new Float64Array(idx.length);
    idx.forEach((i, j) => {
      for (let f = 0; f < P; f++) Xs[j * P + f] = X[i * P + f];
      ys[j] = y[i];
    });
    return { Xs, ys };
  };
  const zero = { intercept: 0, coef: new Float64Array(P) };
  // A light penalty: features are O(1) logs; it only matters when one is constant or collinear.
  const all = pick(rows);
  const pooled = rows.length > P ? ridgeRegression(all.Xs, all.ys, rows.length, P, { lambda: 1e-3 * rows.length }) : zero;
  const lin = (c: { intercept: number; coef: Float64Array }, F: Float64Array, i: number): number => {
    let s = c.intercept;
    for (let j = 0; j < P; j++) s += c.coef[j] * F[i * P + j];
    return s;
  };
  const coefs: Array<{ intercept: number; coef: Float64Array }> = [];
  const lo = new Float64Array(nG).fill(Infinity);
  const hi = new Float64Array(nG).fill(-Infinity);
  for (let g = 0; g < nG; g++) {
    const idx = rows.filter((i) => groupOfCal[i] === g);
    let c = pooled;
    if (nG > 1 && idx.length > P) {
      const { Xs, ys } = pick(idx);
      for (let j = 0; j < idx.length; j++) ys[j] -= lin(pooled, X, idx[j]);
      const d = ridgeRegression(Xs, ys, idx.length, P, { lambda: GROUP_RIDGE });
      c = { intercept: pooled.intercept + d.intercept, coef: Float64Array.from(pooled.coef, (v, f) => v + d.coef[f]) };
    }
    coefs.push(c);
    for (const i of idx) {
      const l = lin(c, X, i);
      lo[g] = Math.min(lo[g], l);
      hi[g] = Math.max(hi[g], l);
    }
  }
  return {
    pooled,
    coefs,
    sigma(F, i, g) {
      const l = lin(coefs[g], F, i);
      return Math.exp(lo[g] <= hi[g] ? Math.min(hi[g], Math.max(lo[g], l)) : l);
    },
  };
}

/**
 * Wraps a predictor so that its fitted form also gives calibrated prediction intervals (see the
 * module comment for the method). `predict` and `chosen` are those of the base predictor fitted on
 * all training cells; `fit` costs 2K + 1 fits of the base predictor. `level` outside (0, 1) or `folds`
 * not an integer >= 2 is `E_INVALID_ARGUMENT`. Deterministic for `ctx.seed` when the base predictor is.
 */
export function withIntervals(predictor: Predictor, opts: IntervalOptions = {}): IntervalPredictor {
  const level = checkLevel(opts.level ?? DEFAULT_LEVEL);
  const folds = checkFolds(opts.folds ?? DEFAULT_INTERVAL_FOLDS);
  const sparseModels = opts.sparseModels ?? true;
  const groupByCount = opts.groupByCount ?? true;
  return {
    name: predictor.name,
    description: `${predictor.description}, with ${Math.round(level * 100)}% conformal intervals`,
    usesFactors: predictor.usesFactors,
    base: predictor,
    level,
    folds,
    async fit(train: Dataset, ctx: PredictContext): Promise<FittedIntervalPredictor> {
      return fitWithIntervals(predictor, train, ctx, { level, folds, sparseModels, groupByCount });
    },
  };
}

async function fitWithIntervals(
  base: Predictor,
  train: Dataset,
  ctx: PredictContext,
  o: { level: number; folds: number; sparseModels: boolean; groupByCount: boolean },
): Promise<FittedIntervalPredictor> {
  const nM = train.models.length;
  const nT = train.tasks.length;
  const { model, task, value } = train.scores;
  const n = value.length;
  if (n < 2) throw new CollabperfError('E_EMPTY', `interval calibration needs at least 2 training cells; dataset "${train.name}" has ${n}`);
  const K = Math.min(o.folds, n);
  // Scales from the training cells only: the wrapper never sees anything else.
  const range100 = taskScales(train).range100;
  const clip = clipRanges(train);

  // --- Calibration folds ---------------------------------------------------------------------
  const folds = calibrationFolds(train, ctx.seed, { folds: K, sparseModels: o.sparseModels });

  // --- Out-of-fold residuals -----------------------------------------------------------------
  const res: number[] = []; // |residual| on 0–100
  const kind: number[] = []; // 0 = random cell, 1 = sparse model
  const count: number[] = []; // scores of the cell's model in its fit
  const cellTask: number[] = [];
  const calModel: number[] = [];
  const pending: Array<{ stats: FitStats; m: Int32Array; t: Int32Array; pred: Float64Array; truth: Float64Array; kind: Uint8Array }> = [];
  const inSample = inSampleModels(train, ctx.seed);
  const views = folds.map((f) => trainView(train, f.keep));
  const foldResult = (f: FittedPredictor, i: number): { fitted: FittedPredictor | null; stats: FitStats; fold: (typeof pending)[number] | null } => {
    const stats = fitStats(f, i < folds.length ? views[i] : train, range100, inSample);
    if (i === folds.length) return { fitted: f, stats, fold: null };
    const { held } = folds[i];
    const h = cellsOf(train, held);
    const fold = { stats, m: h.model, t: h.task, pred: f.predict(h.model, h.task), truth: h.value, kind: new Uint8Array(held.length).fill(folds[i].kind === 'sparse' ? 1 : 0) };
    return { fitted: null, stats, fold };
  };
  let fitted: Array<ReturnType<typeof foldResult>>;
  if (base.fitWithFolds) {
    // A method that fits on these folds anyway (the stack learns its weights on them) fits once for both.
    throwIfAborted(ctx.signal, 'interval calibration');
    const r = await base.fitWithFolds(train, ctx, folds, views);
    fitted = [...r.folds, r.fitted].map(foldResult);
  } else {
    // The calibration folds and the fit on every training cell go to the fold runner together; the
    // last "fold" keeps every cell.
    fitted = await runFolds(base, folds.length + 1, (i) => ({ train: i < folds.length ? views[i] : train, ctx }), (f, i) => foldResult(f, i), {
      signal: ctx.signal,
      what: 'interval calibration',
    });
  }
  for (const r of fitted) if (r.fold) pending.push(r.fold);
  const last = fitted[folds.length];
  const fittedAll = last.fitted!;
  const statsAll = last.stats;

  for (const p of pending) {
    for (let i = 0; i < p.m.length; i++) {
      const t = p.t[i];
      if (!Number.isFinite(p.pred[i])) throw new CollabperfError('E_NON_FINITE', `method "${base.name}" predicted ${p.pred[i]} for a calibration cell`);
      res.push((Math.abs(p.truth[i] - p.pred[i]) * 100) / range100[t]);
      kind.push(p.kind[i]);
      count.push(p.stats.modelCount[p.m[i]]);
      calModel.push(p.m[i]);
      cellTask.push(t);
    }
  }
  const nr = res.length;
  // δ keeps log|r| finite for exact hits and damps the pull of tiny residuals on the regression.
  const sortedAbs = Float64Array.from(res).sort();
  const delta = Math.max(1e-6, 0.1 * (nr > 0 ? sortedAbs[nr >> 1] : 1));
  // Each task's out-of-fold error, over the random held-out cells (where the task's own noise shows)
  // and over the cells of sparse models (which tasks are hard to guess from a few others) apart,
  // shrunk towards the kind's mean by SHRINK pseudo-residuals. A calibration cell leaves its own
  // residual out, so that the feature does not know the residual it explains; a model has one cell
  // per task, so no other residual of its own enters either.
  const oof = [0, 1].map((want) => {
    const sum = new Float64Array(nT);
    const cnt = new Float64Array(nT);
    let mean = 0;
    let nk = 0;
    for (let i = 0; i < nr; i++) {
      if (kind[i] !== want) continue;
      sum[cellTask[i]] += res[i];
      cnt[cellTask[i]]++;
      mean += res[i];
      nk++;
    }
    mean = nk > 0 ? mean / nk : 1;
    return (t: number, own: number, self: boolean): number => {
      const k = self ? 1 : 0;
      return Math.log((delta + (sum[t] - k * own + SHRINK * mean) / (cnt[t] - k + SHRINK)) / (delta + mean));
    };
  });
  const X = new Float64Array(nr * P);
  {
    let at = 0;
    for (const p of pending) {
      for (let i = 0; i < p.m.length; i++, at++) {
        features(X, at, p.stats, p.m[i], p.t[i], (p.pred[i] * 100) / range100[p.t[i]], oof[0](p.t[i], res[at], kind[at] === 0), oof[1](p.t[i], res[at], kind[at] === 1), delta);
      }
    }
  }
  const y = Float64Array.from(res, (r) => Math.log(delta + r));

  // Mondrian groups by the model's number of scores.
  const countArr = Int32Array.from(count);
  const groups = o.groupByCount ? makeGroups(countArr) : [{ lo: 0, hi: Infinity }];
  const groupOfCal = Int32Array.from(countArr, (c) => groupOf(groups, c));
  const nG = groups.length;

  // Cross-fitted conformal scores: the models are split in two halves at random, and a residual's
  // sigma comes from the difficulty regression fitted on the other half. A sigma fitted on the very
  // residuals it then normalises explains part of their noise (residuals of one model move together,
  // so a few dozen models can look like thousands of cells), which makes the scores, hence the
  // intervals, too small. Queries use the regression fitted on all residuals.
  const half = new Uint8Array(nM);
  {
    const order = new Int32Array(nM);
    for (let m = 0; m < nM; m++) order[m] = m;
    new Rng(ctx.seed, STREAM_HALVES).shuffle(order);
    for (let j = 0; j < nM; j++) half[order[j]] = j & 1;
  }
  const calHalf = Uint8Array.from(calModel, (m) => half[m]);
  const full = fitDifficulty(X, y, groupOfCal, nG, null);
  const byHalf = [fitDifficulty(X, y, groupOfCal, nG, (i) => calHalf[i] === 1), fitDifficulty(X, y, groupOfCal, nG, (i) => calHalf[i] === 0)];
  const scoreLists: number[][] = groups.map(() => []);
  for (let i = 0; i < nr; i++) {
    const g = groupOfCal[i];
    scoreLists[g].push(res[i] / byHalf[calHalf[i]].sigma(X, i, g));
  }
  const groupN = scoreLists.map((l) => l.length);
  const groupScores = scoreLists.map((l) => Float64Array.from(l).sort());
  const cellOnly = Float64Array.from(res.filter((_, i) => kind[i] === 0)).sort();

  const calibration: CalibrationSummary = {
    folds: K,
    residuals: nr,
    cellResiduals: cellOnly.length,
    sparseResiduals: nr - cellOnly.length,
    groups: groups.map((g, i) => ({ minScores: g.lo, maxScores: g.hi, residuals: groupN[i] })),
    features: [...FEATURES],
    intercept: full.pooled.intercept,
    coef: Array.from(full.pooled.coef),
    groupCoef: full.coefs.map((c) => [c.intercept, ...c.coef]),
  };

  const difficulty = (models: Int32Array, tasks: Int32Array, pred: Float64Array, stats: FitStats = statsAll): Float64Array => {
    const F = new Float64Array(models.length * P);
    const out = new Float64Array(models.length);
    for (let i = 0; i < models.length; i++) {
      features(F, i, stats, models[i], tasks[i], (pred[i] * 100) / range100[tasks[i]], oof[0](tasks[i], 0, false), oof[1](tasks[i], 0, false), delta);
      out[i] = full.sigma(F, i, groupOf(groups, stats.modelCount[models[i]]));
    }
    return out;
  };

  const build = (models: Int32Array, tasks: Int32Array, pred: Float64Array, half100: (i: number) => number): Intervals => {
    const lower = new Float64Array(models.length);
    const upper = new Float64Array(models.length);
    for (let i = 0; i < models.length; i++) {
      const t = tasks[i];
      const h = (half100(i) * range100[t]) / 100;
      const p = pred[i];
      // Clipping to the task's range can only remove impossible values; the prediction stays inside.
      lower[i] = Math.min(p, Math.max(p - h, clip.lo[t]));
      upper[i] = Math.max(p, Math.min(p + h, clip.hi[t]));
    }
    return { prediction: pred, lower, upper };
  };

  return {
    chosen: { ...fittedAll.chosen, 'interval.level': o.level, 'interval.folds': K },
    level: o.level,
    calibration,
    predict: (models, tasks) => fittedAll.predict(models, tasks),
    difficulty(models, tasks) {
      checkPredictArgs(models, tasks, nM, nT);
      return difficulty(models, tasks, fittedAll.predict(Int32Array.from(models), Int32Array.from(tasks)));
    },
    interval(models, tasks, lvl = o.level) {
      checkLevel(lvl);
      checkPredictArgs(models, tasks, nM, nT);
      const pred = Float64Array.from(fittedAll.predict(Int32Array.from(models), Int32Array.from(tasks)));
      const sigma = difficulty(models, tasks, pred);
      const q = groupScores.map((s) => conformalQuantile(s, lvl));
      return build(models, tasks, pred, (i) => q[groupOf(groups, statsAll.modelCount[models[i]])] * sigma[i]);
    },
    ...(fittedAll.foldIn
      ? {
          foldInInterval(scores: ReadonlyArray<{ task: number; value: number }>, lvl = o.level): Intervals {
            checkLevel(lvl);
            const pred = Float64Array.from(fittedAll.foldIn!(scores));
            // The new row as one more model of the final fit's statistics: its count of scores and
            // how well the folded-in row explains them, as a refit would have it.
            const stats = withNewRow(statsAll, scores, pred, range100);
            const models = new Int32Array(nT).fill(nM);
            const tasks = Int32Array.from({ length: nT }, (_, t) => t);
            const sigma = difficulty(models, tasks, pred, stats);
            const q = groupScores.map((sc) => conformalQuantile(sc, lvl));
            const g = groupOf(groups, scores.length);
            return build(models, tasks, pred, (i) => q[g] * sigma[i]);
          },
        }
      : {}),
    globalInterval(models, tasks, lvl = o.level) {
      checkLevel(lvl);
      checkPredictArgs(models, tasks, nM, nT);
      const pred = Float64Array.from(fittedAll.predict(Int32Array.from(models), Int32Array.from(tasks)));
      const q = conformalQuantile(cellOnly.length > 0 ? cellOnly : sortedAbs, lvl);
      return build(models, tasks, pred, () => q);
    },
  };
}
