/**
 * The tables the charts draw, derived from a {@link ReportInput}: every score and error is put on the
 * 0–100 scale of its task (see `taskScales`) so that tasks measured in percent, in 0–1 or in their
 * own units share one colour scale and one error axis.
 */
import { CollabperfError } from '../../errors.js';
import type { Dataset } from '../data/dataset.js';
import type { EvaluationResult } from '../eval/evaluate.js';
import { taskScales, type TaskScales } from '../eval/metrics.js';
import type { Completion } from '../predict.js';
import type { AdviceCurvePoint, CoveragePoint } from './types.js';

/** One cell of the heatmap. */
export interface MatrixCell {
  model: string;
  task: string;
  /** The score on the task's 0–100 scale. */
  score: number;
  /** The score in the task's own units, as in the data. */
  raw: number;
  kind: 'observed' | 'predicted';
  /** Hover text: model, task, and the score (observed or predicted), parts joined by `"; "`. */
  label: string;
}

/**
 * What the report's common 0–100 scale means for a dataset, in words for legends, axes and
 * captions: percentages, 0–1 scores ×100, declared ranges or min–max normalisation per task.
 */
export interface ScaleInfo {
  /** Every task is in percent: the 0–100 scale is the data's own. */
  native: boolean;
  /** What the heatmap's colour is, as a phrase. */
  colourPhrase: string;
  /** Title of the heatmap's colour legend, one string per line. */
  legendTitle: string[];
  /** What a score axis is in, for titles like `Actual (…)`. */
  scoreUnit: string;
  /** What an error is measured in, for titles like `MAE (…)`. */
  errorUnit: string;
  /** One or two sentences (plain text) saying how each task's scores were put on 0–100. */
  sentence: string;
}

/**
 * How {@link taskScales} puts the tasks of `ds` on 0–100. Tasks without a declared scale are
 * min–max normalised over their observed scores, which makes 0 and 100 the worst and best observed
 * rather than the worst and best possible: the legend has to say so.
 */
export function describeScales(ds: Dataset): ScaleInfo {
  let percent = 0;
  let unit = 0;
  let range = 0;
  let minmax = 0;
  for (const t of ds.tasks) {
    if (t.scale === 'percent') percent++;
    else if (t.scale === 'unit') unit++;
    else if (t.scale !== undefined) range++;
    else minmax++;
  }
  const n = ds.tasks.length;
  if (percent === n) return { native: true, colourPhrase: 'score in %', legendTitle: ['Score (%)'], scoreUnit: '%', errorUnit: 'percentage points', sentence: 'Scores are percentages.' };
  if (percent + unit === n) {
    return {
      native: false,
      colourPhrase: percent === 0 ? 'score on the 0–1 scale, ×100' : 'score in % (0–1 scores ×100)',
      legendTitle: percent === 0 ? ['Score ×100', '(0–1 scores)'] : ['Score (%;', '0–1 scores ×100)'],
      scoreUnit: percent === 0 ? '0–1 score ×100' : '%',
      errorUnit: 'percentage points',
      sentence: percent === 0 ? 'Scores are on a 0–1 scale and shown ×100.' : 'Scores are percentages; tasks scored 0–1 are shown ×100.',
    };
  }
  if (minmax === n) {
    return {
      native: false,
      colourPhrase: "per-task min–max normalised score (0 = the task's lowest observed, 100 = its highest)",
      legendTitle: ['Per-task min–max', 'normalised score'],
      scoreUnit: 'per-task min–max, 0–100',
      errorUnit: 'points of the per-task min–max range',
      sentence: "No task declares its scale, so each task's scores are min–max normalised over its observed scores: 0 is the task's lowest observed score and 100 its highest.",
    };
  }
  const parts = [
    percent ? 'percentages as they are' : '',
    unit ? '0–1 scores ×100' : '',
    range ? 'tasks with a declared range (such as 1–5) from its minimum (0) to its maximum (100)' : '',
    minmax ? "tasks without one min–max normalised over their observed scores (0 = the task's lowest observed, 100 = its highest)" : '',
  ].filter((p) => p !== '');
  return {
    native: false,
    colourPhrase: "score on each task's own scale mapped onto 0–100 (see the note below the chart)",
    legendTitle: ['Score on each', "task's 0–100 scale"],
    scoreUnit: "each task's 0–100 scale",
    errorUnit: "points of each task's 0–100 scale",
    sentence: `Tasks have different scales, so each is mapped onto 0–100: ${parts.length > 1 ? `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}` : parts[0]}.`,
  };
}

/** A score in the data's own units for hover text: at most 4 significant digits, no trailing zeros. */
export function formatRaw(x: number): string {
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a >= 1000 ? x.toFixed(0) : String(Number(x.toPrecision(4)));
}

/** The heatmap's cells and axis orders. */
export interface MatrixData {
  cells: MatrixCell[];
  /** Models shown, best mean score first. */
  modelOrder: string[];
  /** Tasks in dataset order. */
  taskOrder: string[];
  /** Models with at least one cell (observed or predicted), before any cap. */
  modelsWithCells: number;
  observed: number;
  predicted: number;
}

/** One held-out cell of one method, on the 0–100 scale. */
export interface HeldOutRow {
  method: string;
  model: string;
  task: string;
  truth: number;
  prediction: number;
  /** |prediction − truth| on the 0–100 scale. */
  error: number;
}

function bad(message: string, field?: string): CollabperfError {
  return new CollabperfError('E_INVALID_ARGUMENT', message, { field });
}

function to100(scales: TaskScales, t: number, x: number): number {
  return (100 * (x - scales.offset100[t])) / scales.range100[t];
}

/**
 * Observed cells plus the completion's predicted cells, with models ordered by the mean of their
 * row (observed and predicted cells alike, so that a model measured only on hard tasks is not
 * ranked low for it). With more than `maxModels` models, rows evenly spaced in that ranking are
 * kept (the best and the worst included).
 */
export function matrixData(ds: Dataset, completion: Completion, maxModels: number, scales: TaskScales = taskScales(ds)): MatrixData {
  const nT = ds.tasks.length;
  const value = new Float64Array(ds.models.length * nT).fill(NaN);
  const kind = new Uint8Array(ds.models.length * nT); // 1 observed, 2 predicted
  const { model, task, value: v } = ds.scores;
  for (let e = 0; e < v.length; e++) {
    const i = model[e] * nT + task[e];
    value[i] = v[e];
    kind[i] = 1;
  }
  const modelAt = new Map(ds.models.map((m, i) => [m.name, i]));
  const taskAt = new Map(ds.tasks.map((t, i) => [t.name, i]));
  completion.cells.forEach((c, j) => {
    const m = modelAt.get(c.model);
    const t = taskAt.get(c.task);
    const field = `completion.cells[${j}]`;
    if (m === undefined) throw new CollabperfError('E_NOT_FOUND', `the completion predicts model "${c.model}", which dataset "${ds.name}" does not have`, { field });
    if (t === undefined) throw new CollabperfError('E_NOT_FOUND', `the completion predicts task "${c.task}", which dataset "${ds.name}" does not have`, { field });
    if (!Number.isFinite(c.prediction)) throw new CollabperfError('E_NON_FINITE', `the completion's prediction for (${c.model}, ${c.task}) is ${c.prediction}`, { field });
    const i = m * nT + t;
    if (kind[i] !== 0) {
      const what = kind[i] === 1 ? 'an observed cell' : 'a cell it already predicted';
      throw new CollabperfError('E_DUPLICATE_ENTRY', `the completion predicts (${c.model}, ${c.task}), ${what}`, { field });
    }
    value[i] = c.prediction;
    kind[i] = 2;
  });

  const means: Array<{ m: number; mean: number }> = [];
  for (let m = 0; m < ds.models.length; m++) {
    let sum = 0;
    let n = 0;
    for (let t = 0; t < nT; t++) {
      if (kind[m * nT + t] === 0) continue;
      sum += to100(scales, t, value[m * nT + t]);
      n++;
    }
    if (n > 0) means.push({ m, mean: sum / n });
  }
  // Ties keep dataset order, so the same input always gives the same picture.
  means.sort((a, b) => b.mean - a.mean || a.m - b.m);
  let shown = means;
  if (means.length > maxModels) {
    const picks = new Set<number>();
    for (let i = 0; i < maxModels; i++) picks.add(Math.round((i * (means.length - 1)) / Math.max(1, maxModels - 1)));
    shown = [...picks].sort((a, b) => a - b).map((i) => means[i]);
  }

  const cells: MatrixCell[] = [];
  let observed = 0;
  let predicted = 0;
  for (const { m } of shown) {
    for (let t = 0; t < nT; t++) {
      const k = kind[m * nT + t];
      if (k === 0) continue;
      const raw = value[m * nT + t];
      const score = to100(scales, t, raw);
      const what = k === 1 ? 'observed' : 'predicted';
      // The colour is the 0–100 score; where that is not the data's own number, both are given.
      const text = ds.tasks[t].scale === 'percent' ? `${what} ${score.toFixed(1)}` : `${what} ${formatRaw(raw)} (${score.toFixed(1)} on the colour scale)`;
      cells.push({ model: ds.models[m].name, task: ds.tasks[t].name, score, raw, kind: what, label: `${ds.models[m].name}; ${ds.tasks[t].name}; ${text}` });
      if (k === 1) observed++;
      else predicted++;
    }
  }
  return { cells, modelOrder: shown.map(({ m }) => ds.models[m].name), taskOrder: ds.tasks.map((t) => t.name), modelsWithCells: means.length, observed, predicted };
}

/**
 * Every held-out prediction of every method (all seeds and folds), on the 0–100 scale. The
 * evaluation must be of `ds`: its cells are indices into `ds`.
 */
export function heldOutRows(ds: Dataset, evaluation: EvaluationResult, scales: TaskScales = taskScales(ds)): HeldOutRow[] {
  if (evaluation.dataset !== ds.name) {
    throw bad(`the evaluation is of dataset "${evaluation.dataset}" but the report is of "${ds.name}"`, 'evaluation');
  }
  const rows: HeldOutRow[] = [];
  for (const r of evaluation.methods) {
    const p = r.predictions;
    for (let i = 0; i < p.truth.length; i++) {
      const m = p.model[i];
      const t = p.task[i];
      if (!(m >= 0 && m < ds.models.length) || !(t >= 0 && t < ds.tasks.length)) {
        throw new CollabperfError('E_INDEX_OUT_OF_RANGE', `method "${r.method}": held-out cell ${i} is (${m}, ${t}), outside dataset "${ds.name}"`, { field: 'evaluation' });
      }
      const truth = to100(scales, t, p.truth[i]);
      const prediction = to100(scales, t, p.prediction[i]);
      rows.push({ method: r.method, model: ds.models[m].name, task: ds.tasks[t].name, truth, prediction, error: Math.abs(prediction - truth) });
    }
  }
  return rows;
}

/**
 * At most `max` rows per method, evenly spaced in the given order, so that a large evaluation still
 * gives a scatter of readable size with every part of the table represented.
 */
export function subsamplePerMethod(rows: readonly HeldOutRow[], max: number): { rows: HeldOutRow[]; capped: boolean } {
  const by = new Map<string, HeldOutRow[]>();
  for (const r of rows) {
    const list = by.get(r.method);
    if (list) list.push(r);
    else by.set(r.method, [r]);
  }
  const out: HeldOutRow[] = [];
  let capped = false;
  for (const list of by.values()) {
    if (list.length <= max) {
      out.push(...list);
      continue;
    }
    capped = true;
    for (let i = 0; i < max; i++) out.push(list[Math.floor((i * list.length) / max)]);
  }
  return { rows: out, capped };
}

/**
 * Held-out cells per task and method (all seeds and folds pooled): what each bar of the per-task
 * error chart rests on. Methods are evaluated on the same cells, so `min === max` unless a method
 * skipped some.
 */
export function cellsPerTask(rows: readonly HeldOutRow[]): Map<string, { min: number; max: number }> {
  const count = new Map<string, Map<string, number>>();
  for (const r of rows) {
    let byMethod = count.get(r.task);
    if (!byMethod) count.set(r.task, (byMethod = new Map()));
    byMethod.set(r.method, (byMethod.get(r.method) ?? 0) + 1);
  }
  const out = new Map<string, { min: number; max: number }>();
  for (const [task, byMethod] of count) out.set(task, { min: Math.min(...byMethod.values()), max: Math.max(...byMethod.values()) });
  return out;
}

/** Tasks ordered by their mean absolute error over all methods' held-out cells, largest first. */
export function tasksByError(rows: readonly HeldOutRow[]): string[] {
  const acc = new Map<string, { sum: number; n: number }>();
  for (const r of rows) {
    const a = acc.get(r.task);
    if (a) (a.sum += r.error), a.n++;
    else acc.set(r.task, { sum: r.error, n: 1 });
  }
  return [...acc].sort((a, b) => b[1].sum / b[1].n - a[1].sum / a[1].n || (a[0] < b[0] ? -1 : 1)).map(([t]) => t);
}

/** Checks coverage points: a bad level or coverage would draw a misleading curve, so it is an error. */
export function checkCoverage(points: readonly CoveragePoint[]): void {
  const seen = new Set<string>();
  points.forEach((p, i) => {
    const field = `coverage[${i}]`;
    if (typeof p.method !== 'string' || p.method === '') throw bad('a coverage point has no method name', field);
    if (!(typeof p.level === 'number' && p.level > 0 && p.level < 1)) throw bad(`coverage level ${p.level} of method "${p.method}" is outside (0, 1)`, field);
    if (!(typeof p.coverage === 'number' && p.coverage >= 0 && p.coverage <= 1)) throw bad(`coverage ${p.coverage} of method "${p.method}" at level ${p.level} is outside [0, 1]`, field);
    if (!(typeof p.width === 'number' && Number.isFinite(p.width) && p.width >= 0)) throw bad(`interval width ${p.width} of method "${p.method}" at level ${p.level} is not a finite number >= 0`, field);
    const key = `${p.method}\u0000${p.level}`;
    if (seen.has(key)) throw new CollabperfError('E_DUPLICATE_ENTRY', `coverage of method "${p.method}" at level ${p.level} is given twice`, { field });
    seen.add(key);
  });
}

/** Checks advice curve points. */
export function checkAdvice(points: readonly AdviceCurvePoint[]): void {
  const seen = new Set<number>();
  points.forEach((p, i) => {
    const field = `advice[${i}]`;
    if (!(Number.isSafeInteger(p.probes) && p.probes >= 0)) throw bad(`number of probes ${p.probes} is not an integer >= 0`, field);
    for (const k of ['advisor', 'random'] as const) {
      if (!(typeof p[k] === 'number' && Number.isFinite(p[k]) && p[k] >= 0)) throw bad(`${k} error ${p[k]} at ${p.probes} probes is not a finite number >= 0`, field);
    }
    for (const k of ['advisorStd', 'randomStd'] as const) {
      const v = p[k];
      // NaN is what one seed gives: no band, not an error.
      if (v !== undefined && !Number.isNaN(v) && !(typeof v === 'number' && Number.isFinite(v) && v >= 0)) throw bad(`${k} ${v} at ${p.probes} probes is not a number >= 0`, field);
    }
    if (seen.has(p.probes)) throw new CollabperfError('E_DUPLICATE_ENTRY', `the advice curve has ${p.probes} probes twice`, { field });
    seen.add(p.probes);
  });
}
