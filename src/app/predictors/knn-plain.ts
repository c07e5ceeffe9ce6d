/**
 * Plain k-nearest-neighbour prediction: a model's missing score on a task is the average of the k
 * closest models' scores on it, closeness being the mean squared difference of per-task z-scores over
 * the tasks both have. No baseline, no similarity weights, no inner validation: the simplest
 * collaborative method, a reference in bench:accuracy and a member of the stack.
 */
import { backendWithKernel, type BackendChoice } from '../../backends/registry.js';
import type { NearestRows, NeighbourTable } from '../../backends/types.js';
import type { Dataset } from '../data/dataset.js';
import { cellsOf } from '../data/observed-cells.js';
import { checkPredictArgs, clipRanges, throwIfAborted } from './baseline-shared.js';
import { taskStats } from '../stats/task-stats.js';
import type { FittedPredictor, PredictContext, Predictor } from './types.js';

/** A fitted plain kNN that predicts for several k from one neighbour search per model. */
export interface PlainKnnFit {
  ks: readonly number[];
  /** One prediction array per k, in the order of `ks`. */
  predictAll(models: Int32Array, tasks: Int32Array): Float64Array[];
  /** Every task's prediction (one array per k) for a model not in the table, from some of its scores. */
  foldInAll(scores: ReadonlyArray<{ task: number; value: number }>): Float64Array[];
}

/** Where a plain kNN fit runs its neighbour searches. */
export interface PlainKnnRun {
  /** The backend whose `nearestRows` is used (TypeScript's when it has none); default auto's. */
  backend?: BackendChoice;
  /** Threads of a search (default: the backend's). */
  threads?: number;
}


/**
 * Fits plain kNN for the neighbour counts `ks` (nothing is learned beyond per-task z-scoring).
 * A pair must share at least one task, and two when the query model has two or more; a model with
 * no usable neighbour on the task gets the task's mean. The neighbour searches are the backend's
 * `nearestRows` (docs/kernels.md), one call per `predictAll`.
 */
export function fitPlainKnn(train: Dataset, ks: readonly number[], run: PlainKnnRun = {}): PlainKnnFit {
  const c = cellsOf(train);
  const { nModels: M, nTasks: T } = c;
  const mom = taskStats(c);
  const Z = new Float64Array(M * T).fill(NaN);
  const count = new Int32Array(M);
  for (let e = 0; e < c.value.length; e++) {
    Z[c.model[e] * T + c.task[e]] = (c.value[e] - mom.mean[c.task[e]]) / mom.sd[c.task[e]];
    count[c.model[e]]++;
  }
  const active = Int32Array.from(Array.from({ length: M }, (_, m) => m).filter((m) => count[m] > 0));
  const A = active.length;
  const position = new Int32Array(M).fill(-1);
  active.forEach((m, i) => (position[m] = i));
  // Task-major copies over the active models for the search: the z-score (0 where missing) and a
  // 0/1 presence weight, so that it adds `w (q - z)²` without a branch.
  const ZT = new Float64Array(T * A);
  const WT = new Float64Array(T * A);
  for (let i = 0; i < A; i++) {
    const jo = active[i] * T;
    for (let t = 0; t < T; t++) {
      const z = Z[jo + t];
      if (z === z) {
        ZT[t * A + i] = z;
        WT[t * A + i] = 1;
      }
    }
  }
  const table: NeighbourTable = { nCand: A, nCols: T, zt: ZT, wt: WT };
  const searcher = backendWithKernel('nearestRows', run.backend);
  const threads = run.threads ?? searcher.details().maxThreads;
  const { lo, hi } = clipRanges(train);
  const kMax = Math.max(...ks);
  // The L nearest candidates of a query row, by (distance, position in `active`): a cell walks these
  // first and scans every candidate only when fewer than kMax of them have its task.
  const L = Math.max(1, Math.min(A, 4 * kMax));
  const bestD = new Float64Array(kMax);
  const bestJ = new Int32Array(kMax);
  const search = (rows: Float64Array, need: Int32Array, self: Int32Array, width: number) => searcher.nearestRows!(table, { query: rows, need, self }, width, { threads });
  /** Every candidate's distance from query row `q` (for the full scan): a search keeping them all. */
  const allDistances = (q: Float64Array, need: number, self: number): Float64Array => {
    const dist = new Float64Array(A).fill(Infinity);
    const r = search(q, Int32Array.of(need), Int32Array.of(self), A);
    for (let p = 0; p < r.count[0]; p++) dist[r.idx[p]] = r.dist[p];
    return dist;
  };
  /**
   * Writes the prediction of task `t` for query g of search `r` (its nearest at `g * L`), for each
   * k, into `outs[ki][i]`; `full` gives every candidate's distance when the nearest do not suffice.
   */
  const predictTask = (t: number, outs: Float64Array[], i: number, r: NearestRows, g: number, full: (g: number) => Float64Array): void => {
    let found = 0;
    const n = r.count[g];
    const o = g * L;
    for (let p = 0; p < n && found < kMax; p++) {
      const j = active[r.idx[o + p]];
      if (Z[j * T + t] !== Z[j * T + t]) continue;
      bestD[found] = r.dist[o + p];
      bestJ[found++] = j;
    }
    // Fewer than kMax of the nearest have the task (and there are others): the full scan, which
    // finds the same neighbours in the same order whenever the walk above would have sufficed.
    if (found < kMax && n < r.finite[g]) found = scanTask(t, full(g));
    ks.forEach((k, ki) => {
      const use = Math.min(k, found);
      let s = 0;
      for (let p = 0; p < use; p++) s += Z[bestJ[p] * T + t];
      const z = use > 0 ? s / use : 0;
      outs[ki][i] = Math.min(hi[t], Math.max(lo[t], mom.mean[t] + mom.sd[t] * z));
    });
  };
  /** The kMax nearest candidates having task `t`, by a scan of every candidate; returns how many. */
  const scanTask = (t: number, dist: Float64Array): number => {
    let found = 0;
    for (let a = 0; a < A; a++) {
      const d = dist[a];
      if (d === Infinity) continue;
      const v = Z[active[a] * T + t];
      if (v !== v) continue;
      if (found === kMax && d >= bestD[kMax - 1]) continue;
      let p = found < kMax ? found++ : kMax - 1;
      while (p > 0 && bestD[p - 1] > d) {
        bestD[p] = bestD[p - 1];
        bestJ[p] = bestJ[p - 1];
        p--;
      }
      bestD[p] = d;
      bestJ[p] = active[a];
    }
    return found;
  };
  /** Predictions of the rows `rows` (one query each) for the cells `cells[g]` of row g. */
  const predictRows = (rows: Float64Array, need: Int32Array, self: Int32Array, cellsOfRow: (g: number, each: (task: number, i: number) => void) => void, outs: Float64Array[]): void => {
    const n = need.length;
    if (n === 0 || A === 0) {
      for (let g = 0; g < n; g++) cellsOfRow(g, (t, i) => ks.forEach((_, ki) => (outs[ki][i] = Math.min(hi[t], Math.max(lo[t], mom.mean[t])))));
      return;
    }
    const r = search(rows, need, self, L);
    // Every distance of a query, computed at most once per query and only when a cell needs it.
    let fullOf = -1;
    let dist: Float64Array | null = null;
    const full = (g: number): Float64Array => {
      if (fullOf !== g) {
        dist = allDistances(rows.subarray(g * T, (g + 1) * T), need[g], self[g]);
        fullOf = g;
      }
      return dist!;
    };
    for (let g = 0; g < n; g++) cellsOfRow(g, (t, i) => predictTask(t, outs, i, r, g, full));
  };
  return {
    ks,
    predictAll(models, tasks) {
      checkPredictArgs(models, tasks, M, T);
      const outs = ks.map(() => new Float64Array(models.length));
      const groups = new Map<number, number[]>();
      models.forEach((m, i) => {
        let g = groups.get(m);
        if (!g) groups.set(m, (g = []));
        g.push(i);
      });
      const ms = [...groups.keys()];
      const rows = new Float64Array(ms.length * T);
      ms.forEach((m, g) => rows.set(Z.subarray(m * T, (m + 1) * T), g * T));
      const need = Int32Array.from(ms, (m) => (count[m] >= 2 ? 2 : 1));
      const self = Int32Array.from(ms, (m) => position[m]);
      predictRows(rows, need, self, (g, each) => {
        for (const i of groups.get(ms[g])!) each(tasks[i], i);
      }, outs);
      return outs;
    },
    foldInAll(scores) {
      // The new row z-scored with the table's statistics, as a refit's own row would be (up to the
      // row's small pull on those statistics).
      const q = new Float64Array(T).fill(NaN);
      for (const g of scores) q[g.task] = (g.value - mom.mean[g.task]) / mom.sd[g.task];
      const outs = ks.map(() => new Float64Array(T));
      predictRows(q, Int32Array.of(scores.length >= 2 ? 2 : 1), Int32Array.of(-1), (_, each) => {
        for (let t = 0; t < T; t++) each(t, t);
      }, outs);
      return outs;
    },
  };
}

/**
 * Plain k-NN: the average of the `k` nearest models' scores on the task (nearest by mean squared
 * z-score difference over shared tasks). `chosen`: `{ k }`.
 */
export function plainKnnPredictor(k: number): Predictor {
  return {
    name: `knn-plain-${k}`,
    description: `plain average of the ${k} nearest models' scores (mean squared z-score distance over shared tasks)`,
    usesFactors: false,
    portable: true,
    canFoldIn: true,
    async fit(train: Dataset, ctx: PredictContext): Promise<FittedPredictor> {
      throwIfAborted(ctx.signal, 'the plain knn fit');
      const f = fitPlainKnn(train, [k], { backend: ctx.backend, threads: ctx.threads });
      return { chosen: { k }, predict: (models, tasks) => f.predictAll(models, tasks)[0], foldIn: (scores) => f.foldInAll(scores)[0] };
    },
  };
}

/** The plain 5-NN reference of bench:accuracy. */
export const plainKnn5Predictor: Predictor = plainKnnPredictor(5);
