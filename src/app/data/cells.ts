/**
 * Reading single cells of user tables: which tokens mean "missing", and strict number parsing.
 * Shared by the wide, long and factor table readers so that they agree.
 */
import { CollabperfError, type ErrorLocation } from '../../errors.js';

/** Tokens that mean a missing value (compared after trimming, case-insensitively), plus the empty cell. */
export const MISSING_TOKENS: readonly string[] = ['', '-', 'na', 'nan', 'n/a'];

/** True when a (raw) cell means "missing": empty, `-`, `NA`, `NaN`, `N/A` (any case, surrounding blanks ignored). */
export function isMissing(cell: string): boolean {
  return MISSING_TOKENS.includes(cell.trim().toLowerCase());
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const INFINITE = /^[+-]?(inf|infinity)$/i;

/** True when the trimmed cell is a plain decimal number (`12`, `-0.5`, `.5`, `1e-3`). */
export function looksNumeric(cell: string): boolean {
  return NUMBER.test(cell.trim());
}

/**
 * Parse a score cell: `undefined` when missing (see {@link isMissing}), else a finite number.
 * Throws `E_NON_FINITE` for `inf`/`Infinity` and `E_PARSE` for anything else that is not a plain
 * decimal number (thousands separators, percent signs and decimal commas are not accepted).
 */
export function parseNumberCell(cell: string, where: ErrorLocation, what = 'score'): number | undefined {
  const s = cell.trim();
  if (isMissing(s)) return undefined;
  if (NUMBER.test(s)) {
    const v = Number(s);
    if (!Number.isFinite(v)) throw new CollabperfError('E_NON_FINITE', `${JSON.stringify(s)} is out of the floating-point range (${what})`, where);
    return v;
  }
  if (INFINITE.test(s)) throw new CollabperfError('E_NON_FINITE', `${JSON.stringify(s)} is not a finite number (${what})`, where);
  throw new CollabperfError('E_PARSE', `cannot read ${JSON.stringify(s)} as a number (${what}; missing values are empty, -, NA, NaN or N/A)`, where);
}
