/**
 * Long score tables: one observed cell per record.
 *
 * - CSV/TSV with a header row holding `model`, `task`, `score` and optionally `source` columns (names
 *   matched case-insensitively, in any order; other columns are ignored).
 * - JSON: an array of `{ "model": ..., "task": ..., "score": ..., "source"?: ... }` objects.
 *
 * A missing score (empty, `-`, `NA`, `NaN`, `N/A`, or JSON `null`) is skipped, but its model and task
 * still appear in the dataset. Models and tasks are numbered in order of first appearance. The
 * `source` text of a record becomes one of the dataset's sources; records without one get the input
 * file as source. The same (model, task) pair twice is `E_DUPLICATE_ENTRY`, naming both lines.
 */
import { CollabperfError } from '../../errors.js';
import { parseNumberCell } from './cells.js';
import { normalizeNumberText, numberNoteTexts, parseCsv, type CsvDelimiter, type NumberNotes } from './csv.js';
import { createDataset, type Dataset, type ScoreTuple, type SourceEntry } from './dataset.js';
import { jsonLineOf, jsonText, parseJsonText } from './json-lines.js';
import { baseName, defaultSource } from './wide-table.js';

export interface LongTableOptions {
  /** File name for error messages and the default source. */
  file?: string;
  /** Force the CSV delimiter (default: detected). */
  delimiter?: CsvDelimiter;
  /** Dataset name (default: the file's base name). */
  name?: string;
  description?: string;
  /**
   * Column positions of model, task and score, for a long table whose header uses other names
   * (`Model,Benchmark,Score`); the header row is then skipped without being checked.
   */
  columns?: { model: number; task: number; score: number; source?: number };
}

const REQUIRED = ['model', 'task', 'score'] as const;

/** True when a header row (raw fields) names the `model`, `task` and `score` columns of a long table. */
export function isLongHeader(fields: string[]): boolean {
  const names = fields.map((f) => f.trim().toLowerCase());
  return REQUIRED.every((r) => names.includes(r));
}

/** One record before numbering. */
interface LongRecord {
  model: string;
  task: string;
  score: number | undefined;
  source: string;
  line: number | undefined;
}

/** Parse a long CSV/TSV table into a {@link Dataset}. */
export function parseLongCsv(text: string, options: LongTableOptions = {}): Dataset {
  const file = options.file;
  const { records } = parseCsv(text, { delimiter: options.delimiter, file });
  const rows = records.filter((r) => r.fields.some((f) => f.trim() !== ''));
  if (rows.length === 0) throw new CollabperfError('E_EMPTY', 'the table is empty (no header row)', { file });
  const header = rows[0];
  const names = header.fields.map((f) => f.trim().toLowerCase());
  const col = (n: string) => names.indexOf(n);
  for (const r of REQUIRED) {
    if (options.columns === undefined && col(r) < 0) {
      throw new CollabperfError('E_PARSE', `a long table needs "model", "task" and "score" columns; the header has no "${r}" column`, {
        file,
        line: header.line,
        field: r,
      });
    }
  }
  const hdr = header.fields.map((f) => f.trim());
  const given = options.columns;
  const [mc, tc, sc, oc] = given ? [given.model, given.task, given.score, given.source ?? -1] : [col('model'), col('task'), col('score'), col('source')];
  const numberNotes: NumberNotes = { percent: 0, decimalComma: 0 };
  const width = Math.max(mc, tc, sc, oc) + 1;
  const out: LongRecord[] = [];
  for (const rec of rows.slice(1)) {
    if (rec.fields.length < width) {
      throw new CollabperfError('E_PARSE', `ragged row: ${rec.fields.length} fields where the header has ${header.fields.length}`, {
        file,
        line: rec.line,
        field: `column ${rec.fields.length + 1}`,
      });
    }
    const model = rec.fields[mc].trim();
    const task = rec.fields[tc].trim();
    if (model === '') throw new CollabperfError('E_PARSE', 'empty model name', { file, line: rec.line, field: hdr[mc] });
    if (task === '') throw new CollabperfError('E_PARSE', 'empty task name', { file, line: rec.line, field: hdr[tc] });
    const score = parseNumberCell(normalizeNumberText(rec.fields[sc], numberNotes), { file, line: rec.line, field: hdr[sc] });
    out.push({ model, task, score, source: oc >= 0 ? rec.fields[oc].trim() : '', line: rec.line });
  }
  if (out.length === 0) throw new CollabperfError('E_EMPTY', 'the table has a header but no rows', { file, line: header.line });
  const ds = build(out, options, hdr[tc]);
  for (const n of numberNoteTexts(numberNotes)) ds.notes.push(`reader: ${n}`);
  return ds;
}

/**
 * Parse a long JSON table (the text of a file, or an already parsed array) into a {@link Dataset}.
 * Scores may be numbers, `null` (missing) or numeric strings read like CSV cells.
 */
export function parseLongJson(input: string | unknown[], options: LongTableOptions = {}): Dataset {
  const file = options.file;
  const text = typeof input === 'string' ? input : undefined;
  const doc = text !== undefined ? parseJsonText(text, file) : input;
  // Each look-up scans the text from the start, so it runs only on the way to an error: a line per
  // record up front made a 1 MB file take minutes.
  const lineOf = (i: number, key?: string) => (text === undefined ? undefined : jsonLineOf(text, key === undefined ? [i] : [i, key]) ?? jsonLineOf(text, [i]));
  if (!Array.isArray(doc)) {
    throw new CollabperfError('E_PARSE', 'a long JSON table must be an array of {model, task, score, source?} objects', { file, line: 1 });
  }
  if (doc.length === 0) throw new CollabperfError('E_EMPTY', 'the JSON array is empty', { file });
  const out: LongRecord[] = doc.map((item, i) => {
    const where = (key?: string) => ({ file, line: lineOf(i, key), field: key === undefined ? `[${i}]` : `[${i}].${key}` });
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw new CollabperfError('E_PARSE', 'expected an object {model, task, score, source?}', where());
    }
    const o = item as Record<string, unknown>;
    const name = (key: 'model' | 'task'): string => {
      const v = o[key];
      if (typeof v !== 'string' || v.trim() === '') throw new CollabperfError('E_PARSE', `"${key}" must be a non-empty string, got ${jsonText(v)}`, where(key));
      return v.trim();
    };
    const model = name('model');
    const task = name('task');
    let score: number | undefined;
    const s = o.score;
    if (s === null) score = undefined;
    else if (typeof s === 'number') {
      // JSON.parse reads 1e999 as Infinity; caught here, where the record and its line are known
      if (!Number.isFinite(s)) throw new CollabperfError('E_NON_FINITE', `"score" is out of the floating-point range`, where('score'));
      score = s;
    } else if (typeof s === 'string') score = parseNumberCell(s, where('score'));
    else throw new CollabperfError('E_PARSE', `"score" must be a number or null, got ${jsonText(s)}`, where('score'));
    let source = '';
    if (o.source !== undefined && o.source !== null) {
      if (typeof o.source !== 'string') throw new CollabperfError('E_PARSE', `"source" must be a string, got ${jsonText(o.source)}`, where('source'));
      source = o.source.trim();
    }
    return { model, task, score, source, line: undefined };
  });
  return build(out, options, 'task', { label: (i) => `[${i}]`, line: (i) => lineOf(i) });
}

/** Where a record without a line of its own is (a JSON array element), looked up only for an error. */
interface RecordLocator {
  /** The record's path, `[12]`. */
  label(i: number): string;
  line(i: number): number | undefined;
}

function build(records: LongRecord[], options: LongTableOptions, taskField: string, locate?: RecordLocator): Dataset {
  const file = options.file;
  const models: string[] = [];
  const tasks: string[] = [];
  const mIdx = new Map<string, number>();
  const tIdx = new Map<string, number>();
  const sources: SourceEntry[] = [];
  const sIdx = new Map<string, number>();
  const seen = new Map<string, number>(); // "m\u0000t" → record index
  const scores: ScoreTuple[] = [];
  const lineOf = (i: number) => records[i].line ?? locate?.line(i);
  const where = (i: number) => {
    const line = lineOf(i);
    return line !== undefined ? `line ${line}` : locate ? locate.label(i) : `record ${i + 1}`;
  };
  records.forEach((r, i) => {
    let m = mIdx.get(r.model);
    if (m === undefined) {
      m = models.length;
      models.push(r.model);
      mIdx.set(r.model, m);
    }
    let t = tIdx.get(r.task);
    if (t === undefined) {
      t = tasks.length;
      tasks.push(r.task);
      tIdx.set(r.task, t);
    }
    const key = `${m}\u0000${t}`;
    const prev = seen.get(key);
    if (prev !== undefined) {
      throw new CollabperfError('E_DUPLICATE_ENTRY', `model "${r.model}" on task "${r.task}" is given twice (${where(prev)} and ${where(i)})`, {
        file,
        line: lineOf(i),
        field: locate ? `${locate.label(i)}.task` : taskField,
      });
    }
    seen.set(key, i);
    if (r.score === undefined) return;
    let s = sIdx.get(r.source);
    if (s === undefined) {
      s = sources.length;
      sources.push(r.source === '' ? defaultSource(file) : { id: r.source, title: r.source, citation: r.source });
      sIdx.set(r.source, s);
    }
    scores.push([m, t, r.score, s]);
  });
  if (scores.length === 0) throw new CollabperfError('E_EMPTY', 'the table has no scores (every score is missing)', { file });
  // a user source literally named like the default id would collide; rename the default one
  const defaultAt = sIdx.get('');
  if (defaultAt !== undefined && sources.some((s, i) => i !== defaultAt && s.id === sources[defaultAt].id)) sources[defaultAt].id = 'input-file';
  return createDataset(
    {
      name: options.name ?? baseName(file) ?? 'table',
      description: options.description ?? (file ? `long table read from ${file}` : 'long table'),
      models,
      tasks,
      sources,
      scores,
    },
    { file },
  );
}
