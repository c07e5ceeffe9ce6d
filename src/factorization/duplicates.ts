import { isCollabperfError } from '../errors.js';
import type { KernelProblem } from '../backends/types.js';
import { buildProblem, countingOrder, type Entries } from './ratings.js';

/** Entries with every cell given more than once replaced by one entry holding the sum. */
export interface SummedEntries {
  entries: Entries;
  /** How many input entries were folded into an earlier one of the same cell (0: the input as is). */
  merged: number;
}

/**
 * Sums the values of entries that name the same cell, as implicit-feedback data means them: an
 * interaction log lists a user's plays of an item one per line, and the confidence is their total
 * (the Python `implicit` package's COO-to-CSR conversion does the same). The result is in row-major
 * cell order, each sum taken in input order. Weighted entries are returned unchanged: implicit ALS
 * refuses weights, and explicit ratings given twice stay an error.
 */
export function sumDuplicateEntries(e: Entries): SummedEntries {
  const n = e.rows.length;
  if (e.weights !== null || n === 0) return { entries: e, merged: 0 };
  const order = rowMajorOrder(e);
  let cells = 1;
  for (let p = 1; p < n; p++) if (!sameCell(e, order[p - 1], order[p])) cells++;
  if (cells === n) return { entries: e, merged: 0 };
  const rows = new Int32Array(cells);
  const cols = new Int32Array(cells);
  const values = e.values instanceof Float32Array ? new Float32Array(cells) : new Float64Array(cells);
  let c = -1;
  let sum = 0;
  for (let p = 0; p < n; p++) {
    const i = order[p];
    if (p === 0 || !sameCell(e, order[p - 1], i)) {
      if (c >= 0) values[c] = sum;
      c++;
      rows[c] = e.rows[i];
      cols[c] = e.cols[i];
      sum = 0;
    }
    sum += e.values[i];
  }
  values[c] = sum;
  return { entries: { nRows: e.nRows, nCols: e.nCols, rows, cols, values, weights: null }, merged: n - cells };
}

/**
 * The problem of implicit-feedback entries, duplicates summed ({@link sumDuplicateEntries}). Data
 * without duplicates is built directly; the summing pass runs only when the build finds one.
 */
export function buildImplicitProblem(e: Entries): { problem: KernelProblem; merged: number } {
  try {
    return { problem: buildProblem(e), merged: 0 };
  } catch (err) {
    if (!isCollabperfError(err) || err.code !== 'E_DUPLICATE_ENTRY' || e.weights !== null) throw err;
    const s = sumDuplicateEntries(e);
    return { problem: buildProblem(s.entries), merged: s.merged };
  }
}

function sameCell(e: Entries, a: number, b: number): boolean {
  return e.rows[a] === e.rows[b] && e.cols[a] === e.cols[b];
}

/** Entry positions sorted by (row, column), input order kept within a cell: two stable counting sorts. */
function rowMajorOrder(e: Entries): Int32Array {
  return countingOrder(e.rows, e.nRows, countingOrder(e.cols, e.nCols, null));
}
