import { describe, expect, it } from 'vitest';
import { initFactors } from '../../src/factorization/fit.js';
import { buildProblem, toEntries } from '../../src/factorization/ratings.js';
import { CollabperfError } from '../../src/errors.js';
import type { FitJob, KernelBackend, KernelModel, KernelOptions, KernelProblem } from '../../src/backends/types.js';
import { getBackend, registerBackend } from '../../src/backends/registry.js';
import { tsBackend } from '../../src/backends/ts/index.js';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { planted } from '../helpers/planted.js';
import { Rng } from '../../src/numeric/rng.js';
import { choleskyInPlace, choleskySolveInPlace } from '../../src/numeric/cholesky.js';
import { nativeForSuite } from '../helpers/backends.js';

/**
 * Parity is native against TypeScript whenever the addon loads, whatever COLLABPERF_BACKEND
 * selects (the TS-forced run must not compare TS with itself); without the addon the comparisons
 * are reported skipped, or fail under COLLABPERF_REQUIRE_NATIVE=1.
 */
const reference = getBackend('ts');
const native = nativeForSuite('native parity with TypeScript');

/**
 * Registered backends run the same comparisons. In the tree: the TypeScript kernels registered
 * without `fitMany`, as a third party that only writes kernels would, so the registry's generic
 * whole-fit loop is held to the TS engine's results. Outside it, a third party runs this file
 * against its own backend:
 *
 *   COLLABPERF_PARITY_SETUP=./register-gpu.mjs COLLABPERF_PARITY_BACKEND=gpu npx vitest run test/backends/parity.test.ts
 *
 * where the setup module calls `registerBackend('gpu', ...)`; a backend that does not load fails.
 */
registerBackend('ts-kernels', () => ({ ...tsBackend, name: 'ts-kernels', fitMany: undefined, details: () => ({ ...tsBackend.details(), implicitAls: false }) }), -10);
if (process.env.COLLABPERF_PARITY_SETUP) await import(pathToFileURL(resolve(process.env.COLLABPERF_PARITY_SETUP)).href);
const registered = [getBackend('ts-kernels'), ...(process.env.COLLABPERF_PARITY_BACKEND ? [getBackend(process.env.COLLABPERF_PARITY_BACKEND)] : [])];
const compared: KernelBackend[] = [...(native ? [native] : []), ...registered];
const backends: KernelBackend[] = [...compared, reference];
/** Backends that run implicit ALS jobs (the generic loop does not). */
const comparedImplicit = compared.filter((b) => b.details().implicitAls === true);


/** The fixtures every backend runs: one problem with weights and empty rows/columns, one plain. */
function fixtures() {
  const a = planted(120, 70, 4, 0.35, 0.2, 5);
  const rng = new Rng(3, 99);
  const weights = a.train.rows.map(() => 0.5 + rng.nextDouble());
  const weighted = buildProblem(toEntries({ ...a.train, weights, nRows: 125, nCols: 73 }));
  const b = planted(50, 90, 2, 0.5, 0.05, 8);
  const plain = buildProblem(toEntries(b.train));
  return [
    { name: 'weighted, empty rows, biases', problem: weighted, k: 6, opts: { useBias: true, weightedLambda: true, lambda: 0.05, lambdaBias: 0.02 } },
    { name: 'plain, no biases', problem: plain, k: 3, opts: { useBias: false, weightedLambda: false, lambda: 0.1, lambdaBias: 0 } },
  ];
}

function freshModel(p: KernelProblem, k: number, useBias: boolean): KernelModel {
  const U = new Float64Array(p.nRows * k);
  const V = new Float64Array(p.nCols * k);
  initFactors(U, V, k, 17, 0.1);
  let mu = 0;
  if (useBias) {
    for (let i = 0; i < p.nnz; i++) mu += p.value[i];
    mu /= p.nnz;
  }
  return { k, mu, U, V, rowBias: new Float64Array(p.nRows), colBias: new Float64Array(p.nCols) };
}

function options(o: Partial<KernelOptions>): KernelOptions {
  return { useBias: true, lambda: 0.05, lambdaBias: 0.05, weightedLambda: false, threads: 2, learningRate: 0.02, lrDecay: 0.1, seed: 123, sgdMode: 'deterministic', cancel: null, ...o };
}

function predictAll(m: KernelModel, p: KernelProblem): Float64Array {
  const out = new Float64Array(p.nRows * p.nCols);
  for (let r = 0; r < p.nRows; r++) {
    for (let c = 0; c < p.nCols; c++) {
      let dot = 0.0;
      for (let f = 0; f < m.k; f++) dot += m.U[r * m.k + f] * m.V[c * m.k + f];
      out[r * p.nCols + c] = m.mu + m.rowBias[r] + m.colBias[c] + dot;
    }
  }
  return out;
}

async function run(b: KernelBackend, algo: 'als' | 'sgd', fx: ReturnType<typeof fixtures>[number], iters: number) {
  const m = freshModel(fx.problem, fx.k, fx.opts.useBias);
  const o = options(fx.opts);
  for (let it = 0; it < iters; it++) {
    const s = algo === 'als' ? await b.alsSweep(fx.problem, m, o) : await b.sgdEpoch(fx.problem, m, o, it);
    expect(s).toBe('ok');
  }
  return { m, loss: await b.trainLoss(fx.problem, m, o) };
}

/** A batch of whole fits: ALS and SGD with a validation set and early stopping, and one without. */
function wholeFitJobs(): FitJob[] {
  const a = planted(120, 70, 4, 0.35, 0.2, 5);
  const p = buildProblem(toEntries(a.train));
  const validation = { rows: Int32Array.from(a.test.rows), cols: Int32Array.from(a.test.cols), values: Float64Array.from(a.test.values), weights: null };
  const job = (algo: 'als' | 'sgd', k: number, iters: number, withValidation: boolean): FitJob => ({
    problem: p,
    model: freshModel(p, k, true),
    options: options({ useBias: true, weightedLambda: algo === 'als', lambda: 0.05, lambdaBias: 0.02, learningRate: 0.02 }),
    algo,
    iters,
    validation: withValidation ? validation : null,
    earlyStopping: withValidation,
    patience: 2,
    minDelta: 0,
  });
  return [job('als', 6, 12, true), job('sgd', 6, 15, true), job('als', 3, 5, false)];
}

describe.runIf(compared.length > 0)('whole fits through fitMany', () => {
  it.each(compared.map((b) => [b.name, b] as const))('match the TypeScript engine on %s: SGD bit for bit, ALS within 1e-9, same stopping', async (_n, b) => {
    const ref = wholeFitJobs();
    const got = wholeFitJobs();
    const rr = await reference.fitMany(ref);
    const rg = await b.fitMany(got);
    // The fixture exercises the stopping rule: the SGD job overfits and stops before its 15 epochs.
    expect(rr[1].stoppedEarly).toBe(true);
    rg.forEach((r, j) => {
      expect(r.status).toBe('ok');
      expect(r.history).toHaveLength(rr[j].history.length);
      expect(r.bestIter).toBe(rr[j].bestIter);
      expect(r.stoppedEarly).toBe(rr[j].stoppedEarly);
    });
    expect(got[1].model.U).toEqual(ref[1].model.U);
    expect(got[1].model.V).toEqual(ref[1].model.V);
    for (const j of [0, 2]) {
      const pr = predictAll(ref[j].model, ref[j].problem);
      const pg = predictAll(got[j].model, got[j].problem);
      let worst = 0;
      for (let i = 0; i < pr.length; i++) worst = Math.max(worst, Math.abs(pr[i] - pg[i]));
      expect(worst).toBeLessThanOrEqual(1e-9);
    }
  });
});

describe.runIf(compared.length > 0).each(fixtures())('same results on native and TypeScript: $name', (fx) => {
  it.each(compared.map((b) => [b.name, b] as const))('deterministic SGD is bit-identical to TypeScript on %s', async (_n, b) => {
    const ref = await run(reference, 'sgd', fx, 4);
    const got = await run(b, 'sgd', fx, 4);
    expect(got.m.U).toEqual(ref.m.U);
    expect(got.m.V).toEqual(ref.m.V);
    expect(got.m.rowBias).toEqual(ref.m.rowBias);
    expect(got.m.colBias).toEqual(ref.m.colBias);
    expect(Math.abs(got.loss.sse - ref.loss.sse)).toBeLessThanOrEqual(1e-12 * ref.loss.sse);
    expect(got.loss.wsum).toBeCloseTo(ref.loss.wsum, 9);
  });
  it.each(compared.map((b) => [b.name, b] as const))('ALS predictions agree with TypeScript within 1e-9 on %s', async (_n, b) => {
    const ref = await run(reference, 'als', fx, 5);
    const got = await run(b, 'als', fx, 5);
    const pr = predictAll(ref.m, fx.problem);
    const pg = predictAll(got.m, fx.problem);
    let worst = 0;
    for (let i = 0; i < pr.length; i++) worst = Math.max(worst, Math.abs(pr[i] - pg[i]));
    expect(worst).toBeLessThanOrEqual(1e-9);
    expect(ref.loss.sse / ref.loss.wsum).toBeLessThan(0.1);
  });
});

describe.each(backends.map((b) => [b.name, b] as const))('kernel behaviour on %s', (_n, b) => {
  const fx = fixtures()[0];
  it('returns aborted when the cancel flag is set', async () => {
    const m = freshModel(fx.problem, fx.k, true);
    const cancel = new Int32Array([1]);
    expect(await b.alsSweep(fx.problem, m, options({ cancel }))).toBe('aborted');
    expect(await b.sgdEpoch(fx.problem, m, options({ cancel }), 0)).toBe('aborted');
  });
  it('reports a non-positive pivot as E_NUMERIC', async () => {
    // Rank 3 with lambda 0: rows with fewer than 4 entries give singular normal equations.
    const p = buildProblem(toEntries({ rows: [0, 0, 1, 1, 1, 1], cols: [0, 1, 0, 1, 2, 3], values: [1, 2, 3, 4, 5, 6] }));
    const m = freshModel(p, 3, true);
    await expect(b.alsSweep(p, m, options({ lambda: 0, lambdaBias: 0 }))).rejects.toMatchObject({ code: 'E_NUMERIC' });
  });
  it('runs parallel SGD (natively block-scheduled) and lowers the loss', async () => {
    const m = freshModel(fx.problem, fx.k, true);
    const o = options({ sgdMode: 'parallel', threads: 2, learningRate: 0.05, lrDecay: 0 });
    const before = await b.trainLoss(fx.problem, m, o);
    for (let e = 0; e < 30; e++) expect(await b.sgdEpoch(fx.problem, m, o, e)).toBe('ok');
    const after = await b.trainLoss(fx.problem, m, o);
    expect(after.sse).toBeLessThan(before.sse * 0.5);
  });
});

describe.each(backends.filter((b) => b.name === 'native').map((b) => [b.name, b] as const))('the addon refuses bad arguments without crashing (%s)', (_n, b) => {
  const fx = fixtures()[0];
  const bad = async (f: () => Promise<unknown>, code: string) => {
    let caught: unknown;
    try {
      await f();
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(CollabperfError);
    expect((caught as CollabperfError).code).toBe(code);
  };
  it('wrong array lengths', async () => {
    const m = freshModel(fx.problem, fx.k, true);
    await bad(() => b.alsSweep({ ...fx.problem, value: fx.problem.value.subarray(1) }, m, options({})), 'E_LENGTH_MISMATCH');
    await bad(() => b.alsSweep(fx.problem, { ...m, U: m.U.subarray(1) }, options({})), 'E_LENGTH_MISMATCH');
  });
  it('indices out of range', async () => {
    const m = freshModel(fx.problem, fx.k, true);
    const colIdx = fx.problem.colIdx.slice();
    colIdx[5] = 1_000_000;
    await bad(() => b.sgdEpoch({ ...fx.problem, colIdx }, m, options({}), 0), 'E_INDEX_OUT_OF_RANGE');
  });
  it('wrong types and values', async () => {
    const m = freshModel(fx.problem, fx.k, true);
    await bad(() => b.alsSweep({ ...fx.problem, rowPtr: new Float64Array(fx.problem.rowPtr) as unknown as Int32Array }, m, options({})), 'E_INVALID_ARGUMENT');
    await bad(() => b.alsSweep(fx.problem, { ...m, k: 0 }, options({})), 'E_INVALID_ARGUMENT');
    await bad(() => b.alsSweep(fx.problem, m, options({ threads: 0 })), 'E_INVALID_ARGUMENT');
    await bad(() => b.alsSweep(null as unknown as KernelProblem, m, options({})), 'E_INVALID_ARGUMENT');
  });
});

/** An implicit fixture: |value| of the planted entries, some set to 0, with empty rows and columns (125 x 73). */
function implicitFixture(): KernelProblem {
  const a = planted(120, 70, 4, 0.35, 0.2, 5);
  const values = a.train.values.map((v, i) => (i % 9 === 0 ? 0 : Math.abs(v)));
  return buildProblem(toEntries({ ...a.train, values, nRows: 125, nCols: 73 }));
}

function implicitJob(p: KernelProblem, k: number, implicit: NonNullable<KernelOptions['implicit']>, extra: Partial<KernelOptions> = {}): FitJob {
  const model = freshModel(p, k, false);
  return { problem: p, model, options: options({ useBias: false, lambda: 0.1, lambdaBias: 0, implicit, ...extra }), algo: 'ials', iters: 4, validation: null, earlyStopping: false, patience: 1, minDelta: 0 };
}

describe.runIf(comparedImplicit.length > 0)('implicit ALS jobs through fitMany on native and TypeScript', () => {
  const p = implicitFixture();
  const base = { alpha: 6, confidence: 'linear', epsilon: 1, solver: 'cg', cgSteps: 3 } as const;
  it.each(comparedImplicit.map((b) => [b.name, b] as const))('CG with the linear confidence is bit-identical to TypeScript on %s', async (_n, b) => {
    const ref = implicitJob(p, 5, base);
    const got = implicitJob(p, 5, base);
    const [rr] = await reference.fitMany([ref]);
    const [rg] = await b.fitMany([got]);
    expect(rg.status).toBe('ok');
    expect(got.model.U).toEqual(ref.model.U);
    expect(got.model.V).toEqual(ref.model.V);
    expect(rg.history.map((h) => h.objective)).toHaveLength(4);
    for (let i = 0; i < 4; i++) expect(Math.abs(rg.history[i].objective! - rr.history[i].objective!)).toBeLessThanOrEqual(1e-12 * rr.history[i].objective!);
    // The empty rows (120..124) and columns (70..72) have zero factors, the exact minimiser.
    expect(got.model.U.subarray(120 * 5).every((x) => x === 0)).toBe(true);
    expect(got.model.V.subarray(70 * 5).every((x) => x === 0)).toBe(true);
    expect(got.model.U.subarray(0, 120 * 5).some((x) => x !== 0)).toBe(true);
  });
  it.each(comparedImplicit.map((b) => [b.name, b] as const))('the exact solver with log confidence agrees within 1e-9 on %s', async (_n, b) => {
    const imp = { ...base, solver: 'cholesky', confidence: 'log', epsilon: 0.3 } as const;
    const ref = implicitJob(p, 5, imp, { weightedLambda: true });
    const got = implicitJob(p, 5, imp, { weightedLambda: true });
    await reference.fitMany([ref]);
    const [rg] = await b.fitMany([got]);
    expect(rg.status).toBe('ok');
    let worst = 0;
    for (let i = 0; i < ref.model.U.length; i++) worst = Math.max(worst, Math.abs(ref.model.U[i] - got.model.U[i]));
    for (let i = 0; i < ref.model.V.length; i++) worst = Math.max(worst, Math.abs(ref.model.V[i] - got.model.V[i]));
    expect(worst).toBeLessThanOrEqual(1e-9);
    expect(got.model.U.some((x) => x !== 0)).toBe(true);
  });
});

describe.each(backends.filter((b) => b.name === 'native').map((b) => [b.name, b] as const))('the addon refuses bad implicit jobs (%s)', (_n, b) => {
  const p = implicitFixture();
  const imp = { alpha: 6, confidence: 'linear', epsilon: 1, solver: 'cg', cgSteps: 3 } as const;
  const code = async (job: FitJob) => {
    try {
      await b.fitMany([job]);
    } catch (e) {
      expect(e).toBeInstanceOf(CollabperfError);
      return (e as CollabperfError).code;
    }
    return 'resolved';
  };
  it('without options.implicit, or with bad settings', async () => {
    const { implicit: _none, ...noImplicit } = implicitJob(p, 3, imp).options;
    void _none;
    expect(await code({ ...implicitJob(p, 3, imp), options: noImplicit })).toBe('E_INVALID_ARGUMENT');
    expect(await code(implicitJob(p, 3, { ...imp, confidence: 'square' as 'log' }))).toBe('E_INVALID_ARGUMENT');
    expect(await code(implicitJob(p, 3, { ...imp, solver: 'lu' as 'cg' }))).toBe('E_INVALID_ARGUMENT');
    expect(await code(implicitJob(p, 3, { ...imp, cgSteps: 0 }))).toBe('E_INVALID_ARGUMENT');
    expect(await code(implicitJob(p, 3, { ...imp, epsilon: 0 }))).toBe('E_INVALID_ARGUMENT');
    expect(await code(implicitJob(p, 3, { ...imp, alpha: Number.NaN }))).toBe('E_NON_FINITE');
    expect(await code(implicitJob(p, 3, imp))).toBe('resolved');
  });
});

/** Every small-rank variant: weights or not, biases or not, lambda scaled by the count or not. */
function smallRankCases() {
  const a = planted(90, 40, 2, 0.4, 0.1, 11);
  const rng = new Rng(4, 7);
  const weights = a.train.rows.map(() => 0.5 + rng.nextDouble());
  const weighted = buildProblem(toEntries({ ...a.train, weights, nRows: 93, nCols: 42 }));
  const plain = buildProblem(toEntries(a.train));
  return [1, 2, 3].flatMap((k) =>
    [
      { problem: weighted, what: 'weighted' },
      { problem: plain, what: 'plain' },
    ].flatMap(({ problem, what }) =>
      [true, false].flatMap((useBias) => [true, false].map((weightedLambda) => ({ name: `k = ${k}, ${what}, useBias ${useBias}, weightedLambda ${weightedLambda}`, problem, k, opts: { useBias, weightedLambda, lambda: 0.07, lambdaBias: 0.03 } }))),
    ),
  );
}

describe.runIf(native !== null)('small ranks (k <= 3, float64): the scalar solvers of both backends', () => {
  it.each(smallRankCases())('native gives the TypeScript bits: $name', async (fx) => {
    const ref = await run(reference, 'als', fx, 4);
    const got = await run(native!, 'als', fx, 4);
    expect(got.m.U).toEqual(ref.m.U);
    expect(got.m.V).toEqual(ref.m.V);
    expect(got.m.rowBias).toEqual(ref.m.rowBias);
    expect(got.m.colBias).toEqual(ref.m.colBias);
    expect(got.loss.sse).toBe(ref.loss.sse);
  });
});

describe.each(backends.map((b) => [b.name, b] as const))('small ranks solve the contract\'s normal equations on %s', (_n, b) => {
  it.each(smallRankCases().filter((_, i) => i % 3 === 0))('$name', async (fx) => {
    const p = fx.problem;
    const m = freshModel(p, fx.k, fx.opts.useBias);
    const V0 = m.V.slice();
    const cb0 = m.colBias.slice();
    expect(await b.alsSweep(p, m, options(fx.opts))).toBe('ok');
    // Row r's solution from its normal equations built directly, against the V the row pass saw.
    const k = fx.k;
    const d = fx.opts.useBias ? k + 1 : k;
    let worst = 0;
    for (let r = 0; r < p.nRows; r++) {
      const n = p.rowPtr[r + 1] - p.rowPtr[r];
      if (n === 0) continue;
      const A = new Float64Array(d * d);
      const rhs = new Float64Array(d);
      for (let e = p.rowPtr[r]; e < p.rowPtr[r + 1]; e++) {
        const c = p.colIdx[e];
        const w = p.weight ? p.weight[e] : 1;
        const a = Array.from({ length: d }, (_, f) => (f < k ? V0[c * k + f] : 1));
        const t = p.value[e] - m.mu - cb0[c];
        for (let i = 0; i < d; i++) {
          rhs[i] += w * t * a[i];
          for (let j = 0; j < d; j++) A[i * d + j] += w * a[i] * a[j];
        }
      }
      const scale = fx.opts.weightedLambda ? n : 1;
      for (let f = 0; f < k; f++) A[f * d + f] += fx.opts.lambda * scale;
      if (fx.opts.useBias) A[k * d + k] += fx.opts.lambdaBias * scale;
      expect(choleskyInPlace(A, d)).toBe(true);
      choleskySolveInPlace(A, d, rhs);
      const x = rhs;
      for (let f = 0; f < k; f++) worst = Math.max(worst, Math.abs(x[f] - m.U[r * k + f]));
      if (fx.opts.useBias) worst = Math.max(worst, Math.abs(x[k] - m.rowBias[r]));
    }
    expect(worst).toBeLessThanOrEqual(1e-10);
  });
});
