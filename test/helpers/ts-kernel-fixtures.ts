/**
 * Fixtures for the TypeScript kernel tests: building CSR/CSC problems from triplets, models,
 * options, planted low-rank data, and plain reference computations written independently of the
 * kernels (number[][] and Gaussian elimination rather than typed arrays and Cholesky).
 */
import type { KernelModel, KernelOptions, KernelProblem } from '../../src/backends/types.js';
import { Rng } from '../../src/numeric/rng.js';

export interface Triplet {
  r: number;
  c: number;
  y: number;
  w?: number;
}

/** CSR (sorted by row, then column) and CSC (by column, then row) from unsorted triplets. */
export function buildProblem(nRows: number, nCols: number, entries: Triplet[], weighted = false): KernelProblem {
  const csr = [...entries].sort((a, b) => a.r - b.r || a.c - b.c);
  const csc = [...entries].sort((a, b) => a.c - b.c || a.r - b.r);
  const nnz = entries.length;
  const rowPtr = new Int32Array(nRows + 1);
  const colPtr = new Int32Array(nCols + 1);
  for (const e of entries) {
    rowPtr[e.r + 1]++;
    colPtr[e.c + 1]++;
  }
  for (let i = 0; i < nRows; i++) rowPtr[i + 1] += rowPtr[i];
  for (let i = 0; i < nCols; i++) colPtr[i + 1] += colPtr[i];
  return {
    nRows,
    nCols,
    nnz,
    rowPtr,
    rowIdx: Int32Array.from(csr, (e) => e.r),
    colIdx: Int32Array.from(csr, (e) => e.c),
    value: Float64Array.from(csr, (e) => e.y),
    weight: weighted ? Float64Array.from(csr, (e) => e.w ?? 1) : null,
    colPtr,
    cscRow: Int32Array.from(csc, (e) => e.r),
    cscValue: Float64Array.from(csc, (e) => e.y),
    cscWeight: weighted ? Float64Array.from(csc, (e) => e.w ?? 1) : null,
  };
}

/** A model initialised as docs/kernels.md says the driver does. */
export function initModel(nRows: number, nCols: number, k: number, seed: number, mu = 0, initScale = 0.1): KernelModel {
  const rng = new Rng(seed, 0);
  const U = new Float64Array(nRows * k);
  const V = new Float64Array(nCols * k);
  const s = (2 * initScale) / Math.sqrt(k);
  for (let i = 0; i < U.length; i++) U[i] = (rng.nextDouble() - 0.5) * s;
  for (let i = 0; i < V.length; i++) V[i] = (rng.nextDouble() - 0.5) * s;
  return { k, mu, U, V, rowBias: new Float64Array(nRows), colBias: new Float64Array(nCols) };
}

export function cloneModel(m: KernelModel): KernelModel {
  return { k: m.k, mu: m.mu, U: m.U.slice(), V: m.V.slice(), rowBias: m.rowBias.slice(), colBias: m.colBias.slice() };
}

export function makeOptions(o: Partial<KernelOptions> = {}): KernelOptions {
  return {
    useBias: false,
    lambda: 0.1,
    lambdaBias: 0.1,
    weightedLambda: false,
    threads: 1,
    learningRate: 0.01,
    lrDecay: 0,
    seed: 1,
    sgdMode: 'deterministic',
    cancel: null,
    ...o,
  };
}

export interface Planted {
  train: Triplet[];
  test: Triplet[];
  truth: (r: number, c: number) => number;
}

/**
 * `y = mu + br + bc + a_r . b_c` with a, b ~ U(-1, 1) of the given rank; each cell lands in `train`
 * with probability `observed`, the rest in `test`. Every row and column gets at least `rank + 1`
 * training entries so that every system is well posed.
 */
export function planted(nRows: number, nCols: number, rank: number, observed: number, seed: number, biases = false, mu = 0): Planted {
  const rng = new Rng(seed, 99);
  const a = Array.from({ length: nRows }, () => Array.from({ length: rank }, () => rng.nextDouble() * 2 - 1));
  const b = Array.from({ length: nCols }, () => Array.from({ length: rank }, () => rng.nextDouble() * 2 - 1));
  const br = Array.from({ length: nRows }, () => (biases ? rng.nextDouble() * 2 - 1 : 0));
  const bc = Array.from({ length: nCols }, () => (biases ? rng.nextDouble() * 2 - 1 : 0));
  const truth = (r: number, c: number): number => {
    let s = mu + br[r] + bc[c];
    for (let f = 0; f < rank; f++) s += a[r][f] * b[c][f];
    return s;
  };
  const train: Triplet[] = [];
  const test: Triplet[] = [];
  for (let r = 0; r < nRows; r++) {
    for (let c = 0; c < nCols; c++) {
      // A band guarantees coverage of every row and column; the rest is random.
      const band = (c - r + nRows * nCols) % nCols <= rank || (r - c + nRows * nCols) % nRows <= rank;
      (band || rng.nextDouble() < observed ? train : test).push({ r, c, y: truth(r, c) });
    }
  }
  return { train, test, truth };
}

/** Prediction exactly as the contract writes it. */
export function predict(m: KernelModel, r: number, c: number): number {
  let dot = 0.0;
  for (let f = 0; f < m.k; f++) dot += m.U[r * m.k + f] * m.V[c * m.k + f];
  return ((m.mu + m.rowBias[r]) + m.colBias[c]) + dot;
}

export function rmse(m: KernelModel, entries: Triplet[]): number {
  let s = 0;
  for (const e of entries) {
    const d = e.y - predict(m, e.r, e.c);
    s += d * d;
  }
  return Math.sqrt(s / entries.length);
}

/** Solves a dense system by Gaussian elimination with partial pivoting (a different method from Cholesky). */
export function gaussSolve(A: number[][], b: number[]): number[] {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]]);
  for (let col = 0; col < n; col++) {
    let piv = col;
    for (let i = col + 1; i < n; i++) if (Math.abs(M[i][col]) > Math.abs(M[piv][col])) piv = i;
    [M[col], M[piv]] = [M[piv], M[col]];
    for (let i = col + 1; i < n; i++) {
      const f = M[i][col] / M[col][col];
      for (let j = col; j <= n; j++) M[i][j] -= f * M[col][j];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let s = M[i][n];
    for (let j = i + 1; j < n; j++) s -= M[i][j] * x[j];
    x[i] = s / M[i][i];
  }
  return x;
}

/**
 * The ALS normal equations of one row (or column, with the arguments swapped), built as full
 * matrices from the formula in the contract, and solved by Gaussian elimination.
 *
 * @param items - (index on the fixed side, y, w) of each entry of the row.
 */
export function directAlsSolve(
  items: { j: number; y: number; w: number }[],
  fixed: Float64Array,
  fixedBias: Float64Array,
  k: number,
  mu: number,
  o: KernelOptions,
): number[] {
  const d = o.useBias ? k + 1 : k;
  const A = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  const b = new Array<number>(d).fill(0);
  for (const { j, y, w } of items) {
    const a = Array.from({ length: k }, (_, f) => fixed[j * k + f]);
    if (o.useBias) a.push(1);
    const t = y - mu - fixedBias[j];
    for (let p = 0; p < d; p++) {
      b[p] += w * t * a[p];
      for (let q = 0; q < d; q++) A[p][q] += w * a[p] * a[q];
    }
  }
  const n = o.weightedLambda ? items.length : 1;
  for (let p = 0; p < k; p++) A[p][p] += o.lambda * n;
  if (o.useBias) A[k][k] += o.lambdaBias * n;
  return gaussSolve(A, b);
}

/**
 * A plain SGD epoch written from the contract (number arithmetic on the same expressions), for
 * bit-exact comparison with the kernel.
 */
export function referenceSgdEpoch(p: KernelProblem, m: KernelModel, o: KernelOptions, epoch: number): void {
  const perm = Array.from({ length: p.nnz }, (_, i) => i);
  const rng = new Rng(o.seed, 1 + epoch);
  for (let i = perm.length - 1; i > 0; i--) {
    const j = Math.floor(rng.nextDouble() * (i + 1));
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  const lr = o.learningRate / (1 + o.lrDecay * epoch);
  const k = m.k;
  for (const e of perm) {
    const r = p.rowIdx[e];
    const c = p.colIdx[e];
    const w = p.weight ? p.weight[e] : 1;
    const err = p.value[e] - predict(m, r, c);
    const g = w * err;
    if (o.useBias) {
      const br = m.rowBias[r];
      const bc = m.colBias[c];
      m.rowBias[r] = br + lr * (g - o.lambdaBias * br);
      m.colBias[c] = bc + lr * (g - o.lambdaBias * bc);
    }
    for (let f = 0; f < k; f++) {
      const uf = m.U[r * k + f];
      const vf = m.V[c * k + f];
      m.U[r * k + f] = uf + lr * (g * vf - o.lambda * uf);
      m.V[c * k + f] = vf + lr * (g * uf - o.lambda * vf);
    }
  }
}

/** Bitwise equality of two Float64Arrays (distinguishes -0 and NaN payloads, unlike toEqual). */
export function sameBits(a: Float64Array, b: Float64Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length * 2);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length * 2);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
