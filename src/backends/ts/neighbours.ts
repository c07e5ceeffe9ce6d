/**
 * Nearest rows of a masked table on the TypeScript backend (docs/kernels.md, "Nearest rows"): the
 * twin of native/core/neighbours.cpp, the same sums in the same order and the same selection.
 */
import { CollabperfError } from '../../errors.js';
import type { NearestRows, NeighbourQueries, NeighbourTable } from '../types.js';

/**
 * Distances of query q to every candidate into `ss` (`sh` is scratch): ss / sh over the query's
 * columns in order, w (a - z)^2 added branch-free (a missing column adds exactly +0); Infinity
 * when fewer than `need` columns are shared or the candidate is `self`.
 */
function distances(table: NeighbourTable, queries: NeighbourQueries, q: number, ss: Float64Array, sh: Float64Array): void {
  // (Locals: properties would be reloaded on every step.)
  const n = table.nCand;
  const T = table.nCols;
  const zt = table.zt;
  const wt = table.wt;
  const Q = queries.query;
  ss.fill(0);
  sh.fill(0);
  for (let t = 0; t < T; t++) {
    const a = Q[q * T + t];
    if (a !== a) continue;
    const o = t * n;
    for (let i = 0; i < n; i++) {
      const w = wt[o + i];
      const d = a - zt[o + i];
      ss[i] += w * (d * d);
      sh[i] += w;
    }
  }
  const need = queries.need[q];
  const self = queries.self[q];
  for (let i = 0; i < n; i++) ss[i] = i === self || sh[i] < need ? Infinity : ss[i] / sh[i];
}

/** The L nearest of one query: a max-heap by (distance, position), then ascending. */
class Nearest {
  readonly d: Float64Array;
  readonly a: Int32Array;
  n = 0;
  constructor(readonly L: number) {
    this.d = new Float64Array(L);
    this.a = new Int32Array(L);
  }
  /** Whether (d1, a1) comes after (d2, a2): farther, or as far and later. */
  private static after(d1: number, a1: number, d2: number, a2: number): boolean {
    return d1 > d2 || (d1 === d2 && a1 > a2);
  }
  offer(dist: number, pos: number): void {
    const { d, a } = this;
    if (this.n < this.L) {
      let p = this.n++;
      while (p > 0) {
        const up = (p - 1) >> 1;
        if (!Nearest.after(dist, pos, d[up], a[up])) break;
        d[p] = d[up];
        a[p] = a[up];
        p = up;
      }
      d[p] = dist;
      a[p] = pos;
      return;
    }
    // Positions come in ascending order, so an equal distance never displaces the top.
    if (!(dist < d[0])) return;
    let p = 0;
    for (;;) {
      const l = 2 * p + 1;
      if (l >= this.n) break;
      const r = l + 1;
      const c = r < this.n && Nearest.after(d[r], a[r], d[l], a[l]) ? r : l;
      if (!Nearest.after(d[c], a[c], dist, pos)) break;
      d[p] = d[c];
      a[p] = a[c];
      p = c;
    }
    d[p] = dist;
    a[p] = pos;
  }
  /** Writes the kept candidates ascending by (distance, position) into out at `at`. */
  drain(out: NearestRows, at: number): void {
    const idx = Array.from({ length: this.n }, (_, i) => i);
    idx.sort((x, y) => this.d[x] - this.d[y] || this.a[x] - this.a[y]);
    idx.forEach((i, p) => {
      out.dist[at + p] = this.d[i];
      out.idx[at + p] = this.a[i];
    });
  }
}

/** {@link KernelBackend.nearestRows} on this thread (`options.threads` is ignored). */
export function nearestRows(table: NeighbourTable, queries: NeighbourQueries, L: number, _options: { threads: number }): NearestRows {
  if (!(Number.isInteger(L) && L >= 1)) throw new CollabperfError('E_INVALID_ARGUMENT', `nearestRows: L must be an integer >= 1, got ${L}`);
  const nq = queries.need.length;
  const A = table.nCand;
  for (let q = 0; q < nq; q++) {
    const s = queries.self[q];
    if (s < -1 || s >= A) throw new CollabperfError('E_INDEX_OUT_OF_RANGE', `nearestRows: self[${q}] = ${s} is outside [-1, ${A})`);
  }
  const out: NearestRows = { idx: new Int32Array(nq * L), dist: new Float64Array(nq * L), count: new Int32Array(nq), finite: new Int32Array(nq) };
  const ss = new Float64Array(A);
  const sh = new Float64Array(A);
  const near = new Nearest(L);
  for (let q = 0; q < nq; q++) {
    distances(table, queries, q, ss, sh);
    near.n = 0;
    let finite = 0;
    for (let i = 0; i < A; i++) {
      const d = ss[i];
      if (!(d < Infinity)) continue;
      finite++;
      near.offer(d, i);
    }
    near.drain(out, q * L);
    out.count[q] = near.n;
    out.finite[q] = finite;
  }
  return out;
}
