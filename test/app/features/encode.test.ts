import { describe, expect, it } from 'vitest';
import { loadBuiltinDataset } from '../../../src/app/data/builtin.js';
import { createDataset, type Dataset } from '../../../src/app/data/dataset.js';
import { encodeFactors, MISSING_LEVEL, OTHER_LEVEL, shouldLog, splitFactorNames } from '../../../src/app/features/index.js';
import { CollabperfError } from '../../../src/errors.js';

function fixture(): Dataset {
  return createDataset({
    name: 'fx',
    models: [
      { name: 'a', factors: { params: 10, layers: 4, fewShot: 0, family: 'x', kind: 'base' } },
      { name: 'b', factors: { params: 100, layers: 8, fewShot: 5, family: 'x', kind: 'chat' } },
      { name: 'c', factors: { params: 10000, layers: 12, fewShot: 3, family: 'y' } },
      { name: 'd', factors: { layers: 16, fewShot: 1, family: 'y', kind: 'base' } },
      { name: 'e', factors: { params: 1000, layers: 20, fewShot: 2, family: 'z', kind: 'chat' } },
    ],
    tasks: [{ name: 't1', factors: { ability: 'math' } }, { name: 't2', factors: { ability: 'code' } }],
    factorSchema: {
      model: [
        { name: 'params', type: 'numeric', unit: 'M' },
        { name: 'layers', type: 'numeric' },
        { name: 'fewShot', type: 'numeric' },
        { name: 'family', type: 'categorical' },
        { name: 'kind', type: 'categorical' },
        { name: 'empty', type: 'numeric' },
      ],
      task: [{ name: 'ability', type: 'categorical' }],
    },
    scores: [[0, 0, 1, 0]],
  });
}

const col = (m: { width: number; values: Float64Array; rows: number }, c: number) =>
  Array.from({ length: m.rows }, (_, r) => m.values[r * m.width + c]);

describe('encodeFactors: numeric factors', () => {
  it('log-transforms positive heavy-tailed factors, standardises over present rows, adds a missing indicator', () => {
    const enc = encodeFactors(fixture(), 'model', { include: ['params'] });
    expect(enc.columns).toEqual(['log10(params)', 'missing(params)']);
    const p = enc.numericFactors[0];
    expect(p.log).toBe(true);
    expect(p.present).toBe(4);
    // log10 values 1, 2, 4, 3: mean 2.5, population std sqrt(1.25)
    expect(p.mean).toBeCloseTo(2.5, 12);
    expect(p.std).toBeCloseTo(Math.sqrt(1.25), 12);
    const v = col(enc.design, 0);
    const s = Math.sqrt(1.25);
    expect(v[0]).toBeCloseTo(-1.5 / s, 12);
    expect(v[1]).toBeCloseTo(-0.5 / s, 12);
    expect(v[2]).toBeCloseTo(1.5 / s, 12);
    expect(v[3]).toBe(0); // missing → the mean
    expect(v[4]).toBeCloseTo(0.5 / s, 12);
    expect(col(enc.design, 1)).toEqual([0, 0, 0, 1, 0]);
    // standardised over the present rows: mean 0, variance 1
    const present = [v[0], v[1], v[2], v[4]];
    expect(present.reduce((a, b) => a + b, 0)).toBeCloseTo(0, 12);
    expect(present.reduce((a, b) => a + b * b, 0) / 4).toBeCloseTo(1, 12);
  });

  it('keeps narrow-range factors and factors with zeros on the linear scale, without indicator when complete', () => {
    const enc = encodeFactors(fixture(), 'model', { include: ['layers', 'fewShot'] });
    expect(enc.columns).toEqual(['layers', 'fewShot']);
    expect(enc.numericFactors.map((f) => f.log)).toEqual([false, false]);
    expect(enc.numericFactors.map((f) => f.missingColumn)).toEqual([-1, -1]);
    const layers = col(enc.design, 0);
    const sd = Math.sqrt(32); // 4..20 step 4: mean 12, population variance 32
    expect(layers.map((x) => x * sd + 12).map((x) => Math.round(x * 1e9) / 1e9)).toEqual([4, 8, 12, 16, 20]);
  });

  it('decides the log rule from range, sign and name/unit', () => {
    expect(shouldLog({ name: 'x' }, [1, 50])).toBe(false);
    expect(shouldLog({ name: 'x' }, [1, 101])).toBe(true); // > 2 orders of magnitude
    expect(shouldLog({ name: 'x' }, [0, 1000])).toBe(false); // zero present
    expect(shouldLog({ name: 'x' }, [-1, 1000])).toBe(false);
    expect(shouldLog({ name: 'pretrainingTokens' }, [0.3, 15])).toBe(true); // name of a heavy-tailed quantity
    expect(shouldLog({ name: 'contextWindow' }, [2048, 8192])).toBe(true);
    expect(shouldLog({ name: 'size', unit: 'B params' }, [1, 70])).toBe(true); // unit
    expect(shouldLog({ name: 'batchSize' }, [0, 4])).toBe(false); // positivity is required
    expect(shouldLog({ name: 'layers' }, [6, 118])).toBe(false);
  });

  it('obeys explicit log overrides and refuses to log non-positive values', () => {
    const enc = encodeFactors(fixture(), 'model', { include: ['params', 'layers'], log: { params: false, layers: true } });
    expect(enc.columns).toEqual(['params', 'missing(params)', 'log10(layers)']);
    expect(() => encodeFactors(fixture(), 'model', { include: ['fewShot'], log: { fewShot: true } })).toThrow(CollabperfError);
  });

  it('skips a factor that no row has and gives 0 for a constant factor', () => {
    const ds = createDataset({
      name: 'c',
      models: [{ name: 'a', factors: { k: 3 } }, { name: 'b', factors: { k: 3 } }],
      tasks: ['t'],
      factorSchema: { model: [{ name: 'k', type: 'numeric' }, { name: 'none', type: 'numeric' }, { name: 'cat', type: 'categorical' }] },
      scores: [],
    });
    const enc = encodeFactors(ds, 'model');
    expect(enc.skipped).toEqual(['none', 'cat']);
    expect(enc.factors).toEqual(['k']);
    expect(Array.from(enc.design.values)).toEqual([0, 0]);
  });
});

describe('encodeFactors: categorical factors', () => {
  it('indexes categories, pools rare ones into (other), gives missing rows their own level, one-hot view', () => {
    const enc = encodeFactors(fixture(), 'model', { include: ['family', 'kind'] });
    const [family, kind] = enc.categoricalFactors;
    expect(family.levels).toEqual(['x', 'y', OTHER_LEVEL]); // z appears once
    expect(family.counts).toEqual([2, 2, 1]);
    expect(Array.from(family.index)).toEqual([0, 0, 1, 1, 2]);
    expect(kind.levels).toEqual(['base', 'chat', MISSING_LEVEL]);
    expect(Array.from(kind.index)).toEqual([0, 1, 2, 0, 1]);
    expect(enc.columns).toEqual(['family=x', 'family=y', 'family=(other)', 'kind=base', 'kind=chat', 'kind=(missing)']);
    expect(enc.numeric.width).toBe(0);
    expect(kind.oneHotStart).toBe(3);
    for (let r = 0; r < 5; r++) {
      const row = Array.from(enc.design.values.subarray(r * 6, r * 6 + 6));
      expect(row.reduce((a, b) => a + b, 0)).toBe(2);
      expect(row[family.index[r]]).toBe(1);
      expect(row[3 + kind.index[r]]).toBe(1);
    }
  });

  it('honours minCategoryCount', () => {
    const enc = encodeFactors(fixture(), 'model', { include: ['family'], minCategoryCount: 1 });
    expect(enc.categoricalFactors[0].levels).toEqual(['x', 'y', 'z']);
    expect(() => encodeFactors(fixture(), 'model', { minCategoryCount: 0 })).toThrow(CollabperfError);
  });
});

describe('encodeFactors: selection', () => {
  it('encodes all factors in schema order by default, numeric columns before one-hot columns', () => {
    const enc = encodeFactors(fixture(), 'model');
    expect(enc.factors).toEqual(['params', 'layers', 'fewShot', 'family', 'kind']);
    expect(enc.skipped).toEqual(['empty']);
    expect(enc.columns.slice(0, 4)).toEqual(['log10(params)', 'missing(params)', 'layers', 'fewShot']);
    expect(enc.design.width).toBe(enc.numeric.width + enc.oneHot.width);
    expect(enc.design.rows).toBe(5);
  });

  it('restricts to `include` (any order, output in schema order) and rejects unknown names', () => {
    const enc = encodeFactors(fixture(), 'model', { include: ['kind', 'layers'] });
    expect(enc.factors).toEqual(['layers', 'kind']);
    expect(encodeFactors(fixture(), 'model', { include: [] }).design.width).toBe(0);
    let err: unknown;
    try {
      encodeFactors(fixture(), 'model', { include: ['ability'] });
    } catch (e) {
      err = e;
    }
    expect((err as CollabperfError).code).toBe('E_NOT_FOUND');
  });

  it('splits qualified and bare factor names between models and tasks', () => {
    const ds = loadBuiltinDataset('crowdsource');
    expect(splitFactorNames(ds, ['params', 'task:family', 'ability'])).toEqual({ model: ['params'], task: ['family', 'ability'] });
    expect(splitFactorNames(ds, ['family'])).toEqual({ model: ['family'], task: ['family'] });
    expect(splitFactorNames(ds, ['model:family'])).toEqual({ model: ['family'], task: [] });
    expect(() => splitFactorNames(ds, ['task:params'])).toThrow(/no factor named "task:params"/);
    expect(() => splitFactorNames(ds, ['nope'])).toThrow(CollabperfError);
  });

  it('encodes the crowdsource factors as documented', () => {
    const ds = loadBuiltinDataset('crowdsource');
    const m = encodeFactors(ds, 'model');
    const logged = m.numericFactors.filter((f) => f.log).map((f) => f.factor);
    expect(logged).toEqual(['pretrainingTokens', 'params', 'gpuHours', 'flops', 'contextWindow', 'batchSize', 'kvSize', 'co2']);
    expect(m.numericFactors.filter((f) => !f.log).map((f) => f.factor)).toEqual(['layers', 'heads', 'bottleneckSize']);
    expect(m.rows).toBe(72);
    for (const x of m.design.values) expect(Number.isFinite(x)).toBe(true);
    const t = encodeFactors(ds, 'task');
    expect(t.factors).toEqual(['ability', 'family', 'outputFormat', 'fewShot']);
    expect(t.numericFactors[0].log).toBe(false); // fewShot has zeros
  });
});
