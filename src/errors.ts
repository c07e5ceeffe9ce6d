/**
 * Stable error codes. A code never changes meaning once released; the message may be improved.
 * The native addon throws the same codes (see native/core/errors.hpp), and the binding turns them
 * into {@link CollabperfError} instances, so callers only ever catch one class.
 */
export type CollabperfErrorCode =
  | 'E_INVALID_ARGUMENT' // an option or argument has a wrong type or value
  | 'E_LENGTH_MISMATCH' // parallel typed arrays differ in length
  | 'E_INDEX_OUT_OF_RANGE' // a row/column index outside the matrix
  | 'E_NON_FINITE' // NaN or Infinity where a number is required
  | 'E_DUPLICATE_ENTRY' // the same (row, col) cell given twice, or a duplicate name
  | 'E_EMPTY' // no observed entries / empty table
  | 'E_PARSE' // a malformed line or field in an input file
  | 'E_FILE' // a file cannot be read or written
  | 'E_VERSION' // a saved file of another format version
  | 'E_BACKEND_UNAVAILABLE' // the requested backend cannot be loaded
  | 'E_NOT_FOUND' // a named model, task, dataset or method does not exist
  | 'E_NUMERIC' // a linear system could not be solved (not positive definite)
  | 'E_ABORTED' // the operation was cancelled through an AbortSignal
  | 'E_TOO_LARGE' // an input would need more memory than the configured budget, or a line is too long
  | 'E_NATIVE'; // an unexpected failure inside the addon

/** Where in an input file a problem was found. */
export interface ErrorLocation {
  file?: string;
  line?: number;
  field?: string;
}

/**
 * The one error class of the package. `code` is stable and machine-readable; `message` names what is
 * wrong and, for files, where (file, line, field).
 */
export class CollabperfError extends Error {
  readonly code: CollabperfErrorCode;
  readonly file?: string;
  readonly line?: number;
  readonly field?: string;

  constructor(code: CollabperfErrorCode, message: string, location: ErrorLocation = {}, options?: { cause?: unknown }) {
    super(formatMessage(message, location), options);
    this.name = 'CollabperfError';
    this.code = code;
    this.file = location.file;
    this.line = location.line;
    this.field = location.field;
  }

  /** A plain object for `--json` output. */
  toJSON(): { name: string; code: CollabperfErrorCode; message: string; file?: string; line?: number; field?: string } {
    return { name: this.name, code: this.code, message: this.message, file: this.file, line: this.line, field: this.field };
  }
}

function formatMessage(message: string, loc: ErrorLocation): string {
  const where: string[] = [];
  if (loc.file !== undefined) where.push(loc.file);
  if (loc.line !== undefined) where.push(`line ${loc.line}`);
  if (loc.field !== undefined) where.push(`field "${loc.field}"`);
  return where.length ? `${where.join(', ')}: ${message}` : message;
}

/** True when `e` is a CollabperfError (also across module copies, by name and code). */
export function isCollabperfError(e: unknown): e is CollabperfError {
  return e instanceof CollabperfError || (e instanceof Error && e.name === 'CollabperfError' && typeof (e as { code?: unknown }).code === 'string');
}
