import { describe, expect, it } from 'vitest';
import { fit, runFits } from '../../src/factorization/fit.js';
import { resolveFitOptions } from '../../src/factorization/options.js';
import { buildProblem, toEntries } from '../../src/factorization/ratings.js';
import { getBackend } from '../../src/backends/registry.js';
import { CollabperfError } from '../../src/errors.js';
import { planted, rmse } from '../helpers/planted.js';
import type { IterationReport } from '../../src/factorization/options.js';
import { codeOf } from '../helpers/errors.js';

const data = planted(80, 50, 3, 0.5, 0.01);
const testPred = (m: { predictMany(r: ArrayLike<number>, c: ArrayLike<number>): Float64Array }) => rmse(m.predictMany(data.test.rows, data.test.cols), data.test.values);


describe('fit recovers a planted low-rank matrix', () => {
  it('with ALS', async () => {
    const { model, history } = await fit(data.train, { algo: 'als', rank: 3, iters: 25, lambda: 0.001, weightedLambda: false });
    expect(history).toHaveLength(25);
    expect(history[24].trainRmse).toBeLessThan(0.02);
    expect(testPred(model)).toBeLessThan(0.05);
  });
  it('with SGD', async () => {
    const { model, history } = await fit(data.train, { algo: 'sgd', rank: 3, iters: 300, lambda: 0.001, learningRate: 0.05, lrDecay: 0.01 });
    expect(history[299].trainRmse).toBeLessThan(history[0].trainRmse / 4);
    expect(testPred(model)).toBeLessThan(0.15);
  });
  it('is deterministic for a seed and changes with the seed', async () => {
    const a = await fit(data.train, { algo: 'sgd', rank: 3, iters: 5, seed: 9 });
    const b = await fit(data.train, { algo: 'sgd', rank: 3, iters: 5, seed: 9 });
    const c = await fit(data.train, { algo: 'sgd', rank: 3, iters: 5, seed: 10 });
    expect(Array.from(a.model.U)).toEqual(Array.from(b.model.U));
    expect(Array.from(a.model.U)).not.toEqual(Array.from(c.model.U));
  });
});

describe('fit reports and stops', () => {
  it('calls onProgress once per iteration with increasing elapsed time', async () => {
    const seen: IterationReport[] = [];
    await fit(data.train, { rank: 2, iters: 4, onProgress: (r) => seen.push(r) });
    expect(seen.map((r) => r.iter)).toEqual([1, 2, 3, 4]);
    expect(seen.every((r, i) => i === 0 || r.elapsed >= seen[i - 1].elapsed)).toBe(true);
    expect(seen.every((r) => r.validRmse === undefined)).toBe(true);
  });
  it('stops early on validation and keeps the best iteration', async () => {
    // Noisy, sparse cells and no regularisation: SGD overfits and validation RMSE turns up.
    const noisy = planted(60, 40, 2, 0.3, 0.5);
    const r = await fit(noisy.train, { algo: 'sgd', rank: 8, iters: 200, lambda: 0, learningRate: 0.05, lrDecay: 0, validation: noisy.test, patience: 3, minDelta: 0 });
    const best = Math.min(...r.history.map((h) => h.validRmse!));
    expect(r.stoppedEarly).toBe(true);
    expect(r.history.length).toBe(r.bestIter + 3);
    expect(r.history[r.bestIter - 1].validRmse).toBe(best);
    expect(r.model.training.validRmse).toBe(best);
    expect(rmse(r.model.predictMany(noisy.test.rows, noisy.test.cols), noisy.test.values)).toBeCloseTo(best, 12);
  });
  it('rejects with E_ABORTED when the signal fires, and at once when already aborted', async () => {
    const ac = new AbortController();
    const p = fit(data.train, { algo: 'sgd', rank: 3, iters: 100000, onBatchProgress: (b) => b.itersDone[0] >= 2 && ac.abort(), signal: ac.signal });
    expect(await codeOf(p)).toBe('E_ABORTED');
    expect(await codeOf(fit(data.train, { signal: AbortSignal.abort() }))).toBe('E_ABORTED');
  });
});

describe('fit options are checked', () => {
  it.each([
    [{ rank: 0 }, 'rank'],
    [{ rank: 5000 }, 'rank'],
    [{ rank: 2.5 }, 'rank'],
    [{ lambda: -1 }, 'lambda'],
    [{ lambdaBias: NaN }, 'lambdaBias'],
    [{ iters: 0 }, 'iters'],
    [{ learningRate: 0 }, 'learningRate'],
    [{ threads: 0 }, 'threads'],
    [{ seed: -1 }, 'seed'],
    [{ algo: 'svd' }, 'algo'],
  ])('%o is rejected naming %s', async (opts, field) => {
    try {
      await fit(data.train, opts as never);
      throw new Error('expected an error');
    } catch (e) {
      expect((e as CollabperfError).code).toBe('E_INVALID_ARGUMENT');
      expect((e as CollabperfError).field).toBe(field);
    }
  });
  it('rejects validation cells outside the matrix', async () => {
    expect(await codeOf(fit(data.train, { validation: { rows: [1000], cols: [0], values: [1] } }))).toBe('E_INDEX_OUT_OF_RANGE');
  });
});

describe('runFits: a fit from given starting factors (FitSpec.start)', () => {
  const problem = buildProblem(toEntries(data.train));
  const options = resolveFitOptions({ algo: 'als', rank: 3, iters: 4, seed: 2 });
  const ts = getBackend('ts');
  it('continues a fit: 4 sweeps from the factors of 4 sweeps are 8 sweeps, with zero biases restarted', async () => {
    const noBias = resolveFitOptions({ algo: 'als', rank: 3, iters: 4, seed: 2, useBias: false });
    const [first] = await runFits([{ problem, options: noBias }], ts);
    const [again] = await runFits([{ problem, options: noBias, start: { U: first.model.U, V: first.model.V } }], ts);
    const [eight] = await runFits([{ problem, options: { ...noBias, iters: 8 } }], ts);
    expect(Array.from(again.model.U)).toEqual(Array.from(eight.model.U));
    expect(Array.from(again.model.V)).toEqual(Array.from(eight.model.V));
  });
  it('does not change the arrays it was given', async () => {
    const U = new Float64Array(problem.nRows * 3).fill(0.1);
    const V = new Float64Array(problem.nCols * 3).fill(0.2);
    await runFits([{ problem, options, start: { U, V } }], ts);
    expect(U.every((v) => v === 0.1) && V.every((v) => v === 0.2)).toBe(true);
  });
  it('refuses factors of the wrong size, naming the field', async () => {
    const run = () => runFits([{ problem, options, start: { U: new Float64Array(3), V: new Float64Array(problem.nCols * 3) } }], ts);
    expect(await codeOf(run())).toBe('E_INVALID_ARGUMENT');
    expect(((await run().catch((e: unknown) => e)) as CollabperfError).field).toBe('start');
  });
});
