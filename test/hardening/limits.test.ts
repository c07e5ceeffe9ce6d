import { truncateSync } from 'node:fs';
import { constants } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { estimateFitBytes, remapIds, toEntries } from '../../src/factorization/ratings.js';
import { readTriplets } from '../../src/factorization/triplets.js';
import { readTextFileSync, readTextFile } from '../../src/app/data/read-text.js';
import { loadDataSync, parseData } from '../../src/app/data/load.js';
import { caught, tempDir, writeIn } from '../helpers/hardening.js';

const dir = tempDir('limits');

describe('memory budget', () => {
  const p = writeIn(dir, 'stray.txt', '0 0 1.0\n300000000 1 2.0\n2 2 3.0\n');

  it('refuses a stray huge row index before allocating, naming index, dimension and bytes', () => {
    const t = readTriplets(p);
    const e = caught(() => toEntries(t, p));
    expect(e.code).toBe('E_TOO_LARGE');
    expect(e.message).toContain('300000000');
    expect(e.message).toContain('nRows = 300000001');
    expect(e.message).toContain(String(estimateFitBytes(300000001, 3, 3)));
    expect(e.message).toMatch(/remapIds/);
  });

  it('honours maxBytes both ways', () => {
    const small = { rows: [0, 999], cols: [0, 1], values: [1, 2] };
    expect(toEntries(small).nRows).toBe(1000);
    expect(caught(() => toEntries(small, 'r', { maxBytes: 1000 })).code).toBe('E_TOO_LARGE');
    const t = readTriplets(p);
    expect(toEntries(t, p, { maxBytes: Infinity, rank: 1 }).nRows).toBe(300000001);
    expect(caught(() => toEntries(small, 'r', { maxBytes: -1 })).code).toBe('E_INVALID_ARGUMENT');
  });

  it('remaps sparse ids to dense ones and keeps the way back', () => {
    const t = readTriplets(p, { remapIds: true });
    expect(Array.from(t.rows)).toEqual([0, 2, 1]);
    expect(Array.from(t.idMap!.rowIds)).toEqual([0, 2, 300000000]);
    expect(Array.from(t.idMap!.colIds)).toEqual([0, 1, 2]);
    const e = toEntries(t, p);
    expect(e.nRows).toBe(3);
    for (let i = 0; i < 3; i++) expect(t.idMap!.rowIds[e.rows[i]]).toBe([0, 300000000, 2][i]);
    // a test file read with the training map; an unknown id is an error, not a silent new row
    const q = writeIn(dir, 'test.txt', '300000000 2 1\n');
    expect(Array.from(readTriplets(q, { idMap: t.idMap }).rows)).toEqual([2]);
    writeIn(dir, 'test.txt', '7 2 1\n');
    expect(caught(() => readTriplets(q, { idMap: t.idMap })).code).toBe('E_INDEX_OUT_OF_RANGE');
    expect(Array.from(remapIds(Int32Array.of(5, 5, 9), Int32Array.of(1, 1, 1)).rows)).toEqual([0, 0, 1]);
  });

  it('a dense input over the budget is refused before copying', () => {
    expect(caught(() => toEntries({ dense: new Float64Array(4), nRows: 2, nCols: 2 }, 'd', { maxBytes: 10 })).code).toBe('E_TOO_LARGE');
  });
});

describe('line-length guard', () => {
  // 3 MB on line 2: bigger than the 1 MiB default, small enough for the test to be fast
  const long = writeIn(dir, 'long.csv', `model,task,score\n${'x'.repeat(3 << 20)}\n`);

  it('readTextFile refuses a long line with file and line, sync and async', async () => {
    const e = caught(() => readTextFileSync(long));
    expect(e.code).toBe('E_TOO_LARGE');
    expect(e.file).toBe(long);
    expect(e.line).toBe(2);
    await expect(readTextFile(long)).rejects.toMatchObject({ code: 'E_TOO_LARGE', line: 2 });
    expect(readTextFileSync(long, { maxLineBytes: 4 << 20 }).length).toBe(17 + (3 << 20) + 1);
  });

  it('loadData applies it', () => {
    expect(caught(() => loadDataSync(long)).code).toBe('E_TOO_LARGE');
  });

  it('a line exactly at the limit passes, one byte more does not', () => {
    const f = writeIn(dir, 'edge.txt', 'abcd\nefghi');
    expect(readTextFileSync(f, { maxLineBytes: 5 })).toBe('abcd\nefghi');
    expect(caught(() => readTextFileSync(f, { maxLineBytes: 4 })).line).toBe(2);
  });

  it('a CR-only file is many short lines, not one long one, and counts lines like the CSV reader', async () => {
    // 2 MiB of `m,t,1\r` lines: one line of 2 MiB if CR were not a line end
    const rows = Array.from({ length: 350_000 }, (_, i) => `m${i},t,1`).join('\r');
    const f = writeIn(dir, 'cr.csv', `model,task,score\r${rows}\r`);
    expect(readTextFileSync(f).length).toBeGreaterThan(2 << 20);
    const longAt = writeIn(dir, 'cr-long.csv', `a\rb\r\nc\r${'x'.repeat(100)}\r`);
    expect(caught(() => readTextFileSync(longAt, { maxLineBytes: 50 })).line).toBe(4);
    await expect(readTextFile(longAt, { maxLineBytes: 50 })).rejects.toMatchObject({ code: 'E_TOO_LARGE', line: 4 });
    expect(caught(() => parseData(`h\r"${'x'.repeat(10)}`, { file: 'q.csv' })).line).toBe(2);
  });

  it('a CRLF split across two 1 MiB chunks is one line end', () => {
    // 20971 lines of 50 bytes and 25 bytes more put the CR at the last byte of the first 1 MiB chunk
    // and its LF at the first of the second; the long line after them is line 20974, not 20975
    const before = `${'y'.repeat(49)}\n`.repeat(20971) + 'y'.repeat(25);
    expect(before.length).toBe((1 << 20) - 1);
    const f = writeIn(dir, 'split.txt', `${before}\r\nz\n${'x'.repeat(100)}\n`);
    expect(caught(() => readTextFileSync(f, { maxLineBytes: 60 })).line).toBe(20974);
    // a chunk-final CR, then a whole chunk without line ends: an LF opening the third chunk ends
    // line 2 (it is not the rest of that CRLF long gone)
    const g = writeIn(dir, 'split2.txt', `${'y'.repeat((1 << 20) - 1)}\r${'x'.repeat(1 << 20)}\n${'x'.repeat((1 << 20) + 20)}\n`);
    expect(caught(() => readTextFileSync(g, { maxLineBytes: (1 << 20) + 10 })).line).toBe(3);
  });

  it('a file too big to be a string is E_TOO_LARGE before anything is read', async () => {
    // sparse: no disk space and no reading, the size alone decides
    const f = writeIn(dir, 'huge.txt', '');
    truncateSync(f, constants.MAX_STRING_LENGTH + 1);
    const e = caught(() => readTextFileSync(f, { maxLineBytes: Infinity }));
    expect(e.code).toBe('E_TOO_LARGE');
    expect(e.file).toBe(f);
    await expect(readTextFile(f, { maxLineBytes: Infinity })).rejects.toMatchObject({ code: 'E_TOO_LARGE', file: f });
  });

  it('readTriplets refuses a long line with the line number', () => {
    const f = writeIn(dir, 'long.txt', `0 0 1\n1 1 ${'9'.repeat(2 << 20)}\n`);
    const e = caught(() => readTriplets(f));
    expect(e.code).toBe('E_TOO_LARGE');
    expect(e.line).toBe(2);
  });

  it('directories are E_FILE', () => {
    expect(caught(() => readTextFileSync(dir)).code).toBe('E_FILE');
    expect(caught(() => readTriplets(dir)).code).toBe('E_FILE');
  });
});

describe('deeply nested JSON', () => {
  it('an unterminated document nested 50k deep is E_PARSE, not a stack overflow', () => {
    const e = caught(() => parseData('['.repeat(50_000), { file: 'deep.json' }));
    expect(e.code).toBe('E_PARSE');
    expect(e.line).toBe(1);
    const o = caught(() => parseData('{"a":'.repeat(50_000), { file: 'deep.json' }));
    expect(o.code).toBe('E_PARSE');
  });
});
