/**
 * External row and column ids: strings (`fit({ row, col, value })`) or sparse integers
 * (`remapIds: true`), mapped to the dense indices the kernels use and back. A model that has a map
 * speaks its ids in every method and keeps the map in its file.
 */
import { CollabperfError } from '../errors.js';
import type { ValueArray } from './ratings.js';

/** A row or column as the caller names it: a dense index, an original integer id, or a string id. */
export type Id = number | string;

/** The ids of one side, position = dense index: strings, or ascending integers. */
export type IdList = readonly string[] | Int32Array;

/** Interactions or ratings keyed by string ids (`row[i]`, `col[i]`, `value[i]`). */
export interface StringRatings {
  row: readonly string[];
  col: readonly string[];
  value: ValueArray;
  /** Positive per-entry weights (default 1). */
  weight?: ValueArray;
}

/** Whether an input is keyed by string ids. */
export function isStringRatings(x: unknown): x is StringRatings {
  return x !== null && typeof x === 'object' && Array.isArray((x as StringRatings).row) && Array.isArray((x as StringRatings).col);
}

/** Lookup from external id to dense index, for one side of a model. */
export class IdIndex {
  private map: Map<Id, number> | null = null;

  constructor(readonly ids: IdList) {}

  /** The dense index of an id, or -1. */
  indexOf(id: Id): number {
    if (this.map === null) {
      // Built on first use: a model only used for its arrays never pays for it.
      const m = new Map<Id, number>();
      for (let i = 0; i < this.ids.length; i++) m.set(this.ids[i], i);
      this.map = m;
    }
    return this.map.get(id) ?? -1;
  }

  get length(): number {
    return this.ids.length;
  }

  /** Whether the ids are strings (else integers). */
  get strings(): boolean {
    return !(this.ids instanceof Int32Array);
  }
}

/** Distinct strings in code-unit order (so the dense order does not depend on the input order). */
export function sortedDistinct(a: readonly string[], what: string): string[] {
  for (let i = 0; i < a.length; i++) {
    if (typeof a[i] !== 'string') throw new CollabperfError('E_INVALID_ARGUMENT', `${what}[${i}] is not a string (${String(a[i])})`);
  }
  return [...new Set(a)].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
}

/** Maps string ids to dense indices through an index; an id it does not know is E_NOT_FOUND naming the entry. */
export function mapStrings(a: readonly string[], index: IdIndex, what: string): Int32Array {
  const out = new Int32Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const j = index.indexOf(a[i]);
    if (j < 0) throw new CollabperfError('E_NOT_FOUND', `${what}[${i}] = ${JSON.stringify(a[i])} is not an id of the training data`);
    out[i] = j;
  }
  return out;
}

/**
 * String-keyed ratings as dense sparse arrays plus the two id lists. With `ids` (a training set's),
 * those are applied instead of building new ones.
 */
export function denseFromStrings(
  input: StringRatings,
  what = 'ratings',
  ids?: { rows: IdIndex; cols: IdIndex },
): { rows: Int32Array; cols: Int32Array; values: ValueArray; weights?: ValueArray; nRows: number; nCols: number; rowIds: IdIndex; colIds: IdIndex } {
  const { row, col, value, weight } = input;
  if (value === undefined) throw new CollabperfError('E_INVALID_ARGUMENT', `${what} keyed by ids needs row, col and value`);
  if (col.length !== row.length || value.length !== row.length || (weight !== undefined && weight.length !== row.length)) {
    throw new CollabperfError(
      'E_LENGTH_MISMATCH',
      `${what}: row (${row.length}), col (${col.length}), value (${value.length})${weight ? `, weight (${weight.length})` : ''} must have the same length`,
    );
  }
  const rowIds = ids?.rows ?? new IdIndex(sortedDistinct(row, `${what}.row`));
  const colIds = ids?.cols ?? new IdIndex(sortedDistinct(col, `${what}.col`));
  if (!rowIds.strings || !colIds.strings) throw new CollabperfError('E_INVALID_ARGUMENT', `${what}: string ids given, but the training data has integer ids`);
  return {
    rows: mapStrings(row, rowIds, `${what}.row`),
    cols: mapStrings(col, colIds, `${what}.col`),
    values: value,
    weights: weight,
    nRows: rowIds.length,
    nCols: colIds.length,
    rowIds,
    colIds,
  };
}
