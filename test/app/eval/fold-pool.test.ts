import { describe, expect, it } from 'vitest';
import type { Dataset } from '../../../src/app/data/dataset.js';
import { evaluate } from '../../../src/app/eval/evaluate.js';
import { FoldPool, type FoldWorkerSource } from '../../../src/app/eval/fold-pool.js';
import { answerFoldJob } from '../../../src/app/eval/fold-worker.js';
import { makeFolds, parseProtocol } from '../../../src/app/eval/protocols.js';
import { maskIndices, trainView } from '../../../src/app/eval/split.js';
import { cellsOf } from '../../../src/app/data/observed-cells.js';
import { getPredictor } from '../../../src/app/predictors/index.js';
import { plantedMatrix } from '../predictors/baseline-fixtures.js';

const bits = (a: Float64Array): string[] => Array.from(a, (v) => (Object.is(v, -0) ? '-0' : String(v)));

// The worker module from the sources, loaded through tsx inside the worker (as the benches run it).
const src = new URL('../../../src/app/eval/fold-worker.ts', import.meta.url).href;
const fromSources: FoldWorkerSource = {
  url: `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(src)}); });`,
  eval: true,
};
const broken: FoldWorkerSource = { url: `throw new Error('no worker here')`, eval: true };

const table = (): Dataset => plantedMatrix(60, 8, 2, 0.25, 11, 0.05).train;

function foldOf(ds: Dataset, seed: number) {
  const [fold] = makeFolds(ds, parseProtocol('cells:0.2'), seed);
  const held = cellsOf(ds, maskIndices(ds, fold.testMask));
  return { fold, held, trainMask: Uint8Array.from(fold.trainMask, (v) => (v ? 1 : 0)) };
}

async function inline(method: string, ds: Dataset, seed: number): Promise<Float64Array> {
  const { fold, held } = foldOf(ds, seed);
  const fitted = await getPredictor(method).fit(trainView(ds, fold.trainMask), { seed });
  return Float64Array.from(fitted.predict(held.model, held.task));
}

describe('fold workers', () => {
  it('answer a fold job with the predictions of a fit on this thread, bit for bit', async () => {
    const ds = table();
    for (const method of ['mean', 'knn-plain-5', 'pca']) {
      const { held, trainMask } = foldOf(ds, 2);
      const reply = await answerFoldJob(ds, { id: 1, method, seed: 2, trainMask, model: held.model, task: held.task });
      if (!('prediction' in reply)) throw new Error(`${method}: ${reply.error.message}`);
      expect(bits(reply.prediction)).toEqual(bits(await inline(method, ds, 2)));
    }
  });

  it('report a fit that throws with its error code', async () => {
    const ds = table();
    const { held, trainMask } = foldOf(ds, 0);
    const reply = await answerFoldJob(ds, { id: 3, method: 'no-such-method', seed: 0, trainMask, model: held.model, task: held.task });
    expect('error' in reply && reply.error.code).toBe('E_NOT_FOUND');
  });

  it('give the same predictions across the thread boundary, several jobs on two workers', async () => {
    const ds = table();
    const pool = FoldPool.open(ds, { size: 2, source: fromSources })!;
    try {
      const seeds = [0, 1, 2];
      const out = await Promise.all(
        seeds.map((seed) => {
          const { held, trainMask } = foldOf(ds, seed);
          return pool.run({ id: seed, method: 'knn-plain-5', seed, trainMask, model: held.model, task: held.task });
        }),
      );
      for (const [i, seed] of seeds.entries()) {
        expect(out[i]).not.toBeNull();
        expect(bits(out[i]!.prediction)).toEqual(bits(await inline('knn-plain-5', ds, seed)));
      }
      const { held, trainMask } = foldOf(ds, 0);
      await expect(pool.run({ id: 9, method: 'no-such-method', seed: 0, trainMask, model: held.model, task: held.task })).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
    } finally {
      await pool.close();
    }
  }, 60000);

  it('hand their jobs back (null) when a worker cannot start', async () => {
    const ds = table();
    const pool = FoldPool.open(ds, { size: 1, source: broken })!;
    try {
      const { held, trainMask } = foldOf(ds, 0);
      expect(await pool.run({ id: 1, method: 'mean', seed: 0, trainMask, model: held.model, task: held.task })).toBeNull();
    } finally {
      await pool.close();
    }
  }, 30000);

  it('leave an evaluation unchanged: with workers, with workers that fail, and without', async () => {
    const ds = table();
    const methods = ['mean', 'knn-plain-5', 'pca'].map(getPredictor);
    const run = (workers: Parameters<typeof evaluate>[2]['workers']) => evaluate(ds, methods, { protocol: 'cells:0.2', seeds: 2, workers });
    const here = await run(false);
    for (const workers of [{ minCells: 0, source: fromSources }, { minCells: 0, source: broken }]) {
      const there = await run(workers);
      there.methods.forEach((m, i) => {
        expect(bits(m.predictions.prediction)).toEqual(bits(here.methods[i].predictions.prediction));
        expect(m.folds.map((f) => f.chosen)).toEqual(here.methods[i].folds.map((f) => f.chosen));
      });
    }
  }, 60000);
});
