import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDataset } from '../../../src/app/data/dataset.js';
import { evaluate, evaluationSummary, predictionsCsv, summarizeMetrics } from '../../../src/app/eval/evaluate.js';
import { computeMetrics } from '../../../src/app/eval/metrics.js';
import { makeFolds, readSplitFile, writeSplitFile, type Fold } from '../../../src/app/eval/protocols.js';
import type { Predictor } from '../../../src/app/predictors/types.js';
import { expectRejects } from '../data/helpers.js';
import { spyPredictor, taskMeanPredictor, toyDataset, type SpyFit } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'collabperf-eval-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// T0: 10, 20, 60; T1: 40, 60, 90 (percent).
const tiny = () =>
  createDataset({
    name: 'tiny',
    models: ['m0', 'm1', 'm2, the "big" one'],
    tasks: [
      { name: 'T0', factors: {}, scale: 'percent' },
      { name: 'T1', factors: {}, scale: 'percent' },
    ],
    scores: [
      [0, 0, 10, 0],
      [1, 0, 20, 0],
      [2, 0, 60, 0],
      [0, 1, 40, 0],
      [1, 1, 60, 0],
      [2, 1, 90, 0],
    ],
  });

function foldOf(test: number[], n: number, description: string): Fold {
  const testMask = new Uint8Array(n);
  for (const e of test) testMask[e] = 1;
  return { testMask, trainMask: testMask.map((x) => 1 - x), description };
}

describe('evaluate', () => {
  it('gives hand-computed numbers for a task-mean predictor on a fixed split, pooling folds per seed', async () => {
    const ds = tiny();
    // Fold 1 holds out (m2, T0): the T0 mean of 10 and 20 is 15, error 45.
    // Fold 2 holds out (m0, T1), (m1, T1): the T1 mean is 90, errors 50 and 30.
    const split = [foldOf([2], 6, 'one'), foldOf([3, 4], 6, 'two')];
    const r = await evaluate(ds, [taskMeanPredictor()], { split, seeds: [3, 4] });
    expect(r.protocol).toBe('split');
    expect(r.seeds).toEqual([3, 4]);
    const m = r.methods[0];
    expect(m.method).toBe('task-mean');
    expect(m.folds.map((f) => [f.seed, f.fold, f.description, f.trainCells, f.testCells, f.metrics.mae])).toEqual([
      [3, 1, 'one', 5, 1, 45],
      [3, 2, 'two', 4, 2, 40],
      [4, 1, 'one', 5, 1, 45],
      [4, 2, 'two', 4, 2, 40],
    ]);
    // Pooled: (45 + 50 + 30) / 3, not the mean of the fold MAEs (42.5).
    expect(m.perSeed.map((s) => s.seed)).toEqual([3, 4]);
    expect(m.perSeed[0].metrics.mae).toBeCloseTo(125 / 3, 12);
    expect(m.perSeed[0].metrics.rmse).toBeCloseTo(Math.sqrt((45 ** 2 + 50 ** 2 + 30 ** 2) / 3), 12);
    expect(m.perSeed[0].metrics.mae100).toBeCloseTo(125 / 3, 12);
    expect(m.mean.mae).toBeCloseTo(125 / 3, 12);
    expect(m.std.mae).toBe(0);
    expect(Array.from(m.predictions.prediction)).toEqual([15, 90, 90, 15, 90, 90]);
    expect(Array.from(m.predictions.truth)).toEqual([60, 40, 60, 60, 40, 60]);
    expect(Array.from(m.predictions.seed)).toEqual([3, 3, 3, 4, 4, 4]);
    expect(Array.from(m.predictions.fold)).toEqual([1, 2, 2, 1, 2, 2]);
    expect(m.ms).toBeGreaterThanOrEqual(0);

    const csv = predictionsCsv(r, ds).split('\n');
    expect(csv[0]).toBe('method,seed,fold,model,task,truth,prediction');
    expect(csv[1]).toBe('task-mean,3,1,"m2, the ""big"" one",T0,60,15');
    expect(csv[2]).toBe('task-mean,3,2,m0,T1,40,90');
    expect(csv).toHaveLength(8); // header, 6 rows, final newline

    const json = JSON.parse(JSON.stringify(evaluationSummary(r)));
    expect(Object.keys(json)).toEqual(['dataset', 'protocol', 'seeds', 'methods']);
    expect(json.methods[0].mean.mae).toBeCloseTo(125 / 3, 12);
    expect(json.methods[0].mean.spearman).toBeNull(); // no task has 3 held-out cells
    expect(json.methods[0].predictions).toBeUndefined();
  });

  it('is deterministic over 2 seeds and matches an independent computation per seed', async () => {
    const ds = toyDataset();
    const run = () => evaluate(ds, [taskMeanPredictor()], { protocol: 'cells:0.2', seeds: 2 });
    const r = await run();
    const again = await run();
    expect(r.seeds).toEqual([0, 1]);
    expect(r.protocol).toBe('cells:0.2');
    const maes = [0, 1].map((seed) => {
      const [fold] = makeFolds(ds, 'cells:0.2', seed);
      const sum = new Float64Array(6);
      const cnt = new Float64Array(6);
      for (let e = 0; e < fold.trainMask.length; e++) {
        if (fold.trainMask[e]) (sum[ds.scores.task[e]] += ds.scores.value[e]), cnt[ds.scores.task[e]]++;
      }
      const err: number[] = [];
      for (let e = 0; e < fold.testMask.length; e++) {
        if (fold.testMask[e]) err.push(Math.abs(sum[ds.scores.task[e]] / cnt[ds.scores.task[e]] - ds.scores.value[e]));
      }
      return err.reduce((a, b) => a + b, 0) / err.length;
    });
    const m = r.methods[0];
    expect(m.perSeed.map((s) => s.metrics.mae)).toEqual(maes.map((x) => expect.closeTo(x, 10)));
    expect(maes[0]).not.toBeCloseTo(maes[1], 6);
    expect(m.mean.mae).toBeCloseTo((maes[0] + maes[1]) / 2, 10);
    expect(m.std.mae).toBeCloseTo(Math.abs(maes[0] - maes[1]) / Math.SQRT2, 10);
    expect(again.methods[0].perSeed).toEqual(m.perSeed);
    expect(again.methods[0].predictions.prediction).toEqual(m.predictions.prediction);
    // The metrics of a seed are those of its pooled predictions.
    const p = m.predictions;
    const first = Array.from(p.seed.keys()).filter((i) => p.seed[i] === 0);
    const pooled = computeMetrics(ds, { task: Int32Array.from(first, (i) => p.task[i]), truth: Float64Array.from(first, (i) => p.truth[i]), prediction: Float64Array.from(first, (i) => p.prediction[i]) });
    expect(m.perSeed[0].metrics).toEqual(pooled);
  });

  it('passes the seed to every fit, reports progress and evaluates several methods on the same folds', async () => {
    const ds = toyDataset();
    const log: SpyFit[] = [];
    const progress: string[] = [];
    const r = await evaluate(ds, [taskMeanPredictor(), spyPredictor(log)], {
      protocol: 'model-kfold:3',
      seeds: [5, 9],
      onProgress: (p) => progress.push(`${p.method}:${p.seed}:${p.fold}/${p.folds}:${p.done}/${p.total}`),
    });
    expect(log.map((f) => f.seed)).toEqual([5, 5, 5, 9, 9, 9]);
    expect(progress).toHaveLength(12);
    expect(progress[0]).toBe('task-mean:5:1/3:1/12');
    expect(progress[11]).toBe('spy:9:3/3:12/12');
    expect(r.methods.map((m) => m.method)).toEqual(['task-mean', 'spy']);
    expect(r.methods[0].predictions.task).toEqual(r.methods[1].predictions.task);
    expect(r.methods[0].predictions.model).toEqual(r.methods[1].predictions.model);
    expect(r.splits.map((s) => [s.seed, s.folds.length])).toEqual([[5, 3], [9, 3]]);
  });

  it('re-running from an exported split file gives the same results', async () => {
    const ds = toyDataset();
    const r = await evaluate(ds, [taskMeanPredictor()], { protocol: 'new-model:1', seeds: [1, 2] });
    const p = join(dir, 'split.json');
    writeSplitFile(p, ds, r.splits.flatMap((s) => s.folds));
    const again = await evaluate(ds, [taskMeanPredictor()], { split: readSplitFile(p, ds), seeds: 1 });
    expect(again.seeds).toEqual([1, 2]);
    expect(again.methods[0].perSeed).toEqual(r.methods[0].perSeed);
    expect(again.methods[0].predictions).toEqual(r.methods[0].predictions);
  });

  it('summarizeMetrics skips NaN and gives NaN spread for a single value', () => {
    const ds = tiny();
    const a = computeMetrics(ds, { task: Int32Array.of(0), truth: Float64Array.of(10), prediction: Float64Array.of(12) });
    const b = computeMetrics(ds, { task: Int32Array.of(0, 0, 0), truth: Float64Array.of(10, 20, 60), prediction: Float64Array.of(10, 30, 50) });
    const { mean, std } = summarizeMetrics([a, b]);
    expect(mean.mae).toBeCloseTo((2 + 20 / 3) / 2, 12);
    expect(mean.spearman).toBe(1); // a has no Spearman
    expect(std.spearman).toBeNaN();
    expect(std.n).toBeCloseTo(Math.SQRT2, 12);
  });

  it('refuses bad inputs and misbehaving predictors', async () => {
    const ds = tiny();
    const nan: Predictor = { name: 'nan', description: '', usesFactors: false, fit: async () => ({ chosen: {}, predict: (m) => new Float64Array(m.length).fill(NaN) }) };
    const short: Predictor = { name: 'short', description: '', usesFactors: false, fit: async () => ({ chosen: {}, predict: () => new Float64Array(0) }) };
    const tm = taskMeanPredictor();
    await expectRejects(evaluate(ds, [nan], { protocol: 'cells:0.5', seeds: 1 }), 'E_NON_FINITE', { message: /method "nan" predicted NaN for/ });
    await expectRejects(evaluate(ds, [short], { protocol: 'cells:0.5', seeds: 1 }), 'E_LENGTH_MISMATCH');
    await expectRejects(evaluate(ds, [], { protocol: 'cells:0.5', seeds: 1 }), 'E_INVALID_ARGUMENT', { field: 'method' });
    await expectRejects(evaluate(ds, [tm, tm], { protocol: 'cells:0.5', seeds: 1 }), 'E_INVALID_ARGUMENT', { message: /given twice/ });
    await expectRejects(evaluate(ds, [tm], { seeds: 1 }), 'E_INVALID_ARGUMENT', { field: 'protocol' });
    await expectRejects(evaluate(ds, [tm], { protocol: 'cells:0.5', seeds: 0 }), 'E_INVALID_ARGUMENT', { field: 'seeds' });
    await expectRejects(evaluate(ds, [tm], { protocol: 'cells:0.5', seeds: [1, 1] }), 'E_INVALID_ARGUMENT', { field: 'seeds' });
    const overlap = foldOf([0], 6, 'x');
    overlap.trainMask[0] = 1;
    await expectRejects(evaluate(ds, [tm], { split: [overlap], seeds: 1 }), 'E_INVALID_ARGUMENT', { message: /both the training and the test set/ });
    await expectRejects(evaluate(ds, [tm], { split: [foldOf([], 6, 'x')], seeds: 1 }), 'E_INVALID_ARGUMENT', { message: /no held-out cells/ });
    await expectRejects(evaluate(ds, [tm], { split: [foldOf([0], 5, 'x')], seeds: 1 }), 'E_LENGTH_MISMATCH');
    const ac = new AbortController();
    ac.abort();
    await expectRejects(evaluate(ds, [tm], { protocol: 'cells:0.5', seeds: 1, ctx: { signal: ac.signal } }), 'E_ABORTED');
  });
});
