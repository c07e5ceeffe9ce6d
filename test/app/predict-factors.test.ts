import { describe, expect, it } from 'vitest';
import { loadBuiltinDataset } from '../../src/app/data/builtin.js';
import { completeMatrix, FACTOR_METHODS, parseNewFactors, parseNewScores, predictNewModel, type PredictionWarning } from '../../src/app/predict.js';
import { getPredictor } from '../../src/app/predictors/index.js';
import { plantedMatrix } from './predictors/baseline-fixtures.js';

const ctx = { seed: 0 };
const unused = (ws: PredictionWarning[]) => ws.filter((w) => w.kind === 'factors-unused');

describe('factors that matter', () => {
  it('every method the warning points to uses factors', () => {
    for (const name of FACTOR_METHODS) expect(getPredictor(name).usesFactors, name).toBe(true);
    expect(getPredictor('ensemble').usesFactors).toBe(false);
  });

  it('a method that ignores --factors says so, names itself and the factor-aware methods, and folds in', async () => {
    const ds = loadBuiltinDataset('crowdsource');
    const scores = parseNewScores(ds, 'MMLU=66.6,GSM8K=45.8');
    const p = getPredictor('ensemble');
    const withFactors = await predictNewModel(ds, p, ctx, { scores, factors: parseNewFactors(ds, 'params=8e9') });
    const without = await predictNewModel(ds, p, ctx, { scores });
    const w = unused(withFactors.warnings);
    expect(w).toHaveLength(1);
    expect(w[0]).toMatchObject({ kind: 'factors-unused', method: 'ensemble', factors: ['params'] });
    expect(w[0].message).toMatch(/method "ensemble" does not use factors: the given factors \(params=8000\) did not change the prediction/);
    for (const m of FACTOR_METHODS) expect(w[0].message).toContain(m);
    // What the warning claims: the prediction is the one without factors, and nothing was refitted.
    expect(withFactors.mode).toBe('fold-in');
    expect(withFactors.cells.map((c) => c.prediction)).toEqual(without.cells.map((c) => c.prediction));
    expect(unused(without.warnings)).toHaveLength(0);
  });

  it('the default gives way to the factor method only when every model factor of the table is given', async () => {
    const ds = loadBuiltinDataset('obsscaling');
    const scores = [{ task: 0, value: 60 }, { task: 2, value: 40 }];
    const p = getPredictor('ensemble');
    const factorMethod = getPredictor('cmf');
    const partial = await predictNewModel(ds, p, ctx, { scores, factors: parseNewFactors(ds, 'params=8e9'), factorMethod });
    expect(partial.method).toBe('ensemble');
    expect(partial.switchedFrom).toBeUndefined();
    expect(unused(partial.warnings)[0].message).toMatch(/the default switches to cmf when every model factor of the table is given \(missing: family, pretrainingTokens, flops\)/);

    const full = (params: string) => parseNewFactors(ds, `family=llama,params=${params},pretrainingTokens=15e12,flops=7.2e23`);
    const a = await predictNewModel(ds, p, ctx, { scores, factors: full('8e9'), factorMethod });
    expect(a).toMatchObject({ method: 'cmf', switchedFrom: 'ensemble', mode: 'refit' });
    expect(unused(a.warnings)).toHaveLength(0);
    // Now the factors matter: another size, another prediction.
    const b = await predictNewModel(ds, p, ctx, { scores, factors: full('70e9'), factorMethod });
    expect(b.cells.map((c) => c.prediction)).not.toEqual(a.cells.map((c) => c.prediction));
  });

  it('a factor-aware method given factors has nothing to warn about', async () => {
    const ds = loadBuiltinDataset('obsscaling');
    const r = await predictNewModel(ds, getPredictor('cmf'), ctx, { scores: [{ task: 0, value: 60 }], factors: parseNewFactors(ds, 'params=8e9') });
    expect(unused(r.warnings)).toHaveLength(0);
    expect(r.mode).toBe('refit');
  });

  it("completing a table says when the method ignores the table's factors", async () => {
    const withFactors = await completeMatrix(loadBuiltinDataset('obsscaling'), getPredictor('knn'), ctx, { model: loadBuiltinDataset('obsscaling').models[0].name });
    const w = unused(withFactors.warnings);
    expect(w).toHaveLength(1);
    expect(w[0].factors).toEqual(['family', 'params', 'pretrainingTokens', 'flops']);
    expect(w[0].message).toMatch(/method "knn" does not use factors: the table's factors \(family, params, pretrainingTokens, flops\)/);
    const helm = loadBuiltinDataset('helm-classic');
    expect(unused((await completeMatrix(helm, getPredictor('knn'), ctx, { model: helm.models[0].name })).warnings)[0].factors).toEqual(['scenario', 'metric']);
    const plain = plantedMatrix(20, 6, 1, 0.2).train;
    expect(unused((await completeMatrix(plain, getPredictor('knn'), ctx)).warnings)).toHaveLength(0);
  });
});
