import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CollabperfError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { jsonText } from '../util/json-text.js';
import type { FactorArray } from '../backends/types.js';
import type { IdList } from './ids.js';
import { FactorModel, type KnownColumns, type TrainingInfo } from './model.js';

/** Identifies our files; `MODEL_FILE_VERSION` changes whenever the layout does. */
export const MODEL_FILE_FORMAT = 'collabperf-model';
export const MODEL_FILE_VERSION = 2;
/** Versions {@link loadModel} reads: 1 (factors only) and 2 (plus training column sets and id maps). */
const READABLE_VERSIONS: readonly number[] = [1, 2];

/**
 * Saved model layout (JSON): scalars as JSON, factor arrays as base64 of little-endian float64
 * (or float32 for a float32 model, `encoding: 'base64-float32le'`), so a loaded model predicts
 * bit-for-bit what the saved one did.
 */
interface ModelFileV1 {
  format: typeof MODEL_FILE_FORMAT;
  version: 1 | 2;
  nRows: number;
  nCols: number;
  k: number;
  mu: number;
  training: TrainingInfo;
  encoding: Encoding;
  arrays: { U: string; V: string; rowBias: string; colBias: string };
  /**
   * `sha256:` + hex SHA-256 of the four arrays' bytes (U, V, rowBias, colBias, in that order, as
   * stored). Written by every save; verified on load. Version-1 files written before checksums
   * existed have none and load without verification (their arrays are still checked for length
   * and finiteness); a file with a `checksum` field that does not match is refused.
   */
  checksum?: string;
  /**
   * Version 2: each row's training columns, CSR-style (`known.ptr`: nRows+1 offsets, `known.cols`:
   * dense columns ascending inside a row), as base64 of little-endian int32.
   */
  known?: { ptr: string; cols: string };
  /** Version 2: external ids, position = dense index: a JSON array of strings, or `{ int32: base64 }` of ascending integers. */
  rowIds?: string[] | { int32: string };
  colIds?: string[] | { int32: string };
}

/*
 * The checksum of a version-2 file hashes, after the four factor arrays (so a file without extras
 * hashes as version 1 did), the tag and bytes of each extra present: "knownPtr", "knownCols",
 * "rowIds:string" / "rowIds:int32", "colIds:string" / "colIds:int32". String ids hash as the UTF-8
 * of their JSON array.
 */

const ARRAY_NAMES = ['U', 'V', 'rowBias', 'colBias'] as const;

/** How the four factor arrays are stored; float32 models keep their own bytes (half the size). */
type Encoding = 'base64-float64le' | 'base64-float32le';
const ENCODINGS: readonly string[] = ['base64-float64le', 'base64-float32le'];

function checksumOf(bufs: Buffer[]): string {
  const h = createHash('sha256');
  for (const b of bufs) h.update(b);
  return `sha256:${h.digest('hex')}`;
}

function encodeInt32(a: Int32Array): Buffer {
  const buf = Buffer.alloc(a.length * 4);
  for (let i = 0; i < a.length; i++) buf.writeInt32LE(a[i], i * 4);
  return buf;
}

function decodeInt32(s: unknown, expected: number | null, field: string, file: string): { values: Int32Array; bytes: Buffer } {
  if (typeof s !== 'string') throw new CollabperfError('E_PARSE', `${field} is missing or not a base64 string`, { file, field });
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) throw new CollabperfError('E_PARSE', `${field} is not valid base64`, { file, field });
  const bytes = Buffer.from(s, 'base64');
  if (bytes.length % 4 !== 0 || (expected !== null && bytes.length !== expected * 4)) {
    throw new CollabperfError('E_PARSE', `${field} holds ${bytes.length / 4} integers, expected ${expected ?? 'a whole number of them'}`, { file, field });
  }
  const out = new Int32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readInt32LE(i * 4);
  return { values: out, bytes };
}

/** The tagged parts the checksum covers after the factor arrays. */
function extraParts(known: KnownColumns | null, rowIds: IdList | null, colIds: IdList | null): { tag: string; bytes: Buffer }[] {
  const parts: { tag: string; bytes: Buffer }[] = [];
  if (known) {
    parts.push({ tag: 'knownPtr', bytes: encodeInt32(known.ptr) });
    parts.push({ tag: 'knownCols', bytes: encodeInt32(known.cols) });
  }
  for (const [name, ids] of [['rowIds', rowIds], ['colIds', colIds]] as const) {
    if (!ids) continue;
    if (ids instanceof Int32Array) parts.push({ tag: `${name}:int32`, bytes: encodeInt32(ids) });
    else parts.push({ tag: `${name}:string`, bytes: Buffer.from(JSON.stringify(ids), 'utf8') });
  }
  return parts;
}

function checksumWith(bufs: Buffer[], extras: { tag: string; bytes: Buffer }[]): string {
  const h = createHash('sha256');
  for (const b of bufs) h.update(b);
  for (const e of extras) {
    h.update(e.tag);
    h.update(e.bytes);
  }
  return `sha256:${h.digest('hex')}`;
}

function encodeBytes(a: FactorArray): Buffer {
  // Copy so the bytes are little-endian whatever the host (typed arrays use host order).
  if (a instanceof Float32Array) {
    const buf = Buffer.alloc(a.length * 4);
    for (let i = 0; i < a.length; i++) buf.writeFloatLE(a[i], i * 4);
    return buf;
  }
  const buf = Buffer.alloc(a.length * 8);
  for (let i = 0; i < a.length; i++) buf.writeDoubleLE(a[i], i * 8);
  return buf;
}

function decode(s: unknown, expected: number, name: string, file: string, width: 4 | 8): { values: FactorArray; bytes: Buffer } {
  const field = `arrays.${name}`;
  if (typeof s !== 'string') throw new CollabperfError('E_PARSE', `${field} is missing or not a base64 string`, { file, field });
  // Buffer.from ignores stray characters; a strict pattern keeps a damaged file from decoding to garbage.
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) throw new CollabperfError('E_PARSE', `${field} is not valid base64`, { file, field });
  const bytes = Buffer.from(s, 'base64');
  if (bytes.length !== expected * width) {
    throw new CollabperfError('E_PARSE', `${field} holds ${bytes.length / width} numbers, expected ${expected}`, { file, field });
  }
  const out = width === 4 ? new Float32Array(expected) : new Float64Array(expected);
  for (let i = 0; i < expected; i++) {
    const x = width === 4 ? bytes.readFloatLE(i * 4) : bytes.readDoubleLE(i * 8);
    if (!Number.isFinite(x)) throw new CollabperfError('E_NON_FINITE', `${field}[${i}] is ${x}`, { file, field });
    out[i] = x;
  }
  return { values: out, bytes };
}

function parseError(message: string, file: string, field: string): CollabperfError {
  return new CollabperfError('E_PARSE', message, { file, field });
}

function checkTraining(t: unknown, file: string): TrainingInfo {
  if (t === null || typeof t !== 'object' || Array.isArray(t)) throw parseError('training is missing or not an object', file, 'training');
  const o = t as Record<string, unknown>;
  if (typeof o.backend !== 'string') throw parseError('training.backend must be a string', file, 'training.backend');
  if (!Number.isInteger(o.iterations) || (o.iterations as number) < 0) throw parseError('training.iterations must be a non-negative integer', file, 'training.iterations');
  if (typeof o.trainRmse !== 'number' || !(o.trainRmse >= 0)) throw parseError('training.trainRmse must be a non-negative number', file, 'training.trainRmse');
  if (o.validRmse !== undefined && (typeof o.validRmse !== 'number' || !(o.validRmse >= 0))) throw parseError('training.validRmse must be a non-negative number', file, 'training.validRmse');
  const opts = o.options;
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) throw parseError('training.options is missing or not an object', file, 'training.options');
  const p = opts as Record<string, unknown>;
  // foldIn reads these; the rest of the options are informational.
  for (const name of ['lambda', 'lambdaBias']) {
    if (typeof p[name] !== 'number' || !Number.isFinite(p[name] as number) || (p[name] as number) < 0) {
      throw parseError(`training.options.${name} must be a non-negative finite number`, file, `training.options.${name}`);
    }
  }
  for (const name of ['useBias', 'weightedLambda']) {
    if (typeof p[name] !== 'boolean') throw parseError(`training.options.${name} must be true or false`, file, `training.options.${name}`);
  }
  // An implicit model's fold-in reads its confidence settings; files from before implicit ALS have none (explicit).
  if (p.implicit !== undefined && typeof p.implicit !== 'boolean') throw parseError('training.options.implicit must be true or false', file, 'training.options.implicit');
  if (p.implicit === true) {
    for (const name of ['alpha', 'epsilon']) {
      if (typeof p[name] !== 'number' || !Number.isFinite(p[name] as number) || !((p[name] as number) > 0)) {
        throw parseError(`training.options.${name} must be a positive finite number`, file, `training.options.${name}`);
      }
    }
    if (p.confidence !== 'linear' && p.confidence !== 'log') throw parseError('training.options.confidence must be "linear" or "log"', file, 'training.options.confidence');
  }
  return t as TrainingInfo;
}

/**
 * Writes a model atomically (see {@link writeFileAtomic}): its factors, its training column sets and
 * id maps when it has them, and a SHA-256 checksum of all of these.
 */
export function saveModel(model: FactorModel<number | string>, path: string): void {
  const file: ModelFileV1 = {
    format: MODEL_FILE_FORMAT,
    version: MODEL_FILE_VERSION,
    nRows: model.nRows,
    nCols: model.nCols,
    k: model.k,
    mu: model.mu,
    training: model.training,
    encoding: model.dtype === 'float32' ? 'base64-float32le' : 'base64-float64le',
    arrays: { U: '', V: '', rowBias: '', colBias: '' },
  };
  const bufs = ARRAY_NAMES.map((n) => encodeBytes(model[n]));
  ARRAY_NAMES.forEach((n, i) => (file.arrays[n] = bufs[i].toString('base64')));
  const extras = extraParts(model.known, model.rowIds, model.colIds);
  for (const e of extras) {
    if (e.tag === 'knownPtr') file.known = { ptr: e.bytes.toString('base64'), cols: '' };
    else if (e.tag === 'knownCols') file.known!.cols = e.bytes.toString('base64');
    else {
      const [name, kind] = e.tag.split(':') as ['rowIds' | 'colIds', string];
      file[name] = kind === 'int32' ? { int32: e.bytes.toString('base64') } : (model[name] as string[]).slice();
    }
  }
  file.checksum = extras.length ? checksumWith(bufs, extras) : checksumOf(bufs);
  writeFileAtomic(path, (append) => append(JSON.stringify(file)));
}

/**
 * Reads a model written by {@link saveModel}. Every problem is a CollabperfError with `field`:
 * another format version is `E_VERSION`; an unknown `encoding`, a missing or malformed `training`
 * block, an array of the wrong length or a checksum mismatch is `E_PARSE`; NaN/Infinity in an array
 * is `E_NON_FINITE`. Files without `checksum` (version 1 before checksums) load unverified.
 * Version-1 files load without training column sets or id maps. `Id` types the ids the caller knows
 * the file to have: `loadModel<string>(path).recommend('user42', 10)`.
 */
export function loadModel<Id extends number | string = number | string>(path: string): FactorModel<Id> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CollabperfError('E_FILE', `cannot read: ${(e as Error).message}`, { file: path });
  }
  let json: Partial<ModelFileV1>;
  try {
    json = JSON.parse(text) as Partial<ModelFileV1>;
  } catch (e) {
    throw new CollabperfError('E_PARSE', `not valid JSON: ${(e as Error).message}`, { file: path });
  }
  if (json === null || typeof json !== 'object' || json.format !== MODEL_FILE_FORMAT) {
    throw new CollabperfError('E_PARSE', `not a collabperf model file (format is ${jsonText(json?.format)})`, { file: path, field: 'format' });
  }
  if (!READABLE_VERSIONS.includes(json.version as number)) {
    const v = json.version;
    const hint = typeof v === 'string' && READABLE_VERSIONS.includes(Number(v)) ? ` (it is the string ${JSON.stringify(v)}; it must be the number ${Number(v)})` : '';
    const shown = v === undefined ? 'missing' : jsonText(v);
    throw new CollabperfError('E_VERSION', `model file version ${shown} is not supported${hint} (this collabperf reads versions ${READABLE_VERSIONS.join(' and ')})`, {
      file: path,
      field: 'version',
    });
  }
  const { nRows, nCols, k, mu, arrays } = json as ModelFileV1;
  for (const [name, v] of Object.entries({ nRows, nCols, k })) {
    if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 2 ** 31 - 1) throw parseError(`${name} must be a positive 32-bit integer`, path, name);
  }
  if (typeof mu !== 'number' || !Number.isFinite(mu)) throw parseError('mu must be a finite number', path, 'mu');
  if (!ENCODINGS.includes(json.encoding as string)) {
    throw parseError(`encoding ${jsonText(json.encoding)} is not supported (expected "base64-float64le" or "base64-float32le")`, path, 'encoding');
  }
  const width = json.encoding === 'base64-float32le' ? 4 : 8;
  const training = checkTraining(json.training, path);
  const dtype = (training.options as { dtype?: unknown }).dtype;
  if (dtype !== undefined && dtype !== (width === 4 ? 'float32' : 'float64')) {
    throw parseError(`training.options.dtype ${jsonText(dtype)} does not match encoding ${json.encoding}`, path, 'training.options.dtype');
  }
  if (!arrays || typeof arrays !== 'object') throw parseError('arrays is missing', path, 'arrays');
  const expected = { U: nRows * k, V: nCols * k, rowBias: nRows, colBias: nCols };
  // lengths first, from the base64 sizes, so a huge nRows is refused before anything is decoded
  for (const n of ARRAY_NAMES) {
    const a = (arrays as Record<string, unknown>)[n];
    if (typeof a !== 'string') throw parseError(`arrays.${n} is missing or not a base64 string`, path, `arrays.${n}`);
    if (Math.floor((a.length * 3) / 4 / width) !== expected[n]) {
      throw parseError(`arrays.${n} holds about ${Math.floor((a.length * 3) / 4 / width)} numbers, expected ${expected[n]}`, path, `arrays.${n}`);
    }
  }
  const d = ARRAY_NAMES.map((n) => decode(arrays[n], expected[n], n, path, width));
  const v2 = json.version === 2;
  const known = v2 && json.known !== undefined ? readKnown(json.known, nRows, nCols, path) : null;
  const rowIds = v2 && json.rowIds !== undefined ? readIds(json.rowIds, nRows, 'rowIds', path) : null;
  const colIds = v2 && json.colIds !== undefined ? readIds(json.colIds, nCols, 'colIds', path) : null;
  if (json.checksum !== undefined) {
    if (typeof json.checksum !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(json.checksum)) throw parseError('checksum must be "sha256:" and 64 hex digits', path, 'checksum');
    const extras = extraParts(known, rowIds, colIds);
    const got = extras.length ? checksumWith(d.map((x) => x.bytes), extras) : checksumOf(d.map((x) => x.bytes));
    if (got !== json.checksum) throw parseError(`checksum mismatch: the arrays hash to ${got}, the file says ${json.checksum} (damaged or edited file)`, path, 'checksum');
  }
  return new FactorModel<Id>(nRows, nCols, k, mu, d[0].values, d[1].values, d[2].values, d[3].values, training, { known, rowIds, colIds });
}

function readKnown(x: unknown, nRows: number, nCols: number, path: string): KnownColumns {
  if (x === null || typeof x !== 'object' || Array.isArray(x)) throw parseError('known must be an object { ptr, cols }', path, 'known');
  const o = x as Record<string, unknown>;
  const ptr = decodeInt32(o.ptr, nRows + 1, 'known.ptr', path).values;
  const cols = decodeInt32(o.cols, null, 'known.cols', path).values;
  if (ptr[0] !== 0 || ptr[nRows] !== cols.length) throw parseError(`known.ptr must run from 0 to the ${cols.length} columns of known.cols`, path, 'known.ptr');
  for (let r = 0; r < nRows; r++) {
    if (ptr[r + 1] < ptr[r]) throw parseError(`known.ptr decreases at row ${r}`, path, 'known.ptr');
    for (let p = ptr[r]; p < ptr[r + 1]; p++) {
      const c = cols[p];
      if (c < 0 || c >= nCols || (p > ptr[r] && c <= cols[p - 1])) throw parseError(`known.cols of row ${r} must be ascending columns in 0..${nCols - 1}`, path, 'known.cols');
    }
  }
  return { ptr, cols };
}

function readIds(x: unknown, n: number, field: 'rowIds' | 'colIds', path: string): IdList {
  if (Array.isArray(x)) {
    if (x.length !== n) throw parseError(`${field} has ${x.length} ids, expected ${n}`, path, field);
    const seen = new Set<string>();
    for (const s of x) {
      if (typeof s !== 'string') throw parseError(`${field} must hold strings`, path, field);
      if (seen.has(s)) throw parseError(`${field} has ${JSON.stringify(s)} twice`, path, field);
      seen.add(s);
    }
    return x as string[];
  }
  if (x === null || typeof x !== 'object') throw parseError(`${field} must be an array of strings or { int32 }`, path, field);
  const ids = decodeInt32((x as Record<string, unknown>).int32, n, `${field}.int32`, path).values;
  for (let i = 1; i < n; i++) if (ids[i] <= ids[i - 1]) throw parseError(`${field}.int32 must be strictly ascending`, path, `${field}.int32`);
  return ids;
}
