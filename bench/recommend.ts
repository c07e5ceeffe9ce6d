// recommendMany, native vs TypeScript (issue 10): random factors of a MovieLens-20M-sized model
// (138,493 x 26,744, k = 64 by default) with ~144 random known columns per row (20M / 138k, what
// the default exclusion skips), timed on the same rows both ways after checking they agree.
//
//   npm run bench:recommend -- [--rows 10000] [--n 10] [--threads 2] [--k 64] [--nRows 138493] [--nCols 26744]
//                              [--crossover]   (batches of 1..64 rows, to place RECOMMEND_NATIVE_MIN_ROWS)
//                              [--native-only] (skip the TS run; compare COLLABPERF_ISA=generic|avx2|avx512)
import { performance } from 'node:perf_hooks';
import { getBackend } from '../src/backends/registry.js';
import { FactorModel } from '../src/factorization/model.js';
import { resolveFitOptions } from '../src/factorization/options.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

const nRows = arg('nRows', 138_493);
const nCols = arg('nCols', 26_744);
const k = arg('k', 64);
const rows = arg('rows', 10_000);
const n = arg('n', 10);
const threads = arg('threads', 2);
const crossover = process.argv.includes('--crossover');
const nativeOnly = process.argv.includes('--native-only');

let s = 12345;
const rnd = (): number => {
  s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
  return s / 4294967296;
};
const fill = (len: number, scale: number): Float64Array => {
  const a = new Float64Array(len);
  for (let i = 0; i < len; i++) a[i] = (rnd() - 0.5) * scale;
  return a;
};
const U = fill(nRows * k, 0.5);
const V = fill(nCols * k, 0.5);
const rb = fill(nRows, 0.2);
const cb = fill(nCols, 0.2);
const ptr = new Int32Array(nRows + 1);
const perRow = 144;
const cols = new Int32Array(nRows * perRow);
for (let r = 0; r < nRows; r++) {
  const set = new Set<number>();
  while (set.size < Math.min(perRow, nCols)) set.add(Math.floor(rnd() * nCols));
  cols.set(Int32Array.from([...set].sort((a, b) => a - b)), r * perRow);
  ptr[r + 1] = (r + 1) * perRow;
}
const make = (backend: string) =>
  new FactorModel(nRows, nCols, k, 3.5, U, V, rb, cb, { options: resolveFitOptions({ threads }), backend, iterations: 0, trainRmse: 0 }, { known: { ptr, cols } });
const nat = make('native');
const ts = make('ts');
const native = getBackend('native');
if (typeof native.recommendMany !== 'function') throw new Error('the addon has no recommendMany: rebuild it (npm run build:native)');

const pick = (count: number): number[] => Array.from({ length: count }, () => Math.floor(rnd() * nRows));
const time = (f: () => unknown, reps = 1): number => {
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) f();
  return (performance.now() - t0) / reps;
};

console.log(`model ${nRows} x ${nCols} x k=${k}, ${perRow} known columns per row, threads ${threads}, n ${n}`);
if (crossover) {
  for (const b of [1, 2, 4, 8, 16, 64]) {
    const batch = pick(b);
    // Direct backend call: the model would route even 1 row natively at this size.
    const dense = Int32Array.from(batch);
    const tNat = time(() => native.recommendMany!(nat, dense, n, { threads, excludePtr: ptr, excludeIdx: cols }), 5);
    const tTs = time(() => ts.recommendMany(batch, n), 5);
    console.log(`rows ${b}: native ${tNat.toFixed(2)} ms, ts ${tTs.toFixed(2)} ms (work ${(b * nCols * k).toExponential(2)})`);
  }
} else {
  const batch = pick(rows);
  nat.recommendMany(batch.slice(0, 50), n); // load the addon, start the pool
  let a: ReturnType<typeof nat.recommendMany> = [];
  let b: typeof a = [];
  const tNat = time(() => (a = nat.recommendMany(batch, n)));
  if (nativeOnly) {
    console.log(`recommendMany ${rows} rows: native ${(tNat / 1000).toFixed(2)} s`);
    process.exit(0);
  }
  const tTs = time(() => (b = ts.recommendMany(batch, n)));
  let bad = 0;
  for (let q = 0; q < a.length; q++) for (let i = 0; i < n; i++) if (a[q][i].col !== b[q][i].col || !Object.is(a[q][i].score, b[q][i].score)) bad++;
  console.log(`recommendMany ${rows} rows: native ${(tNat / 1000).toFixed(2)} s, ts ${(tTs / 1000).toFixed(2)} s, x${(tTs / tNat).toFixed(1)}; mismatches ${bad}`);
  if (bad) process.exitCode = 1;
}
