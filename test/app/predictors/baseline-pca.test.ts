import { describe, expect, it } from 'vitest';
import { createDataset } from '../../../src/app/data/dataset.js';
import { meanPredictor } from '../../../src/app/predictors/mean.js';
import { imputeLowRank, PCA_MAX_RANK, pcaPredictor } from '../../../src/app/predictors/pca.js';
import { Rng } from '../../../src/numeric/rng.js';
import { plantedMatrix, scaledRmse } from './baseline-fixtures.js';

describe('pca predictor', () => {
  it('recovers a planted rank-2 matrix with 40 % missing to small error, far better than the mean predictor', async () => {
    for (const seed of [1, 2]) {
      const p = plantedMatrix(60, 20, 2, 0.4, seed);
      const f = await pcaPredictor.fit(p.train, { seed: 5 });
      const pca = scaledRmse(f, p);
      const mean = scaledRmse(await meanPredictor.fit(p.train, { seed: 5 }), p);
      expect(pca).toBeLessThan(0.3);
      expect(pca).toBeLessThan(0.25 * mean);
      // rank 2 plus the model bias, which z-scoring per task turns into a third component
      expect(f.chosen.rank).toBe(3);
    }
  });

  it('imputeLowRank fills a rank-1 matrix exactly without the soft threshold and keeps observed cells', () => {
    const rng = new Rng(3, 0);
    const M = 30;
    const T = 6;
    const u = Array.from({ length: M }, () => rng.nextDouble() * 2 - 1);
    const v = Array.from({ length: T }, () => rng.nextDouble() + 0.5);
    const truth = new Float64Array(M * T);
    for (let m = 0; m < M; m++) for (let t = 0; t < T; t++) truth[m * T + t] = 1 + t + u[m] * v[t];
    const X = Float64Array.from(truth);
    const holes: number[] = [];
    for (let m = 0; m < M; m++) {
      const t = (m * 7) % T;
      if (m % 3 === 0) {
        X[m * T + t] = NaN;
        holes.push(m * T + t);
      }
    }
    const imp = imputeLowRank(X, M, T, 1, 0);
    for (const i of holes) expect(imp.completed[i]).toBeCloseTo(truth[i], 3);
    for (let i = 0; i < X.length; i++) if (!Number.isNaN(X[i])) expect(imp.completed[i]).toBe(X[i]);
    expect(Number.isNaN(X[holes[0]])).toBe(true);
  });

  it('caps the rank below the number of tasks and handles a single task (rank 0 = task mean)', async () => {
    const two = plantedMatrix(20, 2, 1, 0.2, 4);
    expect((await pcaPredictor.fit(two.train, { seed: 1 })).chosen.rank).toBe(1);
    const one = createDataset({ name: 'one', models: ['a', 'b', 'c'], tasks: ['t'], scores: [[0, 0, 1, 0], [1, 0, 3, 0]] });
    const f = await pcaPredictor.fit(one, { seed: 1 });
    expect(f.chosen.rank).toBe(0);
    expect(Array.from(f.predict(Int32Array.of(0, 1, 2), Int32Array.of(0, 0, 0)))).toEqual([2, 2, 2]);
    expect(PCA_MAX_RANK).toBe(5);
  });
});
