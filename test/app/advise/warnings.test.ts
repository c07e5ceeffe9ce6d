import { describe, expect, it } from 'vitest';
import { advise, MIN_REFERENCE_MODELS } from '../../../src/app/advise/index.js';
import { meanPredictor } from '../../../src/app/predictors/mean.js';
import { plantedAdviceDataset } from './helpers.js';

describe('advise carries its warnings', () => {
  it('names the model, task and value of a given score off its scale', async () => {
    const ds = plantedAdviceDataset({ models: 40 });
    const a = await advise(ds, meanPredictor, { known: [{ task: 'info', value: 0.55 }, { task: 'N1', value: 140 }], budget: 1, ctx: { seed: 0 } });
    expect(a.warnings).toEqual([
      'model "new model": info=0.55 looks like a fraction but the task is on 0-100; did you mean 55?',
      'model "new model": N1=140 is outside the task\'s scale 0-100',
    ]);
  });
  it(`cautions below ${MIN_REFERENCE_MODELS} reference models, and only then`, async () => {
    const small = await advise(plantedAdviceDataset({ models: 6 }), meanPredictor, { known: [{ task: 'info', value: 55 }], budget: 1, ctx: { seed: 0 } });
    expect(small.referenceModels).toBeLessThan(MIN_REFERENCE_MODELS);
    expect(small.warnings).toEqual([`the advice rests on ${small.referenceModels} reference model(s) (fewer than ${MIN_REFERENCE_MODELS}): the expected errors are rough estimates`]);
    const big = await advise(plantedAdviceDataset({ models: 40 }), meanPredictor, { known: [{ task: 'info', value: 55 }], budget: 1, ctx: { seed: 0 } });
    expect(big.referenceModels).toBeGreaterThanOrEqual(MIN_REFERENCE_MODELS);
    expect(big.warnings).toEqual([]);
  });
  it('an existing model (its own scores known) gets no given-score warning', async () => {
    const a = await advise(plantedAdviceDataset({ models: 40 }), meanPredictor, { model: 'm3', known: [{ task: 'info' }], budget: 1, ctx: { seed: 0 } });
    expect(a.warnings).toEqual([]);
  });
});
