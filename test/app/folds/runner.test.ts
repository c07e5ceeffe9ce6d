import { describe, expect, it } from 'vitest';
import { CollabperfError } from '../../../src/errors.js';
import { runFolds } from '../../../src/app/folds/runner.js';
import type { Dataset } from '../../../src/app/data/dataset.js';
import type { FittedPredictor, PredictContext, Predictor } from '../../../src/app/predictors/types.js';

/** A predictor whose fit takes a seed-dependent time and predicts its seed: order problems show. */
function slowEcho(log: number[], inFlight: { now: number; max: number }): Predictor {
  return {
    name: 'echo',
    description: 'predicts its seed',
    usesFactors: false,
    async fit(_train: Dataset, ctx: PredictContext): Promise<FittedPredictor> {
      inFlight.now++;
      inFlight.max = Math.max(inFlight.max, inFlight.now);
      await new Promise((r) => setTimeout(r, (7 * ctx.seed) % 5));
      inFlight.now--;
      log.push(ctx.seed);
      return { chosen: {}, predict: (m) => new Float64Array(m.length).fill(ctx.seed) };
    },
  };
}

const view = {} as Dataset;

describe('runFolds', () => {
  it('returns results in fold order whatever the concurrency, and never exceeds it', async () => {
    for (const concurrency of [1, 3, 8]) {
      const log: number[] = [];
      const inFlight = { now: 0, max: 0 };
      const out = await runFolds(slowEcho(log, inFlight), 10, (i) => ({ train: view, ctx: { seed: i } }), (f) => f.predict(new Int32Array(1), new Int32Array(1))[0], { concurrency });
      expect(out).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(inFlight.max).toBe(concurrency);
      if (concurrency > 1) expect(log).not.toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    }
  });

  it('builds each training view only when its fit starts', async () => {
    const built: number[] = [];
    const inFlight = { now: 0, max: 0 };
    await runFolds(slowEcho([], inFlight), 6, (i) => (built.push(i), { train: view, ctx: { seed: i } }), () => built.length, { concurrency: 2 });
    expect(built).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('rejects with the first error after the running fits settle, and starts no new fit', async () => {
    let started = 0;
    let running = 0;
    const failing: Predictor = {
      name: 'fail',
      description: '',
      usesFactors: false,
      async fit(_t, ctx) {
        started++;
        running++;
        await new Promise((r) => setTimeout(r, 2));
        running--;
        if (ctx.seed === 1) throw new CollabperfError('E_NUMERIC', 'fold 1 diverged');
        return { chosen: {}, predict: (m) => new Float64Array(m.length) };
      },
    };
    await expect(runFolds(failing, 20, (i) => ({ train: view, ctx: { seed: i } }), () => 0, { concurrency: 2 })).rejects.toThrow('fold 1 diverged');
    expect(running).toBe(0);
    expect(started).toBeLessThan(20);
  });

  it('stops with E_ABORTED when the signal is aborted', async () => {
    const ac = new AbortController();
    const inFlight = { now: 0, max: 0 };
    const p = runFolds(slowEcho([], inFlight), 50, (i) => {
      if (i === 3) ac.abort();
      return { train: view, ctx: { seed: i } };
    }, () => 0, { concurrency: 1, signal: ac.signal, what: 'evaluation' });
    await expect(p).rejects.toMatchObject({ code: 'E_ABORTED', message: 'evaluation aborted' });
  });
});
