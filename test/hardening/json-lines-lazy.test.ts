/**
 * The long JSON reader looks up line numbers only on the way to an error: each look-up scans the
 * text from its start, and one per record made a 16 000-record (1 MB) file take over three minutes.
 * Counted calls, not time, so the test says the same on a loaded machine.
 */
import { describe, expect, it, vi } from 'vitest';
import { parseLongJson } from '../../src/app/data/long-table.js';
import { jsonLineOf } from '../../src/app/data/json-lines.js';

vi.mock('../../src/app/data/json-lines.js', async (importOriginal) => {
  const orig = await importOriginal<typeof import('../../src/app/data/json-lines.js')>();
  return { ...orig, jsonLineOf: vi.fn(orig.jsonLineOf) };
});

const records = (n: number) => Array.from({ length: n }, (_, i) => ({ model: `m${i % 50}`, task: `t${Math.floor(i / 50)}`, score: i }));

describe('long JSON line look-ups', () => {
  it('a clean file of 2000 records is read without a single look-up', () => {
    vi.mocked(jsonLineOf).mockClear();
    const ds = parseLongJson(JSON.stringify(records(2000), null, 1), { file: 'big.json' });
    expect(ds.scores.value.length).toBe(2000);
    expect(jsonLineOf).not.toHaveBeenCalled();
  });

  it('a duplicate still names both lines, looking up only those records', () => {
    vi.mocked(jsonLineOf).mockClear();
    const recs = [...records(2000), { model: 'm3', task: 't0', score: 1 }];
    expect(() => parseLongJson(JSON.stringify(recs, null, 1), { file: 'dup.json' })).toThrow(
      expect.objectContaining({ code: 'E_DUPLICATE_ENTRY', line: 10002, field: '[2000].task', message: expect.stringMatching(/line 17 and line 10002/) }),
    );
    expect(vi.mocked(jsonLineOf).mock.calls.length).toBeLessThanOrEqual(4);
  });
});
