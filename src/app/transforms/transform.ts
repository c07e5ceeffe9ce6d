/**
 * Invertible per-task score transforms. A transform is fitted on the training cells of a
 * {@link Dataset} only (held-out cells are never in `train.scores`), applied to scores before a
 * predictor works on them, and inverted on its predictions so that they land on each task's own scale.
 *
 * Kinds:
 * - `none`: identity.
 * - `minmax`: `(x - min) / range` over the task's training cells — the CPP paper's normalisation.
 * - `zscore`: `(x - mean) / sd` (population sd).
 * - `logit`: for tasks with a bounded scale (`percent`, `unit`, `{min, max}`), the score becomes a
 *   proportion `p` of the scale, which is clipped to [0, 1], squeezed into [ε, 1 − ε] by
 *   `p' = ε + (1 − 2ε) p` and mapped to `log(p' / (1 − p'))`; ε = {@link LOGIT_EPS} unless given.
 *   Squeezing instead of clipping at ε makes 0 % and 100 % scores (common: 0 % on GSM8K for small
 *   models) invert exactly, and caps them at logit(ε) ≈ ±6.9 so they do not dominate a least-squares
 *   fit. Nothing is fitted for such tasks. Tasks without a bounded scale fall back to `zscore`, recorded
 *   in {@link TaskTransform.method} and {@link FittedTransform.notes}.
 * - `rank`: within-task mid-rank → plotting position `q = (rank − ½) / n` → normal score `Φ⁻¹(q)`
 *   (default) or `q` itself (`rankOutput: 'uniform'`). Between training values the map is the linear
 *   interpolation of the training cells' empirical quantiles, so its inverse is the interpolation the
 *   other way round; beyond the training range both extrapolate with the slope of the end segment,
 *   keeping the map a bijection of the real line.
 *
 * `minmax` and `zscore` take min, range, mean and sd from {@link taskStats}, so a constant task or a
 * task without training cells gets that module's fallback policy ({@link TASK_STATS_FALLBACK}), with a
 * note. `rank` on a task without training cells is the identity, with a note.
 */
import { CollabperfError } from '../../errors.js';
import { scaleBounds, type Dataset, type TaskScale } from '../data/dataset.js';
import { fallbackNote, taskStatsOf, type TaskStats } from '../stats/task-stats.js';

/** Names of the transforms, as accepted by {@link fitTransform}. */
export type TransformKind = 'none' | 'minmax' | 'zscore' | 'logit' | 'rank';

/** Every {@link TransformKind}, in documentation order. */
export const TRANSFORM_KINDS: readonly TransformKind[] = ['none', 'minmax', 'zscore', 'logit', 'rank'];

/**
 * Default ε of the `logit` transform: proportions are squeezed into [ε, 1 − ε] = [0.001, 0.999], i.e. a
 * 0 % score maps to logit(0.001) ≈ −6.91. On a percent task that is a tenth of a point of headroom,
 * below the rounding of published scores.
 */
export const LOGIT_EPS = 1e-3;

/** Options of {@link fitTransform}. */
export interface TransformOptions {
  /** ε of the `logit` transform, in (0, 0.5); default {@link LOGIT_EPS}. */
  eps?: number;
  /** Output of the `rank` transform: normal scores (default) or uniform quantiles in (0, 1). */
  rankOutput?: 'normal' | 'uniform';
}

/** What was fitted for one task (the method actually applied, which may differ from the kind asked). */
export type TaskTransform =
  | { method: 'identity'; cells: number; note?: string }
  | {
      /** `forward(x) = (x - center) / spread`. */
      method: 'minmax' | 'zscore';
      center: number;
      spread: number;
      cells: number;
      note?: string;
    }
  | { method: 'logit'; min: number; max: number; eps: number; cells: number; note?: string }
  | {
      method: 'rank';
      /** Distinct training values, increasing. */
      knots: Float64Array;
      /** Transformed value of each knot (normal score or quantile), increasing. */
      scores: Float64Array;
      output: 'normal' | 'uniform';
      cells: number;
      note?: string;
    };

/** A transform fitted on training cells (see {@link fitTransform}). */
export interface FittedTransform {
  readonly kind: TransformKind;
  /** One entry per task of the training Dataset. */
  readonly tasks: readonly TaskTransform[];
  /** Fallbacks and guards that were applied, one line each (empty when none). */
  readonly notes: readonly string[];
  /** A score of task `task` (index into the training Dataset's tasks) → transformed space. */
  forward(task: number, value: number): number;
  /** Transformed space → the task's own scale. `inverse(t, forward(t, x)) === x` up to rounding. */
  inverse(task: number, value: number): number;
  /** {@link forward} over parallel arrays. */
  forwardCells(tasks: Int32Array, values: Float64Array): Float64Array;
  /** {@link inverse} over parallel arrays. */
  inverseCells(tasks: Int32Array, values: Float64Array): Float64Array;
}

/**
 * Fit a per-task transform on the training cells `train.scores` (and the tasks' declared scales).
 * Throws `E_INVALID_ARGUMENT` for an unknown kind or a bad option; the fitted transform's methods throw
 * `E_INDEX_OUT_OF_RANGE` for a task index outside the Dataset and `E_LENGTH_MISMATCH` for arrays of
 * different lengths.
 */
export function fitTransform(kind: TransformKind, train: Dataset, options: TransformOptions = {}): FittedTransform {
  if (!TRANSFORM_KINDS.includes(kind)) {
    throw new CollabperfError('E_INVALID_ARGUMENT', `unknown transform ${JSON.stringify(kind)}; expected one of ${TRANSFORM_KINDS.join(', ')}`, { field: 'transform' });
  }
  const eps = options.eps ?? LOGIT_EPS;
  if (!(eps > 0 && eps < 0.5)) throw new CollabperfError('E_INVALID_ARGUMENT', `logit eps must be in (0, 0.5), got ${eps}`, { field: 'eps' });
  const rankOutput = options.rankOutput ?? 'normal';
  if (rankOutput !== 'normal' && rankOutput !== 'uniform') {
    throw new CollabperfError('E_INVALID_ARGUMENT', `rankOutput must be "normal" or "uniform", got ${JSON.stringify(rankOutput)}`, { field: 'rankOutput' });
  }

  const nT = train.tasks.length;
  const byTask: number[][] = Array.from({ length: nT }, () => []);
  const { task, value } = train.scores;
  for (let e = 0; e < value.length; e++) byTask[task[e]].push(value[e]);
  const stats = taskStatsOf(train);

  const notes: string[] = [];
  const tasks: TaskTransform[] = train.tasks.map((t, i) => {
    const vals = byTask[i];
    const fitted = fitTask(kind, vals, t.scale, eps, rankOutput, stats, i);
    if (fitted.note) notes.push(`task "${t.name}": ${fitted.note}`);
    return fitted;
  });

  const check = (t: number): TaskTransform => {
    const tt = tasks[t];
    if (tt === undefined || !Number.isInteger(t)) throw new CollabperfError('E_INDEX_OUT_OF_RANGE', `task index ${t} outside 0..${nT - 1}`, { field: 'task' });
    return tt;
  };
  const forward = (t: number, x: number): number => forwardOne(check(t), x);
  const inverse = (t: number, z: number): number => inverseOne(check(t), z);
  const cells = (f: (t: number, v: number) => number) => (ts: Int32Array, vs: Float64Array): Float64Array => {
    if (ts.length !== vs.length) throw new CollabperfError('E_LENGTH_MISMATCH', `task indices (${ts.length}) and values (${vs.length}) differ in length`);
    const out = new Float64Array(vs.length);
    for (let e = 0; e < vs.length; e++) out[e] = f(ts[e], vs[e]);
    return out;
  };
  return { kind, tasks, notes, forward, inverse, forwardCells: cells(forward), inverseCells: cells(inverse) };
}

/**
 * A copy of `ds` whose scores are `fitted.forward`-transformed (all other fields shared with `ds`).
 * Useful to run a predictor in transformed space; invert its predictions with `fitted.inverseCells`.
 */
export function transformDataset(fitted: FittedTransform, ds: Dataset): Dataset {
  const s = ds.scores;
  return { ...ds, scores: { model: s.model, task: s.task, source: s.source, value: fitted.forwardCells(s.task, s.value) } };
}

function fitTask(kind: TransformKind, vals: number[], scale: TaskScale | undefined, eps: number, rankOutput: 'normal' | 'uniform', stats: TaskStats, t: number): TaskTransform {
  const n = vals.length;
  switch (kind) {
    case 'none':
      return { method: 'identity', cells: n };
    case 'minmax':
      return withNote({ method: 'minmax', center: stats.min[t], spread: stats.range[t], cells: n }, fallbackNote(stats, t));
    case 'zscore':
      return fitZscore(stats, t);
    case 'logit': {
      if (scale === undefined) {
        const z = fitZscore(stats, t);
        const why = 'no bounded scale; z-score used instead of logit';
        return { ...z, note: z.note ? `${why}; ${z.note}` : why };
      }
      const b = scaleBounds(scale);
      return { method: 'logit', min: b.min, max: b.max, eps, cells: n };
    }
    case 'rank':
      return fitRank(vals, rankOutput);
  }
}

function fitZscore(stats: TaskStats, t: number): TaskTransform {
  return withNote({ method: 'zscore', center: stats.mean[t], spread: stats.sd[t], cells: stats.count[t] }, fallbackNote(stats, t));
}

function withNote<T extends TaskTransform>(fitted: T, note: string | undefined): T {
  return note === undefined ? fitted : { ...fitted, note };
}

function fitRank(vals: number[], output: 'normal' | 'uniform'): TaskTransform {
  const n = vals.length;
  if (n === 0) return { method: 'identity', cells: 0, note: 'no training cells; identity' };
  const sorted = Float64Array.from(vals).sort();
  const knots: number[] = [];
  const scores: number[] = [];
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && sorted[j + 1] === sorted[i]) j++;
    // Ties share their mid-rank, so equal scores get one knot and the map stays a function.
    const midRank = (i + j) / 2 + 1;
    const q = (midRank - 0.5) / n;
    knots.push(sorted[i]);
    scores.push(output === 'normal' ? normalQuantile(q) : q);
    i = j + 1;
  }
  const note = knots.length === 1 ? `one distinct value over ${n} training cell(s); slope 1 around it` : undefined;
  return { method: 'rank', knots: Float64Array.from(knots), scores: Float64Array.from(scores), output, cells: n, note };
}

function forwardOne(t: TaskTransform, x: number): number {
  switch (t.method) {
    case 'identity':
      return x;
    case 'minmax':
    case 'zscore':
      return (x - t.center) / t.spread;
    case 'logit': {
      let p = (x - t.min) / (t.max - t.min);
      if (p < 0) p = 0;
      else if (p > 1) p = 1;
      const q = t.eps + (1 - 2 * t.eps) * p;
      return Math.log(q / (1 - q));
    }
    case 'rank':
      return interpolate(t.knots, t.scores, x);
  }
}

function inverseOne(t: TaskTransform, z: number): number {
  switch (t.method) {
    case 'identity':
      return z;
    case 'minmax':
    case 'zscore':
      return t.center + z * t.spread;
    case 'logit': {
      const q = 1 / (1 + Math.exp(-z));
      let p = (q - t.eps) / (1 - 2 * t.eps);
      if (p < 0) p = 0;
      else if (p > 1) p = 1;
      return t.min + p * (t.max - t.min);
    }
    case 'rank':
      return interpolate(t.scores, t.knots, z);
  }
}

/** Piecewise-linear map through (xs[i], ys[i]) (xs increasing), extended linearly past both ends. */
function interpolate(xs: Float64Array, ys: Float64Array, x: number): number {
  const k = xs.length;
  if (k === 1) return ys[0] + (x - xs[0]);
  if (x <= xs[0]) return ys[0] + ((x - xs[0]) * (ys[1] - ys[0])) / (xs[1] - xs[0]);
  if (x >= xs[k - 1]) return ys[k - 1] + ((x - xs[k - 1]) * (ys[k - 1] - ys[k - 2])) / (xs[k - 1] - xs[k - 2]);
  let lo = 0;
  let hi = k - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] <= x) lo = mid;
    else hi = mid;
  }
  if (x === xs[lo]) return ys[lo];
  return ys[lo] + ((x - xs[lo]) * (ys[hi] - ys[lo])) / (xs[hi] - xs[lo]);
}

/**
 * Standard normal quantile Φ⁻¹(p) for p in (0, 1), by Acklam's rational approximation (relative error
 * below 1.2e-9, ample for normal scores; the rank transform inverts through its own knots, so its
 * round trip is exact regardless).
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) {
    if (p === 0) return -Infinity;
    if (p === 1) return Infinity;
    return NaN;
  }
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const pLow = 0.02425;
  if (p < pLow) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - pLow) {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    return -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}
