/**
 * Error and ranking metrics for held-out cells. Scores of different tasks live on different scales
 * (percent, 0–1, bits per byte…), so besides errors on each task's own scale every error is also
 * given on a common 0–100 scale per task and on the CPP paper's per-task min-max normalisation, which
 * is what its Table 1 reports.
 */
import { CollabperfError } from '../../errors.js';
import type { Dataset } from '../data/dataset.js';
import { taskStatsOf } from '../stats/task-stats.js';

/**
 * Per-task affine maps `x → (x - offset) / range` onto a common scale, computed once from the full
 * dataset (truth only: these never reach a predictor).
 */
export interface TaskScales {
  /** To 0–100: `100 (x - offset100) / range100`. */
  offset100: Float64Array;
  range100: Float64Array;
  /** The paper's normalisation to 0–1: `(x - offsetNorm) / rangeNorm`, min-max over observed values. */
  offsetNorm: Float64Array;
  rangeNorm: Float64Array;
  /** 1 when a higher score is better (ranks count from the best score). */
  higherIsBetter: Uint8Array;
}

/**
 * Scales of every task of `ds`. 0–100: from the task's declared scale (`percent` → x, `unit` → 100x,
 * `{min, max}` → 100 (x - min) / (max - min)); without one, min-max of the task's observed values in
 * `ds`. Paper normalisation: min-max of the task's observed values in `ds`, whatever its scale (as the
 * paper's code does). Min and range come from {@link taskStatsOf}: a task whose observed values are
 * all equal (or that has none) gets its fallback policy (a range borrowed from the other tasks), so
 * that its errors weigh like those of a typical task and metrics stay finite.
 */
export function taskScales(ds: Dataset): TaskScales {
  const nT = ds.tasks.length;
  const stats = taskStatsOf(ds);
  const out: TaskScales = {
    offset100: new Float64Array(nT),
    range100: new Float64Array(nT),
    offsetNorm: new Float64Array(nT),
    rangeNorm: new Float64Array(nT),
    higherIsBetter: new Uint8Array(nT),
  };
  for (let t = 0; t < nT; t++) {
    out.offsetNorm[t] = stats.min[t];
    out.rangeNorm[t] = stats.range[t];
    const sc = ds.tasks[t].scale;
    if (sc === 'percent') (out.offset100[t] = 0), (out.range100[t] = 100);
    else if (sc === 'unit') (out.offset100[t] = 0), (out.range100[t] = 1);
    else if (sc !== undefined) (out.offset100[t] = sc.min), (out.range100[t] = sc.max - sc.min);
    else (out.offset100[t] = out.offsetNorm[t]), (out.range100[t] = out.rangeNorm[t]);
    out.higherIsBetter[t] = ds.tasks[t].higherIsBetter === false ? 0 : 1;
  }
  return out;
}

/** Held-out cells with their truth and prediction, as parallel arrays (task indices into the Dataset). */
export interface ScoredCells {
  task: Int32Array;
  truth: Float64Array;
  prediction: Float64Array;
}

/**
 * Metrics of a set of predictions. All "share" values are fractions in [0, 1]; a metric with nothing to
 * average over is `NaN`.
 */
export interface Metrics {
  /** Number of cells scored. */
  n: number;
  /** Mean absolute error on each task's own scale. */
  mae: number;
  /** Median absolute error on each task's own scale. */
  medianAe: number;
  /** Root mean squared error on each task's own scale. */
  rmse: number;
  /** Mean absolute error on the 0–100 scale of each task. */
  mae100: number;
  /** Median absolute error, 0–100 scale. */
  medianAe100: number;
  /** RMSE, 0–100 scale. */
  rmse100: number;
  /** Share of cells with |error| <= 3 points on the 0–100 scale. */
  within3: number;
  /** Share of cells with |error| <= 5 points on the 0–100 scale. */
  within5: number;
  /** Mean over tasks of the Spearman correlation between truth and prediction within the task. */
  spearman: number;
  /**
   * Tasks that counted for {@link spearman}: those with >= 3 scored cells and neither the truths nor
   * the predictions all equal (where the correlation is undefined).
   */
  spearmanTasks: number;
  /** The paper's MSE: squared error on scores min-max normalised per task over the whole table. */
  nmse: number;
  /** The paper's L1: absolute error on the same normalisation. */
  nl1: number;
  /**
   * Share of cells whose predicted within-task rank equals the true one. Ranks are among the task's
   * scored cells, best first (1 = highest score, or lowest when the task is lower-is-better); tied
   * scores all get the lowest (best) rank of the tie, like pandas `rank(method='min')` in the
   * paper's code.
   */
  rankAccuracy: number;
  /** Share of cells whose predicted within-task rank is within 2 of the true rank (the paper's MAE@2). */
  mae2: number;
  /**
   * The ranking pool: mean number of scored cells per task (over tasks with at least one). Rank
   * accuracy and MAE@2 saturate towards 1 as this approaches 1, so report it beside them.
   */
  rankPool: number;
  /** Number of tasks with at least one scored cell. */
  tasks: number;
}

/** Names of the numeric fields of {@link Metrics}, in report order. */
export const METRIC_KEYS = [
  'n',
  'mae',
  'medianAe',
  'rmse',
  'mae100',
  'medianAe100',
  'rmse100',
  'within3',
  'within5',
  'spearman',
  'spearmanTasks',
  'nmse',
  'nl1',
  'rankAccuracy',
  'mae2',
  'rankPool',
  'tasks',
] as const satisfies ReadonlyArray<keyof Metrics>;

/** Median of a copy of `a` (NaN when empty). */
export function median(a: ArrayLike<number>): number {
  if (a.length === 0) return NaN;
  const s = Float64Array.from(a).sort();
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

/** Ranks 1..n with ties given their average rank (for Spearman). */
export function averageRanks(x: ArrayLike<number>): Float64Array {
  const n = x.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => x[a] - x[b]);
  const r = new Float64Array(n);
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && x[order[j + 1]] === x[order[i]]) j++;
    const avg = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) r[order[k]] = avg;
    i = j + 1;
  }
  return r;
}

/** Spearman correlation (Pearson on average ranks); NaN when either side is constant or n < 2. */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  if (n < 2 || b.length !== n) return NaN;
  const ra = averageRanks(a);
  const rb = averageRanks(b);
  const mean = (n + 1) / 2; // mean of ranks 1..n, also with average ties
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = ra[i] - mean;
    const db = rb[i] - mean;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa === 0 || sbb === 0 ? NaN : sab / Math.sqrt(saa * sbb);
}

/**
 * Competition ranks, best first, ties at the lowest rank: rank(i) = 1 + number of values strictly
 * better than x[i] (greater when `higherIsBetter`, smaller otherwise).
 */
export function minRanks(x: ArrayLike<number>, higherIsBetter = true): Int32Array {
  const n = x.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (higherIsBetter ? x[b] - x[a] : x[a] - x[b]));
  const r = new Int32Array(n);
  for (let i = 0; i < n; i++) r[order[i]] = i > 0 && x[order[i]] === x[order[i - 1]] ? r[order[i - 1]] : i + 1;
  return r;
}

/**
 * Metrics of predictions for scored cells, with task scales from the full dataset (pass
 * {@link taskScales}`(ds)` when computing many, to avoid recomputing them). A non-finite prediction
 * is `E_NON_FINITE`: a predictor that cannot predict a cell must say so rather than skew the numbers.
 */
export function computeMetrics(ds: Dataset, cells: ScoredCells, scales: TaskScales = taskScales(ds)): Metrics {
  const { task, truth, prediction } = cells;
  const n = truth.length;
  if (task.length !== n || prediction.length !== n) {
    throw new CollabperfError('E_LENGTH_MISMATCH', `scored cells differ in length (task ${task.length}, truth ${n}, prediction ${prediction.length})`);
  }
  const abs = new Float64Array(n);
  const abs100 = new Float64Array(n);
  let se = 0;
  let se100 = 0;
  let in3 = 0;
  let in5 = 0;
  let nse = 0;
  let nae = 0;
  const byTask = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const t = task[i];
    if (!(t >= 0 && t < ds.tasks.length)) throw new CollabperfError('E_INDEX_OUT_OF_RANGE', `scored cell ${i}: task index ${t} outside 0..${ds.tasks.length - 1}`);
    if (!Number.isFinite(prediction[i])) {
      throw new CollabperfError('E_NON_FINITE', `prediction for a cell of task "${ds.tasks[t].name}" is ${prediction[i]}`);
    }
    const d = prediction[i] - truth[i];
    abs[i] = Math.abs(d);
    se += d * d;
    const d100 = (100 * d) / scales.range100[t];
    abs100[i] = Math.abs(d100);
    se100 += d100 * d100;
    // Tolerance so that an error of exactly 3 points computed as 3.0000000000000004 still counts.
    if (abs100[i] <= 3 + 1e-9) in3++;
    if (abs100[i] <= 5 + 1e-9) in5++;
    const dn = d / scales.rangeNorm[t];
    nse += dn * dn;
    nae += Math.abs(dn);
    let list = byTask.get(t);
    if (!list) byTask.set(t, (list = []));
    list.push(i);
  }

  let rhoSum = 0;
  let rhoTasks = 0;
  let rankHits = 0;
  let within2 = 0;
  for (const [t, idx] of byTask) {
    const tr = idx.map((i) => truth[i]);
    const pr = idx.map((i) => prediction[i]);
    if (idx.length >= 3) {
      const rho = spearman(tr, pr);
      if (!Number.isNaN(rho)) (rhoSum += rho), rhoTasks++;
    }
    const hib = scales.higherIsBetter[t] === 1;
    const rt = minRanks(tr, hib);
    const rp = minRanks(pr, hib);
    for (let j = 0; j < idx.length; j++) {
      const dr = Math.abs(rt[j] - rp[j]);
      if (dr === 0) rankHits++;
      if (dr <= 2) within2++;
    }
  }

  const mean = (x: number) => (n === 0 ? NaN : x / n);
  return {
    n,
    mae: mean(abs.reduce((a, b) => a + b, 0)),
    medianAe: median(abs),
    rmse: Math.sqrt(mean(se)),
    mae100: mean(abs100.reduce((a, b) => a + b, 0)),
    medianAe100: median(abs100),
    rmse100: Math.sqrt(mean(se100)),
    within3: mean(in3),
    within5: mean(in5),
    spearman: rhoTasks === 0 ? NaN : rhoSum / rhoTasks,
    spearmanTasks: rhoTasks,
    nmse: mean(nse),
    nl1: mean(nae),
    rankAccuracy: mean(rankHits),
    mae2: mean(within2),
    rankPool: byTask.size === 0 ? NaN : n / byTask.size,
    tasks: byTask.size,
  };
}
