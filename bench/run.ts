/**
 * `npm run bench`: speed, accuracy and memory of the factorization core on deterministic synthetic
 * data ("small" ~1M ratings, "large" the size of MovieLens-20M), native vs TypeScript, at k = 32.
 * Each size and backend runs in its own child process so its peak RSS is its own.
 *
 *   npm run bench                       # small and large, every backend that loads
 *   npm run bench -- --sizes small      # one size
 *   npm run bench -- --json             # machine-readable
 *   npm run bench -- --write-triplets DIR  # also write train/test triplet files per size
 *   npm run bench -- --dtype float32    # ALS and SGD factors stored as float32 (both SGD modes)
 *
 * A float64 run also times native float32 ALS and float32 parallel SGD from the same start, in the
 * same process, and gives their ratios to the float64 figures just measured.
 *
 * Implicit mode (issue 10): implicit ALS on the synthetic implicit generator (tiny, small, or large
 * = 138,493 x 26,744 with ~20M interactions and skewed popularity), at k = 64 on 2 threads:
 * seconds per iteration of CG (3 steps) and of the exact solver, peak RSS, and NDCG@10 / recall@10
 * on held-out interactions beside the most-popular baseline.
 *
 *   npm run bench -- --implicit --sizes small [--rank 64] [--iters 10] [--eval-rows 2000] [--backends native,ts]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { getBackend } from '../src/backends/registry.js';
import type { KernelBackend, KernelModel, KernelOptions, KernelProblem } from '../src/backends/types.js';
import { initFactors } from '../src/factorization/fit.js';
import { FactorModel } from '../src/factorization/model.js';
import { resolveFitOptions, type Dtype } from '../src/factorization/options.js';
import { buildProblem, toEntries } from '../src/factorization/ratings.js';
import { SYNTHETIC_IMPLICIT_SIZES, SYNTHETIC_SIZES, syntheticImplicit, syntheticRatings, type SyntheticEntries, type SyntheticSplit } from '../src/factorization/synthetic.js';
import { evaluateRanking, popularityRanking } from '../src/factorization/ranking.js';
import type { FactorArray, FitJob, ImplicitSolver } from '../src/backends/types.js';
import { writeTriplets } from '../src/factorization/triplets.js';

const RANK = 32;
const THREADS = 2;

interface Figures {
  size: string;
  /** Storage of the ALS factors. */
  dtype: Dtype;
  rows: number;
  cols: number;
  ratings: number;
  generateSeconds: number;
  buildSeconds: number;
  results: BackendFigures[];
  peakRssMb: number;
}

interface BackendFigures {
  backend: string;
  blas: string;
  alsSecondsPerSweep: number;
  /** The same sweep on float32 factors, timed in the same run (native float64 runs). */
  alsFloat32SecondsPerSweep?: number;
  /** Per-sweep seconds inside one whole fit (the core's timing), float64 and float32 (native large float64 runs). */
  alsFitSecondsPerSweep?: number;
  alsFloat32FitSecondsPerSweep?: number;
  alsSweepsTimed: number;
  /** Gram flops (n*d*(d+1) per row and column) over the whole sweep time. */
  alsGramGflops: number;
  alsTestRmse?: number;
  sgdSecondsPerEpoch: number;
  sgdParallelSecondsPerEpoch?: number;
  sgdTestRmse?: number;
  /** Parallel SGD on float32 factors (the float kernels), timed in the same run (native float64 runs). */
  sgdParallelFloat32SecondsPerEpoch?: number;
  sgdParallelFloat32TestRmse?: number;
  /** Peak RSS of the child that ran this backend (generate + build + fit). */
  peakRssMb?: number;
}

function args(): Map<string, string> {
  const m = new Map<string, string>();
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i++) {
    if (!a[i].startsWith('--')) continue;
    const key = a[i].slice(2);
    m.set(key, a[i + 1] !== undefined && !a[i + 1].startsWith('--') ? a[++i] : 'true');
  }
  return m;
}

function freshModel(p: KernelProblem, dtype: Dtype, seed = 42): FactorModel {
  const o = resolveFitOptions({ rank: RANK, dtype });
  const F = dtype === 'float32' ? Float32Array : Float64Array;
  const U = new F(p.nRows * RANK);
  const V = new F(p.nCols * RANK);
  initFactors(U, V, RANK, seed, 0.1);
  let mu = 0;
  for (let i = 0; i < p.nnz; i++) mu += p.value[i];
  mu /= p.nnz;
  return new FactorModel(p.nRows, p.nCols, RANK, mu, U, V, new F(p.nRows), new F(p.nCols), { options: o, backend: '', iterations: 0, trainRmse: NaN });
}

function parallelSgdModel(p: KernelProblem, dtype: Dtype): FactorModel & KernelModel<FactorArray> {
  return freshModel(p, dtype) as FactorModel & KernelModel<FactorArray>;
}

function testRmse(m: FactorModel, t: SyntheticEntries): number {
  return Math.sqrt(m.predictMany(t.rows, t.cols).reduce((s, p, i) => s + (p - t.values[i]) ** 2, 0) / t.rows.length);
}

function gramFlops(p: KernelProblem): number {
  const d = RANK + 1;
  return 2 * p.nnz * d * (d + 1); // each entry appears once in the row pass and once in the column pass
}

async function timeIters(n: number, step: (it: number) => Promise<unknown>): Promise<number> {
  const t = performance.now();
  for (let i = 0; i < n; i++) await step(i);
  return (performance.now() - t) / 1000 / n;
}

/** Mean seconds per ALS sweep as the core times them in one fit of 1 + `sweeps` sweeps (the first left out: warm-up). */
async function sweepSecondsInFit(b: KernelBackend, p: KernelProblem, dtype: Dtype, options: KernelOptions, sweeps: number): Promise<number> {
  const model = freshModel(p, dtype) as FactorModel & KernelModel<FactorArray>;
  const [r] = await b.fitMany([{ problem: p, model, options, algo: 'als', iters: 1 + sweeps, validation: null, earlyStopping: false, patience: 1, minDelta: 0 }]);
  return r.history.slice(1).reduce((a, h) => a + h.seconds, 0) / sweeps;
}

async function benchBackend(b: KernelBackend, p: KernelProblem, test: SyntheticEntries, large: boolean, dtype: Dtype): Promise<BackendFigures> {
  const native = b.name === 'native';
  const als: KernelOptions = { useBias: true, lambda: 0.05, lambdaBias: 0.05, weightedLambda: true, threads: THREADS, learningRate: 0.005, lrDecay: 0.05, seed: 42, sgdMode: 'deterministic', cancel: null };
  const log = (s: string) => process.stderr.write(`  [${b.name}] ${s}\n`);
  // The TypeScript path is timed on fewer iterations where one takes long; accuracy runs are native-only on large.
  const sweeps = native ? 3 : large ? 1 : 2;
  const m0 = freshModel(p, dtype);
  await b.alsSweep(p, m0, als); // warm-up, and the start of the accuracy run
  const alsSec = await timeIters(sweeps, () => b.alsSweep(p, m0, als));
  log(`ALS ${alsSec.toFixed(3)} s/sweep`);
  memoryMark(`${b.name} ALS`);
  // issue 10: float32 explicit ALS against the float64 sweep just timed, from the same start.
  let als32Sec: number | undefined;
  if (native && dtype === 'float64' && b.details().float32Als === true) {
    const m32 = freshModel(p, 'float32');
    await b.alsSweep(p, m32, als);
    als32Sec = await timeIters(sweeps, () => b.alsSweep(p, m32, als));
    log(`ALS float32 ${als32Sec.toFixed(3)} s/sweep (${(als32Sec / alsSec).toFixed(2)} x float64)`);
  }
  // The same comparison inside whole fits (one call per dtype): the core's own per-sweep times,
  // without what each one-iteration call above adds (the model copied in and out, the call queued).
  let alsFitSec: number | undefined;
  let als32FitSec: number | undefined;
  if (native && large && dtype === 'float64' && b.details().float32Als === true) {
    alsFitSec = await sweepSecondsInFit(b, p, 'float64', als, sweeps);
    als32FitSec = await sweepSecondsInFit(b, p, 'float32', als, sweeps);
    log(`ALS in one whole fit: float64 ${alsFitSec.toFixed(3)} s/sweep, float32 ${als32FitSec.toFixed(3)} s/sweep (${(als32FitSec / alsFitSec).toFixed(2)} x float64)`);
  }
  let alsTestRmse: number | undefined;
  if (native || !large) {
    for (let i = 1 + sweeps; i < 10; i++) await b.alsSweep(p, m0, als);
    alsTestRmse = testRmse(m0, test);
    log(`ALS test RMSE after 10 sweeps ${alsTestRmse.toFixed(4)}`);
  }
  let m = freshModel(p, dtype);
  const epochs = native ? 3 : large ? 1 : 2;
  const sgdSec = await timeIters(epochs, (e) => b.sgdEpoch(p, m, als, e));
  log(`SGD deterministic ${sgdSec.toFixed(3)} s/epoch`);
  memoryMark(`${b.name} deterministic SGD`);
  let sgdParallel: number | undefined;
  let sgdTestRmse: number | undefined;
  let sgdPar32: number | undefined;
  let sgdPar32TestRmse: number | undefined;
  if (b.details().parallelSgd) {
    m = parallelSgdModel(p, dtype);
    const par = { ...als, sgdMode: 'parallel' as const };
    sgdParallel = await timeIters(3, (e) => b.sgdEpoch(p, m, par, e));
    log(`SGD parallel ${sgdParallel.toFixed(3)} s/epoch`);
    memoryMark(`${b.name} parallel SGD`);
    for (let e = 3; e < 20; e++) await b.sgdEpoch(p, m, par, e);
    sgdTestRmse = testRmse(m, test);
    log(`SGD test RMSE after 20 parallel epochs ${sgdTestRmse.toFixed(4)}`);
    // float32 parallel SGD (the float kernels) against the float64 epochs just timed, from the same start.
    if (native && dtype === 'float64' && b.details().float32Sgd === true) {
      const m32 = parallelSgdModel(p, 'float32');
      sgdPar32 = await timeIters(3, (e) => b.sgdEpoch(p, m32, par, e));
      log(`SGD parallel float32 ${sgdPar32.toFixed(3)} s/epoch (${(sgdPar32 / sgdParallel).toFixed(2)} x float64)`);
      for (let e = 3; e < 20; e++) await b.sgdEpoch(p, m32, par, e);
      sgdPar32TestRmse = testRmse(m32, test);
      log(`SGD float32 test RMSE after 20 parallel epochs ${sgdPar32TestRmse.toFixed(4)}`);
    }
  } else if (!large) {
    for (let e = epochs; e < 20; e++) await b.sgdEpoch(p, m, als, e);
    sgdTestRmse = testRmse(m, test);
  }
  return {
    backend: b.name,
    blas: b.details().blas,
    alsSecondsPerSweep: alsSec,
    alsFloat32SecondsPerSweep: als32Sec,
    alsFitSecondsPerSweep: alsFitSec,
    alsFloat32FitSecondsPerSweep: als32FitSec,
    alsSweepsTimed: sweeps,
    alsGramGflops: gramFlops(p) / alsSec / 1e9,
    alsTestRmse,
    sgdSecondsPerEpoch: sgdSec,
    sgdParallelSecondsPerEpoch: sgdParallel,
    sgdTestRmse,
    sgdParallelFloat32SecondsPerEpoch: sgdPar32,
    sgdParallelFloat32TestRmse: sgdPar32TestRmse,
  };
}

/**
 * Writes the peak RSS so far, and the current RSS, to stderr. The peak never falls, so the first
 * phase after which it reaches its final value is the one that set it.
 */
function memoryMark(phase: string): void {
  const peak = process.resourceUsage().maxRSS / 1024;
  const now = process.memoryUsage.rss() / 1024 ** 2;
  process.stderr.write(`  memory: peak RSS ${peak.toFixed(0)} MB after ${phase} (now ${now.toFixed(0)} MB)\n`);
}

/**
 * The problem of `data.train`, which it takes out of `data`: the problem holds its own copy, and
 * the 20M-rating input (~310 MB) is garbage once this returns. Building in a frame of its own
 * matters: built inline, a temporary of the caller's frame still reached the input when gc() ran,
 * and the fits allocate too little on the JS heap for another collection, so it stayed through
 * every fit and added to the peak of deterministic SGD (which packs a copy of the entries).
 */
function buildTrain(data: SyntheticSplit): KernelProblem {
  const train = data.train;
  (data as { train?: unknown }).train = undefined;
  return buildProblem(toEntries({ ...train, nRows: data.nRows, nCols: data.nCols }));
}

/** One size, in this process (the child). */
async function child(size: 'small' | 'large', backends: string[], dtype: Dtype, tripletDir?: string): Promise<Figures> {
  const spec = SYNTHETIC_SIZES[size];
  process.stderr.write(`${size}: generating ${spec.nRows} x ${spec.nCols}, ~${spec.nnz} ratings\n`);
  let t = performance.now();
  const data = syntheticRatings(spec);
  const generateSeconds = (performance.now() - t) / 1000;
  memoryMark('generate + split');
  if (tripletDir) {
    mkdirSync(tripletDir, { recursive: true });
    writeTriplets(join(tripletDir, `${size}-train.txt`), data.train.rows, data.train.cols, data.train.values);
    writeTriplets(join(tripletDir, `${size}-test.txt`), data.test.rows, data.test.cols, data.test.values);
  }
  (globalThis as { gc?: () => void }).gc?.(); // the generator's scratch arrays, before the peak of the build
  t = performance.now();
  const p = buildTrain(data);
  const buildSeconds = (performance.now() - t) / 1000;
  memoryMark('buildProblem');
  (globalThis as { gc?: () => void }).gc?.(); // return the train entries before fitting
  // The collector frees array buffers on a background thread: let it finish, so the mark is true.
  await new Promise((r) => setTimeout(r, 200));
  memoryMark('train entries released');
  const results: BackendFigures[] = [];
  for (const name of backends) {
    let b: KernelBackend;
    try {
      b = getBackend(name as 'native' | 'ts');
    } catch (e) {
      process.stderr.write(`  [${name}] unavailable: ${(e as Error).message}\n`);
      continue;
    }
    results.push(await benchBackend(b, p, data.test, size === 'large', dtype));
  }
  return { size, dtype, rows: p.nRows, cols: p.nCols, ratings: p.nnz, generateSeconds, buildSeconds, results, peakRssMb: process.resourceUsage().maxRSS / 1024 };
}

function table(all: Figures[]): string {
  const f = (x: number | undefined, d = 3) => (x === undefined ? '—' : x.toFixed(d));
  const lines = [
    `collabperf bench, k = ${RANK}, ${THREADS} threads, factors ${all[0]?.dtype ?? "float64"} (ALS and SGD), double arithmetic except native float32 ALS (float Gram sums) and parallel SGD (float lanes)`,
    '',
    '| size | backend | ALS s/sweep | Gram GFLOP/s | ALS test RMSE | SGD s/epoch (det.) | SGD s/epoch (parallel) | SGD test RMSE | peak RSS (MB, whole run) |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const s of all) {
    for (const r of s.results) {
      lines.push(
        `| ${s.size} (${s.rows}x${s.cols}, ${s.ratings} ratings) | ${r.backend} | ${f(r.alsSecondsPerSweep)} | ${f(r.alsGramGflops, 1)} | ${f(r.alsTestRmse, 4)} | ${f(r.sgdSecondsPerEpoch)} | ${f(r.sgdParallelSecondsPerEpoch)} | ${f(r.sgdTestRmse, 4)} | ${(r.peakRssMb ?? s.peakRssMb).toFixed(0)} |`,
      );
    }
  }
  lines.push('', 'Ratios:');
  for (const s of all) {
    const n = s.results.find((r) => r.backend === 'native');
    const t = s.results.find((r) => r.backend === 'ts');
    if (n && t) lines.push(`- ${s.size}: TypeScript / native: ALS ${(t.alsSecondsPerSweep / n.alsSecondsPerSweep).toFixed(1)}x, SGD (deterministic) ${(t.sgdSecondsPerEpoch / n.sgdSecondsPerEpoch).toFixed(1)}x`);
    if (n && s.size === 'large') {
      lines.push(`- large, native ALS: ${n.alsSecondsPerSweep.toFixed(3)} s/sweep = ${(n.alsSecondsPerSweep / 1.0).toFixed(2)} x the 1.0 s target, ${(n.alsSecondsPerSweep / 1.35).toFixed(2)} x the plain gather+syrk+posv loop (1.35 s)`);
      if (n.alsFloat32SecondsPerSweep !== undefined) lines.push(`- large, native ALS on float32 factors: ${n.alsFloat32SecondsPerSweep.toFixed(3)} s/sweep = ${(n.alsFloat32SecondsPerSweep / n.alsSecondsPerSweep).toFixed(2)} x the float64 sweep, one call per sweep (target <= 0.6)`);
      if (n.alsFitSecondsPerSweep !== undefined && n.alsFloat32FitSecondsPerSweep !== undefined) {
        lines.push(`- large, native ALS inside one whole fit: float64 ${n.alsFitSecondsPerSweep.toFixed(3)} s/sweep, float32 ${n.alsFloat32FitSecondsPerSweep.toFixed(3)} s/sweep = ${(n.alsFloat32FitSecondsPerSweep / n.alsFitSecondsPerSweep).toFixed(2)} x (target <= 0.6; without the per-call costs)`);
      }
      if (n.sgdParallelSecondsPerEpoch !== undefined) lines.push(`- large, native parallel SGD: ${n.sgdParallelSecondsPerEpoch.toFixed(3)} s/epoch = ${(n.sgdParallelSecondsPerEpoch / 0.26).toFixed(2)} x the 0.26 s target (LIBMF here)`);
      lines.push(`- large, native run peak RSS ${n.peakRssMb!.toFixed(0)} MB (generate + build + every kernel) = ${(n.peakRssMb! / 1200).toFixed(2)} x the 1.2 GB target`);
    }
    if (n?.sgdParallelFloat32SecondsPerEpoch !== undefined && n.sgdParallelSecondsPerEpoch !== undefined) {
      lines.push(
        `- ${s.size}, native parallel SGD on float32 factors: ${n.sgdParallelFloat32SecondsPerEpoch.toFixed(3)} s/epoch = ${(n.sgdParallelFloat32SecondsPerEpoch / n.sgdParallelSecondsPerEpoch).toFixed(2)} x the float64 epoch in this run; test RMSE after 20 epochs ${f(n.sgdParallelFloat32TestRmse, 4)} (float64 ${f(n.sgdTestRmse, 4)})`,
      );
    }
    lines.push(`- ${s.size}: generate ${s.generateSeconds.toFixed(1)} s, build CSR/CSC ${s.buildSeconds.toFixed(2)} s`);
  }
  return lines.join('\n');
}

interface ImplicitFigures {
  size: string;
  rows: number;
  cols: number;
  interactions: number;
  heldOut: number;
  rank: number;
  /** The backend asked for, and the one that ran (an implicit fit falls back to ts where needed). */
  requested: string;
  backend: string;
  cgSecondsPerIter: number;
  /** CG-3 on float32 factors (dtype 'float32'), the same iterations as the float64 CG. */
  cg32SecondsPerIter: number;
  exactSecondsPerIter: number;
  exactItersTimed: number;
  iters: number;
  evalRows: number;
  ndcg: number;
  recall: number;
  popularityNdcg: number;
  popularityRecall: number;
  generateSeconds: number;
  buildSeconds: number;
  peakRssMb: number;
}

/** One implicit size on one backend, in this process (the child). */
async function implicitChild(size: 'tiny' | 'small' | 'large', requested: string, rank: number, iters: number, evalRows: number): Promise<ImplicitFigures> {
  const spec = SYNTHETIC_IMPLICIT_SIZES[size];
  process.stderr.write(`implicit ${size}: generating ${spec.nRows} x ${spec.nCols}, ~${spec.nnz} interactions\n`);
  let t = performance.now();
  const data = syntheticImplicit(spec);
  const generateSeconds = (performance.now() - t) / 1000;
  (globalThis as { gc?: () => void }).gc?.();
  t = performance.now();
  const p = buildTrain(data);
  const buildSeconds = (performance.now() - t) / 1000;
  (globalThis as { gc?: () => void }).gc?.();
  let b = getBackend(requested as 'native' | 'ts');
  if (b.details().implicitAls !== true) {
    process.stderr.write(`  [${requested}] cannot run implicit ALS: measuring ts instead\n`);
    b = getBackend('ts');
  }
  const o = resolveFitOptions({ implicit: true, rank, threads: THREADS });
  const run = async (solver: ImplicitSolver, n: number, F: typeof Float64Array | typeof Float32Array = Float64Array): Promise<{ model: FactorModel; seconds: number[] }> => {
    const U64 = new Float64Array(p.nRows * rank);
    const V64 = new Float64Array(p.nCols * rank);
    initFactors(U64, V64, rank, 42, 0.1);
    const U = F === Float64Array ? U64 : Float32Array.from(U64);
    const V = F === Float64Array ? V64 : Float32Array.from(V64);
    const model = new FactorModel(p.nRows, p.nCols, rank, 0, U, V, new F(p.nRows), new F(p.nCols), { options: { ...o, solver }, backend: b.name, iterations: n, trainRmse: NaN }, { known: { ptr: p.rowPtr, cols: p.colIdx } });
    const options: KernelOptions = {
      useBias: false, lambda: o.lambda, lambdaBias: o.lambda, weightedLambda: false, threads: THREADS, learningRate: 0, lrDecay: 0, seed: 42, sgdMode: 'deterministic', cancel: null,
      implicit: { alpha: o.alpha, confidence: o.confidence, epsilon: o.epsilon, solver, cgSteps: 3 },
    };
    const job: FitJob<FactorArray> = { problem: p, model, options, algo: 'ials', iters: n, validation: null, earlyStopping: false, patience: 1, minDelta: 0 };
    const [r] = await b.fitMany([job]);
    return { model, seconds: r.history.map((h) => h.seconds) };
  };
  const log = (x: string) => process.stderr.write(`  [${b.name}] ${x}\n`);
  const cg = await run('cg', iters);
  // The first iteration includes compilation: time from the second on when there is one.
  const mean = (s: number[]): number => {
    const t = s.length > 1 ? s.slice(1) : s;
    return t.reduce((x, y) => x + y, 0) / t.length;
  };
  const cgSec = mean(cg.seconds);
  log(`CG-3 ${cgSec.toFixed(3)} s/iteration over ${iters} iterations`);
  const cg32Sec = mean((await run('cg', iters, Float32Array)).seconds);
  (globalThis as { gc?: () => void }).gc?.();
  log(`CG-3 float32 ${cg32Sec.toFixed(3)} s/iteration over ${iters} iterations`);
  const exactIters = size === 'large' ? 2 : 3;
  const exact = await run('cholesky', exactIters);
  const exactSec = mean(exact.seconds);
  log(`exact ${exactSec.toFixed(3)} s/iteration`);
  const held = { rows: data.test.rows, cols: data.test.cols, values: data.test.values };
  const m = evaluateRanking(cg.model, held, { k: 10, maxRows: evalRows });
  const pop = popularityRanking(cg.model, held, { k: 10, maxRows: evalRows });
  log(`NDCG@10 ${m.ndcg.toFixed(4)} (popularity ${pop.ndcg.toFixed(4)}), recall@10 ${m.recall.toFixed(4)} (popularity ${pop.recall.toFixed(4)}) over ${m.rows} rows`);
  return {
    size, rows: p.nRows, cols: p.nCols, interactions: p.nnz, heldOut: data.test.rows.length, rank, requested, backend: b.name,
    cgSecondsPerIter: cgSec, cg32SecondsPerIter: cg32Sec, exactSecondsPerIter: exactSec, exactItersTimed: exactIters, iters, evalRows: m.rows,
    ndcg: m.ndcg, recall: m.recall, popularityNdcg: pop.ndcg, popularityRecall: pop.recall, generateSeconds, buildSeconds,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
}

function implicitTable(all: ImplicitFigures[]): string {
  const lines = [
    `collabperf bench --implicit, ${THREADS} threads, CG 3 steps; double precision except the float32 CG column (float32 factors; float arithmetic on native)`,
    '',
    '| size | backend | k | CG-3 s/iter | float32 CG-3 s/iter | exact s/iter | NDCG@10 | popularity NDCG@10 | recall@10 | popularity recall@10 | peak RSS (MB) |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const f of all) {
    const ran = f.backend === f.requested ? f.backend : `${f.backend} (${f.requested} cannot run implicit ALS)`;
    lines.push(
      `| ${f.size} (${f.rows}x${f.cols}, ${f.interactions} interactions) | ${ran} | ${f.rank} | ${f.cgSecondsPerIter.toFixed(3)} | ${f.cg32SecondsPerIter.toFixed(3)} | ${f.exactSecondsPerIter.toFixed(3)} | ` +
        `${f.ndcg.toFixed(4)} | ${f.popularityNdcg.toFixed(4)} | ${f.recall.toFixed(4)} | ${f.popularityRecall.toFixed(4)} | ${f.peakRssMb.toFixed(0)} |`,
    );
  }
  lines.push('', 'Against the targets (CG <= 1.0 s/iter at large, peak RSS <= 1200 MB, NDCG@10 >= 2x popularity):');
  for (const f of all) {
    lines.push(
      `- ${f.size}, ${f.backend}: CG ${f.cgSecondsPerIter.toFixed(3)} s/iter = ${(f.cgSecondsPerIter / 1.0).toFixed(2)} x 1.0 s, float32 CG ${f.cg32SecondsPerIter.toFixed(3)} s/iter = ${(f.cg32SecondsPerIter / 1.0).toFixed(2)} x 1.0 s (${(f.cg32SecondsPerIter / f.cgSecondsPerIter).toFixed(2)} x the float64 CG in this run); peak RSS ${(f.peakRssMb / 1200).toFixed(2)} x 1.2 GB; ` +
        `NDCG@10 ${(f.ndcg / f.popularityNdcg).toFixed(2)} x popularity (${f.evalRows} rows evaluated, ${f.iters} CG iterations); generate ${f.generateSeconds.toFixed(1)} s, build ${f.buildSeconds.toFixed(2)} s`,
    );
  }
  return lines.join('\n');
}

async function mainImplicit(a: Map<string, string>): Promise<void> {
  const rank = Number(a.get('rank') ?? 64);
  const iters = Number(a.get('iters') ?? 10);
  const evalRows = Number(a.get('eval-rows') ?? 2000);
  const backends = (a.get('backends') ?? 'native,ts').split(',');
  if (a.has('child-implicit')) {
    const fig = await implicitChild(a.get('child-implicit') as 'tiny' | 'small' | 'large', backends[0], rank, iters, evalRows);
    process.stdout.write(`${JSON.stringify(fig)}\n`);
    return;
  }
  const sizes = (a.get('sizes') ?? 'small,large').split(',');
  const self = fileURLToPath(import.meta.url);
  const all: ImplicitFigures[] = [];
  for (const size of sizes) {
    if (!(size in SYNTHETIC_IMPLICIT_SIZES)) throw new Error(`unknown size ${size} (tiny, small, large)`);
    const ran = new Set<string>();
    for (const backend of backends) {
      if (ran.has(backend)) continue;
      const out = execFileSync(process.execPath, [...process.execArgv, self, '--implicit', '--child-implicit', size, '--backends', backend, '--rank', String(rank), '--iters', String(iters), '--eval-rows', String(evalRows)], {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, COLLABPERF_BENCH_CHILD: '1' },
        maxBuffer: 1 << 24,
      }).toString();
      const fig = JSON.parse(out.trim().split('\n').pop()!) as ImplicitFigures;
      // A fallback measures ts again: keep one row per backend that really ran.
      if (ran.has(fig.backend)) continue;
      ran.add(fig.backend);
      all.push(fig);
    }
  }
  process.stdout.write(a.has('json') ? `${JSON.stringify(all, null, 2)}\n` : `${implicitTable(all)}\n`);
}

async function mainBench(): Promise<void> {
  const a = args();
  if (a.has('implicit')) return mainImplicit(a);
  const backends = (a.get('backends') ?? 'native,ts').split(',');
  const dtype = a.get('dtype') ?? 'float64';
  if (dtype !== 'float64' && dtype !== 'float32') throw new Error(`unknown dtype ${dtype} (float32, float64)`);
  if (a.has('child') || process.env.COLLABPERF_BENCH_CHILD === '1') {
    const fig = await child(a.get('child') as 'small' | 'large', backends, dtype, a.get('write-triplets'));
    process.stdout.write(`${JSON.stringify(fig)}\n`);
    return;
  }
  const sizes = (a.get('sizes') ?? 'small,large').split(',');
  const all: Figures[] = [];
  const self = fileURLToPath(import.meta.url);
  for (const size of sizes) {
    if (size !== 'small' && size !== 'large') throw new Error(`unknown size ${size} (small, large)`);
    let merged: Figures | undefined;
    for (const backend of backends) {
      const extra = a.has('write-triplets') && !merged ? ['--write-triplets', a.get('write-triplets')!] : [];
      const out = execFileSync(process.execPath, [...process.execArgv, self, '--child', size, '--backends', backend, '--dtype', dtype, ...extra], {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, COLLABPERF_BENCH_CHILD: '1' }, // a child never spawns children
        maxBuffer: 1 << 24,
      }).toString();
      const fig = JSON.parse(out.trim().split('\n').pop()!) as Figures;
      for (const r of fig.results) r.peakRssMb = fig.peakRssMb;
      if (!merged) merged = fig;
      else merged.results.push(...fig.results);
    }
    all.push(merged!);
  }
  process.stdout.write(a.has('json') ? `${JSON.stringify(all, null, 2)}\n` : `${table(all)}\n`);
}

await mainBench();
