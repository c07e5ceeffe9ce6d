/**
 * The logit ALS predictor: each task's scores go to an unbounded space (logit of the share of the
 * task's scale for bounded tasks, z-scores otherwise), where score ≈ global mean + model bias + task
 * bias + a rank-r interaction, fitted by regularised alternating least squares, several random
 * starts averaged, then mapped back. Accuracy near 0 % and 100 % saturates on real leaderboards;
 * in logit space a model's lead is additive across easy and hard tasks alike, so a low rank fits.
 */
import { choleskyInPlace, choleskySolveInPlace } from '../../numeric/cholesky.js';
import { Rng } from '../../numeric/rng.js';
import { CollabperfError } from '../../errors.js';
import { scaleBounds, type Dataset } from '../data/dataset.js';
import { solveSpd } from '../linalg/dense.js';
import { cellsOf, type Cells } from '../data/observed-cells.js';
import { argmin, checkPredictArgs, innerHoldout, settingIn, throwIfAborted } from './baseline-shared.js';
import { fitLogitAlsOffThread, markOffThread } from './fit-pool.js';
import { taskStats } from '../stats/task-stats.js';
import type { FittedPredictor, PredictContext, Predictor } from './types.js';

/** Ranks tried by inner validation (never more than tasks − 1). */
export const LOGIT_ALS_RANKS: readonly number[] = [1, 2, 3];
/** Penalties on the factors tried by inner validation, in pseudo-cells of logit units. */
export const LOGIT_ALS_LAMBDAS: readonly number[] = [0.3, 1, 3, 10, 30];
/** Penalty on the model and task biases, in pseudo-cells. */
export const LOGIT_ALS_BIAS_LAMBDA = 1;
/** Random starts averaged (in logit space) for the final fit. */
export const LOGIT_ALS_STARTS = 3;
/** ALS sweeps per fit. */
export const LOGIT_ALS_SWEEPS = 25;

const STREAM = 0x6c6f6769;

/** How one task's scores map to the fitted space and back. */
export interface LogitTaskMap {
  kind: 'logit' | 'zscore';
  /** logit: scale bounds; zscore: mean (`lo`) and spread (`hi`). */
  lo: number;
  hi: number;
  /** logit: the smoothing count n of p' = (p (n − 1) + ½) / n. */
  n: number;
}

/**
 * Per-task maps fitted on the training cells. A bounded task (declared scale, or all training values
 * in [0, 1]) is logit-mapped: share p of the scale, clipped to [0, 1], smoothed to
 * p' = (p (n − 1) + ½) / n so that exact 0 and 1 stay finite, with n the task's cell count held in
 * [10, 200] (few cells would over-shrink, many would push 0 % to a logit of −9 and let saturated cells
 * dominate the squares); anything else is z-scored with the mean and sd of {@link taskStats} (whose
 * fallback policy covers a constant task and one without cells).
 */
export function fitLogitMaps(ds: Dataset, c: Cells = cellsOf(ds)): LogitTaskMap[] {
  const st = taskStats(c);
  const cnt = st.count;
  return ds.tasks.map((task, t) => {
    const n = Math.min(200, Math.max(10, cnt[t]));
    if (task.scale !== undefined) {
      const b = scaleBounds(task.scale);
      return { kind: 'logit', lo: b.min, hi: b.max, n };
    }
    if (cnt[t] > 0 && st.min[t] >= 0 && st.max[t] <= 1) return { kind: 'logit', lo: 0, hi: 1, n };
    return { kind: 'zscore', lo: st.mean[t], hi: st.sd[t], n: cnt[t] };
  });
}

/** A score → the fitted space. */
export function logitForward(m: LogitTaskMap, x: number): number {
  if (m.kind === 'zscore') return (x - m.lo) / m.hi;
  const p = Math.min(1, Math.max(0, (x - m.lo) / (m.hi - m.lo)));
  const q = (p * (m.n - 1) + 0.5) / m.n;
  return Math.log(q / (1 - q));
}

/** The fitted space → the task's own scale (inverse of {@link logitForward} inside the scale). */
export function logitInverse(m: LogitTaskMap, z: number): number {
  if (m.kind === 'zscore') return m.lo + m.hi * z;
  const q = 1 / (1 + Math.exp(-z));
  const p = Math.min(1, Math.max(0, (q * m.n - 0.5) / (m.n - 1)));
  return m.lo + p * (m.hi - m.lo);
}

/** Parameters of one bias + low-rank fit in the transformed space. */
export interface BiasLowRankFit {
  rank: number;
  mu: number;
  modelBias: Float64Array;
  taskBias: Float64Array;
  /** models × rank, row-major. */
  U: Float64Array;
  /** tasks × rank, row-major. */
  V: Float64Array;
}

/** Cell positions grouped by row key (CSR). */
function groupBy(key: Int32Array, n: number): { start: Int32Array; idx: Int32Array } {
  const start = new Int32Array(n + 1);
  for (let e = 0; e < key.length; e++) start[key[e] + 1]++;
  for (let i = 0; i < n; i++) start[i + 1] += start[i];
  const fill = start.slice(0, n);
  const idx = new Int32Array(key.length);
  for (let e = 0; e < key.length; e++) idx[fill[key[e]]++] = e;
  return { start, idx };
}

/**
 * Solves one side of the ALS: for each row i of `own` (bias `ob`, factors `OF`), the penalised least
 * squares of y − mu − otherBias − OF_i·other factors over its cells, unknowns (bias, factors).
 */
/**
 * The normal equations of one row for rank <= 3 (the ranks inner validation tries), summed in local
 * variables: the same products added in the same order as the general loop (x0 = 1, so its
 * products are exact), hence the same bits, without an array store per product. One loop per rank,
 * so that each stays monomorphic. Writes the lower triangle of A (p x p, p = r + 1) and b.
 */
function accumulateSmall(idx: Int32Array, s: number, end: number, otherKey: Int32Array, y: Float64Array, mu: number, otherBias: Float64Array, otherF: Float64Array, r: number, A: Float64Array, b: Float64Array): void {
  let a00 = 0, a10 = 0, a11 = 0, a20 = 0, a21 = 0, a22 = 0, a30 = 0, a31 = 0, a32 = 0, a33 = 0;
  let b0 = 0, b1 = 0, b2 = 0, b3 = 0;
  if (r === 1) {
    for (let j = s; j < end; j++) {
      const e = idx[j];
      const o = otherKey[e];
      const t = y[e] - mu - otherBias[o];
      const x1 = otherF[o];
      b0 += 1 * t;
      a00 += 1 * 1;
      b1 += x1 * t;
      a10 += x1 * 1;
      a11 += x1 * x1;
    }
  } else if (r === 2) {
    for (let j = s; j < end; j++) {
      const e = idx[j];
      const o = otherKey[e];
      const t = y[e] - mu - otherBias[o];
      const x1 = otherF[2 * o];
      const x2 = otherF[2 * o + 1];
      b0 += 1 * t;
      a00 += 1 * 1;
      b1 += x1 * t;
      a10 += x1 * 1;
      a11 += x1 * x1;
      b2 += x2 * t;
      a20 += x2 * 1;
      a21 += x2 * x1;
      a22 += x2 * x2;
    }
  } else {
    for (let j = s; j < end; j++) {
      const e = idx[j];
      const o = otherKey[e];
      const t = y[e] - mu - otherBias[o];
      const x1 = otherF[3 * o];
      const x2 = otherF[3 * o + 1];
      const x3 = otherF[3 * o + 2];
      b0 += 1 * t;
      a00 += 1 * 1;
      b1 += x1 * t;
      a10 += x1 * 1;
      a11 += x1 * x1;
      b2 += x2 * t;
      a20 += x2 * 1;
      a21 += x2 * x1;
      a22 += x2 * x2;
      b3 += x3 * t;
      a30 += x3 * 1;
      a31 += x3 * x1;
      a32 += x3 * x2;
      a33 += x3 * x3;
    }
  }
  const p = r + 1;
  b[0] = b0;
  A[0] = a00;
  b[1] = b1;
  A[p] = a10;
  A[p + 1] = a11;
  if (r >= 2) {
    b[2] = b2;
    A[2 * p] = a20;
    A[2 * p + 1] = a21;
    A[2 * p + 2] = a22;
  }
  if (r >= 3) {
    b[3] = b3;
    A[3 * p] = a30;
    A[3 * p + 1] = a31;
    A[3 * p + 2] = a32;
    A[3 * p + 3] = a33;
  }
}

function solveSide(
  groups: { start: Int32Array; idx: Int32Array },
  n: number,
  otherKey: Int32Array,
  y: Float64Array,
  mu: number,
  ob: Float64Array,
  OF: Float64Array,
  otherBias: Float64Array,
  otherF: Float64Array,
  r: number,
  lambda: number,
): void {
  const p = r + 1;
  const A = new Float64Array(p * p);
  const b = new Float64Array(p);
  const x = new Float64Array(p);
  for (let i = 0; i < n; i++) {
    const s = groups.start[i];
    const end = groups.start[i + 1];
    if (end === s) {
      ob[i] = 0;
      for (let k = 0; k < r; k++) OF[i * r + k] = 0;
      continue;
    }
    if (r >= 1 && r <= 3) accumulateSmall(groups.idx, s, end, otherKey, y, mu, otherBias, otherF, r, A, b);
    else {
      A.fill(0);
      b.fill(0);
      for (let j = s; j < end; j++) {
        const e = groups.idx[j];
        const o = otherKey[e];
        x[0] = 1;
        for (let k = 0; k < r; k++) x[k + 1] = otherF[o * r + k];
        const target = y[e] - mu - otherBias[o];
        for (let a = 0; a < p; a++) {
          b[a] += x[a] * target;
          for (let c2 = 0; c2 <= a; c2++) A[a * p + c2] += x[a] * x[c2];
        }
      }
    }
    A[0] += LOGIT_ALS_BIAS_LAMBDA;
    for (let k = 1; k < p; k++) A[k * p + k] += lambda;
    // In place on the lower triangle: no allocation per row (this loop is most of the fit).
    if (!choleskyInPlace(A, p)) throw new CollabperfError('E_NUMERIC', `logit-als: the normal equations of row ${i} are not positive definite`);
    choleskySolveInPlace(A, p, b);
    ob[i] = b[0];
    for (let k = 0; k < r; k++) OF[i * r + k] = b[k + 1];
  }
}

/**
 * Fits y ≈ mu + a[model] + b[task] + U[model]·V[task] on cells already in the transformed space, by
 * alternating exact ridge solves of (model bias, model factors) and (task bias, task factors), from a
 * seeded random start. `mu` is the mean of the cells (the biases absorb the rest).
 */
export function fitBiasLowRank(c: Cells, rank: number, lambda: number, seed: number, sweeps = LOGIT_ALS_SWEEPS): BiasLowRankFit {
  const { nModels: M, nTasks: T } = c;
  const r = rank;
  let mu = 0;
  for (let e = 0; e < c.value.length; e++) mu += c.value[e];
  mu = c.value.length ? mu / c.value.length : 0;
  const a = new Float64Array(M);
  const b = new Float64Array(T);
  const U = new Float64Array(M * r);
  const V = new Float64Array(T * r);
  const rng = new Rng(seed, STREAM + rank);
  for (let i = 0; i < V.length; i++) V[i] = 0.3 * (rng.nextDouble() * 2 - 1);
  for (let i = 0; i < U.length; i++) U[i] = 0.3 * (rng.nextDouble() * 2 - 1);
  const byModel = groupBy(c.model, M);
  const byTask = groupBy(c.task, T);
  for (let s = 0; s < sweeps; s++) {
    solveSide(byTask, T, c.model, c.value, mu, b, V, a, U, r, lambda);
    solveSide(byModel, M, c.task, c.value, mu, a, U, b, V, r, lambda);
  }
  return { rank, mu, modelBias: a, taskBias: b, U, V };
}

function predictOne(f: BiasLowRankFit, m: number, t: number): number {
  let v = f.mu + f.modelBias[m] + f.taskBias[t];
  for (let k = 0; k < f.rank; k++) v += f.U[m * f.rank + k] * f.V[t * f.rank + k];
  return v;
}

/** What {@link fitLogitAlsModel} fits: the candidate settings, the random starts averaged, the seed. */
export interface LogitAlsJob {
  grid: ReadonlyArray<{ rank: number; lambda: number }>;
  starts: number;
  seed: number;
}

/** The settings chosen and the fits of the starts, averaged at prediction. */
export interface LogitAlsModel {
  best: { rank: number; lambda: number };
  fits: BiasLowRankFit[];
}

/**
 * The whole logit-ALS fit of cells already in the transformed space: rank and penalty on a seeded
 * 15% inner holdout (one start each; none with a one-entry grid), then `starts` fits with the chosen
 * setting. Pure and deterministic for the seed, so the worker of {@link fitLogitAlsOffThread} gives
 * the main thread's result bit for bit.
 */
export function fitLogitAlsModel(c: Cells, job: LogitAlsJob, signal?: AbortSignal): LogitAlsModel {
  const { grid, starts, seed } = job;
  let best = grid.find((g) => g.rank === 2 && g.lambda === 3) ?? grid[0];
  if (grid.length > 1 && c.value.length >= 20) {
    const { fit, hold } = innerHoldout(c, seed, STREAM);
    if (hold.value.length >= 5) {
      const errors = grid.map((g) => {
        throwIfAborted(signal, 'the logit-als fit');
        const f = fitBiasLowRank(fit, g.rank, g.lambda, seed);
        let s = 0;
        for (let i = 0; i < hold.value.length; i++) s += (predictOne(f, hold.model[i], hold.task[i]) - hold.value[i]) ** 2;
        return s / hold.value.length;
      });
      best = grid[argmin(errors)];
    }
  }
  const fits: BiasLowRankFit[] = [];
  for (let s = 0; s < starts; s++) fits.push(fitBiasLowRank(c, best.rank, best.lambda, seed + 7919 * s));
  return { best: { rank: best.rank, lambda: best.lambda }, fits };
}

/** Options of {@link logitAlsPredictor}. */
export interface LogitAlsOptions {
  name?: string;
  /** Ranks inner validation chooses among (default {@link LOGIT_ALS_RANKS}). */
  ranks?: readonly number[];
  lambdas?: readonly number[];
  starts?: number;
}

/**
 * Logit-space bias-decomposed low-rank ALS. Scores are mapped per task by {@link fitLogitMaps}; rank
 * and factor penalty are chosen on a seeded 15 % inner holdout of the training cells (squared error in
 * the transformed space, one start each); the final fit averages {@link LOGIT_ALS_STARTS} random
 * starts in the transformed space and maps back. A model without cells gets the task's typical score.
 * `chosen`: `{ rank, lambda, starts }`.
 */
export function logitAlsPredictor(opts: LogitAlsOptions = {}): Predictor {
  const name = opts.name ?? 'logit-als';
  const lambdas = opts.lambdas ?? LOGIT_ALS_LAMBDAS;
  const starts = opts.starts ?? LOGIT_ALS_STARTS;
  const p: Predictor = {
    name,
    description: `logit-space global + model + task bias + rank-${(opts.ranks ?? LOGIT_ALS_RANKS).join('/')} ALS, averaged random starts (rank and L2 by inner validation)`,
    usesFactors: false,
    portable: true,
    canFoldIn: true,
    async fit(train: Dataset, ctx: PredictContext): Promise<FittedPredictor> {
      throwIfAborted(ctx.signal, `the ${name} fit`);
      const raw = cellsOf(train);
      const maps = fitLogitMaps(train, raw);
      const z = Float64Array.from(raw.value, (v, e) => logitForward(maps[raw.task[e]], v));
      const c: Cells = { ...raw, value: z };
      const ranks = (opts.ranks ?? LOGIT_ALS_RANKS).filter((r) => r >= 1 && r <= Math.max(1, c.nTasks - 1));
      const grid = ranks.flatMap((rank) => lambdas.map((lambda) => ({ rank, lambda })));
      const fixed = settingIn(grid, ctx.settings);
      const job = { grid: fixed ? [fixed] : grid, starts, seed: ctx.seed };
      const inline = (): LogitAlsModel => fitLogitAlsModel(c, job, ctx.signal);
      const { best, fits } = (await fitLogitAlsOffThread(c, job, inline, ctx.signal)) ?? inline();
      const zAt = (m: number, t: number): number => {
        let v = 0;
        for (const f of fits) v += predictOne(f, m, t);
        return v / fits.length;
      };
      return {
        chosen: { rank: best.rank, lambda: best.lambda, starts },
        predict(models: Int32Array, tasks: Int32Array): Float64Array {
          checkPredictArgs(models, tasks, c.nModels, c.nTasks);
          return Float64Array.from(models, (m, i) => logitInverse(maps[tasks[i]], zAt(m, tasks[i])));
        },
        foldIn(scores) {
          const T = c.nTasks;
          const out = new Float64Array(T);
          for (const f of fits) {
            const r = f.rank;
            const p = r + 1;
            const A = new Float64Array(p * p);
            const bb = new Float64Array(p);
            const x = new Float64Array(p);
            for (const s of scores) {
              x[0] = 1;
              for (let k = 0; k < r; k++) x[k + 1] = f.V[s.task * r + k];
              const target = logitForward(maps[s.task], s.value) - f.mu - f.taskBias[s.task];
              for (let a = 0; a < p; a++) {
                bb[a] += x[a] * target;
                for (let b2 = 0; b2 < p; b2++) A[a * p + b2] += x[a] * x[b2];
              }
            }
            A[0] += LOGIT_ALS_BIAS_LAMBDA;
            for (let k = 1; k < p; k++) A[k * p + k] += best.lambda;
            const sol = solveSpd(A, bb, p);
            for (let t = 0; t < T; t++) {
              let v = f.mu + f.taskBias[t] + sol[0];
              for (let k = 0; k < r; k++) v += sol[k + 1] * f.V[t * r + k];
              out[t] += v / fits.length;
            }
          }
          return Float64Array.from(out, (v, t) => logitInverse(maps[t], v));
        },
      };
    },
  };
  markOffThread(p);
  return p;
}

/** The default logit ALS (ranks 1–3 by inner validation). */
export const logitAlsPredictor123: Predictor = logitAlsPredictor();
/** The rank-2 reference of bench:accuracy (penalty still by inner validation). */
export const logitAls2Predictor: Predictor = logitAlsPredictor({ name: 'logit-als-2', ranks: [2] });
