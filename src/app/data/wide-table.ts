/**
 * Wide score tables (CSV/TSV): a header row of task names, then one row per model whose first field
 * is the model name and whose other fields are scores. `tasksAsRows` reads the transposed layout
 * (header = model names, one row per task), as in HELM exports.
 *
 * Missing cells: empty, `-`, `NA`, `NaN`, `N/A` (any case). The first header cell names the label
 * column and may be empty. Errors carry file, line and field (the column's header name):
 * `E_PARSE` for an unreadable number, a ragged row or an empty name; `E_DUPLICATE_ENTRY` for a
 * repeated model or task name; `E_EMPTY` for a table without data rows, task columns or scores.
 */
import { CollabperfError } from '../../errors.js';
import { isMissing, looksNumeric, parseNumberCell } from './cells.js';
import { normalizeNumberText, numberNoteTexts, parseCsv, type CsvDelimiter, type CsvRecord, type NumberNotes } from './csv.js';
import { parseLongCsv } from './long-table.js';
import { createDataset, type Dataset, type ScoreTuple, type SourceEntry } from './dataset.js';

export interface WideTableOptions {
  /** File name for error messages and the default source citation. */
  file?: string;
  /** Force the delimiter (default: detected from the header line). */
  delimiter?: CsvDelimiter;
  /** Header row holds model names and each row is a task (transposed layout). Default false. */
  tasksAsRows?: boolean;
  /** Dataset name (default: the file's base name without extension, or `"table"`). */
  name?: string;
  description?: string;
  /** Source recorded for every score (default: the file itself). */
  source?: SourceEntry;
}

/** Prefix of the dataset notes a reader leaves for the user (the CLI prints them as warnings). */
export const READER_NOTE = 'reader: ';

// Names of common benchmarks: row names like these in a wide table suggest it is transposed.
const TASK_LIKE = /mmlu|gsm8k|gsm-?8k|\barc\b|arc[-_ ]|hellaswag|truthful|winogrande|humaneval|\bmath\b|bbh|big-?bench|gpqa|ifeval|mbpp|\bdrop\b|boolq|piqa|lambada|squad|naturalquestions|\bnq\b|triviaqa|musr|\d+-shot|bench\b|\bqa\b/i;

/**
 * True when a three-column table is really a long one (`Model,Benchmark,Score` under other header
 * names): the third column is numeric and the first two columns both repeat values. A wide table of
 * two tasks never repeats its first column (model names are unique there).
 */
export function looksLong(rows: CsvRecord[]): boolean {
  if (rows.length < 3) return false;
  const header = rows[0].fields.map((f) => f.trim());
  while (header.length > 1 && header[header.length - 1] === '') header.pop();
  if (header.length !== 3) return false;
  const data = rows.slice(1);
  const notes: NumberNotes = { percent: 0, decimalComma: 0 };
  let numeric = 0;
  let present = 0;
  for (const r of data) {
    const v = (r.fields[2] ?? '').trim();
    if (isMissing(v)) continue;
    present++;
    if (looksNumeric(normalizeNumberText(v, notes))) numeric++;
  }
  const distinct = (c: number) => new Set(data.map((r) => (r.fields[c] ?? '').trim())).size;
  return present > 0 && numeric / present >= 0.9 && distinct(0) < data.length && distinct(1) < data.length;
}

/** Parse a wide table into a {@link Dataset}. */
export function parseWideTable(text: string, options: WideTableOptions = {}): Dataset {
  const file = options.file;
  const { records, delimiter } = parseCsv(text, { delimiter: options.delimiter, file });
  const rows = records.filter((r) => r.fields.some((f) => f.trim() !== ''));
  if (rows.length === 0) throw new CollabperfError('E_EMPTY', 'the table is empty (no header row)', { file });
  if (!options.tasksAsRows && looksLong(rows)) {
    const h = rows[0].fields.map((f) => f.trim());
    const ds = parseLongCsv(text, { file, delimiter, name: options.name, description: options.description, columns: { model: 0, task: 1, score: 2 } });
    ds.notes.push(`${READER_NOTE}read as a long table (columns "${h[0]}" = model, "${h[1]}" = task, "${h[2]}" = score): three columns whose first two repeat and whose third is numeric`);
    return ds;
  }
  const numberNotes: NumberNotes = { percent: 0, decimalComma: 0 };
  const header = rows[0];
  const colNames = header.fields.map((f) => f.trim());
  // drop trailing empty header cells (a trailing delimiter), but not empty names in the middle
  while (colNames.length > 1 && colNames[colNames.length - 1] === '') colNames.pop();
  const labelName = colNames[0] || 'name';
  const rowKind = options.tasksAsRows ? 'task' : 'model';
  const colKind = options.tasksAsRows ? 'model' : 'task';

  if (colNames.length < 2) {
    throw new CollabperfError('E_EMPTY', `the header row has no ${colKind} columns (only the ${rowKind} name column)`, { file, line: header.line });
  }
  const colSeen = new Map<string, number>();
  for (let c = 1; c < colNames.length; c++) {
    const n = colNames[c];
    if (n === '') throw new CollabperfError('E_PARSE', `empty ${colKind} name in the header`, { file, line: header.line, field: `column ${c + 1}` });
    const prev = colSeen.get(n);
    if (prev !== undefined) {
      throw new CollabperfError('E_DUPLICATE_ENTRY', `${colKind} "${n}" appears twice in the header (columns ${prev + 1} and ${c + 1})`, {
        file,
        line: header.line,
        field: n,
      });
    }
    colSeen.set(n, c);
  }
  const dataRows = rows.slice(1);
  if (dataRows.length === 0) throw new CollabperfError('E_EMPTY', `the table has a header but no ${rowKind} rows`, { file, line: header.line });

  const rowNames: string[] = [];
  const rowLine = new Map<string, number>();
  const cells: Array<[number, number, number]> = []; // [row, col, value]
  for (const rec of dataRows) {
    checkWidth(rec, colNames.length, file);
    const name = rec.fields[0].trim();
    if (name === '') throw new CollabperfError('E_PARSE', `empty ${rowKind} name`, { file, line: rec.line, field: labelName });
    const prev = rowLine.get(name);
    if (prev !== undefined) {
      throw new CollabperfError('E_DUPLICATE_ENTRY', `${rowKind} "${name}" appears twice (lines ${prev} and ${rec.line})`, { file, line: rec.line, field: labelName });
    }
    rowLine.set(name, rec.line);
    const r = rowNames.length;
    rowNames.push(name);
    for (let c = 1; c < colNames.length; c++) {
      const v = parseNumberCell(normalizeNumberText(rec.fields[c] ?? '', numberNotes), { file, line: rec.line, field: colNames[c] }, `score of ${rowKind} "${name}"`);
      if (v !== undefined) cells.push([r, c - 1, v]);
    }
  }
  if (cells.length === 0) throw new CollabperfError('E_EMPTY', 'the table has no scores (every cell is missing)', { file });

  const tasksAsRows = options.tasksAsRows === true;
  const models = tasksAsRows ? colNames.slice(1) : rowNames;
  const tasks = tasksAsRows ? rowNames : colNames.slice(1);
  const scores: ScoreTuple[] = cells.map(([r, c, v]) => (tasksAsRows ? [c, r, v, 0] : [r, c, v, 0]));
  if (tasksAsRows) scores.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const notes = numberNoteTexts(numberNotes).map((n) => READER_NOTE + n);
  // Transposed tables are warned about, not transposed: a guess that flips a real table would be
  // worse than a note telling the user which flag to pass.
  if (!tasksAsRows && rowNames.length < colNames.length - 1) {
    const taskLike = rowNames.filter((n) => TASK_LIKE.test(n));
    if (taskLike.length * 2 >= rowNames.length) {
      notes.push(`${READER_NOTE}the table has ${rowNames.length} rows and ${colNames.length - 1} score columns, and its row names look like benchmarks (${taskLike.slice(0, 3).join(', ')}); if benchmarks are rows and models columns, pass --tasks-as-rows (tasksAsRows)`);
    }
  }
  return createDataset(
    {
      name: options.name ?? baseName(file) ?? 'table',
      description: options.description ?? (file ? `wide table read from ${file}` : 'wide table'),
      models,
      tasks,
      sources: [options.source ?? defaultSource(file)],
      scores,
      notes,
    },
    { file },
  );
}

/** A row must have as many fields as the header; extra trailing fields are allowed only when empty. */
function checkWidth(rec: CsvRecord, width: number, file: string | undefined): void {
  const n = rec.fields.length;
  if (n < width) {
    throw new CollabperfError('E_PARSE', `ragged row: ${n} field${n === 1 ? '' : 's'} where the header has ${width}`, { file, line: rec.line, field: `column ${n + 1}` });
  }
  for (let c = width; c < n; c++) {
    if (rec.fields[c].trim() !== '') {
      throw new CollabperfError('E_PARSE', `ragged row: ${n} fields where the header has ${width}`, { file, line: rec.line, field: `column ${c + 1}` });
    }
  }
}

/** `"dir/scores.v2.csv"` → `"scores.v2"`. */
export function baseName(file: string | undefined): string | undefined {
  if (!file) return undefined;
  const b = file.split(/[\\/]/).pop() ?? file;
  const dot = b.lastIndexOf('.');
  return dot > 0 ? b.slice(0, dot) : b;
}

/** The source recorded for scores read from a user file. */
export function defaultSource(file: string | undefined): SourceEntry {
  const b = file ? (file.split(/[\\/]/).pop() ?? file) : undefined;
  return { id: 'input', title: b ? `scores read from ${b}` : 'scores given by the user', citation: b ?? '' };
}
