import { describe, expect, it } from 'vitest';
import { evaluate } from '../../../src/app/eval/evaluate.js';
import { ensemblePredictor } from '../../../src/app/predictors/ensemble.js';
import { FitCache, memberPredictors } from '../../../src/app/predictors/fit-cache.js';
import { meanPredictor } from '../../../src/app/predictors/mean.js';
import { pcaPredictor } from '../../../src/app/predictors/pca.js';
import { predictorCandidate, stackPredictor } from '../../../src/app/predictors/stack.js';
import type { Predictor } from '../../../src/app/predictors/types.js';
import { plantedMatrix } from './baseline-fixtures.js';

/** Wraps a predictor and counts its fits per seed. */
function counted(p: Predictor): { p: Predictor; fits: () => number } {
  let n = 0;
  return {
    p: {
      ...p,
      fit: (train, ctx) => {
        n++;
        return p.fit(train, ctx);
      },
    },
    fits: () => n,
  };
}

describe('fit cache', () => {
  it('lists the members of composite methods, nested ones included', () => {
    const a = counted(meanPredictor).p;
    const b = counted(pcaPredictor).p;
    const inner = ensemblePredictor('inner', [a, b]);
    const outer = ensemblePredictor('outer', [inner, a]);
    expect(memberPredictors([a, outer])).toEqual(new Set([inner, a, b]));
    expect(memberPredictors([a, b]).size).toBe(0);
    expect(stackPredictor('s', [predictorCandidate(a)]).members).toEqual([a]);
  });

  it('remembers a fit per training object and seed, and only for the chosen predictors', async () => {
    const a = counted(meanPredictor);
    const b = counted(pcaPredictor);
    const cache = new FitCache(new Set([a.p]));
    const { train } = plantedMatrix(12, 5, 1, 0.2, 1);
    const first = await cache.fit(a.p, train, { seed: 1 });
    expect(await cache.fit(a.p, train, { seed: 1 })).toBe(first);
    await cache.fit(a.p, train, { seed: 2 });
    await cache.fit(a.p, { ...train }, { seed: 1 });
    await cache.fit(b.p, train, { seed: 1 });
    await cache.fit(b.p, train, { seed: 1 });
    expect(a.fits()).toBe(3);
    expect(b.fits()).toBe(2);
  });

  it('evaluate fits an ensemble member once per fold when the member is evaluated too, with the same results', async () => {
    const { train } = plantedMatrix(25, 8, 2, 0.1, 4);
    const shared = counted(pcaPredictor);
    const ens = ensemblePredictor('ens', [shared.p, meanPredictor]);
    const together = await evaluate(train, [shared.p, ens], { protocol: 'cells:0.2', seeds: 2 });
    expect(shared.fits()).toBe(2);
    // Alone, each method fits its own: the ensemble refits the member.
    const alone = await evaluate(train, [ensemblePredictor('ens', [counted(pcaPredictor).p, meanPredictor])], { protocol: 'cells:0.2', seeds: 2 });
    const ref = await evaluate(train, [pcaPredictor], { protocol: 'cells:0.2', seeds: 2 });
    expect(Array.from(together.methods[1].predictions.prediction)).toEqual(Array.from(alone.methods[0].predictions.prediction));
    expect(Array.from(together.methods[0].predictions.prediction)).toEqual(Array.from(ref.methods[0].predictions.prediction));
  });
});
