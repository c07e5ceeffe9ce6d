/**
 * FitJob.trackLoss = false: the training loss once, on the kept model, on every backend (the TS
 * engine, the generic loop of a kernels-only backend, the addon when it loads).
 */
import { describe, expect, it } from 'vitest';
import { fitManyByIterations } from '../../src/backends/fit-loop.js';
import { getBackend } from '../../src/backends/registry.js';
import { tsBackend } from '../../src/backends/ts/index.js';
import type { FitJob, FitJobResult, KernelBackend } from '../../src/backends/types.js';
import { initFactors } from '../../src/factorization/fit.js';
import { buildProblem, toEntries } from '../../src/factorization/ratings.js';
import { planted } from '../helpers/planted.js';
import { nativeForSuite } from '../helpers/backends.js';

const native = nativeForSuite('trackLoss on native');
const generic: KernelBackend = { ...tsBackend, name: 'ts-kernels', fitMany: fitManyByIterations(tsBackend) };
const backends: KernelBackend[] = [getBackend('ts'), generic, ...(native ? [native] : [])];

const data = planted(70, 40, 3, 0.4, 0.05, 13);
const problem = buildProblem(toEntries(data.train));
const validation = { rows: Int32Array.from(data.test.rows), cols: Int32Array.from(data.test.cols), values: Float64Array.from(data.test.values), weights: null };

function job(algo: 'als' | 'sgd', trackLoss: boolean, withValidation: boolean, learningRate = 0.03): FitJob {
  const k = algo === 'als' ? 2 : 4;
  const U = new Float64Array(problem.nRows * k);
  const V = new Float64Array(problem.nCols * k);
  initFactors(U, V, k, 5, 0.1);
  let mu = 0;
  for (let i = 0; i < problem.nnz; i++) mu += problem.value[i];
  return {
    problem,
    model: { k, mu: mu / problem.nnz, U, V, rowBias: new Float64Array(problem.nRows), colBias: new Float64Array(problem.nCols) },
    options: { useBias: true, lambda: 0.02, lambdaBias: 0.01, weightedLambda: false, threads: 2, learningRate, lrDecay: 0, seed: 3, sgdMode: 'deterministic', cancel: null },
    algo,
    iters: 40,
    validation: withValidation ? validation : null,
    earlyStopping: withValidation,
    patience: 2,
    minDelta: 0,
    trackLoss,
  };
}

describe.each(backends.map((b) => [b.name, b] as const))('trackLoss false on %s', (_n, b) => {
  it.each([
    ['als', false],
    ['sgd', false],
    ['sgd', true],
  ] as const)('%s (validation %s): the same model and stopping, the kept iteration\'s loss only', async (algo, withValidation) => {
    const tracked = job(algo, true, withValidation);
    const untracked = job(algo, false, withValidation);
    const [rt, ru]: FitJobResult[] = [...(await b.fitMany([tracked])), ...(await b.fitMany([untracked]))];
    expect(ru.status).toBe('ok');
    expect([ru.bestIter, ru.stoppedEarly, ru.history.length]).toEqual([rt.bestIter, rt.stoppedEarly, rt.history.length]);
    if (withValidation) expect(rt.stoppedEarly).toBe(true);
    expect(Array.from(untracked.model.U)).toEqual(Array.from(tracked.model.U));
    expect(Array.from(untracked.model.colBias)).toEqual(Array.from(tracked.model.colBias));
    ru.history.forEach((h, i) => {
      if (i === ru.bestIter - 1) expect(h.trainRmse).toBe(rt.history[i].trainRmse);
      else expect(h.trainRmse).toBeNaN();
      expect(Object.is(h.validRmse, rt.history[i].validRmse)).toBe(true);
    });
  });
  it('reports a model that diverged, at the end', async () => {
    const j = job('sgd', false, false, 1e6);
    const [r] = await b.fitMany([j]);
    expect(r.status).toBe('diverged');
    expect(r.history).toHaveLength(40);
  });
});
