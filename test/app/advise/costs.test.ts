import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCosts } from '../../../src/app/advise/costs.js';
import { createDataset } from '../../../src/app/data/dataset.js';
import { expectError } from '../data/helpers.js';
import { toyDataset } from '../eval/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'collabperf-costs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
// toy tasks: mmlu, gsm8k, boolq, bpb, elo, hellaswag
const ds = toyDataset();

describe('parseCosts', () => {
  it('reads NAME=COST pairs, resolving names like --new', () => {
    expect([...parseCosts(ds, 'MMLU=2, gsm8k = 0.5,HellaSwag=10')]).toEqual([
      [0, 2],
      [1, 0.5],
      [5, 10],
    ]);
  });

  it('reads a CSV with a header (any column order, extra columns ignored) or without one, and TSV', () => {
    const withHeader = file('costs.csv', 'note,Cost,Task\nfast,1.5,mmlu\n"slow, long",20,"gsm8k"\n');
    expect([...parseCosts(ds, withHeader)]).toEqual([
      [0, 1.5],
      [1, 20],
    ]);
    const headerless = file('plain.csv', 'boolq,3\r\nelo,4\r\n');
    expect([...parseCosts(ds, headerless)]).toEqual([
      [2, 3],
      [4, 4],
    ]);
    const tsv = file('costs.tsv', 'task\tcost\nbpb\t7\n');
    expect([...parseCosts(ds, tsv)]).toEqual([[3, 7]]);
  });

  it('reads a numeric task factor as a cost column', () => {
    const withCost = createDataset({
      name: 'c',
      models: ['a'],
      tasks: [
        { name: 'x', factors: { gpuHours: 3 } },
        { name: 'y', factors: {} },
        { name: 'z', factors: { gpuHours: 0.5 } },
      ],
      factorSchema: { task: [{ name: 'gpuHours', type: 'numeric' }] },
      scores: [[0, 0, 1, 0]],
    });
    expect([...parseCosts(withCost, 'gpuhours')]).toEqual([
      [0, 3],
      [2, 0.5],
    ]);
  });

  it('errors name the file, line and field', () => {
    const unknown = file('unknown.csv', 'task,cost\nmmlu,1\nMATH,2\n');
    expectError(() => parseCosts(ds, unknown), 'E_NOT_FOUND', { file: unknown, line: 3, field: 'task', message: /no task named "MATH"/ });
    const bad = file('bad.csv', 'task,cost\nmmlu,cheap\n');
    expectError(() => parseCosts(ds, bad), 'E_PARSE', { file: bad, line: 2, field: 'cost' });
    const missing = file('missing.csv', 'task,cost\nmmlu,1\ngsm8k,\n');
    expectError(() => parseCosts(ds, missing), 'E_PARSE', { file: missing, line: 3, field: 'cost', message: /missing/ });
    const negative = file('negative.csv', 'task,cost\nmmlu,-1\n');
    expectError(() => parseCosts(ds, negative), 'E_INVALID_ARGUMENT', { file: negative, line: 2, field: 'cost' });
    const twice = file('twice.csv', 'task,cost\nmmlu,1\nMMLU,2\n');
    expectError(() => parseCosts(ds, twice), 'E_DUPLICATE_ENTRY', { file: twice, line: 3, message: /line 2 and line 3/ });
    const header = file('header.csv', 'benchmark,price\nmmlu,1\n');
    expectError(() => parseCosts(ds, header), 'E_PARSE', { file: header, line: 1, field: 'task' });
    const inf = file('inf.csv', 'mmlu,inf\n');
    expectError(() => parseCosts(ds, inf), 'E_NON_FINITE', { file: inf, line: 1, field: 'cost' });
  });

  it('errors of pairs and other specs', () => {
    expectError(() => parseCosts(ds, 'mmlu=1,nope=2'), 'E_NOT_FOUND', { field: '--costs' });
    expectError(() => parseCosts(ds, 'mmlu=x'), 'E_PARSE', { field: '--costs' });
    expectError(() => parseCosts(ds, 'mmlu=0'), 'E_INVALID_ARGUMENT', { field: '--costs' });
    expectError(() => parseCosts(ds, 'mmlu=1,MMLU=2'), 'E_DUPLICATE_ENTRY', { field: '--costs' });
    expectError(() => parseCosts(ds, 'mmlu=1,=2'), 'E_PARSE', { field: '--costs' });
    expectError(() => parseCosts(ds, ''), 'E_PARSE');
    expectError(() => parseCosts(ds, 'kind'), 'E_INVALID_ARGUMENT', { message: /categorical/ });
    expectError(() => parseCosts(ds, join(dir, 'no-such-file.csv')), 'E_FILE');
  });
});
