/**
 * The `probes:k` evaluation protocol: does the advice pay off? Models with enough scores are held out
 * fold by fold; for each held-out model, k of its benchmarks are revealed, chosen (a) by the advisor,
 * fitted on the fold's training models only, and (b) at random, and the method predicts the model's
 * other observed cells. The error (MAE on the 0–100 scale) is reported for both after 0, 1, …, k
 * probes, so the gain of the advice is measured rather than assumed.
 *
 * The advisor plans all k probes at once from nothing known (as `advise --budget k` would, before any
 * of them is run), choosing only among the benchmarks the held-out model has a score for (a probe
 * needs a result to reveal); the random arm draws from the same benchmarks. Both arms are scored on
 * the cells each leaves unrevealed, which is the error a user would see. A method that folds in
 * predicts each held-out model as `predict --new` would, from one fit on the fold's training models
 * and its revealed probes folded in; any other is refitted with the revealed probes added.
 */
import { performance } from 'node:perf_hooks';
import { Rng } from '../../numeric/rng.js';
import { runFolds } from '../folds/runner.js';
import { CollabperfError } from '../../errors.js';
import type { Dataset } from '../data/dataset.js';
import { cellPositions } from '../data/observed-cells.js';
import { taskScales } from '../eval/metrics.js';
import { trainView } from '../eval/split.js';
import type { FittedPredictor, PredictContext, Predictor } from '../predictors/types.js';
import { adviseWith, type AdviseOptions } from './advisor.js';
import { resolveSeeds } from '../eval/evaluate.js';

/** Options of {@link evaluateProbes}. */
export interface ProbesOptions {
  /** Number of probes revealed per held-out model (integer >= 1); the curve covers 0..k. */
  k: number;
  /** Seeds to run, or how many (`n` → seeds 0..n-1). A seed draws the folds, the random probes and is the predictor's seed. */
  seeds: number[] | number;
  /** Folds over the held-out models (default 5; fewer when there are fewer models). 1 = one held-out group (with `maxModels`, for large tables). */
  folds?: number;
  /** Hold out at most this many models per seed (a seeded sample of the eligible ones). */
  maxModels?: number;
  /** Backend, threads, abort signal. */
  ctx?: Omit<PredictContext, 'seed'>;
  /** Settings of the advisor's simulation. */
  advisor?: Pick<AdviseOptions, 'referenceModels' | 'fitsPerStep'>;
  /** Called before each fold is run. */
  onProgress?: (p: ProbesProgress) => void;
}

/** Progress of {@link evaluateProbes}. */
export interface ProbesProgress {
  seed: number;
  /** 1-based fold number within the seed. */
  fold: number;
  folds: number;
  /** Names of the models held out in this fold. */
  heldOut: string[];
}

/** The error after a number of probes, MAE on the 0–100 scale over the unrevealed observed cells of the held-out models. */
export interface ProbesPoint {
  probes: number;
  advisor: number;
  random: number;
  /** Standard deviation over seeds (NaN with one seed). */
  advisorStd: number;
  randomStd: number;
  /**
   * Share of held-out models (pooled over seeds) whose own MAE is lower with the advisor's probes
   * than with random ones (a tie counts half); 0.5 = no better than chance.
   */
  advisorWins: number;
}

/** One held-out model and the probes each arm revealed. */
export interface ProbesModelRecord {
  seed: number;
  fold: number;
  model: string;
  /** Task names, in the order revealed. */
  advisor: string[];
  random: string[];
  /** The model's own MAE (0–100) after 0..k probes, per arm. */
  advisorMae: number[];
  randomMae: number[];
}

/** What {@link evaluateProbes} returns. */
export interface ProbesResult {
  dataset: string;
  method: string;
  /** `probes:k`. */
  protocol: string;
  k: number;
  seeds: number[];
  /** Held-out models per seed. */
  heldOutModels: number;
  /** Mean over seeds, for 0..k probes (the report's error curve). */
  curve: ProbesPoint[];
  perSeed: Array<{ seed: number; curve: Array<{ probes: number; advisor: number; random: number }> }>;
  models: ProbesModelRecord[];
  /** How often each task was the advisor's first probe (task name → held-out models). */
  firstProbes: Record<string, number>;
  /** Fits of the predictor (advisor simulations and predictions). */
  fits: number;
  ms: number;
}

const STREAM_SAMPLE = 0x9b0001;
const STREAM_FOLDS = 0x9b0002;
const STREAM_RANDOM = 0x9b10000; // + model index

function invalid(message: string, field: string): CollabperfError {
  return new CollabperfError('E_INVALID_ARGUMENT', message, { field });
}


/**
 * Recognises the protocol string `probes:k` (as `eval --protocol` takes it): returns k for `probes:k`
 * (case-insensitive, blanks ignored), `undefined` for any other protocol (leave it to
 * {@link parseProtocol}); `probes` without an integer k >= 1 is `E_INVALID_ARGUMENT`.
 */
export function parseProbesProtocol(text: string): number | undefined {
  const t = text.trim();
  const m = /^probes\s*(?::\s*(.*))?$/i.exec(t);
  if (!m) return undefined;
  const arg = (m[1] ?? '').trim();
  if (!/^\d+$/.test(arg) || Number(arg) < 1) {
    throw new CollabperfError('E_INVALID_ARGUMENT', `protocol "${t}": probes:k needs an integer k >= 1 (the number of benchmarks revealed per held-out model)`, { field: 'protocol' });
  }
  return Number(arg);
}

/**
 * Predictions of the cells `cells.ms` / `cells.ts` (listed model by model, in `group` order) from
 * `fitted.foldIn` of each held-out model's first `j` probes.
 */
function foldInPredictions(
  fitted: FittedPredictor,
  group: readonly number[],
  probes: readonly number[][],
  j: number,
  cells: { ms: number[]; ts: number[] },
  valueOf: (m: number, t: number) => number,
): Float64Array {
  const out = new Float64Array(cells.ms.length);
  let p = 0;
  group.forEach((m, gi) => {
    const row = fitted.foldIn!(probes[gi].slice(0, j).map((t) => ({ task: t, value: valueOf(m, t) })));
    for (; p < cells.ms.length && cells.ms[p] === m; p++) out[p] = row[cells.ts[p]];
  });
  return out;
}

const meanStd = (xs: number[]): [number, number] => {
  const v = xs.filter((x) => !Number.isNaN(x));
  const mu = v.length === 0 ? NaN : v.reduce((a, b) => a + b, 0) / v.length;
  return [mu, v.length < 2 ? NaN : Math.sqrt(v.reduce((a, x) => a + (x - mu) ** 2, 0) / (v.length - 1))];
};

/**
 * Runs the `probes:k` protocol (see the module comment). Held-out models are those with at least
 * k + 2 observed scores (k to reveal, at least two to score), sampled down to `maxModels` per seed and
 * dealt into `folds` folds. In a fold, the advisor and every fit see the training models' cells plus,
 * for the prediction fits, exactly the revealed probes of the held-out models; never their other
 * cells. Deterministic for the seeds.
 *
 * Errors (`E_INVALID_ARGUMENT`): k not a positive integer, folds not a positive integer, no model with
 * k + 2 scores, bad seeds; `E_ABORTED` when `ctx.signal` is aborted.
 */
export async function evaluateProbes(ds: Dataset, predictor: Predictor, opts: ProbesOptions): Promise<ProbesResult> {
  const t0 = performance.now();
  const k = opts.k;
  if (!Number.isSafeInteger(k) || k < 1) throw invalid(`probes:k needs an integer k >= 1, got ${k}`, 'k');
  const nFolds = opts.folds ?? 5;
  if (!Number.isSafeInteger(nFolds) || nFolds < 1) throw invalid(`folds must be a positive integer, got ${nFolds}`, 'folds');
  if (opts.maxModels !== undefined && (!Number.isSafeInteger(opts.maxModels) || opts.maxModels < 1)) throw invalid(`maxModels must be a positive integer, got ${opts.maxModels}`, 'maxModels');
  const seeds = resolveSeeds(opts.seeds);

  const nT = ds.tasks.length;
  const nnz = ds.scores.value.length;
  const to100 = Float64Array.from(taskScales(ds).range100, (r) => 100 / r);
  const cellOf = cellPositions(ds);
  const observed = ds.models.map((_, m) => ds.tasks.flatMap((__, t) => (cellOf[m * nT + t] >= 0 ? [t] : [])));
  const eligible = observed.flatMap((ts, m) => (ts.length >= k + 2 ? [m] : []));
  if (eligible.length === 0) throw invalid(`probes:${k}: no model of dataset "${ds.name}" has ${k + 2} or more scores (k to reveal and two to score)`, 'k');

  const models: ProbesModelRecord[] = [];
  const perSeed: ProbesResult['perSeed'] = [];
  const firstProbes: Record<string, number> = {};
  let fits = 0;
  let heldOutModels = 0;

  for (const seed of seeds) {
    const ctx: PredictContext = { ...opts.ctx, seed };
    let pickFrom = eligible.slice();
    if (opts.maxModels !== undefined && opts.maxModels < pickFrom.length) {
      new Rng(seed, STREAM_SAMPLE).shuffle(pickFrom);
      pickFrom = pickFrom.slice(0, opts.maxModels).sort((a, b) => a - b);
    }
    heldOutModels = pickFrom.length;
    const shuffled = pickFrom.slice();
    new Rng(seed, STREAM_FOLDS).shuffle(shuffled);
    const f = Math.min(nFolds, shuffled.length);
    const groups: number[][] = Array.from({ length: f }, () => []);
    shuffled.forEach((m, i) => groups[i % f].push(m));
    groups.forEach((g) => g.sort((a, b) => a - b));

    const sumAbs = { advisor: new Float64Array(k + 1), random: new Float64Array(k + 1) };
    const nCells = { advisor: new Float64Array(k + 1), random: new Float64Array(k + 1) };

    for (let fi = 0; fi < f; fi++) {
      const group = groups[fi];
      opts.onProgress?.({ seed, fold: fi + 1, folds: f, heldOut: group.map((m) => ds.models[m].name) });
      const out = new Set(group);
      const trainMask = new Uint8Array(nnz);
      for (let e = 0; e < nnz; e++) trainMask[e] = out.has(ds.scores.model[e]) ? 0 : 1;
      // The advisor learns from the training models only: the held-out rows are empty in this view.
      const train = trainView(ds, trainMask);
      const cache = new Map();
      const probes = { advisor: [] as number[][], random: [] as number[][] };
      for (const m of group) {
        if (opts.ctx?.signal?.aborted) throw new CollabperfError('E_ABORTED', 'probes evaluation aborted');
        const advice = await adviseWith(train, predictor, { known: [], budget: k, ctx, ...opts.advisor, stopWhenNoGain: false }, { choosable: new Set(observed[m]), cache });
        fits += advice.fits;
        probes.advisor.push(advice.steps.map((s) => s.taskIndex));
        const order = observed[m].slice();
        new Rng(seed, STREAM_RANDOM + m).shuffle(order);
        probes.random.push(order.slice(0, k));
        const first = ds.tasks[advice.steps[0].taskIndex].name;
        firstProbes[first] = (firstProbes[first] ?? 0) + 1;
      }

      // One fit per arm and number of probes, every held-out model revealing its own first j probes.
      const maeOf = { advisor: group.map(() => new Array<number>(k + 1).fill(NaN)), random: group.map(() => new Array<number>(k + 1).fill(NaN)) };
      // Nothing revealed is the same fit and cells for both arms: fitted once, copied below.
      const plan = (['advisor', 'random'] as const).flatMap((arm) => Array.from({ length: k + 1 }, (_, j) => ({ arm, j }))).filter((x) => !(x.arm === 'random' && x.j === 0));
      const planCells = plan.map(({ arm, j }) => {
        const mask = Uint8Array.from(trainMask);
        const ms: number[] = [];
        const ts: number[] = [];
        group.forEach((m, gi) => {
          const revealed = new Set(probes[arm][gi].slice(0, j));
          for (const t of revealed) mask[cellOf[m * nT + t]] = 1;
          for (const t of observed[m]) if (!revealed.has(t)) (ms.push(m), ts.push(t));
        });
        return { mask, ms, ts };
      });
      let preds: Float64Array[];
      if (predictor.canFoldIn) {
        // As `predict --new` and the advisor do: one fit on the training models, each held-out model
        // folded in from its revealed probes (a row added to the table, solved with the rest fixed).
        const fitted = await predictor.fit(train, ctx);
        fits += 1;
        preds = plan.map(({ arm, j }, i) => foldInPredictions(fitted, group, probes[arm], j, planCells[i], (m, t) => ds.scores.value[cellOf[m * nT + t]]));
      } else {
        preds = await runFolds(
          predictor,
          plan.length,
          (i) => ({ train: trainView(ds, planCells[i].mask), ctx }),
          (fitted, i) => fitted.predict(Int32Array.from(planCells[i].ms), Int32Array.from(planCells[i].ts)),
          { signal: opts.ctx?.signal, what: 'probes evaluation' },
        );
        fits += plan.length;
      }
      plan.forEach(({ arm, j }, i) => {
        const { ms, ts } = planCells[i];
        const pred = preds[i];
        let p = 0;
        group.forEach((m, gi) => {
          let s = 0;
          let n = 0;
          // Cells were listed model by model in this order above.
          for (; p < ms.length && ms[p] === m; p++) {
            const t = ts[p];
            if (!Number.isFinite(pred[p])) throw new CollabperfError('E_NON_FINITE', `method "${predictor.name}" predicted ${pred[p]} for (${ds.models[m].name}, ${ds.tasks[t].name})`);
            s += Math.abs(pred[p] - ds.scores.value[cellOf[m * nT + t]]) * to100[t];
            n++;
          }
          maeOf[arm][gi][j] = s / n;
          sumAbs[arm][j] += s;
          nCells[arm][j] += n;
        });
      });
      group.forEach((m, gi) => {
        maeOf.random[gi][0] = maeOf.advisor[gi][0];
        models.push({
          seed,
          fold: fi + 1,
          model: ds.models[m].name,
          advisor: probes.advisor[gi].map((t) => ds.tasks[t].name),
          random: probes.random[gi].map((t) => ds.tasks[t].name),
          advisorMae: maeOf.advisor[gi],
          randomMae: maeOf.random[gi],
        });
      });
    }
    nCells.random[0] = nCells.advisor[0];
    sumAbs.random[0] = sumAbs.advisor[0];
    perSeed.push({
      seed,
      curve: Array.from({ length: k + 1 }, (_, j) => ({ probes: j, advisor: sumAbs.advisor[j] / nCells.advisor[j], random: sumAbs.random[j] / nCells.random[j] })),
    });
  }

  const curve: ProbesPoint[] = Array.from({ length: k + 1 }, (_, j) => {
    const [advisor, advisorStd] = meanStd(perSeed.map((s) => s.curve[j].advisor));
    const [random, randomStd] = meanStd(perSeed.map((s) => s.curve[j].random));
    let wins = 0;
    for (const r of models) wins += r.advisorMae[j] < r.randomMae[j] ? 1 : r.advisorMae[j] === r.randomMae[j] ? 0.5 : 0;
    return { probes: j, advisor, random, advisorStd, randomStd, advisorWins: wins / models.length };
  });
  return { dataset: ds.name, method: predictor.name, protocol: `probes:${k}`, k, seeds, heldOutModels, curve, perSeed, models, firstProbes, fits, ms: performance.now() - t0 };
}
