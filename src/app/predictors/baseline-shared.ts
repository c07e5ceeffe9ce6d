/**
 * Plumbing shared by the baseline predictors (mean, knn, scaling-law, pca): a seeded inner holdout
 * of the training cells for choosing hyperparameters, a scale-free validation error, and index
 * checks for `predict`.
 *
 * The baselines fit on {@link Cells} rather than on Datasets so that inner validation can refit on a
 * subset of cells without building and validating a new Dataset each time.
 */
import { Rng } from '../../numeric/rng.js';
import { CollabperfError } from '../../errors.js';
import type { Dataset } from '../data/dataset.js';
import { selectCells, type Cells } from '../data/observed-cells.js';
import { clipBounds } from '../stats/task-stats.js';
import type { PredictContext } from './types.js';

/** Share of the training cells that inner validation holds out. */
export const INNER_HOLDOUT_FRACTION = 0.15;

/**
 * Splits training cells into an inner fit part and a holdout of about `fraction` of them, drawn by a
 * seeded shuffle. A cell is only held out when its model keeps at least one fit cell and its task at
 * least two: otherwise the holdout would mostly measure the cold-start fallback, the same for every
 * candidate setting, and dilute the comparison. `stream` keeps the draws of different predictors apart.
 */
export function innerHoldout(c: Cells, seed: number, stream: number, fraction = INNER_HOLDOUT_FRACTION): { fit: Cells; hold: Cells } {
  const n = c.value.length;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  new Rng(seed, stream).shuffle(order);
  const perModel = new Int32Array(c.nModels);
  const perTask = new Int32Array(c.nTasks);
  for (let i = 0; i < n; i++) {
    perModel[c.model[i]]++;
    perTask[c.task[i]]++;
  }
  const held = new Uint8Array(n);
  const want = Math.round(n * fraction);
  let got = 0;
  for (let j = 0; j < n && got < want; j++) {
    const i = order[j];
    if (perModel[c.model[i]] <= 1 || perTask[c.task[i]] <= 2) continue;
    perModel[c.model[i]]--;
    perTask[c.task[i]]--;
    held[i] = 1;
    got++;
  }
  const fitIdx: number[] = [];
  const holdIdx: number[] = [];
  for (let i = 0; i < n; i++) (held[i] ? holdIdx : fitIdx).push(i);
  return { fit: selectCells(c, fitIdx), hold: selectCells(c, holdIdx) };
}

/**
 * Mean squared error of predictions on cells, each error divided by its task's spread: tasks on
 * different scales (percent, 0–1, 1–5) weigh alike when choosing hyperparameters.
 */
export function scaledMse(pred: Float64Array, c: Cells, sd: Float64Array): number {
  if (c.value.length === 0) return 0;
  let s = 0;
  for (let i = 0; i < pred.length; i++) s += ((pred[i] - c.value[i]) / sd[c.task[i]]) ** 2;
  return s / pred.length;
}

/**
 * The entry of an inner-validation grid that `settings` fixes (see {@link PredictContext.settings}):
 * the first whose every key equals the setting of that name. Undefined without settings or when
 * none matches (then the caller chooses by inner validation as usual).
 */
export function settingIn<S extends object>(grid: readonly S[], settings: PredictContext['settings']): S | undefined {
  if (!settings) return undefined;
  return grid.find((g) => Object.entries(g).every(([k, v]) => settings[k] === v));
}

/** Index of the smallest finite error; ties keep the earlier (simpler) candidate. */
export function argmin(errors: readonly number[]): number {
  let best = -1;
  for (let i = 0; i < errors.length; i++) if (Number.isFinite(errors[i]) && (best < 0 || errors[i] < errors[best])) best = i;
  return best < 0 ? 0 : best;
}

/** Throws `E_ABORTED` when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new CollabperfError('E_ABORTED', `${what} was cancelled`);
}

/**
 * Checks the arguments of `FittedPredictor.predict`: equal lengths (`E_LENGTH_MISMATCH`) and indices
 * inside the training Dataset (`E_INDEX_OUT_OF_RANGE`).
 */
export function checkPredictArgs(models: Int32Array, tasks: Int32Array, nModels: number, nTasks: number): void {
  if (models.length !== tasks.length) throw new CollabperfError('E_LENGTH_MISMATCH', `model indices (${models.length}) and task indices (${tasks.length}) differ in length`);
  for (let i = 0; i < models.length; i++) {
    if (!(models[i] >= 0 && models[i] < nModels)) throw new CollabperfError('E_INDEX_OUT_OF_RANGE', `model index ${models[i]} outside 0..${nModels - 1}`, { field: 'model' });
    if (!(tasks[i] >= 0 && tasks[i] < nTasks)) throw new CollabperfError('E_INDEX_OUT_OF_RANGE', `task index ${tasks[i]} outside 0..${nTasks - 1}`, { field: 'task' });
  }
}

/**
 * Per-task clip range of predictions: the task's scale widened to include every training score;
 * ±Infinity for tasks without a scale (see {@link clipBounds}). Clipping can only help when the truth
 * lies within the scale, and keeps extrapolating methods from predicting 104 % on a percent task.
 */
export function clipRanges(ds: Dataset): { lo: Float64Array; hi: Float64Array } {
  return clipBounds(ds);
}
