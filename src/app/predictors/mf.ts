import { chooseBackend } from '../../backends/registry.js';
import type { KernelProblem } from '../../backends/types.js';
import { runFits } from '../../factorization/fit.js';
import type { FactorModel } from '../../factorization/model.js';
import { resolveFitOptions, type FitOptions } from '../../factorization/options.js';
import { buildProblem, toEntries } from '../../factorization/ratings.js';
import type { Dataset } from '../data/dataset.js';
import { fitTransform, type FittedTransform, type TransformKind } from '../transforms/index.js';
import { cellsOf, ratingsOf, type Cells } from '../data/observed-cells.js';
import { argmin, innerHoldout, settingIn } from './baseline-shared.js';
import type { FittedPredictor, PredictContext, Predictor } from './types.js';

/** Settings of one matrix-factorization fit that inner validation chooses among. */
export interface MfSettings {
  rank: number;
  lambda: number;
}

/** How one MF-based predictor trains: algorithm, transform, grid and fixed options. */
export interface MfRecipe {
  name: string;
  description: string;
  transform: TransformKind;
  grid: MfSettings[];
  fixed: FitOptions;
}

function grid(ranks: number[], lambdas: number[]): MfSettings[] {
  return ranks.flatMap((rank) => lambdas.map((lambda) => ({ rank, lambda })));
}

function mse(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return s / a.length;
}

const problems = new WeakMap<Cells, Map<string | number, KernelProblem>>();

/**
 * The kernel problem (CSR/CSC) of a set of cells, built once per cells object and variant (e.g. a
 * side weight) and shared by every candidate of an inner-validation grid: the candidates differ in
 * rank and penalty, not in the matrix. The cells are the predictor's own (never a caller's), so
 * nothing can change them under the cache.
 */
export function sharedProblem(cells: Cells, variant: string | number, build: () => KernelProblem): KernelProblem {
  let byVariant = problems.get(cells);
  if (!byVariant) problems.set(cells, (byVariant = new Map()));
  let p = byVariant.get(variant);
  if (!p) byVariant.set(variant, (p = build()));
  return p;
}

/** One fit to run: a built problem and the options of that fit. */
export interface ProblemJob {
  problem: KernelProblem;
  options: FitOptions;
}

/**
 * Fits of built problems, all started at once, each as its own call on the backend auto (or
 * `ctx.backend`) picks for its size; results do not depend on how they are grouped. One call per
 * fit rather than one fitMany for all: the native core runs a batch's jobs above its small-job size
 * one at a time with the whole team, and cmf's 36 candidates on openllm-v1's 380k-entry joint matrix
 * (rank <= 5, too small to keep two threads busy) took 12.3 s that way against 6.8 s as concurrent
 * calls, which libuv's threads run side by side.
 */
export async function fitProblems(jobs: readonly ProblemJob[], ctx: PredictContext): Promise<FactorModel[]> {
  return Promise.all(
    jobs.map(async (j) => {
      const options = resolveFitOptions({ ...j.options, seed: ctx.seed, threads: ctx.threads ?? 1 });
      const choice = chooseBackend({ nnz: j.problem.nnz, rank: options.rank }, ctx.backend);
      // Predictors read the model, never the per-iteration history: no loss pass after each iteration.
      const [r] = await runFits([{ problem: j.problem, options, validation: null, trackLoss: false }], choice.backend, { signal: ctx.signal, backendReason: choice.reason });
      return r.model;
    }),
  );
}

/** The job of one setting on cells already in transformed space (the problem shared per cells). */
function mfJob(c: Cells, s: MfSettings, r: MfRecipe): ProblemJob {
  const problem = sharedProblem(c, 'scores', () => buildProblem(toEntries(ratingsOf(c), 'ratings', { rank: Math.max(...r.grid.map((g) => g.rank)) })));
  return { problem, options: { ...r.fixed, rank: s.rank, lambda: s.lambda } };
}

/**
 * A new row in a fitted factorization: its scores go to the transformed space, the row is solved
 * with the ALS row equations (the fit's regularisation), and predictions come back per task.
 */
export function foldInRow(model: FactorModel, tf: FittedTransform, scores: ReadonlyArray<{ task: number; value: number }>, nTasks: number): Float64Array {
  const tasks = Int32Array.from(scores, (s) => s.task);
  const z = tf.forwardCells(tasks, Float64Array.from(scores, (s) => s.value));
  const row = model.foldIn(tasks, z);
  const all = Int32Array.from({ length: nTasks }, (_, t) => t);
  return tf.inverseCells(all, row.predictAll().subarray(0, nTasks));
}

/** Keeps inner-validation draws of the MF predictors apart from the baselines' (see innerHoldout). */
const MF_STREAM = 0x6d66;

/**
 * Chooses settings for a factorization-based predictor: fits each candidate on an inner holdout of
 * the training cells (in transformed space) and keeps the one with the lowest squared error there.
 */
export async function chooseOnInnerHoldout<S extends object>(cells: Cells, grid: readonly S[], ctx: PredictContext, stream: number, jobOf: (c: Cells, s: S) => ProblemJob): Promise<S> {
  const fixed = settingIn(grid, ctx.settings);
  if (fixed) return fixed;
  if (grid.length === 1 || cells.value.length < 20) return grid[0];
  const { fit: inner, hold } = innerHoldout(cells, ctx.seed, stream);
  if (hold.value.length === 0) return grid[0];
  // The candidates are independent fits on shared problems, started together.
  const models = await fitProblems(grid.map((s) => jobOf(inner, s)), ctx);
  const errors = models.map((m) => mse(m.predictMany(hold.model, hold.task), hold.value));
  return grid[argmin(errors)];
}

/**
 * Builds a Predictor from a recipe: transform the training cells per task, choose rank and lambda
 * on an inner holdout of the training cells, refit on all of them, predict and transform back.
 */
export function mfPredictor(r: MfRecipe): Predictor {
  return {
    name: r.name,
    description: r.description,
    usesFactors: false,
    canFoldIn: true,
    async fit(train: Dataset, ctx: PredictContext): Promise<FittedPredictor> {
      const tf = fitTransform(r.transform, train);
      const raw = cellsOf(train);
      const cells: Cells = { ...raw, value: tf.forwardCells(raw.task, raw.value) };
      const best = await chooseOnInnerHoldout(cells, r.grid, ctx, MF_STREAM, (c, s) => mfJob(c, s, r));
      const [model] = await fitProblems([mfJob(cells, best, r)], ctx);
      return {
        chosen: { rank: best.rank, lambda: best.lambda, transform: r.transform },
        predict: (models, tasks) => tf.inverseCells(tasks, model.predictMany(models, tasks)),
        foldIn: (scores) => foldInRow(model, tf, scores, train.tasks.length),
      };
    },
  };
}

/**
 * The CPP paper's matrix factorization: SGD on min-max-normalised scores (no side information).
 */
export const mfSgdPredictor: Predictor = mfPredictor({
  name: 'mf-sgd',
  description: "the CPP paper's matrix factorization: SGD on min-max normalised scores, rank and L2 by inner validation",
  transform: 'minmax',
  grid: grid([2, 4, 8], [0.01, 0.05, 0.2]),
  fixed: { algo: 'sgd', iters: 200, learningRate: 0.05, lrDecay: 0.01, useBias: true, sgdMode: 'deterministic' },
});

/**
 * Bias-decomposed low-rank ALS in z-score space: mean + model bias + task bias + a low-rank
 * interaction, the form of the strongest recent matrix-completion results on LLM leaderboards.
 */
export const mfAlsPredictor: Predictor = mfPredictor({
  name: 'mf-als',
  description: 'bias-decomposed low-rank ALS on per-task z-scores, rank and L2 by inner validation',
  transform: 'zscore',
  grid: grid([1, 2, 3, 5], [0.3, 1, 3, 10]),
  fixed: { algo: 'als', iters: 30, useBias: true, weightedLambda: false },
});
