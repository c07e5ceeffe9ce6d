import { readFileSync } from 'node:fs';
import { CollabperfError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { FactorModel, type TrainingInfo } from './model.js';

/** Identifies our files; `MODEL_FILE_VERSION` changes whenever the layout does. */
export const MODEL_FILE_FORMAT = 'collabperf-model';
export const MODEL_FILE_VERSION = 1;

/**
 * Saved model layout (JSON): scalars as JSON, factor arrays as base64 of little-endian float64,
 * so a loaded model predicts bit-for-bit what the saved one did.
 */
interface ModelFileV1 {
  format: typeof MODEL_FILE_FORMAT;
  version: 1;
  nRows: number;
  nCols: number;
  k: number;
  mu: number;
  training: TrainingInfo;
  encoding: 'base64-float64le';
  arrays: { U: string; V: string; rowBias: string; colBias: string };
}

function encode(a: Float64Array): string {
  // Copy so the bytes are little-endian whatever the host (Float64Array uses host order).
  const buf = Buffer.alloc(a.length * 8);
  for (let i = 0; i < a.length; i++) buf.writeDoubleLE(a[i], i * 8);
  return buf.toString('base64');
}

function decode(s: unknown, expected: number, name: string, file: string): Float64Array {
  if (typeof s !== 'string') throw new CollabperfError('E_PARSE', `arrays.${name} is missing`, { file, field: `arrays.${name}` });
  const buf = Buffer.from(s, 'base64');
  if (buf.length !== expected * 8) {
    throw new CollabperfError('E_PARSE', `arrays.${name} holds ${buf.length / 8} numbers, expected ${expected}`, { file, field: `arrays.${name}` });
  }
  const out = new Float64Array(expected);
  for (let i = 0; i < expected; i++) out[i] = buf.readDoubleLE(i * 8);
  return out;
}

/** Writes a model atomically (temporary file, then rename). */
export function saveModel(model: FactorModel, path: string): void {
  const file: ModelFileV1 = {
    format: MODEL_FILE_FORMAT,
    version: MODEL_FILE_VERSION,
    nRows: model.nRows,
    nCols: model.nCols,
    k: model.k,
    mu: model.mu,
    training: model.training,
    encoding: 'base64-float64le',
    arrays: { U: encode(model.U), V: encode(model.V), rowBias: encode(model.rowBias), colBias: encode(model.colBias) },
  };
  writeFileAtomic(path, (append) => append(JSON.stringify(file)));
}

/** Reads a model written by {@link saveModel}; another format version is E_VERSION. */
export function loadModel(path: string): FactorModel {
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
    throw new CollabperfError('E_PARSE', `not a collabperf model file (format is ${JSON.stringify(json?.format)})`, { file: path, field: 'format' });
  }
  if (json.version !== MODEL_FILE_VERSION) {
    throw new CollabperfError('E_VERSION', `model file version ${String(json.version)} is not supported (this collabperf reads version ${MODEL_FILE_VERSION})`, {
      file: path,
      field: 'version',
    });
  }
  const { nRows, nCols, k, mu, training, arrays } = json as ModelFileV1;
  for (const [name, v] of Object.entries({ nRows, nCols, k })) {
    if (!Number.isInteger(v) || (v as number) < 1) throw new CollabperfError('E_PARSE', `${name} must be a positive integer`, { file: path, field: name });
  }
  if (typeof mu !== 'number' || !Number.isFinite(mu)) throw new CollabperfError('E_PARSE', 'mu must be a finite number', { file: path, field: 'mu' });
  if (!arrays || typeof arrays !== 'object') throw new CollabperfError('E_PARSE', 'arrays is missing', { file: path, field: 'arrays' });
  return new FactorModel(
    nRows,
    nCols,
    k,
    mu,
    decode(arrays.U, nRows * k, 'U', path),
    decode(arrays.V, nCols * k, 'V', path),
    decode(arrays.rowBias, nRows, 'rowBias', path),
    decode(arrays.colBias, nCols, 'colBias', path),
    training,
  );
}
