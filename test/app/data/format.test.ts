import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createDataset, toDense } from '../../../src/app/data/dataset.js';
import { DATASET_FORMAT_VERSION, datasetToDocument, parseDatasetJson, serializeDataset } from '../../../src/app/data/format.js';
import { expectError, fixture } from './helpers.js';

const read = (name: string) => readFileSync(fixture(name), 'utf8');

describe('dataset format', () => {
  it('reads every field of a version-1 file', () => {
    const ds = parseDatasetJson(read('dataset.json'), { file: 'dataset.json' });
    expect(ds.name).toBe('tiny');
    expect(ds.description).toBe('a tiny test dataset');
    expect(ds.sources[0]).toEqual({ id: 's0', title: 'first source', citation: 'example/repo @ 0000000 a.csv', license: 'MIT' });
    expect(ds.factorSchema.model).toEqual([
      { name: 'params', type: 'numeric', unit: 'B' },
      { name: 'family', type: 'categorical' },
    ]);
    expect(ds.models[0]).toEqual({ name: 'alpha', factors: { params: 7, family: 'a' } });
    expect(ds.tasks[0].scale).toBe('percent');
    expect(ds.tasks[1].higherIsBetter).toBe(false);
    expect(ds.tasks[2].scale).toEqual({ min: 0, max: 100 });
    expect(Array.from(ds.scores.source)).toEqual([0, 1, 0, 1]);
    expect(ds.notes).toEqual(['made by hand for tests']);
  });

  it('round-trips: serialise(parse(file)) is byte-identical for our layout, and parse(serialise(ds)) equals ds', () => {
    const text = read('dataset.json');
    const ds = parseDatasetJson(text);
    expect(serializeDataset(ds)).toBe(text);
    const again = parseDatasetJson(serializeDataset(ds));
    expect(again).toEqual(ds);
    expect(Array.from(toDense(again))).toEqual(Array.from(toDense(ds)));
  });

  it('round-trips a dataset built in memory, including awkward numbers and names', () => {
    const ds = createDataset({
      name: 'x',
      models: ['a "quoted" model', 'ü'],
      tasks: ['t'],
      sources: [{ id: 's', title: 'S', citation: 'c' }],
      scores: [
        [0, 0, 0.1 + 0.2, 0],
        [1, 0, -1e-300, 0],
      ],
    });
    const back = parseDatasetJson(serializeDataset(ds));
    expect(back.scores.value[0]).toBe(0.1 + 0.2);
    expect(back.scores.value[1]).toBe(-1e-300);
    expect(back.models[0].name).toBe('a "quoted" model');
    expect(datasetToDocument(back)).toEqual(datasetToDocument(ds));
  });

  it('refuses another version with E_VERSION naming the version found and the ones supported', () => {
    // the fixture's name is historical: it holds a future version (3)
    const err = expectError(() => parseDatasetJson(read('dataset-v2.json'), { file: 'dataset-v2.json' }), 'E_VERSION', { line: 3, field: 'version' });
    expect(err.message).toMatch(/has version 3/);
    expect(err.message).toMatch(new RegExp(`versions 1 and ${DATASET_FORMAT_VERSION}`));
    expectError(() => parseDatasetJson('{"format":"collabperf-dataset"}'), 'E_VERSION', { message: /no version/ });
  });

  it('version 2: an unbounded task and source urls round-trip, and the version written is the lowest that holds the content', () => {
    const base = {
      name: 'v2',
      models: ['a', 'b'],
      tasks: [{ name: 'Elo', factors: {}, unbounded: true }, { name: 'Acc', factors: {}, scale: 'unit' as const }],
      sources: [{ id: 'r1', title: 'model card', citation: 'x', url: 'https://example.org/card' }],
      scores: [[0, 0, 1400, 0], [1, 1, 0.5, 0]] as Array<[number, number, number, number]>,
    };
    const ds = createDataset(base);
    const text = serializeDataset(ds);
    expect(text).toMatch(/"version":2,/);
    expect(text).toContain('{"name":"Elo","factors":{},"scale":"unbounded"}');
    const back = parseDatasetJson(text);
    expect(back.tasks[0].unbounded).toBe(true);
    expect(back.tasks[0].scale).toBeUndefined();
    expect(back.sources[0].url).toBe('https://example.org/card');
    expect(serializeDataset(back)).toBe(text);
    // without an unbounded task the file stays version 1 (readable by older collabperf); url alone needs no bump
    const v1 = serializeDataset(createDataset({ ...base, tasks: [{ name: 'Elo', factors: {} }, base.tasks[1]] }));
    expect(v1).toMatch(/"version":1,/);
    expect(parseDatasetJson(v1).sources[0].url).toBe('https://example.org/card');
  });

  it('refuses "scale": "unbounded" in a version-1 file and a task both unbounded and bounded', () => {
    const v1 = serializeDataset(createDataset({ name: 'x', models: ['a'], tasks: [{ name: 'Elo', factors: {} }], scores: [[0, 0, 1, 0]] }));
    expectError(() => parseDatasetJson(v1.replace('{"name":"Elo","factors":{}}', '{"name":"Elo","factors":{},"scale":"unbounded"}')), 'E_PARSE', {
      field: 'tasks[0].scale',
      message: /version 2/,
    });
    expectError(() => createDataset({ name: 'x', models: ['a'], tasks: [{ name: 'Elo', factors: {}, scale: 'unit', unbounded: true }], scores: [] }), 'E_PARSE', {
      message: /both unbounded/,
    });
  });

  it('refuses a document of another format', () => {
    expectError(() => parseDatasetJson('{"format":"something-else","version":1}'), 'E_PARSE', { field: 'format' });
    expectError(() => parseDatasetJson('[1,2]'), 'E_PARSE');
    expectError(() => parseDatasetJson('{"format": '), 'E_PARSE');
  });

  it('reports a duplicate cell and a bad index with the line of the score', () => {
    expectError(() => parseDatasetJson(read('dataset-dup.json'), { file: 'dup.json' }), 'E_DUPLICATE_ENTRY', {
      line: 31,
      field: 'scores[3]',
      message: /scores\[0\] and scores\[3\]/,
    });
    expectError(() => parseDatasetJson(read('dataset-bad-index.json')), 'E_INDEX_OUT_OF_RANGE', { line: 30, field: 'scores[2]' });
  });

  it('reports wrong field types and undeclared factors with their path', () => {
    const base = JSON.parse(read('dataset.json'));
    const bad = (mut: (d: any) => void) => {
      const d = structuredClone(base);
      mut(d);
      return JSON.stringify(d, null, 1);
    };
    expectError(() => parseDatasetJson(bad((d) => (d.scores[1] = [0, 1, 'x', 0]))), 'E_PARSE', { field: 'scores[1]' });
    expectError(() => parseDatasetJson(bad((d) => (d.scores[1] = [0, 1, 2]))), 'E_PARSE', { field: 'scores[1]' });
    expectError(() => parseDatasetJson(bad((d) => (d.models[1].factors.size = 3))), 'E_PARSE', { field: 'models[1].factors.size' });
    expectError(() => parseDatasetJson(bad((d) => (d.models[1].factors.params = 'big'))), 'E_PARSE', { field: 'models[1].factors.params' });
    expectError(() => parseDatasetJson(bad((d) => (d.models[2].name = 'alpha'))), 'E_DUPLICATE_ENTRY', { field: 'models[2].name' });
    expectError(() => parseDatasetJson(bad((d) => (d.tasks[0].scale = { min: 1, max: 0 }))), 'E_PARSE', { field: 'tasks[0].scale' });
    expectError(() => parseDatasetJson(bad((d) => (d.sources = 'x'))), 'E_PARSE', { field: 'sources' });
    expectError(() => parseDatasetJson(bad((d) => (d.factorSchema.task[0].type = 'text'))), 'E_PARSE', { field: 'factorSchema.task[0]' });
    const withLine = expectError(() => parseDatasetJson(bad((d) => (d.scores[2] = [1, 2, 20, 5]))), 'E_INDEX_OUT_OF_RANGE', { field: 'scores[2]' });
    expect(withLine.line).toBeGreaterThan(1);
  });

  it('reads an explicit null factor as missing', () => {
    const d = JSON.parse(read('dataset.json'));
    d.models[0].factors.params = null;
    expect(parseDatasetJson(JSON.stringify(d)).models[0].factors).toEqual({ family: 'a' });
  });
});
