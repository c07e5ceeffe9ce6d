/**
 * Evaluation protocols: which observed cells are held out. A protocol is given as a short string
 * (`cells:0.05`, `model-kfold:5`, `new-model:2`, `new-task:0`, `family-out`), parsed by
 * {@link parseProtocol}, and turned into folds for a seed by {@link makeFolds}. A split can also be
 * read from / written to a JSON file (`--split FILE`) so that other tools can use the same cells.
 *
 * Every random choice goes through the package PRNG ({@link Rng}) with a stream per purpose, so a
 * protocol and a seed always give the same folds, in JavaScript and across runs.
 */
import { readFileSync } from 'node:fs';
import { Rng } from '../../numeric/rng.js';
import { CollabperfError, type CollabperfErrorCode } from '../../errors.js';
import { findModel, findTask, formatPath, type Dataset } from '../data/dataset.js';
import { jsonLineOf, parseJsonText, type JsonPath } from '../data/json-lines.js';
import { writeFileAtomic } from '../../util/atomic-write.js';

/** A parsed protocol. */
export type ProtocolSpec =
  /** Hold out a random fraction of the observed cells (one fold per seed). */
  | { kind: 'cells'; fraction: number }
  /** K folds over models; a fold holds out every cell of its models. */
  | { kind: 'model-kfold'; folds: number }
  /** New models: hold out models fold by fold, revealing `reveal` of each held-out model's scores. */
  | { kind: 'new-model'; reveal: number }
  /** New tasks: the same over tasks. */
  | { kind: 'new-task'; reveal: number }
  /** Leave each value of the categorical model factor `family` out in turn. */
  | { kind: 'family-out' };

/** One train/test split. Both masks are over `ds.scores` (1 = in the set). */
export interface Fold {
  trainMask: Uint8Array;
  testMask: Uint8Array;
  /** What the fold holds out, for reports. */
  description: string;
  /**
   * Seed the fold was drawn with, when known. Folds read from a split file carry it when the file
   * does, so that re-running an exported evaluation uses the same folds per seed.
   */
  seed?: number;
}

/** Number of folds over models (tasks) of `new-model:k` (`new-task:k`), fewer when there are fewer candidates. */
export const NEW_ENTITY_FOLDS = 5;

/** The name of the categorical model factor that `family-out` groups models by. */
export const FAMILY_FACTOR = 'family';

// PRNG streams, one per random choice, so that e.g. the reveal of a model's cells does not depend on
// how many models were shuffled before it.
const STREAM_CELLS = 0x101;
const STREAM_MODEL_FOLDS = 0x102;
const STREAM_NEW_MODEL_FOLDS = 0x103;
const STREAM_NEW_TASK_FOLDS = 0x104;
const STREAM_REVEAL_MODEL = 0x10000; // + model index
const STREAM_REVEAL_TASK = 0x20000000; // + task index, far from the model streams

const FORMS = 'cells:P (0 < P < 1, or a percentage like 5%), model-kfold:K (K >= 2), new-model:k, new-task:k (k >= 0 revealed scores), family-out';

function invalid(message: string): CollabperfError {
  return new CollabperfError('E_INVALID_ARGUMENT', message, { field: 'protocol' });
}

/**
 * Parse a protocol string. Accepted forms: `cells:P` with 0 < P < 1 or `cells:P%`; `model-kfold:K`
 * with integer K >= 2; `new-model:k` and `new-task:k` with integer k >= 0; `family-out`. Anything else
 * is `E_INVALID_ARGUMENT` naming the accepted forms.
 */
export function parseProtocol(text: string): ProtocolSpec {
  if (typeof text !== 'string') throw invalid(`protocol must be a string; accepted: ${FORMS}`);
  const t = text.trim();
  const colon = t.indexOf(':');
  const kind = (colon < 0 ? t : t.slice(0, colon)).trim().toLowerCase();
  const arg = colon < 0 ? undefined : t.slice(colon + 1).trim();
  const needArg = (what: string): string => {
    if (arg === undefined || arg === '') throw invalid(`protocol "${t}" needs ${what} after "${kind}:"; accepted: ${FORMS}`);
    return arg;
  };
  const integer = (s: string, min: number, what: string): number => {
    if (!/^\d+$/.test(s)) throw invalid(`protocol "${t}": ${what} must be an integer >= ${min}, got "${s}"`);
    const v = Number(s);
    if (v < min) throw invalid(`protocol "${t}": ${what} must be an integer >= ${min}, got ${v}`);
    return v;
  };
  switch (kind) {
    case 'cells': {
      const a = needArg('the held-out fraction');
      const pct = a.endsWith('%');
      const num = pct ? a.slice(0, -1).trim() : a;
      const v = /^(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(num) ? Number(num) / (pct ? 100 : 1) : NaN;
      if (!(v > 0 && v < 1)) throw invalid(`protocol "${t}": the held-out fraction must be between 0 and 1 (exclusive) or a percentage, got "${a}"`);
      return { kind: 'cells', fraction: v };
    }
    case 'model-kfold':
      return { kind: 'model-kfold', folds: integer(needArg('the number of folds'), 2, 'the number of folds') };
    case 'new-model':
    case 'new-task':
      return { kind, reveal: integer(needArg('the number of revealed scores'), 0, 'the number of revealed scores') };
    case 'family-out':
      if (arg !== undefined) throw invalid(`protocol "${t}": family-out takes no argument`);
      return { kind: 'family-out' };
    default:
      throw invalid(`unknown protocol "${t}"; accepted: ${FORMS}`);
  }
}

/** The canonical string of a protocol (`parseProtocol(formatProtocol(p))` equals `p`). */
export function formatProtocol(p: ProtocolSpec): string {
  switch (p.kind) {
    case 'cells':
      return `cells:${p.fraction}`;
    case 'model-kfold':
      return `model-kfold:${p.folds}`;
    case 'new-model':
    case 'new-task':
      return `${p.kind}:${p.reveal}`;
    case 'family-out':
      return 'family-out';
  }
}

function foldFromTest(testMask: Uint8Array, description: string, seed?: number): Fold {
  const trainMask = new Uint8Array(testMask.length);
  for (let e = 0; e < testMask.length; e++) trainMask[e] = testMask[e] ? 0 : 1;
  const f: Fold = { trainMask, testMask, description };
  if (seed !== undefined) f.seed = seed;
  return f;
}

/** Cell positions (in `ds.scores`) of each model (`by = 'model'`) or task, in `ds.scores` order. */
function cellsBy(ds: Dataset, by: 'model' | 'task'): Int32Array[] {
  const n = by === 'model' ? ds.models.length : ds.tasks.length;
  const key = ds.scores[by];
  const counts = new Int32Array(n);
  for (let e = 0; e < key.length; e++) counts[key[e]]++;
  const lists = Array.from({ length: n }, (_, i) => new Int32Array(counts[i]));
  const fill = new Int32Array(n);
  for (let e = 0; e < key.length; e++) lists[key[e]][fill[key[e]]++] = e;
  return lists;
}

/** Deal shuffled items round-robin into `k` groups (sizes differ by at most one). */
function deal(items: number[], k: number, rng: Rng): number[][] {
  const a = items.slice();
  rng.shuffle(a);
  const groups: number[][] = Array.from({ length: k }, () => []);
  a.forEach((x, i) => groups[i % k].push(x));
  for (const g of groups) g.sort((x, y) => x - y);
  return groups;
}

function pct(x: number): string {
  return `${Number((x * 100).toPrecision(4))}%`;
}

/**
 * The folds of a protocol for one seed. Semantics:
 *
 * - `cells:P` — one fold: round(P × observed) cells (at least 1) drawn uniformly without replacement
 *   are held out; the paper's Table 1 uses P = 0.05 with 5 seeds.
 * - `model-kfold:K` — the models that have scores are shuffled and dealt into K folds; a fold holds
 *   out every cell of its models.
 * - `new-model:k` — models with more than k scores are candidates (a model with k or fewer would have
 *   nothing left to test and always stays in training); they are shuffled and dealt into
 *   min({@link NEW_ENTITY_FOLDS}, candidates) folds. In a fold, each held-out model keeps k of its
 *   scores, chosen at random, in training and the rest are held out. The revealed cells of a model
 *   depend only on the seed and the model (not on the fold assignment). k = 0 is the paper's CPP-0.
 * - `new-task:k` — the same over tasks.
 * - `family-out` — one fold per value of the categorical model factor `family` (in sorted order),
 *   holding out every cell of that family's models. Models without a family value always train.
 *   Needs at least two families with scores. Does not depend on the seed.
 *
 * Errors (`E_INVALID_ARGUMENT`): a dataset without enough cells, models, tasks or families for the
 * protocol, and `family-out` on a dataset without a categorical `family` model factor.
 */
export function makeFolds(ds: Dataset, protocol: ProtocolSpec | string, seed: number): Fold[] {
  const p = typeof protocol === 'string' ? parseProtocol(protocol) : protocol;
  const nnz = ds.scores.value.length;
  const name = formatProtocol(p);
  if (nnz < 2) throw invalid(`protocol ${name} needs at least 2 observed cells; dataset "${ds.name}" has ${nnz}`);
  switch (p.kind) {
    case 'cells': {
      const nTest = Math.max(1, Math.round(p.fraction * nnz));
      if (nTest >= nnz) throw invalid(`protocol ${name} would hold out all ${nnz} observed cells of dataset "${ds.name}"`);
      const perm = new Int32Array(nnz);
      for (let e = 0; e < nnz; e++) perm[e] = e;
      new Rng(seed, STREAM_CELLS).shuffle(perm);
      const test = new Uint8Array(nnz);
      for (let j = 0; j < nTest; j++) test[perm[j]] = 1;
      return [foldFromTest(test, `${pct(p.fraction)} of cells at random: ${nTest} of ${nnz} held out`, seed)];
    }
    case 'model-kfold': {
      const byModel = cellsBy(ds, 'model');
      const candidates = byModel.flatMap((c, m) => (c.length > 0 ? [m] : []));
      if (p.folds > candidates.length) {
        throw invalid(`protocol ${name}: ${p.folds} folds but dataset "${ds.name}" has only ${candidates.length} models with scores`);
      }
      return deal(candidates, p.folds, new Rng(seed, STREAM_MODEL_FOLDS)).map((group, f) => {
        const test = new Uint8Array(nnz);
        let cells = 0;
        for (const m of group) for (const e of byModel[m]) (test[e] = 1), cells++;
        return foldFromTest(test, `model fold ${f + 1}/${p.folds}: ${group.length} models, ${cells} cells held out`, seed);
      });
    }
    case 'new-model':
    case 'new-task': {
      const by = p.kind === 'new-model' ? 'model' : 'task';
      const lists = cellsBy(ds, by);
      const candidates = lists.flatMap((c, i) => (c.length > p.reveal ? [i] : []));
      if (candidates.length === 0) {
        throw invalid(`protocol ${name}: no ${by} of dataset "${ds.name}" has more than ${p.reveal} scores, so none can be held out`);
      }
      // Which cells of each candidate stay revealed; fixed per (seed, entity).
      const revealed = new Uint8Array(nnz);
      for (const i of candidates) {
        const cells = Int32Array.from(lists[i]);
        new Rng(seed, (by === 'model' ? STREAM_REVEAL_MODEL : STREAM_REVEAL_TASK) + i).shuffle(cells);
        for (let j = 0; j < p.reveal; j++) revealed[cells[j]] = 1;
      }
      const k = Math.min(NEW_ENTITY_FOLDS, candidates.length);
      const groups = deal(candidates, k, new Rng(seed, by === 'model' ? STREAM_NEW_MODEL_FOLDS : STREAM_NEW_TASK_FOLDS));
      return groups.map((group, f) => {
        const test = new Uint8Array(nnz);
        let cells = 0;
        for (const i of group) for (const e of lists[i]) if (!revealed[e]) (test[e] = 1), cells++;
        return foldFromTest(test, `new-${by} fold ${f + 1}/${k}: ${group.length} ${by}s with ${p.reveal} revealed scores each, ${cells} cells held out`, seed);
      });
    }
    case 'family-out': {
      const spec = ds.factorSchema.model.find((f) => f.name === FAMILY_FACTOR);
      if (!spec || spec.type !== 'categorical') {
        throw invalid(`protocol family-out needs a categorical model factor "${FAMILY_FACTOR}"; dataset "${ds.name}" has ${spec ? 'a numeric one' : 'none'}`);
      }
      const byModel = cellsBy(ds, 'model');
      const families = new Map<string, number[]>();
      ds.models.forEach((m, i) => {
        const fam = m.factors[FAMILY_FACTOR];
        if (typeof fam !== 'string' || byModel[i].length === 0) return;
        const list = families.get(fam);
        if (list) list.push(i);
        else families.set(fam, [i]);
      });
      if (families.size < 2) {
        throw invalid(`protocol family-out needs at least 2 model families with scores; dataset "${ds.name}" has ${families.size}`);
      }
      const names = [...families.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      return names.map((fam) => {
        const test = new Uint8Array(nnz);
        let cells = 0;
        const members = families.get(fam)!;
        for (const m of members) for (const e of byModel[m]) (test[e] = 1), cells++;
        return foldFromTest(test, `family "${fam}" held out: ${members.length} models, ${cells} cells`, seed);
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Split files

/** Value of the `format` field of a split file. */
export const SPLIT_FORMAT = 'collabperf-split';
/** Version of the split file format. */
export const SPLIT_FORMAT_VERSION = 1;

/** The JSON document of a split file. Cells are named, so the file does not depend on row order. */
export interface SplitFile {
  format: typeof SPLIT_FORMAT;
  version: typeof SPLIT_FORMAT_VERSION;
  /** Name of the dataset the split was made for (checked when present). */
  dataset?: string;
  folds: Array<{ description?: string; seed?: number; test: Array<[string, string]> }>;
}

/** The split file document for folds over `ds` (test cells by model and task name). */
export function splitToDocument(ds: Dataset, folds: Fold[]): SplitFile {
  return {
    format: SPLIT_FORMAT,
    version: SPLIT_FORMAT_VERSION,
    dataset: ds.name,
    folds: folds.map((f) => {
      if (f.testMask.length !== ds.scores.value.length) {
        throw new CollabperfError('E_LENGTH_MISMATCH', `a fold's test mask has ${f.testMask.length} entries but dataset "${ds.name}" has ${ds.scores.value.length} observed cells`);
      }
      const test: Array<[string, string]> = [];
      for (let e = 0; e < f.testMask.length; e++) {
        if (f.testMask[e]) test.push([ds.models[ds.scores.model[e]].name, ds.tasks[ds.scores.task[e]].name]);
      }
      return f.seed !== undefined ? { description: f.description, seed: f.seed, test } : { description: f.description, test };
    }),
  };
}

/** Serialise folds as a split file: one test cell per line, so diffs and error lines stay readable. */
export function serializeSplit(ds: Dataset, folds: Fold[]): string {
  const doc = splitToDocument(ds, folds);
  const foldTexts = doc.folds.map((f) => {
    const head = [`"description": ${JSON.stringify(f.description)}`];
    if (f.seed !== undefined) head.push(`"seed": ${f.seed}`);
    const cells = f.test.map((c) => `        ${JSON.stringify(c)}`).join(',\n');
    return `    {\n      ${head.join(',\n      ')},\n      "test": [\n${cells}\n      ]\n    }`;
  });
  return `{\n  "format": ${JSON.stringify(doc.format)},\n  "version": ${doc.version},\n  "dataset": ${JSON.stringify(doc.dataset)},\n  "folds": [\n${foldTexts.join(',\n')}\n  ]\n}\n`;
}

/** Write folds to a split file atomically (readers never see a half-written file). */
export function writeSplitFile(path: string, ds: Dataset, folds: Fold[]): void {
  const text = serializeSplit(ds, folds);
  writeFileAtomic(path, (append) => append(text));
}

/**
 * Read a split file for `ds`. Errors name the file, the line and the field (e.g. `folds[0].test[3]`):
 * `E_FILE` (cannot read), `E_PARSE` (not JSON, wrong format, malformed fold or cell, a fold holding
 * out every cell), `E_VERSION`, `E_INVALID_ARGUMENT` (made for another dataset), `E_NOT_FOUND`
 * (unknown model or task, or a cell that is not an observed score), `E_DUPLICATE_ENTRY` (a cell
 * listed twice in one fold). Names are matched like everywhere else in the package (exactly, else
 * after normalisation).
 */
export function readSplitFile(path: string, ds: Dataset): Fold[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CollabperfError('E_FILE', `cannot read split file: ${(e as Error).message}`, { file: path }, { cause: e });
  }
  return parseSplitJson(text, ds, path);
}

/** Parse the text of a split file (see {@link readSplitFile}); `file` is used in error messages. */
export function parseSplitJson(text: string, ds: Dataset, file?: string): Fold[] {
  const doc = parseJsonText(text, file);
  const fail = (code: CollabperfErrorCode, message: string, path: JsonPath): CollabperfError =>
    new CollabperfError(code, message, { file, line: jsonLineOf(text, path), field: path.length > 0 ? formatPath(path) : undefined });

  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw fail('E_PARSE', 'a split file must hold a JSON object', []);
  const o = doc as Record<string, unknown>;
  if (o.format !== SPLIT_FORMAT) throw fail('E_PARSE', `not a collabperf split file: "format" is ${JSON.stringify(o.format)}, expected "${SPLIT_FORMAT}"`, ['format']);
  if (o.version !== SPLIT_FORMAT_VERSION) {
    throw fail('E_VERSION', `split file has version ${JSON.stringify(o.version)}; this collabperf reads version ${SPLIT_FORMAT_VERSION}`, ['version']);
  }
  if (o.dataset !== undefined) {
    if (typeof o.dataset !== 'string') throw fail('E_PARSE', '"dataset" must be a string', ['dataset']);
    if (o.dataset !== ds.name) throw fail('E_INVALID_ARGUMENT', `split was made for dataset "${o.dataset}", not "${ds.name}"`, ['dataset']);
  }
  if (!Array.isArray(o.folds) || o.folds.length === 0) throw fail('E_PARSE', '"folds" must be a non-empty array', ['folds']);

  const nnz = ds.scores.value.length;
  const nT = ds.tasks.length;
  const cellAt = new Map<number, number>();
  for (let e = 0; e < nnz; e++) cellAt.set(ds.scores.model[e] * nT + ds.scores.task[e], e);

  return o.folds.map((raw: unknown, f: number): Fold => {
    const at = ['folds', f];
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw fail('E_PARSE', `fold ${f} must be an object with a "test" array`, at);
    const fo = raw as Record<string, unknown>;
    if (fo.description !== undefined && typeof fo.description !== 'string') throw fail('E_PARSE', '"description" must be a string', [...at, 'description']);
    if (fo.seed !== undefined && !Number.isSafeInteger(fo.seed)) throw fail('E_PARSE', '"seed" must be an integer', [...at, 'seed']);
    if (!Array.isArray(fo.test) || fo.test.length === 0) throw fail('E_PARSE', `fold ${f}: "test" must be a non-empty array of [model, task] pairs`, [...at, 'test']);
    const test = new Uint8Array(nnz);
    const firstAt = new Map<number, number>();
    fo.test.forEach((cell: unknown, i: number) => {
      const cp = [...at, 'test', i];
      if (!Array.isArray(cell) || cell.length !== 2 || typeof cell[0] !== 'string' || typeof cell[1] !== 'string') {
        throw fail('E_PARSE', `a test cell must be a [model, task] pair of names, got ${JSON.stringify(cell)}`, cp);
      }
      const [mName, tName] = cell as [string, string];
      const m = findModel(ds, mName);
      if (m < 0) throw fail('E_NOT_FOUND', `no model named "${mName}" in dataset "${ds.name}"`, [...cp, 0]);
      const t = findTask(ds, tName);
      if (t < 0) throw fail('E_NOT_FOUND', `no task named "${tName}" in dataset "${ds.name}"`, [...cp, 1]);
      const e = cellAt.get(m * nT + t);
      if (e === undefined) throw fail('E_NOT_FOUND', `(${ds.models[m].name}, ${ds.tasks[t].name}) is not an observed score of dataset "${ds.name}"`, cp);
      const prev = firstAt.get(e);
      if (prev !== undefined) throw fail('E_DUPLICATE_ENTRY', `cell (${ds.models[m].name}, ${ds.tasks[t].name}) is listed twice in fold ${f} (test[${prev}] and test[${i}])`, cp);
      firstAt.set(e, i);
      test[e] = 1;
    });
    if (firstAt.size === nnz) throw fail('E_PARSE', `fold ${f} holds out every observed cell, leaving nothing to train on`, [...at, 'test']);
    return foldFromTest(test, typeof fo.description === 'string' ? fo.description : `fold ${f + 1} of ${file ?? 'split'}`, fo.seed as number | undefined);
  });
}
