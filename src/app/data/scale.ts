/**
 * Task scales: the range each task's scores live on — a fraction (0–1), a percent (0–100), another
 * fixed range (e.g. 1–5 ratings), or unbounded (Elo ratings, counts, bits per byte).
 *
 * A task's scale comes, in this order of precedence, from a user option (`"Task=0-1,Other=0-100"`,
 * {@link parseScaleOption}), from the dataset (the task's `scale` field, or `"scale": "unbounded"`),
 * or is inferred from the task's observed values ({@link inferScale}); every resolved scale says
 * where it came from and why, so that the CLI can tell the user what it assumed.
 */
import { CollabperfError } from '../../errors.js';
import type { Dataset, TaskEntry } from './dataset.js';
import { findTask, normalizeName } from './dataset.js';

/** Kind of a task scale. `range` is a fixed range other than 0–1 and 0–100. */
export type ScaleKind = 'fraction' | 'percent' | 'range' | 'unbounded';

/** A task scale: its kind and bounds (`-Infinity`/`Infinity` when unbounded). */
export interface Scale {
  kind: ScaleKind;
  min: number;
  max: number;
}

/** Where a resolved scale came from. */
export type ScaleOrigin = 'option' | 'dataset' | 'inferred';

/** The scale of one task, with its origin and a human-readable reason. */
export interface ResolvedScale extends Scale {
  task: string;
  origin: ScaleOrigin;
  /** True when the scale was inferred from the values (neither the dataset nor the user gave it). */
  inferred: boolean;
  /** Why this scale, e.g. `"all 84 observed values lie in [0, 100] and some exceed 1"`. */
  reason: string;
}

/** The 0–1 scale. */
export const FRACTION: Scale = Object.freeze({ kind: 'fraction', min: 0, max: 1 }) as Scale;
/** The 0–100 scale. */
export const PERCENT: Scale = Object.freeze({ kind: 'percent', min: 0, max: 100 }) as Scale;
/** No fixed range. */
export const UNBOUNDED: Scale = Object.freeze({ kind: 'unbounded', min: -Infinity, max: Infinity }) as Scale;

/** A scale from bounds: 0–1 and 0–100 get their own kinds, anything else is a `range`. */
export function scaleFromBounds(min: number, max: number): Scale {
  if (min === 0 && max === 1) return { ...FRACTION };
  if (min === 0 && max === 100) return { ...PERCENT };
  return { kind: 'range', min, max };
}

/** The scale a dataset declares for a task, or `undefined` when it declares none. */
export function declaredScale(task: TaskEntry): Scale | undefined {
  if (task.scale === 'unit') return { ...FRACTION };
  if (task.scale === 'percent') return { ...PERCENT };
  if (task.scale !== undefined) return scaleFromBounds(task.scale.min, task.scale.max);
  if (task.unbounded === true) return { ...UNBOUNDED };
  return undefined;
}

/**
 * Infers a scale from observed values: all in [0, 1] → fraction; all in [0, 100] with some above 1
 * → percent; otherwise (or with no values) unbounded. The reason says which rule applied.
 */
export function inferScale(values: ArrayLike<number>): { scale: Scale; reason: string } {
  const n = values.length;
  if (n === 0) return { scale: { ...UNBOUNDED }, reason: 'no observed values, so no range can be assumed' };
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    if (values[i] < lo) lo = values[i];
    if (values[i] > hi) hi = values[i];
  }
  const range = `(observed ${fmt(lo)} to ${fmt(hi)})`;
  if (lo >= 0 && hi <= 1) return { scale: { ...FRACTION }, reason: `all ${n} observed values lie in [0, 1] ${range}` };
  if (lo >= 0 && hi <= 100) return { scale: { ...PERCENT }, reason: `all ${n} observed values lie in [0, 100] and some exceed 1 ${range}` };
  return { scale: { ...UNBOUNDED }, reason: `observed values ${lo < 0 ? 'go below 0' : 'exceed 100'} ${range}` };
}

/** Per-task scales given by the user, keyed by task index. */
export type ScaleOverrides = ReadonlyMap<number, Scale>;

/**
 * Parses a user scale option such as `"MMLU=0-100,Arena Elo=unbounded,Helpfulness=1-5"` against a
 * dataset. Each value is `fraction` (or `0-1`), `percent` (or `0-100`), `unbounded` (or `none`), or
 * `MIN-MAX` / `MIN..MAX` with MIN < MAX (negative bounds need `..`, e.g. `-1..1`). Task names are
 * matched like other task names (exact, then case/space-insensitive, then without a parenthesised
 * setting: `MMLU` → `MMLU(5-shot)`).
 *
 * Errors (`E_PARSE` for syntax, `E_NOT_FOUND` for an unknown task, `E_DUPLICATE_ENTRY` for a task
 * given twice) name the part of the option and the task.
 */
export function parseScaleOption(text: string, dataset: Dataset): Map<number, Scale> {
  const field = '--scale';
  const out = new Map<number, Scale>();
  const parts = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (parts.length === 0) throw new CollabperfError('E_PARSE', 'the scale option needs TASK=SCALE pairs separated by commas, e.g. "MMLU=0-100,Arena=unbounded"', { field });
  for (const part of parts) {
    const eq = part.lastIndexOf('=');
    if (eq <= 0) throw new CollabperfError('E_PARSE', `"${part}" is not TASK=SCALE (e.g. "MMLU=0-100")`, { field });
    const name = part.slice(0, eq).trim();
    const spec = part.slice(eq + 1).trim();
    const t = lookupTask(dataset, name);
    const scale = parseScaleSpec(spec);
    if (scale === undefined) {
      throw new CollabperfError(
        'E_PARSE',
        `scale for task "${dataset.tasks[t].name}" is "${spec}"; expected fraction (0-1), percent (0-100), unbounded, or MIN-MAX with MIN < MAX`,
        { field },
      );
    }
    if (out.has(t)) throw new CollabperfError('E_DUPLICATE_ENTRY', `the scale of task "${dataset.tasks[t].name}" is given twice`, { field });
    out.set(t, scale);
  }
  return out;
}

/** One scale value as written in the option; `undefined` when it is not one. */
function parseScaleSpec(spec: string): Scale | undefined {
  const s = spec.toLowerCase();
  if (s === 'fraction' || s === 'unit') return { ...FRACTION };
  if (s === 'percent' || s === '%') return { ...PERCENT };
  if (s === 'unbounded' || s === 'none') return { ...UNBOUNDED };
  const num = '([-+]?(?:\\d+\\.?\\d*|\\.\\d+)(?:e[-+]?\\d+)?)';
  const m = new RegExp(`^${num}\\s*\\.\\.\\s*${num}$`).exec(s) ?? new RegExp(`^${num}\\s*-\\s*${num}$`).exec(s);
  if (!m) return undefined;
  const min = Number(m[1]);
  const max = Number(m[2]);
  if (!Number.isFinite(min) || !Number.isFinite(max) || !(min < max)) return undefined;
  return scaleFromBounds(min, max);
}

/** Task lookup with the same forgiving rules as `--new` (kept here so data code does not import the app). */
function lookupTask(ds: Dataset, name: string): number {
  const direct = findTask(ds, name);
  if (direct >= 0) return direct;
  const q = normalizeName(name);
  const hits = ds.tasks.flatMap((t, i) => (normalizeName(t.name.replace(/\s*\(.*\)\s*$/, '')) === q ? [i] : []));
  if (hits.length === 1) return hits[0];
  const why = hits.length > 1 ? `matches several tasks (${hits.map((i) => JSON.stringify(ds.tasks[i].name)).join(', ')}); use the full name` : `is not a task of dataset "${ds.name}"`;
  throw new CollabperfError('E_NOT_FOUND', `scale option: task "${name}" ${why}`, { field: '--scale' });
}

/**
 * The scale of every task of `ds` (in task order): a user override first, then the dataset's
 * declaration, else inferred from the task's observed values in `ds`.
 */
export function resolveScales(ds: Dataset, overrides: ScaleOverrides = new Map()): ResolvedScale[] {
  const values: number[][] = ds.tasks.map(() => []);
  for (let e = 0; e < ds.scores.value.length; e++) values[ds.scores.task[e]].push(ds.scores.value[e]);
  return ds.tasks.map((t, i) => {
    const o = overrides.get(i);
    if (o !== undefined) return { task: t.name, ...o, origin: 'option', inferred: false, reason: `given by the user as ${describeScale(o)}` };
    const d = declaredScale(t);
    if (d !== undefined) return { task: t.name, ...d, origin: 'dataset', inferred: false, reason: `declared by dataset "${ds.name}"` };
    const inf = inferScale(values[i]);
    return { task: t.name, ...inf.scale, origin: 'inferred', inferred: true, reason: inf.reason };
  });
}

/** `"0-1"`, `"0-100"`, `"1-5"`, `"unbounded"`. */
export function describeScale(scale: Scale): string {
  return scale.kind === 'unbounded' ? 'unbounded' : `${fmt(scale.min)}-${fmt(scale.max)}`;
}

/** `value` moved into the scale's bounds (unchanged when unbounded or already inside; NaN stays NaN). */
export function clampToScale(value: number, scale: Scale): number {
  if (value < scale.min) return scale.min;
  if (value > scale.max) return scale.max;
  return value;
}

/** Why a given score does not fit its task's scale. */
export interface ScaleWarning {
  /** `fraction-on-percent`: looks like a fraction on a 0–100 task; `percent-on-fraction`: looks like a percent on a 0–1 task; `outside`: beyond the bounds. */
  kind: 'fraction-on-percent' | 'percent-on-fraction' | 'outside';
  task: string;
  /** The model whose score it is, when known. */
  model?: string;
  value: number;
  message: string;
}

/**
 * Checks a score given by the user against its task's scale; `undefined` when it fits; `model` (the
 * model the score is of) is named in the message when given. On a 0–100
 * task a value strictly between 0 and 1 is taken for a fraction ("did you mean 66.6?"); on a 0–1 task
 * a value in (1, 100] for a percent; anything else outside the bounds is reported as such.
 */
export function checkGivenScore(task: string, value: number, scale: Scale, model?: string): ScaleWarning | undefined {
  // With the model named the warning stands alone in a log: which model, which task, which value.
  const who = model === undefined ? '' : `model "${model}": `;
  const at = model === undefined ? {} : { model };
  if (scale.kind === 'percent' && value > 0 && value < 1) {
    return { kind: 'fraction-on-percent', task, value, ...at, message: `${who}${task}=${fmt(value)} looks like a fraction but the task is on 0-100; did you mean ${fmt(value * 100)}?` };
  }
  if (scale.kind === 'fraction' && value > 1 && value <= 100) {
    return { kind: 'percent-on-fraction', task, value, ...at, message: `${who}${task}=${fmt(value)} looks like a percent but the task is on 0-1; did you mean ${fmt(value / 100)}?` };
  }
  if (value < scale.min || value > scale.max) {
    return { kind: 'outside', task, value, ...at, message: `${who}${task}=${fmt(value)} is outside the task's scale ${describeScale(scale)}` };
  }
  return undefined;
}

/**
 * The dataset with the user's scales declared on its tasks (a shallow copy; scores are shared), so
 * that every method and metric reading a task's declared scale (the logit transform, the clipping,
 * the 0-100 mapping of the metrics) works on the scale the user gave.
 */
export function withDeclaredScales(ds: Dataset, overrides: ScaleOverrides): Dataset {
  if (overrides.size === 0) return ds;
  const tasks = ds.tasks.map((t, i): TaskEntry => {
    const o = overrides.get(i);
    if (o === undefined) return t;
    const { scale: _scale, unbounded: _unbounded, ...rest } = t;
    if (o.kind === 'unbounded') return { ...rest, unbounded: true };
    return { ...rest, scale: o.kind === 'fraction' ? 'unit' : o.kind === 'percent' ? 'percent' : { min: o.min, max: o.max } };
  });
  return { ...ds, tasks };
}

/**
 * Observed scores of the table outside a scale the user gave for their task: one warning per task,
 * with the count and the first such score (model and value), since a wrong `--scale` or a wrong cell
 * both show up here.
 */
export function observedOutsideScales(ds: Dataset, overrides: ScaleOverrides): ScaleWarning[] {
  const out: ScaleWarning[] = [];
  const count = new Int32Array(ds.tasks.length);
  const first = new Int32Array(ds.tasks.length).fill(-1);
  for (let e = 0; e < ds.scores.value.length; e++) {
    const t = ds.scores.task[e];
    const sc = overrides.get(t);
    const v = ds.scores.value[e];
    if (sc !== undefined && (v < sc.min || v > sc.max)) {
      if (count[t]++ === 0) first[t] = e;
    }
  }
  count.forEach((n, t) => {
    if (n === 0) return;
    const e = first[t];
    const task = ds.tasks[t].name;
    const model = ds.models[ds.scores.model[e]].name;
    const value = ds.scores.value[e];
    out.push({
      kind: 'outside',
      task,
      model,
      value,
      message: `${n} observed score(s) of task "${task}" lie outside the scale ${describeScale(overrides.get(t)!)} given for it (first: model "${model}", ${fmt(value)}); predictions are clamped to that scale`,
    });
  });
  return out;
}

/** Short decimal form without float noise (`0.666 * 100` → `66.6`). */
function fmt(x: number): string {
  return String(Number(x.toPrecision(12)));
}
