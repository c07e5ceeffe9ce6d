/**
 * The logit ALS predictor: each task's scores go to an unbounded space (logit of the share of the
 * task's scale for bounded tasks, z-scores otherwise), where score ≈ global mean + model bias + task
 * bias + a rank-r interaction, fitted by regularised alternating least squares (the factorization
 * API's ALS with biases, on the backend the context chooses: batched on the native core's threads),
 * several random starts averaged, then mapped back. Accuracy near 0 % and 100 % saturates on real leaderboards;
 * in logit space a model's lead is additive across easy and hard tasks alike, so a low rank fits.
 */
import { chooseBackend } from '../../backends/registry.js';
import type { KernelBackend, KernelProblem } from '../../backends/types.js';
import { runFits } from '../../factorization/fit.js';
import { resolveFitOptions, type ResolvedFitOptions } from '../../factorization/options.js';
import { buildProblem, toEntries } from '../../factorization/ratings.js';
import { Rng } from '../../numeric/rng.js';
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

/** The fit options of one bias + low-rank fit (the penalty on the biases fixed, no early stopping). */
function fitOptions(rank: number, lambda: number, seed: number, threads: number, sweeps: number): ResolvedFitOptions {
  return resolveFitOptions({ algo: 'als', rank, lambda, lambdaBias: LOGIT_ALS_BIAS_LAMBDA, useBias: true, weightedLambda: false, iters: sweeps, seed, threads });
}

/**
 * The kernel problem of cells in the transformed space, tasks as rows and models as columns: a
 * sweep then solves the task side first, as the alternation starts.
 */
function taskMajorProblem(c: Cells, maxRank: number): KernelProblem {
  return buildProblem(toEntries({ rows: c.task, cols: c.model, values: c.value, nRows: c.nTasks, nCols: c.nModels }, 'ratings', { rank: maxRank }));
}

/** The seeded random start of one fit: task factors, then model factors, uniform in ±0.3. */
function randomStart(c: Cells, rank: number, seed: number): { U: Float64Array; V: Float64Array } {
  const rng = new Rng(seed, STREAM + rank);
  const tasks = new Float64Array(c.nTasks * rank);
  const models = new Float64Array(c.nModels * rank);
  for (let i = 0; i < tasks.length; i++) tasks[i] = 0.3 * (rng.nextDouble() * 2 - 1);
  for (let i = 0; i < models.length; i++) models[i] = 0.3 * (rng.nextDouble() * 2 - 1);
  return { U: tasks, V: models };
}

/** One fit of {@link fitBiasLowRanks}: rank, penalty and the seed of its random start. */
export interface BiasLowRankSpec {
  rank: number;
  lambda: number;
  seed: number;
}

/** How {@link fitBiasLowRanks} runs its fits: the backend, its threads, cancellation. */
export interface BiasLowRankRun {
  backend: KernelBackend;
  threads?: number;
  signal?: AbortSignal;
}

/**
 * Fits y ≈ mu + a[model] + b[task] + U[model]·V[task] on cells already in the transformed space,
 * once per spec, by {@link LOGIT_ALS_SWEEPS} sweeps of exact ridge solves of (task bias, task
 * factors) and then (model bias, model factors) from a seeded random start: the factorization
 * API's ALS with biases (unweighted penalties, the biases' fixed at {@link LOGIT_ALS_BIAS_LAMBDA}),
 * every fit in one batch on `run.backend` (natively, spread over the core's threads). `mu` is the
 * mean of the cells.
 */
export async function fitBiasLowRanks(c: Cells, specs: readonly BiasLowRankSpec[], run: BiasLowRankRun, sweeps = LOGIT_ALS_SWEEPS): Promise<BiasLowRankFit[]> {
  const problem = taskMajorProblem(c, Math.max(...specs.map((s) => s.rank)));
  const fits = await runFits(
    specs.map((s) => ({ problem, options: fitOptions(s.rank, s.lambda, s.seed, run.threads ?? 1, sweeps), validation: null, start: randomStart(c, s.rank, s.seed), trackLoss: false })),
    run.backend,
    { signal: run.signal },
  );
  return fits.map(({ model }, i) => ({
    rank: specs[i].rank,
    mu: model.mu,
    modelBias: model.colBias as Float64Array,
    taskBias: model.rowBias as Float64Array,
    U: model.V as Float64Array,
    V: model.U as Float64Array,
  }));
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
 * 15% inner holdout (one start each, all in one batch; none with a one-entry grid), then `starts`
 * fits with the chosen setting (one batch). Deterministic for the seed, and the same on every
 * backend (the ALS of ranks 1-3 is bit-identical on native and TypeScript), so the worker of
 * {@link fitLogitAlsOffThread} gives the main thread's result bit for bit.
 */
export async function fitLogitAlsModel(c: Cells, job: LogitAlsJob, run: BiasLowRankRun): Promise<LogitAlsModel> {
  const { grid, starts, seed } = job;
  let best = grid.find((g) => g.rank === 2 && g.lambda === 3) ?? grid[0];
  if (grid.length > 1 && c.value.length >= 20) {
    const { fit, hold } = innerHoldout(c, seed, STREAM);
    if (hold.value.length >= 5) {
      throwIfAborted(run.signal, 'the logit-als fit');
      const candidates = await fitBiasLowRanks(fit, grid.map((g) => ({ ...g, seed })), run);
      const errors = candidates.map((f) => {
        let s = 0;
        for (let i = 0; i < hold.value.length; i++) s += (predictOne(f, hold.model[i], hold.task[i]) - hold.value[i]) ** 2;
        return s / hold.value.length;
      });
      best = grid[argmin(errors)];
    }
  }
  const fits = await fitBiasLowRanks(c, Array.from({ length: starts }, (_, s) => ({ rank: best.rank, lambda: best.lambda, seed: seed + 7919 * s })), run);
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
      const choice = chooseBackend({ nnz: c.value.length, rank: Math.max(...job.grid.map((g) => g.rank)) }, ctx.backend);
      const inline = (): Promise<LogitAlsModel> => fitLogitAlsModel(c, job, { backend: choice.backend, threads: ctx.threads, signal: ctx.signal });
      // The TypeScript backend computes on the thread that calls it: there, the fit goes to the
      // worker, beside the main thread's neighbour methods. A native fit is off the main thread already.
      const { best, fits } = (choice.backend.name === 'ts' ? await fitLogitAlsOffThread(c, job, inline, ctx.signal) : null) ?? (await inline());
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
