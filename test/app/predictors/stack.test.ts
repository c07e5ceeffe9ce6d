import { describe, expect, it } from 'vitest';
import { createDataset, type Dataset, type ScoreTuple } from '../../../src/app/data/dataset.js';
import { trainView } from '../../../src/app/eval/split.js';
import { logitAlsPredictor123 } from '../../../src/app/predictors/logit-als.js';
import { meanPredictor } from '../../../src/app/predictors/mean.js';
import { learnStackWeights, predictorCandidate, stackPredictor } from '../../../src/app/predictors/stack.js';
import type { Predictor } from '../../../src/app/predictors/types.js';
import { DEFAULT_INTERVAL_FOLDS, withIntervals } from '../../../src/app/trust/intervals.js';
import { Rng } from '../../../src/numeric/rng.js';

/** A percent-scale table whose logits are bias + rank-2, with a share of cells held out. */
function logitTable(M: number, T: number, seed: number, missing: number) {
  const rng = new Rng(seed, 9);
  const g = () => rng.nextDouble() * 2 - 1;
  const a = Array.from({ length: M }, () => 1.5 * g());
  const b = Array.from({ length: T }, () => g());
  const U = Array.from({ length: M }, () => [g(), g()]);
  const V = Array.from({ length: T }, () => [g(), g()]);
  const truth = (m: number, t: number) => 100 / (1 + Math.exp(-(a[m] + b[t] + U[m][0] * V[t][0] + U[m][1] * V[t][1])));
  const scores: ScoreTuple[] = [];
  const hidden: number[] = [];
  for (let m = 0; m < M; m++) {
    for (let t = 0; t < T; t++) {
      const keep = (t - m + T) % T < 3;
      if (!keep && rng.nextDouble() < missing) hidden.push(scores.length);
      scores.push([m, t, truth(m, t), 0]);
    }
  }
  const ds = createDataset({
    name: 'logit',
    models: Array.from({ length: M }, (_, m) => `m${m}`),
    tasks: Array.from({ length: T }, (_, t) => ({ name: `t${t}`, factors: {}, scale: 'percent' as const })),
    scores,
  });
  const keep = new Uint8Array(scores.length).fill(1);
  for (const e of hidden) keep[e] = 0;
  return { ds, keep, hidden, truth };
}

function maeOnHidden(p: Awaited<ReturnType<Predictor['fit']>>, ds: Dataset, hidden: number[]): number {
  const pred = p.predict(Int32Array.from(hidden, (e) => ds.scores.model[e]), Int32Array.from(hidden, (e) => ds.scores.task[e]));
  return pred.reduce((s, x, i) => s + Math.abs(x - ds.scores.value[hidden[i]]), 0) / pred.length;
}

describe('logit-als', () => {
  it('recovers a planted bias + rank-2 logit table from 70 % of its cells', async () => {
    const { ds, keep, hidden } = logitTable(60, 10, 3, 0.3);
    const train = trainView(ds, keep);
    const f = await logitAlsPredictor123.fit(train, { seed: 1 });
    const mean = await meanPredictor.fit(train, { seed: 1 });
    const err = maeOnHidden(f, ds, hidden);
    // percent points; the additive model misses the interaction by several points
    expect(err).toBeLessThan(1.0);
    expect(err).toBeLessThan(maeOnHidden(mean, ds, hidden) / 4);
    expect(f.chosen.rank).toBeGreaterThanOrEqual(2);
    // fold-in of a known row lands near its truth too
    const m = ds.scores.model[hidden[0]];
    const row = f.foldIn!(Array.from({ length: 10 }, (_, t) => t).filter((t) => t !== ds.scores.task[hidden[0]]).map((t) => ({ task: t, value: ds.scores.value[m * 10 + t] })));
    expect(Math.abs(row[ds.scores.task[hidden[0]]] - ds.scores.value[hidden[0]])).toBeLessThan(5);
  });
});

describe('learnStackWeights', () => {
  it('is non-negative, sums to 1 and puts nearly all weight on the column that generated the data', () => {
    const rng = new Rng(4, 1);
    const n = 400;
    const J = 5;
    const E = new Float64Array(n * J);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < J; j++) E[i * J + j] = (j === 3 ? 0.05 : 0.6 + 0.2 * j) * (rng.nextDouble() * 2 - 1);
    }
    const w = learnStackWeights(E, n, J);
    expect(Math.min(...w)).toBeGreaterThanOrEqual(0);
    expect(w.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 9);
    expect(w[3]).toBeGreaterThan(0.9);
  });

  it('shares weight between two equally good, independent columns', () => {
    const rng = new Rng(5, 1);
    const n = 2000;
    const E = new Float64Array(n * 2);
    for (let i = 0; i < 2 * n; i++) E[i] = rng.nextDouble() * 2 - 1;
    const w = learnStackWeights(E, n, 2);
    expect(w[0]).toBeGreaterThan(0.4);
    expect(w[1]).toBeGreaterThan(0.4);
  });
});

describe('stack', () => {
  it('learns to trust the candidate the data came from and never predicts with a zero-weight candidate', async () => {
    const { ds, keep, hidden, truth } = logitTable(40, 8, 6, 0.3);
    const train = trainView(ds, keep);
    const oracle: Predictor = { name: 'oracle', description: '', usesFactors: false, fit: async () => ({ chosen: {}, predict: (m, t) => Float64Array.from(m, (x, i) => truth(x, t[i])) }) };
    // Cells the awful candidate's fits on the whole training table were asked to predict.
    let fullPredicted = 0;
    const awful: Predictor = {
      name: 'awful',
      description: '',
      usesFactors: false,
      fit: async (d) => ({
        chosen: {},
        predict: (m) => {
          if (d.scores.value.length === train.scores.value.length) fullPredicted += m.length;
          return new Float64Array(m.length).fill(1000);
        },
      }),
    };
    const s = stackPredictor('s', [predictorCandidate(meanPredictor), predictorCandidate(oracle), predictorCandidate(awful)]);
    const f = await s.fit(train, { seed: 2 });
    const ws = ['mean', 'oracle', 'awful'].map((c) => f.chosen[`many.${c}`] as number);
    expect(Math.min(...ws)).toBeGreaterThanOrEqual(0);
    expect(ws.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 3);
    expect(ws[1]).toBeGreaterThan(0.9);
    expect(ws[2]).toBe(0);
    expect(f.chosen['few.awful']).toBe(0);
    expect(maeOnHidden(f, ds, hidden)).toBeLessThan(1);
    expect(fullPredicted).toBe(0);
  });

  it('gives the same predictions with or without intervals, from one set of fold fits', async () => {
    const { ds, keep, hidden } = logitTable(30, 8, 7, 0.25);
    const train = trainView(ds, keep);
    let fits = 0;
    const counted: Predictor = { ...meanPredictor, name: 'counted', fit: (d, c) => (fits++, meanPredictor.fit(d, c)) };
    const s = stackPredictor('s', [predictorCandidate(counted), predictorCandidate(logitAlsPredictor123)]);
    const models = Int32Array.from(hidden, (e) => ds.scores.model[e]);
    const tasks = Int32Array.from(hidden, (e) => ds.scores.task[e]);
    const plain = (await s.fit(train, { seed: 4 })).predict(models, tasks);
    const fitsPlain = fits;
    fits = 0;
    const wrapped = await withIntervals(s).fit(train, { seed: 4 });
    expect(Array.from(wrapped.predict(models, tasks))).toEqual(Array.from(plain));
    // The whole table once, then each of the 2K calibration folds once: no fits of its own for the wrapper.
    expect(fits).toBe(fitsPlain);
    expect(fits).toBe(1 + 2 * DEFAULT_INTERVAL_FOLDS);
    const iv = wrapped.interval(models, tasks);
    for (let i = 0; i < models.length; i++) expect(iv.lower[i]).toBeLessThanOrEqual(iv.upper[i]);
  }, 60000);

  it('given the settings of an earlier fit, refits each weighted candidate once with them and keeps the weights', async () => {
    const { ds, keep, hidden } = logitTable(30, 8, 7, 0.25);
    const train = trainView(ds, keep);
    let fits = 0;
    const counted: Predictor = { ...meanPredictor, name: 'counted', fit: (d, c) => (fits++, meanPredictor.fit(d, c)) };
    const s = stackPredictor('s', [predictorCandidate(counted), predictorCandidate(logitAlsPredictor123)]);
    const a = await s.fit(train, { seed: 4 });
    fits = 0;
    const b = await s.fit(train, { seed: 4, settings: a.chosen });
    expect(fits).toBe((a.chosen['many.counted'] as number) > 0 || (a.chosen['few.counted'] as number) > 0 ? 1 : 0);
    for (const k of ['many.counted', 'few.counted', 'many.logit-als', 'few.logit-als', 'logit-als.rank', 'logit-als.lambda']) expect(b.chosen[k], k).toBe(a.chosen[k]);
    const models = Int32Array.from(hidden, (e) => ds.scores.model[e]);
    const tasks = Int32Array.from(hidden, (e) => ds.scores.task[e]);
    const pa = a.predict(models, tasks);
    const pb = b.predict(models, tasks);
    // Same fits and weights up to the 4 decimals chosen keeps.
    for (let i = 0; i < pa.length; i++) expect(Math.abs(pb[i] - pa[i])).toBeLessThan(0.05);
    // Settings without the stack's weights (another method's) are not the stack's: it fits as usual.
    fits = 0;
    await s.fit(train, { seed: 4, settings: { rank: 2 } });
    expect(fits).toBe(1 + 2 * DEFAULT_INTERVAL_FOLDS);
  }, 60000);

  it('never sees held-out cells: changing their true values leaves predictions on them unchanged', async () => {
    const { ds, keep, hidden } = logitTable(30, 8, 7, 0.25);
    const changed: Dataset = { ...ds, scores: { ...ds.scores, value: Float64Array.from(ds.scores.value) } };
    for (const e of hidden) changed.scores.value[e] = 100 - changed.scores.value[e];
    const models = Int32Array.from(hidden, (e) => ds.scores.model[e]);
    const tasks = Int32Array.from(hidden, (e) => ds.scores.task[e]);
    for (const p of [stackPredictor(), logitAlsPredictor123]) {
      const a = (await p.fit(trainView(ds, keep), { seed: 3 })).predict(models, tasks);
      const b = (await p.fit(trainView(changed, keep), { seed: 3 })).predict(models, tasks);
      expect(Array.from(b)).toEqual(Array.from(a));
    }
  }, 60000);
});
