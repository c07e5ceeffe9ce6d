/**
 * The PCA predictor, after the observational scaling laws paper (Ruan et al.): a model's scores on
 * many benchmarks are summarised by a few principal components ("capability dimensions"), and each
 * task's score is a linear function of them. Missing cells are handled by iterative low-rank
 * imputation of the per-task z-scored matrix (iterative SVD); each task is then regressed on the
 * models' component scores over its observed cells.
 */
import type { Dataset } from '../data/dataset.js';
import { ridgeRegression, solveSpd, topEigenvectors } from '../linalg/dense.js';
import { cellsOf, type Cells } from '../data/observed-cells.js';
import { argmin, checkPredictArgs, clipRanges, innerHoldout, scaledMse, throwIfAborted } from './baseline-shared.js';
import { taskStats } from '../stats/task-stats.js';
import type { FittedPredictor, PredictContext, Predictor } from './types.js';

/**
 * Soft threshold of the imputation, as a share of √models + √tasks (about the largest singular value
 * of a models × tasks matrix of unit-variance noise, the scale of the z-scored matrix). Without it
 * (plain iterative SVD) the imputed cells of sparse matrices keep drifting for hundreds of iterations
 * and held-out error grows with every one of them (crowdsource, 5 seeds of 10 % held out: MAE 5.18
 * after 10 iterations, 5.49 after 1000); with 0.2 the loop converges in about a hundred and MAE is
 * 5.05 (0.1: 4.94 but 0.290 vs 0.277 on helm-core; 0.6: 5.95).
 */
export const PCA_SOFT_THRESHOLD = 0.2;
/** Largest rank inner validation tries (and never more than tasks − 1). */
export const PCA_MAX_RANK = 5;
/** Imputation stops when the imputed cells move by less than this RMS (z-units) in one iteration… */
export const PCA_TOLERANCE = 1e-4;
/** …or after this many iterations. */
export const PCA_MAX_ITERATIONS = 200;
/**
 * Ridge penalty of the per-task regressions on unit-variance component scores, in pseudo-cells. Light:
 * it matters only for a task with few observed cells, where r + 1 coefficients would otherwise fit
 * them exactly.
 */
export const PCA_RIDGE = 1;
/**
 * Over-relaxation of the imputation step: each missing cell moves 1.5 times its step towards the new
 * reconstruction. Same fixed point, about a third fewer iterations (crowdsource, frontier, helm-core,
 * obsscaling, 3 fits each: 1,909 -> 1,274, 3,487 -> 2,367, 2,951 -> 2,107, 301 -> 206); 1.8 made
 * obsscaling slower again.
 */
export const PCA_RELAX = 1.5;

const STREAM = 0x706361;

/** Low-rank imputation of a z-scored matrix. */
export interface LowRankImputation {
  rank: number;
  /** Column means of the completed matrix (length tasks). */
  mean: Float64Array;
  /** tasks × rank principal directions, column k = component k (row-major, `t * rank + k`). */
  components: Float64Array;
  /** models × rank component scores of the completed matrix (row-major). */
  scores: Float64Array;
  /** The completed matrix: observed cells as given, missing ones imputed (models × tasks). */
  completed: Float64Array;
  iterations: number;
}

/**
 * Soft-thresholded iterative SVD imputation (soft-impute restricted to rank `rank`): start with missing
 * cells at their column's mean, then repeatedly take the top `rank` principal components of the
 * completed matrix (eigenvectors of its tasks × tasks covariance) and replace the missing cells by the
 * rank-`rank` reconstruction with each singular value σ lowered to max(σ − λ, 0), until the imputed
 * cells stop moving. λ = `softThreshold` · (√models + √tasks); 0 gives plain iterative SVD ("hard
 * impute"). `X` is models × tasks row-major with NaN for missing; it is not modified. `start`
 * (same shape, optional) gives the missing cells' starting values instead of the column means: a
 * completion of a nearby problem (another rank, a few more or fewer cells) starts near the fixed
 * point, so the loop needs a fraction of the iterations.
 */
export function imputeLowRank(X: Float64Array, nModels: number, nTasks: number, rank: number, softThreshold = PCA_SOFT_THRESHOLD, signal?: AbortSignal, start?: Float64Array): LowRankImputation {
  const T = nTasks;
  const M = nModels;
  const Z = Float64Array.from(X);
  const missing: number[] = [];
  const colMean = new Float64Array(T);
  const colCount = new Int32Array(T);
  for (let i = 0; i < M * T; i++) {
    if (Z[i] === Z[i]) {
      colMean[i % T] += Z[i];
      colCount[i % T]++;
    } else {
      missing.push(i);
    }
  }
  for (let t = 0; t < T; t++) colMean[t] = colCount[t] > 0 ? colMean[t] / colCount[t] : 0;
  for (const i of missing) Z[i] = start && start[i] === start[i] ? start[i] : colMean[i % T];

  const mean = new Float64Array(T);
  const C = new Float64Array(T * T);
  const V = new Float64Array(T * rank);
  const S = new Float64Array(M * rank);
  const Zc = new Float64Array(M * T);
  let basis: Float64Array | undefined;
  const shrink = new Float64Array(rank);
  const threshold = softThreshold * (Math.sqrt(M) + Math.sqrt(T));
  let iterations = 0;
  for (;;) {
    iterations++;
    mean.fill(0);
    for (let m = 0; m < M; m++) for (let t = 0; t < T; t++) mean[t] += Z[m * T + t];
    for (let t = 0; t < T; t++) mean[t] /= Math.max(1, M);
    // The centred matrix once per iteration, for the covariance and the scores alike.
    for (let m = 0; m < M; m++) {
      const o = m * T;
      for (let t = 0; t < T; t++) Zc[o + t] = Z[o + t] - mean[t];
    }
    C.fill(0);
    for (let m = 0; m < M; m++) {
      const o = m * T;
      for (let t = 0; t < T; t++) {
        const v = Zc[o + t];
        if (v === 0) continue;
        const ct = t * T;
        for (let u = 0; u <= t; u++) C[ct + u] += v * Zc[o + u];
      }
    }
    for (let t = 0; t < T; t++) for (let u = 0; u < t; u++) C[u * T + t] = C[t * T + u];
    // The covariance changes little between iterations: after an exact first decomposition, two
    // subspace-iteration steps from the previous components track it at O(tasks² · rank) per
    // iteration; the imputation loop converges to the same fixed point.
    const top = topEigenvectors(C, T, rank, basis ? { start: basis, steps: 2 } : {});
    basis = top.vectors;
    V.set(top.vectors);
    for (let k = 0; k < rank; k++) {
      // Eigenvalues of the unnormalised covariance are the squared singular values.
      const sv = Math.sqrt(Math.max(0, top.values[k]));
      shrink[k] = sv > threshold ? (sv - threshold) / sv : 0;
    }
    for (let m = 0; m < M; m++) {
      const o = m * T;
      for (let k = 0; k < rank; k++) {
        let s = 0;
        for (let t = 0; t < T; t++) s += Zc[o + t] * V[t * rank + k];
        S[m * rank + k] = s;
      }
    }
    if (missing.length === 0 || iterations >= PCA_MAX_ITERATIONS) break;
    let change = 0;
    for (const i of missing) {
      const m = (i / T) | 0;
      const t = i - m * T;
      let v = mean[t];
      for (let k = 0; k < rank; k++) v += shrink[k] * S[m * rank + k] * V[t * rank + k];
      change += (v - Z[i]) ** 2;
      Z[i] += PCA_RELAX * (v - Z[i]);
    }
    if (Math.sqrt(change / missing.length) < PCA_TOLERANCE) break;
    if (iterations % 16 === 0) throwIfAborted(signal, 'the pca fit');
  }
  return { rank, mean, components: V, scores: S, completed: Z, iterations };
}

/** A fitted PCA model: component scores per model and one linear map per task. */
interface PcaFit {
  rank: number;
  iterations: number;
  /** models × rank unit-variance component scores. */
  scores: Float64Array;
  intercept: Float64Array;
  /** tasks × rank coefficients. */
  coef: Float64Array;
  /** Per-task spread of the z-scores (taskStats), the units of {@link foldInPca}'s residuals. */
  sd: Float64Array;
  /** The imputed matrix in the tasks' own units (models × tasks); undefined for rank 0. */
  completed?: Float64Array;
}

/**
 * Fits PCA of `rank` on the cells. `start` (models × tasks, in the tasks' own units, NaN = none) seeds
 * the imputation, e.g. with {@link PcaFit.completed} of the inner-validation fit; the fit's own completion is
 * returned in the same units so a later fit can start from it.
 */
function fitPca(c: Cells, rank: number, signal?: AbortSignal, start?: Float64Array): PcaFit {
  const { nModels: M, nTasks: T } = c;
  const mom = taskStats(c);
  const X = new Float64Array(M * T).fill(NaN);
  for (let e = 0; e < c.value.length; e++) X[c.model[e] * T + c.task[e]] = (c.value[e] - mom.mean[c.task[e]]) / mom.sd[c.task[e]];
  let scores: Float64Array = new Float64Array(0);
  let iterations = 0;
  let completed: Float64Array | undefined;
  if (rank > 0) {
    const z0 = start ? Float64Array.from(start, (v, i) => (v - mom.mean[i % T]) / mom.sd[i % T]) : undefined;
    const imp = imputeLowRank(X, M, T, rank, PCA_SOFT_THRESHOLD, signal, z0);
    iterations = imp.iterations;
    scores = imp.scores;
    completed = Float64Array.from(imp.completed, (z, i) => z * mom.sd[i % T] + mom.mean[i % T]);
    // Unit variance per component so that one ridge penalty treats every component alike.
    for (let k = 0; k < rank; k++) {
      let ss = 0;
      for (let m = 0; m < M; m++) ss += scores[m * rank + k] ** 2;
      const sd = Math.sqrt(ss / Math.max(1, M)) || 1;
      for (let m = 0; m < M; m++) scores[m * rank + k] /= sd;
    }
  }
  const byTask: number[][] = Array.from({ length: T }, () => []);
  for (let e = 0; e < c.value.length; e++) byTask[c.task[e]].push(e);
  const intercept = new Float64Array(T);
  const coef = new Float64Array(T * rank);
  for (let t = 0; t < T; t++) {
    const cells = byTask[t];
    if (cells.length === 0) {
      intercept[t] = mom.mean[t];
      continue;
    }
    const F = new Float64Array(cells.length * rank);
    cells.forEach((e, i) => {
      for (let k = 0; k < rank; k++) F[i * rank + k] = scores[c.model[e] * rank + k];
    });
    const y = Float64Array.from(cells, (e) => c.value[e]);
    // Features have unit variance, so the penalty counts in cells whatever the scale of y.
    const fit = ridgeRegression(F, y, cells.length, rank, { lambda: PCA_RIDGE });
    intercept[t] = fit.intercept;
    coef.set(fit.coef, t * rank);
  }
  return { rank, iterations, scores, intercept, coef, sd: mom.sd, completed };
}

function predictPca(f: PcaFit, m: number, t: number): number {
  let v = f.intercept[t];
  for (let k = 0; k < f.rank; k++) v += f.coef[t * f.rank + k] * f.scores[m * f.rank + k];
  return v;
}

/**
 * Predictions for every task of a model that is not in the table: its unit-variance component scores
 * `s` solve the ridge least squares of its known scores on the tasks' fitted maps,
 * min Σ ((y_t − intercept_t − coef_t·s) / sd_t)² + {@link PCA_RIDGE} |s|², the same penalty in the
 * same units (z-units, unit-variance components) as the per-task regressions. No score gives s = 0,
 * the average model.
 */
function foldInPca(f: PcaFit, scores: ReadonlyArray<{ task: number; value: number }>, nTasks: number): Float64Array {
  const r = f.rank;
  const s = new Float64Array(r);
  if (r > 0 && scores.length > 0) {
    const A = new Float64Array(r * r);
    const b = new Float64Array(r);
    for (const g of scores) {
      const w = 1 / (f.sd[g.task] * f.sd[g.task]);
      const y = g.value - f.intercept[g.task];
      for (let k = 0; k < r; k++) {
        const ck = f.coef[g.task * r + k];
        b[k] += w * ck * y;
        for (let j = 0; j < r; j++) A[k * r + j] += w * ck * f.coef[g.task * r + j];
      }
    }
    for (let k = 0; k < r; k++) A[k * r + k] += PCA_RIDGE;
    s.set(solveSpd(A, b, r));
  }
  return Float64Array.from({ length: nTasks }, (_, t) => {
    let v = f.intercept[t];
    for (let k = 0; k < r; k++) v += f.coef[t * r + k] * s[k];
    return v;
  });
}

/**
 * Observational-scaling-laws-style PCA: per-task z-scores, iterative rank-r SVD imputation of the
 * missing cells, then each task's scores regressed (ridge, {@link PCA_RIDGE}) on the models' r
 * component scores over that task's observed cells. r ∈ 1..min({@link PCA_MAX_RANK}, tasks − 1) is
 * chosen by inner validation on 15 % of the training cells (a single-task matrix gets r = 0: the task
 * mean). Predictions are clipped to the task's scale. `chosen`: `{ rank, iterations }`.
 */
export const pcaPredictor: Predictor = {
  name: 'pca',
  description: 'principal components of the z-scored matrix (iterative SVD imputation), each task regressed on the component scores (rank by inner validation)',
  usesFactors: false,
  canFoldIn: true,
  async fit(train: Dataset, ctx: PredictContext): Promise<FittedPredictor> {
    throwIfAborted(ctx.signal, 'the pca fit');
    const c = cellsOf(train);
    const maxRank = Math.max(0, Math.min(PCA_MAX_RANK, c.nTasks - 1));
    const ranks = Array.from({ length: maxRank }, (_, i) => i + 1);
    let rank = ranks.length ? ranks[0] : 0;
    let warm: Float64Array | undefined;
    if (ranks.length > 1) {
      const { fit, hold } = innerHoldout(c, ctx.seed, STREAM);
      if (hold.value.length >= 5) {
        const sd = taskStats(c).sd;
        // The final fit starts from the chosen rank's completion of 85% of the cells. (Chaining the
        // ranks, each from the previous one's completion, saved more iterations but led helm-core's
        // rank 2..5 fits to other fixed points: held-out MAE 7.10 -> 7.41.)
        const completions: Array<Float64Array | undefined> = [];
        const errors = ranks.map((r) => {
          const f = fitPca(fit, r, ctx.signal);
          completions.push(f.completed);
          const pred = Float64Array.from(hold.value, (_, i) => predictPca(f, hold.model[i], hold.task[i]));
          return scaledMse(pred, hold, sd);
        });
        const best = argmin(errors);
        rank = ranks[best];
        warm = completions[best];
      }
    }
    const f = fitPca(c, rank, ctx.signal, warm);
    const { lo, hi } = clipRanges(train);
    return {
      chosen: { rank: f.rank, iterations: f.iterations },
      predict(models: Int32Array, tasks: Int32Array): Float64Array {
        checkPredictArgs(models, tasks, c.nModels, c.nTasks);
        const out = new Float64Array(models.length);
        for (let i = 0; i < out.length; i++) {
          const t = tasks[i];
          out[i] = Math.min(hi[t], Math.max(lo[t], predictPca(f, models[i], t)));
        }
        return out;
      },
      foldIn: (scores) => foldInPca(f, scores, c.nTasks).map((v, t) => Math.min(hi[t], Math.max(lo[t], v))),
    };
  },
};
