import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fit } from '../../src/factorization/fit.js';
import { loadModel, saveModel } from '../../src/factorization/model-file.js';
import { CollabperfError } from '../../src/errors.js';
import { planted } from '../helpers/planted.js';

const data = planted(60, 40, 2, 0.6, 0);
const dir = mkdtempSync(join(tmpdir(), 'collabperf-model-'));

describe('FactorModel', async () => {
  const { model } = await fit(data.train, { rank: 2, iters: 30, lambda: 1e-4, weightedLambda: false });

  it('predicts with mu + biases + dot', () => {
    const k = model.k;
    let dot = 0;
    for (let f = 0; f < k; f++) dot += model.U[3 * k + f] * model.V[7 * k + f];
    expect(model.predict(3, 7)).toBe(model.mu + model.rowBias[3] + model.colBias[7] + dot);
    expect(Array.from(model.predictMany([3, 0], [7, 1]))).toEqual([model.predict(3, 7), model.predict(0, 1)]);
    expect(() => model.predict(60, 0)).toThrow(CollabperfError);
    expect(() => model.predict(0, -1)).toThrow(/out of range/);
  });

  it('recommends the best unseen columns first', () => {
    const top = model.recommend(0, 5, { exclude: [0, 1] });
    expect(top).toHaveLength(5);
    expect(top.some((t) => t.col === 0 || t.col === 1)).toBe(false);
    for (let i = 1; i < top.length; i++) expect(top[i - 1].score).toBeGreaterThanOrEqual(top[i].score);
    const all = Array.from({ length: 40 }, (_, c) => model.predict(0, c)).filter((_, c) => c > 1);
    expect(top[0].score).toBe(Math.max(...all));
  });

  it('folds in a new row from a few values and predicts its other cells', () => {
    // Row 5's true values on 10 columns determine a rank-2 + bias row; predict the rest.
    const cols = [0, 3, 6, 9, 12, 15, 18, 21, 24, 27];
    const folded = model.foldIn(cols, cols.map((c) => data.truth(5, c)), { lambda: 1e-6, lambdaBias: 1e-6 });
    let worst = 0;
    for (let c = 0; c < 40; c++) worst = Math.max(worst, Math.abs(folded.predict(c) - data.truth(5, c)));
    expect(worst).toBeLessThan(0.05);
    expect(folded.predictAll()).toHaveLength(40);
    expect(() => model.foldIn([0, 0], [1, 2])).toThrow(/twice/);
    expect(() => model.foldIn([0], [NaN])).toThrow(CollabperfError);
  });

  it('saves atomically and loads back bit-identical predictions', () => {
    const p = join(dir, 'm.json');
    saveModel(model, p);
    expect(readdirSync(dir)).toEqual(['m.json']);
    const back = loadModel(p);
    for (let r = 0; r < 60; r += 7) for (let c = 0; c < 40; c += 3) expect(back.predict(r, c)).toBe(model.predict(r, c));
    expect(back.training.options.rank).toBe(2);
  });

  it('refuses a file of another version or format, naming it', () => {
    const p = join(dir, 'm.json');
    saveModel(model, p);
    const json = JSON.parse(readFileSync(p, 'utf8'));
    writeFileSync(join(dir, 'v3.json'), JSON.stringify({ ...json, version: 3 }));
    try {
      loadModel(join(dir, 'v3.json'));
      throw new Error('expected an error');
    } catch (e) {
      expect((e as CollabperfError).code).toBe('E_VERSION');
      expect((e as CollabperfError).message).toMatch(/version 3 is not supported.*versions 1 and 2/);
    }
    writeFileSync(join(dir, 'x.json'), '{"format":"other"}');
    expect(() => loadModel(join(dir, 'x.json'))).toThrow(/not a collabperf model/);
    writeFileSync(join(dir, 'short.json'), JSON.stringify({ ...json, arrays: { ...json.arrays, U: 'AAAA' } }));
    expect(() => loadModel(join(dir, 'short.json'))).toThrow(/arrays.U/);
  });
});
