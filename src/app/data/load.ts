/**
 * One entry point for score data: `loadData(spec, options)` where `spec` is a built-in dataset name
 * or a file path (no spec: the default built-in dataset, `crowdsource`). Files are dispatched on
 * extension and content:
 *
 * - `.json`: a collabperf dataset document (`"format": "collabperf-dataset"`) or a long JSON array;
 * - `.csv`, `.tsv`, anything else: a long table when the header has `model`, `task` and `score`
 *   columns, otherwise a wide table (`tasksAsRows` for the transposed layout). Files of another
 *   extension starting with `{` or `[` are read as JSON.
 *
 * Optional model- and task-factor tables are attached afterwards; names in them that match nothing
 * are returned as warnings (and kept in the dataset's notes), never dropped silently.
 */
import { existsSync } from 'node:fs';
import { extname } from 'node:path';
import { CollabperfError } from '../../errors.js';
import { DEFAULT_DATASET, listBuiltinDatasets, loadBuiltinDataset } from './builtin.js';
import { parseCsv, type CsvDelimiter } from './csv.js';
import type { Dataset } from './dataset.js';
import { attachModelFactors, attachTaskFactors, parseFactorTable, type AttachReport } from './factor-table.js';
import { datasetFromDocument, isDatasetDocument } from './format.js';
import { jsonLineOf, parseJsonText } from './json-lines.js';
import { isLongHeader, parseLongCsv, parseLongJson } from './long-table.js';
import { readTextFile, readTextFileSync } from './read-text.js';
import { parseWideTable } from './wide-table.js';

/** How a file is read; `auto` decides from extension and content. */
export type DataFormat = 'auto' | 'dataset' | 'long-json' | 'wide' | 'long';

export interface LoadDataOptions {
  /** Force the reader instead of detecting it. */
  format?: DataFormat;
  /** Wide tables: header = model names, one row per task. */
  tasksAsRows?: boolean;
  /** CSV delimiter (default: detected). */
  delimiter?: CsvDelimiter;
  /** Path of a model-factor table to attach. */
  modelFactors?: string;
  /** Path of a task-factor table to attach. */
  taskFactors?: string;
  /** Factor-table name → dataset model name, tried before exact and normalised matching. */
  modelAliases?: Record<string, string>;
  /** Factor-table name → dataset task name. */
  taskAliases?: Record<string, string>;
}

/** What was read, from where, and what the caller should be told. */
export interface LoadedData {
  dataset: Dataset;
  /** `builtin` or the reader used for a file. */
  kind: 'builtin' | Exclude<DataFormat, 'auto'>;
  /** File path, or the built-in dataset name. */
  origin: string;
  /** Things worth printing: factor-table names that matched nothing, models/tasks without factors. */
  warnings: string[];
}

/** Decide whether `spec` names a built-in dataset or a file. */
function resolveSpec(spec: string | undefined): { builtin: string } | { path: string } {
  if (spec === undefined || spec.trim() === '') return { builtin: DEFAULT_DATASET };
  const pathLike = /[\\/]/.test(spec) || extname(spec) !== '';
  if (!pathLike) {
    const names = listBuiltinDatasets().map((d) => d.name);
    const hit = names.find((n) => n.toLowerCase() === spec.toLowerCase());
    if (hit) return { builtin: hit };
    if (!existsSync(spec)) {
      throw new CollabperfError('E_NOT_FOUND', `"${spec}" is neither a built-in dataset (${names.join(', ')}) nor an existing file`, { field: 'dataset' });
    }
  }
  return { path: spec };
}

/**
 * Read score data from text already in memory. `file` is used for messages and, with `format:
 * 'auto'`, for its extension.
 */
export function parseData(text: string, options: LoadDataOptions & { file?: string } = {}): { dataset: Dataset; kind: Exclude<DataFormat, 'auto'> } {
  const file = options.file;
  let format = options.format ?? 'auto';
  const ext = file ? extname(file).toLowerCase() : '';
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const json = format === 'dataset' || format === 'long-json' || (format === 'auto' && (ext === '.json' || (ext !== '.csv' && ext !== '.tsv' && /^\s*[[{]/.test(body))));
  if (json) {
    const doc = parseJsonText(body, file);
    if (format === 'auto') {
      if (isDatasetDocument(doc) || (typeof doc === 'object' && doc !== null && !Array.isArray(doc) && 'format' in doc)) format = 'dataset';
      else if (Array.isArray(doc)) format = 'long-json';
      else {
        throw new CollabperfError('E_PARSE', 'unrecognised JSON: expected a collabperf dataset ("format": "collabperf-dataset") or an array of {model, task, score} objects', {
          file,
          line: 1,
        });
      }
    }
    if (format === 'dataset') return { dataset: datasetFromDocument(doc, { file, lineOf: (p) => jsonLineOf(body, p) }), kind: 'dataset' };
    if (!Array.isArray(doc)) throw new CollabperfError('E_PARSE', 'a long JSON table must be an array of {model, task, score, source?} objects', { file, line: 1 });
    return { dataset: parseLongJson(body, { file }), kind: 'long-json' };
  }
  if (format === 'auto') {
    const first = parseCsv(body, { delimiter: options.delimiter, file }).records.find((r) => r.fields.some((f) => f.trim() !== ''));
    format = first && isLongHeader(first.fields) ? 'long' : 'wide';
  }
  if (format === 'long') return { dataset: parseLongCsv(body, { file, delimiter: options.delimiter }), kind: 'long' };
  return { dataset: parseWideTable(body, { file, delimiter: options.delimiter, tasksAsRows: options.tasksAsRows }), kind: 'wide' };
}

// Line-length guarded: a 60 MB single-line file is refused while read, not after 1 GB of parsing.
function readFileText(path: string): string {
  return readTextFileSync(path);
}

async function readFileTextAsync(path: string): Promise<string> {
  return readTextFile(path);
}

function finish(
  dataset: Dataset,
  kind: LoadedData['kind'],
  origin: string,
  options: LoadDataOptions,
  factorTexts: { model?: string; task?: string },
): LoadedData {
  const warnings: string[] = [];
  const report = (what: 'model' | 'task', file: string, r: AttachReport) => {
    for (const u of r.unmatched) warnings.push(`${file}, line ${u.line}: ${what} "${u.name}" matches no ${what} of the dataset; its factors are not used`);
    if (r.withoutFactors.length > 0) warnings.push(`${r.withoutFactors.length} ${what}(s) have no row in ${file}: ${r.withoutFactors.slice(0, 10).join(', ')}${r.withoutFactors.length > 10 ? ', ...' : ''}`);
  };
  if (options.modelFactors !== undefined && factorTexts.model !== undefined) {
    const table = parseFactorTable(factorTexts.model, { file: options.modelFactors });
    const r = attachModelFactors(dataset, table, { aliases: options.modelAliases });
    dataset = r.dataset;
    report('model', options.modelFactors, r.report);
  }
  if (options.taskFactors !== undefined && factorTexts.task !== undefined) {
    const table = parseFactorTable(factorTexts.task, { file: options.taskFactors });
    const r = attachTaskFactors(dataset, table, { aliases: options.taskAliases });
    dataset = r.dataset;
    report('task', options.taskFactors, r.report);
  }
  return { dataset, kind, origin, warnings };
}

/** Synchronous {@link loadData}. */
export function loadDataSync(spec?: string, options: LoadDataOptions = {}): LoadedData {
  const r = resolveSpec(spec);
  const factorTexts = {
    model: options.modelFactors !== undefined ? readFileText(options.modelFactors) : undefined,
    task: options.taskFactors !== undefined ? readFileText(options.taskFactors) : undefined,
  };
  if ('builtin' in r) return finish(loadBuiltinDataset(r.builtin), 'builtin', r.builtin, options, factorTexts);
  const { dataset, kind } = parseData(readFileText(r.path), { ...options, file: r.path });
  return finish(dataset, kind, r.path, options, factorTexts);
}

/**
 * Load score data: a built-in dataset by name, or a file (see the module comment for the formats).
 * Errors: `E_NOT_FOUND` (neither a built-in name nor a file), `E_FILE` (unreadable file), and the
 * readers' `E_PARSE`, `E_DUPLICATE_ENTRY`, `E_EMPTY`, `E_VERSION`, `E_NON_FINITE` with file, line
 * and field.
 */
export async function loadData(spec?: string, options: LoadDataOptions = {}): Promise<LoadedData> {
  const r = resolveSpec(spec);
  const factorTexts = {
    model: options.modelFactors !== undefined ? await readFileTextAsync(options.modelFactors) : undefined,
    task: options.taskFactors !== undefined ? await readFileTextAsync(options.taskFactors) : undefined,
  };
  if ('builtin' in r) return finish(loadBuiltinDataset(r.builtin), 'builtin', r.builtin, options, factorTexts);
  const { dataset, kind } = parseData(await readFileTextAsync(r.path), { ...options, file: r.path });
  return finish(dataset, kind, r.path, options, factorTexts);
}
