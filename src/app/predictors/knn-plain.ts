/**
 * Plain k-nearest-neighbour prediction: a model's missing score on a task is the average of the k
 * closest models' scores on it, closeness being the mean squared difference of per-task z-scores over
 * the tasks both have. No baseline, no similarity weights, no inner validation: the simplest
 * collaborative method, a reference in bench:accuracy and a member of the stack.
 */
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

/**
 * Fits plain kNN for the neighbour counts `ks` (nothing is learned beyond per-task z-scoring).
 * A pair must share at least one task, and two when the query model has two or more; a model with
 * no usable neighbour on the task gets the task's mean.
 */
export function fitPlainKnn(train: Dataset, ks: readonly number[]): PlainKnnFit {
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
  // Task-major copies over the active models for the distance scan: the z-score (0 where missing)
  // and a 0/1 presence weight, so that the scan adds `w (q - z)²` without a branch: a missing task
  // adds exactly +0, a present one exactly (q - z)², in the same task order as a row-wise scan.
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
  const sumSq = new Float64Array(A);
  const shared = new Float64Array(A);
  const { lo, hi } = clipRanges(train);
  const kMax = Math.max(...ks);
  const dist = new Float64Array(active.length);
  const bestD = new Float64Array(kMax);
  const bestJ = new Int32Array(kMax);
  // The L nearest candidates of the current query row, by (distance, position in `active`): a cell
  // walks these first and scans every candidate only when fewer than kMax of them have its task.
  const L = Math.min(active.length, 4 * kMax);
  const nearD = new Float64Array(L);
  const nearA = new Int32Array(L);
  let nNear = 0;
  /** Candidates at a finite distance from the current query row. */
  let nFinite = 0;
  /**
   * Distances of the z-score row `q` (NaN = missing, `qo` its offset in `Q`) to every active model;
   * `self` (−1 for a row not in the table) is never its own neighbour.
   */
  const distances = (Q: Float64Array, qo: number, need: number, self: number): void => {
    nNear = 0;
    nFinite = 0;
    // (Locals: the closure's variables would be reloaded from its context on every step.)
    const n = A;
    const zt = ZT;
    const wt = WT;
    const ss = sumSq;
    const sh = shared;
    ss.fill(0);
    sh.fill(0);
    for (let t = 0; t < T; t++) {
      const a = Q[qo + t];
      if (a !== a) continue;
      const o = t * n;
      for (let i = 0; i < n; i++) {
        const w = wt[o + i];
        const d = a - zt[o + i];
        ss[i] += w * (d * d);
        sh[i] += w;
      }
    }
    for (let i = 0; i < n; i++) {
      const j = active[i];
      const c = sh[i];
      const d = j === self || c < need ? Infinity : ss[i] / c;
      dist[i] = d;
      if (d === Infinity) continue;
      nFinite++;
      // A max-heap of the L nearest by (distance, position): a leaderboard sorted by score brings
      // ever closer rows towards the query, and a sorted list would shift on almost every one.
      if (nNear < L) heapPush(d, i);
      else if (d < nearD[0]) heapReplaceTop(d, i);
    }
    sortNear();
  };
  /** Whether (d1, a1) comes after (d2, a2): farther, or as far and later in `active`. */
  const after = (d1: number, a1: number, d2: number, a2: number): boolean => d1 > d2 || (d1 === d2 && a1 > a2);
  const heapPush = (d: number, a: number): void => {
    let p = nNear++;
    while (p > 0) {
      const up = (p - 1) >> 1;
      if (!after(d, a, nearD[up], nearA[up])) break;
      nearD[p] = nearD[up];
      nearA[p] = nearA[up];
      p = up;
    }
    nearD[p] = d;
    nearA[p] = a;
  };
  const heapReplaceTop = (d: number, a: number): void => {
    let p = 0;
    for (;;) {
      const l = 2 * p + 1;
      if (l >= nNear) break;
      const r = l + 1;
      const c = r < nNear && after(nearD[r], nearA[r], nearD[l], nearA[l]) ? r : l;
      if (!after(nearD[c], nearA[c], d, a)) break;
      nearD[p] = nearD[c];
      nearA[p] = nearA[c];
      p = c;
    }
    nearD[p] = d;
    nearA[p] = a;
  };
  /** Heap order to ascending (distance, position): the order in which the full scan ranks them. */
  const sortNear = (): void => {
    const idx = Array.from({ length: nNear }, (_, i) => i);
    idx.sort((x, y) => nearD[x] - nearD[y] || nearA[x] - nearA[y]);
    const d = idx.map((i) => nearD[i]);
    const a = idx.map((i) => nearA[i]);
    for (let i = 0; i < nNear; i++) (nearD[i] = d[i]), (nearA[i] = a[i]);
  };
  /** Writes the prediction of task `t` from the current distances, for each k, into `outs[ki][i]`. */
  const predictTask = (t: number, outs: Float64Array[], i: number): void => {
    let found = 0;
    for (let p = 0; p < nNear && found < kMax; p++) {
      const j = active[nearA[p]];
      if (Z[j * T + t] !== Z[j * T + t]) continue;
      bestD[found] = nearD[p];
      bestJ[found++] = j;
    }
    // Fewer than kMax of the nearest have the task (and there are others): the full scan, which
    // finds the same neighbours in the same order whenever the walk above would have sufficed.
    if (found < kMax && nNear < nFinite) found = scanTask(t);
    ks.forEach((k, ki) => {
      const use = Math.min(k, found);
      let s = 0;
      for (let p = 0; p < use; p++) s += Z[bestJ[p] * T + t];
      const z = use > 0 ? s / use : 0;
      outs[ki][i] = Math.min(hi[t], Math.max(lo[t], mom.mean[t] + mom.sd[t] * z));
    });
  };
  /** The kMax nearest candidates having task `t`, by a scan of every candidate; returns how many. */
  const scanTask = (t: number): number => {
    let found = 0;
    for (let a = 0; a < active.length; a++) {
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
      for (const [m, cells] of groups) {
        distances(Z, m * T, count[m] >= 2 ? 2 : 1, m);
        for (const i of cells) predictTask(tasks[i], outs, i);
      }
      return outs;
    },
    foldInAll(scores) {
      // The new row z-scored with the table's statistics, as a refit's own row would be (up to the
      // row's small pull on those statistics).
      const q = new Float64Array(T).fill(NaN);
      for (const g of scores) q[g.task] = (g.value - mom.mean[g.task]) / mom.sd[g.task];
      const outs = ks.map(() => new Float64Array(T));
      distances(q, 0, scores.length >= 2 ? 2 : 1, -1);
      for (let t = 0; t < T; t++) predictTask(t, outs, t);
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
      const f = fitPlainKnn(train, [k]);
      return { chosen: { k }, predict: (models, tasks) => f.predictAll(models, tasks)[0], foldIn: (scores) => f.foldInAll(scores)[0] };
    },
  };
}

/** The plain 5-NN reference of bench:accuracy. */
export const plainKnn5Predictor: Predictor = plainKnnPredictor(5);
