/**
 * The versioned JSON dataset format (`"format": "collabperf-dataset"`, `"version": 1`; described
 * field by field in `data/README.md`): reading it into a {@link Dataset} with validation, and writing
 * a Dataset back in a deterministic, diff-friendly layout (one model, task, score or note per line).
 */
import { CollabperfError } from '../../errors.js';
import {
  createDataset,
  type Dataset,
  type FactorSchema,
  type FactorSpec,
  type Factors,
  type ModelEntry,
  type ScoreTuple,
  type SourceEntry,
  type TaskEntry,
  type TaskScale,
} from './dataset.js';
import { jsonLineOf, jsonText, parseJsonText, type JsonPath } from './json-lines.js';

/** Value of the `format` field. */
export const DATASET_FORMAT = 'collabperf-dataset';
/**
 * The newest format version this code reads and writes. Version 2 adds `"scale": "unbounded"` on
 * tasks (version 1 readers would reject it). Files are written with the lowest version that can hold
 * their content ({@link requiredFormatVersion}), so a dataset without unbounded tasks stays a
 * version 1 file that older readers still read. The optional source field `url` is ignorable by old
 * readers and needs no new version.
 */
export const DATASET_FORMAT_VERSION = 2;
/** Every format version this code reads. */
export const SUPPORTED_DATASET_FORMAT_VERSIONS: readonly number[] = [1, 2];

/** The JSON document, as written to disk. */
export interface DatasetFile {
  format: typeof DATASET_FORMAT;
  version: number;
  name: string;
  description: string;
  sources: SourceEntry[];
  factorSchema: FactorSchema;
  models: Array<{ name: string; factors: Factors }>;
  tasks: Array<{ name: string; factors: Factors; scale?: TaskScale | 'unbounded'; higherIsBetter?: boolean }>;
  /** `[modelIndex, taskIndex, score, sourceIndex]`, one per observed cell. */
  scores: ScoreTuple[];
  notes: string[];
}

/** True when `value` looks like a dataset document (an object whose `format` is `collabperf-dataset`), whatever its version. */
export function isDatasetDocument(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && (value as { format?: unknown }).format === DATASET_FORMAT;
}

export interface ParseDatasetOptions {
  /** File name for error messages. */
  file?: string;
}

/**
 * Parse the text of a dataset file. Errors: `E_PARSE` (bad JSON, wrong field types, not a
 * collabperf dataset), `E_VERSION` (another format version; the message names the version found and
 * the one supported), and every validation error of {@link createDataset}, with line numbers.
 */
export function parseDatasetJson(text: string, options: ParseDatasetOptions = {}): Dataset {
  const doc = parseJsonText(text, options.file);
  return datasetFromDocument(doc, { file: options.file, lineOf: (p) => jsonLineOf(text, p) });
}

/**
 * Validate a parsed document (e.g. from `JSON.parse`) and build the {@link Dataset}.
 * `lineOf` maps a path to a line for error messages, when the text is at hand.
 */
export function datasetFromDocument(doc: unknown, ctx: { file?: string; lineOf?: (path: JsonPath) => number | undefined } = {}): Dataset {
  const file = ctx.file;
  const at = (path: JsonPath) => ({ file, line: ctx.lineOf?.(path), field: pathText(path) });
  const bad = (message: string, path: JsonPath) => new CollabperfError('E_PARSE', message, at(path));

  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw bad('a dataset file must hold a JSON object', []);
  const o = doc as Record<string, unknown>;
  if (o.format !== DATASET_FORMAT) {
    throw bad(`not a collabperf dataset: "format" is ${jsonText(o.format)}, expected "${DATASET_FORMAT}"`, ['format']);
  }
  if (typeof o.version !== 'number' || !SUPPORTED_DATASET_FORMAT_VERSIONS.includes(o.version)) {
    const found = o.version === undefined ? 'no version' : `version ${jsonText(o.version)}`;
    throw new CollabperfError(
      'E_VERSION',
      `dataset file has ${found}; this collabperf reads dataset format versions ${SUPPORTED_DATASET_FORMAT_VERSIONS.join(' and ')} only`,
      at(['version']),
    );
  }
  const version = o.version;
  const str = (v: unknown, path: JsonPath, optional = false): string => {
    if (typeof v === 'string') return v;
    if (optional && v === undefined) return '';
    throw bad(`expected a string, got ${describe(v)}`, path);
  };
  const arr = (v: unknown, path: JsonPath): unknown[] => {
    if (Array.isArray(v)) return v;
    throw bad(`expected an array, got ${describe(v)}`, path);
  };
  const obj = (v: unknown, path: JsonPath): Record<string, unknown> => {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
    throw bad(`expected an object, got ${describe(v)}`, path);
  };

  const name = str(o.name, ['name']);
  const description = str(o.description, ['description'], true);

  const sources: SourceEntry[] = arr(o.sources, ['sources']).map((s, i) => {
    const so = obj(s, ['sources', i]);
    const e: SourceEntry = {
      id: str(so.id, ['sources', i, 'id']),
      title: str(so.title, ['sources', i, 'title'], true),
      citation: str(so.citation, ['sources', i, 'citation'], true),
    };
    if (so.license !== undefined) e.license = str(so.license, ['sources', i, 'license']);
    if (so.url !== undefined) e.url = str(so.url, ['sources', i, 'url']);
    return e;
  });

  const fsObj = o.factorSchema === undefined ? {} : obj(o.factorSchema, ['factorSchema']);
  const specs = (what: 'model' | 'task'): FactorSpec[] =>
    (fsObj[what] === undefined ? [] : arr(fsObj[what], ['factorSchema', what])).map((f, i) => {
      const fo = obj(f, ['factorSchema', what, i]);
      const spec: FactorSpec = {
        name: str(fo.name, ['factorSchema', what, i, 'name']),
        type: str(fo.type, ['factorSchema', what, i, 'type']) as FactorSpec['type'],
      };
      if (fo.unit !== undefined) spec.unit = str(fo.unit, ['factorSchema', what, i, 'unit']);
      if (fo.description !== undefined) spec.description = str(fo.description, ['factorSchema', what, i, 'description']);
      return spec;
    });
  const factorSchema: FactorSchema = { model: specs('model'), task: specs('task') };

  const factorsOf = (v: unknown, path: JsonPath): Factors => {
    if (v === undefined) return {};
    const fo = obj(v, path);
    const out: Factors = {};
    for (const [k, x] of Object.entries(fo)) {
      if (x === null) continue; // an explicit null is a missing value
      if (typeof x !== 'number' && typeof x !== 'string') throw bad(`factor "${k}" must be a number, a string or null, got ${describe(x)}`, [...path, k]);
      out[k] = x;
    }
    return out;
  };
  const models: ModelEntry[] = arr(o.models, ['models']).map((m, i) => {
    const mo = obj(m, ['models', i]);
    return { name: str(mo.name, ['models', i, 'name']), factors: factorsOf(mo.factors, ['models', i, 'factors']) };
  });
  const tasks: TaskEntry[] = arr(o.tasks, ['tasks']).map((t, i) => {
    const to = obj(t, ['tasks', i]);
    const e: TaskEntry = { name: str(to.name, ['tasks', i, 'name']), factors: factorsOf(to.factors, ['tasks', i, 'factors']) };
    if (to.scale === 'unbounded') {
      if (version < 2) throw bad('"scale": "unbounded" needs dataset format version 2; this file says version 1', ['tasks', i, 'scale']);
      e.unbounded = true;
    } else if (to.scale !== undefined) e.scale = to.scale as TaskScale; // checked by createDataset
    if (to.higherIsBetter !== undefined) e.higherIsBetter = to.higherIsBetter as boolean;
    return e;
  });

  const scores: ScoreTuple[] = arr(o.scores, ['scores']).map((s, e) => {
    if (!Array.isArray(s) || s.length !== 4 || !s.every((x) => typeof x === 'number')) {
      throw bad(`each score must be [modelIndex, taskIndex, score, sourceIndex] (four numbers), got ${jsonText(s)}`, ['scores', e]);
    }
    return s as ScoreTuple;
  });
  const notes = o.notes === undefined ? [] : arr(o.notes, ['notes']).map((n, i) => str(n, ['notes', i]));

  return createDataset({ name, description, models, tasks, factorSchema, sources, scores, notes }, { file, lineOf: ctx.lineOf });
}

/** The document for a dataset (a plain object, ready for `JSON.stringify`). Missing factors are omitted. */
export function datasetToDocument(ds: Dataset): DatasetFile {
  const scores: ScoreTuple[] = [];
  const { model, task, value, source } = ds.scores;
  for (let e = 0; e < value.length; e++) scores.push([model[e], task[e], value[e], source[e]]);
  return {
    format: DATASET_FORMAT,
    version: requiredFormatVersion(ds),
    name: ds.name,
    description: ds.description,
    sources: ds.sources.map((s) => {
      const o: SourceEntry = { id: s.id, title: s.title, citation: s.citation };
      if (s.license !== undefined) o.license = s.license;
      if (s.url !== undefined) o.url = s.url;
      return o;
    }),
    factorSchema: {
      model: ds.factorSchema.model.map(specOut),
      task: ds.factorSchema.task.map(specOut),
    },
    models: ds.models.map((m) => ({ name: m.name, factors: orderedFactors(m.factors, ds.factorSchema.model) })),
    tasks: ds.tasks.map((t) => {
      const o: DatasetFile['tasks'][number] = { name: t.name, factors: orderedFactors(t.factors, ds.factorSchema.task) };
      if (t.scale !== undefined) o.scale = t.scale;
      else if (t.unbounded === true) o.scale = 'unbounded';
      if (t.higherIsBetter !== undefined) o.higherIsBetter = t.higherIsBetter;
      return o;
    }),
    scores,
    notes: [...ds.notes],
  };
}

/** The lowest format version that holds `ds`: 2 when a task is declared unbounded, else 1. */
export function requiredFormatVersion(ds: Dataset): number {
  return ds.tasks.some((t) => t.unbounded === true && t.scale === undefined) ? 2 : 1;
}

/**
 * Serialise a dataset to the versioned JSON text. The layout is deterministic (same dataset, same
 * bytes): compact JSON with one source, factor, model, task, score or note per line, and a final
 * newline. Numbers are written in JavaScript's shortest round-trip form.
 */
export function serializeDataset(ds: Dataset): string {
  const d = datasetToDocument(ds);
  const j = (v: unknown) => JSON.stringify(v);
  const list = (items: unknown[]) => (items.length === 0 ? '[]' : `[\n${items.map(j).join(',\n')}\n]`);
  const parts = [
    `"format":${j(d.format)}`,
    `"version":${d.version}`,
    `"name":${j(d.name)}`,
    `"description":${j(d.description)}`,
    `"sources":${list(d.sources)}`,
    `"factorSchema":{"model":${list(d.factorSchema.model)},\n"task":${list(d.factorSchema.task)}}`,
    `"models":${list(d.models)}`,
    `"tasks":${list(d.tasks)}`,
    `"scores":${list(d.scores)}`,
    `"notes":${list(d.notes)}`,
  ];
  return `{\n${parts.join(',\n')}\n}\n`;
}

function specOut(f: FactorSpec): FactorSpec {
  const o: FactorSpec = { name: f.name, type: f.type };
  if (f.unit !== undefined) o.unit = f.unit;
  if (f.description !== undefined) o.description = f.description;
  return o;
}

/** Factors in schema order (so output does not depend on insertion order). */
function orderedFactors(f: Factors, schema: FactorSpec[]): Factors {
  const out: Factors = {};
  for (const s of schema) if (f[s.name] !== undefined) out[s.name] = f[s.name];
  return out;
}

function pathText(path: JsonPath): string | undefined {
  if (path.length === 0) return undefined;
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
  return out;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${JSON.stringify(v)}`;
}
