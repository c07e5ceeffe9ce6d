import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { cellsOf } from '../../../src/app/data/observed-cells.js';
import { fitPcaModel, type PcaFit } from '../../../src/app/predictors/pca.js';
import type { PcaJob, PcaReply } from '../../../src/app/predictors/pca-pool.js';
import { answerPcaJob } from '../../../src/app/predictors/pca-worker.js';
import { plantedMatrix } from './baseline-fixtures.js';

const bits = (a: Float64Array): string[] => Array.from(a, (v) => (Object.is(v, -0) ? '-0' : String(v)));

function expectSameFit(a: PcaFit, b: PcaFit): void {
  expect([a.rank, a.iterations]).toEqual([b.rank, b.iterations]);
  for (const k of ['scores', 'intercept', 'coef', 'sd'] as const) expect(bits(a[k])).toEqual(bits(b[k]));
}

function jobOf(seed: number): { job: PcaJob; inline: PcaFit } {
  const c = cellsOf(plantedMatrix(30, 9, 2, 0.3, seed).train);
  const job: PcaJob = { id: seed, nModels: c.nModels, nTasks: c.nTasks, model: c.model.slice(), task: c.task.slice(), value: c.value.slice(), seed };
  return { job, inline: fitPcaModel(c, seed) };
}

describe('pca worker', () => {
  it('answers a job with the inline fit, bit for bit', () => {
    const { job, inline } = jobOf(3);
    const reply = answerPcaJob(job);
    expect('fit' in reply).toBe(true);
    if ('fit' in reply) expectSameFit(reply.fit, inline);
  });

  it('reports a fit that throws as an error reply with its code', () => {
    const { job } = jobOf(4);
    const reply = answerPcaJob({ ...job, nTasks: job.nTasks - 1 });
    expect('error' in reply).toBe(true);
  });

  it('gives the same fit across the thread boundary', async () => {
    const { job, inline } = jobOf(5);
    // The worker module from the sources, loaded through tsx (the benches' TypeScript loader),
    // registered inside the worker itself.
    const src = new URL('../../../src/app/predictors/pca-worker.ts', import.meta.url).href;
    const w = new Worker(`import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(src)}); });`, { eval: true });
    try {
      const reply = await new Promise<PcaReply>((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
        w.postMessage(job);
      });
      expect(reply.id).toBe(5);
      expect('fit' in reply).toBe(true);
      if ('fit' in reply) expectSameFit(reply.fit, inline);
    } finally {
      await w.terminate();
    }
  }, 30000);
});
