import { describe, expect, it } from 'vitest';
import { isCollabperfError } from '../../src/errors.js';
import { choleskyInPlace, choleskySolveInPlace } from '../../src/numeric/cholesky.js';
import { tsBackend } from '../../src/backends/ts/index.js';
import { Rng } from '../../src/numeric/rng.js';
import {
  buildProblem,
  cloneModel,
  directAlsSolve,
  gaussSolve,
  initModel,
  makeOptions,
  planted,
  predict,
  referenceSgdEpoch,
  rmse,
  sameBits,
  type Triplet,
} from '../helpers/ts-kernel-fixtures.js';

const { alsSweep, sgdEpoch, trainLoss } = tsBackend;

describe('Rng reference values (docs/kernels.md)', () => {
  it('nextU32, nextDouble and shuffle match the fixtures shared with C++', () => {
    const a = new Rng(42, 0);
    expect([a.nextU32(), a.nextU32(), a.nextU32(), a.nextU32()]).toEqual([2837322924, 544945897, 479756282, 3500138142]);
    const b = new Rng(42, 3);
    expect(b.nextDouble()).toBe(0.58061850036789686);
    expect(b.nextDouble()).toBe(0.75595472359357996);
    const p = Int32Array.from({ length: 10 }, (_, i) => i);
    new Rng(7, 1).shuffle(p);
    expect(Array.from(p)).toEqual([4, 1, 2, 9, 7, 5, 6, 0, 3, 8]);
  });
});

describe('backend object', () => {
  it('describes itself', () => {
    expect(tsBackend.name).toBe('ts');
    expect(tsBackend.details()).toEqual({ name: 'ts', blas: 'TypeScript loops (no BLAS)', blasThreads: 1, maxThreads: 1, parallelSgd: false, implicitAls: true, float32Als: true, float32Sgd: true });
  });
});

describe('cholesky', () => {
  it('solves a random SPD system like Gaussian elimination does', () => {
    const rng = new Rng(5, 0);
    for (const d of [1, 2, 5, 33]) {
      const M = Array.from({ length: d + 3 }, () => Array.from({ length: d }, () => rng.nextDouble() - 0.5));
      const A = Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => M.reduce((s, row) => s + row[i] * row[j], 0) + (i === j ? 0.01 : 0)));
      const b = Array.from({ length: d }, () => rng.nextDouble());
      const a = Float64Array.from(A.flat());
      const x = Float64Array.from(b);
      expect(choleskyInPlace(a, d)).toBe(true);
      choleskySolveInPlace(a, d, x);
      const ref = gaussSolve(A, b);
      for (let i = 0; i < d; i++) expect(x[i]).toBeCloseTo(ref[i], 8);
    }
  });

  it('reports a non-positive pivot, and a NaN one', () => {
    expect(choleskyInPlace(Float64Array.from([1, 2, 2, 4]), 2)).toBe(false);
    expect(choleskyInPlace(Float64Array.from([-1]), 1)).toBe(false);
    expect(choleskyInPlace(Float64Array.from([NaN]), 1)).toBe(false);
  });
});

/** Hand-built problem: rows of different lengths (including an empty row and column), weights. */
function tinyProblem(): Triplet[] {
  return [
    { r: 0, c: 0, y: 4.5, w: 1 },
    { r: 0, c: 1, y: 3, w: 2 },
    { r: 0, c: 3, y: 1.25, w: 0.5 },
    { r: 1, c: 1, y: 2, w: 1 },
    { r: 1, c: 2, y: 5, w: 3 },
    { r: 2, c: 0, y: 1, w: 1 },
    { r: 2, c: 1, y: 2.5, w: 1 },
    { r: 2, c: 2, y: 4, w: 1.5 },
    { r: 2, c: 3, y: 3.5, w: 1 },
    // row 3 is empty, column 4 is empty
    { r: 4, c: 0, y: 2, w: 2 },
    { r: 4, c: 3, y: 0.5, w: 1 },
  ];
}

function rowItems(entries: Triplet[], r: number): { j: number; y: number; w: number }[] {
  return entries.filter((e) => e.r === r).map((e) => ({ j: e.c, y: e.y, w: e.w ?? 1 }));
}
function colItems(entries: Triplet[], c: number): { j: number; y: number; w: number }[] {
  return entries.filter((e) => e.c === c).map((e) => ({ j: e.r, y: e.y, w: e.w ?? 1 }));
}

describe('alsSweep', () => {
  const variants = [
    { useBias: true, weightedLambda: false },
    { useBias: true, weightedLambda: true },
    { useBias: false, weightedLambda: false },
    { useBias: false, weightedLambda: true },
  ];
  for (const v of variants) {
    it(`rows then columns solve their normal equations (useBias=${v.useBias}, weightedLambda=${v.weightedLambda})`, async () => {
      const entries = tinyProblem();
      const p = buildProblem(5, 5, entries, true);
      const k = 2;
      const m = initModel(5, 5, k, 3, v.useBias ? 2.7 : 0, 1);
      if (v.useBias) m.colBias.set([0.3, -0.2, 0.1, 0.05, 0.7]);
      const o = makeOptions({ ...v, lambda: 0.3, lambdaBias: 0.05 });
      const V0 = m.V.slice();
      const cb0 = m.colBias.slice();
      expect(await alsSweep(p, m, o)).toBe('ok');
      for (let r = 0; r < 5; r++) {
        const items = rowItems(entries, r);
        const x = items.length ? directAlsSolve(items, V0, cb0, k, m.mu, o) : new Array(k + 1).fill(0);
        for (let f = 0; f < k; f++) expect(m.U[r * k + f]).toBeCloseTo(x[f], 11);
        expect(m.rowBias[r]).toBeCloseTo(v.useBias ? x[k] : 0, 11);
      }
      for (let c = 0; c < 5; c++) {
        const items = colItems(entries, c);
        const x = items.length ? directAlsSolve(items, m.U, m.rowBias, k, m.mu, o) : new Array(k + 1).fill(0);
        for (let f = 0; f < k; f++) expect(m.V[c * k + f]).toBeCloseTo(x[f], 11);
        expect(m.colBias[c]).toBeCloseTo(v.useBias ? x[k] : 0, 11);
      }
      // The empty row and column are zeroed, not left at their initial values.
      expect(Array.from(m.U.subarray(3 * k, 4 * k))).toEqual([0, 0]);
      expect(Array.from(m.V.subarray(4 * k, 5 * k))).toEqual([0, 0]);
      if (!v.useBias) {
        expect(m.rowBias.every((x) => x === 0)).toBe(true);
        expect(m.colBias.every((x) => x === 0)).toBe(true);
      }
    });
  }

  it('weightedLambda multiplies lambda and lambdaBias by the entry count', async () => {
    // Every row and column has exactly 3 entries, so weighted lambda L equals plain lambda 3L.
    const entries: Triplet[] = [];
    for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) entries.push({ r, c, y: 1 + r * 0.5 - c * 0.25 + r * c * 0.1 });
    const p = buildProblem(3, 3, entries);
    const m0 = initModel(3, 3, 2, 11, 1.2);
    const weighted = cloneModel(m0);
    const plain = cloneModel(m0);
    const scaled = cloneModel(m0);
    await alsSweep(p, weighted, makeOptions({ useBias: true, lambda: 0.25, lambdaBias: 0.5, weightedLambda: true }));
    await alsSweep(p, plain, makeOptions({ useBias: true, lambda: 0.25, lambdaBias: 0.5 }));
    await alsSweep(p, scaled, makeOptions({ useBias: true, lambda: 0.75, lambdaBias: 1.5 }));
    for (let i = 0; i < 6; i++) {
      expect(weighted.U[i]).toBeCloseTo(scaled.U[i], 12);
      expect(weighted.V[i]).toBeCloseTo(scaled.V[i], 12);
    }
    for (let i = 0; i < 3; i++) {
      expect(weighted.rowBias[i]).toBeCloseTo(scaled.rowBias[i], 12);
      expect(weighted.colBias[i]).toBeCloseTo(scaled.colBias[i], 12);
    }
    expect(Math.abs(weighted.U[0] - plain.U[0])).toBeGreaterThan(1e-6);
  });

  it('recovers a planted rank-3 matrix and generalises to held-out cells', async () => {
    const data = planted(60, 40, 3, 0.5, 21);
    const p = buildProblem(60, 40, data.train);
    const m = initModel(60, 40, 3, 8, 0, 1);
    const o = makeOptions({ lambda: 1e-9 });
    for (let it = 0; it < 200 && rmse(m, data.train) > 1e-5; it++) expect(await alsSweep(p, m, o)).toBe('ok');
    expect(rmse(m, data.train)).toBeLessThan(1e-4);
    expect(rmse(m, data.test)).toBeLessThan(1e-3);
    const loss = await trainLoss(p, m, o);
    expect(Math.sqrt(loss.sse / loss.wsum)).toBeCloseTo(rmse(m, data.train), 12);
  });

  it('recovers planted biases with useBias', async () => {
    const data = planted(60, 40, 2, 0.5, 22, true, 3);
    const p = buildProblem(60, 40, data.train);
    const mu = data.train.reduce((s, e) => s + e.y, 0) / data.train.length;
    const m = initModel(60, 40, 2, 9, mu, 1);
    const o = makeOptions({ useBias: true, lambda: 1e-9, lambdaBias: 1e-9 });
    for (let it = 0; it < 300 && rmse(m, data.train) > 1e-5; it++) await alsSweep(p, m, o);
    expect(rmse(m, data.train)).toBeLessThan(1e-4);
    expect(rmse(m, data.test)).toBeLessThan(1e-3);
  });

  it('lambda = 0 with a rank-deficient row is E_NUMERIC naming the row', async () => {
    // Row 1 has one entry against k = 3: its Gram matrix a a^T has rank 1. Integer factors keep
    // the elimination exact, so the second pivot is exactly 0.
    const entries: Triplet[] = [
      { r: 0, c: 0, y: 1 },
      { r: 0, c: 1, y: 2 },
      { r: 0, c: 2, y: 3 },
      { r: 1, c: 1, y: 1 },
    ];
    const p = buildProblem(2, 3, entries);
    const m = initModel(2, 3, 3, 1);
    m.V.set([1, 0, 0, 0, 1, 2, 0, 0, 1]);
    const err = await alsSweep(p, m, makeOptions({ lambda: 0 })).catch((e: unknown) => e);
    expect(isCollabperfError(err)).toBe(true);
    expect((err as { code: string }).code).toBe('E_NUMERIC');
    expect((err as Error).message).toMatch(/\brow 1\b/);
  });

  it('a singular column system is E_NUMERIC naming the column', async () => {
    // Column 1's entries all have weight 0 and lambdaBias is 0: its bias pivot is exactly 0.
    const entries: Triplet[] = [
      { r: 0, c: 0, y: 1, w: 1 },
      { r: 1, c: 0, y: 2, w: 1 },
      { r: 0, c: 1, y: 3, w: 0 },
      { r: 1, c: 1, y: 4, w: 0 },
    ];
    const p = buildProblem(2, 2, entries, true);
    const m = initModel(2, 2, 1, 1);
    const err = await alsSweep(p, m, makeOptions({ useBias: true, lambda: 0.1, lambdaBias: 0 })).catch((e: unknown) => e);
    expect((err as { code: string }).code).toBe('E_NUMERIC');
    expect((err as Error).message).toMatch(/\bcolumn 1\b/);
  });
});

describe('sgdEpoch', () => {
  it('one entry updates exactly as the contract writes it', async () => {
    const p = buildProblem(1, 1, [{ r: 0, c: 0, y: 3, w: 2 }], true);
    const m = { k: 2, mu: 1, U: Float64Array.from([1, 2]), V: Float64Array.from([0.5, -1]), rowBias: Float64Array.from([0.5]), colBias: Float64Array.from([-0.25]) };
    // lr = 0.2 / (1 + 1 * 1) = 0.1
    const o = makeOptions({ useBias: true, learningRate: 0.2, lrDecay: 1, lambda: 0.01, lambdaBias: 0.02 });
    expect(await sgdEpoch(p, m, o, 1)).toBe('ok');
    // pred = ((1 + 0.5) - 0.25) + (0.5 - 2) = -0.25; err = 3.25; g = 6.5
    expect(m.rowBias[0]).toBeCloseTo(0.5 + 0.1 * (6.5 - 0.02 * 0.5), 15); // 1.149
    expect(m.colBias[0]).toBeCloseTo(-0.25 + 0.1 * (6.5 + 0.02 * 0.25), 15); // 0.4005
    expect(m.U[0]).toBeCloseTo(1.324, 14);
    expect(m.V[0]).toBeCloseTo(1.1495, 14);
    expect(m.U[1]).toBeCloseTo(1.348, 14);
    expect(m.V[1]).toBeCloseTo(0.301, 14);
    // and bit for bit with the contract's expressions
    const lr = 0.2 / (1 + 1 * 1);
    const g = 2 * (3 - (((1 + 0.5) + -0.25) + (0 + 1 * 0.5 + 2 * -1)));
    expect(m.U[1]).toBe(2 + lr * (g * -1 - 0.01 * 2));
    expect(m.V[1]).toBe(-1 + lr * (g * 2 - 0.01 * -1));
  });

  it('is bit-identical to a plain implementation of the contract, over epochs, with weights and biases', async () => {
    const data = planted(50, 30, 3, 0.6, 5, true, 2);
    const entries = data.train.map((e, i) => ({ ...e, w: 0.5 + (i % 7) * 0.25 }));
    const p = buildProblem(50, 30, entries, true);
    for (const useBias of [true, false]) {
      const o = makeOptions({ useBias, learningRate: 0.03, lrDecay: 0.1, lambda: 0.02, lambdaBias: 0.01, seed: 77, sgdMode: 'parallel' });
      const m = initModel(50, 30, 4, 6, useBias ? 2 : 0, 0.3);
      const ref = cloneModel(m);
      for (let epoch = 0; epoch < 4; epoch++) {
        expect(await sgdEpoch(p, m, o, epoch)).toBe('ok');
        referenceSgdEpoch(p, ref, o, epoch);
      }
      expect(sameBits(m.U, ref.U)).toBe(true);
      expect(sameBits(m.V, ref.V)).toBe(true);
      expect(sameBits(m.rowBias, ref.rowBias)).toBe(true);
      expect(sameBits(m.colBias, ref.colBias)).toBe(true);
      if (!useBias) expect(m.rowBias.every((x) => x === 0) && m.colBias.every((x) => x === 0)).toBe(true);
    }
  });

  it('reduces the training loss', async () => {
    const data = planted(60, 40, 3, 0.5, 23);
    const p = buildProblem(60, 40, data.train);
    const m = initModel(60, 40, 3, 4, 0, 0.5);
    const o = makeOptions({ learningRate: 0.05, lambda: 0.001 });
    const before = (await trainLoss(p, m, o)).sse;
    for (let epoch = 0; epoch < 50; epoch++) await sgdEpoch(p, m, o, epoch);
    const after = (await trainLoss(p, m, o)).sse;
    expect(after).toBeLessThan(before * 0.1);
  });

  it('is deterministic for a seed and differs for another seed', async () => {
    const data = planted(40, 30, 2, 0.5, 24);
    const p = buildProblem(40, 30, data.train);
    const m0 = initModel(40, 30, 3, 4);
    const run = async (seed: number) => {
      const m = cloneModel(m0);
      for (let epoch = 0; epoch < 3; epoch++) await sgdEpoch(p, m, makeOptions({ seed, learningRate: 0.05 }), epoch);
      return m;
    };
    const a = await run(10);
    const b = await run(10);
    const c = await run(11);
    expect(sameBits(a.U, b.U) && sameBits(a.V, b.V)).toBe(true);
    expect(sameBits(a.U, c.U)).toBe(false);
  });
});

describe('trainLoss', () => {
  it('sums w * (y - pred)^2 and w', async () => {
    const entries = tinyProblem();
    const p = buildProblem(5, 5, entries, true);
    const m = initModel(5, 5, 2, 3, 1.5, 1);
    m.rowBias.set([0.1, 0.2, -0.3, 0, 0.4]);
    m.colBias.set([-0.1, 0, 0.25, 0.5, 0]);
    let sse = 0;
    let wsum = 0;
    for (const e of entries) {
      const d = e.y - predict(m, e.r, e.c);
      sse += (e.w ?? 1) * d * d;
      wsum += e.w ?? 1;
    }
    const l = await trainLoss(p, m, makeOptions({ useBias: true }));
    expect(l.sse).toBeCloseTo(sse, 12);
    expect(l.wsum).toBe(wsum);
    const unweighted = await trainLoss(buildProblem(5, 5, entries), m, makeOptions());
    expect(unweighted.wsum).toBe(entries.length);
    expect(await trainLoss(buildProblem(2, 2, []), m, makeOptions())).toEqual({ sse: 0, wsum: 0 });
  });
});

describe('cancellation and yielding', () => {
  it('a cancel flag set before the call returns aborted and leaves the model alone', async () => {
    const data = planted(20, 20, 2, 0.5, 25);
    const p = buildProblem(20, 20, data.train);
    const m = initModel(20, 20, 2, 4);
    const copy = cloneModel(m);
    const o = makeOptions({ cancel: Int32Array.of(1) });
    expect(await alsSweep(p, m, o)).toBe('aborted');
    expect(await sgdEpoch(p, m, o, 0)).toBe('aborted');
    expect(sameBits(m.U, copy.U) && sameBits(m.V, copy.V)).toBe(true);
  });

  /** ~400k entries: long enough that the kernels must yield several times. */
  function bigProblem() {
    const rng = new Rng(3, 5);
    const nRows = 4000;
    const nCols = 1000;
    const entries: Triplet[] = [];
    for (let r = 0; r < nRows; r++) for (let c = 0; c < nCols; c++) if (rng.nextDouble() < 0.1) entries.push({ r, c, y: rng.nextDouble() * 4 });
    return { p: buildProblem(nRows, nCols, entries), nRows, nCols };
  }

  it('yields to the event loop without changing the SGD result, and stops when cancelled', async () => {
    const { p, nRows, nCols } = bigProblem();
    const o = makeOptions({ learningRate: 0.01, seed: 9 });
    const m = initModel(nRows, nCols, 16, 2);
    const ref = cloneModel(m);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const t0 = performance.now();
    await sgdEpoch(p, m, o, 0);
    await alsSweep(p, cloneModel(m), o);
    const elapsed = performance.now() - t0;
    clearInterval(timer);
    referenceSgdEpoch(p, ref, o, 0);
    expect(sameBits(m.U, ref.U) && sameBits(m.V, ref.V)).toBe(true);
    if (elapsed > 150) expect(ticks).toBeGreaterThan(1);

    // A callback queued before the call can only run if the kernel returns to the event loop; once
    // it has set the flag the kernel must stop. (On any realistic machine these calls take well
    // over one 25 ms slice, so they do yield; the condition only keeps a very fast one from failing.)
    for (const kernel of ['als', 'sgd'] as const) {
      const cancel = new Int32Array(1);
      let fired = false;
      setImmediate(() => {
        cancel[0] = 1;
        fired = true;
      });
      const cm = cloneModel(m);
      const status = kernel === 'als' ? await alsSweep(p, cm, makeOptions({ cancel })) : await sgdEpoch(p, cm, makeOptions({ cancel }), 1);
      expect(status).toBe(fired ? 'aborted' : 'ok');
    }
  });
});
