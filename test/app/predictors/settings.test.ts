import { describe, expect, it } from 'vitest';
import { loadBuiltinDataset } from '../../../src/app/data/builtin.js';
import { cmfPredictor } from '../../../src/app/predictors/cmf.js';
import { ensemblePredictor } from '../../../src/app/predictors/ensemble.js';
import { knnPredictor } from '../../../src/app/predictors/knn.js';
import { logitAlsPredictor123 } from '../../../src/app/predictors/logit-als.js';
import { meanPredictor } from '../../../src/app/predictors/mean.js';
import { mfSgdPredictor } from '../../../src/app/predictors/mf.js';
import { pcaPredictor } from '../../../src/app/predictors/pca.js';
import type { Predictor } from '../../../src/app/predictors/types.js';

const ds = loadBuiltinDataset('crowdsource');
const cells = { models: Int32Array.from(ds.scores.model), tasks: Int32Array.from(ds.scores.task) };

/** Settings of `p` that its inner validation did not choose on this table (another grid entry). */
const other: Array<[Predictor, Record<string, number | string>]> = [
  [meanPredictor, { space: 'zscore', lambda: 4 }],
  [knnPredictor, { k: 40, beta: 0, baseSpace: 'zscore', baseLambda: 4 }],
  [pcaPredictor, { rank: 4 }],
  [logitAlsPredictor123, { rank: 1, lambda: 10 }],
  [mfSgdPredictor, { rank: 8, lambda: 0.2 }],
  [cmfPredictor, { rank: 5, lambda: 10, sideWeight: 0.1 }],
];

describe('PredictContext.settings', () => {
  it.each(other.map(([p, st]) => [p.name, p, st] as const))('%s uses the settings it is given instead of choosing them', async (_name, p, settings) => {
    const chosen = (await p.fit(ds, { seed: 0 })).chosen;
    expect(Object.entries(settings).some(([k, v]) => chosen[k] !== v)).toBe(true); // really another choice
    const fixed = (await p.fit(ds, { seed: 0, settings })).chosen;
    for (const [k, v] of Object.entries(settings)) expect(fixed[k], k).toBe(v);
  });

  it.each(other.map(([p]) => [p.name, p] as const))('%s given its own chosen settings predicts as the fit that chose them', async (_name, p) => {
    const a = await p.fit(ds, { seed: 1 });
    const b = await p.fit(ds, { seed: 1, settings: a.chosen });
    // pca's `iterations` is a count, not a setting: without the inner fit's warm start it differs.
    if (p === pcaPredictor) expect(b.chosen.rank).toBe(a.chosen.rank);
    else expect(b.chosen).toEqual(a.chosen);
    if (p !== pcaPredictor) expect(Array.from(b.predict(cells.models, cells.tasks))).toEqual(Array.from(a.predict(cells.models, cells.tasks)));
  });

  it('an ensemble hands each member its own settings (chosen names them member.key)', async () => {
    const e = ensemblePredictor('e', [meanPredictor, logitAlsPredictor123]);
    const f = await e.fit(ds, { seed: 0, settings: { 'mean.space': 'zscore', 'mean.lambda': 4, 'logit-als.rank': 1, 'logit-als.lambda': 10 } });
    expect(f.chosen['mean.lambda']).toBe(4);
    expect(f.chosen['logit-als.rank']).toBe(1);
    expect(f.chosen['logit-als.lambda']).toBe(10);
  });
});
