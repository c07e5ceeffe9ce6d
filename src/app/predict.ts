import { CollabperfError } from '../errors.js';
import { createDataset, findTask, modelIndex, normalizeName, taskIndex, type Dataset, type FactorValue, type Factors } from './data/dataset.js';
import { checkGivenScore, clampToScale, describeScale, resolveScales, type ResolvedScale, type ScaleOverrides, type ScaleWarning } from './data/scale.js';
import type { FittedPredictor, PredictContext, Predictor } from './predictors/types.js';
import { withIntervals } from './trust/intervals.js';

/** One predicted cell, by name, on the task's own scale. */
export interface PredictedCell {
  model: string;
  task: string;
  prediction: number;
  /** Bounds of the conformal prediction interval, when a level was asked for. */
  lower?: number;
  upper?: number;
}

/**
 * A method that does not use the factors at hand (given with `--factors`, or the table's own): the
 * prediction comes from the scores alone. `method` is the method's name.
 */
export interface FactorsUnusedWarning {
  kind: 'factors-unused';
  method: string;
  /** The factors that were ignored (the given ones, or the table's factor names). */
  factors: string[];
  message: string;
}

/** Anything a prediction has to tell the user: a score off its scale, or factors left unused. */
export type PredictionWarning = ScaleWarning | FactorsUnusedWarning;

/** The methods that use model factors, named when a method ignores them. */
export const FACTOR_METHODS: readonly string[] = ['cmf', 'ncf-factors', 'scaling-law'];

function factorsUnused(method: string, factors: string[], what: string): FactorsUnusedWarning {
  return {
    kind: 'factors-unused',
    method,
    factors,
    message: `method "${method}" does not use factors: ${what} did not change the prediction; the factor-aware methods are ${FACTOR_METHODS.join(', ')} (--method ${FACTOR_METHODS[1]})`,
  };
}

/** Interval bounds for cells, or nothing when no level was asked for. */
type Bounds = { lower: Float64Array; upper: Float64Array } | null;

/**
 * Clamps predictions and interval bounds into each cell's task scale, in place: a method (or an
 * interval half-width) may leave the range, but a score of 104% or -3% is not a possible outcome.
 */
function clampCells(prediction: Float64Array, bounds: Bounds, tasks: ArrayLike<number>, scales: ResolvedScale[]): void {
  for (let i = 0; i < prediction.length; i++) {
    const sc = scales[tasks[i]];
    prediction[i] = clampToScale(prediction[i], sc);
    if (bounds) {
      bounds.lower[i] = clampToScale(bounds.lower[i], sc);
      bounds.upper[i] = clampToScale(bounds.upper[i], sc);
    }
  }
}

/** Warnings for a user-given scale that the table's own observed values do not fit. */
function overrideWarnings(ds: Dataset, scales: ResolvedScale[]): ScaleWarning[] {
  const out: ScaleWarning[] = [];
  const outside = new Int32Array(ds.tasks.length);
  const example = new Float64Array(ds.tasks.length);
  for (let e = 0; e < ds.scores.value.length; e++) {
    const t = ds.scores.task[e];
    const v = ds.scores.value[e];
    if (scales[t].origin === 'option' && (v < scales[t].min || v > scales[t].max)) {
      if (outside[t]++ === 0) example[t] = v;
    }
  }
  outside.forEach((n, t) => {
    if (n > 0) {
      out.push({
        kind: 'outside',
        task: ds.tasks[t].name,
        value: example[t],
        message: `${n} observed score(s) of task "${ds.tasks[t].name}" (e.g. ${example[t]}) lie outside the scale ${describeScale(scales[t])} given for it; predictions are clamped to that scale`,
      });
    }
  });
  return out;
}

/**
 * Fits the predictor, wrapped for conformal intervals when `level` is given (calibrated on the
 * training cells only), and predicts the cells.
 */
async function fitAndPredict(ds: Dataset, predictor: Predictor, ctx: PredictContext, models: Int32Array, tasks: Int32Array, level?: number): Promise<{ fitted: FittedPredictor; prediction: Float64Array; bounds: Bounds }> {
  // With no cell to bound, calibration (2K + 1 fits) would buy nothing: a full table is filled at
  // the cost of one fit, which still reports what the method chose.
  if (level === undefined || models.length === 0) {
    const fitted = await predictor.fit(ds, ctx);
    return { fitted, prediction: fitted.predict(models, tasks), bounds: null };
  }
  const fitted = await withIntervals(predictor, { level }).fit(ds, ctx);
  const iv = fitted.interval(models, tasks);
  return { fitted, prediction: iv.prediction, bounds: { lower: iv.lower, upper: iv.upper } };
}

/**
 * A new row folded into one fit of the table as given: predictions for every task and, with a
 * `level`, the intervals of {@link FittedIntervalPredictor.foldInInterval} (calibrated on the table's
 * folds like a table row with as many scores). Null when the fit cannot fold in.
 */
async function foldInNewRow(ds: Dataset, predictor: Predictor, ctx: PredictContext, scores: ReadonlyArray<{ task: number; value: number }>, level?: number): Promise<{ chosen: FittedPredictor['chosen']; prediction: Float64Array; bounds: Bounds } | null> {
  if (level === undefined) {
    const fitted = await predictor.fit(ds, ctx);
    return fitted.foldIn ? { chosen: fitted.chosen, prediction: Float64Array.from(fitted.foldIn(scores)), bounds: null } : null;
  }
  const fitted = await withIntervals(predictor, { level }).fit(ds, ctx);
  if (!fitted.foldInInterval) return null;
  const iv = fitted.foldInInterval(scores);
  return { chosen: fitted.chosen, prediction: Float64Array.from(iv.prediction), bounds: { lower: iv.lower, upper: iv.upper } };
}

/** The result of filling a table's missing cells. */
export interface Completion {
  method: string;
  /** Hyperparameters the method chose by inner validation. */
  chosen: Record<string, number | string | boolean>;
  cells: PredictedCell[];
  /** The scale of every task (task order), with where it came from; predictions and bounds lie inside it. */
  scales: ResolvedScale[];
  /**
   * Problems worth telling the user: observed scores outside a scale given with `scales`, and a
   * method that ignores the table's model and task factors.
   */
  warnings: PredictionWarning[];
}

/**
 * Fills every missing cell of the table (or of one model's row) with the predictor fitted on all
 * observed cells.
 */
export async function completeMatrix(
  ds: Dataset,
  predictor: Predictor,
  ctx: PredictContext,
  opts: { model?: string; level?: number; scales?: ScaleOverrides } = {},
): Promise<Completion> {
  const scales = resolveScales(ds, opts.scales);
  const nT = ds.tasks.length;
  const only = opts.model === undefined ? -1 : modelIndex(ds, opts.model);
  const observed = new Uint8Array(ds.models.length * nT);
  for (let e = 0; e < ds.scores.value.length; e++) observed[ds.scores.model[e] * nT + ds.scores.task[e]] = 1;
  const ms: number[] = [];
  const ts: number[] = [];
  for (let m = 0; m < ds.models.length; m++) {
    if (only >= 0 && m !== only) continue;
    for (let t = 0; t < nT; t++) {
      if (observed[m * nT + t]) continue;
      ms.push(m);
      ts.push(t);
    }
  }
  const { fitted, prediction, bounds } = await fitAndPredict(ds, predictor, ctx, Int32Array.from(ms), Int32Array.from(ts), opts.level);
  clampCells(prediction, bounds, ts, scales);
  const warnings: PredictionWarning[] = overrideWarnings(ds, scales);
  const tableFactors = [...ds.factorSchema.model, ...ds.factorSchema.task].map((f) => f.name);
  if (tableFactors.length > 0 && (!predictor.usesFactors || fitted.chosen.factorsUsed === false)) {
    const w = factorsUnused(predictor.name, tableFactors, `the table's factors (${tableFactors.join(', ')})`);
    // A composite whose factor-aware candidates were left out or earned no weight says why.
    if (typeof fitted.chosen.factorsUnusedWhy === 'string') w.message = w.message.replace('does not use factors', `did not use factors (${fitted.chosen.factorsUnusedWhy})`);
    warnings.push(w);
  }
  return {
    method: predictor.name,
    chosen: fitted.chosen,
    scales,
    warnings,
    cells: ms.map((m, i) => ({ model: ds.models[m].name, task: ds.tasks[ts[i]].name, prediction: prediction[i], ...(bounds ? { lower: bounds.lower[i], upper: bounds.upper[i] } : {}) })),
  };
}

/**
 * Resolves a task name as a user types it: exact, then case/space-insensitive, then the one task
 * whose name without its parenthesised setting matches ("MMLU" → "MMLU(5-shot)").
 */
export function resolveTask(ds: Dataset, name: string): number {
  const direct = findTask(ds, name);
  if (direct >= 0) return direct;
  const q = normalizeName(name);
  const hits = ds.tasks.flatMap((t, i) => (normalizeName(t.name.replace(/\s*\(.*\)\s*$/, '')) === q ? [i] : []));
  if (hits.length === 1) return hits[0];
  if (hits.length > 1) {
    throw new CollabperfError('E_NOT_FOUND', `"${name}" matches several tasks (${hits.map((i) => JSON.stringify(ds.tasks[i].name)).join(', ')}); use the full name`, { field: 'task' });
  }
  return taskIndex(ds, name); // throws E_NOT_FOUND with suggestions
}

/** Parses `"MMLU=66.6,GSM8K=45.8"` into task indices and scores. */
export function parseNewScores(ds: Dataset, spec: string): { task: number; value: number }[] {
  const out: { task: number; value: number }[] = [];
  const seen = new Set<number>();
  for (const part of splitPairs(spec, '--new')) {
    const t = resolveTask(ds, part.key);
    const v = Number(part.value);
    if (part.value.trim() === '' || !Number.isFinite(v)) throw new CollabperfError('E_PARSE', `score for "${part.key}" is not a number: "${part.value}"`, { field: '--new' });
    if (seen.has(t)) throw new CollabperfError('E_DUPLICATE_ENTRY', `task "${ds.tasks[t].name}" is given twice`, { field: '--new' });
    seen.add(t);
    out.push({ task: t, value: v });
  }
  return out;
}

const FACTOR_ALIASES: Record<string, string> = { tokens: 'pretrainingTokens', parameters: 'params', size: 'params', context: 'contextWindow' };
const SUFFIX: Record<string, number> = { k: 1e3, m: 1e6, b: 1e9, t: 1e12 };

/**
 * Parses `"params=8e9,tokens=15e12,family=llama"` into model factors in the dataset's units.
 * Numbers are given as plain counts (8e9, or 8B / 15T with a suffix) and converted when the
 * dataset stores the factor in millions, billions or trillions (its schema unit says which).
 */
export function parseNewFactors(ds: Dataset, spec: string): Factors {
  const factors: Factors = {};
  for (const part of splitPairs(spec, '--factors')) {
    const key = FACTOR_ALIASES[part.key] ?? part.key;
    const f = ds.factorSchema.model.find((s) => s.name === key || s.name.toLowerCase() === key.toLowerCase());
    if (!f) {
      throw new CollabperfError('E_NOT_FOUND', `dataset "${ds.name}" has no model factor "${part.key}" (it has: ${ds.factorSchema.model.map((s) => s.name).join(', ') || 'none'})`, {
        field: '--factors',
      });
    }
    let value: FactorValue = part.value;
    if (f.type === 'numeric') {
      const m = /^([-+]?[\d.]+(?:e[-+]?\d+)?)\s*([kmbt])?$/i.exec(part.value.trim());
      if (!m || !Number.isFinite(Number(m[1]))) throw new CollabperfError('E_PARSE', `factor "${part.key}" needs a number, got "${part.value}"`, { field: '--factors' });
      const raw = Number(m[1]) * (m[2] ? SUFFIX[m[2].toLowerCase()] : 1);
      const unit = (f.unit ?? '').trim().charAt(0).toUpperCase();
      value = raw / (unit === 'M' ? 1e6 : unit === 'B' ? 1e9 : unit === 'T' ? 1e12 : 1);
    }
    factors[f.name] = value;
  }
  return factors;
}

function splitPairs(spec: string, flag: string): { key: string; value: string }[] {
  const parts = spec.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (parts.length === 0) throw new CollabperfError('E_PARSE', `${flag} needs NAME=VALUE pairs separated by commas`, { field: flag });
  return parts.map((p) => {
    const i = p.lastIndexOf('=');
    if (i <= 0) throw new CollabperfError('E_PARSE', `"${p}" is not NAME=VALUE`, { field: flag });
    return { key: p.slice(0, i).trim(), value: p.slice(i + 1).trim() };
  });
}

/** A new model's predictions for every task, with the scores that were given marked. */
export interface NewModelPrediction {
  method: string;
  chosen: Record<string, number | string | boolean>;
  cells: { task: string; prediction: number; lower?: number; upper?: number; given?: number }[];
  /** 'fold-in': the fitted table was kept and the new row solved alone; 'refit': fitted with the row added. */
  mode: 'fold-in' | 'refit';
  /** The method asked for, when the given factors made it give way to `factorMethod` (then `method`). */
  switchedFrom?: string;
  /** The scale of every task (task order), with where it came from; predictions and bounds lie inside it. */
  scales: ResolvedScale[];
  /** Given scores that do not fit their task's scale ("looks like a fraction…"), and factors the method ignored. */
  warnings: PredictionWarning[];
}

/**
 * Predicts a model that is not in the table from a few of its scores and/or its factors. Methods
 * that can fold in (every member of the default and of the stack, and the factorizations) fit the
 * table once and solve the new row alone, intervals included (calibrated on the table's folds like a
 * table row with as many scores); the others, and a prediction with factors that the method reads,
 * fit on the table with the model added as one more row.
 */
export async function predictNewModel(
  ds: Dataset,
  predictor: Predictor,
  ctx: PredictContext,
  given: {
    scores: { task: number; value: number }[];
    factors?: Factors;
    name?: string;
    level?: number;
    scales?: ScaleOverrides;
    /**
     * A factor-aware method used instead of `predictor` when `predictor` ignores factors and the given
     * factors name every model factor of the table, or no score is given (the CLI passes
     * `ncf-factors` when no method was named). Only then did it measure better: held-out new models of crowdsource, obsscaling and
     * frontier with 5 known scores, MAE 4.88 / 3.43 / 7.39 vs the default's 5.54 / 3.99 / 8.39 with all
     * their factors, but 6.46 / 4.23 / 8.92 with only `params` (docs/accuracy.md).
     */
    factorMethod?: Predictor;
  },
): Promise<NewModelPrediction> {
  if (given.scores.length === 0 && (!given.factors || Object.keys(given.factors).length === 0)) {
    throw new CollabperfError('E_INVALID_ARGUMENT', 'a new model needs at least one score (--new) or factor (--factors)');
  }
  const hasFactors = given.factors !== undefined && Object.keys(given.factors).length > 0;
  const missingFactors = ds.factorSchema.model.map((f) => f.name).filter((n) => !(given.factors !== undefined && n in given.factors));
  const original = predictor;
  // With no score at all, the factors are all there is to predict from.
  // (factorMethod is given only for the default; the stack reads factors too, but ncf-factors still
  // measured better for a new model given every factor: docs/accuracy.md.)
  if (hasFactors && given.factorMethod !== undefined && predictor !== given.factorMethod && (missingFactors.length === 0 || given.scores.length === 0)) predictor = given.factorMethod;
  if (given.scores.length === 0 && !predictor.usesFactors) {
    throw new CollabperfError('E_INVALID_ARGUMENT', `method "${predictor.name}" needs at least one score of the new model; with factors only, use a factor method such as factors-only or cmf`);
  }
  const givenBy = new Map(given.scores.map((s) => [s.task, s.value]));
  // Scales come from the table alone, so a mistyped given score cannot shift an inferred scale.
  const scales = resolveScales(ds, given.scales);
  const warnings: PredictionWarning[] = overrideWarnings(ds, scales);
  for (const s of given.scores) {
    const w = checkGivenScore(ds.tasks[s.task].name, s.value, scales[s.task]);
    if (w) warnings.push(w);
  }
  const allTasks = Int32Array.from(ds.tasks.map((_, t) => t));
  if (hasFactors && !predictor.usesFactors) {
    const names = Object.keys(given.factors!);
    const w = factorsUnused(predictor.name, names, `the given factors (${names.map((k) => `${k}=${String(given.factors![k])}`).join(', ')})`);
    if (given.factorMethod !== undefined) {
      w.message += `; the default switches to ${given.factorMethod.name} when every model factor of the table is given (missing: ${missingFactors.join(', ')})`;
    }
    warnings.push(w);
  }
  const switched = predictor !== original ? { switchedFrom: original.name } : {};
  // Factors a method ignores are no reason to refit.
  if (predictor.canFoldIn && (!hasFactors || !predictor.usesFactors)) {
    const folded = await foldInNewRow(ds, predictor, ctx, given.scores, given.level);
    if (folded) {
      clampCells(folded.prediction, folded.bounds, allTasks, scales);
      return {
        method: predictor.name,
        chosen: folded.chosen,
        mode: 'fold-in',
        ...switched,
        scales,
        warnings,
        cells: ds.tasks.map((t, i) => ({
          task: t.name,
          prediction: folded.prediction[i],
          ...(folded.bounds ? { lower: folded.bounds.lower[i], upper: folded.bounds.upper[i] } : {}),
          ...(givenBy.has(i) ? { given: givenBy.get(i) } : {}),
        })),
      };
    }
  }
  const name = given.name ?? 'new model';
  if (ds.models.some((m) => m.name === name)) throw new CollabperfError('E_DUPLICATE_ENTRY', `the table already has a model named "${name}"`, { field: 'name' });
  const m = ds.models.length;
  const n = ds.scores.value.length + given.scores.length;
  const scores = {
    model: new Int32Array(n),
    task: new Int32Array(n),
    value: new Float64Array(n),
    source: new Int32Array(n),
  };
  scores.model.set(ds.scores.model);
  scores.task.set(ds.scores.task);
  scores.value.set(ds.scores.value);
  scores.source.set(ds.scores.source);
  given.scores.forEach((s, i) => {
    const j = ds.scores.value.length + i;
    scores.model[j] = m;
    scores.task[j] = s.task;
    scores.value[j] = s.value;
    scores.source[j] = 0;
  });
  const extended = createDataset({
    name: ds.name,
    description: ds.description,
    models: [...ds.models, { name, factors: given.factors ?? {} }],
    tasks: ds.tasks,
    factorSchema: ds.factorSchema,
    sources: ds.sources,
    scores,
    notes: ds.notes,
  });
  const { fitted, prediction, bounds } = await fitAndPredict(extended, predictor, ctx, new Int32Array(allTasks.length).fill(m), allTasks, given.level);
  clampCells(prediction, bounds, allTasks, scales);
  return {
    method: predictor.name,
    chosen: fitted.chosen,
    mode: 'refit',
    ...switched,
    scales,
    warnings,
    cells: ds.tasks.map((t, i) => ({
      task: t.name,
      prediction: prediction[i],
      ...(bounds ? { lower: bounds.lower[i], upper: bounds.upper[i] } : {}),
      ...(givenBy.has(i) ? { given: givenBy.get(i) } : {}),
    })),
  };
}
