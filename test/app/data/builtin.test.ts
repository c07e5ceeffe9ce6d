import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { builtinDataDir, DEFAULT_DATASET, listBuiltinDatasets, loadBuiltinDataset } from '../../../src/app/data/builtin.js';
import { density, normalizeName, observedCount, type Dataset } from '../../../src/app/data/dataset.js';
import { serializeDataset } from '../../../src/app/data/format.js';
import { expectError } from './helpers.js';

const cache = new Map<string, Dataset>();
const load = (name: string) => {
  let ds = cache.get(name);
  if (!ds) cache.set(name, (ds = loadBuiltinDataset(name)));
  return ds;
};

function checkSources(ds: Dataset): void {
  const n = ds.scores.value.length;
  for (let e = 0; e < n; e++) {
    const s = ds.scores.source[e];
    if (!(s >= 0 && s < ds.sources.length)) throw new Error(`${ds.name}: score ${e} has source ${s}`);
  }
  const used = new Set(ds.scores.source);
  for (const s of used) {
    // every source that scores point at is cited as "owner/repo @ commit path"
    expect(ds.sources[s].citation).toMatch(/^[\w.-]+\/[\w.-]+ @ [0-9a-f]{7,40} \S+/);
    expect(ds.sources[s].citation).not.toMatch(/https?:/);
  }
}

describe('built-in datasets', () => {
  it('lists the five datasets with figures that match their files', () => {
    const list = listBuiltinDatasets();
    expect(list.map((d) => d.name)).toEqual(['crowdsource', 'helm-classic', 'helm-core', 'obsscaling', 'openllm-v1']);
    for (const info of list) {
      const ds = load(info.name);
      expect(info.models).toBe(ds.models.length);
      expect(info.tasks).toBe(ds.tasks.length);
      expect(info.observed).toBe(observedCount(ds));
      expect(info.density).toBeCloseTo(density(ds), 5);
      expect(info.description).toBe(ds.description);
      expect(ds.name).toBe(info.name);
    }
    expect(DEFAULT_DATASET).toBe('crowdsource');
  });

  it('crowdsource: 72 x 29 with model and task factors', () => {
    const ds = load('crowdsource');
    expect(ds.models).toHaveLength(72);
    expect(ds.tasks).toHaveLength(29);
    expect(observedCount(ds)).toBe(878);
    expect(ds.factorSchema.model.map((f) => f.name)).toEqual(expect.arrayContaining(['family', 'params', 'pretrainingTokens', 'finetuned']));
    expect(ds.factorSchema.task.map((f) => f.name)).toEqual(['ability', 'family', 'outputFormat', 'fewShot']);
    expect(ds.models.every((m) => typeof m.factors.family === 'string')).toBe(true);
    expect(ds.tasks.every((t) => Object.keys(t.factors).length === 4 && t.scale === 'percent')).toBe(true);
    const lum = ds.models.find((m) => m.name === 'Luminous Base-13B');
    expect(lum?.factors.params).toBe(13000);
    expect(ds.notes.some((n) => n.includes('Luminous Base'))).toBe(true);
    expect(ds.sources.map((s) => s.id)).toEqual(['cpp-crowdsource', 'cpp-model-features', 'cpp-task-features']);
    checkSources(ds);
  });

  it('helm-classic: 67 x 16 without the mean win rate', () => {
    const ds = load('helm-classic');
    expect(ds.models).toHaveLength(67);
    expect(ds.tasks).toHaveLength(16);
    expect(ds.tasks.some((t) => /win rate/i.test(t.name))).toBe(false);
    expect(ds.tasks.every((t) => t.scale === 'unit' && typeof t.factors.scenario === 'string')).toBe(true);
    checkSources(ds);
  });

  it('helm-core: 88 x 56, bits per byte marked lower-is-better', () => {
    const ds = load('helm-core');
    expect(ds.models).toHaveLength(88);
    expect(ds.tasks).toHaveLength(56);
    expect(observedCount(ds)).toBe(2602);
    expect(ds.tasks.filter((t) => t.higherIsBetter === false).map((t) => t.name)).toEqual(['The Pile - BPB', 'TwitterAAE - BPB', 'ICE - BPB']);
    checkSources(ds);
  });

  it('obsscaling: 148 x 8 with family, params, tokens, FLOPs', () => {
    const ds = load('obsscaling');
    expect(ds.models).toHaveLength(148);
    expect(ds.tasks).toHaveLength(8);
    expect(ds.factorSchema.model.map((f) => f.name)).toEqual(['family', 'params', 'pretrainingTokens', 'flops']);
    expect(ds.models.every((m) => typeof m.factors.family === 'string' && typeof m.factors.params === 'number')).toBe(true);
    checkSources(ds);
  });

  it('openllm-v1: about 6.8k unique models x 6 benchmarks', () => {
    const ds = load('openllm-v1');
    expect(ds.models.length).toBeGreaterThan(6700);
    expect(ds.models.length).toBeLessThan(6900);
    expect(ds.tasks.map((t) => t.name)).toEqual(['ARC', 'HellaSwag', 'MMLU', 'TruthfulQA', 'Winogrande', 'GSM8K']);
    expect(new Set(ds.models.map((m) => m.name.toLowerCase())).size).toBe(ds.models.length);
    expect(ds.notes.some((n) => /Deduplication counts: 7169 rows -> \d+ models/.test(n))).toBe(true);
    checkSources(ds);
  });

  it('every file is in the canonical layout (re-serialising gives the same bytes)', () => {
    for (const info of listBuiltinDatasets()) {
      const text = readFileSync(new URL(info.file, builtinDataDir()), 'utf8');
      expect(serializeDataset(load(info.name)) === text, info.name).toBe(true);
    }
  });

  it('unknown names are E_NOT_FOUND listing the available ones; names are case-insensitive', () => {
    expectError(() => loadBuiltinDataset('nope'), 'E_NOT_FOUND', { message: /crowdsource, helm-classic, helm-core, obsscaling, openllm-v1/ });
    expect(loadBuiltinDataset('HELM-Classic').name).toBe('helm-classic');
  });

  it('returns a fresh object each time', () => {
    const a = loadBuiltinDataset('helm-classic');
    a.models[0].name = 'changed';
    expect(loadBuiltinDataset('helm-classic').models[0].name).not.toBe('changed');
  });

  it('normalised model names are unique within crowdsource (so forgiving look-ups are unambiguous)', () => {
    const ds = load('crowdsource');
    expect(new Set(ds.models.map((m) => normalizeName(m.name))).size).toBe(72);
  });
});
