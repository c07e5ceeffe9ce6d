/**
 * The neighbour searches of the TypeScript backend (docs/kernels.md, "Nearest rows" and "Neighbour
 * weights"): the twins of native/core/neighbours.cpp, the same sums in the same order and the same
 * selections.
 */
import { CollabperfError } from '../../errors.js';
import type { NearestRows, NeighbourQueries, NeighbourTable, NeighbourWeights, SimilarityQueries, SimilarityTable } from '../types.js';

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

/**
 * Cosine similarity of query q (row `qr` with 0 where missing, presence `qm`) with every candidate
 * over their shared columns, into `sim`, and the overlap counts; 0 for candidate `self`, fewer than
 * `minOverlap` shared columns, or a zero norm. Writes the positions with positive similarity into
 * `positive` (increasing) and returns how many.
 */
function similarities(table: SimilarityTable, qr: Float64Array, qm: Float64Array, self: number, minOverlap: number, sim: Float64Array, overlap: Int32Array, positive: Int32Array): number {
  const T = table.nCols;
  const CR = table.resid;
  const CM = table.mask;
  const C = table.nCand;
  let np = 0;
  for (let i = 0; i < C; i++) {
    let dot = 0;
    let qq = 0;
    let jj = 0;
    let n = 0;
    const jo = i * T;
    for (let t = 0; t < T; t++) {
      const a = qr[t];
      const b = CR[jo + t];
      const mb = CM[jo + t];
      // Terms of a column either side lacks are exact zeros: the sums equal those over shared ones.
      dot += a * b;
      qq += a * a * mb;
      jj += b * b * qm[t];
      n += qm[t] * mb;
    }
    overlap[i] = n;
    sim[i] = i === self || n < minOverlap || !(qq > 0 && jj > 0) ? 0 : dot / Math.sqrt(qq * jj);
    if (sim[i] > 0) positive[np++] = i;
  }
  return np;
}

/**
 * The positive-similarity candidates having column t, best first (at most kMax), under shrinkage
 * beta, s = sim n / (n + beta): into idx / w from `at`; returns the count. `positive` is increasing,
 * and the strict comparisons keep the earlier candidate on ties.
 */
function topNeighbours(table: SimilarityTable, t: number, sim: Float64Array, overlap: Int32Array, positive: Int32Array, np: number, beta: number, kMax: number, idx: Int32Array, w: Float64Array, at: number): number {
  const T = table.nCols;
  const CM = table.mask;
  let k = 0;
  for (let j = 0; j < np; j++) {
    const i = positive[j];
    if (CM[i * T + t] === 0) continue;
    const n = overlap[i];
    const s = (sim[i] * n) / (n + beta);
    if (k === kMax && s <= w[at + k - 1]) continue;
    let p = k < kMax ? k++ : k - 1;
    while (p > 0 && w[at + p - 1] < s) {
      w[at + p] = w[at + p - 1];
      idx[at + p] = idx[at + p - 1];
      p--;
    }
    w[at + p] = s;
    idx[at + p] = i;
  }
  return k;
}

/** {@link KernelBackend.neighbourWeights} on this thread (`options.threads` is ignored). */
export function neighbourWeights(table: SimilarityTable, queries: SimilarityQueries, _options: { threads: number }): NeighbourWeights {
  const { rows, self, cellPtr, cellTask, betas, minOverlap, kMax } = queries;
  const T = table.nCols;
  const C = table.nCand;
  const nq = self.length;
  if (!(Number.isInteger(kMax) && kMax >= 1)) throw new CollabperfError('E_INVALID_ARGUMENT', `neighbourWeights: kMax must be an integer >= 1, got ${kMax}`);
  if (cellPtr.length !== nq + 1 || cellPtr[0] !== 0 || cellPtr[nq] !== cellTask.length) throw new CollabperfError('E_INVALID_ARGUMENT', `neighbourWeights: cellPtr must have ${nq + 1} offsets from 0 to ${cellTask.length}`);
  for (let q = 0; q < nq; q++) {
    if (self[q] < -1 || self[q] >= C) throw new CollabperfError('E_INDEX_OUT_OF_RANGE', `neighbourWeights: self[${q}] = ${self[q]} is outside [-1, ${C})`);
    if (cellPtr[q + 1] < cellPtr[q]) throw new CollabperfError('E_INVALID_ARGUMENT', `neighbourWeights: cellPtr[${q}], [${q + 1}] decrease`);
  }
  for (let c = 0; c < cellTask.length; c++) if (!(cellTask[c] >= 0 && cellTask[c] < T)) throw new CollabperfError('E_INDEX_OUT_OF_RANGE', `neighbourWeights: cellTask[${c}] = ${cellTask[c]} is outside [0, ${T})`);
  const B = betas.length;
  const slots = cellTask.length * B;
  const out: NeighbourWeights = { idx: new Int32Array(slots * kMax), w: new Float64Array(slots * kMax), found: new Int32Array(slots) };
  const sim = new Float64Array(C);
  const overlap = new Int32Array(C);
  const positive = new Int32Array(C);
  const qr = new Float64Array(T);
  const qm = new Float64Array(T);
  for (let q = 0; q < nq; q++) {
    if (cellPtr[q + 1] === cellPtr[q]) continue;
    for (let t = 0; t < T; t++) {
      const a = rows[q * T + t];
      qr[t] = a === a ? a : 0;
      qm[t] = a === a ? 1 : 0;
    }
    const np = similarities(table, qr, qm, self[q], minOverlap, sim, overlap, positive);
    for (let c = cellPtr[q]; c < cellPtr[q + 1]; c++) {
      for (let b = 0; b < B; b++) {
        const s = c * B + b;
        out.found[s] = topNeighbours(table, cellTask[c], sim, overlap, positive, np, betas[b], kMax, out.idx, out.w, s * kMax);
      }
    }
  }
  return out;
}
