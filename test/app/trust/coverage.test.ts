import { describe, expect, it } from 'vitest';
import { isCollabperfError } from '../../../src/errors.js';
import { taskScales } from '../../../src/app/eval/metrics.js';
import { makeFolds } from '../../../src/app/eval/protocols.js';
import { meanPredictor } from '../../../src/app/predictors/mean.js';
import { evaluateIntervals, intervalEvaluationSummary, intervalMetrics } from '../../../src/app/trust/coverage.js';
import { cellKeys, spyPredictor, toyDataset, type SpyFit } from '../eval/helpers.js';
import { plantedScores } from './planted.js';

describe('intervalMetrics', () => {
  it('counts coverage (bounds inclusive) and mean widths on both scales', () => {
    const ds = toyDataset(); // task 0 is percent, task 2 is 0–1
    const scales = taskScales(ds);
    const m = intervalMetrics([50, 0.5, 10, 0.9], [40, 0.4, 11, 0.9], [60, 0.5, 20, 1], { task: [0, 2, 0, 2], scales });
    expect(m.n).toBe(4);
    expect(m.coverage).toBe(0.75);
    expect(m.meanWidth).toBeCloseTo((20 + 0.1 + 9 + 0.1) / 4, 12);
    expect(m.meanWidth100).toBeCloseTo((20 + 10 + 9 + 10) / 4, 12);
    expect(m.medianWidth100).toBeCloseTo(10, 12);
    expect(Number.isNaN(intervalMetrics([1], [0], [2]).meanWidth100)).toBe(true);
    expect(() => intervalMetrics([1, 2], [0], [2, 3])).toThrow(/differ in length/);
  });
});

describe('evaluateIntervals', () => {
  it('covers about 90% of held-out cells of a planted noisy matrix, narrower than the global quantile', async () => {
    // Noise that differs by task (1 to 6 points) makes the constant width wasteful.
    const ds = plantedScores({ models: 60, tasks: 10, noise: 1, noiseOf: (_m, t) => (t < 5 ? 0.5 : 4), density: 0.8, seed: 5 });
    const r = await evaluateIntervals(ds, [meanPredictor], { protocol: 'cells:0.25', seeds: 4, level: 0.9, folds: 5, levels: [0.5, 0.8] });
    const m = r.methods[0];
    expect(m.adaptive.n).toBeGreaterThan(400);
    expect(m.adaptive.coverage).toBeGreaterThan(0.8);
    expect(m.adaptive.coverage).toBeLessThan(0.97);
    expect(m.global.coverage).toBeGreaterThan(0.8);
    expect(m.adaptive.meanWidth100).toBeLessThan(m.global.meanWidth100);
    expect(m.byLevel.map((b) => b.level)).toEqual([0.5, 0.8, 0.9]);
    expect(m.byLevel[0].adaptive.coverage).toBeGreaterThan(0.35);
    expect(m.byLevel[0].adaptive.coverage).toBeLessThan(0.65);
    expect(m.byLevel[0].adaptive.meanWidth100).toBeLessThan(m.byLevel[2].adaptive.meanWidth100);
    expect(m.perSeed).toHaveLength(4);
    expect(m.cells.truth).toHaveLength(m.adaptive.n);
    const json = JSON.parse(JSON.stringify(intervalEvaluationSummary(r)));
    expect(json.methods[0].cells).toBeUndefined();
    expect(json.methods[0].adaptive.coverage).toBe(m.adaptive.coverage);
    expect(json.protocol).toBe('cells:0.25');
  });

  it('covers about 90% of the cells of new models with 2 revealed scores', async () => {
    const ds = plantedScores({ models: 60, tasks: 10, noise: 3, density: 0.8, seed: 6 });
    const r = await evaluateIntervals(ds, [meanPredictor], { protocol: 'new-model:2', seeds: 2, level: 0.9, folds: 4 });
    const m = r.methods[0];
    expect(m.adaptive.n).toBeGreaterThan(500);
    expect(m.adaptive.coverage).toBeGreaterThan(0.8);
    expect(m.adaptive.coverage).toBeLessThan(0.97);
  });

  it('never lets a held-out cell reach any fit, calibration fits included', async () => {
    const ds = toyDataset();
    for (const protocol of ['cells:0.3', 'new-model:2', 'model-kfold:3']) {
      const log: SpyFit[] = [];
      const marks: number[] = [];
      // One protocol fold at a time, so that the fits logged between two progress marks are that fold's.
      const r = await evaluateIntervals(ds, [spyPredictor(log)], { protocol, seeds: [0, 1], folds: 3, concurrency: 1, onProgress: () => marks.push(log.length) });
      // Rebuild the protocol's folds in evaluation order and check the fits recorded for each.
      const all = r.seeds.flatMap((seed) => makeFolds(ds, protocol, seed));
      expect(marks).toHaveLength(all.length);
      let from = 0;
      all.forEach((fold, i) => {
        const test = cellKeys(ds, fold.testMask);
        const train = new Set(cellKeys(ds, fold.trainMask));
        const fits = log.slice(from, marks[i]);
        from = marks[i];
        expect(fits.length).toBeGreaterThanOrEqual(4); // K calibration fits (+ K sparse-model fits) + the final fit
        for (const fit of fits) {
          for (const c of test) expect(fit.cells.has(c), `held-out cell ${c} reached a fit (${protocol}, ${fold.description})`).toBe(false);
          for (const c of fit.cells) expect(train.has(c)).toBe(true);
        }
        // The last fit is the final model on every training cell.
        expect(fits[fits.length - 1].cells.size).toBe(train.size);
      });
    }
  });

  it('gives the same intervals whatever the number of folds fitted at once', async () => {
    const ds = plantedScores({ models: 30, tasks: 8, noise: 3, density: 0.8, seed: 3 });
    const run = (concurrency: number) => evaluateIntervals(ds, [meanPredictor], { protocol: 'cells:0.2', seeds: 2, folds: 3, concurrency });
    const [a, b] = [await run(1), await run(8)];
    expect(Array.from(b.methods[0].cells.lower)).toEqual(Array.from(a.methods[0].cells.lower));
    expect(Array.from(b.methods[0].cells.upper)).toEqual(Array.from(a.methods[0].cells.upper));
  });

  it('rejects bad levels, seeds and empty method lists', async () => {
    const ds = toyDataset();
    for (const opts of [{ level: 1 }, { level: 0 }, { levels: [1.5] }, { seeds: 0 }]) {
      await expect(evaluateIntervals(ds, [meanPredictor], { protocol: 'cells:0.2', seeds: 1, ...opts })).rejects.toSatisfy(
        (e: unknown) => isCollabperfError(e) && e.code === 'E_INVALID_ARGUMENT',
      );
    }
    await expect(evaluateIntervals(ds, [], { protocol: 'cells:0.2', seeds: 1 })).rejects.toThrow(/at least one method/);
  });
});
