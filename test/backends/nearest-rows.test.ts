/**
 * nearestRows: the TypeScript scan against a direct reference, and the addon against TypeScript
 * bit for bit, whatever the thread count.
 */
import { describe, expect, it } from 'vitest';
import { getBackend } from '../../src/backends/registry.js';
import type { NeighbourQueries, NeighbourTable } from '../../src/backends/types.js';
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
