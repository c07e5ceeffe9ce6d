import { CollabperfError } from '../errors.js';
import { choleskyInPlace, choleskySolveInPlace } from '../numeric/cholesky.js';
import { getBackend } from '../backends/registry.js';
import type { FactorArray, KernelBackend, KernelModel, RecommendBatchOptions } from '../backends/types.js';
import { confidenceOf } from '../backends/ts/ials.js';
import { IdIndex, type Id, type IdList } from './ids.js';
import type { ResolvedFitOptions } from './options.js';

/** How a model was trained, kept with it and in its saved file. */
export interface TrainingInfo {
  options: ResolvedFitOptions;
  backend: string;
  iterations: number;
  trainRmse: number;
  validRmse?: number;
}

/** The training columns of every row, CSR-style: row r's are `cols[ptr[r] .. ptr[r+1])`, ascending. */
export interface KnownColumns {
  ptr: Int32Array;
  cols: Int32Array;
}

/** What a model may carry beyond its factors: the training column sets and the id maps. */
export interface ModelExtras {
  /** The training columns of each row: what `recommend` excludes by default. */
  known?: KnownColumns | null;
  /** External row ids, position = dense row (strings, or ascending integers after remapping). */
  rowIds?: IdList | null;
  /** External column ids, position = dense column. */
  colIds?: IdList | null;
}

/** One recommended or similar column. */
export interface ScoredColumn<Id> {
  col: Id;
  score: number;
}

/** One similar row. */
export interface ScoredRow<Id> {
  row: Id;
  score: number;
}

/** Options of {@link FactorModel.recommend}. */
export interface RecommendOptions<Id> {
  /**
   * Columns never recommended. Default: the row's training columns (nothing for a model that has
   * no training column sets, such as one loaded from a version-1 file); `[]` excludes nothing.
   */
  exclude?: Iterable<Id>;
}

/** Options of the fold-ins. */
export interface FoldInOptions {
  /** Explicit models: per-value weights (default 1). */
  weights?: ArrayLike<number>;
  /** L2 on the factors (default: the fitted lambda, scaled by the count with weightedLambda). */
  lambda?: number;
  /** Explicit models with biases: L2 on the bias (default: the fitted lambdaBias). */
  lambdaBias?: number;
}

/** A new row (say, a new user or LLM) expressed in the model's latent space, from a few observed values. */
export interface FoldedRow<Id = number> {
  factors: Float64Array;
  bias: number;
  /** Prediction for one column. */
  predict(col: Id): number;
  /** Predictions for every column, by dense column index. */
  predictAll(): Float64Array;
  /** The best n columns for the new row, excluding by default the columns it was folded in from. */
  recommend(n: number, opts?: RecommendOptions<Id>): ScoredColumn<Id>[];
}

/** A new column (a new item or benchmark) expressed in the latent space, from a few rows' values. */
export interface FoldedColumn<Id = number> {
  factors: Float64Array;
  bias: number;
  /** Prediction for one row. */
  predict(row: Id): number;
  /** Predictions for every row, by dense row index. */
  predictAll(): Float64Array;
}

/**
 * From this many rows a native model's recommendMany runs on the addon. The native call's fixed
 * cost (repacking V, O(nCols x k)) is about one TypeScript row, so only a single row stays in TS.
 * Measured 2026-12-02, 2 threads, n = 10, ms native / ts (npm run bench:recommend -- --crossover):
 * 138,493 x 26,744 x 64: 1 row 14.0 / 11.7, 2 rows 9.7 / 14.9, 16 rows 22 / 123; 2,000 x 3,000 x 32:
 * 1 row 0.51 / 1.89, 16 rows 1.07 / 7.18; 2,000 x 400 x 8: 1 row 0.06 / 0.34.
 */
export const RECOMMEND_NATIVE_MIN_ROWS = 2;

/** Keeps the best n of a stream of (index, score), best first, ties by lower index. */
class TopN {
  readonly idx: number[] = [];
  readonly score: number[] = [];
  constructor(private readonly n: number) {}

  /** Offers indices in ascending order (so an equal score never displaces an earlier index). */
  offer(i: number, s: number): void {
    const { idx, score, n } = this;
    if (idx.length === n && !(s > score[n - 1])) return;
    let p = idx.length === n ? n - 1 : idx.length;
    while (p > 0 && s > score[p - 1]) {
      if (p < n) {
        idx[p] = idx[p - 1];
        score[p] = score[p - 1];
      }
      p--;
    }
    idx[p] = i;
    score[p] = s;
  }
}

function checkN(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new CollabperfError('E_INVALID_ARGUMENT', `n must be a positive integer, got ${n}`);
}

function checkOptionsObject(opts: unknown, what: string): void {
  if (opts === undefined) return;
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts) || opts instanceof Set) {
    throw new CollabperfError('E_INVALID_ARGUMENT', `${what}: options must be an object such as { exclude: [...] }`);
  }
}

/**
 * A fitted factorization: `pred(r, c) = mu + rowBias[r] + colBias[c] + <U[r], V[c]>`.
 * Arrays are row-major (nRows*k and nCols*k, by dense index) and may be read directly: Float64Arrays,
 * or Float32Arrays for a model fitted with `dtype: 'float32'` (see {@link dtype}); every method works
 * on both, computing in double.
 *
 * A model fitted on string ids (or with `remapIds`) takes and returns those ids in every method
 * (`model.recommend('user42', 10)` gives `[{ col: 'item7', score }]`); {@link rowIndex} and
 * {@link colIndex} give the dense index of an id for reading the arrays. Without a map, ids are
 * the dense indices.
 */
export class FactorModel<Id extends number | string = number> implements KernelModel<FactorArray> {
  /** The training columns of each row (null when unknown). */
  readonly known: KnownColumns | null;
  /** External row ids (null: ids are dense indices). */
  readonly rowIds: IdList | null;
  /** External column ids (null: ids are dense indices). */
  readonly colIds: IdList | null;
  private readonly rowIndexOf: IdIndex | null;
  private readonly colIndexOf: IdIndex | null;
  private colNorms: Float64Array | null = null;
  private rowNorms: Float64Array | null = null;
  private gramV: Float64Array | null = null;
  private gramU: Float64Array | null = null;

  constructor(
    readonly nRows: number,
    readonly nCols: number,
    readonly k: number,
    readonly mu: number,
    readonly U: FactorArray,
    readonly V: FactorArray,
    readonly rowBias: FactorArray,
    readonly colBias: FactorArray,
    readonly training: TrainingInfo,
    extras: ModelExtras = {},
  ) {
    const f32 = U instanceof Float32Array;
    if ((V instanceof Float32Array) !== f32 || (rowBias instanceof Float32Array) !== f32 || (colBias instanceof Float32Array) !== f32) {
      throw new CollabperfError('E_INVALID_ARGUMENT', 'U, V, rowBias and colBias must all be Float64Arrays or all Float32Arrays');
    }
    this.known = extras.known ?? null;
    this.rowIds = extras.rowIds ?? null;
    this.colIds = extras.colIds ?? null;
    if (this.known && (this.known.ptr.length !== nRows + 1 || this.known.ptr[nRows] !== this.known.cols.length)) {
      throw new CollabperfError('E_LENGTH_MISMATCH', `known columns: ptr must have nRows+1 = ${nRows + 1} offsets ending at cols.length`);
    }
    if (this.rowIds && this.rowIds.length !== nRows) throw new CollabperfError('E_LENGTH_MISMATCH', `rowIds has ${this.rowIds.length} ids for ${nRows} rows`);
    if (this.colIds && this.colIds.length !== nCols) throw new CollabperfError('E_LENGTH_MISMATCH', `colIds has ${this.colIds.length} ids for ${nCols} columns`);
    this.rowIndexOf = this.rowIds ? new IdIndex(this.rowIds) : null;
    this.colIndexOf = this.colIds ? new IdIndex(this.colIds) : null;
  }

  /** Storage of U, V and the biases. */
  get dtype(): 'float32' | 'float64' {
    return this.U instanceof Float32Array ? 'float32' : 'float64';
  }

  /** The dense row index of a row id (the id itself without a map). */
  rowIndex(row: Id): number {
    if (this.rowIndexOf) {
      const i = this.rowIndexOf.indexOf(row);
      if (i < 0) throw new CollabperfError('E_NOT_FOUND', `row id ${JSON.stringify(row)} is not in the model`);
      return i;
    }
    const r = row as number;
    if (!Number.isInteger(r) || r < 0 || r >= this.nRows) {
      throw new CollabperfError('E_INDEX_OUT_OF_RANGE', `row ${String(row)} is out of range (0..${this.nRows - 1})`);
    }
    return r;
  }

  /** The dense column index of a column id (the id itself without a map). */
  colIndex(col: Id): number {
    if (this.colIndexOf) {
      const i = this.colIndexOf.indexOf(col);
      if (i < 0) throw new CollabperfError('E_NOT_FOUND', `column id ${JSON.stringify(col)} is not in the model`);
      return i;
    }
    const c = col as number;
    if (!Number.isInteger(c) || c < 0 || c >= this.nCols) {
      throw new CollabperfError('E_INDEX_OUT_OF_RANGE', `column ${String(col)} is out of range (0..${this.nCols - 1})`);
    }
    return c;
  }

  /** The id of a dense row. */
  rowId(index: number): Id {
    return (this.rowIds ? this.rowIds[index] : index) as Id;
  }

  /** The id of a dense column. */
  colId(index: number): Id {
    return (this.colIds ? this.colIds[index] : index) as Id;
  }

  /** The row's training columns (ids), ascending by dense index; empty without training column sets. */
  knownColumns(row: Id): Id[] {
    const r = this.rowIndex(row);
    if (!this.known) return [];
    const out: Id[] = [];
    for (let p = this.known.ptr[r]; p < this.known.ptr[r + 1]; p++) out.push(this.colId(this.known.cols[p]));
    return out;
  }

  /** The prediction for one cell, in the kernels' exact evaluation order. */
  predict(row: Id, col: Id): number {
    return this.unchecked(this.rowIndex(row), this.colIndex(col));
  }

  private unchecked(r: number, c: number): number {
    const k = this.k;
    const U = this.U;
    const V = this.V;
    const ro = r * k;
    const co = c * k;
    let dot = 0.0;
    for (let f = 0; f < k; f++) dot += U[ro + f] * V[co + f];
    return this.mu + this.rowBias[r] + this.colBias[c] + dot;
  }

  /** Predictions for parallel arrays of rows and columns. */
  predictMany(rows: ArrayLike<Id>, cols: ArrayLike<Id>): Float64Array {
    if (rows.length !== cols.length) {
      throw new CollabperfError('E_LENGTH_MISMATCH', `rows (${rows.length}) and cols (${cols.length}) must have the same length`);
    }
    const out = new Float64Array(rows.length);
    for (let i = 0; i < rows.length; i++) out[i] = this.unchecked(this.rowIndex(rows[i]), this.colIndex(cols[i]));
    return out;
  }

  /** Dense columns to skip for a row: its training columns, or the given ones. */
  private skipSet(r: number | null, opts: RecommendOptions<Id> | undefined): Uint8Array | null {
    if (opts?.exclude !== undefined) {
      const skip = new Uint8Array(this.nCols);
      let any = false;
      for (const c of opts.exclude) {
        skip[this.colIndex(c)] = 1;
        any = true;
      }
      return any ? skip : null;
    }
    if (r === null || !this.known) return null;
    const skip = new Uint8Array(this.nCols);
    for (let p = this.known.ptr[r]; p < this.known.ptr[r + 1]; p++) skip[this.known.cols[p]] = 1;
    return skip;
  }

  private topColumns(n: number, score: (c: number) => number, skip: Uint8Array | null): ScoredColumn<Id>[] {
    const top = new TopN(n);
    for (let c = 0; c < this.nCols; c++) if (skip === null || skip[c] === 0) top.offer(c, score(c));
    return top.idx.map((c, i) => ({ col: this.colId(c), score: top.score[i] }));
  }

  /**
   * The n columns with the highest predictions for a row, best first (ties by lower dense column).
   * By default the row's training columns are left out (a recommender should not offer what the row
   * already has); `exclude` replaces that set, and `exclude: []` turns exclusion off.
   */
  recommend(row: Id, n: number, opts?: RecommendOptions<Id>): ScoredColumn<Id>[] {
    checkOptionsObject(opts, 'recommend');
    const r = this.rowIndex(row);
    checkN(n);
    const skip = this.skipSet(r, opts);
    return this.topColumns(n, (c) => this.unchecked(r, c), skip);
  }

  /**
   * {@link recommend} for several rows (one list per row, in order); `opts.exclude`, when given, applies
   * to every row. A model fitted on the native backend scores a large batch natively across its
   * fitted thread count (same ids and scores bit for bit, see {@link RECOMMEND_NATIVE_MIN_ROWS}).
   */
  recommendMany(rows: ArrayLike<Id>, n: number, opts?: RecommendOptions<Id>): ScoredColumn<Id>[][] {
    checkOptionsObject(opts, 'recommendMany');
    checkN(n);
    const dense = Array.from({ length: rows.length }, (_, i) => this.rowIndex(rows[i]));
    // A given exclusion is the same for every row: resolve it once.
    const shared = opts?.exclude !== undefined ? this.skipSet(null, opts) : undefined;
    const native = this.nativeRecommender(dense.length);
    if (native) return this.recommendNative(native, dense, n, shared);
    return dense.map((r) => this.topColumns(n, (c) => this.unchecked(r, c), shared === undefined ? this.skipSet(r, undefined) : shared));
  }

  /** The backend that scores this batch natively, or null for the TypeScript loop. */
  private nativeRecommender(rows: number): KernelBackend | null {
    if (this.training.backend !== 'native' || rows < RECOMMEND_NATIVE_MIN_ROWS) return null;
    let b: KernelBackend;
    try {
      b = getBackend('native');
    } catch {
      return null; // a model saved by a native fit, loaded where the addon is not built
    }
    return typeof b.recommendMany === 'function' ? b : null;
  }

  private recommendNative(b: KernelBackend, dense: number[], n: number, shared: Uint8Array | null | undefined): ScoredColumn<Id>[][] {
    const t = this.training.options.threads;
    const options: RecommendBatchOptions = { threads: Number.isInteger(t) && t >= 1 && t <= 1024 ? t : 1 };
    if (shared === undefined) {
      if (this.known) {
        options.excludePtr = this.known.ptr;
        options.excludeIdx = this.known.cols;
      }
    } else if (shared !== null) {
      const list: number[] = [];
      for (let c = 0; c < this.nCols; c++) if (shared[c] !== 0) list.push(c);
      options.exclude = Int32Array.from(list);
    }
    const res = b.recommendMany!(this, Int32Array.from(dense), n, options);
    return dense.map((_, q) => {
      const out: ScoredColumn<Id>[] = [];
      for (let i = q * res.width, end = i + res.count[q]; i < end; i++) out.push({ col: this.colId(res.idx[i]), score: res.score[i] });
      return out;
    });
  }

  /** The n columns most similar to a column by cosine of their factors, best first, the column itself left out. */
  similarColumns(col: Id, n: number): ScoredColumn<Id>[] {
    const c0 = this.colIndex(col);
    checkN(n);
    this.colNorms ??= norms(this.V, this.nCols, this.k);
    const cos = cosineTo(this.V, this.colNorms, this.k, c0);
    const skip = new Uint8Array(this.nCols);
    skip[c0] = 1;
    return this.topColumns(n, cos, skip);
  }

  /** The n rows most similar to a row by cosine of their factors, best first, the row itself left out. */
  similarRows(row: Id, n: number): ScoredRow<Id>[] {
    const r0 = this.rowIndex(row);
    checkN(n);
    this.rowNorms ??= norms(this.U, this.nRows, this.k);
    const cos = cosineTo(this.U, this.rowNorms, this.k, r0);
    const top = new TopN(n);
    for (let r = 0; r < this.nRows; r++) if (r !== r0) top.offer(r, cos(r));
    return top.idx.map((r, i) => ({ row: this.rowId(r), score: top.score[i] }));
  }

  /**
   * Places a new row in the latent space from a few of its observed values, keeping the columns
   * fixed: one solve of the row equations the model was fitted with (ridge for explicit models, the
   * confidence-weighted implicit equations for implicit ones), with the fitted regularisation by
   * default.
   */
  foldIn(cols: ArrayLike<Id>, values: ArrayLike<number>, opts: FoldInOptions = {}): FoldedRow<Id> {
    const dense = this.foldArgs('foldIn', cols, values, opts, (c) => this.colIndex(c), 'column');
    const { factors, bias } = this.foldSolve(dense, values, opts, 'row');
    const model = this;
    const k = this.k;
    const predictCol = (c: number): number => {
      let dot = 0.0;
      for (let f = 0; f < k; f++) dot += factors[f] * model.V[c * k + f];
      return model.mu + bias + model.colBias[c] + dot;
    };
    return {
      factors,
      bias,
      predict: (col: Id): number => predictCol(model.colIndex(col)),
      predictAll(): Float64Array {
        const out = new Float64Array(model.nCols);
        for (let c = 0; c < model.nCols; c++) out[c] = predictCol(c);
        return out;
      },
      recommend(n: number, o?: RecommendOptions<Id>): ScoredColumn<Id>[] {
        checkOptionsObject(o, 'recommend');
        checkN(n);
        let skip = model.skipSet(null, o);
        if (o?.exclude === undefined) {
          skip = new Uint8Array(model.nCols);
          for (const c of dense) skip[c] = 1;
        }
        return model.topColumns(n, predictCol, skip);
      },
    };
  }

  /**
   * Places a new column in the latent space from a few rows' values, keeping the rows fixed: the
   * column equations the model was fitted with (see {@link foldIn}).
   */
  foldInColumn(rows: ArrayLike<Id>, values: ArrayLike<number>, opts: FoldInOptions = {}): FoldedColumn<Id> {
    const dense = this.foldArgs('foldInColumn', rows, values, opts, (r) => this.rowIndex(r), 'row');
    const { factors, bias } = this.foldSolve(dense, values, opts, 'col');
    const model = this;
    const k = this.k;
    const predictRow = (r: number): number => {
      let dot = 0.0;
      for (let f = 0; f < k; f++) dot += model.U[r * k + f] * factors[f];
      return model.mu + model.rowBias[r] + bias + dot;
    };
    return {
      factors,
      bias,
      predict: (row: Id): number => predictRow(model.rowIndex(row)),
      predictAll(): Float64Array {
        const out = new Float64Array(model.nRows);
        for (let r = 0; r < model.nRows; r++) out[r] = predictRow(r);
        return out;
      },
    };
  }

  private foldArgs(what: string, ids: ArrayLike<Id>, values: ArrayLike<number>, opts: FoldInOptions, index: (id: Id) => number, side: string): number[] {
    if (ids.length !== values.length || (opts.weights && opts.weights.length !== ids.length)) {
      throw new CollabperfError('E_LENGTH_MISMATCH', `${what}: ${side}s, values (and weights) must have the same length`);
    }
    const implicit = this.training.options.implicit === true;
    const seen = new Set<number>();
    const dense: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const j = index(ids[i]);
      if (seen.has(j)) throw new CollabperfError('E_DUPLICATE_ENTRY', `${what}: ${side} ${String(ids[i])} is given twice`);
      seen.add(j);
      dense.push(j);
      if (!Number.isFinite(values[i])) throw new CollabperfError('E_NON_FINITE', `${what}: value for ${side} ${String(ids[i])} is ${values[i]}`);
      if (implicit && values[i] < 0) throw new CollabperfError('E_INVALID_ARGUMENT', `${what}: implicit values must be >= 0, got ${values[i]} for ${side} ${String(ids[i])}`);
    }
    if (implicit && opts.weights) throw new CollabperfError('E_INVALID_ARGUMENT', `${what}: weights do not apply to an implicit model (the values set the confidence)`);
    return dense;
  }

  /** The fold-in solve; `side` is the side being added ('row': against V, 'col': against U). */
  private foldSolve(idx: number[], values: ArrayLike<number>, opts: FoldInOptions, side: 'row' | 'col'): { factors: Float64Array; bias: number } {
    const o = this.training.options;
    const k = this.k;
    const fixed = side === 'row' ? this.V : this.U;
    const n = idx.length;
    const scale = o.weightedLambda ? n : 1;
    const lambda = (opts.lambda ?? o.lambda) * scale;
    if (o.implicit === true) {
      // (F^T F + sum (c - 1) f f^T + lambda I) x = sum c p f, as in a sweep's row solve.
      const A = (side === 'row' ? (this.gramV ??= gram(this.V, this.nCols, k)) : (this.gramU ??= gram(this.U, this.nRows, k))).slice();
      const b = new Float64Array(k);
      const imp = { alpha: o.alpha, confidence: o.confidence, epsilon: o.epsilon, solver: o.solver, cgSteps: o.cgSteps };
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (!(v > 0)) continue;
        const c = confidenceOf(v, imp);
        const go = idx[i] * k;
        for (let p = 0; p < k; p++) {
          b[p] += c * fixed[go + p];
          for (let q = 0; q <= p; q++) A[p * k + q] += (c - 1) * fixed[go + p] * fixed[go + q];
        }
      }
      for (let f = 0; f < k; f++) A[f * k + f] += lambda;
      if (!choleskyInPlace(A, k)) throw new CollabperfError('E_NUMERIC', 'fold-in: the system is not positive definite (use a positive lambda)');
      choleskySolveInPlace(A, k, b);
      return { factors: b, bias: 0 };
    }
    const useBias = o.useBias;
    const d = useBias ? k + 1 : k;
    const fixedBias = side === 'row' ? this.colBias : this.rowBias;
    const lambdaBias = (opts.lambdaBias ?? o.lambdaBias) * scale;
    const A = new Float64Array(d * d);
    const b = new Float64Array(d);
    const a = new Float64Array(d);
    for (let i = 0; i < n; i++) {
      const j = idx[i];
      const w = opts.weights ? opts.weights[i] : 1;
      for (let f = 0; f < k; f++) a[f] = fixed[j * k + f];
      if (useBias) a[k] = 1;
      const t = values[i] - this.mu - fixedBias[j];
      for (let p = 0; p < d; p++) {
        b[p] += w * t * a[p];
        for (let q = 0; q <= p; q++) A[p * d + q] += w * a[p] * a[q];
      }
    }
    for (let f = 0; f < k; f++) A[f * d + f] += lambda;
    if (useBias) A[k * d + k] += lambdaBias;
    if (!choleskyInPlace(A, d)) {
      throw new CollabperfError('E_NUMERIC', `${side === 'row' ? 'foldIn' : 'foldInColumn'}: the system is not positive definite (give more values or a positive lambda)`);
    }
    choleskySolveInPlace(A, d, b);
    return { factors: b.slice(0, k), bias: useBias ? b[k] : 0 };
  }
}

/** `F^T F` (k x k; the lower triangle is what Cholesky reads, both are filled). */
function gram(F: FactorArray, n: number, k: number): Float64Array {
  const G = new Float64Array(k * k);
  for (let r = 0; r < n; r++) {
    const o = r * k;
    for (let p = 0; p < k; p++) {
      const x = F[o + p];
      for (let q = 0; q <= p; q++) G[p * k + q] += x * F[o + q];
    }
  }
  for (let p = 0; p < k; p++) for (let q = 0; q < p; q++) G[q * k + p] = G[p * k + q];
  return G;
}

function norms(F: FactorArray, n: number, k: number): Float64Array {
  const out = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    let s = 0.0;
    for (let f = 0; f < k; f++) s += F[r * k + f] * F[r * k + f];
    out[r] = Math.sqrt(s);
  }
  return out;
}

/** Cosine of every factor row with row `i0` (0 where either has zero norm). */
function cosineTo(F: FactorArray, nrm: Float64Array, k: number, i0: number): (i: number) => number {
  const o0 = i0 * k;
  const n0 = nrm[i0];
  return (i) => {
    const d = nrm[i] * n0;
    if (d === 0) return 0;
    let s = 0.0;
    const o = i * k;
    for (let f = 0; f < k; f++) s += F[o + f] * F[o0 + f];
    return s / d;
  };
}
