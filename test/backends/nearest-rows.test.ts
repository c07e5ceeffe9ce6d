/**
 * nearestRows: the TypeScript scan against a direct reference, and the addon against TypeScript
 * bit for bit, whatever the thread count.
 */
import { describe, expect, it } from 'vitest';
import { getBackend } from '../../src/backends/registry.js';
import type { NeighbourQueries, NeighbourTable, SimilarityQueries, SimilarityTable } from '../../src/backends/types.js';
import { Rng } from '../../src/numeric/rng.js';
import { nativeForSuite } from '../helpers/backends.js';
import { codeOf } from '../helpers/errors.js';

const native = nativeForSuite('nearestRows on native');
const ts = getBackend('ts');

/** A table of `A` candidates x `T` columns with about `miss` of the cells missing, and `nq` queries. */
function fixture(A: number, T: number, nq: number, miss: number, seed: number): { table: NeighbourTable; queries: NeighbourQueries; rows: Float64Array } {
  const rng = new Rng(seed, 3);
  const rows = new Float64Array(A * T);
  for (let i = 0; i < rows.length; i++) rows[i] = rng.nextDouble() < miss ? NaN : Math.round((rng.nextDouble() * 4 - 2) * 8) / 8;
  const zt = new Float64Array(T * A);
  const wt = new Float64Array(T * A);
  for (let i = 0; i < A; i++) {
    for (let t = 0; t < T; t++) {
      const v = rows[i * T + t];
      if (v === v) {
        zt[t * A + i] = v;
        wt[t * A + i] = 1;
      }
    }
  }
  // Queries: the first nq candidates themselves (self excluded) and rounded values, so ties occur.
  const query = rows.slice(0, nq * T);
  const need = Int32Array.from({ length: nq }, (_, q) => 1 + (q % 2));
  const self = Int32Array.from({ length: nq }, (_, q) => (q % 3 === 0 ? -1 : q));
  return { table: { nCand: A, nCols: T, zt, wt }, queries: { query, need, self }, rows };
}

/** The definition, directly: every finite (distance, position), sorted, the first L. */
function reference(rows: Float64Array, T: number, A: number, queries: NeighbourQueries, q: number, L: number) {
  const all: Array<[number, number]> = [];
  for (let i = 0; i < A; i++) {
    let ss = 0;
    let n = 0;
    for (let t = 0; t < T; t++) {
      const a = queries.query[q * T + t];
      const z = rows[i * T + t];
      if (a !== a || z !== z) continue;
      ss += (a - z) * (a - z);
      n++;
    }
    if (i === queries.self[q] || n < queries.need[q]) continue;
    all.push([ss / n, i]);
  }
  all.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  return { finite: all.length, near: all.slice(0, L) };
}

describe('nearestRows on TypeScript', () => {
  it.each([
    [60, 6, 0.2, 8],
    [40, 12, 0.6, 50],
  ])('%i candidates x %i columns (%f missing), L = %i: the definition', (A, T, miss, L) => {
    const { table, queries, rows } = fixture(A, T, 20, miss, A + T);
    const r = ts.nearestRows!(table, queries, L, { threads: 1 });
    for (let q = 0; q < 20; q++) {
      const want = reference(rows, T, A, queries, q, L);
      expect(r.finite[q]).toBe(want.finite);
      expect(r.count[q]).toBe(Math.min(L, want.finite));
      const got = Array.from({ length: r.count[q] }, (_, p) => [r.dist[q * L + p], r.idx[q * L + p]]);
      expect(got.map((x) => x[1])).toEqual(want.near.map((x) => x[1]));
      got.forEach(([d], p) => expect(d).toBeCloseTo(want.near[p][0], 12));
    }
  });
  it('refuses L < 1 and a self outside the candidates', () => {
    const { table, queries } = fixture(10, 3, 2, 0, 1);
    expect(() => ts.nearestRows!(table, queries, 0, { threads: 1 })).toThrow(/L must be/);
    expect(() => ts.nearestRows!(table, { ...queries, self: Int32Array.of(0, 10) }, 3, { threads: 1 })).toThrow(/self\[1\] = 10/);
  });
});

describe.runIf(native !== null)('nearestRows on native', () => {
  it.each([
    [500, 6, 0.1, 20],
    [300, 20, 0.7, 300],
    [64, 5, 0.5, 1],
    // Enough work (64 queries x 5000 x 8) for the native search to use two threads.
    [5000, 8, 0.2, 20],
  ])('%i x %i (%f missing), L = %i: the TypeScript bits on 1 and 2 threads', (A, T, miss, L) => {
    const { table, queries } = fixture(A, T, 64, miss, 7 * A + T);
    const want = ts.nearestRows!(table, queries, L, { threads: 1 });
    for (const threads of [1, 2]) {
      const got = native!.nearestRows!(table, queries, L, { threads });
      expect(got.count).toEqual(want.count);
      expect(got.finite).toEqual(want.finite);
      expect(got.idx).toEqual(want.idx);
      expect(got.dist).toEqual(want.dist);
    }
  });
  it('refuses bad arguments with coded errors', async () => {
    const { table, queries } = fixture(10, 3, 2, 0, 1);
    const call = (f: () => unknown) => codeOf((async () => f())());
    expect(await call(() => native!.nearestRows!(table, { ...queries, self: Int32Array.of(0, 10) }, 3, { threads: 1 }))).toBe('E_INDEX_OUT_OF_RANGE');
    expect(await call(() => native!.nearestRows!({ ...table, zt: new Float64Array(3) }, queries, 3, { threads: 1 }))).toBe('E_LENGTH_MISMATCH');
    expect(await call(() => native!.nearestRows!(table, queries, 0, { threads: 1 }))).toBe('E_INVALID_ARGUMENT');
  });
});

/** A similarity table (candidate-major) and queries with their cells, ties and self included. */
function similarityFixture(C: number, T: number, nq: number, miss: number, seed: number): { table: SimilarityTable; queries: SimilarityQueries; rows: Float64Array } {
  const rng = new Rng(seed, 5);
  const rows = new Float64Array(C * T);
  for (let i = 0; i < rows.length; i++) rows[i] = rng.nextDouble() < miss ? NaN : Math.round((rng.nextDouble() * 4 - 2) * 4) / 4;
  const resid = Float64Array.from(rows, (v) => (v === v ? v : 0));
  const mask = Float64Array.from(rows, (v) => (v === v ? 1 : 0));
  const cellPtr = new Int32Array(nq + 1);
  const tasks: number[] = [];
  for (let q = 0; q < nq; q++) {
    for (let t = 0; t < T; t++) if (rng.nextDouble() < 0.5) tasks.push(t);
    cellPtr[q + 1] = tasks.length;
  }
  return {
    table: { nCand: C, nCols: T, resid, mask },
    queries: { rows: rows.slice(0, nq * T), self: Int32Array.from({ length: nq }, (_, q) => (q % 4 === 0 ? -1 : q)), cellPtr, cellTask: Int32Array.from(tasks), betas: Float64Array.of(0, 2, 5), minOverlap: 2, kMax: 7 },
    rows,
  };
}

describe('neighbourWeights on TypeScript', () => {
  it('keeps, per cell and shrinkage, the most similar candidates having the cell\'s column, best first', () => {
    const { table, queries, rows } = similarityFixture(80, 8, 12, 0.3, 2);
    const T = 8;
    const r = ts.neighbourWeights!(table, queries, { threads: 1 });
    for (let q = 0; q < 12; q++) {
      for (let c = queries.cellPtr[q]; c < queries.cellPtr[q + 1]; c++) {
        const t = queries.cellTask[c];
        queries.betas.forEach((beta, b) => {
          // The definition: cosine over shared columns, shrunk by n / (n + beta), positive only.
          const all: Array<[number, number]> = [];
          for (let i = 0; i < 80; i++) {
            if (i === queries.self[q] || rows[i * T + t] !== rows[i * T + t]) continue;
            let dot = 0, qq = 0, jj = 0, n = 0;
            for (let u = 0; u < T; u++) {
              const a = queries.rows[q * T + u];
              const z = rows[i * T + u];
              if (a !== a || z !== z) continue;
              dot += a * z;
              qq += a * a;
              jj += z * z;
              n++;
            }
            if (n < 2 || !(qq > 0 && jj > 0)) continue;
            const sim = dot / Math.sqrt(qq * jj);
            if (sim > 0) all.push([(sim * n) / (n + beta), i]);
          }
          all.sort((x, y) => y[0] - x[0] || x[1] - y[1]);
          const s = c * 3 + b;
          const got = Array.from(r.idx.subarray(s * 7, s * 7 + r.found[s]));
          expect(r.found[s]).toBe(Math.min(7, all.length));
          // Rounding can swap near-ties; the weights must match the definition in order.
          expect(Array.from(r.w.subarray(s * 7, s * 7 + r.found[s])).map((w) => w.toFixed(9))).toEqual(all.slice(0, 7).map((x) => x[0].toFixed(9)));
          expect(new Set(got).size).toBe(got.length);
        });
      }
    }
  });
});

describe.runIf(native !== null)('neighbourWeights on native', () => {
  it.each([
    [300, 6, 40, 0.1],
    [120, 25, 30, 0.6],
    // 64 queries x 5000 x 8: two threads natively.
    [5000, 8, 64, 0.2],
  ])('%i x %i, %i queries (%f missing): the TypeScript bits on 1 and 2 threads', (C, T, nq, miss) => {
    const { table, queries } = similarityFixture(C, T, nq, miss, C + T);
    const want = ts.neighbourWeights!(table, queries, { threads: 1 });
    for (const threads of [1, 2]) {
      const got = native!.neighbourWeights!(table, queries, { threads });
      expect(got.found).toEqual(want.found);
      expect(got.idx).toEqual(want.idx);
      expect(got.w).toEqual(want.w);
    }
  });
  it('refuses bad offsets and tasks with coded errors', async () => {
    const { table, queries } = similarityFixture(20, 4, 3, 0, 1);
    const call = (f: () => unknown) => codeOf((async () => f())());
    expect(await call(() => native!.neighbourWeights!(table, { ...queries, cellTask: Int32Array.from(queries.cellTask, () => 4) }, { threads: 1 }))).toBe('E_INDEX_OUT_OF_RANGE');
    expect(await call(() => native!.neighbourWeights!(table, { ...queries, cellPtr: Int32Array.of(0, 1, 0, queries.cellTask.length) }, { threads: 1 }))).toBe('E_INVALID_ARGUMENT');
    expect(await call(() => native!.neighbourWeights!(table, { ...queries, self: Int32Array.of(0, 20, 1) }, { threads: 1 }))).toBe('E_INDEX_OUT_OF_RANGE');
  });
});
