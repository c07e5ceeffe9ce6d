import { describe, expect, it } from 'vitest';
import { isCollabperfError } from '../../../src/errors.js';
import { trainView } from '../../../src/app/eval/split.js';
import { meanPredictor } from '../../../src/app/predictors/mean.js';
import { checkLevel, conformalQuantile, withIntervals } from '../../../src/app/trust/intervals.js';
import { toyDataset } from '../eval/helpers.js';
import { plantedScores } from './planted.js';

function expectInvalid(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    expect(isCollabperfError(e) && e.code).toBe('E_INVALID_ARGUMENT');
    return;
  }
  throw new Error('expected E_INVALID_ARGUMENT');
}

/** Every cell of the matrix that is not observed. */
function missingCells(ds: ReturnType<typeof plantedScores>): { models: Int32Array; tasks: Int32Array } {
  const nT = ds.tasks.length;
  const seen = new Uint8Array(ds.models.length * nT);
  for (let e = 0; e < ds.scores.value.length; e++) seen[ds.scores.model[e] * nT + ds.scores.task[e]] = 1;
  const ms: number[] = [];
  const ts: number[] = [];
  for (let i = 0; i < seen.length; i++) if (!seen[i]) ms.push(Math.floor(i / nT)), ts.push(i % nT);
  return { models: Int32Array.from(ms), tasks: Int32Array.from(ts) };
}

describe('levels and folds', () => {
  it('rejects a level outside (0, 1) with E_INVALID_ARGUMENT', () => {
    for (const bad of [0, 1, -0.1, 1.5, 90, Number.NaN, Infinity, '0.9', undefined as unknown as number, null]) {
      expectInvalid(() => checkLevel(bad));
    }
    for (const bad of [0, 1, -0.1, 1.5, Number.NaN]) expectInvalid(() => withIntervals(meanPredictor, { level: bad }));
    expect(checkLevel(0.5)).toBe(0.5);
    expect(withIntervals(meanPredictor).level).toBe(0.9);
  });

  it('rejects folds that are not an integer >= 2', () => {
    for (const bad of [1, 0, 2.5, -3, Number.NaN]) expectInvalid(() => withIntervals(meanPredictor, { folds: bad }));
  });

  it('rejects a bad level in interval() too', async () => {
    const ds = plantedScores({ models: 20, tasks: 6, noise: 2 });
    const f = await withIntervals(meanPredictor, { folds: 3 }).fit(ds, { seed: 1 });
    const m = Int32Array.of(0);
    const t = Int32Array.of(0);
    for (const bad of [0, 1, 1.2, -1]) {
      expectInvalid(() => f.interval(m, t, bad));
      expectInvalid(() => f.globalInterval(m, t, bad));
    }
  });
});

describe('conformalQuantile', () => {
  it('is the ceil((n + 1) level)-th smallest score, Infinity when too few', () => {
    const s = Float64Array.from({ length: 9 }, (_, i) => i + 1); // 1..9
    expect(conformalQuantile(s, 0.9)).toBe(9); // ceil(10 * 0.9) = 9
    expect(conformalQuantile(s, 0.5)).toBe(5);
    expect(conformalQuantile(s, 0.95)).toBe(Infinity); // ceil(9.5) = 10 > 9
    expect(conformalQuantile(new Float64Array(0), 0.5)).toBe(Infinity);
  });
});

describe('withIntervals', () => {
  const ds = plantedScores({ models: 40, tasks: 8, noise: 3, density: 0.75 });

  it('keeps the base predictions, contains them, clips to the scale and widens with the level', async () => {
    const f = await withIntervals(meanPredictor, { folds: 4 }).fit(ds, { seed: 3 });
    const base = await meanPredictor.fit(ds, { seed: 3 });
    const { models, tasks } = missingCells(ds);
    expect(Array.from(f.predict(models, tasks))).toEqual(Array.from(base.predict(models, tasks)));
    const iv = f.interval(models, tasks);
    const wide = f.interval(models, tasks, 0.98);
    const narrow = f.interval(models, tasks, 0.6);
    expect(Array.from(iv.prediction)).toEqual(Array.from(base.predict(models, tasks)));
    for (let i = 0; i < models.length; i++) {
      expect(iv.lower[i]).toBeLessThanOrEqual(iv.prediction[i]);
      expect(iv.upper[i]).toBeGreaterThanOrEqual(iv.prediction[i]);
      expect(iv.lower[i]).toBeGreaterThanOrEqual(0);
      expect(iv.upper[i]).toBeLessThanOrEqual(100);
      expect(iv.upper[i] - iv.lower[i]).toBeGreaterThan(0);
      expect(wide.upper[i] - wide.lower[i]).toBeGreaterThanOrEqual(iv.upper[i] - iv.lower[i]);
      expect(narrow.upper[i] - narrow.lower[i]).toBeLessThanOrEqual(iv.upper[i] - iv.lower[i]);
    }
    expect(f.chosen['interval.level']).toBe(0.9);
    expect(f.calibration.cellResiduals).toBe(ds.scores.value.length); // every training cell once
    expect(f.calibration.sparseResiduals).toBeGreaterThan(0);
  });

  it('is deterministic for a seed', async () => {
    const w = withIntervals(meanPredictor, { folds: 4 });
    const { models, tasks } = missingCells(ds);
    const a = (await w.fit(ds, { seed: 11 })).interval(models, tasks);
    const b = (await w.fit(ds, { seed: 11 })).interval(models, tasks);
    expect(Array.from(a.lower)).toEqual(Array.from(b.lower));
    expect(Array.from(a.upper)).toEqual(Array.from(b.upper));
    const c = (await w.fit(ds, { seed: 12 })).interval(models, tasks);
    expect(Array.from(c.upper)).not.toEqual(Array.from(a.upper)); // the seed does draw the folds
  });

  it('gives wider intervals to models with few scores when their predictions are worse', async () => {
    // Models 0..29 miss one task each; models 30..39 have only 2 scores, so their model effect is a
    // guess from 2 noisy cells and their predictions err more.
    const sparse = plantedScores({ models: 40, tasks: 10, noise: 3, observe: (m, t) => (m < 30 ? t !== m % 10 : t === m % 10 || t === (m + 3) % 10) });
    const f = await withIntervals(meanPredictor, { folds: 5 }).fit(sparse, { seed: 0 });
    const { models, tasks } = missingCells(sparse);
    const iv = f.interval(models, tasks);
    const sigma = f.difficulty(models, tasks);
    let wFew = 0;
    let nFew = 0;
    let wMany = 0;
    let nMany = 0;
    let sFew = 0;
    let sMany = 0;
    for (let i = 0; i < models.length; i++) {
      const w = iv.upper[i] - iv.lower[i];
      if (models[i] >= 30) (wFew += w), (sFew += sigma[i]), nFew++;
      else (wMany += w), (sMany += sigma[i]), nMany++;
    }
    expect(nFew).toBe(80);
    expect(nMany).toBe(30);
    expect(sFew / nFew).toBeGreaterThan(sMany / nMany);
    expect(wFew / nFew).toBeGreaterThan(1.3 * (wMany / nMany));
    // The global baseline gives every cell the same width.
    const g = f.globalInterval(models, tasks);
    const gw = new Set(Array.from(g.upper, (u, i) => Math.round((u - g.lower[i]) * 1e9)));
    expect(gw.size).toBeLessThanOrEqual(2); // clipping at 0 or 100 aside
  });

  it('gives finite intervals on mixed scales, for a model without scores too', async () => {
    const toy = toyDataset(); // percent, 0–1, an unbounded lower-is-better task, Elo-like bounds
    // Drop every score of model 4 so that it is a model without scores.
    const keep = Uint8Array.from(toy.scores.model, (m) => (m === 4 ? 0 : 1));
    const train = trainView(toy, keep);
    const f = await withIntervals(meanPredictor, { folds: 3 }).fit(train, { seed: 2 });
    const models = Int32Array.from({ length: 12 }, (_, i) => (i < 6 ? 4 : 7));
    const tasks = Int32Array.from({ length: 12 }, (_, i) => i % 6);
    const iv = f.interval(models, tasks);
    for (let i = 0; i < 12; i++) {
      expect(Number.isFinite(iv.lower[i]) && Number.isFinite(iv.upper[i])).toBe(true);
      expect(iv.lower[i]).toBeLessThanOrEqual(iv.prediction[i]);
      expect(iv.upper[i]).toBeGreaterThan(iv.lower[i]);
    }
    // The 0–1 task gets an interval on its own scale, the Elo-like one on its own.
    expect(iv.upper[2] - iv.lower[2]).toBeLessThanOrEqual(1);
    expect(iv.upper[4] - iv.lower[4]).toBeGreaterThan(1);
  });

  it('foldInInterval bounds every task of a row outside the table, wider from one score than from all of its scores', async () => {
    const ds = plantedScores({ models: 60, tasks: 10, noise: 3, density: 0.8, seed: 7 });
    // Model 0 leaves the table; its scores are then given as a new row.
    const keep = Uint8Array.from(ds.scores.model, (m) => (m === 0 ? 0 : 1));
    const fitted = await withIntervals(meanPredictor).fit(trainView(ds, keep), { seed: 1 });
    const own = Array.from(ds.scores.model, (m, e) => (m === 0 ? { task: ds.scores.task[e], value: ds.scores.value[e] } : null)).filter((x) => x !== null);
    expect(own.length).toBeGreaterThan(4);
    const width = (iv: { lower: Float64Array; upper: Float64Array }): number => iv.upper.reduce((s, u, t) => s + u - iv.lower[t], 0) / iv.upper.length;
    const all = fitted.foldInInterval!(own);
    const one = fitted.foldInInterval!(own.slice(0, 1));
    for (const iv of [all, one]) {
      expect(iv.prediction).toHaveLength(ds.tasks.length);
      iv.prediction.forEach((p, t) => {
        expect(Number.isFinite(iv.lower[t]) && Number.isFinite(iv.upper[t])).toBe(true);
        expect(iv.lower[t]).toBeLessThanOrEqual(p);
        expect(iv.upper[t]).toBeGreaterThanOrEqual(p);
      });
    }
    expect(width(one)).toBeGreaterThan(width(all));
    // The point prediction is the base predictor's fold-in.
    expect(Array.from(all.prediction)).toEqual(Array.from((await meanPredictor.fit(trainView(ds, keep), { seed: 1 })).foldIn!(own)));
  });
});
