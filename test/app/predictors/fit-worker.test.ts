import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { cellsOf } from '../../../src/app/data/observed-cells.js';
import type { FitJob, FitReply } from '../../../src/app/predictors/fit-pool.js';
import { answerFitJob } from '../../../src/app/predictors/fit-worker.js';
import { fitLogitAlsModel, type LogitAlsModel } from '../../../src/app/predictors/logit-als.js';
import { fitPcaModel, type PcaFit } from '../../../src/app/predictors/pca.js';
import { plantedMatrix } from './baseline-fixtures.js';
import { getBackend } from '../../../src/backends/registry.js';
import { nativeForSuite } from '../../helpers/backends.js';

const native = nativeForSuite('logit-als on native against the worker');

const bits = (a: Float64Array): string[] => Array.from(a, (v) => (Object.is(v, -0) ? '-0' : String(v)));

function expectSamePca(a: PcaFit, b: PcaFit): void {
  expect([a.rank, a.iterations]).toEqual([b.rank, b.iterations]);
  for (const k of ['scores', 'intercept', 'coef', 'sd'] as const) expect(bits(a[k])).toEqual(bits(b[k]));
}

function expectSameLogit(a: LogitAlsModel, b: LogitAlsModel): void {
  expect(a.best).toEqual(b.best);
  expect(a.fits.length).toBe(b.fits.length);
  a.fits.forEach((f, i) => {
    for (const k of ['modelBias', 'taskBias', 'U', 'V'] as const) expect(bits(f[k])).toEqual(bits(b.fits[i][k]));
    expect(f.mu).toBe(b.fits[i].mu);
  });
}

const cellsFor = (seed: number) => cellsOf(plantedMatrix(30, 9, 2, 0.3, seed).train);
const base = (seed: number) => {
  const c = cellsFor(seed);
  return { c, cells: { id: seed, nModels: c.nModels, nTasks: c.nTasks, model: c.model.slice(), task: c.task.slice(), value: c.value.slice() } };
};
const logitJob = { grid: [1, 2].flatMap((rank) => [1, 3].map((lambda) => ({ rank, lambda }))), starts: 2, seed: 6 };

describe('fit worker', () => {
  it('answers a pca job with the inline fit, bit for bit', async () => {
    const { c, cells } = base(3);
    const reply = await answerFitJob({ ...cells, kind: 'pca', seed: 3 });
    expect('pca' in reply).toBe(true);
    if ('pca' in reply) expectSamePca(reply.pca, fitPcaModel(c, 3));
  });

  it('answers a logit-als job with the inline fit on either backend, bit for bit', async () => {
    const { c, cells } = base(6);
    const reply = await answerFitJob({ ...cells, kind: 'logit-als', ...logitJob });
    expect('logitAls' in reply).toBe(true);
    if (!('logitAls' in reply)) return;
    expectSameLogit(reply.logitAls, await fitLogitAlsModel(c, logitJob, { backend: getBackend('ts') }));
    // The worker runs TypeScript; a caller on native gets the same bits (ALS at ranks 1-3).
    if (native) expectSameLogit(reply.logitAls, await fitLogitAlsModel(c, logitJob, { backend: native }));
  });

  it('reports a fit that throws as an error reply with its code', async () => {
    const { cells } = base(4);
    const reply = await answerFitJob({ ...cells, kind: 'pca', seed: 4, nTasks: cells.nTasks - 1 });
    expect('error' in reply).toBe(true);
  });

  it('gives the same fits across the thread boundary', async () => {
    const { c, cells } = base(5);
    // The worker module from the sources, loaded through tsx (the benches' TypeScript loader),
    // registered inside the worker itself.
    const src = new URL('../../../src/app/predictors/fit-worker.ts', import.meta.url).href;
    const w = new Worker(`import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(src)}); });`, { eval: true });
    const ask = (job: FitJob): Promise<FitReply> =>
      new Promise<FitReply>((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
        w.postMessage(job);
      });
    try {
      const pca = await ask({ ...cells, kind: 'pca', seed: 5 });
      expect(pca.id).toBe(5);
      if ('pca' in pca) expectSamePca(pca.pca, fitPcaModel(c, 5));
      else throw new Error('no pca fit in the reply');
      const logit = await ask({ ...cells, id: 7, kind: 'logit-als', ...logitJob });
      expect(logit.id).toBe(7);
      if ('logitAls' in logit) expectSameLogit(logit.logitAls, await fitLogitAlsModel(c, logitJob, { backend: getBackend('ts') }));
      else throw new Error('no logit-als fit in the reply');
    } finally {
      await w.terminate();
    }
  }, 30000);
});
