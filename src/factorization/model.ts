import { CollabperfError } from '../errors.js';
import { choleskyInPlace, choleskySolveInPlace } from '../numeric/cholesky.js';
import type { KernelModel } from '../backends/types.js';
import type { ResolvedFitOptions } from './options.js';

/** How a model was trained, kept with it and in its saved file. */
export interface TrainingInfo {
  options: ResolvedFitOptions;
  backend: string;
  iterations: number;
  trainRmse: number;
  validRmse?: number;
}

/** A new row (say, a new user or LLM) expressed in the model's latent space, from a few observed values. */
export interface FoldedRow {
  factors: Float64Array;
  bias: number;
  /** Prediction for one column. */
  predict(col: number): number;
  /** Predictions for every column. */
  predictAll(): Float64Array;
}

/**
 * A fitted factorization: `pred(r, c) = mu + rowBias[r] + colBias[c] + <U[r], V[c]>`.
 * Arrays are row-major Float64Arrays (nRows*k and nCols*k) and may be read directly.
 */
export class FactorModel implements KernelModel {
  constructor(
    readonly nRows: number,
    readonly nCols: number,
    readonly k: number,
    readonly mu: number,
    readonly U: Float64Array,
    readonly V: Float64Array,
    readonly rowBias: Float64Array,
    readonly colBias: Float64Array,
    readonly training: TrainingInfo,
  ) {}

  private checkRow(r: number): void {
    if (!Number.isInteger(r) || r < 0 || r >= this.nRows) {
      throw new CollabperfError('E_INDEX_OUT_OF_RANGE', `row ${r} is out of range (0..${this.nRows - 1})`);
    }
  }

  private checkCol(c: number): void {
    if (!Number.isInteger(c) || c < 0 || c >= this.nCols) {
      throw new CollabperfError('E_INDEX_OUT_OF_RANGE', `column ${c} is out of range (0..${this.nCols - 1})`);
    }
  }

  /** The prediction for one cell, in the kernels' exact evaluation order. */
  predict(row: number, col: number): number {
    this.checkRow(row);
    this.checkCol(col);
    return this.unchecked(row, col);
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
  predictMany(rows: ArrayLike<number>, cols: ArrayLike<number>): Float64Array {
    if (rows.length !== cols.length) {
      throw new CollabperfError('E_LENGTH_MISMATCH', `rows (${rows.length}) and cols (${cols.length}) must have the same length`);
    }
    const out = new Float64Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      this.checkRow(rows[i]);
      this.checkCol(cols[i]);
      out[i] = this.unchecked(rows[i], cols[i]);
    }
    return out;
  }

  /**
   * The n columns with the highest predictions for a row, best first (ties by lower column),
   * skipping the columns in `exclude` (typically those the row already has).
   */
  recommend(row: number, n: number, exclude?: Iterable<number>): { col: number; score: number }[] {
    this.checkRow(row);
    if (!Number.isInteger(n) || n < 1) throw new CollabperfError('E_INVALID_ARGUMENT', `n must be a positive integer, got ${n}`);
    const skip = new Set(exclude ?? []);
    const scored: { col: number; score: number }[] = [];
    for (let c = 0; c < this.nCols; c++) if (!skip.has(c)) scored.push({ col: c, score: this.unchecked(row, c) });
    scored.sort((a, b) => b.score - a.score || a.col - b.col);
    return scored.slice(0, n);
  }

  /**
   * Places a new row in the latent space from a few of its observed values, keeping the columns
   * fixed: one ridge solve with the row equations of ALS (the fitted regularisation by default).
   */
  foldIn(cols: ArrayLike<number>, values: ArrayLike<number>, opts: { weights?: ArrayLike<number>; lambda?: number; lambdaBias?: number } = {}): FoldedRow {
    if (cols.length !== values.length || (opts.weights && opts.weights.length !== cols.length)) {
      throw new CollabperfError('E_LENGTH_MISMATCH', 'foldIn: cols, values (and weights) must have the same length');
    }
    const seen = new Set<number>();
    for (let i = 0; i < cols.length; i++) {
      this.checkCol(cols[i]);
      if (seen.has(cols[i])) throw new CollabperfError('E_DUPLICATE_ENTRY', `foldIn: column ${cols[i]} is given twice`);
      seen.add(cols[i]);
      if (!Number.isFinite(values[i])) throw new CollabperfError('E_NON_FINITE', `foldIn: value for column ${cols[i]} is ${values[i]}`);
    }
    const o = this.training.options;
    const k = this.k;
    const useBias = o.useBias;
    const d = useBias ? k + 1 : k;
    const n = cols.length;
    const scale = o.weightedLambda ? n : 1;
    const lambda = (opts.lambda ?? o.lambda) * scale;
    const lambdaBias = (opts.lambdaBias ?? o.lambdaBias) * scale;
    const A = new Float64Array(d * d);
    const b = new Float64Array(d);
    const a = new Float64Array(d);
    for (let i = 0; i < n; i++) {
      const c = cols[i];
      const w = opts.weights ? opts.weights[i] : 1;
      for (let f = 0; f < k; f++) a[f] = this.V[c * k + f];
      if (useBias) a[k] = 1;
      const t = values[i] - this.mu - this.colBias[c];
      for (let p = 0; p < d; p++) {
        b[p] += w * t * a[p];
        for (let q = 0; q <= p; q++) A[p * d + q] += w * a[p] * a[q];
      }
    }
    for (let f = 0; f < k; f++) A[f * d + f] += lambda;
    if (useBias) A[k * d + k] += lambdaBias;
    if (!choleskyInPlace(A, d)) {
      throw new CollabperfError('E_NUMERIC', 'foldIn: the system is not positive definite (give more values or a positive lambda)');
    }
    choleskySolveInPlace(A, d, b);
    const factors = b.slice(0, k);
    const bias = useBias ? b[k] : 0;
    const model = this;
    const predictCol = (c: number): number => {
      let dot = 0.0;
      for (let f = 0; f < k; f++) dot += factors[f] * model.V[c * k + f];
      return model.mu + bias + model.colBias[c] + dot;
    };
    return {
      factors,
      bias,
      predict(col: number): number {
        model.checkCol(col);
        return predictCol(col);
      },
      predictAll(): Float64Array {
        const out = new Float64Array(model.nCols);
        for (let c = 0; c < model.nCols; c++) out[c] = predictCol(c);
        return out;
      },
    };
  }
}
