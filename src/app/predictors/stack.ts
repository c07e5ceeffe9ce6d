/**
 * The stacking predictor: a library of candidate methods, each fitted on the calibration folds of the
 * training cells (folds/calibration.ts: random cells held out, and models reduced to a few scores)
 * and scored on the cells each fold holds out, combined with non-negative weights that sum to one,
 * learned by least squares on those out-of-fold predictions and shrunk toward equal weights. Two sets
 * of weights, one per regime: a cell of a model with few known scores is predicted (and learned from)
 * with the 'few' weights, any other with the 'many' weights. A fixed average is only as good as its
 * worst member allows; learned weights drop a candidate that does not fit the table at hand.
 *
 * Each candidate chooses its hyperparameters by its own inner validation once, on every training
 * cell, and is refitted on each fold with those settings ({@link PredictContext.settings}). The fold
 * fits are the same ones interval calibration needs, so `withIntervals(stack)` costs no more fits
 * than the stack alone ({@link Predictor.fitWithFolds}), and the prediction is the same with or
 * without intervals.
 */
import type { Dataset } from '../data/dataset.js';
import { solveSpd } from '../linalg/dense.js';
import { cellsOf } from '../data/observed-cells.js';
import { trainView } from '../eval/split.js';
import { calibrationFolds, DEFAULT_CALIBRATION_FOLDS, type CalibrationFold } from '../folds/calibration.js';
import { runFolds } from '../folds/runner.js';
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
  /** The settings it chose (a predictor's `chosen`), which its fold refits are given. */
  readonly chosen?: FittedPredictor['chosen'];
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
      return { chosen: f.chosen, predict: (models, tasks) => [f.predict(models, tasks)], ...(foldIn ? { foldIn: (scores) => [foldIn(scores)] } : {}) };
    },
  };
}

/** Plain kNN at several k from one neighbour search. */
export function plainKnnCandidate(ks: readonly number[]): StackCandidate {
  return {
    columns: ks.map((k) => `knn-plain-${k}`),
    applies: () => true,
    canFoldIn: true,
    async fit(train, ctx) {
      const f = fitPlainKnn(train, ks, { backend: ctx.backend, threads: ctx.threads });
      return { predict: (models, tasks) => f.predictAll(models, tasks), foldIn: (scores) => f.foldInAll(scores) };
    },
  };
}

/** Tables with more training cells than this use only the cheap candidates. */
export const STACK_BIG_CELLS = 15000;
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

/** Models count as having few scores up to this many: a quarter of the tasks, at least 2. */
export function fewThreshold(nTasks: number): number {
  return Math.max(2, Math.floor(nTasks / 4));
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


/** The library fitted on one table: each candidate's fit, in library order. */
interface LibraryFit {
  fits: FittedCandidate[];
}

/**
 * Every candidate on every training cell (its own inner validation) and then, with the settings it
 * chose, on every fold view. Each candidate goes on to its folds as soon as its own full fit is done
 * (a fold fit needs only that candidate's settings), so the quick candidates' folds run while a slow
 * one (logit-als on the worker thread) is still choosing its settings. Results are in library order
 * and do not depend on the scheduling.
 */
async function fitLibraryOnFolds(lib: readonly StackCandidate[], train: Dataset, views: readonly Dataset[], ctx: PredictContext): Promise<{ full: LibraryFit; foldFits: LibraryFit[] }> {
  throwIfAborted(ctx.signal, 'the stack fit');
  const perCandidate = await startLastFirst(lib, async (cand) => {
    const full = await cand.fit(train, ctx);
    const own = full.chosen ? { ...ctx, settings: full.chosen } : ctx;
    const onFolds = await runFolds({ fit: (view: Dataset, c: PredictContext) => cand.fit(view, c) }, views.length, (i) => ({ train: views[i], ctx: own }), (f) => f, {
      signal: ctx.signal,
      what: 'the stack fit',
    });
    return { full, onFolds };
  });
  return {
    full: { fits: perCandidate.map((p) => p.full) },
    foldFits: views.map((_, i) => ({ fits: perCandidate.map((p) => p.onFolds[i]) })),
  };
}

/**
 * Out-of-fold residuals (prediction minus truth over the task's sd) of every column on the cells the
 * folds hold out, split by regime: a cell goes to 'few' when its model had at most `few` scores in
 * its fold's training view. n × J row-major each.
 */
function oofResiduals(train: Dataset, folds: readonly CalibrationFold[], views: readonly Dataset[], fits: readonly LibraryFit[], J: number, few: number): { many: number[]; few: number[] } {
  const sd = taskStats(cellsOf(train)).sd;
  const out = { many: [] as number[], few: [] as number[] };
  const row = new Float64Array(J);
  folds.forEach((fold, i) => {
    const count = new Int32Array(train.models.length);
    for (const m of views[i].scores.model) count[m]++;
    const h = cellsOf(train, fold.held);
    const preds = fits[i].fits.flatMap((f) => f.predict(h.model, h.task));
    for (let c = 0; c < h.value.length; c++) {
      for (let j = 0; j < J; j++) row[j] = (preds[j][c] - h.value[c]) / sd[h.task[c]];
      (count[h.model[c]] <= few ? out.few : out.many).push(...row);
    }
  });
  return out;
}

/** Fewest out-of-fold cells a regime needs for weights of its own (else it takes the other's). */
const MIN_REGIME_CELLS = 10;

/** The stacked prediction of a fitted library on the table it was fitted on: per-regime weights, clipped. */
function combine(cands: readonly StackCandidate[], lib: LibraryFit, ds: Dataset, wMany: Float64Array, wFew: Float64Array, few: number, chosen: FittedPredictor['chosen']): FittedPredictor {
  const M = ds.models.length;
  const T = ds.tasks.length;
  const count = new Int32Array(M);
  for (const m of ds.scores.model) count[m]++;
  const cols: number[] = [];
  let col = 0;
  for (const cand of cands) {
    cols.push(col);
    col += cand.columns.length;
  }
  const used = lib.fits.map((_, c) => {
    const end = c + 1 < cols.length ? cols[c + 1] : col;
    for (let j = cols[c]; j < end; j++) if (wMany[j] > 0 || wFew[j] > 0) return true;
    return false;
  });
  const canFoldIn = lib.fits.every((f, c) => !used[c] || f.foldIn !== undefined);
  const { lo, hi } = clipRanges(ds);
  return {
    chosen,
    predict(models: Int32Array, tasks: Int32Array): Float64Array {
      checkPredictArgs(models, tasks, M, T);
      const out = new Float64Array(models.length);
      lib.fits.forEach((f, c) => {
        if (!used[c]) return;
        f.predict(models, tasks).forEach((p, i) => {
          const j = cols[c] + i;
          for (let e = 0; e < out.length; e++) {
            const w = count[models[e]] <= few ? wFew[j] : wMany[j];
            if (w > 0) out[e] += w * p[e];
          }
        });
      });
      for (let i = 0; i < out.length; i++) out[i] = Math.min(hi[tasks[i]], Math.max(lo[tasks[i]], out[i]));
      return out;
    },
    ...(canFoldIn
      ? {
          foldIn(scores: ReadonlyArray<{ task: number; value: number }>): Float64Array {
            // The regime a refit would put the new row in: by its count of known scores.
            const w = scores.length <= few ? wFew : wMany;
            const out = new Float64Array(T);
            lib.fits.forEach((f, c) => {
              if (!used[c]) return;
              f.foldIn!(scores).forEach((p, i) => {
                const wj = w[cols[c] + i];
                if (wj > 0) for (let t = 0; t < T; t++) out[t] += wj * p[t];
              });
            });
            return out.map((v, t) => Math.min(hi[t], Math.max(lo[t], v)));
          },
        }
      : {}),
  };
}

/**
 * The stack with its weights and its candidates' settings taken from `settings` (the `chosen` of an
 * earlier stack fit, see {@link PredictContext.settings}): one fit of each weighted candidate and no
 * folds, for callers that refit on many slight variations of one table (the advisor's simulated
 * steps). Undefined when `settings` lacks a weight of some column of this table's library.
 */
async function fitWithSettings(library: readonly StackCandidate[], train: Dataset, ctx: PredictContext, settings: NonNullable<PredictContext['settings']>): Promise<FittedPredictor | undefined> {
  const lib = library.filter((c) => c.applies(train));
  const columns = lib.flatMap((c) => c.columns);
  const weight = (regime: string, col: string): number | undefined => {
    const w = settings[`${regime}.${col}`];
    return typeof w === 'number' && w >= 0 ? w : undefined;
  };
  if (columns.some((col) => weight('many', col) === undefined || weight('few', col) === undefined)) return undefined;
  const wMany = Float64Array.from(columns, (col) => weight('many', col)!);
  const wFew = Float64Array.from(columns, (col) => weight('few', col)!);
  const few = typeof settings.fewThreshold === 'number' ? settings.fewThreshold : fewThreshold(train.tasks.length);
  const first: number[] = [];
  lib.reduce((at, cand) => (first.push(at), at + cand.columns.length), 0);
  const fits = await startLastFirst(lib, async (cand, c) => {
    const cols = cand.columns.map((_, i) => first[c] + i);
    if (cols.every((j) => wMany[j] === 0 && wFew[j] === 0)) return unweighted(cand);
    const prefix = `${cand.columns[0]}.`;
    const own = Object.fromEntries(Object.entries(settings).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
    return cand.fit(train, { ...ctx, settings: own });
  });
  return combine(lib, { fits }, train, wMany, wFew, few, { ...settings });
}

/** A stand-in for a candidate with no weight, which {@link combine} never calls. */
function unweighted(cand: StackCandidate): FittedCandidate {
  const never = (): never => {
    throw new Error(`stack: candidate ${cand.columns.join(', ')} has no weight and was not fitted`);
  };
  return { predict: never, foldIn: never };
}

/**
 * Whether the fitted stack's prediction depends on the table's factors (`factorsUsed`), and when it
 * does not although the library has factor-aware candidates, why (`factorsUnusedWhy`).
 */
function factorUse(library: readonly StackCandidate[], lib: readonly StackCandidate[], columns: readonly string[], wMany: Float64Array, wFew: Float64Array, train: Dataset): Record<string, boolean | string> {
  const aware = library.filter((c) => c.predictor?.usesFactors === true);
  if (aware.length === 0 || !hasFactors(train)) return {};
  const fitted = lib.filter((c) => aware.includes(c));
  if (fitted.length === 0) return { factorsUsed: false, factorsUnusedWhy: `its factor-aware candidates (${aware.map((c) => c.columns[0]).join(', ')}) are fitted only on tables of at most ${STACK_BIG_CELLS} cells` };
  const weighted = fitted.some((c) => c.columns.some((col) => wMany[columns.indexOf(col)] > 0 || wFew[columns.indexOf(col)] > 0));
  return weighted ? { factorsUsed: true } : { factorsUsed: false, factorsUnusedWhy: `its factor-aware candidates (${fitted.map((c) => c.columns[0]).join(', ')}) earned no weight on this table` };
}

/**
 * Stacking over a library of candidates (default {@link STACK_LIBRARY}) with per-regime weights learned
 * on out-of-fold predictions of the training cells ({@link learnStackWeights}, module comment). The
 * folds are the calibration folds ({@link calibrationFolds}, {@link DEFAULT_CALIBRATION_FOLDS} of each
 * kind); a model counts as having few scores up to {@link fewThreshold}. `chosen`: the weights per
 * regime (`many.<column>`, `few.<column>`), the out-of-fold cells of each regime, and each
 * candidate's own settings (`<candidate>.<key>`).
 */
export function stackPredictor(name = 'stack', library: readonly StackCandidate[] = STACK_LIBRARY): Predictor {
  const fitWithFolds = async (train: Dataset, ctx: PredictContext, folds: readonly CalibrationFold[], views: readonly Dataset[]): Promise<{ fitted: FittedPredictor; folds: FittedPredictor[] }> => {
    throwIfAborted(ctx.signal, 'the stack fit');
    // The stack chooses its candidates' settings itself; settings given to it are not theirs.
    const own: PredictContext = { ...ctx, settings: undefined };
    const lib = library.filter((c) => c.applies(train));
    const columns = lib.flatMap((c) => c.columns);
    const J = columns.length;
    const few = fewThreshold(train.tasks.length);
    const { full, foldFits } = await fitLibraryOnFolds(lib, train, views, own);
    const r = oofResiduals(train, folds, views, foldFits, J, few);
    const nMany = r.many.length / J;
    const nFew = r.few.length / J;
    const all = nMany < MIN_REGIME_CELLS || nFew < MIN_REGIME_CELLS ? Float64Array.from([...r.many, ...r.few]) : null;
    const wMany = nMany >= MIN_REGIME_CELLS ? learnStackWeights(Float64Array.from(r.many), nMany, J) : learnStackWeights(all!, nMany + nFew, J);
    const wFew = nFew >= MIN_REGIME_CELLS ? learnStackWeights(Float64Array.from(r.few), nFew, J) : wMany;
    const chosen: Record<string, number | string | boolean> = { fewThreshold: few, folds: folds.length, cellsMany: nMany, cellsFew: nFew, ...factorUse(library, lib, columns, wMany, wFew, train) };
    columns.forEach((c, j) => {
      chosen[`many.${c}`] = Number(wMany[j].toFixed(4));
      chosen[`few.${c}`] = Number(wFew[j].toFixed(4));
    });
    lib.forEach((cand, c) => {
      for (const [k, v] of Object.entries(full.fits[c].chosen ?? {})) chosen[`${cand.columns[0]}.${k}`] = v;
    });
    return {
      fitted: combine(lib, full, train, wMany, wFew, few, chosen),
      folds: foldFits.map((f, i) => combine(lib, f, views[i], wMany, wFew, few, chosen)),
    };
  };
  return {
    name,
    description: 'stacking of mean, knn, plain kNN (5/10/20), pca, logit-als, mf-sgd and cmf (with factors), non-negative weights from out-of-fold predictions, per regime (many / few known scores)',
    // cmf reads the table's factors (on small tables; `chosen.factorsUsed` says whether they counted).
    usesFactors: library.some((c) => c.predictor?.usesFactors === true),
    canFoldIn: library.every((c) => c.canFoldIn !== false),
    members: library.flatMap((c) => (c.predictor ? [c.predictor] : [])),
    async fit(train: Dataset, ctx: PredictContext): Promise<FittedPredictor> {
      const fixed = ctx.settings ? await fitWithSettings(library, train, ctx, ctx.settings) : undefined;
      if (fixed) return fixed;
      const folds = calibrationFolds(train, ctx.seed, { folds: DEFAULT_CALIBRATION_FOLDS, sparseModels: true });
      return (await fitWithFolds(train, ctx, folds, folds.map((f) => trainView(train, f.keep)))).fitted;
    },
    fitWithFolds,
  };
}

/** The stack with the default library. */
export const defaultStackPredictor: Predictor = stackPredictor();
