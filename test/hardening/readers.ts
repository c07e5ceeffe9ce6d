/**
 * The file readers under fuzz (test/hardening/fuzz.test.ts) and regression replay
 * (test/hardening/regressions.test.ts), and the one property both check: a reader either returns a
 * valid result or throws a CollabperfError that says where the problem is.
 */
import { expect } from 'vitest';
import { readTextFileSync } from '../../src/app/data/read-text.js';
import { parseWideTable } from '../../src/app/data/wide-table.js';
import { parseLongCsv, parseLongJson } from '../../src/app/data/long-table.js';
import { parseDatasetJson } from '../../src/app/data/format.js';
import { loadDataSync } from '../../src/app/data/load.js';
import type { Dataset } from '../../src/app/data/dataset.js';
import { isCollabperfError, type CollabperfError, type CollabperfErrorCode } from '../../src/errors.js';
import { readTriplets } from '../../src/factorization/triplets.js';
import { toEntries } from '../../src/factorization/ratings.js';
import { loadModel } from '../../src/factorization/model-file.js';
import type { FactorModel } from '../../src/factorization/model.js';

/** Names of the folders under test/fixtures/regressions/, one per reader. */
export type ReaderName = 'wide-csv' | 'long-csv' | 'long-json' | 'dataset-json' | 'load-data' | 'triplets' | 'model-file';

/** `load-data` is loadData's own choice of reader (by content, as the files have no extension). */
export const READER_NAMES: readonly ReaderName[] = ['wide-csv', 'long-csv', 'long-json', 'dataset-json', 'load-data', 'triplets', 'model-file'];

/**
 * A memory budget far below the 4 GiB default: a fuzzed index of 10^8 must be refused with
 * E_TOO_LARGE here, not allocated by a test process that shares the machine.
 */
const FUZZ_MAX_BYTES = 64 << 20;

type Outcome = { kind: 'dataset'; value: Dataset } | { kind: 'triplets'; value: ReturnType<typeof readTriplets>; entries: ReturnType<typeof toEntries> } | { kind: 'model'; value: FactorModel };

/** Reads `path` with the named reader, the way the library's own entry points do. */
export function runReader(reader: ReaderName, path: string): Outcome {
  switch (reader) {
    case 'wide-csv':
      return { kind: 'dataset', value: parseWideTable(readTextFileSync(path), { file: path }) };
    case 'long-csv':
      return { kind: 'dataset', value: parseLongCsv(readTextFileSync(path), { file: path }) };
    case 'long-json':
      return { kind: 'dataset', value: parseLongJson(readTextFileSync(path), { file: path }) };
    case 'dataset-json':
      return { kind: 'dataset', value: parseDatasetJson(readTextFileSync(path), { file: path }) };
    case 'load-data':
      return { kind: 'dataset', value: loadDataSync(path).dataset };
    case 'triplets': {
      const t = readTriplets(path);
      return { kind: 'triplets', value: t, entries: toEntries(t, path, { maxBytes: FUZZ_MAX_BYTES, rank: 2 }) };
    }
    case 'model-file':
      return { kind: 'model', value: loadModel(path) };
  }
}

const CODES: readonly CollabperfErrorCode[] = [
  'E_INVALID_ARGUMENT',
  'E_LENGTH_MISMATCH',
  'E_INDEX_OUT_OF_RANGE',
  'E_NON_FINITE',
  'E_DUPLICATE_ENTRY',
  'E_EMPTY',
  'E_PARSE',
  'E_FILE',
  'E_VERSION',
  'E_TOO_LARGE',
];

/** Line breaks as the CSV reader counts them (CRLF once, lone CR and LF each once). */
function lineCount(text: string): number {
  let n = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || (c === 13 && text.charCodeAt(i + 1) !== 10)) n++;
  }
  return n;
}

/**
 * `nonEmpty`: the table readers refuse a table without scores (E_EMPTY); a dataset document may
 * declare models and tasks with no scores yet.
 */
function isValidDataset(ds: Dataset, nonEmpty: boolean): void {
  const nM = ds.models.length;
  const nT = ds.tasks.length;
  const { model, task, value, source } = ds.scores;
  if (nonEmpty) {
    expect(nM).toBeGreaterThan(0);
    expect(nT).toBeGreaterThan(0);
    expect(value.length).toBeGreaterThan(0);
  }
  expect([model.length, task.length, source.length]).toEqual([value.length, value.length, value.length]);
  const seen = new Set<number>();
  for (let e = 0; e < value.length; e++) {
    expect(Number.isFinite(value[e])).toBe(true);
    expect(model[e] >= 0 && model[e] < nM && task[e] >= 0 && task[e] < nT && source[e] >= 0 && source[e] < ds.sources.length).toBe(true);
    const key = model[e] * nT + task[e];
    expect(seen.has(key)).toBe(false);
    seen.add(key);
  }
  for (const list of [ds.models, ds.tasks]) {
    expect(new Set(list.map((x) => x.name)).size).toBe(list.length);
    for (const x of list) expect(typeof x.name === 'string' && x.name.trim() !== '').toBe(true);
  }
}

function isValidOutcome(reader: ReaderName, o: Outcome): void {
  if (o.kind === 'dataset') return isValidDataset(o.value, reader !== 'dataset-json' && reader !== 'load-data');
  if (o.kind === 'triplets') {
    const t = o.value;
    expect([t.rows.length, t.cols.length, t.values.length]).toEqual([t.count, t.count, t.count]);
    expect(t.count).toBeGreaterThan(0);
    for (let i = 0; i < t.count; i++) {
      expect(t.rows[i] >= 0 && t.cols[i] >= 0 && Number.isFinite(t.values[i])).toBe(true);
      if (t.weights) expect(t.weights[i] > 0 && Number.isFinite(t.weights[i])).toBe(true);
    }
    const e = o.entries;
    for (let i = 0; i < e.rows.length; i++) expect(e.rows[i] < e.nRows && e.cols[i] < e.nCols).toBe(true);
    return;
  }
  const m = o.value;
  expect(m.U.length).toBe(m.nRows * m.k);
  expect(m.V.length).toBe(m.nCols * m.k);
  expect([m.rowBias.length, m.colBias.length]).toEqual([m.nRows, m.nCols]);
  for (const a of [m.U, m.V, m.rowBias, m.colBias]) expect(a.every(Number.isFinite)).toBe(true);
  if (m.known) {
    expect(m.known.ptr.length).toBe(m.nRows + 1);
    for (const c of m.known.cols) expect(c >= 0 && c < m.nCols).toBe(true);
  }
  if (m.rowIds) expect(m.rowIds.length).toBe(m.nRows);
  if (m.colIds) expect(m.colIds.length).toBe(m.nCols);
}

/**
 * Codes whose errors must carry a line: every line-oriented reader knows where a malformed field,
 * a bad number or a repeated name is. (JSON readers name the field; their line is best effort.)
 */
const LINE_CODES: Partial<Record<ReaderName, readonly CollabperfErrorCode[]>> = {
  'wide-csv': ['E_PARSE', 'E_DUPLICATE_ENTRY', 'E_NON_FINITE', 'E_TOO_LARGE'],
  'long-csv': ['E_PARSE', 'E_DUPLICATE_ENTRY', 'E_NON_FINITE', 'E_TOO_LARGE'],
  triplets: ['E_PARSE', 'E_TOO_LARGE'],
};

/** Codes whose errors must name a field (a JSON path, a column or a triplet field). */
const FIELD_CODES: Partial<Record<ReaderName, readonly CollabperfErrorCode[]>> = {
  'long-json': ['E_DUPLICATE_ENTRY', 'E_NON_FINITE', 'E_INDEX_OUT_OF_RANGE'],
  'dataset-json': ['E_DUPLICATE_ENTRY', 'E_NON_FINITE', 'E_INDEX_OUT_OF_RANGE', 'E_VERSION'],
  'model-file': ['E_NON_FINITE', 'E_VERSION'],
};

const JSON_READERS: readonly ReaderName[] = ['long-json', 'dataset-json', 'model-file'];

/** `"scores[12].x"` -> `['scores', 12, 'x']`. */
function fieldPath(field: string): Array<string | number> {
  const out: Array<string | number> = [];
  for (const m of field.matchAll(/\[(\d+)\]|\.?([^.[\]]+)/g)) out.push(m[1] !== undefined ? Number(m[1]) : m[2]);
  return out;
}

/**
 * A JSON reader's `field` is a path into the document the user wrote: all of it but the last step
 * exists (the last may be the missing member the error is about).
 */
function checkJsonField(text: string, err: CollabperfError): void {
  let doc: unknown;
  try {
    doc = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch {
    return; // a syntax error has no document to point into
  }
  const path = fieldPath(err.field!);
  let cur = doc;
  for (const step of path.slice(0, -1)) {
    const ok = cur !== null && typeof cur === 'object' && (Array.isArray(cur) ? typeof step === 'number' && step < cur.length : typeof step === 'string' && Object.hasOwn(cur, step));
    if (!ok) throw new Error(`field "${err.field}" does not name a place in the document: ${err.message}`);
    cur = (cur as Record<string | number, unknown>)[step];
  }
  // The last step may be missing, and its parent may be of the wrong kind: `arrays.U` of an
  // `"arrays": [...]` is where a model file's reader looked for U. A top-level member names a place
  // even in a document that is not an object (`"format"` of `4`).
  if (path.length > 1 && (cur === null || typeof cur !== 'object')) throw new Error(`field "${err.field}" does not name a place in the document: ${err.message}`);
}

/** Checks a thrown value: a CollabperfError with a known code, naming `path`, with a plausible line. */
export function checkError(reader: ReaderName, path: string, text: string, e: unknown): CollabperfError {
  if (!isCollabperfError(e)) throw new Error(`${reader} threw something other than a CollabperfError: ${String((e as Error)?.stack ?? e)}`);
  const err = e as CollabperfError;
  expect(CODES, err.message).toContain(err.code);
  expect(err.file, err.message).toBe(path);
  expect(err.message.startsWith(path), err.message).toBe(true);
  if (err.line !== undefined) {
    expect(Number.isInteger(err.line) && err.line >= 1 && err.line <= lineCount(text), `${err.message} (file has ${lineCount(text)} lines)`).toBe(true);
    expect(err.message).toContain(`line ${err.line}`);
  } else if (LINE_CODES[reader]?.includes(err.code)) {
    throw new Error(`${reader}: ${err.code} without a line: ${err.message}`);
  }
  if (err.field !== undefined) {
    expect(err.message).toContain(`field "${err.field}"`);
    if (JSON_READERS.includes(reader)) checkJsonField(text, err);
  } else if (FIELD_CODES[reader]?.includes(err.code)) throw new Error(`${reader}: ${err.code} without a field: ${err.message}`);
  return err;
}

/**
 * The property: reading `path` returns a valid result or throws a CollabperfError naming where.
 * Returns the error (or undefined) so that callers can check expectations beyond the property.
 */
export function checkReader(reader: ReaderName, path: string, text: string): CollabperfError | undefined {
  let out: Outcome;
  try {
    out = runReader(reader, path);
  } catch (e) {
    return checkError(reader, path, text, e);
  }
  isValidOutcome(reader, out);
  return undefined;
}
