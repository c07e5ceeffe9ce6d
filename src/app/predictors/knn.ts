/**
 * The k-nearest-neighbour predictor: a model's missing score is its additive baseline (the mean
 * predictor) plus a weighted average of how its most similar models deviated from their own baselines
 * on that task. Similarity is computed on the baseline residuals in per-task z-units over the tasks
 * both models have, shrunk by the size of that overlap.
 */
import { backendWithKernel } from '../../backends/registry.js';
import type { NeighbourWeights, SimilarityQueries, SimilarityTable } from '../../backends/types.js';
import type { Dataset } from '../data/dataset.js';
import { Rng } from '../../numeric/rng.js';
import { cellsOf, type Cells } from '../data/observed-cells.js';
import { argmin, checkPredictArgs, clipRanges, innerHoldout, scaledMse, settingIn, throwIfAborted } from './baseline-shared.js';
import { taskStats } from '../stats/task-stats.js';
import { fitMeanCells, fitMeanFixed, foldInMean, type MeanCellsFit } from './mean.js';
import type { FittedPredictor, PredictContext, Predictor } from './types.js';

/** Neighbour counts tried by inner validation. */
export const KNN_K_GRID: readonly number[] = [5, 10, 20, 40];
/**
 * Overlap shrinkage tried by inner validation: a similarity over `n` shared tasks is multiplied by
 * `n / (n + beta)`, so that two models agreeing on two tasks count for less than two agreeing on ten.
 */
export const KNN_BETA_GRID: readonly number[] = [0, 2, 5];
/** Pairs sharing fewer tasks than this have similarity 0: a cosine over one task is always ±1. */
export const KNN_MIN_OVERLAP = 2;
/**
 * At most this many training models serve as candidate neighbours (those with the most training cells,
 * ties in a seeded random order). Keeps fit and predict at O(models × candidates × tasks) on the
 * 6.8k-model Open LLM Leaderboard instead of O(models² × tasks); far more candidates than any k.
 */
export const KNN_MAX_CANDIDATES = 1500;

const STREAM = 0x6b6e6e;

/** Residual matrix and candidate set of one fit. */
interface Neighbourhood {
  nModels: number;
  nTasks: number;
  base: MeanCellsFit;
  /** Per-task spread used for z-units. */
  sd: Float64Array;
  /** models × tasks residuals in z-units, NaN where the model has no training cell. */
  resid: Float64Array;
  /** Candidate neighbour model indices. */
  candidates: Int32Array;
  /**
   * Candidates' residual rows (candidate-major, candidates × tasks) with 0 where a cell is missing,
   * and 1/0 masks of the same shape: the similarity loop multiplies by masks instead of branching on
   * NaN, which gives the same sums (only exact zeros are added) at a fraction of the time.
   */
  candResid: Float64Array;
  candMask: Float64Array;
}

function buildNeighbourhood(c: Cells, base: MeanCellsFit, sd: Float64Array, seed: number): Neighbourhood {
  const { nModels, nTasks } = c;
  const resid = new Float64Array(nModels * nTasks).fill(NaN);
  const count = new Int32Array(nModels);
  for (let e = 0; e < c.value.length; e++) {
    const m = c.model[e];
    const t = c.task[e];
    resid[m * nTasks + t] = (c.value[e] - base.predictOne(m, t)) / sd[t];
    count[m]++;
  }
  const withCells: number[] = [];
  for (let m = 0; m < nModels; m++) if (count[m] >= KNN_MIN_OVERLAP) withCells.push(m);
  let candidates = Int32Array.from(withCells);
  if (candidates.length > KNN_MAX_CANDIDATES) {
    const order = Int32Array.from(withCells);
    new Rng(seed, STREAM + 1).shuffle(order);
    const rank = new Int32Array(nModels);
    order.forEach((m, i) => (rank[m] = i));
    candidates = Int32Array.from(withCells)
      .sort((a, b) => count[b] - count[a] || rank[a] - rank[b])
      .slice(0, KNN_MAX_CANDIDATES)
      .sort();
  }
  const candResid = new Float64Array(candidates.length * nTasks);
  const candMask = new Float64Array(candidates.length * nTasks);
  for (let i = 0; i < candidates.length; i++) {
    for (let t = 0; t < nTasks; t++) {
      const r = resid[candidates[i] * nTasks + t];
      if (r === r) {
        candResid[i * nTasks + t] = r;
        candMask[i * nTasks + t] = 1;
      }
    }
  }
  return { nModels, nTasks, base, sd, resid, candidates, candResid, candMask };
}

/** Residual prediction (z-units) from the first `k` neighbours of search slot `slot` (kMax wide); 0 when none. */
function deviation(nb: Neighbourhood, t: number, r: NeighbourWeights, slot: number, kMax: number, k: number): number {
  const use = Math.min(r.found[slot], k);
  const idx = r.idx;
  const w = r.w;
  const o = slot * kMax;
  let num = 0;
  let den = 0;
  for (let p = 0; p < use; p++) {
    num += w[o + p] * nb.resid[nb.candidates[idx[o + p]] * nb.nTasks + t];
    den += w[o + p];
  }
  return den > 0 ? num / den : 0;
}

/** Groups cell positions by model, so similarities are computed once per model. */
function byModel(models: Int32Array, nModels: number): Map<number, number[]> {
  const g = new Map<number, number[]>();
  for (let i = 0; i < models.length; i++) {
    const m = models[i];
    if (!(m >= 0 && m < nModels)) continue;
    let l = g.get(m);
    if (!l) g.set(m, (l = []));
    l.push(i);
  }
  return g;
}

/** A backend's similarity search (TypeScript's when the chosen backend has none) and its threads. */
interface Searcher {
  search(table: SimilarityTable, q: SimilarityQueries): NeighbourWeights;
}

function searcherFor(ctx: PredictContext): Searcher {
  const b = backendWithKernel('neighbourWeights', ctx.backend);
  const threads = ctx.threads ?? b.details().maxThreads;
  return { search: (table, q) => b.neighbourWeights!(table, q, { threads }) };
}

/**
 * The neighbours of every cell `(models[i], tasks[i])` for the shrinkages `betas`: one search over
 * the cells grouped by model (each model's residual row the query). Calls `use(i, slot, r)` for
 * each cell with the search result and the slot of its first beta (`slot + b` for beta b).
 */
function neighboursOfCells(nb: Neighbourhood, searcher: Searcher, rows: (m: number) => Float64Array, models: Int32Array, tasks: Int32Array, betas: readonly number[], kMax: number, self: (m: number) => number, use: (i: number, slot: number, r: NeighbourWeights) => void): void {
  const T = nb.nTasks;
  const groups = byModel(models, nb.nModels);
  const ms = [...groups.keys()];
  const query = new Float64Array(ms.length * T);
  ms.forEach((m, g) => query.set(rows(m), g * T));
  const cellPtr = new Int32Array(ms.length + 1);
  const order: number[] = [];
  ms.forEach((m, g) => {
    for (const i of groups.get(m)!) order.push(i);
    cellPtr[g + 1] = order.length;
  });
  const r = searcher.search(nbTable(nb), {
    rows: query,
    self: Int32Array.from(ms, self),
    cellPtr,
    cellTask: Int32Array.from(order, (i) => tasks[i]),
    betas: Float64Array.from(betas),
    minOverlap: KNN_MIN_OVERLAP,
    kMax,
  });
  order.forEach((i, c) => use(i, c * betas.length, r));
}

/** The neighbourhood's candidates as a search reads them (the arrays, not copies). */
function nbTable(nb: Neighbourhood): SimilarityTable {
  return { nCand: nb.candidates.length, nCols: nb.nTasks, resid: nb.candResid, mask: nb.candMask };
}

/** Position of each model among the candidates, or -1. */
function candidatePositions(nb: Neighbourhood): Int32Array {
  const pos = new Int32Array(nb.nModels).fill(-1);
  nb.candidates.forEach((m, i) => (pos[m] = i));
  return pos;
}

/**
 * Nearest-model predictor: baseline (the mean predictor) plus the similarity-weighted mean of the
 * k most similar models' residuals on the task. Similarity: cosine of baseline residuals in per-task
 * z-units over shared tasks (at least two), times `n / (n + beta)` for `n` shared tasks; only positive
 * similarities count. With no neighbour having the task, the prediction is the mean predictor's.
 * `k` ∈ {@link KNN_K_GRID} and `beta` ∈ {@link KNN_BETA_GRID} are chosen by inner validation on 15 % of
 * the training cells. Predictions are clipped to the task's scale.
 * `chosen`: `{ k, beta, candidates, baseSpace, baseLambda }`.
 */
export const knnPredictor: Predictor = {
  name: 'knn',
  description: 'k nearest models by residual similarity over shared tasks, on top of the mean predictor (k and overlap shrinkage by inner validation)',
  usesFactors: false,
  portable: true,
  canFoldIn: true,
  async fit(train: Dataset, ctx: PredictContext): Promise<FittedPredictor> {
    throwIfAborted(ctx.signal, 'the knn fit');
    const searcher = searcherFor(ctx);
    const c = cellsOf(train);
    const st = ctx.settings;
    const base = fitMeanCells(c, ctx.seed, st && { space: st.baseSpace, lambda: st.baseLambda });
    const sd = taskStats(c).sd;
    const kMax = KNN_K_GRID[KNN_K_GRID.length - 1];

    const grid: Array<{ k: number; beta: number }> = KNN_BETA_GRID.flatMap((beta) => KNN_K_GRID.map((k) => ({ k, beta })));
    const fixed = settingIn(grid, st);
    let bestK = fixed?.k ?? KNN_K_GRID[1];
    let bestBeta = fixed?.beta ?? KNN_BETA_GRID[1];
    // Settings given (a fold refit): no inner holdout to draw at all.
    const inner = fixed ? null : innerHoldout(c, ctx.seed, STREAM);
    if (inner && inner.hold.value.length >= 5) {
      const { fit, hold } = inner;
      const innerBase = fitMeanFixed(fit, base.space, base.lambda);
      const innerSd = taskStats(fit).sd;
      const nb = buildNeighbourhood(fit, innerBase, innerSd, ctx.seed);
      const preds = grid.map(() => new Float64Array(hold.value.length));
      const pos = candidatePositions(nb);
      throwIfAborted(ctx.signal, 'the knn fit');
      neighboursOfCells(nb, searcher, (m) => nb.resid.subarray(m * nb.nTasks, (m + 1) * nb.nTasks), hold.model, hold.task, KNN_BETA_GRID, kMax, (m) => pos[m], (i, slot, r) => {
        const m = hold.model[i];
        const t = hold.task[i];
        const b0 = innerBase.predictOne(m, t);
        KNN_BETA_GRID.forEach((_, bi) => {
          KNN_K_GRID.forEach((k, ki) => {
            preds[bi * KNN_K_GRID.length + ki][i] = b0 + innerSd[t] * deviation(nb, t, r, slot + bi, kMax, k);
          });
        });
      });
      const best = grid[argmin(preds.map((p) => scaledMse(p, hold, sd)))];
      bestK = best.k;
      bestBeta = best.beta;
    }

    const nb = buildNeighbourhood(c, base, sd, ctx.seed);
    const pos = candidatePositions(nb);
    const { lo, hi } = clipRanges(train);
    return {
      chosen: { k: bestK, beta: bestBeta, candidates: nb.candidates.length, baseSpace: base.space, baseLambda: base.lambda },
      predict(models: Int32Array, tasks: Int32Array): Float64Array {
        checkPredictArgs(models, tasks, c.nModels, c.nTasks);
        const out = new Float64Array(models.length);
        neighboursOfCells(nb, searcher, (m) => nb.resid.subarray(m * c.nTasks, (m + 1) * c.nTasks), models, tasks, [bestBeta], bestK, (m) => pos[m], (i, s, r) => {
          const m = models[i];
          const t = tasks[i];
          const dev = deviation(nb, t, r, s, bestK, bestK);
          out[i] = Math.min(hi[t], Math.max(lo[t], base.predictOne(m, t) + sd[t] * dev));
        });
        return out;
      },
      foldIn(scores) {
        // The new row is what a refit would add: its additive bias solved with the rest fixed, its
        // residuals against the same candidates. It is nobody's neighbour, as in `predict` for others.
        const T = c.nTasks;
        const b0 = foldInMean(base, scores, T);
        const row = new Float64Array(T).fill(NaN);
        for (const s of scores) row[s.task] = (s.value - b0[s.task]) / sd[s.task];
        const out = new Float64Array(T);
        const all = Int32Array.from({ length: T }, (_, t) => t);
        neighboursOfCells(nb, searcher, () => row, new Int32Array(T), all, [bestBeta], bestK, () => -1, (t, s, r) => {
          const dev = deviation(nb, t, r, s, bestK, bestK);
          out[t] = Math.min(hi[t], Math.max(lo[t], b0[t] + sd[t] * dev));
        });
        return out;
      },
    };
  },
};
