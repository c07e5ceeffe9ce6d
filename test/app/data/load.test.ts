import { describe, expect, it } from 'vitest';
import { getScore, observedCount } from '../../../src/app/data/dataset.js';
import { loadData, loadDataSync, parseData } from '../../../src/app/data/load.js';
import { expectError, expectRejects, fixture } from './helpers.js';

describe('loadData', () => {
  it('loads the default built-in dataset without a spec', async () => {
    const r = await loadData();
    expect(r.kind).toBe('builtin');
    expect(r.origin).toBe('crowdsource');
    expect(r.dataset.models).toHaveLength(72);
    expect(r.warnings).toEqual([]);
  });

  it('loads a built-in dataset by name', () => {
    const r = loadDataSync('helm-classic');
    expect(r.kind).toBe('builtin');
    expect(r.dataset.tasks).toHaveLength(16);
  });

  it('dispatches files on extension and header', async () => {
    expect((await loadData(fixture('wide.csv'))).kind).toBe('wide');
    expect((await loadData(fixture('wide.tsv'))).kind).toBe('wide');
    expect((await loadData(fixture('long.csv'))).kind).toBe('long');
    expect((await loadData(fixture('long.json'))).kind).toBe('long-json');
    const d = await loadData(fixture('dataset.json'));
    expect(d.kind).toBe('dataset');
    expect(d.dataset.name).toBe('tiny');
    expect(d.origin).toBe(fixture('dataset.json'));
  });

  it('reads the transposed layout on request', () => {
    const r = loadDataSync(fixture('wide-transposed.csv'), { tasksAsRows: true });
    expect(r.dataset.models.map((m) => m.name)).toEqual(['alpha', 'beta', 'gamma']);
    expect(observedCount(r.dataset)).toBe(4);
  });

  it('honours a forced format', () => {
    // read as a wide table, the long file's task names are not numbers
    expectError(() => loadDataSync(fixture('long.csv'), { format: 'wide' }), 'E_PARSE', { line: 2, field: 'Task', message: /"MMLU" as a number/ });
    expect(loadDataSync(fixture('wide.csv'), { format: 'wide' }).kind).toBe('wide');
  });

  it('attaches factor tables and warns about names that match nothing', async () => {
    const r = await loadData(fixture('wide.csv'), { modelFactors: fixture('model-factors.csv'), taskFactors: fixture('task-factors.csv') });
    expect(r.dataset.models[0].factors).toEqual({ params: 7, family: 'llama' });
    expect(r.dataset.tasks[0].factors).toEqual({ ability: 'knowledge', shots: '5' });
    expect(r.warnings.some((w) => w.includes('"omega"') && w.includes('line 4'))).toBe(true);
    // the model is called 'beta "b"' in wide.csv, so the factor row "BETA" matches nothing and is reported too
    expect(r.warnings.some((w) => w.includes('"BETA"'))).toBe(true);
    expect(r.warnings.some((w) => w.includes('have no row') && w.includes('gamma'))).toBe(true);
  });

  it('E_NOT_FOUND when no factor name matches', () => {
    expectError(() => loadDataSync(fixture('wide.csv'), { modelFactors: fixture('model-factors-nomatch.csv') }), 'E_NOT_FOUND');
  });

  it('E_VERSION for a dataset file of another version', async () => {
    await expectRejects(loadData(fixture('dataset-v2.json')), 'E_VERSION', { line: 3, field: 'version' });
  });

  it('E_PARSE for JSON that is neither format', () => {
    expectError(() => loadDataSync(fixture('unknown.json')), 'E_PARSE', { line: 1 });
  });

  it('E_FILE for a missing file, E_NOT_FOUND for an unknown bare name', async () => {
    await expectRejects(loadData(fixture('does-not-exist.csv')), 'E_FILE');
    expectError(() => loadDataSync('no-such-dataset'), 'E_NOT_FOUND', { message: /crowdsource/ });
    expectError(() => loadDataSync(fixture('wide.csv'), { modelFactors: fixture('missing.csv') }), 'E_FILE');
  });

  it('E_DUPLICATE_ENTRY from long files through loadData, naming both lines', async () => {
    await expectRejects(loadData(fixture('long-dup.csv')), 'E_DUPLICATE_ENTRY', { line: 5, message: /line 2 and line 5/ });
    await expectRejects(loadData(fixture('long-dup.json')), 'E_DUPLICATE_ENTRY', { line: 4 });
  });

  it('parseData sniffs JSON in files without a known extension', () => {
    const r = parseData('[{"model":"a","task":"b","score":1}]', { file: 'scores.txt' });
    expect(r.kind).toBe('long-json');
    const w = parseData('model,A\nx,1\n', { file: 'scores.txt' });
    expect(w.kind).toBe('wide');
    expect(getScore(w.dataset, 'x', 'A')).toBe(1);
  });
});
