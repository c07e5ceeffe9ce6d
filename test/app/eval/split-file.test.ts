import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeFolds, parseSplitJson, readSplitFile, serializeSplit, writeSplitFile } from '../../../src/app/eval/protocols.js';
import { expectError } from '../data/helpers.js';
import { toyDataset } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'collabperf-split-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeDoc(name: string, doc: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, typeof doc === 'string' ? doc : JSON.stringify(doc, null, 2));
  return p;
}

describe('split files', () => {
  const ds = toyDataset();

  it('round-trips folds (test cells, descriptions, seeds) through a file', () => {
    const folds = [...makeFolds(ds, 'model-kfold:3', 1), ...makeFolds(ds, 'model-kfold:3', 2)];
    const p = join(dir, 'kfold.json');
    writeSplitFile(p, ds, folds);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    const doc = JSON.parse(readFileSync(p, 'utf8'));
    expect(doc).toMatchObject({ format: 'collabperf-split', version: 1, dataset: 'toy' });
    expect(doc.folds[0].test[0]).toEqual([expect.stringMatching(/^model-/), expect.any(String)]);
    const back = readSplitFile(p, ds);
    expect(back).toHaveLength(6);
    back.forEach((f, i) => {
      expect(f.testMask).toEqual(folds[i].testMask);
      expect(f.trainMask).toEqual(folds[i].trainMask);
      expect(f.description).toBe(folds[i].description);
      expect(f.seed).toBe(folds[i].seed);
    });
  });

  it('reads a minimal hand-written file: no dataset, no descriptions, forgiving names', () => {
    const p = writeDoc('min.json', { format: 'collabperf-split', version: 1, folds: [{ test: [['MODEL_1', 'MMLU'], ['model-2', 'gsm8k']] }] });
    const [f] = readSplitFile(p, ds);
    const held = Array.from(f.testMask.keys()).filter((e) => f.testMask[e]).map((e) => `${ds.scores.model[e]}|${ds.scores.task[e]}`);
    expect(held).toEqual(['1|0', '2|1']);
    expect(f.seed).toBeUndefined();
    expect(f.description).toBe(`fold 1 of ${p}`);
  });

  it('names the file, line and field of each problem', () => {
    const base = { format: 'collabperf-split', version: 1, dataset: 'toy' };
    const cases: Array<[unknown, string, string | undefined, RegExp]> = [
      [{ ...base, format: 'x' }, 'E_PARSE', 'format', /not a collabperf split file/],
      [{ ...base, version: 2 }, 'E_VERSION', 'version', /version 2/],
      [{ ...base, dataset: 'other' }, 'E_INVALID_ARGUMENT', 'dataset', /made for dataset "other", not "toy"/],
      [{ ...base, folds: [] }, 'E_PARSE', 'folds', /non-empty array/],
      [{ ...base, folds: [{ test: [] }] }, 'E_PARSE', 'folds[0].test', /non-empty array/],
      [{ ...base, folds: [{ test: [['model-1']] }] }, 'E_PARSE', 'folds[0].test[0]', /\[model, task\] pair/],
      [{ ...base, folds: [{ test: [['model-1', 'mmlu']] }, { test: [['model-1', 'mmlu'], ['gpt-9', 'mmlu']] }] }, 'E_NOT_FOUND', 'folds[1].test[1][0]', /no model named "gpt-9"/],
      [{ ...base, folds: [{ test: [['model-1', 'arc']] }] }, 'E_NOT_FOUND', 'folds[0].test[0][1]', /no task named "arc"/],
      // model 0 has no score on task 0 ((0*7 + 0*3) % 5 === 0)
      [{ ...base, folds: [{ test: [['model-0', 'mmlu']] }] }, 'E_NOT_FOUND', 'folds[0].test[0]', /\(model-0, mmlu\) is not an observed score/],
      [{ ...base, folds: [{ test: [['model-1', 'mmlu'], ['model-2', 'mmlu'], ['Model 1', 'MMLU']] }] }, 'E_DUPLICATE_ENTRY', 'folds[0].test[2]', /listed twice in fold 0 \(test\[0\] and test\[2\]\)/],
      [{ ...base, folds: [{ test: [['model-1', 'mmlu']], seed: 1.5 }] }, 'E_PARSE', 'folds[0].seed', /integer/],
      [[1, 2], 'E_PARSE', undefined, /JSON object/],
    ];
    cases.forEach(([doc, code, field, message], i) => {
      const p = writeDoc(`bad-${i}.json`, doc);
      const err = expectError(() => readSplitFile(p, ds), code as never, { field, file: p, message });
      expect(err.message).toContain(p);
      if (field !== undefined) expect(err.line).toBeGreaterThan(1);
    });
  });

  it('reports the line of a duplicate cell in a file written by writeSplitFile', () => {
    const text = serializeSplit(ds, makeFolds(ds, 'cells:0.1', 3));
    const lines = text.split('\n');
    const first = lines.findIndex((l) => /^\s+\["model-/.test(l));
    lines.splice(first + 2, 0, lines[first].trimEnd().replace(/,?$/, ','));
    expectError(() => parseSplitJson(lines.join('\n'), ds, 'dup.json'), 'E_DUPLICATE_ENTRY', { field: 'folds[0].test[2]', line: first + 3, file: 'dup.json' });
  });

  it('rejects a fold holding out everything, invalid JSON and a missing file', () => {
    const all = makeFolds(ds, 'cells:0.5', 1)[0];
    all.testMask.fill(1);
    all.trainMask.fill(0);
    expectError(() => parseSplitJson(serializeSplit(ds, [all]), ds, 'all.json'), 'E_PARSE', { field: 'folds[0].test', message: /every observed cell/ });
    expectError(() => parseSplitJson('{"format": "collabperf-split",\n  "version": 1,,}', ds, 'bad.json'), 'E_PARSE', { line: 2, file: 'bad.json' });
    expectError(() => readSplitFile(join(dir, 'missing.json'), ds), 'E_FILE', { file: join(dir, 'missing.json') });
  });
});
