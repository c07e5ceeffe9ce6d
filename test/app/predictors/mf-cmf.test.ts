import { describe, expect, it } from 'vitest';
import { createDataset, type ScoreTuple } from '../../../src/app/data/dataset.js';
import { loadBuiltinDataset } from '../../../src/app/data/builtin.js';
import { cmfPredictor } from '../../../src/app/predictors/cmf.js';
import { meanPredictor } from '../../../src/app/predictors/mean.js';
import { mfAlsPredictor, mfSgdPredictor } from '../../../src/app/predictors/mf.js';
import { Rng } from '../../../src/numeric/rng.js';
import { allCells, plantedMatrix, scaledRmse } from './baseline-fixtures.js';

const ctx = { seed: 1 };

describe.each([mfAlsPredictor, mfSgdPredictor, cmfPredictor])('$name', (p) => {
  it('recovers a planted rank-2 matrix and beats the mean baseline', async () => {
    const planted = plantedMatrix(40, 16, 2, 0.4, 3, 0.02);
    const fitted = await p.fit(planted.train, ctx);
    const err = scaledRmse(fitted, planted);
    const base = scaledRmse(await meanPredictor.fit(planted.train, ctx), planted);
    expect(err).toBeLessThan(0.5 * base);
    expect(Number(fitted.chosen.rank)).toBeGreaterThanOrEqual(1);
  });
  it('is deterministic for a seed', async () => {
    const planted = plantedMatrix(30, 10, 2, 0.4, 4);
    const cells = allCells(planted.train);
    const a = (await p.fit(planted.train, ctx)).predict(cells.model, cells.task);
    const b = (await p.fit(planted.train, ctx)).predict(cells.model, cells.task);
    expect(Array.from(a)).toEqual(Array.from(b));
  });
  it('predicts every cell of crowdsource on the tasks\' own scale', async () => {
    const ds = loadBuiltinDataset('crowdsource');
    const cells = allCells(ds);
    const pred = (await p.fit(ds, ctx)).predict(cells.model, cells.task);
    expect(pred.every(Number.isFinite)).toBe(true);
    // Percent-scale tasks: predictions stay in a plausible range around the observed scores.
    let inRange = 0;
    for (const x of pred) if (x > -20 && x < 120) inRange++;
    expect(inRange / pred.length).toBeGreaterThan(0.99);
  });
});

describe('cmf with factors', () => {
  it('predicts models with no scores at all from their factors, far better than task means', async () => {
    // Scores are a planted function of two model factors (a size and a family); models 0..5 have
    // no score, so everything cmf says about them comes through their factors.
    const rng = new Rng(9, 1);
    const nM = 60;
    const nT = 8;
    const cold = 6;
    const size = Array.from({ length: nM }, () => 1 + 3 * rng.nextDouble()); // log10 of params
    const fam = Array.from({ length: nM }, (_, m) => (m % 3 === 0 ? 'a' : m % 3 === 1 ? 'b' : 'c'));
    const famEffect: Record<string, number> = { a: -8, b: 0, c: 8 };
    const slope = Array.from({ length: nT }, () => 5 + 10 * rng.nextDouble());
    const truth = (m: number, t: number) => 40 + slope[t] * (size[m] - 2.5) + famEffect[fam[m]] * (t % 2 ? 1 : 0.5);
    const scores: ScoreTuple[] = [];
    for (let m = cold; m < nM; m++) for (let t = 0; t < nT; t++) if (rng.nextDouble() < 0.7) scores.push([m, t, truth(m, t), 0]);
    const ds = createDataset({
      name: 'factors',
      models: Array.from({ length: nM }, (_, m) => ({ name: `m${m}`, factors: { params: 10 ** size[m], family: fam[m] } })),
      tasks: Array.from({ length: nT }, (_, t) => ({ name: `t${t}`, factors: {}, scale: 'percent' as const })),
      factorSchema: { model: [{ name: 'params', type: 'numeric' }, { name: 'family', type: 'categorical' }] },
      scores,
    });
    const fitted = await cmfPredictor.fit(ds, ctx);
    const taskMean = Array.from({ length: nT }, (_, t) => {
      const v = scores.filter((x) => x[1] === t).map((x) => x[2]);
      return v.reduce((a, b) => a + b, 0) / v.length;
    });
    let err = 0;
    let base = 0;
    const predMean: number[] = [];
    const trueMean: number[] = [];
    for (let m = 0; m < cold; m++) {
      const tasks = Int32Array.from({ length: nT }, (_, t) => t);
      const pred = fitted.predict(new Int32Array(nT).fill(m), tasks);
      for (let t = 0; t < nT; t++) {
        err += Math.abs(pred[t] - truth(m, t));
        base += Math.abs(taskMean[t] - truth(m, t));
      }
      predMean.push(pred.reduce((a, b) => a + b, 0) / nT);
      trueMean.push(Array.from(tasks, (t) => truth(m, t)).reduce((a, b) => a + b, 0) / nT);
    }
    expect(err).toBeLessThan(0.6 * base);
    // The cold models come out in the right order of strength.
    const order = (xs: number[]) => xs.map((_, i) => i).sort((a, b) => xs[a] - xs[b]);
    expect(order(predMean)).toEqual(order(trueMean));
  });
});
