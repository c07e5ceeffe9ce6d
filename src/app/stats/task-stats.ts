/**
 * Per-task statistics of known scores: count, mean, population standard deviation, min, max and
 * range of each task's cells. Every method and metric that scales scores per task (the transforms,
 * the baselines' z-scores, ncf's min-max normalisation, logit-als's z-scored tasks, the metrics'
 * normalisations, the prediction clip ranges) takes them from {@link taskStats}, so that a task
 * without a usable spread is treated the same way everywhere.
 *
 * ## Fallback policy ({@link TASK_STATS_FALLBACK})
 *
 * A task is **constant** when it has cells but no spread: its range is within rounding of zero,
 * `range <= 1e-12 · max(1, |min|, |max|)` (one cell, or all cells equal). A task is **empty** when it
 * has no cell.
 *
 * - `constant`: mean, min and max are the task's own; `sd` and `range` are borrowed from the tasks
 *   that have a spread: the middle value of their sds and of their ranges (the upper middle for an
 *   even count, so the fallback is always some task's real spread). Dividing by a typical spread
 *   keeps the task's errors and z-scores on the footing of the other tasks, where a spread of 1
 *   would be the whole scale of a 0-1 task and a hundredth of a percent task. With no task having a
 *   spread, `sd = range = 1`.
 * - `empty`: count 0, and every other statistic is that of all known cells pooled (the least
 *   surprising guess for a task nothing is known about). With no cells at all, `mean = min = max = 0`
 *   and `sd = range = 1`; if the pooled cells have no spread, the `constant` rule's spread applies.
 *
 * After the fallback every `sd` and `range` is finite and positive, so dividing by them is safe.
 * {@link TaskStats.fallback} records which rule each task got and {@link fallbackNote} says so in
 * words, for the notes that methods report.
 */
import { scaleBounds, type Dataset } from '../data/dataset.js';
import type { Cells } from '../data/observed-cells.js';

/** Name of the one fallback policy ({@link taskStats}'s module comment documents it). */
export const TASK_STATS_FALLBACK = 'pool-empty-borrow-constant-spread';

/** Which fallback a task got: none (its own statistics), `constant` or `empty`. */
export type TaskFallback = 'none' | 'constant' | 'empty';

/** The part of {@link Cells} that task statistics read. */
export type KnownCells = Pick<Cells, 'nTasks' | 'task' | 'value'>;

/** Statistics of each task's known cells after the {@link TASK_STATS_FALLBACK} policy. */
export interface TaskStats {
  /** Known cells of the task (0 for an empty task, whatever its borrowed statistics). */
  count: Int32Array;
  mean: Float64Array;
  /** Population standard deviation; always > 0. */
  sd: Float64Array;
  min: Float64Array;
  max: Float64Array;
  /** `max - min` for a task with a spread; borrowed otherwise; always > 0. */
  range: Float64Array;
  /** The rule each task got. */
  fallback: TaskFallback[];
  /** Tasks with a spread of their own: the ones a `constant` task borrows from. */
  spreadTasks: number;
}

/** True when `min..max` is a zero range up to rounding (the `constant` rule of the policy). */
export function isZeroRange(min: number, max: number): boolean {
  return !(max - min > 1e-12 * Math.max(1, Math.abs(min), Math.abs(max)));
}

/** Upper median of the values (an element of them); `fallback` when there are none. */
function upperMedian(values: number[], fallback: number): number {
  if (values.length === 0) return fallback;
  const s = Float64Array.from(values).sort();
  return s[s.length >> 1];
}

/**
 * Statistics of each task's known cells, with the {@link TASK_STATS_FALLBACK} policy applied to
 * constant and empty tasks (see the module comment). Means and sds are summed in cell order, two
 * passes, so the same cells always give the same bits.
 */
export function taskStats(cells: KnownCells): TaskStats {
  // The same cells come back often (each candidate of a stack, each fold of a fit): the result is
  // kept per value array, so callers must treat it as read-only.
  const kept = memo.get(cells.value);
  if (kept !== undefined && kept.task === cells.task && kept.stats.count.length === cells.nTasks) return kept.stats;
  const stats = computeTaskStats(cells);
  memo.set(cells.value, { task: cells.task, stats });
  return stats;
}

const memo = new WeakMap<KnownCells['value'], { task: KnownCells['task']; stats: TaskStats }>();

function computeTaskStats(cells: KnownCells): TaskStats {
  const nT = cells.nTasks;
  const { task, value } = cells;
  const n = value.length;
  const count = new Int32Array(nT);
  const mean = new Float64Array(nT);
  const sd = new Float64Array(nT);
  const min = new Float64Array(nT).fill(Infinity);
  const max = new Float64Array(nT).fill(-Infinity);
  let pooledSum = 0;
  let pooledMin = Infinity;
  let pooledMax = -Infinity;
  for (let e = 0; e < n; e++) {
    const t = task[e];
    const v = value[e];
    count[t]++;
    mean[t] += v;
    pooledSum += v;
    if (v < min[t]) min[t] = v;
    if (v > max[t]) max[t] = v;
    if (v < pooledMin) pooledMin = v;
    if (v > pooledMax) pooledMax = v;
  }
  for (let t = 0; t < nT; t++) if (count[t] > 0) mean[t] /= count[t];
  const pooledMean = n > 0 ? pooledSum / n : 0;
  let pooledSs = 0;
  for (let e = 0; e < n; e++) {
    const t = task[e];
    sd[t] += (value[e] - mean[t]) * (value[e] - mean[t]);
    pooledSs += (value[e] - pooledMean) * (value[e] - pooledMean);
  }
  const range = new Float64Array(nT);
  const fallback: TaskFallback[] = new Array<TaskFallback>(nT).fill('none');
  const goodSd: number[] = [];
  const goodRange: number[] = [];
  for (let t = 0; t < nT; t++) {
    if (count[t] === 0) {
      fallback[t] = 'empty';
      continue;
    }
    sd[t] = Math.sqrt(sd[t] / count[t]);
    range[t] = max[t] - min[t];
    if (isZeroRange(min[t], max[t])) fallback[t] = 'constant';
    else {
      goodSd.push(sd[t]);
      goodRange.push(range[t]);
    }
  }
  const borrowedSd = upperMedian(goodSd, 1);
  const borrowedRange = upperMedian(goodRange, 1);
  const pooledSpread = n > 0 && !isZeroRange(pooledMin, pooledMax);
  for (let t = 0; t < nT; t++) {
    if (fallback[t] === 'constant') {
      sd[t] = borrowedSd;
      range[t] = borrowedRange;
    } else if (fallback[t] === 'empty') {
      mean[t] = pooledMean;
      min[t] = n > 0 ? pooledMin : 0;
      max[t] = n > 0 ? pooledMax : 0;
      sd[t] = pooledSpread ? Math.sqrt(pooledSs / n) : borrowedSd;
      range[t] = pooledSpread ? pooledMax - pooledMin : borrowedRange;
    }
  }
  return { count, mean, sd, min, max, range, fallback, spreadTasks: goodSd.length };
}

/** {@link taskStats} of a Dataset's known cells (`ds.scores`). */
export function taskStatsOf(ds: Dataset): TaskStats {
  return taskStats({ nTasks: ds.tasks.length, task: ds.scores.task, value: ds.scores.value });
}

/** The fallback task `t` got, in words (`undefined` when none), for a method's notes. */
export function fallbackNote(stats: TaskStats, t: number): string | undefined {
  const f = stats.fallback[t];
  if (f === 'none') return undefined;
  const spread = `sd ${fmt(stats.sd[t])}, range ${fmt(stats.range[t])}`;
  if (f === 'constant') {
    const from = stats.spreadTasks > 0 ? `borrowed from the middle of ${stats.spreadTasks} task(s) with a spread` : '1, no task has a spread';
    return `zero range over ${stats.count[t]} known cell(s); spread ${from} (${spread})`;
  }
  return `no known cells; statistics of all known cells pooled (mean ${fmt(stats.mean[t])}, ${spread})`;
}

/**
 * How many tasks got each fallback, e.g. `"2 constant, 1 empty (pool-empty-borrow-constant-spread)"`;
 * `undefined` when every task had statistics of its own. For a fitted method's `chosen`.
 */
export function fallbackSummary(stats: TaskStats): string | undefined {
  let constant = 0;
  let empty = 0;
  for (const f of stats.fallback) {
    if (f === 'constant') constant++;
    else if (f === 'empty') empty++;
  }
  if (constant + empty === 0) return undefined;
  return `${constant} constant, ${empty} empty (${TASK_STATS_FALLBACK})`;
}

/**
 * Per-task clip range of predictions: the task's declared scale widened to include every known
 * score (a source may report a score slightly outside its stated scale); ±Infinity for a task
 * without a scale. An empty task gets its scale only (the pooled statistics are not its own).
 */
export function clipBounds(ds: Dataset, stats: TaskStats = taskStatsOf(ds)): { lo: Float64Array; hi: Float64Array } {
  const nT = ds.tasks.length;
  const lo = new Float64Array(nT).fill(-Infinity);
  const hi = new Float64Array(nT).fill(Infinity);
  ds.tasks.forEach((t, i) => {
    if (t.scale === undefined) return;
    const b = scaleBounds(t.scale);
    lo[i] = stats.count[i] > 0 ? Math.min(b.min, stats.min[i]) : b.min;
    hi[i] = stats.count[i] > 0 ? Math.max(b.max, stats.max[i]) : b.max;
  });
  return { lo, hi };
}

function fmt(x: number): string {
  return String(Number(x.toPrecision(6)));
}
