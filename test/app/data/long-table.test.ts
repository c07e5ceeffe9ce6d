import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { getScore, observedCount } from '../../../src/app/data/dataset.js';
import { isLongHeader, parseLongCsv, parseLongJson } from '../../../src/app/data/long-table.js';
import { expectError, fixture } from './helpers.js';

const read = (name: string) => readFileSync(fixture(name), 'utf8');

describe('parseLongCsv', () => {
  it('reads model,task,score,source with case-insensitive column names', () => {
    const ds = parseLongCsv(read('long.csv'), { file: 'long.csv' });
    expect(ds.models.map((m) => m.name)).toEqual(['alpha', 'beta']);
    expect(ds.tasks.map((t) => t.name)).toEqual(['MMLU', 'GSM8K']);
    expect(observedCount(ds)).toBe(3); // beta/MMLU is NA
    expect(getScore(ds, 'beta', 'GSM8K')).toBe(25);
    expect(ds.sources.map((s) => s.id)).toEqual(['paper A', 'input', 'paper B']);
    const src = (m: string, t: string) => {
      for (let e = 0; e < ds.scores.value.length; e++) {
        if (ds.models[ds.scores.model[e]].name === m && ds.tasks[ds.scores.task[e]].name === t) return ds.sources[ds.scores.source[e]].id;
      }
      return undefined;
    };
    expect(src('alpha', 'MMLU')).toBe('paper A');
    expect(src('alpha', 'GSM8K')).toBe('input');
    expect(src('beta', 'GSM8K')).toBe('paper B');
  });

  it('accepts columns in any order and without source', () => {
    const ds = parseLongCsv('score;task;model\n1;A;x\n2;B;x\n');
    expect(getScore(ds, 'x', 'B')).toBe(2);
    expect(ds.sources).toHaveLength(1);
  });

  it('names both lines of a duplicate (model, task)', () => {
    expectError(() => parseLongCsv(read('long-dup.csv'), { file: 'long-dup.csv' }), 'E_DUPLICATE_ENTRY', {
      line: 5,
      field: 'task',
      file: 'long-dup.csv',
      message: /line 2 and line 5/,
    });
  });

  it('reports a missing column, bad number, empty name, ragged row and empty table', () => {
    expectError(() => parseLongCsv('model,task,value\nx,A,1\n'), 'E_PARSE', { line: 1, field: 'score' });
    expectError(() => parseLongCsv('model,task,score\nx,A,1\nx,B,1..2\n'), 'E_PARSE', { line: 3, field: 'score' });
    expectError(() => parseLongCsv('Model,Task,Score\nx,,1\n'), 'E_PARSE', { line: 2, field: 'Task' });
    expectError(() => parseLongCsv('model,task,score\nx,A\n'), 'E_PARSE', { line: 2 });
    expectError(() => parseLongCsv('model,task,score\n'), 'E_EMPTY', { line: 1 });
    expectError(() => parseLongCsv('model,task,score\nx,A,NA\n'), 'E_EMPTY');
  });

  it('recognises a long header', () => {
    expect(isLongHeader(['Model', ' TASK ', 'score'])).toBe(true);
    expect(isLongHeader(['model', 'MMLU', 'GSM8K'])).toBe(false);
  });
});

describe('parseLongJson', () => {
  it('reads an array of {model, task, score, source?}; null is missing, numeric strings are read', () => {
    const ds = parseLongJson(read('long.json'), { file: 'long.json' });
    expect(ds.models.map((m) => m.name)).toEqual(['alpha', 'beta']);
    expect(observedCount(ds)).toBe(3);
    expect(getScore(ds, 'beta', 'GSM8K')).toBe(25);
    expect(getScore(ds, 'beta', 'MMLU')).toBeUndefined();
    expect(ds.sources.map((s) => s.id)).toEqual(['paper A', 'input']);
  });

  it('names both lines of a duplicate', () => {
    expectError(() => parseLongJson(read('long-dup.json'), { file: 'long-dup.json' }), 'E_DUPLICATE_ENTRY', {
      line: 4,
      field: '[2].task',
      message: /line 2 and line 4/,
    });
  });

  it('reports a wrong score type with line and field', () => {
    expectError(() => parseLongJson(read('long-bad.json'), { file: 'long-bad.json' }), 'E_PARSE', { line: 3, field: '[1].score' });
  });

  it('reports invalid JSON with a line, non-arrays and empty arrays', () => {
    expectError(() => parseLongJson('[\n{"model": "x",\n"task": }\n]'), 'E_PARSE', { line: 3 });
    expectError(() => parseLongJson('{"model": "x"}'), 'E_PARSE');
    expectError(() => parseLongJson('[]'), 'E_EMPTY');
    expectError(() => parseLongJson('[{"model": "", "task": "A", "score": 1}]'), 'E_PARSE', { line: 1, field: '[0].model' });
  });

  it('accepts an already parsed array', () => {
    const ds = parseLongJson([{ model: 'x', task: 'A', score: 1 }]);
    expect(observedCount(ds)).toBe(1);
  });
});

describe('JSON syntax errors', () => {
  it('are located even when the engine message has no position', async () => {
    const { jsonErrorOffset, lineOfOffset } = await import('../../../src/app/data/json-lines.js');
    expect(jsonErrorOffset('[1, 2]')).toBeUndefined();
    expect(jsonErrorOffset('{"a": [1, {"b": "c\\u0041"}], "d": -1.5e3, "e": null}')).toBeUndefined();
    expect(jsonErrorOffset('[1,]')).toBe(3);
    expect(jsonErrorOffset('{"a": ')).toBe(6);
    expect(lineOfOffset('a\nb\r\nc\rd', 8)).toBe(4);
    expectError(() => parseLongJson('[\n1,\n2,\n]'), 'E_PARSE', { line: 4 });
  });
});
