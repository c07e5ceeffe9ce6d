/**
 * Factor encoding: turns the model or task factors of a {@link Dataset} into numbers that learners
 * can use — a dense numeric design matrix, plus an index per category for embedding layers.
 *
 * Rules (documented in {@link encodeFactors}):
 *
 * - **Numeric factors.** A factor is log10-transformed when every present value is > 0 and either
 *   (a) its values span more than two orders of magnitude (max / min > {@link LOG_RATIO}), or
 *   (b) its name or unit names a heavy-tailed, extensive quantity ({@link HEAVY_TAILED}: parameter
 *   count, tokens, FLOPs, GPU hours, CO2, context window, batch size, compute). Then the (possibly
 *   logged) value is standardised with the mean and population standard deviation of the rows that
 *   have it; a row without the value gets 0 (the mean). When at least one row lacks the value, a
 *   missing-indicator column (1 = missing) follows the value column. A factor with no present
 *   value at all gives no column (it is listed in `skipped`); a constant factor gives a column of 0.
 * - **Categorical factors.** Categories seen in fewer than `minCategoryCount` rows (default 2) are
 *   pooled into one level `(other)`; rows without a value get the level `(missing)`. Levels are the
 *   frequent categories in code-unit order, then `(other)`, then `(missing)` (each only when used).
 *   Every row has a level index (for embeddings) and a one-hot row (for linear learners).
 *
 * Statistics use every row of the dataset (factors are side information, not scores, so rows of
 * models without training cells may contribute), and the encoding is a pure function of the factor
 * values and the options.
 */
import { CollabperfError } from '../../errors.js';
import type { Dataset, FactorSpec, FactorValue } from '../data/dataset.js';

/** Which side of the matrix: model (rows) or task (columns) factors. */
export type FactorKind = 'model' | 'task';

/** Ratio max / min above which a positive numeric factor is log-transformed. */
export const LOG_RATIO = 100;

/** Names or units of positive quantities that are log-transformed whatever their range. */
export const HEAVY_TAILED = /param|token|flop|gpu.?h|co2|carbon|context|batch|compute/i;

/** Label of the pooled level of rare categories. */
export const OTHER_LEVEL = '(other)';
/** Label of the level of rows without a value. */
export const MISSING_LEVEL = '(missing)';

/** Options of {@link encodeFactors}. */
export interface EncodeFactorsOptions {
  /**
   * The factors to encode (names of this kind's factors, any order; the output follows schema
   * order). Default: every declared factor. An unknown name is `E_NOT_FOUND`.
   */
  include?: readonly string[];
  /** Force (`true`) or forbid (`false`) the log transform of named numeric factors. */
  log?: Readonly<Record<string, boolean>>;
  /** Categories with fewer rows than this are pooled into {@link OTHER_LEVEL} (default 2). */
  minCategoryCount?: number;
}

/** How one numeric factor was encoded. */
export interface NumericFactorEncoding {
  factor: string;
  unit?: string;
  /** True when values went through log10 before standardisation. */
  log: boolean;
  /** Mean and population standard deviation of the (transformed) present values. */
  mean: number;
  std: number;
  /** Rows that have a value. */
  present: number;
  /** Column of the standardised value in {@link EncodedFactors.numeric}. */
  valueColumn: number;
  /** Column of the missing indicator, or -1 when every row has the value. */
  missingColumn: number;
}

/** How one categorical factor was encoded. */
export interface CategoricalFactorEncoding {
  factor: string;
  /** Level labels; `index[row]` points into this list. */
  levels: string[];
  /** Rows per level. */
  counts: number[];
  /** Level of every row. */
  index: Int32Array;
  /** Column of level 0 in {@link EncodedFactors.oneHot} (levels are consecutive columns). */
  oneHotStart: number;
}

/** A row-major dense matrix with named columns. */
export interface NamedMatrix {
  rows: number;
  /** Number of columns (= `columns.length`). */
  width: number;
  columns: string[];
  /** `rows × width`, row-major: entry (r, c) at `r * width + c`. */
  values: Float64Array;
}

/** Result of {@link encodeFactors}. */
export interface EncodedFactors {
  kind: FactorKind;
  /** Number of rows (models or tasks). */
  rows: number;
  /** Encoded factors in schema order. */
  factors: string[];
  /** Factors that were asked for but gave no column (no row has a value). */
  skipped: string[];
  numericFactors: NumericFactorEncoding[];
  categoricalFactors: CategoricalFactorEncoding[];
  /** Standardised numeric values and missing indicators. */
  numeric: NamedMatrix;
  /** One-hot view of the categorical factors. */
  oneHot: NamedMatrix;
  /** `numeric` then `oneHot`, side by side: the full numeric design. */
  design: NamedMatrix;
  /** Column names of `design`. */
  columns: string[];
}

/** Name of the value column of a numeric factor. */
export function numericColumnName(factor: string, log: boolean): string {
  return log ? `log10(${factor})` : factor;
}

/** Name of the missing-indicator column of a numeric factor. */
export function missingColumnName(factor: string): string {
  return `missing(${factor})`;
}

/** Name of the one-hot column of a categorical level. */
export function levelColumnName(factor: string, level: string): string {
  return `${factor}=${level}`;
}

/** Decide the log transform of a numeric factor from its present values (see the module rules). */
export function shouldLog(spec: Pick<FactorSpec, 'name' | 'unit'>, present: readonly number[]): boolean {
  if (present.length === 0) return false;
  let min = Infinity;
  let max = -Infinity;
  for (const v of present) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (!(min > 0)) return false;
  return max / min > LOG_RATIO || HEAVY_TAILED.test(spec.name) || (spec.unit !== undefined && HEAVY_TAILED.test(spec.unit));
}

function isMissing(v: FactorValue | null | undefined): boolean {
  return v === undefined || v === null;
}

/**
 * Encode the `kind` factors of `ds` (see the module comment for the rules). Unknown names in
 * `include` are `E_NOT_FOUND`; a bad `minCategoryCount` is `E_INVALID_ARGUMENT`.
 */
export function encodeFactors(ds: Dataset, kind: FactorKind, opts: EncodeFactorsOptions = {}): EncodedFactors {
  const specs = ds.factorSchema[kind];
  const entries = kind === 'model' ? ds.models : ds.tasks;
  const rows = entries.length;
  const minCount = opts.minCategoryCount ?? 2;
  if (!Number.isInteger(minCount) || minCount < 1) {
    throw new CollabperfError('E_INVALID_ARGUMENT', `minCategoryCount must be a positive integer, got ${minCount}`, { field: 'minCategoryCount' });
  }
  let chosen: FactorSpec[] = specs;
  if (opts.include !== undefined) {
    const want = new Set(opts.include);
    for (const name of want) {
      if (!specs.some((s) => s.name === name)) {
        const avail = specs.map((s) => s.name);
        throw new CollabperfError(
          'E_NOT_FOUND',
          `no ${kind} factor named "${name}" in dataset "${ds.name}"; ${avail.length ? `available: ${avail.join(', ')}` : `it has no ${kind} factors`}`,
          { field: 'include' },
        );
      }
    }
    chosen = specs.filter((s) => want.has(s.name));
  }

  const factors: string[] = [];
  const skipped: string[] = [];
  const numericFactors: NumericFactorEncoding[] = [];
  const categoricalFactors: CategoricalFactorEncoding[] = [];
  const numericCols: string[] = [];
  // column-wise data first, packed into row-major matrices at the end
  const numericData: Float64Array[] = [];
  const oneHotCols: string[] = [];

  for (const spec of chosen) {
    const raw = entries.map((e) => e.factors[spec.name] as FactorValue | null | undefined);
    if (spec.type === 'numeric') {
      const present: number[] = [];
      for (const v of raw) if (!isMissing(v)) present.push(v as number);
      if (present.length === 0) {
        skipped.push(spec.name);
        continue;
      }
      const forced = opts.log?.[spec.name];
      if (forced === true && !present.every((v) => v > 0)) {
        throw new CollabperfError('E_INVALID_ARGUMENT', `cannot log-transform ${kind} factor "${spec.name}": it has values <= 0`, { field: 'log' });
      }
      const log = forced !== undefined ? forced : shouldLog(spec, present);
      const t = (v: number) => (log ? Math.log10(v) : v);
      let mean = 0;
      for (const v of present) mean += t(v);
      mean /= present.length;
      let ss = 0;
      for (const v of present) ss += (t(v) - mean) ** 2;
      const std = Math.sqrt(ss / present.length);
      const scale = std > 1e-12 * Math.max(1, Math.abs(mean)) ? std : 0;
      const col = new Float64Array(rows);
      for (let r = 0; r < rows; r++) {
        const v = raw[r];
        col[r] = isMissing(v) || scale === 0 ? 0 : (t(v as number) - mean) / scale;
      }
      const enc: NumericFactorEncoding = { factor: spec.name, log, mean, std, present: present.length, valueColumn: numericCols.length, missingColumn: -1 };
      if (spec.unit !== undefined) enc.unit = spec.unit;
      numericCols.push(numericColumnName(spec.name, log));
      numericData.push(col);
      if (present.length < rows) {
        const miss = new Float64Array(rows);
        for (let r = 0; r < rows; r++) miss[r] = isMissing(raw[r]) ? 1 : 0;
        enc.missingColumn = numericCols.length;
        numericCols.push(missingColumnName(spec.name));
        numericData.push(miss);
      }
      numericFactors.push(enc);
      factors.push(spec.name);
    } else {
      const count = new Map<string, number>();
      let missing = 0;
      for (const v of raw) {
        if (isMissing(v)) missing++;
        else count.set(String(v), (count.get(String(v)) ?? 0) + 1);
      }
      if (count.size === 0) {
        skipped.push(spec.name);
        continue;
      }
      const frequent = [...count.keys()].filter((k) => count.get(k)! >= minCount).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      const rare = [...count.keys()].filter((k) => count.get(k)! < minCount);
      const levels = [...frequent];
      const counts = frequent.map((k) => count.get(k)!);
      const levelOf = new Map<string, number>(frequent.map((k, i) => [k, i]));
      if (rare.length > 0) {
        const other = levels.length;
        levels.push(OTHER_LEVEL);
        counts.push(rare.reduce((s, k) => s + count.get(k)!, 0));
        for (const k of rare) levelOf.set(k, other);
      }
      let missingLevel = -1;
      if (missing > 0) {
        missingLevel = levels.length;
        levels.push(MISSING_LEVEL);
        counts.push(missing);
      }
      const index = new Int32Array(rows);
      for (let r = 0; r < rows; r++) index[r] = isMissing(raw[r]) ? missingLevel : levelOf.get(String(raw[r]))!;
      categoricalFactors.push({ factor: spec.name, levels, counts, index, oneHotStart: oneHotCols.length });
      for (const l of levels) oneHotCols.push(levelColumnName(spec.name, l));
      factors.push(spec.name);
    }
  }

  const numeric = pack(rows, numericCols, numericData);
  const oneHot: NamedMatrix = { rows, width: oneHotCols.length, columns: oneHotCols, values: new Float64Array(rows * oneHotCols.length) };
  for (const c of categoricalFactors) {
    for (let r = 0; r < rows; r++) oneHot.values[r * oneHot.width + c.oneHotStart + c.index[r]] = 1;
  }
  const width = numeric.width + oneHot.width;
  const design: NamedMatrix = { rows, width, columns: [...numeric.columns, ...oneHot.columns], values: new Float64Array(rows * width) };
  for (let r = 0; r < rows; r++) {
    design.values.set(numeric.values.subarray(r * numeric.width, (r + 1) * numeric.width), r * width);
    design.values.set(oneHot.values.subarray(r * oneHot.width, (r + 1) * oneHot.width), r * width + numeric.width);
  }
  return { kind, rows, factors, skipped, numericFactors, categoricalFactors, numeric, oneHot, design, columns: design.columns };
}

function pack(rows: number, columns: string[], data: Float64Array[]): NamedMatrix {
  const width = columns.length;
  const values = new Float64Array(rows * width);
  for (let c = 0; c < width; c++) for (let r = 0; r < rows; r++) values[r * width + c] = data[c][r];
  return { rows, width, columns, values };
}

/**
 * Split a list of factor names for both kinds into model and task lists. A name may be qualified
 * (`"model:params"`, `"task:ability"`) or bare (`"family"`), which selects the factor of that name
 * on each side that declares it. A name that matches nothing is `E_NOT_FOUND`.
 */
export function splitFactorNames(ds: Dataset, names: readonly string[]): { model: string[]; task: string[] } {
  const out = { model: [] as string[], task: [] as string[] };
  const has = (kind: FactorKind, n: string) => ds.factorSchema[kind].some((s) => s.name === n);
  const add = (kind: FactorKind, n: string) => {
    if (!out[kind].includes(n)) out[kind].push(n);
  };
  for (const name of names) {
    const m = /^(model|task):(.*)$/.exec(name);
    if (m) {
      const kind = m[1] as FactorKind;
      if (!has(kind, m[2])) throw unknownFactor(ds, name);
      add(kind, m[2]);
      continue;
    }
    const inModel = has('model', name);
    const inTask = has('task', name);
    if (!inModel && !inTask) throw unknownFactor(ds, name);
    if (inModel) add('model', name);
    if (inTask) add('task', name);
  }
  return out;
}

function unknownFactor(ds: Dataset, name: string): CollabperfError {
  const avail = [...ds.factorSchema.model.map((s) => `model:${s.name}`), ...ds.factorSchema.task.map((s) => `task:${s.name}`)];
  return new CollabperfError(
    'E_NOT_FOUND',
    `no factor named "${name}" in dataset "${ds.name}"; ${avail.length ? `available: ${avail.join(', ')}` : 'it has no factors'}`,
    { field: 'factors' },
  );
}
