import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { getScore, observedCount, toDense } from '../../../src/app/data/dataset.js';
import { loadDataSync } from '../../../src/app/data/load.js';
import { parseWideTable } from '../../../src/app/data/wide-table.js';
import { expectError, fixture } from './helpers.js';

const read = (name: string) => readFileSync(fixture(name), 'utf8');

describe('parseWideTable', () => {
  it('reads a CSV with BOM, CRLF, quoted names and all missing-value tokens', () => {
    const ds = parseWideTable(read('wide.csv'), { file: 'wide.csv' });
    expect(ds.name).toBe('wide');
    expect(ds.models.map((m) => m.name)).toEqual(['alpha', 'beta "b"', 'gamma']);
    expect(ds.tasks.map((t) => t.name)).toEqual(['MMLU', 'GSM8K', 'Hella, Swag']);
    expect(observedCount(ds)).toBe(5);
    expect(Array.from(toDense(ds))).toEqual([50.5, NaN, 70, NaN, 20, NaN, 60, 30.25, NaN]);
    expect(ds.sources).toHaveLength(1);
    expect(ds.sources[0].citation).toBe('wide.csv');
    expect(Array.from(ds.scores.source)).toEqual([0, 0, 0, 0, 0]);
  });

  it('reads TSV and semicolon files', () => {
    const tsv = parseWideTable(read('wide.tsv'));
    expect(getScore(tsv, 'alpha', 'GSM8K')).toBe(0.1);
    expect(getScore(tsv, 'beta', 'MMLU')).toBeUndefined();
    const semi = parseWideTable(read('wide-semicolon.csv'));
    expect(getScore(semi, 'beta', 'MMLU')).toBe(3);
    expect(observedCount(semi)).toBe(3);
  });

  it('reads the transposed layout with tasksAsRows', () => {
    const ds = parseWideTable(read('wide-transposed.csv'), { tasksAsRows: true });
    expect(ds.models.map((m) => m.name)).toEqual(['alpha', 'beta', 'gamma']);
    expect(ds.tasks.map((t) => t.name)).toEqual(['MMLU', 'GSM8K']);
    expect(getScore(ds, 'gamma', 'GSM8K')).toBe(0.3);
    expect(getScore(ds, 'alpha', 'GSM8K')).toBeUndefined();
    expect(observedCount(ds)).toBe(4);
  });

  it('allows empty trailing fields beyond the header', () => {
    const ds = parseWideTable('m,A\nx,1,,\n');
    expect(observedCount(ds)).toBe(1);
  });

  const cases: Array<[string, string, { line?: number; field?: string }]> = [
    ['wide-bad-number.csv', 'E_PARSE', { line: 3, field: 'GSM8K' }],
    ['wide-dup-model.csv', 'E_DUPLICATE_ENTRY', { line: 4, field: 'model' }],
    ['wide-dup-task.csv', 'E_DUPLICATE_ENTRY', { line: 1, field: 'MMLU' }],
    ['wide-ragged.csv', 'E_PARSE', { line: 3, field: 'column 3' }],
    ['wide-empty-header.csv', 'E_PARSE', { line: 1, field: 'column 3' }],
    ['wide-header-only.csv', 'E_EMPTY', { line: 1 }],
    ['wide-infinite.csv', 'E_NON_FINITE', { line: 2, field: 'MMLU' }],
    ['wide-unterminated.csv', 'E_PARSE', { line: 2, field: 'column 1' }],
    ['empty.csv', 'E_EMPTY', {}],
  ];
  for (const [file, code, where] of cases) {
    it(`${file} → ${code}`, () => {
      const err = expectError(() => parseWideTable(read(file), { file }), code as never, where);
      expect(err.file).toBe(file);
      // the same error through loadData, with the full path as file
      expectError(() => loadDataSync(fixture(file)), code as never, where);
    });
  }

  it('names both lines of a duplicate model', () => {
    expectError(() => parseWideTable(read('wide-dup-model.csv')), 'E_DUPLICATE_ENTRY', { message: /lines 2 and 4/ });
  });

  it('refuses a table whose cells are all missing and a table without task columns', () => {
    expectError(() => parseWideTable('m,A,B\nx,-,\n'), 'E_EMPTY');
    expectError(() => parseWideTable('m\nx\n'), 'E_EMPTY', { line: 1 });
    expectError(() => parseWideTable('m,A\n,1\n'), 'E_PARSE', { line: 2, field: 'm' });
  });
});
