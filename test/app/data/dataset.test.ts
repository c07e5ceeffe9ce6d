import { describe, expect, it } from 'vitest';
import {
  createDataset,
  density,
  findModel,
  getScore,
  modelIndex,
  normalizeName,
  observedCount,
  observedCounts,
  summarizeDataset,
  taskIndex,
  toDense,
} from '../../../src/app/data/dataset.js';
import { expectError } from './helpers.js';

const tiny = () =>
  createDataset({
    name: 'tiny',
    models: ['LLama-2-7B', 'Mistral 7B', 'gpt-4'],
    tasks: ['MMLU', 'GSM8K'],
    scores: [
      [0, 0, 45.3, 0],
      [1, 1, 52.2, 0],
      [2, 0, 86.4, 0],
    ],
  });

describe('Dataset helpers', () => {
  it('computes counts, density and the dense matrix with NaN for missing', () => {
    const ds = tiny();
    expect(observedCount(ds)).toBe(3);
    expect(density(ds)).toBeCloseTo(0.5);
    expect(Array.from(toDense(ds))).toEqual([45.3, NaN, NaN, 52.2, 86.4, NaN]);
    expect(summarizeDataset(ds)).toMatchObject({ name: 'tiny', models: 3, tasks: 2, observed: 3 });
    const c = observedCounts(ds);
    expect(Array.from(c.perModel)).toEqual([1, 1, 1]);
    expect(Array.from(c.perTask)).toEqual([2, 1]);
  });

  it('looks names up exactly, then normalised, and says what it did not find', () => {
    const ds = tiny();
    expect(modelIndex(ds, 'Mistral 7B')).toBe(1);
    expect(modelIndex(ds, 'llama 2_7b')).toBe(0);
    expect(normalizeName('  LLama-2  7B ')).toBe('llama 2 7b');
    expect(findModel(ds, 'nope')).toBe(-1);
    expect(taskIndex(ds, 'gsm8k')).toBe(1);
    expect(getScore(ds, 'gpt-4', 'MMLU')).toBe(86.4);
    expect(getScore(ds, 0, 1)).toBeUndefined();
    const err = expectError(() => modelIndex(ds, 'gpt'), 'E_NOT_FOUND', { field: 'model' });
    expect(err.message).toMatch(/did you mean "gpt-4"/);
    expectError(() => taskIndex(ds, 'HumanEval'), 'E_NOT_FOUND');
  });

  it('validates names, indices, values, duplicates and factors', () => {
    const base = { name: 'x', models: ['a', 'b'], tasks: ['t'] };
    expectError(() => createDataset({ ...base, models: ['a', 'a'], scores: [] }), 'E_DUPLICATE_ENTRY', { field: 'models[1].name' });
    expectError(() => createDataset({ ...base, models: ['a', ' '], scores: [] }), 'E_PARSE');
    expectError(() => createDataset({ ...base, scores: [[2, 0, 1, 0]] }), 'E_INDEX_OUT_OF_RANGE', { field: 'scores[0]' });
    expectError(() => createDataset({ ...base, scores: [[0, 0, 1, 1]] }), 'E_INDEX_OUT_OF_RANGE');
    expectError(() => createDataset({ ...base, scores: [[0, 0, NaN, 0]] }), 'E_NON_FINITE', { field: 'scores[0]' });
    expectError(() => createDataset({ ...base, scores: [[0, 0, 1, 0], [0, 0, 2, 0]] }), 'E_DUPLICATE_ENTRY', { field: 'scores[1]' });
    expectError(
      () =>
        createDataset({
          ...base,
          scores: { model: new Int32Array(1), task: new Int32Array(2), value: new Float64Array(1), source: new Int32Array(1) },
        }),
      'E_LENGTH_MISMATCH',
    );
    expectError(
      () => createDataset({ ...base, models: [{ name: 'a', factors: { p: 'x' } }], factorSchema: { model: [{ name: 'p', type: 'numeric' }] }, scores: [] }),
      'E_PARSE',
      { field: 'models[0].factors.p' },
    );
    expectError(
      () => createDataset({ ...base, models: [{ name: 'a', factors: { p: Infinity } }], factorSchema: { model: [{ name: 'p', type: 'numeric' }] }, scores: [] }),
      'E_NON_FINITE',
    );
  });

  it('copies its inputs', () => {
    const value = new Float64Array([1]);
    const ds = createDataset({ name: 'x', models: ['a'], tasks: ['t'], scores: { model: new Int32Array(1), task: new Int32Array(1), value, source: new Int32Array(1) } });
    value[0] = 99;
    expect(ds.scores.value[0]).toBe(1);
  });

  it('validates the unbounded flag and source urls, and keeps them', () => {
    const base = { name: 'x', models: ['a'], scores: [[0, 0, 1500, 0]] as Array<[number, number, number, number]> };
    const ds = createDataset({ ...base, tasks: [{ name: 'Elo', factors: {}, unbounded: true }], sources: [{ id: 'r', title: '', citation: '', url: 'https://example.org/x' }] });
    expect(ds.tasks[0]).toEqual({ name: 'Elo', factors: {}, unbounded: true });
    expect(ds.sources[0].url).toBe('https://example.org/x');
    expectError(() => createDataset({ ...base, tasks: [{ name: 'Elo', factors: {}, unbounded: 'yes' as unknown as boolean }] }), 'E_PARSE', { field: 'tasks[0].scale', message: /unbounded must be true or false/ });
    expectError(() => createDataset({ ...base, tasks: [{ name: 'Elo', factors: {}, scale: 'percent', unbounded: true }] }), 'E_PARSE', { message: /both unbounded and with scale "percent"/ });
    expectError(() => createDataset({ ...base, tasks: ['Elo'], sources: [{ id: 'r', title: '', citation: '', url: '' }] }), 'E_PARSE', { field: 'sources[0].url' });
  });
});
