/**
 * The in-memory dataset: a models × tasks score matrix stored as a long (sparse) list of observed
 * cells in parallel typed arrays, with the source of every score, model and task factors (side
 * information such as parameter count or task ability) and the schema of those factors.
 *
 * Everything that reads data (built-in datasets, the versioned JSON format, wide and long CSV/TSV
 * tables, long JSON) produces a {@link Dataset} through {@link createDataset}, which validates it.
 */
import { CollabperfError, type CollabperfErrorCode } from '../../errors.js';
import { jsonText } from './json-lines.js';
import type { CellArrays } from './observed-cells.js';

/** A factor value; a missing value is an absent key in {@link Factors}. */
export type FactorValue = number | string;

/** Factor values of one model or task, keyed by factor name (see {@link FactorSchema}). */
export type Factors = Record<string, FactorValue>;

/** Declaration of one factor. */
export interface FactorSpec {
  /** Key used in {@link Factors}. */
  name: string;
  /** `numeric` values are finite numbers, `categorical` values are strings. */
  type: 'numeric' | 'categorical';
  /** Unit of a numeric factor, e.g. `"B"` (billions of parameters), `"T tokens"`. */
  unit?: string;
  /** Free text: what the factor is and where it came from. */
  description?: string;
}

/** The factors that models and tasks of a dataset may carry. */
export interface FactorSchema {
  model: FactorSpec[];
  task: FactorSpec[];
}

/**
 * The bounded range a task's scores live on, when known: `"percent"` = 0–100, `"unit"` = 0–1 (a
 * fraction), or explicit bounds. A task declared to have no fixed range (e.g. bits per byte, Elo)
 * has no `scale` and {@link TaskEntry.unbounded} set.
 */
export type TaskScale = 'percent' | 'unit' | { min: number; max: number };

/** One model (a row of the matrix). */
export interface ModelEntry {
  name: string;
  factors: Factors;
}

/** One task (a column of the matrix). */
export interface TaskEntry {
  name: string;
  factors: Factors;
  /** The bounded range the scores live on, when declared (see {@link TaskScale}). */
  scale?: TaskScale;
  /**
   * `true` when the dataset declares that the task has no fixed range (Elo ratings, counts, bits per
   * byte); written as `"scale": "unbounded"` (format version 2). Absent with no `scale` means the
   * range is unknown, and `scale.ts` infers it from the values. Never set together with `scale`.
   */
  unbounded?: boolean;
  /** `false` when a lower score is better (e.g. bits per byte); absent or `true` = higher is better. */
  higherIsBetter?: boolean;
}

/** Where scores (or factors) came from. */
export interface SourceEntry {
  /** Short identifier, unique within the dataset. */
  id: string;
  /** What the source is. */
  title: string;
  /** URL-free citation, e.g. `"Don-Joey/CPP_LLM @ 4c4319a data/crowdsource_performance.csv"`. */
  citation: string;
  /** What is known about the source's license. */
  license?: string;
  /**
   * Web address of the source, when the raw table cites one per score (e.g. a model card or a
   * technical report). Optional; readers that do not know it ignore it.
   */
  url?: string;
}

/**
 * A dataset's storage of its observed cells: the {@link CellArrays} (model indices into
 * {@link Dataset.models}, task indices into {@link Dataset.tasks}, finite scores) and where each
 * score came from.
 */
export interface ScoreTable extends CellArrays {
  /** Source index of each score (into {@link Dataset.sources}). */
  source: Int32Array;
}

/** A validated dataset (see {@link createDataset}). */
export interface Dataset {
  name: string;
  description: string;
  models: ModelEntry[];
  tasks: TaskEntry[];
  factorSchema: FactorSchema;
  sources: SourceEntry[];
  scores: ScoreTable;
  /** Human-readable remarks: provenance, rules applied while building, names that did not match. */
  notes: string[];
}

/** One observed score given as a tuple `[modelIndex, taskIndex, score, sourceIndex]`. */
export type ScoreTuple = [number, number, number, number];

/** What {@link createDataset} accepts. Models, tasks may be given as bare names. */
export interface DatasetInit {
  name: string;
  description?: string;
  models: Array<string | ModelEntry>;
  tasks: Array<string | TaskEntry>;
  factorSchema?: Partial<FactorSchema>;
  /** At least one source when there are scores; defaults to a single unnamed source. */
  sources?: SourceEntry[];
  scores: ScoreTable | ScoreTuple[];
  notes?: string[];
}

/** Where validation problems are reported (a file being read, if any). */
export interface ValidationContext {
  file?: string;
  /**
   * Line of the value at a path of the dataset object (`['scores', 12]`, `['models', 3, 'name']`),
   * when the dataset was read from a text file; used to put line numbers in errors.
   */
  lineOf?: (path: ReadonlyArray<string | number>) => number | undefined;
}

/**
 * Build and validate a {@link Dataset}.
 *
 * Checks: unique, non-empty model and task names (`E_DUPLICATE_ENTRY` / `E_PARSE`); factor names
 * declared in the schema with the declared type (`E_PARSE`, `E_NON_FINITE`); scale bounds (`E_PARSE`);
 * unique source ids; indices in range (`E_INDEX_OUT_OF_RANGE`); finite scores (`E_NON_FINITE`); each
 * (model, task) cell at most once (`E_DUPLICATE_ENTRY`); parallel arrays of equal length
 * (`E_LENGTH_MISMATCH`). Errors name the offending value by path (`field`, e.g. `scores[12]`) and, with
 * `ctx.lineOf`, by line. Observed cells are kept in the given order; inputs are copied.
 */
export function createDataset(init: DatasetInit, ctx: ValidationContext = {}): Dataset {
  const fail = (code: CollabperfErrorCode, message: string, path: ReadonlyArray<string | number>): CollabperfError =>
    new CollabperfError(code, message, { file: ctx.file, line: ctx.lineOf?.(path), field: formatPath(path) });

  const factorSchema: FactorSchema = {
    model: (init.factorSchema?.model ?? []).map((f) => ({ ...f })),
    task: (init.factorSchema?.task ?? []).map((f) => ({ ...f })),
  };
  for (const what of ['model', 'task'] as const) {
    const seen = new Set<string>();
    factorSchema[what].forEach((f, i) => {
      const path = ['factorSchema', what, i];
      if (typeof f.name !== 'string' || f.name === '') throw fail('E_PARSE', `a ${what} factor has an empty name`, path);
      if (f.type !== 'numeric' && f.type !== 'categorical') {
        throw fail('E_PARSE', `${what} factor "${f.name}" has type ${jsonText(f.type)}; expected "numeric" or "categorical"`, path);
      }
      if (seen.has(f.name)) throw fail('E_DUPLICATE_ENTRY', `${what} factor "${f.name}" is declared twice`, path);
      seen.add(f.name);
    });
  }

  const models: ModelEntry[] = init.models.map((m) =>
    typeof m === 'string' ? { name: m, factors: {} } : { name: m.name, factors: { ...(m.factors ?? {}) } },
  );
  const tasks: TaskEntry[] = init.tasks.map((t) => {
    if (typeof t === 'string') return { name: t, factors: {} };
    const e: TaskEntry = { name: t.name, factors: { ...(t.factors ?? {}) } };
    if (t.scale !== undefined) e.scale = typeof t.scale === 'string' ? t.scale : { ...t.scale };
    if (t.unbounded !== undefined) e.unbounded = t.unbounded;
    if (t.higherIsBetter !== undefined) e.higherIsBetter = t.higherIsBetter;
    return e;
  });
  for (const [what, list, specs] of [
    ['model', models, factorSchema.model],
    ['task', tasks, factorSchema.task],
  ] as const) {
    const seen = new Map<string, number>();
    list.forEach((entry, i) => {
      const coll = `${what}s`;
      if (typeof entry.name !== 'string' || entry.name.trim() === '') throw fail('E_PARSE', `${what} ${i} has an empty name`, [coll, i, 'name']);
      const prev = seen.get(entry.name);
      if (prev !== undefined) throw fail('E_DUPLICATE_ENTRY', `${what} "${entry.name}" appears twice (${coll}[${prev}] and ${coll}[${i}])`, [coll, i, 'name']);
      seen.set(entry.name, i);
      for (const [k, v] of Object.entries(entry.factors)) {
        const path = [coll, i, 'factors', k];
        const spec = specs.find((s) => s.name === k);
        if (!spec) throw fail('E_PARSE', `${what} "${entry.name}" has factor "${k}", which the factor schema does not declare`, path);
        if (spec.type === 'numeric') {
          if (typeof v !== 'number') throw fail('E_PARSE', `${what} "${entry.name}": numeric factor "${k}" has value ${jsonText(v)}`, path);
          if (!Number.isFinite(v)) throw fail('E_NON_FINITE', `${what} "${entry.name}": factor "${k}" is ${v}`, path);
        } else if (typeof v !== 'string') {
          throw fail('E_PARSE', `${what} "${entry.name}": categorical factor "${k}" has non-string value ${jsonText(v)}`, path);
        }
      }
    });
  }
  tasks.forEach((t, i) => {
    if (t.scale !== undefined && !validScale(t.scale)) {
      throw fail('E_PARSE', `task "${t.name}" has an invalid scale ${jsonText(t.scale)}; expected "percent", "unit" or {min, max} with min < max`, ['tasks', i, 'scale']);
    }
    if (t.unbounded !== undefined && typeof t.unbounded !== 'boolean') {
      throw fail('E_PARSE', `task "${t.name}": unbounded must be true or false`, ['tasks', i, 'scale']);
    }
    if (t.unbounded === true && t.scale !== undefined) {
      throw fail('E_PARSE', `task "${t.name}" is declared both unbounded and with scale ${jsonText(t.scale)}`, ['tasks', i, 'scale']);
    }
    if (t.higherIsBetter !== undefined && typeof t.higherIsBetter !== 'boolean') {
      throw fail('E_PARSE', `task "${t.name}": higherIsBetter must be true or false`, ['tasks', i, 'higherIsBetter']);
    }
  });

  const sources: SourceEntry[] = (init.sources ?? [{ id: 'unknown', title: 'unspecified source', citation: '' }]).map((s) => ({ ...s }));
  const seenSource = new Set<string>();
  sources.forEach((s, i) => {
    if (typeof s.id !== 'string' || s.id === '') throw fail('E_PARSE', `source ${i} has an empty id`, ['sources', i, 'id']);
    if (s.url !== undefined && (typeof s.url !== 'string' || s.url === '')) throw fail('E_PARSE', `source "${s.id}" has an empty url`, ['sources', i, 'url']);
    if (seenSource.has(s.id)) throw fail('E_DUPLICATE_ENTRY', `source id "${s.id}" appears twice`, ['sources', i, 'id']);
    seenSource.add(s.id);
  });

  let scores: ScoreTable;
  if (Array.isArray(init.scores)) {
    const tuples = init.scores;
    const n = tuples.length;
    scores = { model: new Int32Array(n), task: new Int32Array(n), value: new Float64Array(n), source: new Int32Array(n) };
    for (let e = 0; e < n; e++) {
      const [m, k, v, s] = tuples[e];
      if (!Number.isInteger(m) || !Number.isInteger(k) || !Number.isInteger(s)) {
        throw fail('E_INDEX_OUT_OF_RANGE', `score ${e}: indices must be integers, got ${jsonText(tuples[e])}`, ['scores', e]);
      }
      if (!(m >= 0 && m < models.length)) throw fail('E_INDEX_OUT_OF_RANGE', `score ${e}: model index ${m} outside 0..${models.length - 1}`, ['scores', e]);
      if (!(k >= 0 && k < tasks.length)) throw fail('E_INDEX_OUT_OF_RANGE', `score ${e}: task index ${k} outside 0..${tasks.length - 1}`, ['scores', e]);
      if (!(s >= 0 && s < sources.length)) throw fail('E_INDEX_OUT_OF_RANGE', `score ${e}: source index ${s} outside 0..${sources.length - 1}`, ['scores', e]);
      scores.model[e] = m;
      scores.task[e] = k;
      scores.value[e] = v;
      scores.source[e] = s;
    }
  } else {
    const s = init.scores;
    scores = { model: Int32Array.from(s.model), task: Int32Array.from(s.task), value: Float64Array.from(s.value), source: Int32Array.from(s.source) };
  }
  const nnz = scores.model.length;
  if (scores.task.length !== nnz || scores.value.length !== nnz || scores.source.length !== nnz) {
    throw fail('E_LENGTH_MISMATCH', `score arrays differ in length (model ${nnz}, task ${scores.task.length}, value ${scores.value.length}, source ${scores.source.length})`, ['scores']);
  }
  const nM = models.length;
  const nT = tasks.length;
  const seen = new Map<number, number>();
  for (let e = 0; e < nnz; e++) {
    const m = scores.model[e];
    const t = scores.task[e];
    const v = scores.value[e];
    const s = scores.source[e];
    if (!(m >= 0 && m < nM)) throw fail('E_INDEX_OUT_OF_RANGE', `score ${e}: model index ${m} outside 0..${nM - 1}`, ['scores', e]);
    if (!(t >= 0 && t < nT)) throw fail('E_INDEX_OUT_OF_RANGE', `score ${e}: task index ${t} outside 0..${nT - 1}`, ['scores', e]);
    if (!(s >= 0 && s < sources.length)) throw fail('E_INDEX_OUT_OF_RANGE', `score ${e}: source index ${s} outside 0..${sources.length - 1}`, ['scores', e]);
    if (typeof v !== 'number' || !Number.isFinite(v)) throw fail('E_NON_FINITE', `score ${e} (${models[m].name}, ${tasks[t].name}) is ${v}`, ['scores', e]);
    const key = m * nT + t;
    const prev = seen.get(key);
    if (prev !== undefined) {
      throw fail('E_DUPLICATE_ENTRY', `cell (${models[m].name}, ${tasks[t].name}) is given twice: scores[${prev}] and scores[${e}]`, ['scores', e]);
    }
    seen.set(key, e);
  }

  return {
    name: init.name,
    description: init.description ?? '',
    models,
    tasks,
    factorSchema,
    sources,
    scores,
    notes: [...(init.notes ?? [])],
  };
}

/** `['scores', 12, 'x']` → `"scores[12].x"`. */
export function formatPath(path: ReadonlyArray<string | number>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
  return out;
}

function validScale(scale: unknown): boolean {
  if (scale === 'percent' || scale === 'unit') return true;
  if (typeof scale !== 'object' || scale === null) return false;
  const { min, max } = scale as { min?: unknown; max?: unknown };
  return typeof min === 'number' && typeof max === 'number' && Number.isFinite(min) && Number.isFinite(max) && min < max;
}

/** Bounds of a {@link TaskScale}. */
export function scaleBounds(scale: TaskScale): { min: number; max: number } {
  if (scale === 'percent') return { min: 0, max: 100 };
  if (scale === 'unit') return { min: 0, max: 1 };
  return { min: scale.min, max: scale.max };
}

/** Model names in row order. */
export function modelNames(ds: Dataset): string[] {
  return ds.models.map((m) => m.name);
}

/** Task names in column order. */
export function taskNames(ds: Dataset): string[] {
  return ds.tasks.map((t) => t.name);
}

/** Number of observed (model, task) cells. */
export function observedCount(ds: Dataset): number {
  return ds.scores.value.length;
}

/** Observed cells / all cells (0 for an empty matrix). */
export function density(ds: Dataset): number {
  const cells = ds.models.length * ds.tasks.length;
  return cells === 0 ? 0 : ds.scores.value.length / cells;
}

/** Shape and fill of a dataset. */
export interface DatasetSummary {
  name: string;
  description: string;
  models: number;
  tasks: number;
  observed: number;
  density: number;
}

/** Shape and fill of a dataset, for listings. */
export function summarizeDataset(ds: Dataset): DatasetSummary {
  return { name: ds.name, description: ds.description, models: ds.models.length, tasks: ds.tasks.length, observed: observedCount(ds), density: density(ds) };
}

/**
 * The score matrix as a dense row-major `Float64Array` of `models × tasks`, `NaN` for a missing cell:
 * the score of model `m` on task `t` is at `m * tasks + t`.
 */
export function toDense(ds: Dataset): Float64Array {
  const nT = ds.tasks.length;
  const out = new Float64Array(ds.models.length * nT).fill(NaN);
  const { model, task, value } = ds.scores;
  for (let e = 0; e < value.length; e++) out[model[e] * nT + task[e]] = value[e];
  return out;
}

/**
 * Normalised form of a model or task name used for forgiving look-ups: Unicode NFKC, lower case,
 * every run of whitespace, `-`, `_` turned into one space, trimmed. `"LLama-2  7B"` and
 * `"llama_2-7b"` both become `"llama 2 7b"`.
 */
export function normalizeName(name: string): string {
  return name.normalize('NFKC').toLowerCase().replace(/[\s\-_]+/g, ' ').trim();
}

interface NameIndex {
  exact: Map<string, number>;
  /** normalised name → index, or -2 when several names share it. */
  normalized: Map<string, number>;
}

const indexCache = new WeakMap<object, NameIndex>();

function nameIndex(list: Array<{ name: string }>): NameIndex {
  let idx = indexCache.get(list);
  if (idx && idx.exact.size === list.length) return idx;
  const exact = new Map<string, number>();
  const normalized = new Map<string, number>();
  list.forEach((e, i) => {
    exact.set(e.name, i);
    const k = normalizeName(e.name);
    normalized.set(k, normalized.has(k) ? -2 : i);
  });
  idx = { exact, normalized };
  indexCache.set(list, idx);
  return idx;
}

function find(list: Array<{ name: string }>, name: string): number {
  const idx = nameIndex(list);
  const e = idx.exact.get(name);
  if (e !== undefined && list[e]?.name === name) return e;
  const n = idx.normalized.get(normalizeName(name));
  return n === undefined || n < 0 ? -1 : n;
}

/**
 * Index of a model by name: an exact match first, otherwise the one model whose
 * {@link normalizeName normalised} name equals the normalised query. -1 when none (or several) match.
 */
export function findModel(ds: Dataset, name: string): number {
  return find(ds.models, name);
}

/** Index of a task by name, with the same rules as {@link findModel}. -1 when none match. */
export function findTask(ds: Dataset, name: string): number {
  return find(ds.tasks, name);
}

/** Like {@link findModel} but throws `E_NOT_FOUND` (with close names as hints) when no model matches. */
export function modelIndex(ds: Dataset, name: string): number {
  const i = findModel(ds, name);
  if (i < 0) throw notFound('model', name, ds.models, ds.name);
  return i;
}

/** Like {@link findTask} but throws `E_NOT_FOUND` when no task matches. */
export function taskIndex(ds: Dataset, name: string): number {
  const i = findTask(ds, name);
  if (i < 0) throw notFound('task', name, ds.tasks, ds.name);
  return i;
}

function notFound(what: string, name: string, list: Array<{ name: string }>, dsName: string): CollabperfError {
  const q = normalizeName(name);
  const close = list
    .map((e) => e.name)
    .filter((n) => {
      const k = normalizeName(n);
      return q.length > 0 && (k.includes(q) || q.includes(k));
    })
    .slice(0, 5);
  const hint = close.length ? `; did you mean ${close.map((c) => JSON.stringify(c)).join(', ')}?` : '';
  return new CollabperfError('E_NOT_FOUND', `no ${what} named "${name}" in dataset "${dsName}"${hint}`, { field: what });
}

/** The observed score of a (model, task) pair given by name or index, or `undefined` when missing. */
export function getScore(ds: Dataset, model: string | number, task: string | number): number | undefined {
  const m = typeof model === 'number' ? model : modelIndex(ds, model);
  const t = typeof task === 'number' ? task : taskIndex(ds, task);
  const { model: mm, task: tt, value } = ds.scores;
  for (let e = 0; e < value.length; e++) if (mm[e] === m && tt[e] === t) return value[e];
  return undefined;
}

/** Number of observed scores per model (length `models`) and per task (length `tasks`). */
export function observedCounts(ds: Dataset): { perModel: Int32Array; perTask: Int32Array } {
  const perModel = new Int32Array(ds.models.length);
  const perTask = new Int32Array(ds.tasks.length);
  for (let e = 0; e < ds.scores.value.length; e++) {
    perModel[ds.scores.model[e]]++;
    perTask[ds.scores.task[e]]++;
  }
  return { perModel, perTask };
}
