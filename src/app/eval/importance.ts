/**
 * Shapley values of factors, as in the CPP paper's factor analysis: how much each model or task factor
 * contributes to the accuracy of a factor-using predictor. The game's value of a coalition S of
 * factors is the improvement in held-out error when the predictor may use only the factors in S,
 * so v(∅) = 0 and the Shapley values add up to the improvement from using all factors.
 *
 * {@link shapley} works with any value function; {@link factorImportance} wires it to
 * {@link evaluate} for a predictor and a protocol.
 */
import { Rng } from '../../numeric/rng.js';
import { CollabperfError } from '../../errors.js';
import type { Dataset, FactorSchema, Factors } from '../data/dataset.js';
import type { PredictContext, Predictor } from '../predictors/types.js';
import { evaluate } from './evaluate.js';
import type { Metrics } from './metrics.js';
import { makeFolds, parseProtocol, type Fold, type ProtocolSpec } from './protocols.js';

/** Options of {@link shapley}. */
export interface ShapleyOptions {
  /** Enumerate all coalitions exactly up to this many players (default 12, at most 20). */
  exactMaxPlayers?: number;
  /** Random permutations drawn beyond `exactMaxPlayers` (default 200). */
  samples?: number;
  /** Seed of the permutation sampling (default 0). */
  seed?: number;
  /** Called after each new coalition value is computed. */
  onProgress?: (p: { evaluations: number; coalition: string[] }) => void;
}

/** Result of {@link shapley}. */
export interface ShapleyResult {
  players: string[];
  /** Shapley value of each player, in `players` order. */
  values: number[];
  /** Standard error of each value: 0 when exact, else the sample standard deviation of the player's marginal contributions / √samples. */
  stdErrors: number[];
  exact: boolean;
  /** Permutations drawn (0 when exact). */
  samples: number;
  /** Distinct coalitions whose value was computed. */
  evaluations: number;
  /** v(∅) and v(all players). */
  empty: number;
  full: number;
}

/**
 * Shapley values of a cooperative game given by `value(S)`, which receives the coalition's players in
 * `players` order. Each distinct coalition is valued once (memoised), and sequentially, because a
 * value usually means fitting predictors, which already use the machine's cores.
 *
 * Up to `exactMaxPlayers` players: exact, φᵢ = Σ_{S ⊆ N∖{i}} |S|! (n−|S|−1)! / n! · (v(S ∪ {i}) − v(S)),
 * over all 2ⁿ coalitions. Beyond: the mean marginal contribution over `samples` seeded random
 * permutations, with its standard error; the estimates still add up exactly to v(N) − v(∅), since
 * every permutation's contributions do.
 */
export async function shapley(players: string[], value: (coalition: string[]) => Promise<number> | number, opts: ShapleyOptions = {}): Promise<ShapleyResult> {
  const n = players.length;
  if (new Set(players).size !== n) throw new CollabperfError('E_INVALID_ARGUMENT', 'players must have distinct names', { field: 'players' });
  const exactMax = opts.exactMaxPlayers ?? 12;
  if (!Number.isInteger(exactMax) || exactMax < 0 || exactMax > 20) {
    throw new CollabperfError('E_INVALID_ARGUMENT', `exactMaxPlayers must be an integer in 0..20, got ${exactMax}`, { field: 'exactMaxPlayers' });
  }
  const samples = opts.samples ?? 200;
  if (!Number.isInteger(samples) || samples < 1) throw new CollabperfError('E_INVALID_ARGUMENT', `samples must be a positive integer, got ${samples}`, { field: 'samples' });

  const memo = new Map<string, number>();
  const v = async (members: Uint8Array): Promise<number> => {
    let key = '';
    for (let i = 0; i < n; i++) key += members[i] ? '1' : '0';
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    const coalition = players.filter((_, i) => members[i]);
    const x = await value(coalition);
    if (typeof x !== 'number' || !Number.isFinite(x)) {
      throw new CollabperfError('E_NON_FINITE', `the value of coalition {${coalition.join(', ')}} is ${x}`);
    }
    memo.set(key, x);
    opts.onProgress?.({ evaluations: memo.size, coalition });
    return x;
  };

  const none = new Uint8Array(n);
  const all = new Uint8Array(n).fill(1);
  const empty = await v(none);
  const full = await v(all);
  const values = new Array<number>(n).fill(0);
  const stdErrors = new Array<number>(n).fill(0);

  if (n <= exactMax) {
    // weight[s] = s! (n-s-1)! / n!, built as a product to stay exact-ish without factorials.
    const weight = new Float64Array(Math.max(n, 1));
    for (let s = 0; s < n; s++) {
      let w = 1 / n;
      for (let j = 1; j <= s; j++) w *= j / (n - j);
      weight[s] = w;
    }
    const members = new Uint8Array(n);
    const vals = new Float64Array(1 << n);
    for (let mask = 0; mask < 1 << n; mask++) {
      for (let i = 0; i < n; i++) members[i] = (mask >> i) & 1;
      vals[mask] = await v(members);
    }
    for (let mask = 0; mask < 1 << n; mask++) {
      let size = 0;
      for (let i = 0; i < n; i++) size += (mask >> i) & 1;
      for (let i = 0; i < n; i++) if (!((mask >> i) & 1)) values[i] += weight[size] * (vals[mask | (1 << i)] - vals[mask]);
    }
    return { players: [...players], values, stdErrors, exact: true, samples: 0, evaluations: memo.size, empty, full };
  }

  const rng = new Rng(opts.seed ?? 0, 0x5a9e);
  const sum = new Float64Array(n);
  const sumSq = new Float64Array(n);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let s = 0; s < samples; s++) {
    rng.shuffle(order);
    const members = new Uint8Array(n);
    let prev = empty;
    for (const i of order) {
      members[i] = 1;
      const cur = await v(members);
      const d = cur - prev;
      sum[i] += d;
      sumSq[i] += d * d;
      prev = cur;
    }
  }
  for (let i = 0; i < n; i++) {
    const mean = sum[i] / samples;
    values[i] = mean;
    const variance = samples > 1 ? Math.max(0, (sumSq[i] - samples * mean * mean) / (samples - 1)) : NaN;
    stdErrors[i] = Math.sqrt(variance / samples);
  }
  return { players: [...players], values, stdErrors, exact: false, samples, evaluations: memo.size, empty, full };
}

/** The factors of a dataset as players: `model:<name>` and `task:<name>` (factor names may repeat across the two). */
export function factorPlayers(ds: Dataset): string[] {
  return [...ds.factorSchema.model.map((f) => `model:${f.name}`), ...ds.factorSchema.task.map((f) => `task:${f.name}`)];
}

/**
 * The dataset with only the factors named in `players` (`model:<name>` / `task:<name>`): the others
 * are removed from the schema and from every model and task. Scores are shared, not copied.
 */
export function restrictFactors(ds: Dataset, players: string[]): Dataset {
  const keep = new Set(players);
  for (const p of players) {
    const [what, ...rest] = p.split(':');
    const name = rest.join(':');
    const list = what === 'model' ? ds.factorSchema.model : what === 'task' ? ds.factorSchema.task : undefined;
    if (!list || !list.some((f) => f.name === name)) {
      throw new CollabperfError('E_NOT_FOUND', `no factor "${p}" in dataset "${ds.name}"; factors: ${factorPlayers(ds).join(', ') || 'none'}`, { field: 'factor' });
    }
  }
  const schema: FactorSchema = {
    model: ds.factorSchema.model.filter((f) => keep.has(`model:${f.name}`)).map((f) => ({ ...f })),
    task: ds.factorSchema.task.filter((f) => keep.has(`task:${f.name}`)).map((f) => ({ ...f })),
  };
  const pick = (factors: Factors, what: string): Factors => {
    const out: Factors = {};
    for (const [k, v] of Object.entries(factors)) if (keep.has(`${what}:${k}`)) out[k] = v;
    return out;
  };
  return {
    ...ds,
    models: ds.models.map((m) => ({ ...m, factors: pick(m.factors, 'model') })),
    tasks: ds.tasks.map((t) => ({ ...t, factors: pick(t.factors, 'task') })),
    factorSchema: schema,
  };
}

/** Metrics that can drive {@link factorImportance}, with whether higher is better. */
export const IMPORTANCE_METRICS = {
  mae: false,
  rmse: false,
  mae100: false,
  rmse100: false,
  nmse: false,
  nl1: false,
  spearman: true,
  rankAccuracy: true,
  mae2: true,
} as const satisfies Partial<Record<keyof Metrics, boolean>>;

/** Options of {@link factorImportance}. */
export interface FactorImportanceOptions extends ShapleyOptions {
  /** Protocol (default `cells:0.05`), or fixed folds with `split`. */
  protocol?: ProtocolSpec | string;
  split?: Fold[];
  /** Seeds (default 1, i.e. seed 0). */
  seeds?: number[] | number;
  /** Error measure whose improvement is the game's value (default `mae100`). */
  metric?: keyof typeof IMPORTANCE_METRICS;
  /** Factors to rank (default all of {@link factorPlayers}). */
  players?: string[];
  ctx?: Omit<PredictContext, 'seed'>;
}

/**
 * Shapley importance of factors for a factor-using predictor: v(S) = error with no factors − error
 * with only the factors in S (for a higher-is-better metric, the gain instead), where the error is
 * the metric's mean over seeds. The folds are drawn once from the full dataset, so every coalition
 * is scored on the same cells (and `family-out` still works when `model:family` is not in S).
 */
export async function factorImportance(ds: Dataset, predictor: Predictor, opts: FactorImportanceOptions = {}): Promise<ShapleyResult & { metric: string }> {
  const metric = opts.metric ?? 'mae100';
  if (!(metric in IMPORTANCE_METRICS)) {
    throw new CollabperfError('E_INVALID_ARGUMENT', `metric "${metric}" cannot drive factor importance; use one of ${Object.keys(IMPORTANCE_METRICS).join(', ')}`, { field: 'metric' });
  }
  const players = opts.players ?? factorPlayers(ds);
  restrictFactors(ds, players); // unknown factor names fail here, before any fit
  const seeds = opts.seeds ?? 1;
  const seedList = typeof seeds === 'number' ? Array.from({ length: seeds }, (_, i) => i) : seeds;
  const split =
    opts.split ??
    (() => {
      const spec = typeof opts.protocol === 'string' ? parseProtocol(opts.protocol) : (opts.protocol ?? parseProtocol('cells:0.05'));
      return seedList.flatMap((seed) => makeFolds(ds, spec, seed));
    })();
  const sign = IMPORTANCE_METRICS[metric] ? 1 : -1;
  const score = async (coalition: string[]): Promise<number> => {
    const r = await evaluate(restrictFactors(ds, coalition), [predictor], { split, seeds, ctx: opts.ctx });
    const x = r.methods[0].mean[metric];
    if (Number.isNaN(x)) {
      throw new CollabperfError(
        'E_INVALID_ARGUMENT',
        `${metric} is undefined for method "${predictor.name}" with factors {${coalition.join(', ')}} (e.g. Spearman of constant predictions); choose another metric`,
        { field: 'metric' },
      );
    }
    return x;
  };
  const base = await score([]);
  const result = await shapley(players, async (s) => (s.length === 0 ? 0 : sign * ((await score(s)) - base)), opts);
  return { ...result, metric };
}
