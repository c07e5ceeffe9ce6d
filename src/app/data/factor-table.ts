/**
 * Model-factor and task-factor tables (CSV/TSV): one row per model (or task), the first column the
 * name, the other columns factors. A column is numeric when every non-missing value is a plain
 * number, otherwise categorical (override per column with {@link FactorTableOptions.columns}).
 * `layout: 'columns'` reads the transposed layout (names in the header row, one factor per row).
 *
 * Attaching a table to a dataset matches its names to the dataset's models (or tasks) by explicit
 * alias, then exact name, then {@link normalizeName normalised} name, and REPORTS every table row that
 * matches nothing (and records it in the dataset's notes) instead of dropping it silently. When no row
 * matches at all, attaching fails with `E_NOT_FOUND`.
 */
import { CollabperfError } from '../../errors.js';
import { isMissing, looksNumeric, parseNumberCell } from './cells.js';
import { parseCsv, type CsvDelimiter } from './csv.js';
import { createDataset, normalizeName, type Dataset, type FactorSpec, type Factors, type SourceEntry } from './dataset.js';

/** Per-column settings, keyed by the column's header text. */
export interface FactorColumnOptions {
  /** Factor name to use instead of the header text. */
  name?: string;
  /** Force the type instead of inferring it. A non-number in a numeric column is `E_PARSE`. */
  type?: FactorSpec['type'];
  unit?: string;
  description?: string;
  /** Leave the column out. */
  skip?: boolean;
}

export interface FactorTableOptions {
  /** File name for error messages. */
  file?: string;
  delimiter?: CsvDelimiter;
  /** `rows` (default): one row per name. `columns`: names in the header row, one factor per row. */
  layout?: 'rows' | 'columns';
  /** Per-column settings keyed by header text. */
  columns?: Record<string, FactorColumnOptions>;
}

/** One name (model or task) of a factor table and its values. */
export interface FactorRow {
  name: string;
  /** Line of the row (for `layout: 'columns'`, the header line). */
  line: number;
  factors: Factors;
}

/** A parsed factor table. */
export interface FactorTable {
  file?: string;
  /** Header of the name column (may be empty). */
  nameColumn: string;
  specs: FactorSpec[];
  rows: FactorRow[];
}

/** Parse a factor table. Errors: `E_EMPTY` (no rows or no factor columns), `E_PARSE` (empty name, ragged row, non-number in a forced numeric column), `E_DUPLICATE_ENTRY` (repeated name or column). */
export function parseFactorTable(text: string, options: FactorTableOptions = {}): FactorTable {
  const file = options.file;
  const { records } = parseCsv(text, { delimiter: options.delimiter, file });
  const rows = records.filter((r) => r.fields.some((f) => f.trim() !== ''));
  if (rows.length < 2) throw new CollabperfError('E_EMPTY', 'the factor table needs a header row and at least one data row', { file });

  // Normalise to: names[i] with line, columns[c] = {header, line of header, cells[i] with line}
  interface Col {
    header: string;
    line: number;
    cells: Array<{ raw: string; line: number }>;
  }
  const names: Array<{ name: string; line: number }> = [];
  const cols: Col[] = [];
  const header = rows[0];
  const width = header.fields.length;
  for (const rec of rows.slice(1)) {
    if (rec.fields.length !== width && !(rec.fields.length > width && rec.fields.slice(width).every((f) => f.trim() === ''))) {
      throw new CollabperfError('E_PARSE', `ragged row: ${rec.fields.length} fields where the header has ${width}`, { file, line: rec.line });
    }
  }
  const nameColumn = header.fields[0].trim();
  if (options.layout === 'columns') {
    for (let c = 1; c < width; c++) names.push({ name: header.fields[c].trim(), line: header.line });
    for (const rec of rows.slice(1)) {
      cols.push({ header: rec.fields[0].trim(), line: rec.line, cells: names.map((_, i) => ({ raw: rec.fields[i + 1] ?? '', line: rec.line })) });
    }
  } else {
    for (const rec of rows.slice(1)) names.push({ name: rec.fields[0].trim(), line: rec.line });
    for (let c = 1; c < width; c++) {
      cols.push({ header: header.fields[c].trim(), line: header.line, cells: rows.slice(1).map((r) => ({ raw: r.fields[c] ?? '', line: r.line })) });
    }
  }

  const seenName = new Map<string, number>();
  for (const n of names) {
    if (n.name === '') throw new CollabperfError('E_PARSE', 'empty name', { file, line: n.line, field: nameColumn || 'name' });
    const prev = seenName.get(n.name);
    if (prev !== undefined) throw new CollabperfError('E_DUPLICATE_ENTRY', `"${n.name}" appears twice (lines ${prev} and ${n.line})`, { file, line: n.line, field: nameColumn || 'name' });
    seenName.set(n.name, n.line);
  }

  const specs: FactorSpec[] = [];
  const values: Array<Array<number | string | undefined>> = [];
  const seenCol = new Set<string>();
  for (const col of cols) {
    const opt = options.columns?.[col.header] ?? {};
    if (opt.skip) continue;
    if (col.header === '') throw new CollabperfError('E_PARSE', 'empty factor name', { file, line: col.line });
    const name = opt.name ?? col.header;
    if (seenCol.has(name)) throw new CollabperfError('E_DUPLICATE_ENTRY', `factor "${name}" appears twice`, { file, line: col.line, field: col.header });
    seenCol.add(name);
    const present = col.cells.filter((x) => !isMissing(x.raw));
    const type: FactorSpec['type'] = opt.type ?? (present.every((x) => looksNumeric(x.raw)) ? 'numeric' : 'categorical');
    const spec: FactorSpec = { name, type };
    if (opt.unit !== undefined) spec.unit = opt.unit;
    if (opt.description !== undefined) spec.description = opt.description;
    specs.push(spec);
    values.push(
      col.cells.map((x) => {
        if (isMissing(x.raw)) return undefined;
        return type === 'numeric' ? parseNumberCell(x.raw, { file, line: x.line, field: col.header }, `value of factor "${name}"`) : x.raw.trim();
      }),
    );
  }
  if (specs.length === 0) throw new CollabperfError('E_EMPTY', 'the factor table has no factor columns', { file, line: header.line });

  const out: FactorRow[] = names.map((n, i) => {
    const factors: Factors = {};
    specs.forEach((s, c) => {
      const v = values[c][i];
      if (v !== undefined) factors[s.name] = v;
    });
    return { name: n.name, line: n.line, factors };
  });
  return { file, nameColumn, specs, rows: out };
}

export interface AttachOptions {
  /** Explicit renames: factor-table name → dataset model/task name. Tried before any other rule. */
  aliases?: Record<string, string>;
  /** Label of the table in notes and messages (default: its file name). */
  label?: string;
  /** Where the factors came from; appended to the dataset's sources (score source indices are unchanged). */
  source?: SourceEntry;
}

/** How one factor-table row was matched. */
export interface FactorMatch {
  tableName: string;
  datasetName: string;
  rule: 'alias' | 'exact' | 'normalized';
}

/** What attaching a factor table did. */
export interface AttachReport {
  matched: FactorMatch[];
  /** Table rows that match no model/task (name and line). */
  unmatched: Array<{ name: string; line: number }>;
  /** Dataset models/tasks that got no row. */
  withoutFactors: string[];
}

/** Attach a model-factor table; see {@link attachFactors}. */
export function attachModelFactors(ds: Dataset, table: FactorTable, options: AttachOptions = {}): { dataset: Dataset; report: AttachReport } {
  return attachFactors(ds, table, 'model', options);
}

/** Attach a task-factor table; see {@link attachFactors}. */
export function attachTaskFactors(ds: Dataset, table: FactorTable, options: AttachOptions = {}): { dataset: Dataset; report: AttachReport } {
  return attachFactors(ds, table, 'task', options);
}

/**
 * Return a copy of `ds` with the table's factors set on the matching models (or tasks). Matching
 * rules, in order: (1) `aliases[tableName]` names the dataset entry exactly; (2) exact name; (3) the
 * normalised names are equal and exactly one dataset entry has that normalised name. Factors of the
 * same name already in the dataset are replaced (for every entry). Unmatched table rows are returned in
 * the report and written to the dataset's notes. Errors: `E_NOT_FOUND` when no row matches;
 * `E_DUPLICATE_ENTRY` when two rows match the same entry.
 */
export function attachFactors(ds: Dataset, table: FactorTable, kind: 'model' | 'task', options: AttachOptions = {}): { dataset: Dataset; report: AttachReport } {
  const file = table.file;
  const label = options.label ?? file ?? `${kind} factor table`;
  const entries = kind === 'model' ? ds.models : ds.tasks;
  const exact = new Map(entries.map((e, i) => [e.name, i]));
  const norm = new Map<string, number>();
  entries.forEach((e, i) => {
    const k = normalizeName(e.name);
    norm.set(k, norm.has(k) ? -1 : i);
  });

  const assigned = new Map<number, { name: string; line: number }>();
  const matched: FactorMatch[] = [];
  const unmatched: Array<{ name: string; line: number }> = [];
  const rowFor = new Map<number, Factors>();
  for (const row of table.rows) {
    let idx: number | undefined;
    let rule: FactorMatch['rule'] = 'exact';
    const alias = options.aliases?.[row.name];
    if (alias !== undefined && exact.has(alias)) {
      idx = exact.get(alias);
      rule = 'alias';
    } else if (exact.has(row.name)) {
      idx = exact.get(row.name);
    } else {
      const n = norm.get(normalizeName(row.name));
      if (n !== undefined && n >= 0) {
        idx = n;
        rule = 'normalized';
      }
    }
    if (idx === undefined) {
      unmatched.push({ name: row.name, line: row.line });
      continue;
    }
    const prev = assigned.get(idx);
    if (prev !== undefined) {
      throw new CollabperfError(
        'E_DUPLICATE_ENTRY',
        `"${row.name}" and "${prev.name}" (line ${prev.line}) both match ${kind} "${entries[idx].name}"`,
        { file, line: row.line, field: table.nameColumn || 'name' },
      );
    }
    assigned.set(idx, row);
    matched.push({ tableName: row.name, datasetName: entries[idx].name, rule });
    rowFor.set(idx, row.factors);
  }
  if (matched.length === 0) {
    const some = (xs: string[]) => xs.slice(0, 5).map((x) => JSON.stringify(x)).join(', ') + (xs.length > 5 ? ', ...' : '');
    throw new CollabperfError(
      'E_NOT_FOUND',
      `no name of the ${kind} factor table matches a ${kind} of dataset "${ds.name}" (table has ${some(table.rows.map((r) => r.name))}; dataset has ${some(entries.map((e) => e.name))})`,
      { file },
    );
  }
  const withoutFactors = entries.filter((_, i) => !assigned.has(i)).map((e) => e.name);

  const replaced = new Set(table.specs.map((s) => s.name));
  const schema = [...ds.factorSchema[kind].filter((s) => !replaced.has(s.name)), ...table.specs.map((s) => ({ ...s }))];
  const withFactors = <T extends { name: string; factors: Factors }>(e: T, i: number): T => {
    const f: Factors = {};
    for (const [k, v] of Object.entries(e.factors)) if (!replaced.has(k)) f[k] = v;
    Object.assign(f, rowFor.get(i) ?? {});
    return { ...e, factors: f };
  };
  const notes = [...ds.notes];
  const byRule = (r: FactorMatch['rule']) => matched.filter((m) => m.rule === r).length;
  notes.push(
    `${kind} factors from ${label}: ${matched.length} of ${table.rows.length} rows matched (${byRule('exact')} exact, ${byRule('normalized')} after name normalisation, ${byRule('alias')} by alias); ${withoutFactors.length} ${kind}s have no row`,
  );
  for (const m of matched) if (m.rule !== 'exact') notes.push(`${kind} factors from ${label}: "${m.tableName}" matched ${kind} "${m.datasetName}" (${m.rule})`);
  for (const u of unmatched) notes.push(`${kind} factors from ${label}: "${u.name}" (line ${u.line}) matches no ${kind}; its factors are not used`);

  const dataset = createDataset({
    name: ds.name,
    description: ds.description,
    models: kind === 'model' ? ds.models.map(withFactors) : ds.models,
    tasks: kind === 'task' ? ds.tasks.map(withFactors) : ds.tasks,
    factorSchema: kind === 'model' ? { model: schema, task: ds.factorSchema.task } : { model: ds.factorSchema.model, task: schema },
    sources: options.source && !ds.sources.some((x) => x.id === options.source!.id) ? [...ds.sources, options.source] : ds.sources,
    scores: ds.scores,
    notes,
  });
  return { dataset, report: { matched, unmatched, withoutFactors } };
}
