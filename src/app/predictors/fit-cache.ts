/**
 * Sharing of member fits between methods built from other methods. `eval --methods all` fits knn,
 * pca and mf-sgd on every fold, then fits the ensemble, which fits the same three on the same
 * training view with the same seed, and the stack, whose final refits repeat mean, knn, pca,
 * logit-als, mf-sgd and cmf once more. A fit is deterministic for its training cells and context
 * (the {@link Predictor} contract), so the second fit is the first one's result: reusing it changes
 * no prediction, only the time.
 */
import type { Dataset } from '../data/dataset.js';
import type { FittedPredictor, PredictContext, Predictor } from './types.js';

/**
 * Fits of chosen predictors, remembered per training Dataset object (not its contents: a caller
 * shares fits by passing the same view to several methods) and per seed, backend and threads.
 * Entries die with their Dataset, so views made inside a fit (a stack's out-of-fold splits) cost
 * nothing once dropped.
 */
export class FitCache {
  private readonly byTrain = new WeakMap<Dataset, Map<Predictor, Map<string, Promise<FittedPredictor>>>>();

  /** `keep`: the predictors worth remembering (members of composite methods); others always refit. */
  constructor(private readonly keep: ReadonlySet<Predictor>) {}

  /** `p.fit(train, ctx)`, or the promise of an identical earlier call. A failed fit is not kept. */
  fit(p: Predictor, train: Dataset, ctx: PredictContext): Promise<FittedPredictor> {
    if (!this.keep.has(p)) return p.fit(train, ctx);
    let byPredictor = this.byTrain.get(train);
    if (!byPredictor) this.byTrain.set(train, (byPredictor = new Map()));
    let byCtx = byPredictor.get(p);
    if (!byCtx) byPredictor.set(p, (byCtx = new Map()));
    // Everything in the context that a fit's result may depend on (the signal only stops it).
    const key = `${ctx.seed}\u0000${ctx.backend ?? ''}\u0000${ctx.threads ?? ''}`;
    let fitted = byCtx.get(key);
    if (!fitted) {
      fitted = p.fit(train, ctx);
      byCtx.set(key, fitted);
      fitted.catch(() => byCtx.delete(key));
    }
    return fitted;
  }
}

/** Fits a member of a composite method, through `ctx.fitCache` when the caller provides one. */
export function fitMember(p: Predictor, train: Dataset, ctx: PredictContext): Promise<FittedPredictor> {
  // A fit with fixed settings is not the fit the cache holds for the same table and seed.
  return ctx.fitCache && !ctx.settings ? ctx.fitCache.fit(p, train, ctx) : p.fit(train, ctx);
}

/**
 * The members of the composite methods among `methods` (see {@link Predictor.members}), the
 * predictors whose fits a {@link FitCache} should remember. Empty when no method is composite.
 */
export function memberPredictors(methods: readonly Predictor[]): Set<Predictor> {
  const out = new Set<Predictor>();
  const visit = (p: Predictor): void => {
    for (const m of p.members ?? []) {
      if (out.has(m)) continue;
      out.add(m);
      visit(m);
    }
  };
  methods.forEach(visit);
  return out;
}
