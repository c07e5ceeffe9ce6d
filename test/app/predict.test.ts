import { describe, expect, it } from 'vitest';
import { loadBuiltinDataset } from '../../src/app/data/builtin.js';
import { completeMatrix, parseNewFactors, parseNewScores, predictNewModel, resolveTask } from '../../src/app/predict.js';
import { getPredictor, parseMethods, PREDICTORS } from '../../src/app/predictors/index.js';
import { CollabperfError } from '../../src/errors.js';

const ds = loadBuiltinDataset('crowdsource');
const ctx = { seed: 0 };

function errorOf(f: () => unknown): CollabperfError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CollabperfError);
    return e as CollabperfError;
  }
  throw new Error('expected an error');
}

describe('naming tasks and factors as a user types them', () => {
  it('resolves exact, case-insensitive and setting-less task names', () => {
    expect(ds.tasks[resolveTask(ds, 'MMLU(5-shot)')].name).toBe('MMLU(5-shot)');
    expect(ds.tasks[resolveTask(ds, 'mmlu')].name).toBe('MMLU(5-shot)');
    expect(ds.tasks[resolveTask(ds, 'GSM8K')].name).toBe('GSM8K(4-shot)');
    expect(errorOf(() => resolveTask(ds, 'HellaSwag')).message).toMatch(/several tasks/);
    const e = errorOf(() => resolveTask(ds, 'NoSuchBench'));
    expect(e.code).toBe('E_NOT_FOUND');
  });
  it('parses --new scores and rejects bad ones', () => {
    expect(parseNewScores(ds, 'MMLU=66.6, GSM8K=45.8')).toEqual([
      { task: resolveTask(ds, 'MMLU'), value: 66.6 },
      { task: resolveTask(ds, 'GSM8K'), value: 45.8 },
    ]);
    expect(errorOf(() => parseNewScores(ds, 'MMLU=abc')).code).toBe('E_PARSE');
    expect(errorOf(() => parseNewScores(ds, 'MMLU')).code).toBe('E_PARSE');
    expect(errorOf(() => parseNewScores(ds, 'MMLU=1,mmlu(5-shot)=2')).code).toBe('E_DUPLICATE_ENTRY');
    expect(errorOf(() => parseNewScores(ds, '')).code).toBe('E_PARSE');
  });
  it('converts --factors counts into the dataset units', () => {
    // crowdsource stores params in millions and tokens in billions.
    expect(parseNewFactors(ds, 'params=8e9,tokens=15T,family=Llama')).toEqual({ params: 8000, pretrainingTokens: 15000, family: 'Llama' });
    expect(errorOf(() => parseNewFactors(ds, 'wingspan=3')).code).toBe('E_NOT_FOUND');
    expect(errorOf(() => parseNewFactors(ds, 'params=big')).code).toBe('E_PARSE');
  });
});

describe('predictions', () => {
  it('fills exactly the missing cells, or one model\'s', async () => {
    const all = await completeMatrix(ds, getPredictor('mean'), ctx);
    expect(all.cells).toHaveLength(ds.models.length * ds.tasks.length - ds.scores.value.length);
    const one = await completeMatrix(ds, getPredictor('mean'), ctx, { model: 'Llama 3 8B' });
    expect(one.cells.every((c) => c.model === 'Llama 3 8B')).toBe(true);
    expect(one.cells.length).toBe(all.cells.filter((c) => c.model === 'Llama 3 8B').length);
  });
  it('fills a table with no missing cell with one fit: nothing to calibrate intervals for', async () => {
    const full = loadBuiltinDataset('openllm-v1');
    const mean = getPredictor('mean');
    let fits = 0;
    const counting = { ...mean, fit: (d: Parameters<typeof mean.fit>[0], c: Parameters<typeof mean.fit>[1]) => (fits++, mean.fit(d, c)) };
    const r = await completeMatrix(full, counting, ctx, { level: 0.9 });
    expect(full.scores.value.length).toBe(full.models.length * full.tasks.length);
    expect(r.cells).toEqual([]);
    expect(fits).toBe(1);
    // With a missing cell, the same call calibrates: 2K + 1 fits.
    fits = 0;
    await completeMatrix(ds, counting, ctx, { level: 0.9 });
    expect(fits).toBeGreaterThan(1);
  });
  it('predicts a new model from two scores: a stronger MMLU gives higher predictions', async () => {
    const p = getPredictor('mf-als');
    const weak = await predictNewModel(ds, p, ctx, { scores: parseNewScores(ds, 'MMLU=35,GSM8K=10') });
    const strong = await predictNewModel(ds, p, ctx, { scores: parseNewScores(ds, 'MMLU=80,GSM8K=80') });
    expect(weak.cells).toHaveLength(ds.tasks.length);
    expect(weak.cells.find((c) => c.task === 'MMLU(5-shot)')!.given).toBe(35);
    const mean = (r: typeof weak) => r.cells.filter((c) => c.given === undefined).reduce((s, c) => s + c.prediction, 0) / (ds.tasks.length - 2);
    expect(mean(strong)).toBeGreaterThan(mean(weak) + 5);
  });
  it('needs a score unless the method uses factors', async () => {
    await expect(predictNewModel(ds, getPredictor('mf-als'), ctx, { scores: [], factors: { params: 7000 } })).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT' });
    const r = await predictNewModel(ds, getPredictor('cmf'), ctx, { scores: [], factors: parseNewFactors(ds, 'params=70e9,tokens=2T') });
    expect(r.cells.every((c) => Number.isFinite(c.prediction))).toBe(true);
  });
  it('lists the methods and refuses unknown ones', () => {
    expect(parseMethods('all').map((p) => p.name)).toEqual(PREDICTORS.map((p) => p.name));
    expect(PREDICTORS.map((p) => p.name)).toEqual(expect.arrayContaining(['mean', 'knn', 'mf-sgd', 'mf-als', 'ncf', 'ncf-factors', 'factors-only', 'cmf', 'scaling-law', 'pca', 'ensemble']));
    expect(errorOf(() => getPredictor('svd')).code).toBe('E_NOT_FOUND');
  });
});

describe('fold-in', () => {
  it('factorization methods keep the fit and solve the new row alone, close to a refit', async () => {
    const p = getPredictor('mf-als');
    const scores = parseNewScores(ds, 'MMLU=66.6,GSM8K=45.8,HumanEval=30,ARC-c=55');
    const folded = await predictNewModel(ds, p, ctx, { scores });
    const refit = await predictNewModel(ds, { ...p, canFoldIn: false }, ctx, { scores, level: 0.9 });
    expect(folded.mode).toBe('fold-in');
    expect(refit.mode).toBe('refit');
    // With intervals the row is still folded in, each prediction inside its interval.
    const foldedIv = await predictNewModel(ds, p, ctx, { scores, level: 0.9 });
    expect(foldedIv.mode).toBe('fold-in');
    foldedIv.cells.forEach((c, i) => {
      expect(c.prediction).toBeCloseTo(folded.cells[i].prediction, 9);
      expect(c.lower!).toBeLessThanOrEqual(c.prediction);
      expect(c.upper!).toBeGreaterThanOrEqual(c.prediction);
    });
    let diff = 0;
    folded.cells.forEach((c, i) => (diff += Math.abs(c.prediction - refit.cells[i].prediction)));
    expect(diff / folded.cells.length).toBeLessThan(5);
    // Its own scores come back close to what was given (a ridge fit, not exact).
    expect(Math.abs(folded.cells.find((c) => c.task === 'MMLU(5-shot)')!.prediction - 66.6)).toBeLessThan(8);
  });
  it('the fitted predictor folds in without touching its fit', async () => {
    const fitted = await getPredictor('mf-sgd').fit(ds, ctx);
    const before = fitted.predict(Int32Array.from([0, 1]), Int32Array.from([0, 0]));
    const a = fitted.foldIn!([{ task: 0, value: 50 }]);
    const b = fitted.foldIn!([{ task: 0, value: 90 }]);
    expect(a).toHaveLength(ds.tasks.length);
    expect(b[1]).toBeGreaterThan(a[1]);
    expect(Array.from(fitted.predict(Int32Array.from([0, 1]), Int32Array.from([0, 0])))).toEqual(Array.from(before));
    expect(getPredictor('ncf').canFoldIn).toBeFalsy();
  });
});
