import { describe, expect, it } from 'vitest';
import { buildProblem, toEntries } from '../../src/factorization/ratings.js';
import { CollabperfError } from '../../src/errors.js';

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CollabperfError);
    return (e as CollabperfError).code;
  }
  return undefined;
}

describe('input validation', () => {
  it('rejects arrays of different lengths', () => {
    expect(codeOf(() => toEntries({ rows: [0, 1], cols: [0], values: [1, 2] }))).toBe('E_LENGTH_MISMATCH');
    expect(codeOf(() => toEntries({ rows: [0], cols: [0], values: [1], weights: [1, 2] }))).toBe('E_LENGTH_MISMATCH');
  });
  it('rejects indices out of range, negative or fractional', () => {
    expect(codeOf(() => toEntries({ rows: [0, 5], cols: [0, 0], values: [1, 2], nRows: 3 }))).toBe('E_INDEX_OUT_OF_RANGE');
    expect(codeOf(() => toEntries({ rows: [-1], cols: [0], values: [1] }))).toBe('E_INDEX_OUT_OF_RANGE');
    expect(codeOf(() => toEntries({ rows: Int32Array.from([-2]), cols: [0], values: [1] }))).toBe('E_INDEX_OUT_OF_RANGE');
    expect(codeOf(() => toEntries({ rows: [0.5], cols: [0], values: [1] }))).toBe('E_INDEX_OUT_OF_RANGE');
  });
  it('rejects NaN and Infinity values and non-positive weights', () => {
    expect(codeOf(() => toEntries({ rows: [0], cols: [0], values: [NaN] }))).toBe('E_NON_FINITE');
    expect(codeOf(() => toEntries({ rows: [0], cols: [0], values: [Infinity] }))).toBe('E_NON_FINITE');
    expect(codeOf(() => toEntries({ rows: [0], cols: [0], values: [1], weights: [0] }))).toBe('E_NON_FINITE');
  });
  it('rejects an empty matrix', () => {
    expect(codeOf(() => toEntries({ rows: [], cols: [], values: [] }))).toBe('E_EMPTY');
    expect(codeOf(() => toEntries({ dense: new Float64Array([NaN, NaN]), nRows: 1, nCols: 2 }))).toBe('E_EMPTY');
  });
  it('rejects bad dense input', () => {
    expect(codeOf(() => toEntries({ dense: new Float64Array(5), nRows: 2, nCols: 2 }))).toBe('E_LENGTH_MISMATCH');
    expect(codeOf(() => toEntries({ dense: new Float64Array([1, Infinity]), nRows: 1, nCols: 2 }))).toBe('E_NON_FINITE');
    expect(codeOf(() => toEntries({ dense: new Float64Array(4), nRows: 0, nCols: 4 }))).toBe('E_INVALID_ARGUMENT');
  });
  it('names both positions of a duplicate cell', () => {
    const e = toEntries({ rows: [0, 1, 0], cols: [2, 0, 2], values: [1, 2, 3] });
    expect(() => buildProblem(e)).toThrow(/given twice, at entries 0 and 2/);
    expect(codeOf(() => buildProblem(e))).toBe('E_DUPLICATE_ENTRY');
  });
  it('reads a dense matrix with NaN for missing', () => {
    const e = toEntries({ dense: new Float64Array([1, NaN, 3, NaN, 5, 6]), nRows: 2, nCols: 3 });
    expect(Array.from(e.rows)).toEqual([0, 0, 1, 1]);
    expect(Array.from(e.cols)).toEqual([0, 2, 1, 2]);
    expect(Array.from(e.values)).toEqual([1, 3, 5, 6]);
  });
});

describe('CSR and CSC', () => {
  it('sorts by column inside rows and by row inside columns, carrying values and weights', () => {
    const e = toEntries({ rows: [2, 0, 2, 1, 0], cols: [1, 3, 0, 3, 0], values: [21, 3, 20, 13, 0], weights: [1, 2, 3, 4, 5], nRows: 4 });
    const p = buildProblem(e);
    expect(p.nRows).toBe(4);
    expect(p.nCols).toBe(4);
    expect(Array.from(p.rowPtr)).toEqual([0, 2, 3, 5, 5]);
    expect(Array.from(p.colIdx)).toEqual([0, 3, 3, 0, 1]);
    expect(Array.from(p.rowIdx)).toEqual([0, 0, 1, 2, 2]);
    expect(Array.from(p.value)).toEqual([0, 3, 13, 20, 21]);
    expect(Array.from(p.weight!)).toEqual([5, 2, 4, 3, 1]);
    expect(Array.from(p.colPtr)).toEqual([0, 2, 3, 3, 5]);
    expect(Array.from(p.cscRow)).toEqual([0, 2, 2, 0, 1]);
    expect(Array.from(p.cscValue)).toEqual([0, 20, 21, 3, 13]);
    expect(Array.from(p.cscWeight!)).toEqual([5, 3, 1, 2, 4]);
  });
});

describe('CSR and CSC against a comparison sort', () => {
  /** The problem arrays by definition: entries sorted by (row, col) and by (col, row). */
  function reference(rows: Int32Array, cols: Int32Array, nRows: number, nCols: number) {
    const idx = Array.from(rows, (_, i) => i);
    const csr = [...idx].sort((a, b) => rows[a] - rows[b] || cols[a] - cols[b]);
    const csc = [...idx].sort((a, b) => cols[a] - cols[b] || rows[a] - rows[b]);
    const ptr = (keys: Int32Array, n: number) => {
      const p = new Array<number>(n + 1).fill(0);
      for (const k of keys) p[k + 1]++;
      for (let i = 0; i < n; i++) p[i + 1] += p[i];
      return p;
    };
    return { csr, csc, rowPtr: ptr(rows, nRows), colPtr: ptr(cols, nCols) };
  }

  // Above SHARED_PROBLEM_FROM_ENTRIES too, so both kinds of buffer are covered.
  for (const n of [500, 40_000]) {
    it(`gives the sorted arrays bit for bit on ${n} shuffled cells, with weights and float32 values`, () => {
      const nRows = 300;
      const nCols = 211;
      let s = 99;
      const rand = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
      const taken = new Set<number>();
      const rows = new Int32Array(n);
      const cols = new Int32Array(n);
      for (let i = 0; i < n; ) {
        const r = Math.floor(rand() * rand() * nRows); // skewed, so some rows are long
        const c = Math.floor(rand() * nCols);
        if (taken.has(r * nCols + c)) continue;
        taken.add(r * nCols + c);
        rows[i] = r;
        cols[i] = c;
        i++;
      }
      const values = Float64Array.from(rows, () => rand() * 10 - 5);
      const weights = Float64Array.from(rows, () => 0.1 + rand());
      const ref = reference(rows, cols, nRows, nCols);
      const p = buildProblem(toEntries({ rows, cols, values, weights, nRows, nCols }));
      expect(Array.from(p.rowPtr)).toEqual(ref.rowPtr);
      expect(Array.from(p.colPtr)).toEqual(ref.colPtr);
      expect(Array.from(p.rowIdx)).toEqual(ref.csr.map((i) => rows[i]));
      expect(Array.from(p.colIdx)).toEqual(ref.csr.map((i) => cols[i]));
      expect(Array.from(p.value)).toEqual(ref.csr.map((i) => values[i]));
      expect(Array.from(p.weight!)).toEqual(ref.csr.map((i) => weights[i]));
      expect(Array.from(p.cscRow)).toEqual(ref.csc.map((i) => rows[i]));
      expect(Array.from(p.cscValue)).toEqual(ref.csc.map((i) => values[i]));
      expect(Array.from(p.cscWeight!)).toEqual(ref.csc.map((i) => weights[i]));
      expect(p.cscRow.buffer instanceof SharedArrayBuffer).toBe(n >= 32768);

      const v32 = Float32Array.from(values);
      const q = buildProblem(toEntries({ rows, cols, values: v32, nRows, nCols }));
      expect(q.value).toBeInstanceOf(Float32Array);
      expect(q.cscValue).toBeInstanceOf(Float32Array);
      expect(q.weight).toBeNull();
      expect(Array.from(q.value)).toEqual(ref.csr.map((i) => v32[i]));
      expect(Array.from(q.cscValue)).toEqual(ref.csc.map((i) => v32[i]));
    });
  }

  it('names the first two input positions of the first duplicated cell in row order', () => {
    // (3, 2) appears first in the input, but (1, 0) is in the lower row; (1, 0) is given three times.
    const e = toEntries({ rows: [3, 1, 3, 1, 1, 3], cols: [2, 0, 2, 0, 0, 2], values: [1, 2, 3, 4, 5, 6] });
    expect(() => buildProblem(e)).toThrow(/cell \(row 1, col 0\) is given twice, at entries 1 and 3$/);
  });
});
