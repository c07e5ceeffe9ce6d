import { CollabperfError } from '../errors.js';
import { Rng } from '../numeric/rng.js';

/** Parameters of {@link syntheticRatings}. */
export interface SyntheticSpec {
  nRows: number;
  nCols: number;
  /** Target number of observed cells (train + test). */
  nnz: number;
  /** Rank of the planted matrix (default 8). */
  rank?: number;
  /** Standard deviation of the added noise (default 0.3). */
  noise?: number;
  /** Share of the cells held out as a test set (default 0.02). */
  testFraction?: number;
  /** Exponent of the power law of row activity and column popularity (default 1.0; 0 = uniform). */
  skew?: number;
  seed?: number;
}

export interface SyntheticEntries {
  rows: Int32Array;
  cols: Int32Array;
  values: Float64Array;
}

/** A generated matrix split into train and test entries. */
export interface SyntheticSplit {
  nRows: number;
  nCols: number;
  train: SyntheticEntries;
  test: SyntheticEntries;
}

/** Train and test cells of a planted low-rank matrix, and what was planted. */
export interface SyntheticRatings extends SyntheticSplit {
  /** Std of the noise: the RMSE floor a perfect model reaches on the test cells. */
  noise: number;
}

/** The two benchmark sizes of the README: about 1M ratings, and the size of MovieLens-20M. */
export const SYNTHETIC_SIZES: Record<'tiny' | 'small' | 'large', SyntheticSpec> = {
  tiny: { nRows: 2_000, nCols: 500, nnz: 50_000 },
  small: { nRows: 20_000, nCols: 5_000, nnz: 1_000_000 },
  large: { nRows: 138_493, nCols: 26_744, nnz: 20_000_263 },
};

function gauss(rng: Rng): number {
  // Box–Muller; the generator only runs in TypeScript, so transcendental functions are fine here.
  const u = 1 - rng.nextDouble();
  const v = rng.nextDouble();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Cumulative power-law weights in a random order (so popular items are spread over the index range). */
function popularity(n: number, skew: number, rng: Rng): Float64Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  rng.shuffle(order);
  const cum = new Float64Array(n);
  let s = 0;
  for (let i = 0; i < n; i++) {
    s += 1 / Math.pow(order[i] + 1, skew) + 1 / n; // the floor keeps every item reachable
    cum[i] = s;
  }
  return cum;
}

function sample(cum: Float64Array, rng: Rng): number {
  const x = rng.nextDouble() * cum[cum.length - 1];
  let lo = 0;
  let hi = cum.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cum[mid] > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * A deterministic synthetic rating matrix: `3.5 + b_row + b_col + <p_row, q_col> + noise` with
 * skewed row activity and column popularity, no cell twice. The same spec and seed give the
 * same cells on every machine.
 */
export function syntheticRatings(spec: SyntheticSpec): SyntheticRatings {
  const { nRows, nCols, nnz } = spec;
  const rank = spec.rank ?? 8;
  const noise = spec.noise ?? 0.3;
  const testFraction = spec.testFraction ?? 0.02;
  const skew = spec.skew ?? 1.0;
  const rng = new Rng(spec.seed ?? 1, 7);
  if (!(nRows >= 1 && nCols >= 1 && nnz >= 1) || nnz > (nRows * nCols) / 2) {
    throw new CollabperfError('E_INVALID_ARGUMENT', `synthetic: need 1 <= nnz <= nRows*nCols/2 (got ${nRows} x ${nCols}, ${nnz})`);
  }
  const P = new Float64Array(nRows * rank);
  const Q = new Float64Array(nCols * rank);
  const s = 1 / Math.sqrt(rank);
  for (let i = 0; i < P.length; i++) P[i] = gauss(rng) * s;
  for (let i = 0; i < Q.length; i++) Q[i] = gauss(rng) * s;
  const bRow = new Float64Array(nRows).map(() => gauss(rng) * 0.4);
  const bCol = new Float64Array(nCols).map(() => gauss(rng) * 0.5);

  // Row counts follow the activity law, each row at least 1 and at most half the columns.
  const rowCum = popularity(nRows, skew, rng);
  const total = rowCum[nRows - 1];
  const counts = new Int32Array(nRows);
  // Clamping to [1, nCols/2] moves the sum away from nnz; rescale until it lands within 0.1%.
  let scale = nnz / total;
  let assigned = 0;
  for (let round = 0; round < 20; round++) {
    assigned = 0;
    for (let r = 0; r < nRows; r++) {
      const w = rowCum[r] - (r ? rowCum[r - 1] : 0);
      counts[r] = Math.max(1, Math.min(nCols >> 1, Math.round(w * scale)));
      assigned += counts[r];
    }
    if (Math.abs(assigned - nnz) <= nnz * 1e-3) break;
    scale *= nnz / assigned;
  }
  const colCum = popularity(nCols, skew, rng);
  const rows = new Int32Array(assigned);
  const cols = new Int32Array(assigned);
  const values = new Float64Array(assigned);
  const stamp = new Int32Array(nCols).fill(-1);
  let e = 0;
  for (let r = 0; r < nRows; r++) {
    for (let j = 0; j < counts[r]; j++) {
      let c = sample(colCum, rng);
      // Popular columns collide often in heavy rows; fall back to a uniform draw after a few tries.
      for (let tries = 0; stamp[c] === r; tries++) c = tries < 8 ? sample(colCum, rng) : rng.nextInt(nCols);
      stamp[c] = r;
      let dot = 0;
      for (let f = 0; f < rank; f++) dot += P[r * rank + f] * Q[c * rank + f];
      rows[e] = r;
      cols[e] = c;
      values[e] = 3.5 + bRow[r] + bCol[c] + dot + gauss(rng) * noise;
      e++;
    }
  }
  // Hold out a random share as test cells.
  const isTest = new Uint8Array(assigned);
  let nTest = 0;
  for (let i = 0; i < assigned; i++) {
    if (rng.nextDouble() < testFraction) {
      isTest[i] = 1;
      nTest++;
    }
  }
  return { nRows, nCols, ...splitEntries(rows, cols, values, isTest, assigned, nTest), noise };
}

/** Parameters of {@link syntheticImplicit}. */
export interface SyntheticImplicitSpec {
  nRows: number;
  nCols: number;
  /** Target number of interactions (train + test). */
  nnz: number;
  /** Rank of the planted tastes (default 8). */
  rank?: number;
  /** Share of each row's interactions held out (default 0.1). */
  testFraction?: number;
  /** Exponent of the power laws of row activity and column popularity (default 1.0). */
  skew?: number;
  /** Candidates considered per interaction; more makes taste matter more than popularity (default 6). */
  candidates?: number;
  seed?: number;
}

/** Train and held-out interactions (values are counts >= 1) with planted tastes and skewed popularity. */
export type SyntheticImplicit = SyntheticSplit;

/** The implicit benchmark size of the README: the shape of MovieLens-20M. */
export const SYNTHETIC_IMPLICIT_SIZES: Record<'tiny' | 'small' | 'large', SyntheticImplicitSpec> = {
  tiny: { nRows: 2_000, nCols: 1_000, nnz: 60_000 },
  small: { nRows: 20_000, nCols: 5_000, nnz: 1_000_000 },
  large: { nRows: 138_493, nCols: 26_744, nnz: 20_000_263 },
};

/**
 * Deterministic implicit feedback: each row draws `candidates` times its activity in distinct
 * columns from the popularity law, keeps the ones its planted taste `<p_row, q_col>` scores
 * highest, and gives each a count `1 + floor(Exp(1) * 2)`. So the most popular columns are a
 * real but beatable baseline, and a model that learns the tastes ranks the held-out columns higher.
 */
export function syntheticImplicit(spec: SyntheticImplicitSpec): SyntheticImplicit {
  const { nRows, nCols, nnz } = spec;
  const rank = spec.rank ?? 8;
  const testFraction = spec.testFraction ?? 0.1;
  const skew = spec.skew ?? 1.0;
  const cand = spec.candidates ?? 6;
  if (!(nRows >= 1 && nCols >= 2 && nnz >= 1) || nnz > (nRows * nCols) / (2 * cand)) {
    throw new CollabperfError('E_INVALID_ARGUMENT', `synthetic implicit: need 1 <= nnz <= nRows*nCols/(2*candidates) (got ${nRows} x ${nCols}, ${nnz})`);
  }
  const rng = new Rng(spec.seed ?? 1, 9);
  const P = new Float64Array(nRows * rank);
  const Q = new Float64Array(nCols * rank);
  for (let i = 0; i < P.length; i++) P[i] = gauss(rng);
  for (let i = 0; i < Q.length; i++) Q[i] = gauss(rng);
  const rowCum = popularity(nRows, skew, rng);
  const colCum = popularity(nCols, skew, rng);
  const total = rowCum[nRows - 1];
  const cap = Math.max(1, Math.floor(nCols / (2 * cand)));
  const counts = new Int32Array(nRows);
  let scale = nnz / total;
  let assigned = 0;
  for (let round = 0; round < 20; round++) {
    assigned = 0;
    for (let r = 0; r < nRows; r++) {
      const w = rowCum[r] - (r ? rowCum[r - 1] : 0);
      counts[r] = Math.max(1, Math.min(cap, Math.round(w * scale)));
      assigned += counts[r];
    }
    if (Math.abs(assigned - nnz) <= nnz * 1e-3) break;
    scale *= nnz / assigned;
  }
  const rows = new Int32Array(assigned);
  const cols = new Int32Array(assigned);
  const values = new Float64Array(assigned);
  const isTest = new Uint8Array(assigned);
  const stamp = new Int32Array(nCols).fill(-1);
  const pool = new Int32Array(cap * cand);
  const score = new Float64Array(cap * cand);
  const order: number[] = [];
  let e = 0;
  let nTest = 0;
  for (let r = 0; r < nRows; r++) {
    const m = counts[r] * cand;
    for (let j = 0; j < m; j++) {
      let c = sample(colCum, rng);
      for (let tries = 0; stamp[c] === r; tries++) c = tries < 8 ? sample(colCum, rng) : rng.nextInt(nCols);
      stamp[c] = r;
      pool[j] = c;
      let dot = 0;
      for (let f = 0; f < rank; f++) dot += P[r * rank + f] * Q[c * rank + f];
      score[j] = dot;
    }
    order.length = m;
    for (let j = 0; j < m; j++) order[j] = j;
    order.sort((a, b) => score[b] - score[a] || pool[a] - pool[b]);
    const kept = order.slice(0, counts[r]).map((j) => pool[j]).sort((a, b) => a - b);
    for (const c of kept) {
      rows[e] = r;
      cols[e] = c;
      values[e] = 1 + Math.floor(-Math.log(1 - rng.nextDouble()) * 2);
      if (rng.nextDouble() < testFraction) {
        isTest[e] = 1;
        nTest++;
      }
      e++;
    }
  }
  return { nRows, nCols, ...splitEntries(rows, cols, values, isTest, assigned, nTest) };
}

/**
 * The first `assigned` entries split by `isTest` (1 = test) into train and test, order kept. Train
 * is a copy sized to fit, not a view of the generated arrays compacted in place: such a view keeps
 * the test share's slots (10% of an implicit set, 32 MB at the large size) for as long as a caller
 * holds the train entries, and the copy's extra peak comes before the larger one of the CSR build.
 */
function splitEntries(rows: Int32Array, cols: Int32Array, values: Float64Array, isTest: Uint8Array, assigned: number, nTest: number): { train: SyntheticEntries; test: SyntheticEntries } {
  const part = (want: number, n: number): SyntheticEntries => {
    const out = { rows: new Int32Array(n), cols: new Int32Array(n), values: new Float64Array(n) };
    let j = 0;
    for (let i = 0; i < assigned; i++) {
      if (isTest[i] !== want) continue;
      out.rows[j] = rows[i];
      out.cols[j] = cols[i];
      out.values[j] = values[i];
      j++;
    }
    return out;
  };
  return { train: part(0, assigned - nTest), test: part(1, nTest) };
}
