import { describe, expect, it } from 'vitest';
import { createDataset, type ModelEntry, type ScoreTuple } from '../../../src/app/data/dataset.js';
import { meanPredictor } from '../../../src/app/predictors/mean.js';
import { scalingLawPredictor } from '../../../src/app/predictors/scaling-law.js';
import { Rng } from '../../../src/numeric/rng.js';

interface SigmoidTask {
  lo: number;
  hi: number;
  a: number;
  b: number;
  c: number;
}

/**
 * Percent-scale scores lo + (hi − lo) σ(a + b ln(N/3000) + c ln(D/600)) of 60 models with N from 100 M
 * to 100 B parameters (in M, as in crowdsource) and D from 100 B to 3 T tokens; 30 % of cells held out.
 * Models 0 and 1 have no parameter count.
 */
function plantedSigmoid(tasks: SigmoidTask[], seed: number, withTokens = true) {
  const rng = new Rng(seed, 8);
  const models: ModelEntry[] = [];
  const train: ScoreTuple[] = [];
  const test: Array<[number, number, number]> = [];
  for (let m = 0; m < 60; m++) {
    const N = 100 * 1000 ** rng.nextDouble();
    const D = 100 * 30 ** rng.nextDouble();
    models.push({ name: `m${m}`, factors: m < 2 ? {} : withTokens ? { params: N, pretrainingTokens: D } : { params: N } });
    tasks.forEach((k, t) => {
      const z = k.a + k.b * Math.log(N / 3000) + k.c * Math.log(D / 600);
      const v = k.lo + (k.hi - k.lo) / (1 + Math.exp(-z));
      if (m >= 4 && rng.nextDouble() < 0.3) test.push([m, t, v]);
      else train.push([m, t, v, 0]);
    });
  }
  const ds = createDataset({
    name: 'sigmoid',
    models,
    tasks: tasks.map((_, i) => ({ name: `t${i}`, factors: {}, scale: 'percent' as const })),
    factorSchema: {
      model: [
        { name: 'params', type: 'numeric', unit: 'M' },
        { name: 'pretrainingTokens', type: 'numeric', unit: 'B tokens' },
      ],
    },
    scores: train,
  });
  const sized = test.filter(([m]) => m >= 2);
  return { ds, test: sized };
}

function mae(pred: Float64Array, test: Array<[number, number, number]>): number {
  return test.reduce((s, [, , v], i) => s + Math.abs(pred[i] - v), 0) / test.length;
}

const predictTest = (f: { predict(m: Int32Array, t: Int32Array): Float64Array }, test: Array<[number, number, number]>) =>
  f.predict(Int32Array.from(test, (x) => x[0]), Int32Array.from(test, (x) => x[1]));

describe('scaling-law predictor', () => {
  it('recovers planted sigmoids in log parameters with a chance floor (fitted bounds)', async () => {
    const tasks: SigmoidTask[] = [
      { lo: 25, hi: 90, a: 0, b: 1.2, c: 0 },
      { lo: 0, hi: 100, a: -1, b: 0.8, c: 0 },
      { lo: 50, hi: 85, a: 0.5, b: 1.5, c: 0 },
    ];
    const { ds, test } = plantedSigmoid(tasks, 1, false);
    const f = await scalingLawPredictor.fit(ds, { seed: 2 });
    expect(f.chosen.bounds).toBe('fitted');
    expect(f.chosen.tokens).toBe(false);
    expect(f.chosen.sigmoidTasks).toBe(3);
    expect(mae(predictTest(f, test), test), String(mae(predictTest(f, test), test))).toBeLessThan(0.05);
    expect(scalingLawPredictor.usesFactors).toBe(true);
  });

  it('uses log tokens when scores depend on them', async () => {
    const tasks: SigmoidTask[] = [
      { lo: 0, hi: 100, a: 0, b: 0.7, c: 1.0 },
      { lo: 0, hi: 100, a: -0.5, b: 1.0, c: 0.8 },
    ];
    const { ds, test } = plantedSigmoid(tasks, 2);
    const f = await scalingLawPredictor.fit(ds, { seed: 2 });
    expect(f.chosen.tokens).toBe(true);
    expect(mae(predictTest(f, test), test), String(mae(predictTest(f, test), test))).toBeLessThan(0.05);
  });

  it('gives models without a parameter count the mean predictor, and small tasks a line or the mean', async () => {
    const { ds } = plantedSigmoid([{ lo: 0, hi: 100, a: 0, b: 1, c: 0 }], 3, false);
    // add a task with 4 sized models (→ line) and one with 2 (→ mean)
    const extra: ScoreTuple[] = [2, 3, 4, 5].map((m, i): ScoreTuple => [m, 1, 30 + 10 * i, 0]);
    extra.push([2, 2, 40, 0], [3, 2, 60, 0]);
    const s = ds.scores;
    const all: ScoreTuple[] = Array.from(s.value, (v, e): ScoreTuple => [s.model[e], s.task[e], v, 0]).concat(extra);
    const ds2 = createDataset({ ...ds, tasks: ['t0', 'small', 'tiny'].map((name) => ({ name, factors: {}, scale: 'percent' as const })), scores: all });
    const f = await scalingLawPredictor.fit(ds2, { seed: 4 });
    expect(f.chosen).toMatchObject({ sigmoidTasks: 1, linearTasks: 1, meanTasks: 1, modelsWithParams: 58 });
    const mean = await meanPredictor.fit(ds2, { seed: 4 });
    const cells = { m: Int32Array.of(0, 1, 0, 9), t: Int32Array.of(0, 0, 1, 2) };
    const p = f.predict(cells.m, cells.t);
    const q = mean.predict(cells.m, cells.t);
    expect(Array.from(p)).toEqual(Array.from(q));
    for (const v of f.predict(Int32Array.of(5, 6, 7), Int32Array.of(1, 1, 1))) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(100);
    }
  });
});
