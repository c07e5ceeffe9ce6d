import { describe, expect, it } from 'vitest';
import { createDataset, type ScoreTuple } from '../../../src/app/data/dataset.js';
import { cellsOf } from '../../../src/app/data/observed-cells.js';
import { fitAdditive, fitMeanFixed, meanPredictor } from '../../../src/app/predictors/mean.js';
import { Rng } from '../../../src/numeric/rng.js';
import { plantedMatrix, scaledRmse } from './baseline-fixtures.js';

/** 30 × 12 percent-scale scores 50 + a_m + b_t exactly, 40 % held out. */
function additive(seed: number) {
  const rng = new Rng(seed, 2);
  const a = Array.from({ length: 30 }, () => 20 * (rng.nextDouble() - 0.5));
  const b = Array.from({ length: 12 }, () => 30 * (rng.nextDouble() - 0.5));
  const train: ScoreTuple[] = [];
  const test: Array<[number, number, number]> = [];
  for (let m = 0; m < 30; m++) {
    for (let t = 0; t < 12; t++) {
      const v = 50 + a[m] + b[t];
      if ((t - m + 12) % 12 >= 2 && rng.nextDouble() < 0.4) test.push([m, t, v]);
      else train.push([m, t, v, 0]);
    }
  }
  const ds = createDataset({
    name: 'additive',
    models: a.map((_, i) => `m${i}`),
    tasks: b.map((_, i) => ({ name: `t${i}`, factors: {}, scale: 'percent' as const })),
    scores: train,
  });
  return { ds, test };
}

describe('mean predictor', () => {
  it('recovers an additive matrix exactly (held-out cells within 1e-6), choosing the raw space', async () => {
    const { ds, test } = additive(1);
    const f = await meanPredictor.fit(ds, { seed: 3 });
    expect(f.chosen.space).toBe('raw');
    expect(f.chosen.lambda).toBe(0);
    const pred = f.predict(Int32Array.from(test, (x) => x[0]), Int32Array.from(test, (x) => x[1]));
    test.forEach(([, , v], i) => expect(Math.abs(pred[i] - v)).toBeLessThan(1e-6));
  });

  it('prefers the z-score space when model effects scale with the task spread, and predicts on each task scale', async () => {
    const p = plantedMatrix(60, 20, 0, 0.4, 2);
    const f = await meanPredictor.fit(p.train, { seed: 1 });
    expect(f.chosen.space).toBe('zscore');
    // errors are in units of each task's spread (10 points on percent tasks, 0.1 on unit tasks)
    expect(scaledRmse(f, p)).toBeLessThan(0.2);
    const raw = fitMeanFixed(cellsOf(p.train), 'raw', 0);
    let s = 0;
    for (let i = 0; i < p.test.value.length; i++) s += ((raw.predictOne(p.test.model[i], p.test.task[i]) - p.test.value[i]) / p.spread[p.test.task[i]]) ** 2;
    expect(Math.sqrt(s / p.test.value.length)).toBeGreaterThan(scaledRmse(f, p));
  });

  it('shrinks biases by the penalty in pseudo-cells and gives biases of 0 to rows and columns without cells', () => {
    const c = { nModels: 3, nTasks: 2, model: Int32Array.from([0, 0, 1]), task: Int32Array.from([0, 1, 0]), value: Float64Array.from([4, 6, 2]) };
    const exact = fitAdditive(c, { lambda: 0 });
    const pred = (f: typeof exact, m: number, t: number) => f.mu + f.modelBias[m] + f.taskBias[t];
    expect(pred(exact, 0, 0)).toBeCloseTo(4, 9);
    expect(pred(exact, 0, 1)).toBeCloseTo(6, 9);
    expect(pred(exact, 1, 0)).toBeCloseTo(2, 9);
    expect(exact.modelBias[2]).toBe(0);
    const strong = fitAdditive(c, { lambda: 1e6 });
    expect(Math.abs(strong.modelBias[0]) + Math.abs(strong.taskBias[1])).toBeLessThan(1e-4);
    expect(strong.mu).toBeCloseTo(4, 4);
  });
});
