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
