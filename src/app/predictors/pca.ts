/**
 * The PCA predictor, after the observational scaling laws paper (Ruan et al.): a model's scores on
 * many benchmarks are summarised by a few principal components ("capability dimensions"), and each
 * task's score is a linear function of them. Missing cells are handled by iterative low-rank
 * imputation of the per-task z-scored matrix (iterative SVD); each task is then regressed on the
 * models' component scores over its observed cells.
 */
import type { Dataset } from '../data/dataset.js';
import { CollabperfError } from '../../errors.js';
import { ridgeRegression, rowDots, solveSpd, SubspaceIteration, topEigenvectors } from '../linalg/dense.js';
import { cellsOf, type Cells } from '../data/observed-cells.js';
import { argmin, checkPredictArgs, clipRanges, innerHoldout, scaledMse, throwIfAborted } from './baseline-shared.js';
import { taskStats, type TaskStats } from '../stats/task-stats.js';
import { fitPcaOffThread, markOffThread } from './fit-pool.js';
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
 * The unnormalised covariance of a task-major centred matrix `Zt` (tasks × models), lower triangle
 * computed and mirrored: C[t][u] = Σ_m Zt[t][m] · Zt[u][m], summed in model order.
 */
function covariance(Zt: Float64Array, M: number, T: number, C: Float64Array): void {
  for (let t = 0; t < T; t++) rowDots(Zt, t * M, Zt, t + 1, M, C, t * T, 1);
  for (let t = 0; t < T; t++) for (let u = 0; u < t; u++) C[u * T + t] = C[t * T + u];
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
  return imputeFrom(startImputation(X, nModels, nTasks, start), rank, softThreshold, signal);
}

/**
 * What imputations of one matrix from one start share whatever their rank: the starting completion,
 * the missing cells, and the first iteration's mean, centred matrix and full eigendecomposition of
 * its covariance (the most expensive step of the loop, and independent of the rank). Inner
 * validation runs every candidate rank from the same cold start, so it computes this once.
 */
interface ImputationStart {
  nModels: number;
  nTasks: number;
  /** The starting completion (models × tasks); copied by each run, never modified. */
  Z: Float64Array;
  missing: Int32Array;
  missingModel: Int32Array;
  missingTask: Int32Array;
  /** Column means of `Z`. */
  mean: Float64Array;
  /** `Z` centred, task-major (tasks × models). */
  Zt: Float64Array;
  /** Full eigendecomposition of the covariance of `Zt`, as {@link topEigenvectors} computes it cold. */
  eigen: { values: Float64Array; vectors: Float64Array };
}

/** Column means of Z (models × tasks) into `mean`, and Z centred by them into `Zt` (tasks × models). */
function centre(Z: Float64Array, M: number, T: number, mean: Float64Array, Zt: Float64Array): void {
  mean.fill(0);
  for (let m = 0; m < M; m++) for (let t = 0; t < T; t++) mean[t] += Z[m * T + t];
  for (let t = 0; t < T; t++) mean[t] /= Math.max(1, M);
  for (let t = 0; t < T; t++) {
    const mt = mean[t];
    const ot = t * M;
    for (let m = 0; m < M; m++) Zt[ot + m] = Z[m * T + t] - mt;
  }
}

function startImputation(X: Float64Array, nModels: number, nTasks: number, start?: Float64Array): ImputationStart {
  const T = nTasks;
  const M = nModels;
  const Z = Float64Array.from(X);
  const colMean = new Float64Array(T);
  const colCount = new Int32Array(T);
  let nMissing = 0;
  for (let i = 0; i < M * T; i++) {
    if (Z[i] === Z[i]) {
      colMean[i % T] += Z[i];
      colCount[i % T]++;
    } else {
      nMissing++;
    }
  }
  const missing = new Int32Array(nMissing);
  const missingModel = new Int32Array(nMissing);
  const missingTask = new Int32Array(nMissing);
  for (let i = 0, j = 0; i < M * T; i++) {
    if (Z[i] !== Z[i]) {
      missing[j] = i;
      missingModel[j] = (i / T) | 0;
      missingTask[j++] = i % T;
    }
  }
  for (let t = 0; t < T; t++) colMean[t] = colCount[t] > 0 ? colMean[t] / colCount[t] : 0;
  for (const i of missing) Z[i] = start && start[i] === start[i] ? start[i] : colMean[i % T];
  const mean = new Float64Array(T);
  const Zt = new Float64Array(T * M);
  centre(Z, M, T, mean, Zt);
  const C = new Float64Array(T * T);
  covariance(Zt, M, T, C);
  return { nModels: M, nTasks: T, Z, missing, missingModel, missingTask, mean, Zt, eigen: topEigenvectors(C, T, T) };
}

/**
 * S (models × rank) = Zc V for the task-major centred matrix Zt, each entry summed over tasks in
 * order as a model's row would be; built component-major in St (rank × models) so that the innermost
 * loop runs over contiguous models. (The loop's steps are separate functions so that each is
 * optimised on its own early in a short process, rather than one large loop waiting on on-stack
 * replacement and falling back to the interpreter when a late branch is first taken.)
 */
function componentScores(Zt: Float64Array, V: Float64Array, St: Float64Array, S: Float64Array, M: number, T: number, rank: number): void {
  St.fill(0);
  for (let t = 0; t < T; t++) {
    const ot = t * M;
    for (let k = 0; k < rank; k++) {
      const vtk = V[t * rank + k];
      const ok = k * M;
      for (let m = 0; m < M; m++) St[ok + m] += Zt[ot + m] * vtk;
    }
  }
  for (let k = 0; k < rank; k++) for (let m = 0; m < M; m++) S[m * rank + k] = St[k * M + m];
}

/**
 * Moves each missing cell of Z {@link PCA_RELAX} times its step towards the shrunk rank-`rank`
 * reconstruction; returns the sum of the squared steps. `shrunk` is scratch (models × rank).
 */
function stepMissing(s0: ImputationStart, Z: Float64Array, mean: Float64Array, shrink: Float64Array, S: Float64Array, V: Float64Array, shrunk: Float64Array, rank: number): number {
  const { missing, missingModel, missingTask, nModels: M } = s0;
  // shrink_k · S[m][k] is the first product of each reconstruction term; taken once per model.
  for (let m = 0; m < M; m++) for (let k = 0; k < rank; k++) shrunk[m * rank + k] = shrink[k] * S[m * rank + k];
  let change = 0;
  for (let j = 0; j < missing.length; j++) {
    const i = missing[j];
    const t = missingTask[j];
    const om = missingModel[j] * rank;
    const ot = t * rank;
    let v = mean[t];
    for (let k = 0; k < rank; k++) v += shrunk[om + k] * V[ot + k];
    const d = v - Z[i];
    change += d * d;
    Z[i] += PCA_RELAX * d;
  }
  return change;
}

/** The imputation loop of {@link imputeLowRank} from a prepared start. */
function imputeFrom(s0: ImputationStart, rank: number, softThreshold: number, signal?: AbortSignal): LowRankImputation {
  const { nModels: M, nTasks: T } = s0;
  if (!(rank >= 0 && rank <= T)) throw new CollabperfError('E_INVALID_ARGUMENT', `imputeLowRank: rank ${rank} outside 0..${T}`);
  const nMissing = s0.missing.length;
  const Z = Float64Array.from(s0.Z);
  const mean = Float64Array.from(s0.mean);
  const C = new Float64Array(T * T);
  const V = new Float64Array(T * rank);
  const S = new Float64Array(M * rank);
  const St = new Float64Array(rank * M);
  const shrunk = new Float64Array(M * rank);
  // The centred matrix is kept task-major (tasks × models): every covariance entry and score is then
  // a dot product over contiguous models, summed in model order as a row-major loop would sum it.
  const Zt = new Float64Array(T * M);
  let basis: Float64Array | undefined;
  const tracker = new SubspaceIteration(T, rank);
  const shrink = new Float64Array(rank);
  const threshold = softThreshold * (Math.sqrt(M) + Math.sqrt(T));
  let iterations = 0;
  for (;;) {
    iterations++;
    let top: { values: Float64Array; vectors: Float64Array };
    if (basis) {
      centre(Z, M, T, mean, Zt);
      covariance(Zt, M, T, C);
      // The covariance changes little between iterations: after an exact first decomposition, two
      // subspace-iteration steps from the previous components track it at O(tasks² · rank) per
      // iteration; the imputation loop converges to the same fixed point.
      top = tracker.run(C, basis, 2);
    } else {
      // The first iteration is the shared start's: its leading `rank` eigenpairs are those a cold
      // rank-`rank` decomposition returns.
      Zt.set(s0.Zt);
      const full = s0.eigen;
      const vectors = new Float64Array(T * rank);
      for (let t = 0; t < T; t++) for (let k = 0; k < rank; k++) vectors[t * rank + k] = full.vectors[t * T + k];
      top = { values: full.values.slice(0, rank), vectors };
    }
    basis = top.vectors;
    V.set(top.vectors);
    for (let k = 0; k < rank; k++) {
      // Eigenvalues of the unnormalised covariance are the squared singular values.
      const sv = Math.sqrt(Math.max(0, top.values[k]));
      shrink[k] = sv > threshold ? (sv - threshold) / sv : 0;
    }
    componentScores(Zt, V, St, S, M, T, rank);
    if (nMissing === 0 || iterations >= PCA_MAX_ITERATIONS) break;
    const change = stepMissing(s0, Z, mean, shrink, S, V, shrunk, rank);
    if (Math.sqrt(change / nMissing) < PCA_TOLERANCE) break;
    if (iterations % 16 === 0) throwIfAborted(signal, 'the pca fit');
  }
  return { rank, mean, components: V, scores: S, completed: Z, iterations };
}

/** A fitted PCA model: component scores per model and one linear map per task. */
export interface PcaFit {
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
  return fitPcaOn(pcaProblem(c), rank, signal, start);
}

/** The z-scored matrix of some cells, and (made on first use) its cold imputation start. */
interface PcaProblem {
  c: Cells;
  mom: TaskStats;
  /** models × tasks z-scores, NaN where missing. */
  X: Float64Array;
  cold?: ImputationStart;
}

function pcaProblem(c: Cells): PcaProblem {
  const { nModels: M, nTasks: T } = c;
  const mom = taskStats(c);
  const X = new Float64Array(M * T).fill(NaN);
  for (let e = 0; e < c.value.length; e++) X[c.model[e] * T + c.task[e]] = (c.value[e] - mom.mean[c.task[e]]) / mom.sd[c.task[e]];
  return { c, mom, X };
}

/** {@link fitPca} on a prepared problem; fits of several ranks without `start` share its cold start. */
function fitPcaOn(p: PcaProblem, rank: number, signal?: AbortSignal, start?: Float64Array): PcaFit {
  const { c, mom, X } = p;
  const { nModels: M, nTasks: T } = c;
  let scores: Float64Array = new Float64Array(0);
  let iterations = 0;
  let completed: Float64Array | undefined;
  if (rank > 0) {
    let s0: ImputationStart;
    if (start) {
      const z0 = new Float64Array(start.length);
      for (let i = 0; i < z0.length; i++) z0[i] = (start[i] - mom.mean[i % T]) / mom.sd[i % T];
      s0 = startImputation(X, M, T, z0);
    } else {
      p.cold ??= startImputation(X, M, T);
      s0 = p.cold;
    }
    const imp = imputeFrom(s0, rank, PCA_SOFT_THRESHOLD, signal);
    iterations = imp.iterations;
    scores = imp.scores;
    // (Plain loops rather than Float64Array.from with a map function, which iterates generically.)
    completed = new Float64Array(M * T);
    for (let i = 0; i < completed.length; i++) completed[i] = imp.completed[i] * mom.sd[i % T] + mom.mean[i % T];
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
    const y = new Float64Array(cells.length);
    for (let i = 0; i < cells.length; i++) {
      const e = cells[i];
      for (let k = 0; k < rank; k++) F[i * rank + k] = scores[c.model[e] * rank + k];
      y[i] = c.value[e];
    }
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
 * The whole PCA fit of some cells: the rank by inner validation (see {@link pcaPredictor}), then the
 * final fit from the chosen rank's completion. Pure and deterministic for the seed, so it gives the
 * same result on the main thread as in the worker of {@link fitPcaOffThread}.
 */
export function fitPcaModel(c: Cells, seed: number, signal?: AbortSignal, fixedRank?: number): PcaFit {
  const maxRank = Math.max(0, Math.min(PCA_MAX_RANK, c.nTasks - 1));
  const ranks = Array.from({ length: maxRank }, (_, i) => i + 1);
  const fixed = fixedRank !== undefined && ranks.includes(fixedRank);
  let rank = fixed ? fixedRank : ranks.length ? ranks[0] : 0;
  let warm: Float64Array | undefined;
  if (!fixed && ranks.length > 1) {
    const { fit, hold } = innerHoldout(c, seed, STREAM);
    if (hold.value.length >= 5) {
      const sd = taskStats(c).sd;
      // The final fit starts from the chosen rank's completion of 85% of the cells. (Chaining the
      // ranks, each from the previous one's completion, saved more iterations but led helm-core's
      // rank 2..5 fits to other fixed points: held-out MAE 7.10 -> 7.41.)
      const completions: Array<Float64Array | undefined> = [];
      const problem = pcaProblem(fit);
      const errors = ranks.map((r) => {
        const f = fitPcaOn(problem, r, signal);
        completions.push(f.completed);
        const pred = Float64Array.from(hold.value, (_, i) => predictPca(f, hold.model[i], hold.task[i]));
        return scaledMse(pred, hold, sd);
      });
      const best = argmin(errors);
      rank = ranks[best];
      warm = completions[best];
    }
  }
  return fitPca(c, rank, signal, warm);
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
  portable: true,
  canFoldIn: true,
  async fit(train: Dataset, ctx: PredictContext): Promise<FittedPredictor> {
    throwIfAborted(ctx.signal, 'the pca fit');
    const c = cellsOf(train);
    const rank = typeof ctx.settings?.rank === 'number' ? ctx.settings.rank : undefined;
    const inline = (): PcaFit => fitPcaModel(c, ctx.seed, ctx.signal, rank);
    const f = (await fitPcaOffThread(c, ctx.seed, inline, ctx.signal, rank)) ?? inline();
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

markOffThread(pcaPredictor);
