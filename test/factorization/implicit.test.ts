import { afterAll, describe, expect, it } from 'vitest';
import { fit } from '../../src/factorization/fit.js';
import { syntheticImplicit } from '../../src/factorization/synthetic.js';
import { CollabperfError } from '../../src/errors.js';
import { registerBackend, unregisterBackend } from '../../src/backends/registry.js';
import { tsBackend, ialsSweep, implicitLoss, confidenceOf } from '../../src/backends/ts/index.js';
import type { KernelOptions } from '../../src/backends/types.js';
import { buildProblem, makeOptions } from '../helpers/ts-kernel-fixtures.js';
import { codeOf } from '../helpers/errors.js';

const data = syntheticImplicit({ nRows: 150, nCols: 80, nnz: 1500, rank: 4, seed: 5, candidates: 3 });
const train = { rows: data.train.rows, cols: data.train.cols, values: data.train.values, nRows: data.nRows, nCols: data.nCols };


describe('implicit ALS (TypeScript)', () => {
  it.each(['cholesky', 'cg'] as const)('lowers the objective at every sweep (%s)', async (solver) => {
    const { history, model, backend } = await fit(train, { implicit: true, rank: 6, iters: 8, alpha: 10, lambda: 0.5, solver, backend: 'ts' });
    expect(backend).toBe('ts');
    expect(history).toHaveLength(8);
    for (let i = 1; i < history.length; i++) expect(history[i].objective!).toBeLessThan(history[i - 1].objective!);
    // Confidence-weighted RMSE over every cell, from the same sums.
    expect(history[7].trainRmse).toBeLessThan(history[0].trainRmse);
    expect(model.mu).toBe(0);
    expect(model.rowBias.every((b) => b === 0)).toBe(true);
  });

  it('lowers the objective with log confidence and weighted lambda too', async () => {
    const { history } = await fit(train, { implicit: true, rank: 5, iters: 6, confidence: 'log', epsilon: 0.5, weightedLambda: true, lambda: 0.05, solver: 'cholesky', backend: 'ts' });
    for (let i = 1; i < history.length; i++) expect(history[i].objective!).toBeLessThan(history[i - 1].objective!);
  });

  it('CG with many steps matches the exact solver within 1e-6', async () => {
    const base = { implicit: true, rank: 6, iters: 4, alpha: 5, lambda: 0.3, backend: 'ts' } as const;
    const exact = await fit(train, { ...base, solver: 'cholesky' });
    const cg = await fit(train, { ...base, solver: 'cg', cgSteps: 60 });
    const cg3 = await fit(train, { ...base, solver: 'cg', cgSteps: 1 });
    let worst = 0;
    let worst3 = 0;
    for (let i = 0; i < exact.model.U.length; i++) {
      worst = Math.max(worst, Math.abs(exact.model.U[i] - cg.model.U[i]));
      worst3 = Math.max(worst3, Math.abs(exact.model.U[i] - cg3.model.U[i]));
    }
    for (let i = 0; i < exact.model.V.length; i++) worst = Math.max(worst, Math.abs(exact.model.V[i] - cg.model.V[i]));
    expect(worst).toBeLessThan(1e-6);
    // One step is an approximation: the comparison above is not vacuous.
    expect(worst3).toBeGreaterThan(1e-4);
  });

  it('solves one row exactly as computed by hand (3 x 3)', async () => {
    // Row 0 has column 0 with r = 1 and column 2 with r = 2; alpha = 1, lambda = 1, V fixed:
    //   y0 = (1,0,0), y1 = (1,1,0), y2 = (0,1,1)  =>  G = Y^T Y = [[2,1,0],[1,2,1],[0,1,1]]
    //   A = G + (2-1) y0 y0^T + (3-1) y2 y2^T + I = [[4,1,0],[1,5,3],[0,3,4]],  b = 2 y0 + 3 y2 = (2,3,3)
    //   => x = (0.475, 0.1, 0.675)  (4x1 + x2 = 2, 3x2 + 4x3 = 3, then 10 x2 = 1).
    const p = buildProblem(3, 3, [
      { r: 0, c: 0, y: 1 },
      { r: 0, c: 2, y: 2 },
      { r: 1, c: 1, y: 1 },
      { r: 2, c: 0, y: 3 },
    ]);
    const implicit = { alpha: 1, confidence: 'linear', epsilon: 1, solver: 'cholesky', cgSteps: 3 } as const;
    const o: KernelOptions = makeOptions({ lambda: 1, implicit });
    const fresh = () => ({ k: 3, mu: 0, U: new Float64Array(9), V: Float64Array.of(1, 0, 0, 1, 1, 0, 0, 1, 1), rowBias: new Float64Array(3), colBias: new Float64Array(3) });
    const m = fresh();
    expect(await ialsSweep(p, m, o)).toBe('ok');
    const want = [0.475, 0.1, 0.675];
    for (let f = 0; f < 3; f++) expect(m.U[f]).toBeCloseTo(want[f], 14);
    // CG converges in k = 3 steps on a 3 x 3 system, from any start (here zeros).
    const m2 = fresh();
    await ialsSweep(p, m2, { ...o, implicit: { ...implicit, solver: 'cg', cgSteps: 3 } });
    for (let f = 0; f < 3; f++) expect(m2.U[f]).toBeCloseTo(want[f], 12);
  });

  it('computes the loss over every cell through the Gram trick', async () => {
    const p = buildProblem(2, 3, [
      { r: 0, c: 1, y: 2 },
      { r: 1, c: 0, y: 0 },
      { r: 1, c: 2, y: 1 },
    ]);
    const m = { k: 2, mu: 0, U: Float64Array.of(0.5, -1, 2, 0.25), V: Float64Array.of(1, 0, 0.5, 0.5, -1, 2), rowBias: new Float64Array(2), colBias: new Float64Array(3) };
    const imp = { alpha: 3, confidence: 'linear', epsilon: 1, solver: 'cg', cgSteps: 3 } as const;
    const o = makeOptions({ lambda: 0.1, implicit: imp });
    // Brute force: every cell, p = 1 and c = 1 + 3r where r > 0, else p = 0 and c = 1.
    const r = [[0, 2, 0], [0, 0, 1]];
    let sse = 0;
    let wsum = 0;
    for (let u = 0; u < 2; u++) {
      for (let i = 0; i < 3; i++) {
        const pred = m.U[u * 2] * m.V[i * 2] + m.U[u * 2 + 1] * m.V[i * 2 + 1];
        const c = r[u][i] > 0 ? confidenceOf(r[u][i], imp) : 1;
        const pref = r[u][i] > 0 ? 1 : 0;
        sse += c * (pref - pred) ** 2;
        wsum += c;
      }
    }
    let l2 = 0;
    for (const x of [...m.U, ...m.V]) l2 += x * x;
    const got = await implicitLoss(p, m, o);
    expect(got.sse).toBeCloseTo(sse, 12);
    expect(got.wsum).toBe(wsum);
    expect(got.objective!).toBeCloseTo(sse + 0.1 * l2, 12);
    expect(confidenceOf(2, { ...imp, confidence: 'log', epsilon: 0.5 })).toBeCloseTo(1 + 3 * Math.log(5), 14);
  });
});

describe('implicit fit options and backends', () => {
  afterAll(() => unregisterBackend('no-implicit'));

  it('falls back to TypeScript on a backend without implicit ALS, and says so', async () => {
    const { implicitAls: _dropped, ...details } = tsBackend.details();
    void _dropped;
    registerBackend('no-implicit', () => ({ ...tsBackend, name: 'no-implicit', details: () => ({ ...details, name: 'no-implicit' }) }), -10);
    const r = await fit(train, { implicit: true, rank: 3, iters: 2, backend: 'no-implicit' });
    expect(r.backend).toBe('ts');
    expect(r.model.training.backend).toBe('ts');
    expect(r.backendReport.name).toBe('ts');
    expect(r.backendReport.reason).toMatch(/no-implicit cannot run implicit ALS, so this fit ran on ts/);
    // An explicit fit stays where it was asked to run.
    const e = await fit(train, { rank: 3, iters: 2, backend: 'no-implicit' });
    expect(e.backend).toBe('no-implicit');
    expect(e.backendReport.reason).toBe('requested');
  });

  it('rejects what implicit ALS cannot take, naming it', async () => {
    expect(await codeOf(fit(train, { implicit: true, useBias: true }))).toBe('E_INVALID_ARGUMENT');
    expect(await codeOf(fit(train, { implicit: true, algo: 'sgd' }))).toBe('E_INVALID_ARGUMENT');
    expect(await codeOf(fit(train, { alpha: 3 }))).toBe('E_INVALID_ARGUMENT');
    expect(await codeOf(fit(train, { implicit: true, solver: 'lu' as 'cg' }))).toBe('E_INVALID_ARGUMENT');
    expect(await codeOf(fit(train, { implicit: true, cgSteps: 0 }))).toBe('E_INVALID_ARGUMENT');
    expect(await codeOf(fit({ rows: [0, 1], cols: [0, 1], values: [1, -2] }, { implicit: true }))).toBe('E_INVALID_ARGUMENT');
    expect(await codeOf(fit(train, { implicit: true, validation: train }))).toBe('E_INVALID_ARGUMENT');
    expect(await codeOf(fit({ rows: [0, 1], cols: [0, 1], values: [1, 2], weights: [1, 2] }, { implicit: true }))).toBe('E_INVALID_ARGUMENT');
    await expect(fit(train, { implicit: true, cgstep: 3 } as object)).rejects.toThrow(/unknown fit option "cgstep"; did you mean "cgSteps"/);
  });
});

describe('implicit fit cancellation', () => {
  it('rejects with E_ABORTED when the signal fires mid-fit', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 30);
    expect(await codeOf(fit(train, { implicit: true, rank: 8, iters: 100_000, signal: ac.signal, backend: 'ts' }))).toBe('E_ABORTED');
  });
});

describe('implicit jobs on backends made of one-iteration kernels', () => {
  it('are refused by the generic fitMany (the caller routes them to a backend with implicitAls)', async () => {
    const { fitManyByIterations } = await import('../../src/backends/fit-loop.js');
    const { buildProblem: build, toEntries } = await import('../../src/factorization/ratings.js');
    const p = build(toEntries(train));
    const m = { k: 2, mu: 0, U: new Float64Array(p.nRows * 2), V: new Float64Array(p.nCols * 2), rowBias: new Float64Array(p.nRows), colBias: new Float64Array(p.nCols) };
    const options = makeOptions({ implicit: { alpha: 1, confidence: 'linear', epsilon: 1, solver: 'cg', cgSteps: 3 } });
    const job = { problem: p, model: m, options, algo: 'ials' as const, iters: 1, validation: null, earlyStopping: false, patience: 1, minDelta: 0 };
    expect(await codeOf(fitManyByIterations(tsBackend)([job]))).toBe('E_INVALID_ARGUMENT');
    // The TS backend's own fitMany runs it.
    const [r] = await tsBackend.fitMany([job]);
    expect(r.history).toHaveLength(1);
    expect(r.history[0].objective).toBeGreaterThan(0);
  });
});

describe('implicit ALS: repeated interactions', () => {
  it('sums a cell given several times (in input order) and fits exactly what the summed input fits', async () => {
    const rows = Int32Array.from([0, 2, 0, 1, 2, 0]);
    const cols = Int32Array.from([1, 0, 1, 2, 0, 1]);
    const values = Float64Array.from([0.1, 2, 0.2, 1, 3, 0.3]);
    const opts = { implicit: true, rank: 2, iters: 3, lambda: 0.1, backend: 'ts', seed: 3 } as const;
    const logged = await fit({ rows, cols, values, nRows: 3, nCols: 3 }, opts);
    // (0.1 + 0.2) + 0.3 is not 0.1 + (0.2 + 0.3): the sum follows the input's order.
    const once = await fit({ rows: Int32Array.from([0, 1, 2]), cols: Int32Array.from([1, 2, 0]), values: Float64Array.from([0.1 + 0.2 + 0.3, 1, 5]), nRows: 3, nCols: 3 }, opts);
    expect(logged.summedDuplicates).toBe(3);
    expect(once.summedDuplicates).toBe(0);
    expect(Array.from(logged.model.U)).toEqual(Array.from(once.model.U));
    expect(Array.from(logged.model.V)).toEqual(Array.from(once.model.V));
  });

  it('leaves explicit ratings given twice an error', async () => {
    const twice = fit({ rows: Int32Array.from([0, 0]), cols: Int32Array.from([1, 1]), values: Float64Array.from([1, 2]), nRows: 1, nCols: 2 }, { iters: 1, backend: 'ts' });
    expect(await codeOf(twice)).toBe('E_DUPLICATE_ENTRY');
  });
});
