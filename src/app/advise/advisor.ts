/**
 * "Which benchmark to run next": given the scores a model already has (or only its factors), rank the
 * benchmarks it has not run by how much running them is expected to lower the prediction error on
 * the benchmarks that would still be unknown, greedily, for a budget of steps.
 *
 * The expected error is estimated on the training table only, by simulation with the table's own
 * models. A pool of reference models (those that have the known benchmarks, nearest to the new
 * model's known scores) is stripped down to "only the known benchmarks" and the predictor is refitted:
 * its errors on their hidden cells, averaged per task and then over the unknown tasks (on each task's
 * 0–100 scale, {@link taskScales}), are the error to expect before the step. Revealing one candidate
 * more per reference model and refitting gives, for every other task, the paired change of its error
 * once the candidate is known; the candidate's own error leaves the average (it is known exactly once
 * run). Averaging per task first matters on sparse tables: a reference model's hidden cells are only
 * the tasks it happens to have, but the target is scored on all of them.
 *
 * Cost: one fit for the "before" error and at most `fitsPerStep` fits for the candidates per step.
 * With few candidates every candidate gets its own fit (every reference model that has the candidate
 * reveals it); with more, candidates are packed: in each fit every reference model reveals a
 * different candidate, assigned so that every candidate gets about the same number of reference
 * models. A reference model's prediction depends almost only on its own revealed cells, so packing
 * costs little accuracy and keeps `advise` at a few fits per step whatever the number of benchmarks
 * (one fit of the default method on crowdsource takes about a third of a second of CPU; one fit per
 * candidate would be 28 fits a step). On the probes protocol (knn, 4 seeds, crowdsource,
 * helm-classic, obsscaling) 4 candidate fits per step did as well as 8 and better than 2 or 3.
 */
import { performance } from 'node:perf_hooks';
import { Rng } from '../../numeric/rng.js';
import { CollabperfError, isCollabperfError } from '../../errors.js';
import { modelIndex, type Dataset, type Factors } from '../data/dataset.js';
import { cellPositions } from '../data/observed-cells.js';
import { checkGivenScore, resolveScales } from '../data/scale.js';
import { taskScales } from '../eval/metrics.js';
import { trainView } from '../eval/split.js';
import { resolveTask } from '../predict.js';
import type { FittedPredictor, PredictContext, Predictor } from '../predictors/types.js';
import { runFolds } from '../folds/runner.js';

/** A score the model already has. `value` may be left out for a task of an existing model (`model`), which then uses its score in the table. */
export interface KnownScore {
  /** Task name (resolved like `--new`: "MMLU" finds "MMLU(5-shot)") or task index. */
  task: number | string;
  value?: number;
}

/** Options of {@link advise}. */
export interface AdviseOptions {
  /**
   * The scores the model already has. Default: none for a new model; every observed score of `model`
   * for an existing one. A task listed twice is `E_DUPLICATE_ENTRY`. Which tasks are known drives the
   * simulation; the values choose its reference models (the models whose scores on these tasks are
   * nearest), so that the advice fits where the model stands.
   */
  known?: readonly KnownScore[];
  /**
   * Model factors of a new model (see {@link parseNewFactors}). They only steer which reference
   * models the simulation uses when no score is known (nearest by factors).
   */
  factors?: Factors;
  /**
   * An existing model of the table (name or index) to advise for. Its observed scores beyond `known`
   * are removed from the table before simulating, so the advice treats them as not yet run (and
   * they are candidates).
   */
  model?: string | number;
  /** Number of benchmarks to recommend, in order (default 3). More than the candidates left is `E_INVALID_ARGUMENT`. */
  budget?: number;
  /**
   * Cost of running each benchmark (task name or index → positive number), e.g. from
   * {@link parseCosts}. Tasks not listed cost 1. With costs, candidates are ranked by error reduction
   * per unit of cost.
   */
  costs?: ReadonlyMap<number | string, number>;
  /** The benchmarks that may be recommended (default: every task not known). */
  candidates?: ReadonlyArray<number | string>;
  /** Seed (fits, reference models, packing), backend, threads, abort signal. */
  ctx: PredictContext;
  /**
   * Largest number of reference models per step. Default: a third of the models with scores, at
   * most 32 (more on large tables, where hiding a few hundred rows costs the fit nothing: up to a
   * twentieth of the models, at most 200).
   */
  referenceModels?: number;
  /** Candidate fits per step besides the one "before" fit (default {@link DEFAULT_FITS_PER_STEP}). */
  fitsPerStep?: number;
  /**
   * Stop the list at the first step whose best benchmark has no positive expected gain (default
   * true). The probes evaluation turns it off: it measures a fixed number of probes.
   */
  stopWhenNoGain?: boolean;
}

/** A candidate benchmark of a step with its estimated effect. */
export interface AdviceOption {
  /** Task name. */
  task: string;
  /** Task index in the dataset. */
  taskIndex: number;
  /**
   * Expected mean absolute error (0–100 scale) over the tasks still unknown once this task is known
   * too. NaN when no reference model has the task (nothing to estimate it from).
   */
  expectedErrorAfter: number;
  /**
   * `expectedErrorBefore − expectedErrorAfter`: the task's own error leaving the mean plus how much
   * knowing it improves the other predictions. Can be negative (a task that is easy to predict and
   * tells little about the rest).
   */
  gain: number;
  /** Cost of the task (1 without costs). */
  cost: number;
  /** Reference models whose simulated reveal of the task measured its effect on the others (0 = only its own error is known). */
  support: number;
}

/** One recommended benchmark: the best {@link AdviceOption} of the step, with the alternatives. */
export interface AdviceStep extends AdviceOption {
  /**
   * Expected mean absolute error (0–100 scale) over the tasks still unknown before this step: the
   * previous step's `expectedErrorAfter`, or {@link Advice.baselineError} for the first step.
   */
  expectedErrorBefore: number;
  /** Every candidate of this step, best first (the chosen one is `ranking[0]`). */
  ranking: AdviceOption[];
}

/** What {@link advise} returns. */
export interface Advice {
  /** The predictor used. */
  method: string;
  /** Names of the tasks known at the start. */
  known: string[];
  /**
   * Expected mean absolute error (0–100 scale) over the unknown tasks before any step: per task, the
   * mean error over the reference models that have it, then the mean over those tasks (tasks no
   * reference model has are left out). Slightly pessimistic, as the simulation's fits lack the
   * reference models' hidden scores. NaN without reference models.
   */
  baselineError: number;
  /**
   * The recommended benchmarks in order: `budget` of them, or fewer when the list stopped early
   * (see {@link Advice.stopped}).
   */
  steps: AdviceStep[];
  /**
   * Why fewer than `budget` steps were listed: the best remaining benchmark's expected gain was
   * zero or negative (running it is not expected to lower the error on the others), or nothing was
   * measurable. `null` when every step of the budget was listed.
   */
  stopped: { atStep: number; reason: string; bestRemaining: AdviceOption | null } | null;
  /** Reference models used at the first step. */
  referenceModels: number;
  /**
   * What to tell the user beside the plan: given scores that do not fit their task's scale (naming
   * the model, task and value), and a caution when the plan rests on fewer than
   * {@link MIN_REFERENCE_MODELS} reference models.
   */
  warnings: string[];
  /** Fits of the predictor made. */
  fits: number;
  /** Wall time, milliseconds. */
  ms: number;
}

/** Below this many reference models the expected errors rest on too few examples to trust. */
export const MIN_REFERENCE_MODELS = 10;

/** Candidate fits per step besides the "before" fit, by default. */
export const DEFAULT_FITS_PER_STEP = 4;

/**
 * Pseudo-cells at the mean error that a task's expected error is shrunk with: a task only one or two
 * reference models have would otherwise swing the advice on one residual.
 */
const TASK_PRIOR_CELLS = 2;
/** Pseudo-observations at the typical candidate's level that a candidate's effect on a task is shrunk with. */
const EFFECT_PRIOR_PAIRS = 1;

/** What one simulated step found (internal; cached by the probes evaluation). */
interface StepEstimate {
  /** Expected error over the measurable unknown tasks before the step (NaN without reference data). */
  before: number;
  /** Task → expected error over the other unknown tasks once it is known (NaN when no reference model has it). */
  after: Float64Array;
  /** Task → reference models that revealed it. */
  support: Int32Array;
  pool: number;
  fits: number;
  /** The settings the step's fit chose, which later steps reuse (see {@link PredictContext.settings}). */
  chosen?: FittedPredictor['chosen'];
}

/**
 * Internal knobs used by {@link evaluateProbes}: restrict the choice (not the simulation) to the
 * tasks a held-out model has, and share simulations between held-out models of one fold.
 * @internal
 */
export interface AdviseInternals {
  /** Tasks that may be chosen (a subset of the candidates); the simulation still covers every candidate. */
  choosable?: ReadonlySet<number>;
  /** Step estimates by known set and pool, valid for one table, predictor and context. */
  cache?: Map<string, StepEstimate>;
}

// PRNG streams of the advisor, apart from the protocols' and predictors'.
const STREAM_POOL = 0xad0001;
const STREAM_PACK = 0xad0002;

function invalid(message: string, field?: string): CollabperfError {
  return new CollabperfError('E_INVALID_ARGUMENT', message, { field });
}

/** A task given by index or name → index (E_INDEX_OUT_OF_RANGE / E_NOT_FOUND). */
export function resolveTaskRef(ds: Dataset, ref: number | string, field: string): number {
  if (typeof ref === 'number') {
    if (!Number.isInteger(ref) || ref < 0 || ref >= ds.tasks.length) {
      throw new CollabperfError('E_INDEX_OUT_OF_RANGE', `task index ${ref} outside 0..${ds.tasks.length - 1}`, { field });
    }
    return ref;
  }
  try {
    return resolveTask(ds, ref);
  } catch (e) {
    // Re-issue with the caller's field so the message says which option held the bad name.
    if (isCollabperfError(e)) throw new CollabperfError(e.code, e.message.replace(/^field "task": /, ''), { field }, { cause: e });
    throw e;
  }
}

/** The training table seen by the simulation with a dense lookup of its cells and the 0–100 factor of each task. */
interface CellLookup {
  ds: Dataset;
  nT: number;
  /** `m * nT + t` → position in `ds.scores`, or -1 ({@link cellPositions}). */
  cellOf: Int32Array;
  /** 100 / range of each task on the 0–100 scale. */
  to100: Float64Array;
}

function makeLookup(ds: Dataset, scaleFrom: Dataset): CellLookup {
  const sc = taskScales(scaleFrom);
  return { ds, nT: ds.tasks.length, cellOf: cellPositions(ds), to100: Float64Array.from(sc.range100, (r) => 100 / r) };
}

/** Distance between a model's factors and the target's: mean over shared factors (log ratio for positive numbers, relative difference otherwise, 0/1 for categories). */
function factorDistance(ds: Dataset, m: number, factors: Factors, spread: Map<string, number>): number {
  let sum = 0;
  let n = 0;
  for (const [k, v] of Object.entries(factors)) {
    const w = ds.models[m].factors[k];
    if (w === undefined) continue;
    if (typeof v === 'number' && typeof w === 'number') {
      sum += v > 0 && w > 0 ? Math.abs(Math.log10(v / w)) : Math.abs(v - w) / (spread.get(k) || 1);
    } else sum += v === w ? 0 : 1;
    n++;
  }
  return n === 0 ? Infinity : sum / n;
}

/**
 * The reference models of a step: models other than the target with at least two scores among the
 * unknown tasks (one to reveal, one to measure), those with more of the known tasks first, then the
 * nearest to the target's known scores (mean absolute difference on the 0–100 scale; by factors when
 * no score is known), ties in a seeded random order.
 */
function choosePool(tb: CellLookup, known: ReadonlySet<number>, values: ReadonlyMap<number, number>, factors: Factors | undefined, target: number, size: number | undefined, seed: number): number[] {
  const { ds, nT, cellOf, to100 } = tb;
  const nM = ds.models.length;
  let withScores = 0;
  const eligible: number[] = [];
  const coverage = new Int32Array(nM);
  const dist = new Float64Array(nM);
  const rank = new Float64Array(nM);
  const rng = new Rng(seed, STREAM_POOL);
  for (let m = 0; m < nM; m++) rank[m] = rng.nextDouble();
  const spread = new Map<string, number>();
  if (values.size === 0 && factors) {
    for (const f of ds.factorSchema.model) {
      if (f.type !== 'numeric') continue;
      const xs = ds.models.map((x) => x.factors[f.name]).filter((x): x is number => typeof x === 'number');
      if (xs.length > 1) spread.set(f.name, Math.max(...xs) - Math.min(...xs));
    }
  }
  for (let m = 0; m < nM; m++) {
    let unknown = 0;
    let any = false;
    for (let t = 0; t < nT; t++) {
      if (cellOf[m * nT + t] < 0) continue;
      any = true;
      if (known.has(t)) coverage[m]++;
      else unknown++;
    }
    if (any && m !== target) withScores++;
    if (m === target || unknown < 2) continue;
    eligible.push(m);
    if (values.size > 0) {
      let s = 0;
      let n = 0;
      for (const [t, v] of values) {
        const e = cellOf[m * nT + t];
        if (e < 0) continue;
        s += Math.abs(ds.scores.value[e] - v) * to100[t];
        n++;
      }
      dist[m] = n === 0 ? Infinity : s / n;
    } else if (factors && Object.keys(factors).length > 0) dist[m] = factorDistance(ds, m, factors, spread);
  }
  // Hiding a third of a small table's models still leaves the predictor most of it to learn from; on
  // a large table a twentieth is already plenty of reference models.
  const auto = Math.min(Math.floor(withScores / 3), Math.max(32, Math.min(200, Math.floor(withScores / 20))));
  const n = Math.max(1, Math.min(size ?? auto, eligible.length));
  eligible.sort((a, b) => coverage[b] - coverage[a] || dist[a] - dist[b] || rank[a] - rank[b] || a - b);
  return eligible.slice(0, n).sort((a, b) => a - b);
}

/**
 * Simulates one step: a fit with the pool stripped to the known tasks, then fits revealing one
 * candidate per reference model. Returns each candidate's estimated gain and support.
 */
async function simulateStep(
  tb: CellLookup,
  predictor: Predictor,
  ctx: PredictContext,
  known: ReadonlySet<number>,
  pool: number[],
  candidates: number[],
  fitsPerStep: number,
): Promise<StepEstimate> {
  const { ds, nT, cellOf, to100 } = tb;
  const nnz = ds.scores.value.length;
  const after = new Float64Array(nT).fill(NaN);
  const support = new Int32Array(nT);
  if (pool.length === 0) return { before: NaN, after, support, pool: 0, fits: 0 };

  // Hidden tasks of each reference model: its observed tasks that are not known.
  const hidden = pool.map((m) => {
    const ts: number[] = [];
    for (let t = 0; t < nT; t++) if (!known.has(t) && cellOf[m * nT + t] >= 0) ts.push(t);
    return ts;
  });
  const mask0 = new Uint8Array(nnz).fill(1);
  pool.forEach((m, i) => hidden[i].forEach((t) => (mask0[cellOf[m * nT + t]] = 0)));

  const absErrors = (pred: Float64Array, ms: number[], ts: number[]): Float64Array =>
    Float64Array.from(pred, (p, j) => Math.abs(p - ds.scores.value[cellOf[ms[j] * nT + ts[j]]]) * to100[ts[j]]);
  const score = (fitted: FittedPredictor, ms: number[], ts: number[]): Float64Array => {
    const pred = fitted.predict(Int32Array.from(ms), Int32Array.from(ts));
    for (let j = 0; j < pred.length; j++) {
      if (!Number.isFinite(pred[j])) throw new CollabperfError('E_NON_FINITE', `method "${predictor.name}" predicted ${pred[j]} for (${ds.models[ms[j]].name}, ${ds.tasks[ts[j]].name})`);
    }
    return absErrors(pred, ms, ts);
  };
  // "Before": every hidden cell of the pool, with only the known tasks revealed.
  const ms0: number[] = [];
  const ts0: number[] = [];
  pool.forEach((m, i) => hidden[i].forEach((t) => (ms0.push(m), ts0.push(t))));
  if (ctx.signal?.aborted) throw new CollabperfError('E_ABORTED', 'advice aborted');
  const fitted0 = await predictor.fit(trainView(ds, mask0), ctx);
  const chosen = fitted0.chosen;
  const flat0 = score(fitted0, ms0, ts0);
  const err0: Map<number, number>[] = pool.map(() => new Map());
  let o = 0;
  pool.forEach((_, i) => hidden[i].forEach((t) => err0[i].set(t, flat0[o++])));

  // Expected error per unknown task, pooled over the reference models that have it and shrunk
  // towards the mean over all cells: a model's hidden cells are only the tasks it happens to have,
  // so averaging per task (then over tasks) estimates the error over *all* unknown tasks, as the
  // target sees it, rather than over the tasks most models report.
  const sumT = new Float64Array(nT);
  const nTk = new Int32Array(nT);
  let all = 0;
  for (let j = 0; j < flat0.length; j++) (sumT[ts0[j]] += flat0[j]), nTk[ts0[j]]++, (all += flat0[j]);
  const grand = flat0.length === 0 ? 0 : all / flat0.length;
  const errT = Float64Array.from(sumT, (x, t) => (x + TASK_PRIOR_CELLS * grand) / (nTk[t] + TASK_PRIOR_CELLS));
  const measurable: number[] = [];
  for (let t = 0; t < nT; t++) if (!known.has(t) && nTk[t] > 0) measurable.push(t);
  const before = measurable.length === 0 ? NaN : measurable.reduce((acc, t) => acc + errT[t], 0) / measurable.length;

  // Which candidate each reference model reveals in each fit (a model needs a second hidden cell to
  // measure the effect on).
  const isCandidate = new Uint8Array(nT);
  for (const c of candidates) isCandidate[c] = 1;
  const options = hidden.map((ts) => (ts.length >= 2 ? ts.filter((t) => isCandidate[t]) : []));
  // Every (reference model, revealed candidate, other hidden task) triple: its error before and after.
  const pairs: RevealPair[] = [];
  const plans: Array<Map<number, number>> = []; // per fit: pool position → revealed task
  if (fitted0.foldIn) {
    foldInPairs(tb, fitted0, known, pool, hidden, options, pairs, support);
  } else {
    await refitPairs(tb, predictor, ctx, pool, hidden, options, candidates, fitsPerStep, mask0, err0, score, plans, pairs, support);
  }

  // The error on t with c known: the mean error on t of the reference models that revealed c, shrunk
  // towards the mean over all candidates with a pseudo-observation (few pairs are noisy), as a change
  // against the same step's error before. (Pairing each error after with the same model's error
  // before, or fitting a model-plus-candidate additive model, ranked candidates worse against the
  // true one-probe error on helm-classic, crowdsource and obsscaling: revealing a task reshuffles
  // which models are hard to predict, so the model's own baseline mostly adds noise.)
  const effect = new Map<number, Float64Array>(); // candidate → change of the error per task
  const sumY = new Map<number, Float64Array>();
  const nY = new Map<number, Int32Array>();
  const allY = new Float64Array(nT);
  const allN = new Int32Array(nT);
  const xSum = new Float64Array(nT);
  const xN = new Int32Array(nT);
  const xSeen = new Set<string>();
  for (const q of pairs) {
    if (!sumY.has(q.c)) (sumY.set(q.c, new Float64Array(nT)), nY.set(q.c, new Int32Array(nT)));
    sumY.get(q.c)![q.t] += q.y;
    nY.get(q.c)![q.t]++;
    allY[q.t] += q.y;
    allN[q.t]++;
    const key = `${q.i},${q.t}`;
    if (!xSeen.has(key)) (xSeen.add(key), (xSum[q.t] += q.x), xN[q.t]++);
  }
  for (const c of candidates) {
    const sy = sumY.get(c);
    if (!sy) continue;
    const ny = nY.get(c)!;
    const e = new Float64Array(nT).fill(NaN);
    for (let t = 0; t < nT; t++) {
      if (t === c || allN[t] === 0) continue;
      const yBar = allY[t] / allN[t];
      // A candidate never revealed next to t (sparse tables) gets the typical candidate's effect on t.
      e[t] = (sy[t] + EFFECT_PRIOR_PAIRS * yBar) / (ny[t] + EFFECT_PRIOR_PAIRS) - xSum[t] / xN[t];
    }
    effect.set(c, e);
  }

  // After revealing c: the mean over the other measurable unknown tasks of their expected error with
  // c known. c's own error leaves the mean: it is known exactly once run. A candidate no reference
  // model could reveal keeps the other errors as they are.
  for (const c of candidates) {
    if (nTk[c] === 0) continue; // no reference model has it: nothing to go on
    const e = effect.get(c);
    let s = 0;
    let n = 0;
    for (const t of measurable) {
      if (t === c) continue;
      const d = e && Number.isFinite(e[t]) ? e[t] : 0;
      s += Math.max(0, errT[t] + d);
      n++;
    }
    after[c] = n === 0 ? 0 : s / n;
  }
  return { before, after, support, pool: pool.length, fits: 1 + plans.length, chosen };
}

/** One simulated reveal: reference model at pool position `i` reveals `c`; its error on `t` before (`x`) and after (`y`). */
interface RevealPair {
  i: number;
  c: number;
  t: number;
  x: number;
  y: number;
}

/**
 * The reveals of a step without refitting: each reference model is folded into the one fit of the
 * step (the table with the pool's hidden cells removed) from its known scores, then from its known
 * scores plus each candidate it has, and scored on its other hidden cells. Every candidate of every
 * reference model is tried (a refit per reveal would cost a fit each; {@link refitPairs} packs them
 * into a few fits instead). Before and after both come from fold-in, so the effect of a candidate
 * is not confounded with the difference between folding in and refitting.
 */
function foldInPairs(
  tb: CellLookup,
  fitted: FittedPredictor,
  known: ReadonlySet<number>,
  pool: number[],
  hidden: number[][],
  options: number[][],
  pairs: RevealPair[],
  support: Int32Array,
): void {
  const { ds, nT, cellOf, to100 } = tb;
  const valueOf = (m: number, t: number): number => ds.scores.value[cellOf[m * nT + t]];
  pool.forEach((m, i) => {
    if (options[i].length === 0) return;
    const given: Array<{ task: number; value: number }> = [];
    for (const t of known) if (cellOf[m * nT + t] >= 0) given.push({ task: t, value: valueOf(m, t) });
    const before = fitted.foldIn!(given);
    for (const c of options[i]) {
      const after = fitted.foldIn!([...given, { task: c, value: valueOf(m, c) }]);
      for (const t of hidden[i]) {
        if (t === c) continue;
        const truth = valueOf(m, t);
        pairs.push({ i, c, t, x: Math.abs(before[t] - truth) * to100[t], y: Math.abs(after[t] - truth) * to100[t] });
      }
      support[c]++;
    }
  });
}

/**
 * The reveals of a step by refitting, for methods without fold-in: candidates are packed into at
 * most `fitsPerStep` fits (each reference model reveals one candidate per fit, the least-measured
 * first), each fit scored on the reference models' other hidden cells against `err0`, the errors
 * of the step's fit with nothing revealed.
 */
async function refitPairs(
  tb: CellLookup,
  predictor: Predictor,
  ctx: PredictContext,
  pool: number[],
  hidden: number[][],
  options: number[][],
  candidates: number[],
  fitsPerStep: number,
  mask0: Uint8Array,
  err0: Map<number, number>[],
  score: (fitted: FittedPredictor, ms: number[], ts: number[]) => Float64Array,
  plans: Array<Map<number, number>>,
  pairs: RevealPair[],
  support: Int32Array,
): Promise<void> {
  const { ds, nT, cellOf } = tb;
  const possible = candidates.filter((c) => options.some((o2) => o2.includes(c)));
  if (possible.length <= fitsPerStep) {
    for (const c of possible) {
      const plan = new Map<number, number>();
      options.forEach((opt, i) => opt.includes(c) && plan.set(i, c));
      plans.push(plan);
    }
  } else {
    const rng = new Rng(ctx.seed, STREAM_PACK);
    const count = new Int32Array(nT);
    const used = pool.map(() => new Set<number>());
    for (let f = 0; f < fitsPerStep; f++) {
      const order = Int32Array.from(pool, (_, i) => i);
      rng.shuffle(order);
      const tie = Float64Array.from({ length: nT }, () => rng.nextDouble());
      const plan = new Map<number, number>();
      for (const i of order) {
        let best = -1;
        for (const c of options[i]) {
          if (used[i].has(c)) continue;
          // The least-measured candidate first, so every candidate gets about the same support.
          if (best < 0 || count[c] < count[best] || (count[c] === count[best] && tie[c] < tie[best])) best = c;
        }
        if (best < 0) continue;
        plan.set(i, best);
        used[i].add(best);
        count[best]++;
      }
      if (plan.size === 0) break;
      plans.push(plan);
    }
  }

  const fits = plans.map((plan) => {
    const mask = Uint8Array.from(mask0);
    const ms: number[] = [];
    const ts: number[] = [];
    for (const [i, c] of plan) {
      mask[cellOf[pool[i] * nT + c]] = 1;
      for (const t of hidden[i]) if (t !== c) (ms.push(pool[i]), ts.push(t));
    }
    return { mask, ms, ts };
  });
  const scored = await runFolds(
    predictor,
    fits.length,
    (f) => ({ train: trainView(ds, fits[f].mask), ctx }),
    (fitted, f) => score(fitted, fits[f].ms, fits[f].ts),
    { signal: ctx.signal, what: 'advice' },
  );
  for (let f = 0; f < plans.length; f++) {
    const plan = plans[f];
    const flat = scored[f];
    let p = 0;
    for (const [i, c] of plan) {
      for (const t of hidden[i]) if (t !== c) pairs.push({ i, c, t, x: err0[i].get(t)!, y: flat[p++] });
      support[c]++;
    }
  }

}

/**
 * Recommends the next `budget` benchmarks to run for a new model (from its known scores and/or
 * factors) or for an existing model of the table (`model`), in order, each with the expected mean
 * absolute error (0–100 scale) over the tasks still unknown before and after it is known.
 *
 * Greedy: at each step every candidate's error reduction is estimated by simulation on the table's
 * own models (see the module comment), and the candidate with the largest reduction (per unit of
 * cost when `costs` are given; a negative reduction is multiplied by the cost instead, so a cheap
 * harmful step never beats a useful one) is chosen, then added to the known tasks for the next step.
 * Ties and unmeasured candidates (support 0, ranked last, by cost) go to the lower task index. The
 * plan does not depend on the results of the recommended benchmarks (they are not known yet), only
 * on which benchmarks are known.
 *
 * Errors: a task name that matches no task (`E_NOT_FOUND`), a task index outside the table
 * (`E_INDEX_OUT_OF_RANGE`), a task known twice or a candidate listed twice (`E_DUPLICATE_ENTRY`), a
 * known score that is not finite (`E_NON_FINITE`), a budget that is not a positive integer or is
 * larger than the candidates left, a candidate that is already known, a cost that is not a positive
 * number, a known task of a new model without a value (`E_INVALID_ARGUMENT`), an aborted signal
 * (`E_ABORTED`).
 */
export async function advise(ds: Dataset, predictor: Predictor, opts: AdviseOptions): Promise<Advice> {
  return adviseWith(ds, predictor, opts, {});
}

/** {@link advise} with the probes evaluation's knobs. @internal */
export async function adviseWith(ds: Dataset, predictor: Predictor, opts: AdviseOptions, internals: AdviseInternals): Promise<Advice> {
  const t0 = performance.now();
  const ctx = opts.ctx;
  if (!ctx || typeof ctx.seed !== 'number') throw invalid('advise needs a context with a seed (ctx.seed)', 'ctx');
  const budget = opts.budget ?? 3;
  if (!Number.isSafeInteger(budget) || budget < 1) throw invalid(`the budget must be a positive integer, got ${budget}`, 'budget');
  const fitsPerStep = opts.fitsPerStep ?? DEFAULT_FITS_PER_STEP;
  if (!Number.isSafeInteger(fitsPerStep) || fitsPerStep < 1) throw invalid(`fitsPerStep must be a positive integer, got ${fitsPerStep}`, 'fitsPerStep');
  if (opts.referenceModels !== undefined && (!Number.isSafeInteger(opts.referenceModels) || opts.referenceModels < 1)) {
    throw invalid(`referenceModels must be a positive integer, got ${opts.referenceModels}`, 'referenceModels');
  }

  const target = opts.model === undefined ? -1 : typeof opts.model === 'number' ? opts.model : modelIndex(ds, opts.model);
  if (target !== -1 && !(Number.isInteger(target) && target >= 0 && target < ds.models.length)) {
    throw new CollabperfError('E_INDEX_OUT_OF_RANGE', `model index ${target} outside 0..${ds.models.length - 1}`, { field: 'model' });
  }
  const nT = ds.tasks.length;
  const full = makeLookup(ds, ds);
  const ownScore = (t: number): number | undefined => {
    const e = target < 0 ? -1 : full.cellOf[target * nT + t];
    return e < 0 ? undefined : ds.scores.value[e];
  };

  // Known scores.
  const knownList: KnownScore[] =
    opts.known !== undefined ? [...opts.known] : target >= 0 ? ds.tasks.flatMap((_, t) => (ownScore(t) === undefined ? [] : [{ task: t }])) : [];
  const values = new Map<number, number>();
  const known = new Set<number>();
  for (const k of knownList) {
    const t = resolveTaskRef(ds, k.task, 'known');
    if (known.has(t)) throw new CollabperfError('E_DUPLICATE_ENTRY', `task "${ds.tasks[t].name}" is listed as known twice`, { field: 'known' });
    known.add(t);
    const v = k.value ?? ownScore(t);
    if (v === undefined) {
      throw invalid(
        target >= 0 ? `model "${ds.models[target].name}" has no score for "${ds.tasks[t].name}" in the table; give its value` : `known task "${ds.tasks[t].name}" needs a value`,
        'known',
      );
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new CollabperfError('E_NON_FINITE', `known score for "${ds.tasks[t].name}" is ${v}`, { field: 'known' });
    values.set(t, v);
  }

  // Candidates.
  let candidates: number[];
  if (opts.candidates !== undefined) {
    const seen = new Set<number>();
    candidates = opts.candidates.map((c) => {
      const t = resolveTaskRef(ds, c, 'candidates');
      if (seen.has(t)) throw new CollabperfError('E_DUPLICATE_ENTRY', `candidate "${ds.tasks[t].name}" is listed twice`, { field: 'candidates' });
      if (known.has(t)) throw invalid(`candidate "${ds.tasks[t].name}" is already known`, 'candidates');
      seen.add(t);
      return t;
    });
    candidates.sort((a, b) => a - b);
  } else candidates = ds.tasks.flatMap((_, t) => (known.has(t) ? [] : [t]));
  const choosable = internals.choosable ? candidates.filter((t) => internals.choosable!.has(t)) : candidates;
  if (budget > choosable.length) {
    throw invalid(`budget ${budget} is larger than the ${choosable.length} benchmark${choosable.length === 1 ? '' : 's'} left to run`, 'budget');
  }

  // Costs.
  const cost = new Float64Array(nT).fill(1);
  if (opts.costs) {
    for (const [ref, c] of opts.costs) {
      const t = resolveTaskRef(ds, ref, 'costs');
      if (typeof c !== 'number' || !Number.isFinite(c) || c <= 0) throw invalid(`the cost of "${ds.tasks[t].name}" must be a positive number, got ${c}`, 'costs');
      cost[t] = c;
    }
  }

  // The table the simulation learns from: an existing model keeps only its known cells, so that its
  // other scores are neither reference data nor part of any fit.
  let table = full;
  if (target >= 0) {
    const keep = new Uint8Array(ds.scores.value.length).fill(1);
    for (let e = 0; e < keep.length; e++) if (ds.scores.model[e] === target && !known.has(ds.scores.task[e])) keep[e] = 0;
    table = makeLookup(trainView(ds, keep), ds);
  }

  const cache = internals.cache;
  const steps: AdviceStep[] = [];
  const chosen = new Set<number>();
  let baselineError = NaN;
  let firstPool = 0;
  let fits = 0;
  let prevAfter = NaN;
  let stopped: Advice['stopped'] = null;
  let settings: FittedPredictor['chosen'] | undefined;
  for (let s = 0; s < budget; s++) {
    const knownNow = new Set([...known, ...chosen]);
    const pool = choosePool(table, knownNow, values, opts.factors, target, opts.referenceModels, ctx.seed);
    const left = candidates.filter((t) => !chosen.has(t));
    const key = `${[...knownNow].sort((a, b) => a - b).join(',')}|${pool.join(',')}|${left.join(',')}|${fitsPerStep}`;
    let est = cache?.get(key);
    if (!est) {
      // Later steps refit on the same table with one more task known: they keep the first step's
      // settings rather than choosing them again (the stack, say, skips its folds).
      est = await simulateStep(table, predictor, settings ? { ...ctx, settings } : ctx, knownNow, pool, left, fitsPerStep);
      fits += est.fits;
      cache?.set(key, est);
    }
    if (s === 0) (baselineError = est.before), (firstPool = est.pool), (settings = est.chosen);
    // Each step's pool measures its own "before"; the reported errors chain the relative reduction
    // of every step onto the previous step's estimate, so the sequence stays consistent.
    const before = s === 0 || !Number.isFinite(prevAfter) ? est.before : prevAfter;

    const scale = (x: number): number => (est.before > 0 ? (before * x) / est.before : x === 0 ? 0 : NaN);
    const ranking: AdviceOption[] = [];
    const unmeasured: AdviceOption[] = [];
    for (const t of choosable) {
      if (chosen.has(t)) continue;
      const after = scale(est.after[t]);
      const option = { task: ds.tasks[t].name, taskIndex: t, expectedErrorAfter: after, gain: before - after, cost: cost[t], support: est.support[t] };
      (Number.isFinite(option.gain) ? ranking : unmeasured).push(option);
    }
    // Best reduction per unit of cost first; a negative reduction is multiplied by the cost, so a
    // cheap harmful step never beats a useful one. Unmeasured candidates last, cheapest first.
    const score = (o: AdviceOption): number => (o.gain > 0 ? o.gain / o.cost : o.gain * o.cost);
    ranking.sort((a, b) => score(b) - score(a) || a.taskIndex - b.taskIndex);
    unmeasured.sort((a, b) => a.cost - b.cost || a.taskIndex - b.taskIndex);
    ranking.push(...unmeasured);
    const pick = ranking[0];
    // A greedy list that goes on past the point of no gain would recommend running a benchmark that
    // is expected to leave the error where it was or make it worse: stop there and say so.
    if (pick === undefined || (opts.stopWhenNoGain !== false && !(pick.gain > 0))) {
      stopped = {
        atStep: s + 1,
        reason: pick === undefined ? 'no benchmark left to measure' : Number.isFinite(pick.gain) ? `the best remaining benchmark (${pick.task}) has expected gain ${pick.gain.toFixed(3)} <= 0` : 'no remaining benchmark has a measurable effect (no reference model has them)',
        bestRemaining: pick ?? null,
      };
      break;
    }
    const { expectedErrorAfter, gain, cost: c, support, task, taskIndex } = pick;
    steps.push({ task, taskIndex, expectedErrorBefore: before, expectedErrorAfter, gain, cost: c, support, ranking });
    chosen.add(pick.taskIndex);
    prevAfter = pick.expectedErrorAfter;
  }
  const warnings: string[] = [];
  if (opts.known !== undefined && target < 0) {
    // A given score off its task's scale (0.666 on a 0-100 task) skews every expected error of the plan.
    const scales = resolveScales(ds);
    for (const [t, v] of values) {
      const w = checkGivenScore(ds.tasks[t].name, v, scales[t], 'new model');
      if (w) warnings.push(w.message);
    }
  }
  if (firstPool < MIN_REFERENCE_MODELS) {
    warnings.push(`the advice rests on ${firstPool} reference model(s) (fewer than ${MIN_REFERENCE_MODELS}): the expected errors are rough estimates`);
  }
  return {
    method: predictor.name,
    known: [...known].sort((a, b) => a - b).map((t) => ds.tasks[t].name),
    baselineError,
    steps,
    stopped,
    referenceModels: firstPool,
    warnings,
    fits,
    ms: performance.now() - t0,
  };
}
