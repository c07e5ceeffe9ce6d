import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fit } from '../../src/factorization/fit.js';
import { loadModel, saveModel } from '../../src/factorization/model-file.js';
import { FactorModel } from '../../src/factorization/model.js';
import { resolveFitOptions } from '../../src/factorization/options.js';
import { buildProblem, toEntries } from '../../src/factorization/ratings.js';
import { caught } from '../helpers/errors.js';
import { defaultBackend } from '../helpers/backends.js';
import { planted, rmse } from '../helpers/planted.js';

const dir = mkdtempSync(join(tmpdir(), 'collabperf-f32-'));
const data = planted(120, 90, 4, 0.3, 0.05, 7);
const opts = { rank: 4, iters: 12, lambda: 0.02, seed: 5, backend: defaultBackend().name } as const;

function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** The same model with its arrays widened to float64: what a float32 model's methods must agree with. */
function widened(m: FactorModel): FactorModel {
  return new FactorModel(m.nRows, m.nCols, m.k, m.mu, Float64Array.from(m.U), Float64Array.from(m.V), Float64Array.from(m.rowBias), Float64Array.from(m.colBias), m.training, {
    known: m.known,
  });
}

describe('dtype option', () => {
  it('defaults to float64 and accepts float32 for explicit ALS', () => {
    expect(resolveFitOptions({}).dtype).toBe('float64');
    expect(resolveFitOptions({ dtype: 'float32' }).dtype).toBe('float32');
  });

  it('refuses unknown values, naming the option', () => {
    for (const bad of ['float16', 'Float32', 32, null]) {
      const e = caught(() => resolveFitOptions({ dtype: bad as never }));
      expect(e.code).toBe('E_INVALID_ARGUMENT');
      expect(e.field).toBe('dtype');
    }
  });

  it('accepts float32 for every algorithm and SGD mode', () => {
    expect(resolveFitOptions({ dtype: 'float32', algo: 'sgd' }).dtype).toBe('float32');
    expect(resolveFitOptions({ dtype: 'float32', implicit: true }).dtype).toBe('float32');
    const par = resolveFitOptions({ dtype: 'float32', algo: 'sgd', sgdMode: 'parallel' });
    expect([par.dtype, par.algo, par.sgdMode]).toEqual(['float32', 'sgd', 'parallel']);
    // sgdMode means nothing to ALS.
    expect(resolveFitOptions({ dtype: 'float32', sgdMode: 'parallel' }).dtype).toBe('float32');
  });
});

describe('float32 explicit ALS through fit()', () => {
  it('reaches the float64 fit on planted data: train and held-out RMSE within 1e-3', async () => {
    const d64 = await fit(data.train, opts);
    const d32 = await fit(data.train, { ...opts, dtype: 'float32' });
    const last64 = d64.history[d64.history.length - 1].trainRmse;
    const last32 = d32.history[d32.history.length - 1].trainRmse;
    expect(Math.abs(last32 - last64)).toBeLessThan(1e-3);
    const test64 = rmse(d64.model.predictMany(data.test.rows, data.test.cols), data.test.values);
    const test32 = rmse(d32.model.predictMany(data.test.rows, data.test.cols), data.test.values);
    expect(Math.abs(test32 - test64)).toBeLessThan(1e-3);
    // The planted signal is found at all (not two equally bad fits).
    expect(test32).toBeLessThan(0.2);
  });

  it('SGD in float32 reaches the float64 SGD fit on planted data within 1e-3 RMSE', async () => {
    const o = { ...opts, algo: 'sgd' as const, iters: 80, learningRate: 0.03, lrDecay: 0.01 };
    const d64 = await fit(data.train, o);
    const d32 = await fit(data.train, { ...o, dtype: 'float32' });
    expect(d32.model.U).toBeInstanceOf(Float32Array);
    expect(Math.abs(d32.history[d32.history.length - 1].trainRmse - d64.history[d64.history.length - 1].trainRmse)).toBeLessThan(1e-3);
    const test64 = rmse(d64.model.predictMany(data.test.rows, data.test.cols), data.test.values);
    const test32 = rmse(d32.model.predictMany(data.test.rows, data.test.cols), data.test.values);
    expect(Math.abs(test32 - test64)).toBeLessThan(1e-3);
    expect(test32).toBeLessThan(0.3);
  });

  it('keeps float32 storage: Float32Arrays of half the bytes, dtype in the model and its options', async () => {
    const d64 = await fit(data.train, opts);
    const d32 = await fit(data.train, { ...opts, dtype: 'float32' });
    const m = d32.model;
    expect(m.dtype).toBe('float32');
    expect(d64.model.dtype).toBe('float64');
    expect(m.training.options.dtype).toBe('float32');
    for (const name of ['U', 'V', 'rowBias', 'colBias'] as const) {
      expect(m[name]).toBeInstanceOf(Float32Array);
      expect(m[name].length).toBe(d64.model[name].length);
      expect(m[name].byteLength * 2).toBe(d64.model[name].byteLength);
    }
  });

  it('predict, recommend, similarColumns and foldIn on a float32 model equal those of its float64 widening', async () => {
    const m = (await fit(data.train, { ...opts, dtype: 'float32' })).model;
    const w = widened(m);
    for (const [r, c] of [[0, 0], [5, 17], [119, 89]]) expect(m.predict(r, c)).toBe(w.predict(r, c));
    expect(m.recommend(3, 5)).toEqual(w.recommend(3, 5));
    expect(m.similarColumns(2, 4)).toEqual(w.similarColumns(2, 4));
    const f = m.foldIn([1, 4, 9], [3, 2.5, 4]);
    const g = w.foldIn([1, 4, 9], [3, 2.5, 4]);
    expect(f.predict(7)).toBe(g.predict(7));
    expect(f.recommend(3)).toEqual(g.recommend(3));
  });

  it('refuses a model whose arrays mix float32 and float64', () => {
    const e = caught(() => new FactorModel(1, 1, 1, 0, new Float32Array(1), new Float64Array(1), new Float32Array(1), new Float32Array(1), {
      options: resolveFitOptions({}), backend: 'ts', iterations: 0, trainRmse: 0,
    }));
    expect(e.code).toBe('E_INVALID_ARGUMENT');
  });
});

describe('float32 model file', () => {
  it('round-trips bit-exactly as base64 float32, half the array bytes of the float64 file', async () => {
    const m = (await fit(data.train, { ...opts, dtype: 'float32' })).model;
    const m64 = (await fit(data.train, opts)).model;
    const p32 = join(dir, 'f32.json');
    const p64 = join(dir, 'f64.json');
    saveModel(m, p32);
    saveModel(m64, p64);
    const j32 = JSON.parse(readFileSync(p32, 'utf8'));
    const j64 = JSON.parse(readFileSync(p64, 'utf8'));
    expect(j32.encoding).toBe('base64-float32le');
    expect(j64.encoding).toBe('base64-float64le');
    expect(Buffer.from(j32.arrays.U, 'base64').length * 2).toBe(Buffer.from(j64.arrays.U, 'base64').length);
    const back = loadModel<number>(p32);
    expect(back.dtype).toBe('float32');
    for (const name of ['U', 'V', 'rowBias', 'colBias'] as const) {
      expect(back[name]).toBeInstanceOf(Float32Array);
      expect(sameBytes(back[name], m[name])).toBe(true);
    }
    expect(back.predict(4, 6)).toBe(m.predict(4, 6));
    const back64 = loadModel<number>(p64);
    expect(back64.dtype).toBe('float64');
    expect(sameBytes(back64.U, m64.U)).toBe(true);
  });

  it('checksum covers the float32 bytes: one flipped value is refused', async () => {
    const m = (await fit(data.train, { ...opts, dtype: 'float32' })).model;
    const p = join(dir, 'tamper.json');
    saveModel(m, p);
    const j = JSON.parse(readFileSync(p, 'utf8'));
    const bytes = Buffer.from(j.arrays.V, 'base64');
    bytes.writeFloatLE(bytes.readFloatLE(8) + 1, 8);
    j.arrays.V = bytes.toString('base64');
    writeFileSync(p, JSON.stringify(j));
    const e = caught(() => loadModel(p));
    expect(e.code).toBe('E_PARSE');
    expect(e.field).toBe('checksum');
  });

  it('refuses a file whose options say one dtype and whose encoding says the other', async () => {
    const m = (await fit(data.train, { ...opts, dtype: 'float32' })).model;
    const p = join(dir, 'mismatch.json');
    saveModel(m, p);
    const j = JSON.parse(readFileSync(p, 'utf8'));
    j.training.options.dtype = 'float64';
    writeFileSync(p, JSON.stringify(j));
    const e = caught(() => loadModel(p));
    expect(e.code).toBe('E_PARSE');
    expect(e.field).toBe('training.options.dtype');
  });
});

describe('Float32Array ratings', () => {
  const values32 = Float32Array.from(data.train.values);
  const input32 = { rows: data.train.rows, cols: data.train.cols, values: values32 };
  const input64 = { rows: data.train.rows, cols: data.train.cols, values: Float64Array.from(values32) };

  it('are used as is: the entries keep the caller\'s array, CSR and CSC values stay float32', () => {
    const e = toEntries(input32);
    expect(e.values).toBe(values32);
    const p = buildProblem(e);
    expect(p.value).toBeInstanceOf(Float32Array);
    expect(p.cscValue).toBeInstanceOf(Float32Array);
    expect(buildProblem(toEntries(input64)).value).toBeInstanceOf(Float64Array);
  });

  it.each([
    ['ALS float64', { ...opts }],
    ['ALS float32', { ...opts, dtype: 'float32' as const }],
    ['SGD', { ...opts, algo: 'sgd' as const, iters: 5 }],
    ['implicit ALS', { rank: 4, iters: 3, implicit: true, backend: opts.backend }],
  ])('%s fits them bit-identically to the same values as a Float64Array', async (_n, o) => {
    // Implicit values are strengths >= 0.
    const pos = (x: Float32Array | Float64Array) => ('implicit' in o ? x.map(Math.abs) : x);
    const a = await fit({ ...input32, values: pos(input32.values) }, o);
    const b = await fit({ ...input64, values: pos(input64.values) }, o);
    expect(a.history.map((h) => h.trainRmse)).toEqual(b.history.map((h) => h.trainRmse));
    for (const name of ['U', 'V', 'rowBias', 'colBias'] as const) expect(sameBytes(a.model[name], b.model[name])).toBe(true);
  });
});
