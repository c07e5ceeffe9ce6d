/**
 * Quick timing of the TypeScript kernels: one ALS sweep, one SGD epoch and one loss at k = 32 on a
 * synthetic 20,000 x 5,000 problem with ~1M ratings. Run: npx tsx bench/ts-kernels-quick.ts [k]
 */
import { tsBackend } from '../src/backends/ts/index.js';
import { Rng } from '../src/numeric/rng.js';
import type { KernelModel, KernelOptions, KernelProblem } from '../src/backends/types.js';

const nRows = 20_000;
const nCols = 5_000;
const target = 1_000_000;
const k = Number(process.argv[2] ?? 32);

function build(): KernelProblem {
  const rng = new Rng(1, 7);
  const perRow = target / nRows;
  // Rows of varying length with distinct sorted columns, like rating data.
  const counts = new Int32Array(nRows);
  for (let r = 0; r < nRows; r++) counts[r] = Math.max(1, Math.round(perRow * (0.2 + 1.6 * rng.nextDouble())));
  const rowPtr = new Int32Array(nRows + 1);
  for (let r = 0; r < nRows; r++) rowPtr[r + 1] = rowPtr[r] + counts[r];
  const nnz = rowPtr[nRows];
  const rowIdx = new Int32Array(nnz);
  const colIdx = new Int32Array(nnz);
  const value = new Float64Array(nnz);
  const mark = new Uint8Array(nCols);
  for (let r = 0; r < nRows; r++) {
    const cols: number[] = [];
    while (cols.length < counts[r]) {
      const c = rng.nextInt(nCols);
      if (!mark[c]) {
        mark[c] = 1;
        cols.push(c);
      }
    }
    cols.sort((a, b) => a - b);
    for (let i = 0; i < cols.length; i++) {
      const e = rowPtr[r] + i;
      mark[cols[i]] = 0;
      rowIdx[e] = r;
      colIdx[e] = cols[i];
      value[e] = 1 + 4 * rng.nextDouble();
    }
  }
  const colPtr = new Int32Array(nCols + 1);
  for (let e = 0; e < nnz; e++) colPtr[colIdx[e] + 1]++;
  for (let c = 0; c < nCols; c++) colPtr[c + 1] += colPtr[c];
  const fill = colPtr.slice(0, nCols);
  const cscRow = new Int32Array(nnz);
  const cscValue = new Float64Array(nnz);
  for (let e = 0; e < nnz; e++) {
    const q = fill[colIdx[e]]++;
    cscRow[q] = rowIdx[e];
    cscValue[q] = value[e];
  }
  return { nRows, nCols, nnz, rowPtr, rowIdx, colIdx, value, weight: null, colPtr, cscRow, cscValue, cscWeight: null };
}

const p = build();
const rng = new Rng(2, 0);
const s = 0.2 / Math.sqrt(k);
const model: KernelModel = {
  k,
  mu: 3,
  U: Float64Array.from({ length: nRows * k }, () => (rng.nextDouble() - 0.5) * s),
  V: Float64Array.from({ length: nCols * k }, () => (rng.nextDouble() - 0.5) * s),
  rowBias: new Float64Array(nRows),
  colBias: new Float64Array(nCols),
};
const options: KernelOptions = {
  useBias: true, lambda: 0.05, lambdaBias: 0.05, weightedLambda: false, threads: 1,
  learningRate: 0.005, lrDecay: 0, seed: 1, sgdMode: 'deterministic', cancel: null,
};
let maxGap = 0;
let last = performance.now();
const timer = setInterval(() => {
  const now = performance.now();
  maxGap = Math.max(maxGap, now - last);
  last = now;
}, 1);
async function time(name: string, f: () => Promise<unknown>): Promise<void> {
  maxGap = 0;
  last = performance.now();
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  await f();
  const cpu = process.cpuUsage(c0);
  const wall = (performance.now() - t0) / 1000;
  const cpuS = (cpu.user + cpu.system) / 1e6;
  console.log(`${name}: ${wall.toFixed(3)} s wall, ${cpuS.toFixed(3)} s CPU (longest event-loop gap ${maxGap.toFixed(1)} ms)`);
}
console.log(`${nRows} x ${nCols}, nnz = ${p.nnz}, k = ${k}`);
for (let rep = 0; rep < Number(process.env.REPS ?? 2); rep++) {
  await time('ALS sweep', () => tsBackend.alsSweep(p, model, options));
  await time('SGD epoch', () => tsBackend.sgdEpoch(p, model, options, rep));
  await time('train loss', () => tsBackend.trainLoss(p, model, options));
}
clearInterval(timer);
