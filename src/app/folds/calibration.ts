/**
 * The calibration folds of a training table: the out-of-fold design that both the stack (to learn its
 * weights) and the prediction intervals (to calibrate) use, so that one set of fold fits serves both
 * and a stacked prediction is the same with or without intervals.
 *
 * - K cell folds: the cells are dealt into K folds at random; fold k holds out its cells. These look
 *   like a cell missing from a well-observed model.
 * - K sparse-model folds (optional): the models with at least two scores are dealt into K groups; in
 *   fold k each model of group k keeps r random scores (r drawn from 0..{@link MAX_REVEAL}) and its
 *   other cells are held out. These look like a new model, or a row with few scores.
 *
 * On a big table only the held-out cells of at most {@link CALIBRATION_MAX_HELD_MODELS} models per
 * fold are predicted (the same seeded models in every cell fold): the fold's training view still
 * lacks all of its held-out cells, but predicting 60k out-of-fold cells of a 6.8k-model table with
 * neighbour methods (each a scan over every model) cost seconds and told the weights and quantiles
 * nothing that 600 models' cells do not.
 */
import { Rng } from '../../numeric/rng.js';
import type { Dataset } from '../data/dataset.js';

/** One calibration fold: the cells kept for fitting, and the cells held out (indices into the table's cells). */
export interface CalibrationFold {
  keep: Uint8Array;
  /** The held-out cells to predict: every cell not kept, or those of the fold's sampled models. */
  held: number[];
  /** 'cells': random cells held out; 'sparse': models reduced to a few scores. */
  kind: 'cells' | 'sparse';
}

/** Options of {@link calibrationFolds}. */
export interface CalibrationFoldOptions {
  /** K (at most the number of cells). */
  folds: number;
  /** Also make the K sparse-model folds. */
  sparseModels: boolean;
  /** Most models whose held-out cells a fold predicts (default {@link CALIBRATION_MAX_HELD_MODELS}). */
  maxHeldModels?: number;
}

/** Default of {@link CalibrationFoldOptions.maxHeldModels}. */
export const CALIBRATION_MAX_HELD_MODELS = 600;

/** K of each kind when the caller names none (interval calibration and the stack's weights). */
export const DEFAULT_CALIBRATION_FOLDS = 5;

/** Most scores a simulated sparse model keeps (r is drawn from 0..this). */
export const MAX_REVEAL = 4;

// PRNG streams of the calibration folds, apart from the protocols' (0x101..) and predictors' streams.
const STREAM_CELL_FOLDS = 0x636f6e00;
const STREAM_MODEL_GROUPS = 0x636f6e01;
const STREAM_HELD_MODELS = 0x636f6e04;

/**
 * The cell folds, then the sparse-model folds (see the module comment), deterministic for `seed`.
 * A fold that would hold out nothing is left out.
 */
export function calibrationFolds(train: Dataset, seed: number, o: CalibrationFoldOptions): CalibrationFold[] {
  const { model } = train.scores;
  const n = model.length;
  const nM = train.models.length;
  const K = Math.min(o.folds, n);
  const cellFold = new Int32Array(n);
  const order = Int32Array.from({ length: n }, (_, e) => e);
  new Rng(seed, STREAM_CELL_FOLDS).shuffle(order);
  for (let j = 0; j < n; j++) cellFold[order[j]] = j % K;

  const modelGroup = new Int32Array(nM).fill(-1);
  const revealed = new Uint8Array(n);
  if (o.sparseModels) {
    const byModel: number[][] = Array.from({ length: nM }, () => []);
    for (let e = 0; e < n; e++) byModel[model[e]].push(e);
    const eligible: number[] = [];
    for (let m = 0; m < nM; m++) if (byModel[m].length >= 2) eligible.push(m);
    const rng = new Rng(seed, STREAM_MODEL_GROUPS);
    rng.shuffle(eligible);
    eligible.forEach((m, i) => {
      modelGroup[m] = i % K;
      const cells = byModel[m];
      rng.shuffle(cells);
      const r = rng.nextInt(Math.min(MAX_REVEAL, cells.length - 1) + 1);
      for (let j = 0; j < r; j++) revealed[cells[j]] = 1;
    });
  }

  const plan: Array<{ kind: CalibrationFold['kind']; k: number }> = [];
  for (let k = 0; k < K; k++) plan.push({ kind: 'cells', k });
  if (o.sparseModels) for (let k = 0; k < K; k++) plan.push({ kind: 'sparse', k });
  const maxModels = o.maxHeldModels ?? CALIBRATION_MAX_HELD_MODELS;
  const rankOf = nM > maxModels ? seededRanks(nM, seed) : null;
  return plan.flatMap(({ kind, k }) => {
    const keep = new Uint8Array(n);
    let held: number[] = [];
    for (let e = 0; e < n; e++) {
      if (kind === 'sparse' ? modelGroup[model[e]] === k && !revealed[e] : cellFold[e] === k) held.push(e);
      else keep[e] = 1;
    }
    // Cell folds: the same first models everywhere, so each of their cells is predicted exactly once.
    if (rankOf) held = kind === 'cells' ? held.filter((e) => rankOf[model[e]] < maxModels) : heldOfFirstModels(held, model, rankOf, maxModels);
    return held.length === 0 ? [] : [{ keep, held, kind }];
  });
}

/** Each model's position in a seeded random order of the models. */
function seededRanks(nM: number, seed: number): Int32Array {
  const order = Int32Array.from({ length: nM }, (_, m) => m);
  new Rng(seed, STREAM_HELD_MODELS).shuffle(order);
  const rankOf = new Int32Array(nM);
  order.forEach((m, i) => (rankOf[m] = i));
  return rankOf;
}

/** The cells of `held` whose models are among the `max` of them that come first in the seeded order. */
function heldOfFirstModels(held: number[], model: Int32Array, rankOf: Int32Array, max: number): number[] {
  const models = [...new Set(held.map((e) => model[e]))];
  if (models.length <= max) return held;
  models.sort((a, b) => rankOf[a] - rankOf[b]);
  const chosen = new Set(models.slice(0, max));
  return held.filter((e) => chosen.has(model[e]));
}
