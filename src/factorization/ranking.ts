/**
 * Ranking metrics for implicit feedback: how well the top-k recommendations of each row find its
 * held-out interactions. The training columns of a row are never recommended (they are excluded as
 * `recommend` excludes them), so held-out columns the row also has in training do not count.
 */
import { CollabperfError } from '../errors.js';
import { Rng } from '../numeric/rng.js';
import type { FactorModel } from './model.js';

/** Means over the evaluated rows (those with at least one held-out column). */
export interface RankingMetrics {
  k: number;
  /** Hits in the top k, over k. */
  precision: number;
  /** Hits in the top k, over the row's held-out count. */
  recall: number;
  /** DCG of the top k (gain 1 per hit, discount 1/log2(rank + 1)) over the best DCG possible with the row's held-out count. */
  ndcg: number;
  /** Average precision at k: the precision at each hit's rank, summed, over min(k, held-out count). */
  map: number;
  /** Rows evaluated. */
  rows: number;
}

/**
 * The metrics of ranked lists (best first) against the relevant columns of each list's row. Rows
 * without relevant columns are left out; lists longer than k are cut to k.
 */
export function rankingMetrics(lists: readonly ArrayLike<number>[], relevant: readonly ReadonlySet<number>[], k: number): RankingMetrics {
  if (!Number.isInteger(k) || k < 1) throw new CollabperfError('E_INVALID_ARGUMENT', `k must be a positive integer, got ${k}`, { field: 'k' });
  if (lists.length !== relevant.length) throw new CollabperfError('E_LENGTH_MISMATCH', `${lists.length} lists for ${relevant.length} relevant sets`);
  let p = 0;
  let r = 0;
  let nd = 0;
  let ap = 0;
  let n = 0;
  for (let i = 0; i < lists.length; i++) {
    const rel = relevant[i];
    if (rel.size === 0) continue;
    const list = lists[i];
    const m = Math.min(k, list.length);
    let hits = 0;
    let dcg = 0;
    let precSum = 0;
    for (let j = 0; j < m; j++) {
      if (!rel.has(list[j])) continue;
      hits++;
      dcg += 1 / Math.log2(j + 2);
      precSum += hits / (j + 1);
    }
    let idcg = 0;
    const ideal = Math.min(k, rel.size);
    for (let j = 0; j < ideal; j++) idcg += 1 / Math.log2(j + 2);
    p += hits / k;
    r += hits / rel.size;
    nd += dcg / idcg;
    ap += precSum / ideal;
    n++;
  }
  return n === 0 ? { k, precision: NaN, recall: NaN, ndcg: NaN, map: NaN, rows: 0 } : { k, precision: p / n, recall: r / n, ndcg: nd / n, map: ap / n, rows: n };
}

/** Held-out interactions in the model's ids; with `values`, only those > 0 count as interactions. */
export interface HeldOut<Id> {
  rows: ArrayLike<Id>;
  cols: ArrayLike<Id>;
  values?: ArrayLike<number>;
}

/** Options of {@link evaluateRanking}. */
export interface RankingOptions {
  /** Cut-off (default 10). */
  k?: number;
  /** Evaluate at most this many rows (a seeded sample of those with held-out columns; default all). */
  maxRows?: number;
  /** Seed of that sample (default 1). */
  seed?: number;
}

/** {@link RankingMetrics} plus what could not be evaluated. */
export interface RankingReport extends RankingMetrics {
  /** Held-out entries whose row the model does not know (no recommendation to judge). */
  unknownRows: number;
  /** Held-out entries whose column the model does not know: relevant, but never recommendable. */
  unknownCols: number;
  /** Held-out entries the row also has in training (left out: they are never recommended). */
  inTraining: number;
}

interface Grouped {
  rows: number[];
  relevant: Set<number>[];
  unknownRows: number;
  unknownCols: number;
  inTraining: number;
}

/** The index, or -1 when the model does not know the id. */
function indexOrMinus(f: () => number): number {
  try {
    return f();
  } catch (e) {
    if (e instanceof CollabperfError && (e.code === 'E_NOT_FOUND' || e.code === 'E_INDEX_OUT_OF_RANGE')) return -1;
    throw e;
  }
}

function group<Id extends number | string>(model: FactorModel<Id>, held: HeldOut<Id>, opts: RankingOptions): Grouped {
  const { rows, cols, values } = held;
  if (rows.length !== cols.length || (values !== undefined && values.length !== rows.length)) {
    throw new CollabperfError('E_LENGTH_MISMATCH', 'held-out rows, cols (and values) must have the same length');
  }
  const byRow = new Map<number, Set<number>>();
  let unknownRows = 0;
  let unknownCols = 0;
  let inTraining = 0;
  const known = model.known;
  for (let i = 0; i < rows.length; i++) {
    if (values !== undefined && !(values[i] > 0)) continue;
    const r = indexOrMinus(() => model.rowIndex(rows[i]));
    if (r < 0) {
      unknownRows++;
      continue;
    }
    let c = indexOrMinus(() => model.colIndex(cols[i]));
    if (c < 0) {
      // A distinct negative stands for a column no list can contain.
      c = -1 - i;
      unknownCols++;
    }
    if (c >= 0 && known) {
      const a = known.ptr[r];
      const b = known.ptr[r + 1];
      let lo = a;
      let hi = b - 1;
      let found = false;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        const x = known.cols[mid];
        if (x === c) {
          found = true;
          break;
        }
        if (x < c) lo = mid + 1;
        else hi = mid - 1;
      }
      if (found) {
        inTraining++;
        continue;
      }
    }
    let set = byRow.get(r);
    if (!set) byRow.set(r, (set = new Set()));
    set.add(c);
  }
  let chosen = [...byRow.keys()].sort((a, b) => a - b);
  const max = opts.maxRows;
  if (max !== undefined) {
    if (!Number.isInteger(max) || max < 1) throw new CollabperfError('E_INVALID_ARGUMENT', `maxRows must be a positive integer, got ${max}`, { field: 'maxRows' });
    if (chosen.length > max) {
      const order = Int32Array.from(chosen);
      new Rng(opts.seed ?? 1, 3).shuffle(order);
      chosen = Array.from(order.subarray(0, max)).sort((a, b) => a - b);
    }
  }
  return { rows: chosen, relevant: chosen.map((r) => byRow.get(r)!), unknownRows, unknownCols, inTraining };
}

function report(g: Grouped, lists: number[][], k: number): RankingReport {
  return { ...rankingMetrics(lists, g.relevant, k), unknownRows: g.unknownRows, unknownCols: g.unknownCols, inTraining: g.inTraining };
}

/**
 * Precision, recall, NDCG and MAP at k of the model's recommendations (training columns excluded,
 * as `recommend` does by default) on held-out interactions given in the model's ids.
 */
export function evaluateRanking<Id extends number | string>(model: FactorModel<Id>, heldOut: HeldOut<Id>, opts: RankingOptions = {}): RankingReport {
  const k = opts.k ?? 10;
  const g = group(model, heldOut, opts);
  const lists = g.rows.map((r) => model.recommend(model.rowId(r), k).map((x) => model.colIndex(x.col)));
  return report(g, lists, k);
}

/**
 * The same metrics for the most-popular baseline: every row gets the columns with the most training
 * interactions (ties by lower column), minus its own training columns. Needs the model's training
 * column sets.
 */
export function popularityRanking<Id extends number | string>(model: FactorModel<Id>, heldOut: HeldOut<Id>, opts: RankingOptions = {}): RankingReport {
  const k = opts.k ?? 10;
  const known = model.known;
  if (!known) throw new CollabperfError('E_INVALID_ARGUMENT', 'the popularity baseline needs the training column sets (a model fitted by this version, or a version-2 file)');
  const count = new Float64Array(model.nCols);
  for (let p = 0; p < known.cols.length; p++) count[known.cols[p]]++;
  const byPopularity = Array.from({ length: model.nCols }, (_, c) => c).sort((a, b) => count[b] - count[a] || a - b);
  const g = group(model, heldOut, opts);
  const lists = g.rows.map((r) => {
    const own = new Set<number>();
    for (let p = known.ptr[r]; p < known.ptr[r + 1]; p++) own.add(known.cols[p]);
    const out: number[] = [];
    for (let i = 0; i < byPopularity.length && out.length < k; i++) if (!own.has(byPopularity[i])) out.push(byPopularity[i]);
    return out;
  });
  return report(g, lists, k);
}
