/**
 * The mean predictor: score ≈ global mean + model bias + task bias, the two-way additive model fitted
 * by regularised alternating least squares. It is the baseline every other method should beat, and
 * the fallback of the knn and scaling-law predictors.
 */
import type { Dataset } from '../data/dataset.js';
import { cellsOf, type Cells } from '../data/observed-cells.js';
import { argmin, checkPredictArgs, clipRanges, innerHoldout, scaledMse, settingIn, throwIfAborted } from './baseline-shared.js';
import { taskStats } from '../stats/task-stats.js';
import type { FittedPredictor, PredictContext, Predictor } from './types.js';

/** Parameters of the additive model `mu + modelBias[m] + taskBias[t]`. */
export interface AdditiveFit {
  mu: number;
  modelBias: Float64Array;
  taskBias: Float64Array;
  /** Sweeps run before the biases stopped moving (or the limit). */
  sweeps: number;
}

/** Options of {@link fitAdditive}. */
export interface AdditiveOptions {
  /**
   * Ridge penalty on each bias, in pseudo-cells: a bias is the sum of its residuals divided by
   * (its cell count + lambda), i.e. shrunk towards 0 as if it had `lambda` extra cells of residual 0.
   * Scale-free, so one value serves percent and 0–1 tasks alike.
   */
  lambda: number;
  /** Sweep limit (default 200; typically far fewer are needed). */
  maxSweeps?: number;
  /** Stop when no bias moves by more than `tol` × the spread of the values (default 1e-10). */
  tol?: number;
}

/**
 * Fits `value ≈ mu + modelBias[model] + taskBias[task]` by alternating exact updates of the task
 * biases, the model biases and the global mean (each the minimiser of the penalised squared error
 * given the others, so the loss never increases). A model or task without cells keeps bias 0.
 */
export function fitAdditive(c: Cells, opts: AdditiveOptions): AdditiveFit {
  const { lambda } = opts;
  const maxSweeps = opts.maxSweeps ?? 200;
  // The cells' arrays as locals: callers pass differently shaped cell objects (a spread copy with
  // z-scored values, say), and property loads inside the loops would make them polymorphic.
  const { value, model, task } = c;
  const n = value.length;
  const a = new Float64Array(c.nModels);
  const b = new Float64Array(c.nTasks);
  const nm = new Float64Array(c.nModels);
  const nt = new Float64Array(c.nTasks);
  let mu = 0;
  for (let e = 0; e < n; e++) {
    mu += value[e];
    nm[model[e]]++;
    nt[task[e]]++;
  }
  if (n === 0) return { mu: 0, modelBias: a, taskBias: b, sweeps: 0 };
  mu /= n;
  let spread = 0;
  for (let e = 0; e < n; e++) spread += (value[e] - mu) ** 2;
  spread = Math.sqrt(spread / n);
  const tol = (opts.tol ?? 1e-10) * (spread > 0 ? spread : 1);
  const sa = new Float64Array(c.nModels);
  const sb = new Float64Array(c.nTasks);
  let sweeps = 0;
  while (sweeps < maxSweeps) {
    sweeps++;
    let delta = 0;
    sb.fill(0);
    for (let e = 0; e < n; e++) sb[task[e]] += value[e] - mu - a[model[e]];
    for (let t = 0; t < c.nTasks; t++) {
      const v = nt[t] + lambda > 0 ? sb[t] / (nt[t] + lambda) : 0;
      delta = Math.max(delta, Math.abs(v - b[t]));
      b[t] = v;
    }
    sa.fill(0);
    for (let e = 0; e < n; e++) sa[model[e]] += value[e] - mu - b[task[e]];
    for (let m = 0; m < c.nModels; m++) {
      const v = nm[m] + lambda > 0 ? sa[m] / (nm[m] + lambda) : 0;
      delta = Math.max(delta, Math.abs(v - a[m]));
      a[m] = v;
    }
    let r = 0;
    for (let e = 0; e < n; e++) r += value[e] - a[model[e]] - b[task[e]];
    let newMu = r / n;
    // Moving a common shift of the model biases (then of the task biases) into mu leaves every
    // fitted cell unchanged and minimises the penalty along that direction. Without it these
    // directions, only weakly pinned by the penalty, take hundreds of sweeps to settle when tasks
    // have thousands of cells.
    const shiftA = centreBiases(a, nm);
    if (shiftA !== 0) newMu += shiftA;
    const shiftB = centreBiases(b, nt);
    if (shiftB !== 0) newMu += shiftB;
    delta = Math.max(delta, Math.abs(newMu - mu));
    mu = newMu;
    if (delta <= tol) break;
  }
  return { mu, modelBias: a, taskBias: b, sweeps };
}

/**
 * Subtracts the mean of the biases that have cells (count > 0) from them and returns that shift (0
 * when there are none).
 */
function centreBiases(bias: Float64Array, cnt: Float64Array): number {
  let s = 0;
  let k = 0;
  for (let i = 0; i < bias.length; i++) {
    if (cnt[i] > 0) {
      s += bias[i];
      k++;
    }
  }
  const shift = k > 0 ? s / k : 0;
  if (shift !== 0) for (let i = 0; i < bias.length; i++) if (cnt[i] > 0) bias[i] -= shift;
  return shift;
}

/** Where the additive model is fitted: on the scores as given, or on per-task z-scores. */
export type MeanSpace = 'raw' | 'zscore';

/** A fitted additive model, predicting on the tasks' own scale. */
export interface MeanCellsFit {
  space: MeanSpace;
  lambda: number;
  fit: AdditiveFit;
  /** Per-task centre and spread of the z-score space (0 and 1 in raw space). */
  center: Float64Array;
  scale: Float64Array;
  /** Prediction for one cell on the task's own scale. */
  predictOne(model: number, task: number): number;
}

/** Fits the additive model in the given space with the given penalty. */
export function fitMeanFixed(c: Cells, space: MeanSpace, lambda: number): MeanCellsFit {
  const center = new Float64Array(c.nTasks);
  const scale = new Float64Array(c.nTasks).fill(1);
  let cells = c;
  if (space === 'zscore') {
    const mom = taskStats(c);
    center.set(mom.mean);
    scale.set(mom.sd);
    const z = new Float64Array(c.value.length);
    for (let e = 0; e < z.length; e++) z[e] = (c.value[e] - center[c.task[e]]) / scale[c.task[e]];
    cells = { ...c, value: z };
  }
  const fit = fitAdditive(cells, { lambda });
  const { mu, modelBias, taskBias } = fit;
  return {
    space,
    lambda,
    fit,
    center,
    scale,
    predictOne: (m, t) => center[t] + scale[t] * (mu + modelBias[m] + taskBias[t]),
  };
}

/**
 * The additive model's prediction, for every task, of a model that is not in the table, from some of
 * its scores: its bias is the exact update {@link fitAdditive} would make with the global mean and
 * task biases fixed (the residuals' sum over count + lambda), so an existing model's own scores give
 * back its fitted bias. No score gives bias 0, as for a model without cells.
 */
export function foldInMean(f: MeanCellsFit, scores: ReadonlyArray<{ task: number; value: number }>, nTasks: number): Float64Array {
  const { mu, taskBias } = f.fit;
  let r = 0;
  for (const s of scores) r += (s.value - f.center[s.task]) / f.scale[s.task] - mu - taskBias[s.task];
  const n = scores.length;
  const bias = n + f.lambda > 0 ? r / (n + f.lambda) : 0;
  return Float64Array.from({ length: nTasks }, (_, t) => f.center[t] + f.scale[t] * (mu + bias + taskBias[t]));
}

/**
 * Candidate settings of the mean predictor, simplest first (ties keep the earlier one). Raw space
 * comes first: on a matrix that really is additive it is exact, while the z-score space is exact only
 * when every task has the same spread. The z-score space wins on real leaderboards, where a strong
 * model's lead is larger on tasks whose scores are more spread out (the bias then scales with the task's
 * spread); inner validation picks between them.
 */
export const MEAN_GRID: ReadonlyArray<{ space: MeanSpace; lambda: number }> = [
  { space: 'raw', lambda: 0 },
  { space: 'raw', lambda: 1 },
  { space: 'raw', lambda: 4 },
  { space: 'zscore', lambda: 0 },
  { space: 'zscore', lambda: 1 },
  { space: 'zscore', lambda: 4 },
];

/** Seed stream of the mean predictor's inner holdout. */
const STREAM = 0x6d65616e;

/**
 * Chooses space and penalty among {@link MEAN_GRID} on a seeded inner holdout of the cells, then refits
 * on all of them. Used by {@link meanPredictor} and as the fallback of other baselines.
 */
export function fitMeanCells(c: Cells, seed: number, settings?: PredictContext['settings']): MeanCellsFit {
  const fixed = settingIn(MEAN_GRID, settings);
  let best = fixed ?? MEAN_GRID[0];
  if (!fixed && c.value.length >= 10) {
    const { fit, hold } = innerHoldout(c, seed, STREAM);
    if (hold.value.length > 0) {
      const sd = taskStats(c).sd;
      const errors = MEAN_GRID.map((g) => {
        const f = fitMeanFixed(fit, g.space, g.lambda);
        const pred = new Float64Array(hold.value.length);
        for (let i = 0; i < pred.length; i++) pred[i] = f.predictOne(hold.model[i], hold.task[i]);
        return scaledMse(pred, hold, sd);
      });
      best = MEAN_GRID[argmin(errors)];
    }
  }
  return fitMeanFixed(c, best.space, best.lambda);
}

/**
 * Global mean + model bias + task bias (two-way additive model, regularised ALS). Whether it works on
 * the raw scores or on per-task z-scores, and the bias penalty (0, 1 or 4 pseudo-cells), are chosen by
 * inner validation on 15 % of the training cells. A model without training cells is predicted at its
 * tasks' means (bias 0). Predictions are clipped to the task's scale. `chosen`: `{ space, lambda, sweeps }`.
 */
export const meanPredictor: Predictor = {
  name: 'mean',
  description: 'global mean + model bias + task bias (additive model; raw or z-score space and penalty by inner validation)',
  usesFactors: false,
  portable: true,
  canFoldIn: true,
  async fit(train: Dataset, ctx: PredictContext): Promise<FittedPredictor> {
    throwIfAborted(ctx.signal, 'the mean predictor fit');
    const c = cellsOf(train);
    const f = fitMeanCells(c, ctx.seed, ctx.settings);
    const { lo, hi } = clipRanges(train);
    return {
      chosen: { space: f.space, lambda: f.lambda, sweeps: f.fit.sweeps },
      predict(models: Int32Array, tasks: Int32Array): Float64Array {
        checkPredictArgs(models, tasks, c.nModels, c.nTasks);
        const out = new Float64Array(models.length);
        for (let i = 0; i < out.length; i++) out[i] = Math.min(hi[tasks[i]], Math.max(lo[tasks[i]], f.predictOne(models[i], tasks[i])));
        return out;
      },
      foldIn: (scores) => foldInMean(f, scores, c.nTasks).map((v, t) => Math.min(hi[t], Math.max(lo[t], v))),
    };
  },
};
