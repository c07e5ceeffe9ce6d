/**
 * A small RFC 4180-style CSV/TSV reader that keeps line numbers, so that every later error can say
 * where it is. It handles quoted fields (with delimiters, quotes written as `""`, and line breaks
 * inside), CRLF / LF / CR line ends, a leading UTF-8 byte-order mark, and picks the delimiter (comma,
 * tab or semicolon) from the header line when none is given.
 *
 * It does not trim fields and does not interpret them: that is the job of the table readers
 * (`wide-table.ts`, `long-table.ts`, `factor-table.ts`).
 */
import { CollabperfError } from '../../errors.js';

/** Delimiters the reader understands. */
export type CsvDelimiter = ',' | '\t' | ';';

/** One record (row) of a CSV file. */
export interface CsvRecord {
  /** 1-based line number of the line the record starts on. */
  line: number;
  /** Raw field values, unquoted, untrimmed. */
  fields: string[];
}

/** The parsed file. */
export interface CsvTable {
  delimiter: CsvDelimiter;
  /** Non-blank records in file order (a line with nothing on it is skipped). */
  records: CsvRecord[];
}

export interface CsvParseOptions {
  /** Force a delimiter; by default it is detected with {@link detectDelimiter}. */
  delimiter?: CsvDelimiter;
  /** File name used in error messages. */
  file?: string;
}

const CANDIDATES: readonly CsvDelimiter[] = ['\t', ',', ';'];

/** Remove a leading UTF-8 byte-order mark (U+FEFF), if any. */
export function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * Pick the delimiter from the first non-blank line: the candidate (tab, comma, semicolon) that
 * occurs most often outside quotes. Ties go to tab, then comma, then semicolon; a line with none of
 * them (a one-column file) gives comma.
 */
export function detectDelimiter(text: string): CsvDelimiter {
  const t = stripBom(text);
  const counts = new Map<string, number>(CANDIDATES.map((c) => [c, 0]));
  let inQuotes = false;
  let seenContent = false;
  for (let i = 0; i < t.length; i++) {
    const ch = t[i];
    if (inQuotes) {
      if (ch === '"') {
        if (t[i + 1] === '"') i++;
        else inQuotes = false;
      }
      continue;
    }
    if (ch === '"') {
      inQuotes = true;
      seenContent = true;
    } else if (ch === '\n' || ch === '\r') {
      if (seenContent) break;
    } else {
      seenContent = true;
      const n = counts.get(ch);
      if (n !== undefined) counts.set(ch, n + 1);
    }
  }
  let best: CsvDelimiter = ',';
  let bestCount = 0;
  for (const c of CANDIDATES) {
    const n = counts.get(c)!;
    if (n > bestCount) {
      best = c;
      bestCount = n;
    }
  }
  return best;
}

/**
 * Parse CSV/TSV text into records with their line numbers.
 *
 * Errors (`E_PARSE`, with file and line): a quoted field that is never closed (reported at the line
 * where the quote opened), text between a closing quote and the next delimiter.
 */
export function parseCsv(text: string, options: CsvParseOptions = {}): CsvTable {
  const t = stripBom(text);
  const delimiter = options.delimiter ?? detectDelimiter(t);
  const file = options.file;
  const records: CsvRecord[] = [];

  let line = 1;
  let recordLine = 1;
  let fields: string[] = [];
  let field = '';
  // true once the current record has any character (even an empty quoted field "")
  let recordHasContent = false;
  let i = 0;
  const n = t.length;

  const endRecord = () => {
    fields.push(field);
    if (recordHasContent) records.push({ line: recordLine, fields });
    fields = [];
    field = '';
    recordHasContent = false;
  };

  while (i < n) {
    const ch = t[i];
    if (ch === '"' && field === '' ) {
      // quoted field
      const quoteLine = line;
      recordHasContent = true;
      i++;
      let closed = false;
      while (i < n) {
        const c = t[i];
        if (c === '"') {
          if (t[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          closed = true;
          i++;
          break;
        }
        if (c === '\r') {
          // keep the line break inside the field as \n, count the line once for CRLF
          field += '\n';
          line++;
          i += t[i + 1] === '\n' ? 2 : 1;
          continue;
        }
        if (c === '\n') line++;
        field += c;
        i++;
      }
      if (!closed) {
        throw new CollabperfError('E_PARSE', 'unterminated quoted field (a " is never closed)', {
          file,
          line: quoteLine,
          field: `column ${fields.length + 1}`,
        });
      }
      // after the closing quote: delimiter, line end or end of text
      if (i < n && t[i] !== delimiter && t[i] !== '\n' && t[i] !== '\r') {
        throw new CollabperfError('E_PARSE', `unexpected character ${JSON.stringify(t[i])} after a closing quote`, {
          file,
          line,
          field: `column ${fields.length + 1}`,
        });
      }
      // mark the field as complete but possibly empty: push a sentinel by continuing the loop
      // (the delimiter / newline branch below pushes it)
      if (i >= n) break;
      continue;
    }
    if (ch === delimiter) {
      fields.push(field);
      field = '';
      recordHasContent = true;
      i++;
      continue;
    }
    if (ch === '\n' || ch === '\r') {
      endRecord();
      i += ch === '\r' && t[i + 1] === '\n' ? 2 : 1;
      line++;
      recordLine = line;
      continue;
    }
    field += ch;
    recordHasContent = true;
    i++;
  }
  if (recordHasContent || field !== '') endRecord();
  return { delimiter, records };
}

/** Counts of the lenient number spellings a table reader accepted, for its warning notes. */
export interface NumberNotes {
  /** Cells written with a trailing percent sign (`86.4%`), read as the number before it. */
  percent: number;
  /** Cells written with a decimal comma (`70,5`), read as `70.5`. */
  decimalComma: number;
}

/**
 * Rewrites the lenient spellings of a score cell into a plain number: a trailing `%` is dropped
 * (`86.4%` stays 86.4, as on a 0-100 table) and a decimal comma becomes a point when it cannot be a
 * thousands separator: one comma with other than three digits after it (`70,5`, `0,25`; not
 * `1,234`). Such a cell can only reach a reader in a `;`/tab file or a quoted field of a comma file,
 * so the comma was never the delimiter. Other text is returned as is, for the strict parser to judge.
 */
export function normalizeNumberText(raw: string, notes: NumberNotes): string {
  let s = raw.trim();
  if (/^[+-]?(\d+([.,]\d*)?|[.,]\d+)\s*%$/.test(s)) {
    s = s.replace(/\s*%$/, '');
    notes.percent++;
  }
  const m = /^([+-]?\d*),(\d+)$/.exec(s);
  if (m && m[2].length !== 3) {
    s = `${m[1] === '' || m[1] === '-' || m[1] === '+' ? `${m[1]}0` : m[1]}.${m[2]}`;
    notes.decimalComma++;
  }
  return s;
}

/** The notes a reader records for {@link NumberNotes}, empty when every cell was plain. */
export function numberNoteTexts(notes: NumberNotes): string[] {
  const out: string[] = [];
  if (notes.percent > 0) out.push(`${notes.percent} score(s) had a percent sign, which was dropped (86.4% read as 86.4)`);
  if (notes.decimalComma > 0) out.push(`${notes.decimalComma} score(s) had a decimal comma, read as a decimal point (70,5 read as 70.5)`);
  return out;
}
