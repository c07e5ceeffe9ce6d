import { describe, expect, it } from 'vitest';
import { createDataset, type Dataset, type ScoreTuple } from '../../../src/app/data/dataset.js';
import { parseScaleOption } from '../../../src/app/data/scale.js';
import { completeMatrix, parseNewScores, predictNewModel } from '../../../src/app/predict.js';
import type { FittedPredictor, Predictor } from '../../../src/app/predictors/types.js';

/**
 * 8 models x 4 tasks: P on 0-100, F on 0-1, E declared unbounded, I undeclared with percent-like
 * values (inferred 0-100). The last model misses every task but P.
 */
function table(): Dataset {
  const scores: ScoreTuple[] = [];
  for (let m = 0; m < 8; m++) {
    scores.push([m, 0, 10 + 10 * m, 0]);
    if (m === 7) continue;
    scores.push([m, 1, 0.1 + 0.1 * m, 0], [m, 2, 1000 + 50 * m, 0], [m, 3, 5 + 12 * m, 0]);
  }
  return createDataset({
    name: 'toy',
    models: Array.from({ length: 8 }, (_, m) => `m${m}`),
    tasks: [
      { name: 'P', factors: {}, scale: 'percent' },
      { name: 'F', factors: {}, scale: 'unit' },
      { name: 'E', factors: {}, unbounded: true },
      { name: 'I', factors: {} },
    ],
    scores,
  });
}

/** Far outside every bounded scale, per task; alternating sign so that residuals (and intervals) are wide. */
const WILD = [130, 1.7, 5000, -140];
const wild = (t: number, i: number) => WILD[t] * (i % 2 === 0 ? 1 : -1);

/** A method whose predictions leave the scales, to check that predict brings them back. */
const offScale: Predictor = {
  name: 'off-scale',
  description: 'test method predicting outside every scale',
  usesFactors: false,
  canFoldIn: true,
  async fit(): Promise<FittedPredictor> {
    return {
      chosen: {},
      predict: (models, tasks) => Float64Array.from(tasks, (t, i) => wild(t, models[i] + i)),
      foldIn: () => Float64Array.from(WILD),
    };
  },
};

describe('predict keeps predictions and intervals on each task scale', () => {
  it('completeMatrix clamps predictions and interval bounds, and leaves unbounded tasks alone', async () => {
    const ds = table();
    const r = await completeMatrix(ds, offScale, { seed: 0 }, { level: 0.9 });
    expect(r.cells.map((c) => c.task)).toEqual(['F', 'E', 'I']);
    const byTask = Object.fromEntries(r.cells.map((c) => [c.task, c]));
    // ±1.7 on 0-1 and ±140 on a task inferred to be 0-100 land on a bound
    expect([0, 1]).toContain(byTask.F.prediction);
    expect([0, 100]).toContain(byTask.I.prediction);
    expect(Math.abs(byTask.E.prediction)).toBe(5000);
    for (const c of r.cells) {
      const [lo, hi] = c.task === 'F' ? [0, 1] : c.task === 'E' ? [-Infinity, Infinity] : [0, 100];
      expect(c.lower!).toBeGreaterThanOrEqual(lo);
      expect(c.upper!).toBeLessThanOrEqual(hi);
      expect(c.lower!).toBeLessThanOrEqual(c.prediction);
      expect(c.prediction).toBeLessThanOrEqual(c.upper!);
    }
    // the wide intervals of F and I really were cut at a scale bound
    expect(byTask.F.lower === 0 || byTask.F.upper === 1).toBe(true);
    expect(byTask.I.lower === 0 || byTask.I.upper === 100).toBe(true);
    expect(byTask.E.upper! - byTask.E.lower!).toBeGreaterThan(5000);
    expect(r.scales.map((s) => [s.task, s.kind, s.inferred])).toEqual([
      ['P', 'percent', false],
      ['F', 'fraction', false],
      ['E', 'unbounded', false],
      ['I', 'percent', true],
    ]);
    expect(r.scales[3].reason).toMatch(/lie in \[0, 100\]/);
    expect(r.warnings).toEqual([]);
  });

  it('a scale given by the user is used for clamping, with a warning when observed scores do not fit it', async () => {
    const ds = table();
    const r = await completeMatrix(ds, offScale, { seed: 0 }, { model: 'm7', scales: parseScaleOption('E=0-2000,I=0-1', ds) });
    const byTask = Object.fromEntries(r.cells.map((c) => [c.task, c]));
    expect(byTask.E.prediction).toBeGreaterThanOrEqual(0);
    expect(byTask.E.prediction).toBeLessThanOrEqual(2000);
    expect(byTask.E.prediction === 0 || byTask.E.prediction === 2000).toBe(true);
    expect(r.scales[2]).toMatchObject({ origin: 'option', min: 0, max: 2000 });
    expect(r.warnings.map((w) => ('task' in w ? w.task : w.kind))).toEqual(['I']);
    expect(r.warnings[0].message).toMatch(/7 observed score\(s\) of task "I" \(e\.g\. 5\) lie outside the scale 0-1/);
  });

  it('predictNewModel clamps in both modes and warns about a fraction given on a 0-100 task', async () => {
    const ds = table();
    const given = parseNewScores(ds, 'P=0.666,F=0.5');
    const folded = await predictNewModel(ds, offScale, { seed: 0 }, { scores: given });
    expect(folded.mode).toBe('fold-in');
    expect(folded.cells.map((c) => c.prediction)).toEqual([100, 1, 5000, 0]) // -140 on I is clamped to 0;
    expect(folded.warnings).toEqual([
      { kind: 'fraction-on-percent', task: 'P', value: 0.666, message: 'P=0.666 looks like a fraction but the task is on 0-100; did you mean 66.6?' },
    ]);
    expect(folded.scales.map((s) => s.kind)).toEqual(['percent', 'fraction', 'unbounded', 'percent']);

    // With intervals: folded in (the method can), and refitted with the row added (when it cannot).
    const foldedIv = await predictNewModel(ds, offScale, { seed: 0 }, { scores: given, level: 0.8 });
    const refit = await predictNewModel(ds, { ...offScale, canFoldIn: false }, { seed: 0 }, { scores: given, level: 0.8 });
    expect([foldedIv.mode, refit.mode]).toEqual(['fold-in', 'refit']);
    for (const r of [foldedIv, refit]) {
      for (const c of r.cells) {
        if (c.task === 'E') continue;
        const hi = c.task === 'F' ? 1 : 100;
        for (const v of [c.prediction, c.lower!, c.upper!]) {
          expect(v).toBeGreaterThanOrEqual(0);
          expect(v).toBeLessThanOrEqual(hi);
        }
      }
      expect(r.warnings.map((w) => w.kind)).toEqual(['fraction-on-percent']);
    }
    // scores that fit raise no warning
    const ok = await predictNewModel(ds, offScale, { seed: 0 }, { scores: parseNewScores(ds, 'P=66.6,F=0.5,E=1e6') });
    expect(ok.warnings).toEqual([]);
  });
});
