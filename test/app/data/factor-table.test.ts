import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { attachModelFactors, attachTaskFactors, parseFactorTable } from '../../../src/app/data/factor-table.js';
import { parseWideTable } from '../../../src/app/data/wide-table.js';
import { expectError, fixture } from './helpers.js';

const read = (name: string) => readFileSync(fixture(name), 'utf8');
const scores = () => parseWideTable('model,MMLU,GSM8K\nalpha,1,2\nbeta,3,4\ngamma,5,\n', { name: 's' });

describe('parseFactorTable', () => {
  it('infers numeric and categorical columns, missing values allowed', () => {
    const t = parseFactorTable(read('model-factors.csv'), { file: 'mf.csv' });
    expect(t.nameColumn).toBe('name');
    expect(t.specs).toEqual([
      { name: 'params', type: 'numeric' },
      { name: 'family', type: 'categorical' },
      { name: 'note', type: 'categorical' },
    ]);
    expect(t.rows[0]).toEqual({ name: 'alpha', line: 2, factors: { params: 7, family: 'llama' } });
  });

  it('treats a column with one non-number as categorical, unless forced numeric', () => {
    const t = parseFactorTable(read('task-factors.csv'));
    expect(t.specs.find((s) => s.name === 'shots')?.type).toBe('categorical');
    expectError(() => parseFactorTable(read('task-factors.csv'), { file: 'tf.csv', columns: { shots: { type: 'numeric' } } }), 'E_PARSE', {
      line: 3,
      field: 'shots',
    });
  });

  it('renames, documents and skips columns', () => {
    const t = parseFactorTable(read('model-factors.csv'), { columns: { params: { name: 'size', unit: 'B', description: 'd' }, note: { skip: true } } });
    expect(t.specs).toEqual([
      { name: 'size', type: 'numeric', unit: 'B', description: 'd' },
      { name: 'family', type: 'categorical' },
    ]);
  });

  it('reads the transposed layout (names in the header)', () => {
    const t = parseFactorTable(read('task-factors-columns.csv'), { layout: 'columns' });
    expect(t.rows).toEqual([
      { name: 'MMLU', line: 1, factors: { ability: 'knowledge', shots: 5 } },
      { name: 'GSM8K', line: 1, factors: { ability: 'math', shots: 8 } },
    ]);
  });

  it('reports duplicate names, empty tables and ragged rows', () => {
    expectError(() => parseFactorTable(read('model-factors-dup.csv'), { file: 'd.csv' }), 'E_DUPLICATE_ENTRY', { line: 3, field: 'name' });
    expectError(() => parseFactorTable('name,a\n'), 'E_EMPTY');
    expectError(() => parseFactorTable('name,a,b\nx,1\n'), 'E_PARSE', { line: 2 });
    expectError(() => parseFactorTable('name\nx\n'), 'E_EMPTY');
  });
});

describe('attaching factor tables', () => {
  it('matches exactly and after normalisation, and reports unmatched names instead of dropping them', () => {
    const table = parseFactorTable(read('model-factors.csv'), { file: 'mf.csv' });
    const { dataset, report } = attachModelFactors(scores(), table);
    expect(report.matched).toEqual([
      { tableName: 'alpha', datasetName: 'alpha', rule: 'exact' },
      { tableName: 'BETA', datasetName: 'beta', rule: 'normalized' },
    ]);
    expect(report.unmatched).toEqual([{ name: 'omega', line: 4 }]);
    expect(report.withoutFactors).toEqual(['gamma']);
    expect(dataset.models[1].factors).toEqual({ params: 13, family: 'mistral', note: 'x' });
    expect(dataset.models[2].factors).toEqual({});
    expect(dataset.factorSchema.model.map((s) => s.name)).toEqual(['params', 'family', 'note']);
    expect(dataset.notes.some((n) => n.includes('"omega"') && n.includes('matches no model'))).toBe(true);
  });

  it('uses explicit aliases first', () => {
    const table = parseFactorTable(read('model-factors.csv'));
    const { report } = attachModelFactors(scores(), table, { aliases: { omega: 'gamma' } });
    expect(report.matched.find((m) => m.tableName === 'omega')).toEqual({ tableName: 'omega', datasetName: 'gamma', rule: 'alias' });
    expect(report.unmatched).toEqual([]);
  });

  it('fails with E_NOT_FOUND when no name matches', () => {
    const table = parseFactorTable(read('model-factors-nomatch.csv'), { file: 'nm.csv' });
    expectError(() => attachModelFactors(scores(), table), 'E_NOT_FOUND', { message: /zeta/ });
  });

  it('fails when two rows match the same model', () => {
    const table = parseFactorTable('name,p\nalpha,1\nALPHA,2\n');
    expectError(() => attachModelFactors(scores(), table), 'E_DUPLICATE_ENTRY', { line: 3 });
  });

  it('attaches task factors and records their source', () => {
    const table = parseFactorTable(read('task-factors-columns.csv'), { layout: 'columns' });
    const { dataset } = attachTaskFactors(scores(), table, { source: { id: 'tf', title: 't', citation: 'c' } });
    expect(dataset.tasks[1].factors).toEqual({ ability: 'math', shots: 8 });
    expect(dataset.sources.map((s) => s.id)).toEqual(['input', 'tf']);
  });

  it('replaces factors of the same name', () => {
    const a = attachModelFactors(scores(), parseFactorTable('name,p,q\nalpha,1,x\nbeta,2,y\n')).dataset;
    const b = attachModelFactors(a, parseFactorTable('name,p\nbeta,9\n')).dataset;
    expect(b.models[0].factors).toEqual({ q: 'x' });
    expect(b.models[1].factors).toEqual({ q: 'y', p: 9 });
  });
});
