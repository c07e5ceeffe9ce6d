/**
 * The stacking predictor: a library of candidate methods, each fitted on part of the training cells
 * and scored on the rest (out-of-fold predictions of training cells only), combined with non-negative
 * weights that sum to one, learned by least squares on those predictions and shrunk toward equal
 * weights. Two sets of weights, one per regime: models with many known scores (simulated by hiding
 * random cells) and models with few (simulated by holding models out and revealing as many of their
 * scores as the table's sparse models have). A fixed average is only as good as its worst member
 * allows; learned weights drop a candidate that does not fit the table at hand.
 */
import { Rng } from '../../numeric/rng.js';
import type { Dataset } from '../data/dataset.js';
import { solveSpd } from '../linalg/dense.js';
import { cellsOf } from '../data/observed-cells.js';
import { checkPredictArgs, clipRanges, throwIfAborted } from './baseline-shared.js';
import { taskStats } from '../stats/task-stats.js';
import { cmfPredictor } from './cmf.js';
import { knnPredictor } from './knn.js';
import { fitPlainKnn } from './knn-plain.js';
import { logitAlsPredictor123 } from './logit-als.js';
import { meanPredictor } from './mean.js';
import { mfSgdPredictor } from './mf.js';
import { pcaPredictor } from './pca.js';
import { fitMember } from './fit-cache.js';
import type { FittedPredictor, PredictContext, Predictor } from './types.js';

/** A fitted candidate: one prediction array per column. */
export interface FittedCandidate {
  predict(models: Int32Array, tasks: Int32Array): Float64Array[];
  /** Every task's prediction per column for a model not in the table (see {@link FittedPredictor.foldIn}). */
  foldIn?(scores: ReadonlyArray<{ task: number; value: number }>): Float64Array[];
}

/** A member of the stack's library: one fit yields one or more prediction columns. */
export interface StackCandidate {
  /** Column names (one per prediction array `fit` returns). */
  readonly columns: readonly string[];
  /** Whether the candidate is worth fitting on this training table (size, factors). */
  applies(train: Dataset): boolean;
  /** False when its fits have no `foldIn` (then neither has the stack). */
  readonly canFoldIn: boolean;
  /** The predictor it wraps, when it is one ({@link predictorCandidate}): its fits can be shared. */
  readonly predictor?: Predictor;
  fit(train: Dataset, ctx: PredictContext): Promise<FittedCandidate>;
}

/** A {@link Predictor} as a one-column candidate. */
export function predictorCandidate(p: Predictor, applies: (train: Dataset) => boolean = () => true): StackCandidate {
  return {
    columns: [p.name],
    applies,
    canFoldIn: p.canFoldIn === true,
    predictor: p,
    async fit(train, ctx) {
      const f = await fitMember(p, train, ctx);
      const foldIn = f.foldIn?.bind(f);
      return { predict: (models, tasks) => [f.predict(models, tasks)], ...(foldIn ? { foldIn: (scores) => [foldIn(scores)] } : {}) };
    },
  };
}

/** Plain kNN at several k from one neighbour search. */
export function plainKnnCandidate(ks: readonly number[]): StackCandidate {
  return {
    columns: ks.map((k) => `knn-plain-${k}`),
    applies: () => true,
    canFoldIn: true,
    async fit(train) {
      const f = fitPlainKnn(train, ks);
      return { predict: (models, tasks) => f.predictAll(models, tasks), foldIn: (scores) => f.foldInAll(scores) };
    },
  };
}

/** Tables with more training cells than this use only the cheap candidates. */
export const STACK_BIG_CELLS = 15000;
/** Weight learning runs on at most this many models (a seeded subsample) of a bigger table. */
export const STACK_MAX_WEIGHT_MODELS = 600;
/** Folds of the 'many' regime (random cells hidden in each). */
export const STACK_FOLDS = 3;
/** Folds of the 'few' regime (disjoint sets of held-out models). */
export const STACK_FEW_FOLDS = 2;
/**
 * Shrinkage toward equal weights: the penalty `rho · |w − 1/J|²` with `rho` this share of the best
 * candidate's out-of-fold mean squared error, plus a term that grows as the out-of-fold cells get
 * few (J/n), so a small table leans on the average rather than on noise.
 */
export const STACK_SHRINK = 0.02;

const hasFactors = (ds: Dataset): boolean => ds.factorSchema.model.length > 0 || ds.factorSchema.task.length > 0;
const small = (ds: Dataset): boolean => ds.scores.value.length <= STACK_BIG_CELLS;

/** The default library (see the module comment); factor-aware and SGD members only on small tables. */
export const STACK_LIBRARY: readonly StackCandidate[] = [
  predictorCandidate(meanPredictor),
  predictorCandidate(knnPredictor),
  plainKnnCandidate([5, 10, 20]),
  predictorCandidate(pcaPredictor),
  predictorCandidate(logitAlsPredictor123),
  predictorCandidate(mfSgdPredictor, small),
  predictorCandidate(cmfPredictor, (ds) => small(ds) && hasFactors(ds)),
];

/**
 * Learns stacking weights from out-of-fold residuals: minimises `|E w|² / n + rho |w − u|²` over the
 * simplex (w ≥ 0, Σw = 1), where `E` is n × J (candidate prediction minus truth, row-major, already
 * scaled per task) and u the uniform weights; exact, by enumerating supports (2^J small solves). Weights
 * below 1e-3 are set to 0 (so that candidate is not refitted) and the rest renormalised.
 */
export function learnStackWeights(E: Float64Array, n: number, J: number, shrink = STACK_SHRINK): Float64Array {
  const G = new Float64Array(J * J);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < J; a++) {
      const ea = E[i * J + a];
      for (let b = 0; b <= a; b++) G[a * J + b] += ea * E[i * J + b];
    }
  }
  for (let a = 0; a < J; a++) for (let b = 0; b <= a; b++) G[b * J + a] = G[a * J + b] /= Math.max(1, n);
  // In units of the best candidate's error: a hopeless candidate must not inflate the pull toward it.
  let bestMse = Infinity;
  let trace = 0;
  for (let a = 0; a < J; a++) {
    bestMse = Math.min(bestMse, G[a * J + a]);
    trace += G[a * J + a];
  }
  const rho = bestMse * (shrink + J / Math.max(1, n));
  // On the simplex |w − u|² = |w|² − 1/J, so the objective is w'(G + rho I)w: a convex QP over the
  // simplex, solved exactly by trying every support (J is small) — the optimum is the best feasible
  // stationary point of w'Hw subject to Σw = 1 on some support, w ∝ H_S⁻¹ 1.
  const jitter = 1e-12 * (trace / J || 1);
  let best: Float64Array | undefined;
  let bestObj = Infinity;
  for (let mask = 1; mask < 1 << J; mask++) {
    const S: number[] = [];
    for (let a = 0; a < J; a++) if (mask & (1 << a)) S.push(a);
    const k = S.length;
    const H = new Float64Array(k * k);
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) H[i * k + j] = G[S[i] * J + S[j]] + (i === j ? rho + jitter : 0);
    let x: Float64Array;
    try {
      x = solveSpd(H, new Float64Array(k).fill(1), k);
    } catch {
      continue;
    }
    const sum = x.reduce((s, v) => s + v, 0);
    if (!(sum > 0) || x.some((v) => v < 0)) continue;
    const w = new Float64Array(J);
    S.forEach((a, i) => (w[a] = x[i] / sum));
    let obj = 0;
    for (let a = 0; a < J; a++) for (let b = 0; b < J; b++) obj += w[a] * (G[a * J + b] + (a === b ? rho : 0)) * w[b];
    if (best === undefined || obj < bestObj) {
      bestObj = obj;
      best = w;
    }
  }
  const w = best ?? new Float64Array(J).fill(1 / J);
  let s = 0;
  for (let a = 0; a < J; a++) {
    if (w[a] < 1e-3) w[a] = 0;
    s += w[a];
  }
  for (let a = 0; a < J; a++) w[a] = s > 0 ? w[a] / s : 1 / J;
  return w;
}

/** A Dataset with only the cells at `idx` (same models and tasks; the rest physically absent). */
function withCells(ds: Dataset, idx: ArrayLike<number>): Dataset {
  const s = ds.scores;
  const n = idx.length;
  const scores = { model: new Int32Array(n), task: new Int32Array(n), value: new Float64Array(n), source: new Int32Array(n) };
  for (let j = 0; j < n; j++) {
    scores.model[j] = s.model[idx[j]];
    scores.task[j] = s.task[idx[j]];
    scores.value[j] = s.value[idx[j]];
    scores.source[j] = s.source[idx[j]];
  }
  return { ...ds, scores };
}

/** The Dataset restricted to the models `keep` (renumbered in order), with their cells. */
function withModels(ds: Dataset, keep: Int32Array): Dataset {
  const map = new Int32Array(ds.models.length).fill(-1);
  keep.forEach((m, i) => (map[m] = i));
  const idx: number[] = [];
  for (let e = 0; e < ds.scores.value.length; e++) if (map[ds.scores.model[e]] >= 0) idx.push(e);
  const sub = withCells(ds, idx);
  for (let j = 0; j < sub.scores.model.length; j++) sub.scores.model[j] = map[sub.scores.model[j]];
  return { ...sub, models: Array.from(keep, (m) => ds.models[m]) };
}

/** Models count as having few scores up to this many: a quarter of the tasks, at least 2. */
export function fewThreshold(nTasks: number): number {
  return Math.max(2, Math.floor(nTasks / 4));
}

/** One simulated split: training cells and the cells predicted out of fold. */
interface Split {
  train: Int32Array;
  test: Int32Array;
}

function manySplits(ds: Dataset, seed: number): Split[] {
  const n = ds.scores.value.length;
  const order = Int32Array.from({ length: n }, (_, i) => i);
  new Rng(seed, 0x737401).shuffle(order);
  const fold = new Int32Array(n);
  order.forEach((e, i) => (fold[e] = i % STACK_FOLDS));
  return Array.from({ length: STACK_FOLDS }, (_, f) => {
    const train: number[] = [];
    const test: number[] = [];
    for (let e = 0; e < n; e++) (fold[e] === f ? test : train).push(e);
    return { train: Int32Array.from(train), test: Int32Array.from(test) };
  });
}

function fewSplits(ds: Dataset, k: number, seed: number): Split[] {
  const M = ds.models.length;
  const byModel: number[][] = Array.from({ length: M }, () => []);
  ds.scores.model.forEach((m, e) => byModel[m].push(e));
  const eligible = Array.from({ length: M }, (_, m) => m).filter((m) => byModel[m].length >= k + 2);
  if (eligible.length < 4) return [];
  const rng = new Rng(seed, 0x737402);
  rng.shuffle(eligible);
  const per = Math.max(2, Math.min(200, Math.floor(eligible.length / 4)));
  const splits: Split[] = [];
  for (let f = 0; f < STACK_FEW_FOLDS && (f + 1) * per <= eligible.length; f++) {
    const out = new Uint8Array(ds.scores.value.length);
    for (const m of eligible.slice(f * per, (f + 1) * per)) {
      const cells = byModel[m].slice();
      rng.shuffle(cells);
      for (const e of cells.slice(k)) out[e] = 1;
    }
    const train: number[] = [];
    const test: number[] = [];
    for (let e = 0; e < out.length; e++) (out[e] ? test : train).push(e);
    splits.push({ train: Int32Array.from(train), test: Int32Array.from(test) });
  }
  return splits;
}

/**
 * Starts `f` on every item, last first, and resolves to the results in the items' order. Candidates
 * that hand their fits to the native core (the MF methods, late in the library) then run on its
 * threads while the JS-only ones compute; the fits are independent, so only the time changes.
 */
function startLastFirst<T, R>(items: readonly T[], f: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: Promise<R>[] = new Array(items.length);
  for (let i = items.length - 1; i >= 0; i--) out[i] = f(items[i], i);
  // All at once, so a failure of one is handled even while an earlier one is still running.
  return Promise.all(out);
}

/** Out-of-fold residuals (scaled per task) of every column over the splits; n × J row-major. */
async function oofResiduals(ds: Dataset, splits: Split[], library: readonly StackCandidate[], J: number, ctx: PredictContext): Promise<{ E: Float64Array; n: number }> {
  const sd = taskStats(cellsOf(ds)).sd;
  const n = splits.reduce((s, x) => s + x.test.length, 0);
  const E = new Float64Array(n * J);
  let row = 0;
  for (const sp of splits) {
    const train = withCells(ds, sp.train);
    const models = Int32Array.from(sp.test, (e) => ds.scores.model[e]);
    const tasks = Int32Array.from(sp.test, (e) => ds.scores.task[e]);
    throwIfAborted(ctx.signal, 'the stack fit');
    const fits = await startLastFirst(library, (cand) => cand.fit(train, ctx));
    let col = 0;
    for (const fitted of fits) {
      for (const p of fitted.predict(models, tasks)) {
        for (let i = 0; i < p.length; i++) E[(row + i) * J + col] = (p[i] - ds.scores.value[sp.test[i]]) / sd[tasks[i]];
        col++;
      }
    }
    row += sp.test.length;
  }
  return { E, n };
}

/**
 * Stacking over a library of candidates (default {@link STACK_LIBRARY}) with per-regime weights learned
 * on out-of-fold predictions of the training cells ({@link learnStackWeights}). 'many' weights come from
 * {@link STACK_FOLDS} folds of random training cells; 'few' weights, when the table has models with at
 * most {@link fewThreshold} scores, from held-out models revealing k of their scores, k the median
 * count of those models. A model is predicted with the weights of its regime. Weight learning on a
 * table of more than {@link STACK_MAX_WEIGHT_MODELS} models uses a seeded subsample of models.
 * Candidates with zero weight in both regimes are not refitted. `chosen`: weights per regime.
 */
export function stackPredictor(name = 'stack', library: readonly StackCandidate[] = STACK_LIBRARY): Predictor {
  return {
    name,
    description: 'stacking of mean, knn, plain kNN (5/10/20), pca, logit-als, mf-sgd and cmf (with factors), non-negative weights from out-of-fold predictions, per regime (many / few known scores)',
    usesFactors: false,
    canFoldIn: library.every((c) => c.canFoldIn !== false),
    members: library.flatMap((c) => (c.predictor ? [c.predictor] : [])),
    async fit(train: Dataset, ctx: PredictContext): Promise<FittedPredictor> {
      throwIfAborted(ctx.signal, 'the stack fit');
      const lib = library.filter((c) => c.applies(train));
      const columns = lib.flatMap((c) => c.columns);
      const J = columns.length;
      const M = train.models.length;
      const T = train.tasks.length;
      const count = new Int32Array(M);
      for (const m of train.scores.model) count[m]++;

      let learnOn = train;
      if (M > STACK_MAX_WEIGHT_MODELS) {
        const order = Int32Array.from({ length: M }, (_, m) => m);
        new Rng(ctx.seed, 0x737403).shuffle(order);
        learnOn = withModels(train, order.slice(0, STACK_MAX_WEIGHT_MODELS).sort());
      }
      const few = fewThreshold(T);
      const fewCounts = Array.from(count).filter((c) => c > 0 && c <= few).sort((a, b) => a - b);
      const many = await oofResiduals(learnOn, manySplits(learnOn, ctx.seed), lib, J, ctx);
      const wMany = learnStackWeights(many.E, many.n, J);
      let wFew = wMany;
      let kFew = 0;
      if (fewCounts.length > 0) {
        kFew = fewCounts[fewCounts.length >> 1];
        const splits = fewSplits(learnOn, kFew, ctx.seed);
        if (splits.length > 0) {
          const r = await oofResiduals(learnOn, splits, lib, J, ctx);
          if (r.n >= 10) wFew = learnStackWeights(r.E, r.n, J);
        }
      }

      // Refit only the candidates that carry weight somewhere.
      const cols: number[] = [];
      let col = 0;
      for (const cand of lib) {
        cols.push(col);
        col += cand.columns.length;
      }
      const used = lib.map((cand, c) => cand.columns.some((_, i) => wMany[cols[c] + i] > 0 || wFew[cols[c] + i] > 0));
      const refits = await startLastFirst(lib, (cand, c) => (used[c] ? cand.fit(train, ctx) : Promise.resolve(undefined)));
      const fitted = refits.map((fit, c) => (fit ? { col: cols[c], fit } : undefined));
      const canFoldIn = fitted.every((f) => f === undefined || f.fit.foldIn !== undefined);
      const chosen: Record<string, number | string | boolean> = { fewThreshold: few, fewK: kFew, weightModels: learnOn.models.length };
      columns.forEach((c, j) => {
        chosen[`many.${c}`] = Number(wMany[j].toFixed(4));
        chosen[`few.${c}`] = Number(wFew[j].toFixed(4));
      });
      const { lo, hi } = clipRanges(train);
      return {
        chosen,
        predict(models: Int32Array, tasks: Int32Array): Float64Array {
          checkPredictArgs(models, tasks, M, T);
          const out = new Float64Array(models.length);
          for (const f of fitted) {
            if (!f) continue;
            f.fit.predict(models, tasks).forEach((p, i) => {
              const j = f.col + i;
              for (let c2 = 0; c2 < out.length; c2++) {
                const w = count[models[c2]] <= few ? wFew[j] : wMany[j];
                if (w > 0) out[c2] += w * p[c2];
              }
            });
          }
          for (let i = 0; i < out.length; i++) out[i] = Math.min(hi[tasks[i]], Math.max(lo[tasks[i]], out[i]));
          return out;
        },
        ...(canFoldIn
          ? {
              foldIn(scores: ReadonlyArray<{ task: number; value: number }>): Float64Array {
                // The regime a refit would put the new row in: by its count of known scores.
                const w = scores.length <= few ? wFew : wMany;
                const out = new Float64Array(T);
                for (const f of fitted) {
                  if (!f) continue;
                  f.fit.foldIn!(scores).forEach((p, i) => {
                    const wj = w[f.col + i];
                    if (wj > 0) for (let t = 0; t < T; t++) out[t] += wj * p[t];
                  });
                }
                return out.map((v, t) => Math.min(hi[t], Math.max(lo[t], v)));
              },
            }
          : {}),
      };
    },
  };
}

/** The stack with the default library. */
export const defaultStackPredictor: Predictor = stackPredictor();
