import type { BackendChoice } from '../../backends/registry.js';
import type { Dataset } from '../data/dataset.js';
import type { CalibrationFold } from '../folds/calibration.js';
import type { FitCache } from './fit-cache.js';

/**
 * Everything a predictor may use besides the training cells. Nothing here ever holds a held-out
 * cell: protocols build the training Dataset with test cells removed before calling `fit`.
 */
export interface PredictContext {
  /** Seed of every random choice (initialisation, inner validation splits, shuffles). */
  seed: number;
  /** Factorization backend for predictors on the core (default: auto). */
  backend?: BackendChoice;
  /** Threads for the core (default: all cores). */
  threads?: number;
  signal?: AbortSignal;
  /**
   * Fits made earlier in the same run, which a composite method (ensemble, stack) reuses for a member
   * fitted on the same training Dataset object with the same seed instead of refitting it; set by
   * `evaluate` when it runs composite methods together with their members. Fits are deterministic,
   * so predictions are the same with or without it.
   */
  fitCache?: FitCache;
  /**
   * Hyperparameters to use instead of choosing them by inner validation: the `chosen` of a fit of the
   * same predictor on a superset of these cells. The stack refits its candidates on its calibration
   * folds this way, so each candidate runs its inner validation once, on the whole table, rather than
   * once per fold. A predictor uses the keys it knows (its `chosen` names) and chooses the rest itself.
   */
  settings?: Readonly<Record<string, number | string | boolean>>;
}

/** A fitted predictor: predicts any (model, task) cell of the training Dataset's index space. */
export interface FittedPredictor {
  /**
   * Predictions on each task's own scale for parallel arrays of model and task indices (indices into
   * the Dataset given to `fit`). Cells that were training cells may be predicted too.
   */
  predict(models: Int32Array, tasks: Int32Array): Float64Array;
  /** Hyperparameters actually used (after inner validation), for reports and `--json`. */
  readonly chosen: Record<string, number | string | boolean>;
  /**
   * Predictions for every task of a model that is not in the table, from a few of its scores,
   * without refitting (fold-in: the model's latent row is solved with everything else fixed).
   * Absent for methods that cannot do this; callers then refit with the model added.
   */
  foldIn?(scores: ReadonlyArray<{ task: number; value: number }>): Float64Array;
}

/**
 * A prediction method. `fit` sees only the training cells (`train.scores`) plus model/task names and
 * factors; it may run its own inner validation on those cells (never on anything else). A wrapper
 * (prediction intervals, probe advice) can call `fit` repeatedly on subsets of the cells, so `fit`
 * must not keep state between calls and must be deterministic for `ctx.seed`.
 */
export interface Predictor {
  /** Stable id used on the command line (`--method`). */
  readonly name: string;
  /** One line for `collabperf predict --help` and reports. */
  readonly description: string;
  /** True when the method uses model/task factors (and so can predict a model with no scores). */
  readonly usesFactors: boolean;
  /** True when its fitted predictors have {@link FittedPredictor.foldIn}. */
  readonly canFoldIn?: boolean;
  /**
   * True when a fit depends on its input and seed alone and gives the same bits on every backend
   * (plain JavaScript, or backend kernels that are bit-identical across backends: ALS at ranks
   * 1-3, nearestRows), with no member fits and nothing shared, so that an evaluation may run it on a
   * worker thread, where it gives the same bits as here.
   */
  readonly portable?: boolean;
  /**
   * The predictors a composite method fits on its whole training table (an ensemble's members, a
   * stack's final candidates), whose fits {@link PredictContext.fitCache} may share.
   */
  readonly members?: readonly Predictor[];
  fit(train: Dataset, ctx: PredictContext): Promise<FittedPredictor>;
  /**
   * Optional: the fit on every training cell together with fits on each calibration fold
   * (`views[i]` is `train` restricted to `folds[i].keep`), for a method that fits on such folds
   * anyway (the stack learns its weights on them). `fitted` must be what `fit` gives when `folds` are
   * the method's own default folds. Interval calibration uses it instead of 2K + 1 separate fits.
   */
  fitWithFolds?(train: Dataset, ctx: PredictContext, folds: readonly CalibrationFold[], views: readonly Dataset[]): Promise<{ fitted: FittedPredictor; folds: FittedPredictor[] }>;
}
