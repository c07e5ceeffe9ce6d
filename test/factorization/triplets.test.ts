import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTriplets, writeTriplets } from '../../src/factorization/triplets.js';
import { CollabperfError } from '../../src/errors.js';
import { caught } from '../helpers/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'collabperf-triplets-'));
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('triplet files', () => {
  it('reads whitespace, comma and :: separated lines, comments, a header and CRLF', () => {
    const t = readTriplets(file('a.txt', 'user item rating\r\n# comment\n0 1 4.5\r\n2\t0\t3\n\n1,2,-1e-3\n3::4::5\n'));
    expect(Array.from(t.rows)).toEqual([0, 2, 1, 3]);
    expect(Array.from(t.cols)).toEqual([1, 0, 2, 4]);
    expect(Array.from(t.values)).toEqual([4.5, 3, -0.001, 5]);
    expect(t.weights).toBeUndefined();
    expect(t.count).toBe(4);
  });
  it('reads an optional weight column', () => {
    const t = readTriplets(file('w.txt', '0 0 1 0.5\n1 1 2 2\n'));
    expect(Array.from(t.weights!)).toEqual([0.5, 2]);
  });
  it('names the file, line and field of a malformed line', () => {
    const p = file('bad.txt', '0 0 1\n1 x 2\n');
    const e = caught(() => readTriplets(p));
    expect(e.code).toBe('E_PARSE');
    expect(e.file).toBe(p);
    expect(e.line).toBe(2);
    expect(e.field).toBe('col');
    expect(e.message).toContain('line 2');
    expect(caught(() => readTriplets(file('v.txt', '0 0 abc\n'))).field).toBe('value');
    expect(caught(() => readTriplets(file('n.txt', '0 0 nan\n'))).field).toBe('value');
    expect(caught(() => readTriplets(file('f.txt', '0 0\n'))).line).toBe(1);
    expect(caught(() => readTriplets(file('r.txt', '0 0 1\n0 1 1 1\n'))).line).toBe(2);
    expect(caught(() => readTriplets(file('neg.txt', '-1 0 1\n'))).field).toBe('row');
    expect(caught(() => readTriplets(file('wt.txt', '0 0 1 0\n'))).field).toBe('weight');
  });
  it('reports a missing or empty file', () => {
    expect(caught(() => readTriplets(join(dir, 'missing.txt'))).code).toBe('E_FILE');
    expect(caught(() => readTriplets(file('empty.txt', '# nothing\n'))).code).toBe('E_EMPTY');
  });
  it('writes atomically and reads back the same doubles', () => {
    const rows = Int32Array.from([0, 5, 2]);
    const cols = Int32Array.from([1, 0, 7]);
    const values = Float64Array.from([0.1 + 0.2, -1 / 3, 1e-300]);
    const p = join(dir, 'out.txt');
    writeTriplets(p, rows, cols, values);
    const t = readTriplets(p);
    expect(Array.from(t.values)).toEqual(Array.from(values));
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});
