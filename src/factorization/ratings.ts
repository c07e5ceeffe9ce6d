import { CollabperfError } from '../errors.js';
import type { KernelProblem } from '../backends/types.js';

/** Index arrays accepted as input; plain arrays are copied once into Int32Array. */
export type IndexArray = Int32Array | Uint32Array | number[];
/** Value arrays accepted as input; plain arrays are copied once into Float64Array. */
export type ValueArray = Float64Array | Float32Array | number[];

/** Sparse observed entries: parallel arrays of row index, column index, value and optional weight. */
export interface SparseRatings {
  rows: IndexArray;
  cols: IndexArray;
  values: ValueArray;
  /** Positive per-entry weights (default 1). */
  weights?: ValueArray;
  /** Matrix height; default max row index + 1. */
  nRows?: number;
  /** Matrix width; default max column index + 1. */
  nCols?: number;
}

/** A dense row-major matrix with NaN for missing cells. */
export interface DenseRatings {
  dense: Float64Array;
  nRows: number;
  nCols: number;
}

export type RatingsInput = SparseRatings | DenseRatings;

/** Largest dimension or count accepted: indices and offsets are 32-bit. */
const MAX_INDEX = 2 ** 31 - 1;

function isDense(input: RatingsInput): input is DenseRatings {
  return (input as DenseRatings).dense !== undefined;
}

function checkDim(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_INDEX) {
    throw new CollabperfError('E_INVALID_ARGUMENT', `${name} must be an integer between 1 and ${MAX_INDEX}, got ${String(v)}`);
  }
  return v;
}

function toInt32(name: string, a: IndexArray): Int32Array {
  if (a instanceof Int32Array) return a;
  if (!(a instanceof Uint32Array) && !Array.isArray(a)) {
    throw new CollabperfError('E_INVALID_ARGUMENT', `${name} must be an Int32Array, Uint32Array or array of integers`);
  }
  const out = new Int32Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_INDEX) {
      throw new CollabperfError('E_INDEX_OUT_OF_RANGE', `${name}[${i}] = ${String(v)} is not a non-negative 32-bit integer index`);
    }
    out[i] = v;
  }
  return out;
}

function toFloat64(name: string, a: ValueArray): Float64Array {
  if (a instanceof Float64Array) return a;
  if (!(a instanceof Float32Array) && !Array.isArray(a)) {
    throw new CollabperfError('E_INVALID_ARGUMENT', `${name} must be a Float64Array, Float32Array or array of numbers`);
  }
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (typeof v !== 'number') throw new CollabperfError('E_INVALID_ARGUMENT', `${name}[${i}] is not a number`);
    out[i] = v;
  }
  return out;
}

/** Default memory budget of {@link toEntries}: 4 GiB for factors and CSR/CSC structures. */
export const DEFAULT_MAX_BYTES = 4 * 1024 ** 3;
/** Rank assumed by the memory estimate when the caller does not give one (the fit default). */
const DEFAULT_ESTIMATE_RANK = 10;

/** Memory limits checked before any matrix-sized allocation. */
export interface SizeLimits {
  /**
   * Budget in bytes for the estimate of {@link estimateFitBytes} (default {@link DEFAULT_MAX_BYTES},
   * 4 GiB). `Infinity` disables the check.
   */
  maxBytes?: number;
  /** Rank the estimate assumes (default 10). */
  rank?: number;
}

/**
 * Estimated peak bytes of a fit: per row and per column the factors (8k), the bias (8), the
 * CSR/CSC pointer (4) and the counting-sort scratch (8); per entry the typed input (16 or 24 with
 * weights) and the CSR and CSC copies (28 or 44; {@link buildProblem} sorts without nnz-sized
 * scratch). Allocations of the backends beyond these (a k x k system per thread) are small and
 * left out.
 */
export function estimateFitBytes(nRows: number, nCols: number, nnz: number, rank = DEFAULT_ESTIMATE_RANK, weighted = false): number {
  const perKey = 8 * rank + 20;
  const perEntry = weighted ? 68 : 44;
  return (nRows + nCols) * perKey + nnz * perEntry;
}

function formatBytes(b: number): string {
  if (b >= 1024 ** 3) return `${(b / 1024 ** 3).toFixed(1)} GiB`;
  if (b >= 1024 ** 2) return `${(b / 1024 ** 2).toFixed(1)} MiB`;
  return `${Math.round(b / 1024)} KiB`;
}

/**
 * Throws `E_TOO_LARGE` when a matrix of these dimensions would need more than the budget. Called
 * before anything dimension-sized is allocated, so one stray index (`300000000 5 1.0`) is a clean
 * error instead of an out-of-memory kill. `why` names what set the largest dimension.
 */
export function checkMemoryBudget(nRows: number, nCols: number, nnz: number, limits: SizeLimits = {}, weighted = false, why?: string): void {
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_BYTES;
  if (!(typeof maxBytes === 'number' && maxBytes > 0)) {
    throw new CollabperfError('E_INVALID_ARGUMENT', `maxBytes must be a positive number, got ${String(maxBytes)}`, { field: 'maxBytes' });
  }
  const rank = limits.rank ?? DEFAULT_ESTIMATE_RANK;
  const need = estimateFitBytes(nRows, nCols, nnz, rank, weighted);
  if (need <= maxBytes) return;
  throw new CollabperfError(
    'E_TOO_LARGE',
    `${why ? `${why}: ` : ''}a ${nRows} x ${nCols} matrix with ${nnz} entries at rank ${rank} needs about ${formatBytes(need)} (${need} bytes), ` +
      `more than the budget of ${formatBytes(maxBytes)} (maxBytes); remap sparse ids to dense ones (remapIds: true, \`--remap-ids\`) or raise maxBytes`,
  );
}

/** Dense indices for sparse ids, and the way back: `rowIds[dense] = original`. */
export interface IdMap {
  /** Original row ids, ascending; position = dense row index. */
  rowIds: Int32Array;
  /** Original column ids, ascending; position = dense column index. */
  colIds: Int32Array;
}

function sortedUnique(a: Int32Array): Int32Array {
  const s = Int32Array.from(a).sort();
  let n = 0;
  for (let i = 0; i < s.length; i++) if (i === 0 || s[i] !== s[i - 1]) s[n++] = s[i];
  return s.slice(0, n);
}

function lookup(ids: Int32Array, v: number): number {
  let lo = 0;
  let hi = ids.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const x = ids[mid];
    if (x === v) return mid;
    if (x < v) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/**
 * Replaces sparse row and column ids by dense indices 0..n-1 (in ascending id order, so the
 * model's rows keep the ids' order) and returns the map back to the original ids. With `map`, the
 * given mapping is applied instead (a test set read with the training set's ids); an id it does not
 * know is `E_INDEX_OUT_OF_RANGE` naming the entry.
 */
export function remapIds(rows: Int32Array, cols: Int32Array, map?: IdMap, what = 'ratings'): { rows: Int32Array; cols: Int32Array; map: IdMap } {
  const m = map ?? { rowIds: sortedUnique(rows), colIds: sortedUnique(cols) };
  const r = new Int32Array(rows.length);
  const c = new Int32Array(cols.length);
  for (let i = 0; i < rows.length; i++) {
    const a = lookup(m.rowIds, rows[i]);
    if (a < 0) throw new CollabperfError('E_INDEX_OUT_OF_RANGE', `${what}: entry ${i} has row id ${rows[i]}, which the id map does not contain`);
    r[i] = a;
  }
  for (let i = 0; i < cols.length; i++) {
    const b = lookup(m.colIds, cols[i]);
    if (b < 0) throw new CollabperfError('E_INDEX_OUT_OF_RANGE', `${what}: entry ${i} has column id ${cols[i]}, which the id map does not contain`);
    c[i] = b;
  }
  return { rows: r, cols: c, map: m };
}

/** Validated sparse entries in input order (typed arrays, dims known). */
export interface Entries {
  nRows: number;
  nCols: number;
  rows: Int32Array;
  cols: Int32Array;
  /** A Float32Array input is kept as is (its values are exact in double; no float64 copy). */
  values: Float64Array | Float32Array;
  weights: Float64Array | null;
}

/**
 * Checks an input and returns it as typed arrays. Errors name the array and the position:
 * mismatched lengths, indices out of range, NaN/Infinity, non-positive weights, empty input.
 * Duplicate cells are found later, when the entries are sorted ({@link buildProblem}).
 *
 * Before returning (and so before any fit allocates the factors), the matrix size implied by the
 * largest indices is checked against `limits.maxBytes` (default 4 GiB, see
 * {@link estimateFitBytes}): too large is `E_TOO_LARGE` naming the index and the dimension. Data
 * with sparse large ids fits after {@link remapIds} (or `readTriplets(path, { remapIds: true })`).
 */
export function toEntries(input: RatingsInput, what = 'ratings', limits: SizeLimits = {}): Entries {
  if (input === null || typeof input !== 'object') {
    throw new CollabperfError('E_INVALID_ARGUMENT', `${what} must be {rows, cols, values} or {dense, nRows, nCols}`);
  }
  if (isDense(input)) return denseToEntries(input, what, limits);
  const { rows: r, cols: c, values: v } = input;
  if (r === undefined || c === undefined || v === undefined) {
    throw new CollabperfError('E_INVALID_ARGUMENT', `${what} needs rows, cols and values (or dense, nRows, nCols)`);
  }
  const rows = toInt32(`${what}.rows`, r);
  const cols = toInt32(`${what}.cols`, c);
  const values = v instanceof Float32Array ? v : toFloat64(`${what}.values`, v);
  const weights = input.weights === undefined ? null : toFloat64(`${what}.weights`, input.weights);
  const n = rows.length;
  if (cols.length !== n || values.length !== n || (weights && weights.length !== n)) {
    throw new CollabperfError(
      'E_LENGTH_MISMATCH',
      `${what}: rows (${n}), cols (${cols.length}), values (${values.length})${weights ? `, weights (${weights.length})` : ''} must have the same length`,
    );
  }
  if (n === 0) throw new CollabperfError('E_EMPTY', `${what} has no observed entries`);
  let maxR = -1;
  let maxC = -1;
  for (let i = 0; i < n; i++) {
    const ri = rows[i];
    const ci = cols[i];
    if (ri < 0) throw new CollabperfError('E_INDEX_OUT_OF_RANGE', `${what}.rows[${i}] = ${ri} is negative`);
    if (ci < 0) throw new CollabperfError('E_INDEX_OUT_OF_RANGE', `${what}.cols[${i}] = ${ci} is negative`);
    if (ri > maxR) maxR = ri;
    if (ci > maxC) maxC = ci;
    if (!Number.isFinite(values[i])) throw new CollabperfError('E_NON_FINITE', `${what}.values[${i}] is ${values[i]}`);
    if (weights) {
      const w = weights[i];
      if (!Number.isFinite(w) || w <= 0) throw new CollabperfError('E_NON_FINITE', `${what}.weights[${i}] = ${w} must be a positive finite number`);
    }
  }
  const nRows = input.nRows === undefined ? maxR + 1 : checkDim(`${what}.nRows`, input.nRows);
  const nCols = input.nCols === undefined ? maxC + 1 : checkDim(`${what}.nCols`, input.nCols);
  if (maxR >= nRows) throw new CollabperfError('E_INDEX_OUT_OF_RANGE', `${what}: row index ${maxR} is out of range for nRows = ${nRows}`);
  if (maxC >= nCols) throw new CollabperfError('E_INDEX_OUT_OF_RANGE', `${what}: column index ${maxC} is out of range for nCols = ${nCols}`);
  // Name the dimension that dominates, so the message points at the one stray line.
  const why =
    nRows >= nCols
      ? input.nRows === undefined ? `largest row index ${maxR} (rows[${argMax(rows)}]) makes nRows = ${nRows}` : `nRows = ${nRows}`
      : input.nCols === undefined ? `largest column index ${maxC} (cols[${argMax(cols)}]) makes nCols = ${nCols}` : `nCols = ${nCols}`;
  checkMemoryBudget(nRows, nCols, n, limits, weights !== null, `${what}: ${why}`);
  return { nRows, nCols, rows, cols, values, weights };
}

function argMax(a: Int32Array): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}

function denseToEntries(input: DenseRatings, what: string, limits: SizeLimits): Entries {
  const nRows = checkDim(`${what}.nRows`, input.nRows);
  const nCols = checkDim(`${what}.nCols`, input.nCols);
  // The dense array is the caller's; nnz is at most its size, so estimate with that before copying.
  checkMemoryBudget(nRows, nCols, nRows * nCols, limits, false, `${what}: dense nRows = ${nRows}, nCols = ${nCols}`);
  const d = input.dense;
  if (!(d instanceof Float64Array)) throw new CollabperfError('E_INVALID_ARGUMENT', `${what}.dense must be a Float64Array`);
  if (d.length !== nRows * nCols) {
    throw new CollabperfError('E_LENGTH_MISMATCH', `${what}.dense has ${d.length} cells, expected nRows*nCols = ${nRows * nCols}`);
  }
  let n = 0;
  for (let i = 0; i < d.length; i++) {
    const x = d[i];
    if (x === Infinity || x === -Infinity) {
      throw new CollabperfError('E_NON_FINITE', `${what}.dense[${i}] (row ${Math.floor(i / nCols)}, col ${i % nCols}) is ${x}; use NaN for missing`);
    }
    if (x === x) n++;
  }
  if (n === 0) throw new CollabperfError('E_EMPTY', `${what} has no observed entries (every cell is NaN)`);
  const rows = new Int32Array(n);
  const cols = new Int32Array(n);
  const values = new Float64Array(n);
  let j = 0;
  for (let i = 0; i < d.length; i++) {
    const x = d[i];
    if (x !== x) continue;
    rows[j] = Math.floor(i / nCols);
    cols[j] = i % nCols;
    values[j] = x;
    j++;
  }
  return { nRows, nCols, rows, cols, values, weights: null };
}

/**
 * From this many entries a problem's typed arrays live on SharedArrayBuffers: memory that cannot be
 * detached or transferred, which the native backend therefore reads in place instead of copying at
 * every call (a 20M-rating problem is ~0.5 GB, and copying it cost more than an ALS sweep). Below
 * it the copy is cheaper than allocating shared memory: the thousands of tiny problems that inner
 * validation makes on a 72 x 29 table took 0.15 s longer on SharedArrayBuffers.
 */
export const SHARED_PROBLEM_FROM_ENTRIES = 32768;

function problemArrays(nnz: number) {
  const shared = nnz >= SHARED_PROBLEM_FROM_ENTRIES;
  return {
    int32: (n: number): Int32Array => (shared ? new Int32Array(new SharedArrayBuffer(4 * n)) : new Int32Array(n)),
    float64: (n: number): Float64Array => (shared ? new Float64Array(new SharedArrayBuffer(8 * n)) : new Float64Array(n)),
    float32: (n: number): Float32Array => (shared ? new Float32Array(new SharedArrayBuffer(4 * n)) : new Float32Array(n)),
  };
}

/**
 * Builds the CSR and CSC structures every backend reads, with entries sorted by column inside a
 * row and by row inside a column (three stable counting scatters, O(nnz)). A cell given twice is
 * an E_DUPLICATE_ENTRY naming its first two input positions. Besides the input and the result it
 * allocates only per-row and per-column offsets.
 */
export function buildProblem(e: Entries): KernelProblem {
  const { nRows, nCols, rows, cols, values, weights } = e;
  const nnz = rows.length;
  const alloc = problemArrays(nnz);
  // Float32Array ratings stay float32 in CSR and CSC too (half the bytes of the value arrays).
  const f32 = values instanceof Float32Array;
  const colPtr = alloc.int32(nCols + 1);
  const cscRow = alloc.int32(nnz);
  const cscValue = f32 ? alloc.float32(nnz) : alloc.float64(nnz);
  const cscWeight = weights ? alloc.float64(nnz) : null;
  // Two stable scatters of the entries themselves (an LSD radix sort: by column, then by row) give
  // CSR sorted by column; a third, from CSR, gives CSC sorted by row. The CSC arrays hold the
  // by-column pass until the third overwrites them, so no nnz-sized scratch is allocated: on 20M
  // ratings the position orders this replaces were 160 MB on top of the input, CSR and CSC.
  let next = bucketStarts(cols, nCols, colPtr);
  for (let i = 0; i < nnz; i++) {
    const q = next[cols[i]]++;
    cscRow[q] = rows[i];
    cscValue[q] = values[i];
    if (cscWeight) cscWeight[q] = weights![i];
  }
  const rowPtr = alloc.int32(nRows + 1);
  const rowIdx = alloc.int32(nnz);
  const colIdx = alloc.int32(nnz);
  const value = f32 ? alloc.float32(nnz) : alloc.float64(nnz);
  const weight = weights ? alloc.float64(nnz) : null;
  next = bucketStarts(cscRow, nRows, rowPtr);
  for (let c = 0; c < nCols; c++) {
    for (let q = colPtr[c]; q < colPtr[c + 1]; q++) {
      const r = cscRow[q];
      const p = next[r]++;
      rowIdx[p] = r;
      colIdx[p] = c;
      value[p] = cscValue[q];
      if (weight) weight[p] = cscWeight![q];
    }
  }
  for (let r = 0; r < nRows; r++) {
    for (let p = rowPtr[r] + 1; p < rowPtr[r + 1]; p++) {
      if (colIdx[p] === colIdx[p - 1]) throw duplicateError(rows, cols, r, colIdx[p]);
    }
  }
  next = colPtr.slice(0, nCols);
  for (let r = 0; r < nRows; r++) {
    for (let p = rowPtr[r]; p < rowPtr[r + 1]; p++) {
      const q = next[colIdx[p]]++;
      cscRow[q] = r;
      cscValue[q] = value[p];
      if (cscWeight) cscWeight[q] = weight![p];
    }
  }
  return { nRows, nCols, nnz, rowPtr, rowIdx, colIdx, value, weight, colPtr, cscRow, cscValue, cscWeight };
}

/** Fills `ptr` (length nKeys+1) with the bucket offsets of `keys`; returns a copy of the starts to advance. */
function bucketStarts(keys: Int32Array, nKeys: number, ptr: Int32Array): Int32Array {
  ptr.fill(0);
  for (let i = 0; i < keys.length; i++) ptr[keys[i] + 1]++;
  for (let k = 0; k < nKeys; k++) ptr[k + 1] += ptr[k];
  return ptr.slice(0, nKeys);
}

/**
 * The error for a cell given twice, naming its first two input positions. The sorts are stable, so
 * these are the two entries the CSR pass found side by side; finding them again in the input on
 * this error path saves keeping an nnz-sized map from sorted to input positions.
 */
function duplicateError(rows: Int32Array, cols: Int32Array, r: number, c: number): CollabperfError {
  let first = -1;
  let second = -1;
  for (let i = 0; i < rows.length && second < 0; i++) {
    if (rows[i] !== r || cols[i] !== c) continue;
    if (first < 0) first = i;
    else second = i;
  }
  return new CollabperfError('E_DUPLICATE_ENTRY', `cell (row ${r}, col ${c}) is given twice, at entries ${first} and ${second}`);
}

/**
 * Stable counting sort: returns the positions (of `within`, or of 0..n-1) ordered by key.
 * Fills `ptr` (length nKeys+1) with the bucket offsets when given; writes into `reuse` (which must
 * not be `within`) instead of allocating.
 */
export function countingOrder(keys: Int32Array, nKeys: number, within: Int32Array | null, ptr?: Int32Array, reuse?: Int32Array): Int32Array {
  const n = keys.length;
  const start = ptr ?? new Int32Array(nKeys + 1);
  start.fill(0);
  for (let i = 0; i < n; i++) start[keys[i] + 1]++;
  for (let k = 0; k < nKeys; k++) start[k + 1] += start[k];
  const next = start.slice(0, nKeys);
  const out = reuse ?? new Int32Array(n);
  for (let p = 0; p < n; p++) {
    const i = within ? within[p] : p;
    out[next[keys[i]]++] = i;
  }
  return out;
}
