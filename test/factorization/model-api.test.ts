import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fit } from '../../src/factorization/fit.js';
import { FactorModel } from '../../src/factorization/model.js';
import { loadModel, saveModel } from '../../src/factorization/model-file.js';
import { resolveFitOptions } from '../../src/factorization/options.js';
import { syntheticImplicit } from '../../src/factorization/synthetic.js';
import { confidenceOf } from '../../src/backends/ts/ials.js';
import { CollabperfError } from '../../src/errors.js';
import { planted } from '../helpers/planted.js';
import { caught } from '../helpers/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'collabperf-model-api-'));

async function rejected(p: Promise<unknown>): Promise<CollabperfError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(CollabperfError);
    return e as CollabperfError;
  }
  throw new Error('expected a rejection');
}


const data = planted(40, 30, 2, 0.5, 0);
const imp = syntheticImplicit({ nRows: 120, nCols: 60, nnz: 1000, rank: 3, seed: 2, candidates: 3 });

describe('recommend', async () => {
  const { model } = await fit(data.train, { rank: 2, iters: 20, lambda: 1e-3, weightedLambda: false });
  const known0 = new Set(data.train.rows.flatMap((r, i) => (r === 0 ? [data.train.cols[i]] : [])));

  it("leaves out the row's training columns by default", () => {
    expect(known0.size).toBeGreaterThan(5);
    expect(model.knownColumns(0)).toEqual([...known0].sort((a, b) => a - b));
    const all = model.recommend(0, 30);
    expect(all).toHaveLength(30 - known0.size);
    expect(all.some((x) => known0.has(x.col))).toBe(false);
    const unseen = Array.from({ length: 30 }, (_, c) => c).filter((c) => !known0.has(c));
    expect(all[0].score).toBe(Math.max(...unseen.map((c) => model.predict(0, c))));
    for (let i = 1; i < all.length; i++) expect(all[i - 1].score).toBeGreaterThanOrEqual(all[i].score);
  });

  it('exclude replaces the default set; exclude: [] excludes nothing', () => {
    const none = model.recommend(0, 30, { exclude: [] });
    expect(none).toHaveLength(30);
    const full = Array.from({ length: 30 }, (_, c) => ({ col: c, score: model.predict(0, c) })).sort((a, b) => b.score - a.score || a.col - b.col);
    expect(none).toEqual(full);
    const some = model.recommend(0, 30, { exclude: [full[0].col, full[1].col] });
    expect(some).toEqual(full.slice(2));
    expect(model.recommend(0, 3, { exclude: [] })).toEqual(full.slice(0, 3));
    expect(caught(() => model.recommend(0, 3, [1, 2] as never)).message).toMatch(/\{ exclude/);
    expect(caught(() => model.recommend(0, 0)).code).toBe('E_INVALID_ARGUMENT');
    expect(caught(() => model.recommend(40, 3)).code).toBe('E_INDEX_OUT_OF_RANGE');
  });

  it('recommendMany gives each row its own recommend list', () => {
    const rows = [3, 0, 17];
    expect(model.recommendMany(rows, 4)).toEqual(rows.map((r) => model.recommend(r, 4)));
    expect(model.recommendMany(rows, 4, { exclude: [] })).toEqual(rows.map((r) => model.recommend(r, 4, { exclude: [] })));
  });
});

describe('similar columns and rows', () => {
  // Hand-made factors: column 1 is column 0 scaled (cosine 1), column 2 orthogonal, column 3 opposite.
  const training = { options: resolveFitOptions({}), backend: 'ts', iterations: 0, trainRmse: 0 };
  const m = new FactorModel(3, 4, 2, 0, Float64Array.of(1, 0, 0, 2, 3, 4), Float64Array.of(1, 1, 2, 2, 1, -1, -1, -1), new Float64Array(3), new Float64Array(4), training);

  it('ranks columns by cosine over factors, the column itself left out', () => {
    const s = m.similarColumns(0, 3);
    expect(s.map((x) => x.col)).toEqual([1, 2, 3]);
    expect(s[0].score).toBeCloseTo(1, 15);
    expect(s[1].score).toBeCloseTo(0, 15);
    expect(s[2].score).toBeCloseTo(-1, 15);
    expect(m.similarColumns(0, 1)).toEqual([s[0]]);
  });

  it('ranks rows the same way', () => {
    // rows (1,0), (0,2), (3,4): cos(row 2, row 0) = 3/5, cos(row 2, row 1) = 4/5.
    const s = m.similarRows(2, 5);
    expect(s.map((x) => x.row)).toEqual([1, 0]);
    expect(s[0].score).toBeCloseTo(0.8, 15);
    expect(s[1].score).toBeCloseTo(0.6, 15);
  });
});

describe('fold-in', async () => {
  const { model } = await fit(data.train, { rank: 2, iters: 30, lambda: 1e-4, weightedLambda: false });

  it('folds in a new column from a few rows and predicts its other cells', () => {
    const rows = [0, 2, 5, 9, 13, 17, 21, 25, 29, 33];
    const col = model.foldInColumn(rows, rows.map((r) => data.truth(r, 7)), { lambda: 1e-6, lambdaBias: 1e-6 });
    let worst = 0;
    for (let r = 0; r < 40; r++) worst = Math.max(worst, Math.abs(col.predict(r) - data.truth(r, 7)));
    expect(worst).toBeLessThan(0.05);
    expect(col.predictAll()).toHaveLength(40);
    expect(caught(() => model.foldInColumn([1, 1], [0, 0])).code).toBe('E_DUPLICATE_ENTRY');
  });

  it('folds a row into an implicit model by its implicit normal equations', async () => {
    const { model: m } = await fit({ ...imp.train, nRows: imp.nRows, nCols: imp.nCols }, { implicit: true, rank: 4, iters: 5, alpha: 4, lambda: 0.2, solver: 'cholesky' });
    const cols = [1, 5, 8, 20];
    const vals = [1, 3, 0, 2];
    const row = m.foldIn(cols, vals);
    // Residual of (V^T V + sum (c-1) v v^T + lambda I) x = sum c p v, computed independently.
    const k = 4;
    const o = m.training.options;
    const io = { alpha: o.alpha, confidence: o.confidence, epsilon: o.epsilon, solver: o.solver, cgSteps: o.cgSteps };
    let worst = 0;
    for (let p = 0; p < k; p++) {
      let lhs = 0.2 * row.factors[p];
      let rhs = 0;
      for (let c = 0; c < m.nCols; c++) {
        const i = cols.indexOf(c);
        const r = i >= 0 ? vals[i] : 0;
        const conf = r > 0 ? confidenceOf(r, io) : 1;
        let dot = 0;
        for (let q = 0; q < k; q++) dot += m.V[c * k + q] * row.factors[q];
        lhs += conf * dot * m.V[c * k + p];
        if (r > 0) rhs += conf * m.V[c * k + p];
      }
      worst = Math.max(worst, Math.abs(lhs - rhs));
    }
    expect(worst).toBeLessThan(1e-10);
    expect(row.bias).toBe(0);
    const rec = row.recommend(10);
    expect(rec.some((x) => cols.includes(x.col))).toBe(false);
    expect(caught(() => m.foldIn([1], [-1])).code).toBe('E_INVALID_ARGUMENT');
  });
});

describe('string ids', async () => {
  const row = Array.from(imp.train.rows, (r) => `user${r}`);
  const col = Array.from(imp.train.cols, (c) => `item${c}`);
  const { model } = await fit({ row, col, value: imp.train.values }, { implicit: true, rank: 4, iters: 4 });

  it('fits on string ids and speaks them in every method', () => {
    expect(model.nRows).toBe(new Set(row).size);
    const rec = model.recommend('user42', 10);
    expect(rec).toHaveLength(10);
    const mine = new Set(col.filter((_, i) => row[i] === 'user42'));
    expect(mine.size).toBeGreaterThan(0);
    for (const r of rec) {
      expect(typeof r.col).toBe('string');
      expect(r.col).toMatch(/^item\d+$/);
      expect(mine.has(r.col)).toBe(false);
    }
    expect(new Set(model.knownColumns('user42'))).toEqual(mine);
    expect(rec[0].score).toBe(model.predict('user42', rec[0].col));
    expect(model.similarColumns('item3', 2).every((s) => typeof s.col === 'string' && s.col !== 'item3')).toBe(true);
    expect(model.rowId(model.rowIndex('user7'))).toBe('user7');
    expect(caught(() => model.recommend('nobody', 3)).code).toBe('E_NOT_FOUND');
  });

  it('round-trips ids and training column sets through the model file bit-exactly', () => {
    const p = join(dir, 'strings.json');
    saveModel(model, p);
    const back = loadModel<string>(p);
    expect(back.rowIds).toEqual(model.rowIds);
    expect(back.colIds).toEqual(model.colIds);
    expect(Array.from(back.known!.ptr)).toEqual(Array.from(model.known!.ptr));
    expect(Array.from(back.known!.cols)).toEqual(Array.from(model.known!.cols));
    expect(back.recommend('user42', 10)).toEqual(model.recommend('user42', 10));
    expect(back.training.options.implicit).toBe(true);
  });

  it('refuses a file whose ids or training columns were edited (the checksum covers them)', () => {
    const p = join(dir, 'strings.json');
    saveModel(model, p);
    const j = JSON.parse(readFileSync(p, 'utf8'));
    const swapped = structuredClone(j);
    [swapped.rowIds[0], swapped.rowIds[1]] = [swapped.rowIds[1], swapped.rowIds[0]];
    writeFileSync(join(dir, 'swapped.json'), JSON.stringify(swapped));
    expect(caught(() => loadModel(join(dir, 'swapped.json'))).field).toBe('checksum');
    const known = structuredClone(j);
    const b = Buffer.from(known.known.cols, 'base64');
    b.writeInt32LE(b.readInt32LE(0) === 0 ? 1 : 0, 0);
    known.known.cols = b.toString('base64');
    writeFileSync(join(dir, 'known.json'), JSON.stringify(known));
    expect(caught(() => loadModel(join(dir, 'known.json'))).field).toMatch(/checksum|known.cols/);
    const dup = structuredClone(j);
    dup.rowIds[1] = dup.rowIds[0];
    writeFileSync(join(dir, 'dup.json'), JSON.stringify(dup));
    expect(caught(() => loadModel(join(dir, 'dup.json'))).field).toBe('rowIds');
  });
});

describe('sparse integer ids', () => {
  const rows = [300_000_000, 5, 5, 300_000_000, 77, 77];
  const cols = [2_000_000_000, 1, 2_000_000_000, 9, 9, 1];
  const values = [1, 2, 3, 4, 5, 1];

  it('remapIds maps them densely and keeps the map; without it the budget refuses', async () => {
    expect((await rejected(fit({ rows, cols, values }, { rank: 2, iters: 2 }))).code).toBe('E_TOO_LARGE');
    const { model } = await fit({ rows, cols, values }, { rank: 2, iters: 3, remapIds: true, lambda: 0.1 });
    expect(model.nRows).toBe(3);
    expect(Array.from(model.rowIds as Int32Array)).toEqual([5, 77, 300_000_000]);
    expect(Array.from(model.colIds as Int32Array)).toEqual([1, 9, 2_000_000_000]);
    expect(model.recommend(5, 5)).toEqual([{ col: 9, score: model.predict(5, 9) }]);
    const p = join(dir, 'ints.json');
    saveModel(model, p);
    const back = loadModel<number>(p);
    expect(back.rowIds).toEqual(model.rowIds);
    expect(back.predict(300_000_000, 1)).toBe(model.predict(300_000_000, 1));
    expect(back.recommend(77, 3, { exclude: [] })).toEqual(model.recommend(77, 3, { exclude: [] }));
  });

  it('passes maxBytes to the memory budget', async () => {
    const e = await rejected(fit({ rows, cols, values }, { rank: 2, iters: 2, remapIds: true, maxBytes: 100 }));
    expect(e.code).toBe('E_TOO_LARGE');
    expect(e.message).toMatch(/maxBytes/);
    const ok = await fit({ rows: [0, 1], cols: [1, 0], values: [1, 2] }, { rank: 2, iters: 1, maxBytes: 10_000 });
    expect(ok.model.nRows).toBe(2);
    expect((await rejected(fit({ rows: [0, 1], cols: [1, 0], values: [1, 2] }, { rank: 2, iters: 1, maxBytes: 10 }))).code).toBe('E_TOO_LARGE');
  });
});

describe('compatibility and ids in the other calls', async () => {
  const row = Array.from(imp.train.rows, (r) => `u${r}`);
  const col = Array.from(imp.train.cols, (c) => `i${c}`);
  const { model } = await fit({ row, col, value: imp.train.values }, { implicit: true, rank: 3, iters: 3 });

  it('loads a version-1 file (no training column sets, no ids): recommend then excludes nothing', async () => {
    const { model: dense } = await fit(data.train, { rank: 2, iters: 3 });
    const p = join(dir, 'dense.json');
    saveModel(dense, p);
    const j = JSON.parse(readFileSync(p, 'utf8'));
    expect(j.version).toBe(2);
    delete j.known;
    delete j.checksum;
    j.version = 1;
    writeFileSync(join(dir, 'v1.json'), JSON.stringify(j));
    const old = loadModel<number>(join(dir, 'v1.json'));
    expect(old.known).toBeNull();
    expect(old.recommend(0, 30)).toHaveLength(30);
    expect(old.predict(3, 4)).toBe(dense.predict(3, 4));
  });

  it('takes string ids in exclude and fold-in, and returns them', () => {
    const top = model.recommend('u5', 3, { exclude: [] });
    const rest = model.recommend('u5', 2, { exclude: [top[0].col] });
    expect(rest).toEqual(top.slice(1, 3));
    const folded = model.foldIn(['i1', 'i2', 'i3'], [1, 2, 1]);
    const rec = folded.recommend(5);
    expect(rec.every((x) => typeof x.col === 'string' && !['i1', 'i2', 'i3'].includes(x.col))).toBe(true);
    expect(folded.predict('i7')).toBeCloseTo(folded.predictAll()[model.colIndex('i7')], 15);
    const newItem = model.foldInColumn(['u1', 'u2'], [3, 1]);
    expect(newItem.predict('u1')).toBeCloseTo(newItem.predictAll()[model.rowIndex('u1')], 15);
    expect(model.similarRows('u4', 3).every((x) => typeof x.row === 'string' && x.row !== 'u4')).toBe(true);
    expect(caught(() => model.foldIn(['nope'], [1])).code).toBe('E_NOT_FOUND');
  });

  it('maps a validation set through the training ids', async () => {
    const t = data.train;
    const s = (a: number[], p: string) => a.map((x) => `${p}${x}`);
    const { history } = await fit(
      { row: s(t.rows, 'r'), col: s(t.cols, 'c'), value: t.values },
      { rank: 2, iters: 3, validation: { row: s(data.test.rows, 'r'), col: s(data.test.cols, 'c'), value: data.test.values }, earlyStopping: false },
    );
    expect(history.every((h) => Number.isFinite(h.validRmse))).toBe(true);
    const bad = await rejected(fit({ row: ['a', 'b'], col: ['x', 'y'], value: [1, 2] }, { rank: 1, iters: 1, validation: { row: ['a'], col: ['z'], value: [1] } }));
    expect(bad.code).toBe('E_NOT_FOUND');
  });
});

describe('implicit model files', () => {
  it('refuses an implicit model whose confidence settings are damaged', async () => {
    const { model } = await fit({ ...imp.train, nRows: imp.nRows, nCols: imp.nCols }, { implicit: true, rank: 2, iters: 1 });
    const p = join(dir, 'imp.json');
    saveModel(model, p);
    const j = JSON.parse(readFileSync(p, 'utf8'));
    j.training.options.alpha = -1;
    writeFileSync(join(dir, 'imp-bad.json'), JSON.stringify(j));
    expect(caught(() => loadModel(join(dir, 'imp-bad.json'))).field).toBe('training.options.alpha');
    expect(loadModel(p).training.options.confidence).toBe('linear');
  });
});
