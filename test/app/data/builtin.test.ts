import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { builtinDataDir, DEFAULT_DATASET, listBuiltinDatasets, loadBuiltinDataset } from '../../../src/app/data/builtin.js';
import { density, getScore, normalizeName, observedCount, type Dataset } from '../../../src/app/data/dataset.js';
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
  it('lists the six datasets with figures that match their files', () => {
    const list = listBuiltinDatasets();
    expect(list.map((d) => d.name)).toEqual(['crowdsource', 'helm-classic', 'helm-core', 'obsscaling', 'openllm-v1', 'frontier']);
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

  it('frontier: 83 x 49, every score with its cited reference, duplicates resolved by first occurrence', () => {
    const ds = load('frontier');
    expect(ds.models).toHaveLength(83);
    expect(ds.tasks).toHaveLength(49);
    // 1,390 scores in the source for 1,375 distinct cells
    expect(observedCount(ds)).toBe(1375);
    checkSources(ds);
    // every score points at a reference with a url (source 0, the matrix itself, carries none)
    expect(ds.sources[0].id).toBe('frontier-matrix');
    expect(ds.sources[0].url).toBeUndefined();
    for (let e = 0; e < ds.scores.value.length; e++) {
      const src = ds.sources[ds.scores.source[e]];
      expect(src.url, `score ${e}`).toMatch(/^https?:\/\/\S+$/);
    }
    expect(new Set(ds.sources.map((s) => s.url)).size).toBe(ds.sources.length);
    const cell = (model: string, task: string) => {
      const m = ds.models.findIndex((x) => x.name === model);
      const t = ds.tasks.findIndex((x) => x.name === task);
      for (let e = 0; e < ds.scores.value.length; e++) {
        if (ds.scores.model[e] === m && ds.scores.task[e] === t) return { value: ds.scores.value[e], url: ds.sources[ds.scores.source[e]].url };
      }
      return undefined;
    };
    expect(cell('o3-mini (high)', 'AIME 2024')).toEqual({ value: 87.3, url: 'https://openai.com/index/openai-o3-mini/' });
    // duplicates with different values: the first occurrence in the source file is kept
    expect(cell('Qwen3-1.7B', 'MMLU')).toEqual({ value: 61, url: 'https://arxiv.org/abs/2505.09388' });
    expect(cell('DeepSeek-R1-Distill-Qwen-1.5B', 'LiveCodeBench')).toEqual({ value: 16.9, url: 'https://huggingface.co/deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B' });
    expect(cell('DeepSeek-R1-Distill-Llama-8B', 'LiveCodeBench')).toEqual({ value: 39.6, url: 'https://huggingface.co/deepseek-ai/DeepSeek-R1-Distill-Llama-8B' });
    // same value, other reference: the first reference is kept
    expect(cell('OLMo 2 13B', 'MMLU')).toEqual({ value: 67.5, url: 'https://allenai.org/blog/olmo2' });
    const dupNote = ds.notes.find((n) => n.startsWith('Duplicates:'));
    expect(dupNote).toMatch(/1390 scores in the source for 1375 distinct/);
    expect(dupNote).toMatch(/15 cells are given more than once/);
    expect(dupNote).toMatch(/first occurrence in the source file is kept/);
    expect(dupNote!.match(/: kept /g)).toHaveLength(15);
    expect(dupNote).toContain('"Qwen3-1.7B" x "MMLU": kept 61 (https://arxiv.org/abs/2505.09388), dropped 62.63');
    // factors
    expect(ds.factorSchema.model.map((f) => f.name)).toEqual(['provider', 'released', 'params', 'activeParams', 'architecture', 'reasoning', 'openWeights']);
    expect(ds.factorSchema.task.map((f) => f.name)).toEqual(['category', 'metric', 'problems']);
    const oss = ds.models.find((m) => m.name === 'gpt-oss-120B')!;
    expect(oss.factors).toEqual({ provider: 'OpenAI', released: 2025.5918, params: 116800, activeParams: 5100, architecture: 'MoE', reasoning: 'yes', openWeights: 'yes' });
    expect(ds.models.every((m) => typeof m.factors.provider === 'string' && typeof m.factors.released === 'number')).toBe(true);
    expect(ds.models.every((m) => (m.factors.released as number) >= 2025 && (m.factors.released as number) < 2027)).toBe(true);
    expect(ds.tasks.every((t) => typeof t.factors.category === 'string' && typeof t.factors.metric === 'string')).toBe(true);
    // scales
    const scaleOf = (name: string) => ds.tasks.find((t) => t.name === name)!;
    expect(scaleOf('GPQA Diamond').scale).toBe('percent');
    expect(scaleOf('Codeforces Rating').unbounded).toBe(true);
    expect(scaleOf('Chatbot Arena Elo').unbounded).toBe(true);
    expect(ds.tasks.filter((t) => t.unbounded).map((t) => t.name)).toEqual(['Codeforces Rating', 'Chatbot Arena Elo', 'GDP-Val AA']);
    expect(getScore(ds, 'Gemini 2.5 Pro', 'GPQA Diamond')).toBeGreaterThan(50);
  });

  it('every task of every built-in dataset declares its scale (bounded, or unbounded)', () => {
    for (const info of listBuiltinDatasets()) {
      const ds = load(info.name);
      const missing = ds.tasks.filter((t) => t.scale === undefined && t.unbounded !== true).map((t) => t.name);
      expect(missing, info.name).toEqual([]);
    }
    expect(load('helm-core').tasks.find((t) => t.name === 'The Pile - BPB')?.unbounded).toBe(true);
  });

  it('the frontier file stays small (under 200 KiB)', () => {
    const info = listBuiltinDatasets().find((d) => d.name === 'frontier')!;
    expect(readFileSync(new URL(info.file, builtinDataDir())).length).toBeLessThan(200 * 1024);
  });

  it('every file is in the canonical layout (re-serialising gives the same bytes)', () => {
    for (const info of listBuiltinDatasets()) {
      const text = readFileSync(new URL(info.file, builtinDataDir()), 'utf8');
      expect(serializeDataset(load(info.name)) === text, info.name).toBe(true);
    }
  });

  it('unknown names are E_NOT_FOUND listing the available ones; names are case-insensitive', () => {
    expectError(() => loadBuiltinDataset('nope'), 'E_NOT_FOUND', { message: /crowdsource, helm-classic, helm-core, obsscaling, openllm-v1, frontier/ });
    expect(loadBuiltinDataset('HELM-Classic').name).toBe('helm-classic');
  });

  it('returns a fresh object each time', () => {
    const a = loadBuiltinDataset('helm-classic');
    a.models[0].name = 'changed';
    expect(loadBuiltinDataset('helm-classic').models[0].name).not.toBe('changed');
  });

  it('normalised model names are unique within crowdsource and frontier (so forgiving look-ups are unambiguous)', () => {
    const ds = load('crowdsource');
    expect(new Set(ds.models.map((m) => normalizeName(m.name))).size).toBe(72);
    const fr = load('frontier');
    expect(new Set(fr.models.map((m) => normalizeName(m.name))).size).toBe(83);
    expect(new Set(fr.tasks.map((t) => normalizeName(t.name))).size).toBe(49);
  });
});
