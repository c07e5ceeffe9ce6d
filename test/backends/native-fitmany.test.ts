/**
 * The native addon's whole-fit batches (`fitMany`) against the TypeScript engine, their
 * independence of the thread count, and buffers detached or moved to a dying worker mid-fit.
 * Runs whenever the addon loads, whatever COLLABPERF_BACKEND says; COLLABPERF_REQUIRE_NATIVE=1
 * turns a missing addon into a failure instead of a skip.
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { getBackend } from '../../src/backends/registry.js';
import type { BatchProgress, FactorArray, FitJob, FitJobResult, KernelBackend, KernelModel, KernelOptions, KernelProblem, KernelValidation } from '../../src/backends/types.js';
import { CollabperfError } from '../../src/errors.js';
import { initFactors, runFit } from '../../src/factorization/fit.js';
import { resolveFitOptions } from '../../src/factorization/options.js';
import { buildProblem, toEntries, type Entries } from '../../src/factorization/ratings.js';
import { Rng } from '../../src/numeric/rng.js';
import { planted } from '../helpers/planted.js';
import { nativeForSuite } from '../helpers/backends.js';

const native = nativeForSuite('native fitMany');
const ts = getBackend('ts');


/** Index of the first element whose bits differ, -1 when the arrays are bit-identical. */
function firstBitDifference(a: Float64Array, b: Float64Array): number {
  if (a.length !== b.length) return 0;
  const x = new BigUint64Array(a.buffer, a.byteOffset, a.length);
  const y = new BigUint64Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return i;
  return -1;
}

function modelBitDifferences(a: KernelModel<FactorArray>, b: KernelModel<FactorArray>): number[] {
  const f = (x: FactorArray, y: FactorArray): number => (x instanceof Float64Array && y instanceof Float64Array ? firstBitDifference(x, y) : 0);
  return [f(a.U, b.U), f(a.V, b.V), f(a.rowBias, b.rowBias), f(a.colBias, b.colBias)];
}

function maxPredictionDifference(a: KernelModel, b: KernelModel, p: KernelProblem): number {
  let worst = 0;
  const k = a.k;
  for (let r = 0; r < p.nRows; r++) {
    for (let c = 0; c < p.nCols; c++) {
      let da = 0.0;
      let db = 0.0;
      for (let f = 0; f < k; f++) {
        da += a.U[r * k + f] * a.V[c * k + f];
        db += b.U[r * k + f] * b.V[c * k + f];
      }
      const pa = a.mu + a.rowBias[r] + a.colBias[c] + da;
      const pb = b.mu + b.rowBias[r] + b.colBias[c] + db;
      worst = Math.max(worst, Math.abs(pa - pb));
    }
  }
  return worst;
}

function toValidation(e: { rows: number[]; cols: number[]; values: number[] }, weighted: boolean): KernelValidation {
  const rng = new Rng(21, 4);
  return {
    rows: Int32Array.from(e.rows),
    cols: Int32Array.from(e.cols),
    values: Float64Array.from(e.values),
    weights: weighted ? Float64Array.from(e.rows, () => 0.5 + rng.nextDouble()) : null,
  };
}

interface JobSpec {
  problem: KernelProblem;
  validation: KernelValidation | null;
  algo: 'als' | 'sgd';
  k: number;
  iters: number;
  seed: number;
  earlyStopping: boolean;
  patience: number;
  minDelta: number;
  options: Partial<KernelOptions>;
}

function kernelOptions(o: Partial<KernelOptions>): KernelOptions {
  return { useBias: true, lambda: 0.05, lambdaBias: 0.05, weightedLambda: false, threads: 1, learningRate: 0.02, lrDecay: 0.05, seed: 1, sgdMode: 'deterministic', cancel: null, ...o };
}

/** A fresh job (own model, initialised like the driver does) from a spec. */
function makeJob(s: JobSpec, threads: number): FitJob {
  const { problem: p, k } = s;
  const U = new Float64Array(p.nRows * k);
  const V = new Float64Array(p.nCols * k);
  initFactors(U, V, k, s.seed, 0.1);
  const useBias = s.options.useBias ?? true;
  let mu = 0;
  if (useBias) {
    for (let i = 0; i < p.nnz; i++) mu += p.value[i];
    mu /= p.nnz;
  }
  return {
    problem: p,
    model: { k, mu, U, V, rowBias: new Float64Array(p.nRows), colBias: new Float64Array(p.nCols) },
    options: kernelOptions({ ...s.options, seed: s.seed, threads }),
    algo: s.algo,
    iters: s.iters,
    validation: s.validation,
    earlyStopping: s.earlyStopping,
    patience: s.patience,
    minDelta: s.minDelta,
  };
}

/**
 * Mixed ALS / SGD jobs on a weighted problem with empty rows and columns, a plain one, and a large
 * one (rank x ratings above the core's small-job threshold, so it runs with a team of its own).
 */
function mixedBatch(): JobSpec[] {
  const a = planted(120, 70, 4, 0.35, 0.2, 5);
  const rng = new Rng(3, 99);
  const weights = a.train.rows.map(() => 0.5 + rng.nextDouble());
  const weighted = buildProblem(toEntries({ ...a.train, weights, nRows: 125, nCols: 73 }));
  const b = planted(50, 90, 2, 0.5, 0.05, 8);
  const plain = buildProblem(toEntries(b.train));
  const c = planted(400, 300, 4, 0.35, 0.1, 9);
  const large = buildProblem(toEntries(c.train));
  const va = toValidation(a.test, true);
  const vb = toValidation(b.test, false);
  const vc = toValidation(c.test, false);
  const base = { earlyStopping: false, patience: 2, minDelta: 0, options: {} };
  return [
    { ...base, problem: weighted, validation: va, algo: 'als', k: 6, iters: 6, seed: 1, options: { weightedLambda: true, lambdaBias: 0.02 } },
    { ...base, problem: weighted, validation: va, algo: 'sgd', k: 6, iters: 8, seed: 2 },
    { ...base, problem: plain, validation: null, algo: 'als', k: 3, iters: 5, seed: 3, options: { useBias: false, lambda: 0.1, lambdaBias: 0 } },
    { ...base, problem: plain, validation: vb, algo: 'sgd', k: 3, iters: 12, seed: 4, earlyStopping: true, options: { useBias: false } },
    // Overfits (rank 20, almost no L2) so that early stopping keeps an earlier iteration.
    { ...base, problem: weighted, validation: va, algo: 'als', k: 20, iters: 20, seed: 5, earlyStopping: true, options: { lambda: 1e-4, lambdaBias: 1e-4 } },
    { ...base, problem: plain, validation: vb, algo: 'sgd', k: 5, iters: 10, seed: 6, earlyStopping: true, minDelta: 1e9 },
    { ...base, problem: large, validation: vc, algo: 'als', k: 8, iters: 3, seed: 7 },
    { ...base, problem: large, validation: vc, algo: 'sgd', k: 8, iters: 3, seed: 8, earlyStopping: true },
  ];
}

describe.runIf(native !== null)('native fitMany', () => {
  const nat = native as KernelBackend;

  it('the batch covers small and large jobs, and early stopping that keeps an earlier iteration', async () => {
    const specs = mixedBatch();
    expect(specs.some((s) => s.problem.nnz * s.k >= 262144)).toBe(true);
    expect(specs.some((s) => s.problem.nnz * s.k < 262144)).toBe(true);
    const results = await nat.fitMany(specs.map((s) => makeJob(s, 2)));
    expect(results.filter((r) => r.bestIter < r.history.length).length).toBeGreaterThanOrEqual(2);
  });

  it('matches the TypeScript fitMany: SGD bit-identical, ALS within 1e-9', async () => {
    const specs = mixedBatch();
    const tsJobs = specs.map((s) => makeJob(s, 1));
    const natJobs = specs.map((s) => makeJob(s, 2));
    const want = await ts.fitMany(tsJobs);
    const got = await nat.fitMany(natJobs);
    expect(got.length).toBe(specs.length);
    for (let i = 0; i < specs.length; i++) {
      const label = `job ${i} (${specs[i].algo}, k=${specs[i].k})`;
      const [g, w] = [got[i], want[i]];
      expect({ label, status: g.status, bestIter: g.bestIter, stoppedEarly: g.stoppedEarly, n: g.history.length }).toEqual({
        label,
        status: w.status,
        bestIter: w.bestIter,
        stoppedEarly: w.stoppedEarly,
        n: w.history.length,
      });
      if (specs[i].algo === 'sgd') {
        expect({ label, diff: modelBitDifferences(natJobs[i].model, tsJobs[i].model) }).toEqual({ label, diff: [-1, -1, -1, -1] });
        for (let t = 0; t < w.history.length; t++) {
          // The same factors give the same validation sums; the training loss may sum in another order.
          expect(Object.is(g.history[t].validRmse, w.history[t].validRmse)).toBe(true);
          expect(Math.abs(g.history[t].trainRmse - w.history[t].trainRmse)).toBeLessThanOrEqual(1e-12 * w.history[t].trainRmse);
        }
      } else {
        expect({ label, worst: maxPredictionDifference(natJobs[i].model, tsJobs[i].model, specs[i].problem) <= 1e-9 }).toEqual({ label, worst: true });
        for (let t = 0; t < w.history.length; t++) {
          expect(Math.abs(g.history[t].trainRmse - w.history[t].trainRmse)).toBeLessThanOrEqual(1e-9);
          if (specs[i].validation) expect(Math.abs(g.history[t].validRmse - w.history[t].validRmse)).toBeLessThanOrEqual(1e-9);
          else expect(g.history[t].validRmse).toBeNaN();
        }
      }
    }
  });

  it('gives the same bits whatever the thread count (1, 2, 4)', async () => {
    const specs = mixedBatch();
    const runs: { jobs: FitJob[]; results: FitJobResult[] }[] = [];
    for (const threads of [1, 2, 4]) {
      const jobs = specs.map((s) => makeJob(s, threads));
      runs.push({ jobs, results: await nat.fitMany(jobs) });
    }
    const [ref, ...others] = runs;
    for (const run of others) {
      for (let i = 0; i < specs.length; i++) {
        expect({ i, diff: modelBitDifferences(run.jobs[i].model, ref.jobs[i].model) }).toEqual({ i, diff: [-1, -1, -1, -1] });
        const strip = (r: FitJobResult) => ({ ...r, history: r.history.map((h) => [h.trainRmse, h.validRmse]) });
        expect(strip(run.results[i])).toEqual(strip(ref.results[i]));
      }
    }
  });

  it('reports live progress for a long batch and ends with every job done', async () => {
    const specs = mixedBatch().map((s) => ({ ...s, iters: s.problem.nnz > 20000 ? 25 : s.iters, earlyStopping: false }));
    const seen: BatchProgress[] = [];
    const results = await nat.fitMany(
      specs.map((s) => makeJob(s, 2)),
      (p) => seen.push({ ...p, itersDone: p.itersDone.slice() }),
    );
    expect(results.every((r, i) => r.history.length === specs[i].iters)).toBe(true);
    for (const p of seen) {
      expect(p.jobs).toBe(specs.length);
      expect(p.itersDone.every((n, i) => n >= 0 && n <= specs[i].iters)).toBe(true);
    }
  });
});

/** Every distinct ArrayBuffer behind the typed arrays of a job (inputs, outputs, cancel flag). */
function buffersOf(job: FitJob<FactorArray>, which: 'inputs' | 'all'): ArrayBuffer[] {
  const p = job.problem;
  const arrays: (ArrayBufferView | null)[] = [p.rowPtr, p.rowIdx, p.colIdx, p.value, p.weight, p.colPtr, p.cscRow, p.cscValue, p.cscWeight];
  if (job.validation) arrays.push(job.validation.rows, job.validation.cols, job.validation.values, job.validation.weights);
  arrays.push(job.options.cancel);
  if (which === 'all') arrays.push(job.model.U, job.model.V, job.model.rowBias, job.model.colBias);
  const out = new Set<ArrayBuffer>();
  for (const a of arrays) if (a && a.buffer instanceof ArrayBuffer && a.buffer.byteLength > 0) out.add(a.buffer);
  return [...out];
}

/** Detaches buffers: every other one by structuredClone with transfer, the rest posted to a worker that then exits. */
async function detach(buffers: ArrayBuffer[]): Promise<void> {
  const toWorker = buffers.filter((_, i) => i % 2 === 1);
  for (const [i, b] of buffers.entries()) if (i % 2 === 0) structuredClone(b, { transfer: [b] });
  const worker = new Worker("require('node:worker_threads').parentPort.once('message', () => process.exit(0));", { eval: true });
  const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
  worker.postMessage(toWorker, toWorker);
  await exited;
  for (const b of buffers) expect(b.byteLength).toBe(0);
}

/**
 * A backend that forwards to the addon and, once the batch is running (its first progress
 * message), detaches the chosen buffers of every job: what a caller could do to the typed arrays
 * behind a fit while the addon works on them.
 */
function detachingBackend(inner: KernelBackend, which: 'inputs' | 'all', detached: { count: number; atIter: number }): KernelBackend {
  return {
    ...inner,
    fitMany: (jobs, onProgress) =>
      new Promise<FitJobResult[]>((resolve, reject) => {
        let started = false;
        inner
          .fitMany(jobs, (p) => {
            onProgress?.(p);
            if (started) return;
            started = true;
            const buffers = [...new Set(jobs.flatMap((j) => buffersOf(j, which)))];
            detached.count = buffers.length;
            detached.atIter = p.itersDone[0];
            detach(buffers).catch(reject);
          })
          .then(resolve, reject);
      }),
  };
}

/**
 * The problem's arrays moved to ordinary (detachable) ArrayBuffers: buildProblem puts them on
 * SharedArrayBuffers, which cannot be detached at all (the addon reads those in place).
 */
function onPlainBuffers(p: KernelProblem): KernelProblem {
  const plain = <T extends Int32Array | Float64Array | Float32Array | null>(a: T): T => (a === null ? a : (a.slice() as T));
  return { ...p, rowPtr: plain(p.rowPtr), rowIdx: plain(p.rowIdx), colIdx: plain(p.colIdx), value: plain(p.value), weight: plain(p.weight), colPtr: plain(p.colPtr), cscRow: plain(p.cscRow), cscValue: plain(p.cscValue), cscWeight: plain(p.cscWeight) };
}

function longFit(shared = false) {
  const c = planted(500, 400, 5, 0.4, 0.1, 12);
  const rng = new Rng(5, 5);
  const weights = c.train.rows.map(() => 0.5 + rng.nextDouble());
  const built = buildProblem(toEntries({ ...c.train, weights }));
  const problem = shared ? built : onPlainBuffers(built);
  const validation: Entries = toEntries({ ...c.test, nRows: 500, nCols: 400 }, 'validation');
  const options = resolveFitOptions({ algo: 'als', rank: 16, iters: 80, threads: 2 });
  return { problem, validation, options };
}

describe.runIf(native !== null)('buffers detached while a native fit runs (public runFit path)', () => {
  const nat = native as KernelBackend;

  it('inputs detached mid-fit: the fit completes with the same result as undisturbed', async () => {
    const { problem, validation, options } = longFit();
    const ref = await runFit(problem, options, nat, validation, { earlyStopping: false });
    const again = longFit();
    const detached = { count: 0, atIter: -1 };
    const got = await runFit(again.problem, again.options, detachingBackend(nat, 'inputs', detached), again.validation, {
      earlyStopping: false,
    });
    expect(detached.count).toBeGreaterThanOrEqual(12);
    expect(detached.atIter).toBeLessThan(options.iters);
    expect(again.problem.value.length).toBe(0);
    expect(modelBitDifferences(got.model, ref.model)).toEqual([-1, -1, -1, -1]);
    expect(got.history.map((h) => h.trainRmse)).toEqual(ref.history.map((h) => h.trainRmse));
    expect(got.history.map((h) => h.validRmse)).toEqual(ref.history.map((h) => h.validRmse));
  });

  it('every input and output buffer detached mid-fit: a clean E_INVALID_ARGUMENT, and the addon keeps working', async () => {
    const { problem, validation, options } = longFit();
    const detached = { count: 0, atIter: -1 };
    let caught: unknown;
    try {
      await runFit(problem, options, detachingBackend(nat, 'all', detached), validation, { earlyStopping: false });
    } catch (e) {
      caught = e;
    }
    expect(detached.count).toBeGreaterThanOrEqual(16);
    expect(detached.atIter).toBeLessThan(options.iters);
    expect(caught).toBeInstanceOf(CollabperfError);
    expect((caught as CollabperfError).code).toBe('E_INVALID_ARGUMENT');
    expect((caught as CollabperfError).message).toMatch(/detached/);
    // The process is intact and the addon still fits correctly.
    const small = mixedBatch()[1];
    const [a, b] = [makeJob(small, 2), makeJob(small, 1)];
    await nat.fitMany([a]);
    await ts.fitMany([b]);
    expect(modelBitDifferences(a.model, b.model)).toEqual([-1, -1, -1, -1]);
  });

  it('a problem built by buildProblem is on shared memory: it cannot be detached, and the fit gives the same result as on copies', async () => {
    const shared = longFit(true);
    expect(shared.problem.colIdx.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(() => structuredClone(shared.problem.colIdx.buffer, { transfer: [shared.problem.colIdx.buffer as unknown as ArrayBuffer] })).toThrow();
    const copied = longFit(false);
    const a = await runFit(shared.problem, shared.options, nat, shared.validation, { earlyStopping: false });
    const b = await runFit(copied.problem, copied.options, nat, copied.validation, { earlyStopping: false });
    expect(modelBitDifferences(a.model, b.model)).toEqual([-1, -1, -1, -1]);
  });

  it('shared index arrays overwritten with out-of-range values mid-fit: a clean E_INDEX_OUT_OF_RANGE or a finished fit, never a crash', async () => {
    const { problem, validation, options } = longFit(true);
    let outcome: unknown = 'ok';
    const spoiling: KernelBackend = {
      ...nat,
      fitMany: (jobs, onProgress) => {
        let done = false;
        return nat.fitMany(jobs, (p) => {
          onProgress?.(p);
          if (done) return;
          done = true;
          problem.colIdx.fill(1 << 30);
          problem.cscRow.fill(-5);
        });
      },
    };
    try {
      await runFit(problem, options, spoiling, validation, { earlyStopping: false });
    } catch (e) {
      outcome = e;
    }
    if (outcome !== 'ok') {
      expect(outcome).toBeInstanceOf(CollabperfError);
      expect((outcome as CollabperfError).code).toBe('E_INDEX_OUT_OF_RANGE');
    }
    // The addon still fits correctly afterwards.
    const small = mixedBatch()[1];
    const [x, y] = [makeJob(small, 2), makeJob(small, 1)];
    await nat.fitMany([x]);
    await ts.fitMany([y]);
    expect(modelBitDifferences(x.model, y.model)).toEqual([-1, -1, -1, -1]);
  });

  it('a detached buffer at the call is refused with E_INVALID_ARGUMENT before anything runs', async () => {
    const spec = mixedBatch()[2];
    for (const field of ['value', 'U'] as const) {
      const job = makeJob({ ...spec, problem: { ...spec.problem, value: spec.problem.value.slice() } }, 1);
      const arr = field === 'value' ? job.problem.value : job.model.U;
      structuredClone(arr.buffer, { transfer: [arr.buffer] });
      await expect((async () => nat.fitMany([job]))()).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT', message: expect.stringMatching(/detached/) });
    }
  });
});
