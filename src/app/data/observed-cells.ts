/**
 * The application's one name for observed cells: (model, task, value) triples of a models × tasks
 * table held as parallel typed arrays. The dataset stores its scores in this shape
 * ({@link ScoreTable}), predictors fit on {@link Cells}, and the evaluation, fold, trust and advise
 * code pass {@link Cells} subsets of a dataset around with their positions in `ds.scores`.
 *
 * The factorization library names the same idea with its own row/column vocabulary
 * (`SparseRatings` → `Entries`, src/factorization/ratings.ts), because it knows nothing of models
 * and tasks. The application crosses from one to the other in exactly one place,
 * {@link ratingsOf}: models become rows, tasks columns.
 */
import type { SparseRatings } from '../../factorization/ratings.js';
import type { Dataset } from './dataset.js';

/** Observed cells as parallel arrays of equal length, one entry per (model, task) cell. */
export interface CellArrays {
  /** Model index of each cell. */
  model: Int32Array;
  /** Task index of each cell. */
  task: Int32Array;
  /** The observed score of each cell, on its task's own scale. */
  value: Float64Array;
}

/** Observed cells of an `nModels` × `nTasks` table. */
export interface Cells extends CellArrays {
  nModels: number;
  nTasks: number;
  /**
   * Position of each cell in `ds.scores`, when the cells are a subset of a dataset's (absent when
   * they are all of them, in order, or were not taken from a dataset).
   */
  index?: Int32Array;
}

/**
 * A dataset's observed cells. Without `index`: all of them, the arrays shared with `ds.scores`
 * (not copied; do not write to them). With `index` (positions in `ds.scores`): those cells, copied,
 * and `index` kept (copied too).
 */
export function cellsOf(ds: Dataset): Cells;
export function cellsOf(ds: Dataset, index: ArrayLike<number>): Required<Cells>;
export function cellsOf(ds: Dataset, index?: ArrayLike<number>): Cells {
  const nModels = ds.models.length;
  const nTasks = ds.tasks.length;
  const s = ds.scores;
  if (index === undefined) return { nModels, nTasks, model: s.model, task: s.task, value: s.value };
  const n = index.length;
  const out: Required<Cells> = { nModels, nTasks, model: new Int32Array(n), task: new Int32Array(n), value: new Float64Array(n), index: Int32Array.from(index) };
  for (let j = 0; j < n; j++) {
    const e = index[j];
    out.model[j] = s.model[e];
    out.task[j] = s.task[e];
    out.value[j] = s.value[e];
  }
  return out;
}

/**
 * The cells at positions `idx` of `c`, copied. When `c` carries an `index`, the selection carries
 * the matching dataset positions, so that a subset of a subset still knows where its cells are.
 */
export function selectCells(c: Cells, idx: ArrayLike<number>): Cells {
  const n = idx.length;
  const model = new Int32Array(n);
  const task = new Int32Array(n);
  const value = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    model[i] = c.model[idx[i]];
    task[i] = c.task[idx[i]];
    value[i] = c.value[idx[i]];
  }
  const out: Cells = { nModels: c.nModels, nTasks: c.nTasks, model, task, value };
  if (c.index) {
    const from = c.index;
    out.index = Int32Array.from(idx, (i) => from[i]);
  }
  return out;
}

/**
 * Dense lookup of a dataset's observed cells: entry `m * ds.tasks.length + t` is the position of
 * cell (m, t) in `ds.scores`, or -1 when it is not observed. For code that asks "is (m, t) known,
 * and what is its score" many times over.
 */
export function cellPositions(ds: Dataset): Int32Array {
  const nT = ds.tasks.length;
  const out = new Int32Array(ds.models.length * nT).fill(-1);
  for (let e = 0; e < ds.scores.value.length; e++) out[ds.scores.model[e] * nT + ds.scores.task[e]] = e;
  return out;
}

/**
 * The cells as input of the factorization library (models → rows, tasks → columns, the arrays
 * shared, not copied), with optional per-cell weights: the one place the application's
 * {@link Cells} become the library's ratings.
 */
export function ratingsOf(c: Cells, weights?: Float64Array): SparseRatings {
  const r: SparseRatings = { rows: c.model, cols: c.task, values: c.value, nRows: c.nModels, nCols: c.nTasks };
  if (weights) r.weights = weights;
  return r;
}
