/**
 * Replays every input saved under test/fixtures/regressions/<reader>/ (inputs that once broke a
 * reader, mostly shrunk fuzz counterexamples) against the fuzz property, and against the outcome
 * pinned in a `<name>.expect.json` next to it when there is one.
 *
 * To add a case, drop the input file into the reader's folder (see the README there for the
 * `.expect.json` format); no change to this file is needed.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkReader, READER_NAMES, type ReaderName } from './readers.js';

const root = fileURLToPath(new URL('../fixtures/regressions/', import.meta.url));
const EXPECT = '.expect.json';

interface Expectation {
  ok?: true;
  code?: string;
  line?: number;
  field?: string;
}

function casesOf(reader: ReaderName): Array<[string, string]> {
  const d = join(root, reader);
  if (!existsSync(d)) return [];
  return readdirSync(d)
    .filter((f) => !f.endsWith(EXPECT))
    .sort()
    .map((f) => [f, join(d, f)]);
}

const all = READER_NAMES.flatMap((r) => casesOf(r).map(([name, path]) => [r, name, path] as const));

describe('saved reader regressions', () => {
  it('every folder is named after a reader and the set is not empty', () => {
    for (const d of readdirSync(root, { withFileTypes: true })) if (d.isDirectory()) expect(READER_NAMES).toContain(d.name);
    expect(all.length).toBeGreaterThan(0);
  });

  it.each(all)('%s: %s', (reader, _name, path) => {
    const text = readFileSync(path, 'utf8');
    const err = checkReader(reader, path, text);
    const expPath = path.replace(/(\.[^./]*)?$/, EXPECT);
    if (!existsSync(expPath)) return;
    const exp = JSON.parse(readFileSync(expPath, 'utf8')) as Expectation;
    if (exp.ok) {
      expect(err, err?.message).toBeUndefined();
      return;
    }
    expect(err, 'expected an error').toBeDefined();
    expect(err!.code, err!.message).toBe(exp.code);
    if (exp.line !== undefined) expect(err!.line, err!.message).toBe(exp.line);
    if (exp.field !== undefined) expect(err!.field, err!.message).toBe(exp.field);
  });
});
