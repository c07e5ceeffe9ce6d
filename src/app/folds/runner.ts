/**
 * The one fold runner of the application. Evaluation, interval calibration, probe simulation,
 * advice and the report all fit a predictor on many training views of one table; they describe
 * their folds and what to keep from each fitted predictor, and this module runs the fits.
 *
 * Fits run several at a time: a predictor's work between awaits (neighbours, soft-impute) overlaps
 * with another fold's factorization on the native threads, and factorizations started together
 * reach the factorization core together, where they are batched into one backend call. Folds are
 * independent and every fit is deterministic for its seed, so results do not depend on how many
 * run at once; they come back in fold order.
 */
import { CollabperfError } from '../../errors.js';
import type { Dataset } from '../data/dataset.js';
import type { PredictContext } from '../predictors/types.js';

/** One fit of a fold: the training view and the context (its seed) to fit it with. */
export interface FoldFit {
  train: Dataset;
  ctx: PredictContext;
}

/** How {@link runFolds} runs. */
export interface FoldRunOptions {
  /**
   * Fits in flight at once (default 8). Each holds its training view and fitted predictor until
   * `use` returns, so memory grows with it; results never depend on it.
   */
  concurrency?: number;
  /** Checked before each fit starts; an aborted signal rejects with E_ABORTED. */
  signal?: AbortSignal;
  /** Names the work in the E_ABORTED message ("evaluation", "interval calibration", ...). */
  what?: string;
}

/** What a predictor's `fit` resolves to (a wrapper's richer fitted type stays visible to `use`). */
export type FittedOf<P extends Fits> = Awaited<ReturnType<P['fit']>>;

/** Anything with a `fit` like a predictor's (a predictor, or a composite's set of candidates). */
export interface Fits {
  fit(train: Dataset, ctx: PredictContext): Promise<unknown>;
}

/** Fits in flight by default: enough to fill a batch for the core, few enough to bound memory. */
export const DEFAULT_FOLD_CONCURRENCY = 8;

/**
 * Fits `predictor` once per fold and maps each fitted predictor through `use`.
 *
 * `fold(i)` builds the i-th training view only when its fit starts, so at most `concurrency` views
 * exist at once. `use(fitted, i, ms, fit)` receives the fold it was fitted on and the fit's wall
 * time in milliseconds (fits overlap, so these add up to more than the elapsed time). Results are in
 * fold order.
 */
export async function runFolds<P extends Fits, R>(
  predictor: P,
  count: number,
  fold: (i: number) => FoldFit,
  use: (fitted: FittedOf<P>, i: number, ms: number, fit: FoldFit) => R,
  opts: FoldRunOptions = {},
): Promise<R[]> {
  const concurrency = Math.max(1, Math.floor(opts.concurrency ?? DEFAULT_FOLD_CONCURRENCY));
  const out = new Array<R>(count);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < count) {
      const i = next++;
      if (opts.signal?.aborted) throw new CollabperfError('E_ABORTED', `${opts.what ?? 'the fold run'} aborted`);
      const f = fold(i);
      const t0 = performance.now();
      const fitted = (await predictor.fit(f.train, f.ctx)) as FittedOf<P>;
      out[i] = use(fitted, i, performance.now() - t0, f);
    }
  };
  const workers = Array.from({ length: Math.min(concurrency, count) }, () =>
    worker().catch((err: unknown) => {
      failed = true;
      throw err;
    }),
  );
  // allSettled first so that no fit is still running when the first error is reported.
  const settled = await Promise.allSettled(workers);
  const rejected = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (rejected) throw rejected.reason;
  return out;
}
