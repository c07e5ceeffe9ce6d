import { closeSync, openSync, readSync } from 'node:fs';
import { CollabperfError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { IdIndex, mapStrings, sortedDistinct, type IdList } from './ids.js';
import { remapIds, type IdMap, type SparseRatings } from './ratings.js';

/**
 * Triplet text files: one `row col value [weight]` per line, fields separated by spaces, tabs,
 * commas or `::` (LIBMF, MovieLens ratings.dat/.csv). Row and column are non-negative integer
 * indices used as they are (a 1-based file simply leaves row/column 0 empty), or, with `stringIds`,
 * names (`user42 item7 3`) mapped to dense indices in code-unit order. Blank lines and lines
 * starting with `#` or `%` are skipped; line 1 may be a header when none of its fields is a number.
 * A leading UTF-8 byte-order mark is ignored.
 */
export interface TripletFile extends SparseRatings {
  rows: Int32Array;
  cols: Int32Array;
  values: Float64Array;
  weights?: Float64Array;
  /** Number of data lines read. */
  count: number;
  /** With `remapIds`: the original ids of the dense rows and columns (`idMap.rowIds[r]`). */
  idMap?: IdMap;
  /** With string ids: the name of each dense row and column (`stringIds.rows[r]`). */
  stringIds?: { rows: readonly string[]; cols: readonly string[] };
  /** With `lineNumbers`: the file line of each entry (1-based). */
  lines?: Int32Array;
}

/** Options of {@link readTriplets}. */
export interface ReadTripletsOptions {
  /**
   * Replace sparse row/column ids by dense indices 0..n-1 in ascending id order, keeping the map
   * back in `idMap`, so data with ids like 300000000 fits the memory budget (default false).
   */
  remapIds?: boolean;
  /** Apply this map (typically a training file's `idMap`) instead of building one; implies remapping. */
  idMap?: IdMap;
  /**
   * Rows and columns are names, not indices: `true`; `'auto'`: names when the first data line's row
   * or column is not a non-negative integer (a file of indices reads as before). Default false.
   */
  stringIds?: boolean | 'auto';
  /** Map names through these (a training file's `stringIds`); a name not among them is E_NOT_FOUND. Implies `stringIds`. */
  stringIdsFrom?: { rows: readonly string[]; cols: readonly string[] };
  /** Also return each entry's file line (`lines`; 4 bytes per entry, so off by default). */
  lineNumbers?: boolean;
  /** Longest line accepted, in bytes (default {@link DEFAULT_MAX_LINE_BYTES}); longer is `E_TOO_LARGE`. */
  maxLineBytes?: number;
}

/** Default longest triplet line: 1 MiB, far beyond any `row col value weight` line. */
export const DEFAULT_MAX_LINE_BYTES = 1 << 20;

const CHUNK = 1 << 24;

class Growable<T extends Int32Array | Float64Array> {
  data: T;
  length = 0;
  constructor(private readonly make: (n: number) => T) {
    this.data = make(1 << 16);
  }
  push(v: number): void {
    if (this.length === this.data.length) {
      const bigger = this.make(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = v;
  }
  trimmed(): T {
    return this.data.subarray(0, this.length) as T;
  }
}

function isSep(b: number): boolean {
  return b === 32 || b === 9 || b === 44 || b === 58 || b === 13; // space, tab, comma, colon, CR
}

/**
 * Reads a triplet file. Malformed lines are E_PARSE errors naming the file, line and field; a line
 * longer than `maxLineBytes` is E_TOO_LARGE naming the line, found before it is held in memory
 * whole. Reading is chunked (16 MiB), so memory is the parsed arrays plus one chunk.
 */
export function readTriplets(path: string, options: ReadTripletsOptions = {}): TripletFile {
  const maxLine = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  if (!(typeof maxLine === 'number' && maxLine > 0)) {
    throw new CollabperfError('E_INVALID_ARGUMENT', `maxLineBytes must be a positive number, got ${String(maxLine)}`, { field: 'maxLineBytes' });
  }
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new CollabperfError('E_FILE', `cannot open: ${(e as Error).message}`, { file: path });
  }
  const rows = new Growable((n) => new Int32Array(n));
  const cols = new Growable((n) => new Int32Array(n));
  const values = new Growable((n) => new Float64Array(n));
  const weights = new Growable((n) => new Float64Array(n));
  let fieldsPerLine = 0;
  let lineNo = 0;
  const fieldNames = ['row', 'col', 'value', 'weight'];
  const tokens: string[] = [];
  // Decided at the first data line for 'auto'.
  let named: boolean | undefined = options.stringIdsFrom ? true : options.stringIds === 'auto' ? undefined : options.stringIds === true;
  const rowNames: string[] = [];
  const colNames: string[] = [];
  const lines = options.lineNumbers ? new Growable((n) => new Int32Array(n)) : null;
  const isIndex = (t: string): boolean => {
    const x = Number(t);
    return Number.isInteger(x) && x >= 0 && x <= 2147483646;
  };

  const handleLine = (buf: Buffer, start: number, end: number): void => {
    lineNo++;
    tokens.length = 0;
    let i = start;
    while (i < end) {
      while (i < end && isSep(buf[i])) i++;
      if (i >= end) break;
      const s = i;
      while (i < end && !isSep(buf[i])) i++;
      tokens.push(buf.toString('latin1', s, i));
    }
    if (tokens.length === 0 || tokens[0][0] === '#' || tokens[0][0] === '%') return;
    if (lineNo === 1 && tokens.every((t) => Number.isNaN(Number(t)))) return; // header
    if (tokens.length < 3 || tokens.length > 4) {
      throw new CollabperfError('E_PARSE', `expected "row col value [weight]", found ${tokens.length} field(s)`, { file: path, line: lineNo });
    }
    if (fieldsPerLine === 0) fieldsPerLine = tokens.length;
    else if (tokens.length !== fieldsPerLine) {
      throw new CollabperfError('E_PARSE', `${tokens.length} fields where earlier lines have ${fieldsPerLine}`, { file: path, line: lineNo });
    }
    if (named === undefined) named = !isIndex(tokens[0]) || !isIndex(tokens[1]);
    for (let f = 0; f < tokens.length; f++) {
      if (f < 2 && named) {
        (f === 0 ? rowNames : colNames).push(tokens[f]);
        continue;
      }
      const x = Number(tokens[f]);
      if (f < 2) {
        if (!Number.isInteger(x) || x < 0 || x > 2147483646) {
          throw new CollabperfError('E_PARSE', `"${tokens[f]}" is not a non-negative integer index`, { file: path, line: lineNo, field: fieldNames[f] });
        }
      } else if (!Number.isFinite(x) || tokens[f] === '') {
        throw new CollabperfError('E_PARSE', `"${tokens[f]}" is not a finite number`, { file: path, line: lineNo, field: fieldNames[f] });
      } else if (f === 3 && x <= 0) {
        throw new CollabperfError('E_PARSE', `weight ${tokens[f]} must be positive`, { file: path, line: lineNo, field: 'weight' });
      }
      (f === 0 ? rows : f === 1 ? cols : f === 2 ? values : weights).push(x);
    }
    lines?.push(lineNo);
  };

  const tooLong = (): never => {
    throw new CollabperfError('E_TOO_LARGE', `line is longer than ${maxLine} bytes (maxLineBytes); not a triplet file?`, { file: path, line: lineNo + 1 });
  };

  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    let carry: Buffer | null = null;
    let atStart = true;
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      let data = buf.subarray(0, n);
      if (carry) {
        data = Buffer.concat([carry, data]);
        carry = null;
      }
      let s = 0;
      // a UTF-8 byte-order mark (files saved by Windows editors) would otherwise glue onto the first row index
      if (atStart && data.length >= 3 && data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) s = 3;
      atStart = false;
      for (let i = 0; i < data.length; i++) {
        if (data[i] === 10) {
          if (i - s > maxLine) tooLong();
          handleLine(data, s, i);
          s = i + 1;
        }
      }
      if (data.length - s > maxLine) tooLong();
      if (s < data.length) carry = Buffer.from(data.subarray(s));
    }
    if (carry && carry.length) handleLine(carry, 0, carry.length);
  } catch (e) {
    if (e instanceof CollabperfError) throw e;
    // readSync on a directory (EISDIR) or a failing device: still one error class for callers
    throw new CollabperfError('E_FILE', `cannot read: ${(e as Error).message}`, { file: path }, { cause: e });
  } finally {
    closeSync(fd);
  }
  if (values.length === 0) throw new CollabperfError('E_EMPTY', 'no data lines', { file: path });
  if (named) {
    const t = withStringIds(path, rowNames, colNames, values.trimmed(), fieldsPerLine === 4 ? weights.trimmed() : undefined, options.stringIdsFrom);
    if (lines) t.lines = lines.trimmed();
    return t;
  }
  const out: TripletFile = { rows: rows.trimmed(), cols: cols.trimmed(), values: values.trimmed(), count: rows.length };
  if (lines) out.lines = lines.trimmed();
  if (fieldsPerLine === 4) out.weights = weights.trimmed();
  if (options.remapIds || options.idMap) {
    const m = remapIds(out.rows, out.cols, options.idMap, path);
    out.rows = m.rows;
    out.cols = m.cols;
    out.idMap = m.map;
  }
  return out;
}

/** The entries of a file with named rows and columns: dense indices in code-unit order of the names (or `from`'s). */
function withStringIds(path: string, rowNames: string[], colNames: string[], values: Float64Array, weights: Float64Array | undefined, from?: { rows: readonly string[]; cols: readonly string[] }): TripletFile {
  const ids = from ?? { rows: sortedDistinct(rowNames, `${path}: row`), cols: sortedDistinct(colNames, `${path}: col`) };
  const out: TripletFile = {
    rows: mapStrings(rowNames, new IdIndex(ids.rows), `${path}: row`),
    cols: mapStrings(colNames, new IdIndex(ids.cols), `${path}: col`),
    values,
    count: values.length,
    nRows: ids.rows.length,
    nCols: ids.cols.length,
    stringIds: ids,
  };
  if (weights) out.weights = weights;
  return out;
}

/**
 * The first cell a triplet file gives twice, as an E_DUPLICATE_ENTRY naming both lines and the row
 * and column as the file writes them, or null when there is none. Re-reads the file with line
 * numbers: meant for the error path, after a build found a duplicate by entry position.
 */
export function locateDuplicate(path: string, options: ReadTripletsOptions = {}): CollabperfError | null {
  const t = readTriplets(path, { ...options, lineNumbers: true });
  const name = (ids: IdList | readonly string[] | undefined, i: number): string => (ids ? JSON.stringify(String(ids[i])) : String(i));
  const seen = new Map<string, number>();
  for (let e = 0; e < t.rows.length; e++) {
    const key = `${t.rows[e]},${t.cols[e]}`;
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, e);
      continue;
    }
    const row = name(t.stringIds?.rows ?? t.idMap?.rowIds, t.rows[e]);
    const col = name(t.stringIds?.cols ?? t.idMap?.colIds, t.cols[e]);
    return new CollabperfError('E_DUPLICATE_ENTRY', `row ${row}, column ${col} is given twice, on lines ${t.lines![first]} and ${t.lines![e]}`, { file: path, line: t.lines![e] });
  }
  return null;
}

/**
 * Writes entries as a triplet file (`row col value`, space-separated, values in shortest
 * round-trip form, so reading it back gives the same doubles), atomically.
 */
export function writeTriplets(path: string, rows: Int32Array, cols: Int32Array, values: Float64Array): void {
  writeFileAtomic(path, (append) => {
    const parts: string[] = [];
    for (let i = 0; i < rows.length; i++) {
      parts.push(`${rows[i]} ${cols[i]} ${values[i]}\n`);
      if (parts.length === 100_000) {
        append(parts.join(''));
        parts.length = 0;
      }
    }
    if (parts.length) append(parts.join(''));
  });
}
