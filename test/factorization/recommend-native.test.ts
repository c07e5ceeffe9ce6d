import { afterEach, describe, expect, it, vi } from 'vitest';
import { FactorModel, RECOMMEND_NATIVE_MIN_ROWS } from '../../src/factorization/model.js';
import { resolveFitOptions } from '../../src/factorization/options.js';
import { nativeForSuite } from '../helpers/backends.js';

/**
 * recommendMany on the native addon (issue 10) against the TypeScript loop on the same factors: the
 * same ids and bit-identical scores, with factors on a coarse grid so that many scores tie. Skipped
 * without the addon, failing under COLLABPERF_REQUIRE_NATIVE=1.
 */
const native = nativeForSuite('native recommendMany');

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function models(f32: boolean, nRows: number, nCols: number, k: number, seed: number) {
  const rnd = lcg(seed);
  // Quarter steps in [-1, 1]: exact in float32, many equal dot products.
  const grid = (n: number) => {
    const a = Array.from({ length: n }, () => Math.floor(rnd() * 9) / 4 - 1);
    return f32 ? Float32Array.from(a) : Float64Array.from(a);
  };
  const U = grid(nRows * k);
  const V = grid(nCols * k);
  const rb = grid(nRows);
  const cb = grid(nCols);
  const ptr = new Int32Array(nRows + 1);
  const cols: number[] = [];
  for (let r = 0; r < nRows; r++) {
    for (let c = 0; c < nCols; c++) if (rnd() < 0.05 || (r === 3 && c < nCols - 2)) cols.push(c);
    ptr[r + 1] = cols.length;
  }
  const extras = {
    known: { ptr, cols: Int32Array.from(cols) },
    rowIds: Array.from({ length: nRows }, (_, i) => `u${i}`),
    colIds: Array.from({ length: nCols }, (_, i) => `i${i}`),
  };
  const make = (backend: string, threads: number) =>
    new FactorModel<string>(nRows, nCols, k, 0.125, U, V, rb, cb, { options: resolveFitOptions({ threads }), backend, iterations: 0, trainRmse: 0 }, extras);
  return { nat: make('native', 2), ts: make('ts', 2) };
}

describe.skipIf(native === null)('native recommendMany', () => {
  afterEach(() => vi.restoreAllMocks());
  const nRows = 120;
  const nCols = 401;
  const k = 7;
  const rows = Array.from({ length: 300 }, (_, i) => `u${(i * 37) % nRows}`);

  for (const f32 of [false, true]) {
    it(`matches the TypeScript loop bit for bit (${f32 ? 'float32' : 'float64'})`, () => {
      const { nat, ts } = models(f32, nRows, nCols, k, f32 ? 7 : 3);
      const spy = vi.spyOn(native!, 'recommendMany');
      const cases: [number, { exclude: string[] } | undefined][] = [
        [1, undefined],
        [10, undefined],
        [nCols + 5, undefined], // more than the columns left (row u3 has only 2 left)
        [10, { exclude: ['i0', 'i5', 'i5', 'i400'] }],
        [nCols + 5, { exclude: [] }],
      ];
      let ties = 0;
      for (const [n, opts] of cases) {
        const got = nat.recommendMany(rows, n, opts);
        const want = ts.recommendMany(rows, n, opts);
        // One expect per case: element-wise expects over 280k entries take seconds.
        let bad = 0;
        expect(got.length).toBe(want.length);
        for (let q = 0; q < got.length; q++) {
          if (got[q].length !== want[q].length) bad++;
          for (let i = 0; i < got[q].length && i < want[q].length; i++) {
            if (got[q][i].col !== want[q][i].col || !Object.is(got[q][i].score, want[q][i].score)) bad++;
            if (i > 0 && got[q][i].score === got[q][i - 1].score) ties++;
          }
        }
        expect(bad).toBe(0);
      }
      expect(spy).toHaveBeenCalledTimes(cases.length);
      expect(ties).toBeGreaterThan(100);
      const u3 = nat.recommendMany(rows.slice(0, 40).map(() => 'u3'), 10);
      expect(u3[0].map((s) => s.col)).toEqual(ts.recommend('u3', 10).map((s) => s.col));
      expect(u3[0]).toHaveLength(2);
    });
  }

  it('does not depend on the thread count', () => {
    const { nat } = models(false, nRows, nCols, k, 11);
    const dense = Int32Array.from(rows, (r) => nat.rowIndex(r));
    const run = (threads: number) => native!.recommendMany!(nat, dense, 10, { threads, excludePtr: nat.known!.ptr, excludeIdx: nat.known!.cols });
    const a = run(1);
    for (const t of [2, 3]) {
      const b = run(t);
      expect(b.idx).toEqual(a.idx);
      expect(Buffer.from(b.score.buffer).equals(Buffer.from(a.score.buffer))).toBe(true);
      expect(b.count).toEqual(a.count);
    }
  });

  it('keeps a batch below RECOMMEND_NATIVE_MIN_ROWS on the TypeScript loop', () => {
    const { nat, ts } = models(false, nRows, nCols, k, 5);
    const spy = vi.spyOn(native!, 'recommendMany');
    const one = Array.from({ length: RECOMMEND_NATIVE_MIN_ROWS - 1 }, (_, i) => `u${i}`);
    expect(nat.recommendMany(one, 5)).toEqual(ts.recommendMany(one, 5));
    expect(spy).not.toHaveBeenCalled();
    const two = Array.from({ length: RECOMMEND_NATIVE_MIN_ROWS }, (_, i) => `u${i + 1}`);
    expect(nat.recommendMany(two, 5)).toEqual(ts.recommendMany(two, 5));
    expect(spy).toHaveBeenCalledTimes(1);
  });

  it('reports bad arguments with coded errors', () => {
    const { nat } = models(false, nRows, nCols, k, 5);
    const call = (rows: Int32Array, opts: object) => {
      try {
        native!.recommendMany!(nat, rows, 3, { threads: 1, ...opts });
        return 'no error';
      } catch (e) {
        return (e as { code: string }).code;
      }
    };
    expect(call(Int32Array.of(0, nRows), {})).toBe('E_INDEX_OUT_OF_RANGE');
    expect(call(Int32Array.of(0), { exclude: Int32Array.of(nCols) })).toBe('E_INDEX_OUT_OF_RANGE');
    expect(call(Int32Array.of(0), { excludePtr: new Int32Array(3), excludeIdx: new Int32Array(0) })).toBe('E_LENGTH_MISMATCH');
    expect(call(Int32Array.of(0), { exclude: [1, 2] })).toBe('E_INVALID_ARGUMENT');
  });
});
