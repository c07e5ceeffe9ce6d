/**
 * Property tests of every file reader: for valid inputs, mutated valid inputs (byte flips,
 * truncation, inserted delimiters, quotes, huge numbers, NaN, negative or huge indices, deep
 * nesting, BOMs, CRLF, JSON values swapped for hostile ones) and random bytes, the reader returns a
 * valid result or throws a CollabperfError naming file, line and field (see ./readers.ts). Seeds
 * and run counts are fixed, so a run is reproducible; a failure prints the seed and the shrunk case.
 *
 * When this finds a bug: fix it, then save the shrunk input as a file under
 * test/fixtures/regressions/<reader>/ (see the README there), so regressions.test.ts replays it
 * on every run.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createDataset } from '../../src/app/data/dataset.js';
import { serializeDataset } from '../../src/app/data/format.js';
import { FactorModel } from '../../src/factorization/model.js';
import { saveModel } from '../../src/factorization/model-file.js';
import { checkReader, runReader, type ReaderName } from './readers.js';

const dir = mkdtempSync(join(tmpdir(), 'collabperf-fuzz-'));
const NUM_RUNS = 300;
const SEED = 20261202;
// A hang is a test timeout: each reader's 300 cases take well under a second normally.
const TIMEOUT = 30_000;

let counter = 0;
function writeCase(reader: ReaderName, bytes: Uint8Array): { path: string; text: string } {
  const path = join(dir, `${reader}-${counter++}`);
  writeFileSync(path, bytes);
  return { path, text: Buffer.from(bytes).toString('utf8') };
}

const enc = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));

// ---- generators of valid inputs -------------------------------------------------------------

const name = fc.stringMatching(/^[A-Za-z][A-Za-z0-9 _.-]{0,8}$/).map((s) => s.trim() || 'x');
const names = (min: number, max: number) => fc.uniqueArray(name, { minLength: min, maxLength: max, selector: (s) => s });
const score = fc.oneof(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.integer({ min: -100, max: 100 }));
const cellText = fc.oneof({ weight: 5, arbitrary: score.map(String) }, { weight: 1, arbitrary: fc.constantFrom('', 'NA', '-', 'n/a', 'NaN', '12%', '70,5') });
const delim = fc.constantFrom(',', '\t', ';');
const eol = fc.constantFrom('\n', '\r\n');

function csvField(s: string): string {
  return /[",;\t\r\n]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}

const wideCsv = fc
  .record({ models: names(1, 5), tasks: names(1, 5), d: delim, nl: eol })
  .chain(({ models, tasks, d, nl }) =>
    fc.array(fc.array(cellText, { minLength: tasks.length, maxLength: tasks.length }), { minLength: models.length, maxLength: models.length }).map((rows) => {
      if (rows.every((r) => r.every((c) => c === '' || /^(na|-|n\/a|nan)$/i.test(c)))) rows[0][0] = '1';
      const lines = [['model', ...tasks], ...models.map((m, i) => [m, ...rows[i]])];
      return lines.map((l) => l.map(csvField).join(d)).join(nl) + nl;
    }),
  );

const longRecords = fc
  .record({ models: names(1, 4), tasks: names(1, 4) })
  .chain(({ models, tasks }) =>
    fc.subarray(models.flatMap((m) => tasks.map((t) => [m, t] as const)), { minLength: 1 }).chain((pairs) =>
      fc.tuple(...pairs.map(([m, t]) => fc.record({ model: fc.constant(m), task: fc.constant(t), score, source: fc.option(name, { nil: undefined }) }))),
    ),
  );

const longCsv = fc.record({ recs: longRecords, d: delim, nl: eol }).map(({ recs, d, nl }) => {
  const lines = [['model', 'task', 'score', 'source'], ...recs.map((r) => [r.model, r.task, String(r.score), r.source ?? ''])];
  return lines.map((l) => l.map(csvField).join(d)).join(nl) + nl;
});

const longJson = longRecords.map((recs) => JSON.stringify(recs, null, 1));

const datasetJson = fc
  .record({ models: names(1, 4), tasks: names(1, 4), unbounded: fc.boolean(), numericFactor: fc.boolean() })
  .chain(({ models, tasks, unbounded, numericFactor }) =>
    fc.subarray(models.flatMap((_, m) => tasks.map((_t, t) => [m, t] as const)), { minLength: 1 }).chain((cells) =>
      fc.array(score, { minLength: cells.length, maxLength: cells.length }).map((vals) =>
        serializeDataset(
          createDataset({
            name: 'fuzz',
            models: models.map((m, i) => ({ name: m, factors: numericFactor ? { size: i + 0.5 } : ({} as Record<string, number>) })),
            tasks: tasks.map((t, i) => ({ name: t, factors: {}, ...(unbounded && i === 0 ? { unbounded: true } : { scale: 'percent' as const }) })),
            factorSchema: { model: numericFactor ? [{ name: 'size', type: 'numeric' }] : [], task: [] },
            sources: [{ id: 's', title: 'fuzz', citation: '' }],
            scores: cells.map(([m, t], i) => [m, t, vals[i], 0]),
          }),
        ),
      ),
    ),
  );

const triplets = fc
  .record({
    lines: fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 50 }), score), { minLength: 1, maxLength: 20 }),
    sep: fc.constantFrom(' ', '\t', ',', '::'),
    weights: fc.boolean(),
    header: fc.boolean(),
    nl: eol,
  })
  .map(({ lines, sep, weights, header, nl }) => (header ? `user${sep}item${sep}rating${nl}` : '') + lines.map(([r, c, v], i) => [r, c, v, ...(weights ? [1 + (i % 3)] : [])].join(sep)).join(nl) + nl);

const modelFile = fc
  .record({ nRows: fc.integer({ min: 1, max: 4 }), nCols: fc.integer({ min: 1, max: 4 }), k: fc.integer({ min: 1, max: 3 }), checksum: fc.boolean(), extras: fc.boolean() })
  .chain(({ nRows, nCols, k, checksum, extras }) =>
    fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: (nRows + nCols) * (k + 1) + 1, maxLength: (nRows + nCols) * (k + 1) + 1 }).map((xs) => {
      let o = 0;
      const take = (n: number) => Float64Array.from(xs.slice(o, (o += n)));
      const training = { options: { lambda: 0.1, lambdaBias: 0.1, useBias: true, weightedLambda: false }, backend: 'ts', iterations: 3, trainRmse: 0.5 } as unknown as FactorModel['training'];
      // version-2 extras: each row's training column 0, string row ids, ascending integer column ids
      const known = { ptr: Int32Array.from({ length: nRows + 1 }, (_, i) => i), cols: new Int32Array(nRows) };
      const ids = { known, rowIds: Array.from({ length: nRows }, (_, i) => `r${i}`), colIds: Int32Array.from({ length: nCols }, (_, i) => 3 * i + 1) };
      const m = new FactorModel(nRows, nCols, k, xs[xs.length - 1], take(nRows * k), take(nCols * k), take(nRows), take(nCols), training, extras ? ids : {});
      const p = join(dir, `model-src-${counter++}.json`);
      saveModel(m, p);
      const doc = JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
      if (!checksum) delete doc.checksum;
      return JSON.stringify(doc);
    }),
  );

// ---- mutations ------------------------------------------------------------------------------

const HOSTILE_TEXT = [
  ',', ';', '\t', '"', '""', '"\n', '\n', '\r', '\r\n', '\uFEFF', '\u0000', '\\', '#', '%', ':', '::',
  'NaN', 'nan', 'Infinity', '-Infinity', 'inf', '1e400', '-1e400', '1e-400', '-1', '-0', '0x10', '1_000',
  '2147483647', '2147483648', '99999999999', '300000000', '9007199254740993', '1.5', ' ', '{', '}', '[', ']',
  '"__proto__"', 'constructor', 'null', 'true', '\u00e9', '\uD83D\uDE00', '\uFFFD',
];
/** Stands for a value nested 50 000 deep, spliced in as text (structuredClone and JSON.stringify recurse). */
const DEEP = '__nested_50k_deep__';
const HOSTILE_JSON: unknown[] = [
  DEEP,
  null, -1, 0, 1.5, 2 ** 31, 2 ** 53, 1e308, -1e308, '', 'x', 'NaN', '1', true, [], {}, [[[[[[[[1]]]]]]]], { a: {} }, [0, 0, 1, 0], [-1, 0, 1, 0], [0, 0, 1e308, 0],
];

type Mutation = (b: Uint8Array) => Uint8Array;

const concat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));

/** One byte-level edit at a position chosen by the mutation's own random number. */
const byteMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([at, v]): Mutation => (b) => {
    if (b.length === 0) return b;
    const c = b.slice();
    c[at % b.length] = v;
    return c;
  }),
  fc.tuple(fc.nat(), fc.nat({ max: 7 })).map(([at, bit]): Mutation => (b) => {
    if (b.length === 0) return b;
    const c = b.slice();
    c[at % b.length] ^= 1 << bit;
    return c;
  }),
  fc.nat().map((at): Mutation => (b) => b.subarray(0, at % (b.length + 1))),
  fc.tuple(fc.nat(), fc.nat({ max: 40 })).map(([at, len]): Mutation => (b) => {
    const s = at % (b.length + 1);
    return concat(b.subarray(0, s), b.subarray(Math.min(b.length, s + len)));
  }),
  fc.tuple(fc.nat(), fc.constantFrom(...HOSTILE_TEXT)).map(([at, tok]): Mutation => (b) => {
    const s = at % (b.length + 1);
    return concat(b.subarray(0, s), enc(tok), b.subarray(s));
  }),
  fc.tuple(fc.nat(), fc.constantFrom('[', '{"a":', '"', '{', '[{"model":')).map(([at, open]): Mutation => (b) => {
    const s = at % (b.length + 1);
    return concat(b.subarray(0, s), enc(open.repeat(20_000)), b.subarray(s));
  }),
  fc.constant<Mutation>((b) => concat(enc('\uFEFF'), b)),
  fc.constant<Mutation>((b) => enc(Buffer.from(b).toString('utf8').replace(/\r?\n/g, '\r\n'))),
  fc.constant<Mutation>((b) => enc(Buffer.from(b).toString('utf8').replace(/\r?\n/g, '\r'))),
  fc.nat().map((at): Mutation => (b) => {
    // duplicate one line: repeated names and cells
    const lines = Buffer.from(b).toString('utf8').split('\n');
    const i = at % lines.length;
    lines.splice(i, 0, lines[i]);
    return enc(lines.join('\n'));
  }),
);

/** Replaces one value of a JSON document (found by walking a random path) with a hostile one. */
const jsonMutation: fc.Arbitrary<Mutation> = fc
  .tuple(fc.array(fc.nat(), { minLength: 1, maxLength: 6 }), fc.constantFrom(...HOSTILE_JSON), fc.boolean())
  .map(([steps, value, del]): Mutation => (b) => {
    let doc: unknown;
    try {
      doc = JSON.parse(Buffer.from(b).toString('utf8'));
    } catch {
      return b;
    }
    let parent: Record<string, unknown> | unknown[] | undefined;
    let key: string | number | undefined;
    let cur: unknown = doc;
    for (const s of steps) {
      if (cur === null || typeof cur !== 'object') break;
      const keys = Array.isArray(cur) ? cur.map((_, i) => i) : Object.keys(cur);
      if (keys.length === 0) break;
      parent = cur as Record<string, unknown>;
      key = keys[s % keys.length];
      cur = (cur as Record<string | number, unknown>)[key];
    }
    if (parent === undefined || key === undefined) return enc(JSON.stringify(value).replace(JSON.stringify(DEEP), `${'['.repeat(50_000)}${']'.repeat(50_000)}`));
    if (del && !Array.isArray(parent)) delete (parent as Record<string, unknown>)[key as string];
    else (parent as Record<string | number, unknown>)[key] = structuredClone(value);
    let out: string;
    try {
      out = JSON.stringify(doc);
    } catch {
      return b; // an earlier mutation left a value too deep to stringify
    }
    // 1e308 * 10 cannot be written by JSON.stringify; a literal overflow is spliced in as text
    return enc(out.replace(/1e\+308/, '1e999').replace(JSON.stringify(DEEP), `${'['.repeat(50_000)}${']'.repeat(50_000)}`));
  });

function mutated(valid: fc.Arbitrary<string>, json: boolean): fc.Arbitrary<Uint8Array> {
  const mutation = json ? fc.oneof(byteMutation, jsonMutation, jsonMutation) : byteMutation;
  return fc.tuple(valid, fc.array(mutation, { minLength: 0, maxLength: 4 })).map(([text, ms]) => ms.reduce((b, m) => m(b), enc(text)));
}

/** Valid inputs, mutated ones, and noise: random bytes and random strings of the format's own characters. */
function inputs(valid: fc.Arbitrary<string>, json: boolean, alphabet: string): fc.Arbitrary<Uint8Array> {
  const chars = fc.constantFrom(...alphabet.split(''));
  return fc.oneof(
    { weight: 1, arbitrary: valid.map(enc) },
    { weight: 6, arbitrary: mutated(valid, json) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }) },
    { weight: 1, arbitrary: fc.array(chars, { maxLength: 200 }).map((cs) => enc(cs.join(''))) },
  );
}

const CSV_CHARS = 'mt,;\t"\n\r 0123456789.-eE%NA';
const JSON_CHARS = '[]{}",:0123456789.-eE \nnulltrue';

const cases: Array<[ReaderName, fc.Arbitrary<Uint8Array>]> = [
  ['wide-csv', inputs(wideCsv, false, CSV_CHARS)],
  ['long-csv', inputs(longCsv, false, CSV_CHARS + 'modeltaskscore')],
  ['long-json', inputs(longJson, true, JSON_CHARS)],
  ['dataset-json', inputs(datasetJson, true, JSON_CHARS)],
  ['load-data', inputs(fc.oneof(wideCsv, longCsv, longJson, datasetJson), true, CSV_CHARS + JSON_CHARS)],
  ['triplets', inputs(triplets, false, '0123456789 \t,:#%\n\r.-eE')],
  ['model-file', inputs(modelFile, true, JSON_CHARS)],
];

describe('fuzzed readers: a valid result or a located CollabperfError, never anything else', () => {
  it.each(cases)('%s', (reader, arb) => {
    fc.assert(
      fc.property(arb, (bytes) => {
        const { path, text } = writeCase(reader, bytes);
        checkReader(reader, path, text);
        // readers only read: the input file is left as it was
        expect(Buffer.compare(readFileSync(path), Buffer.from(bytes))).toBe(0);
      }),
      { seed: SEED, numRuns: NUM_RUNS },
    );
  }, TIMEOUT);

  it.each(cases.map(([r]) => r))('%s: an unmutated valid input is read', (reader) => {
    const valid = { 'wide-csv': wideCsv, 'long-csv': longCsv, 'long-json': longJson, 'dataset-json': datasetJson, 'load-data': fc.oneof(wideCsv, longCsv, longJson, datasetJson), triplets, 'model-file': modelFile }[reader];
    fc.assert(
      fc.property(valid, (text) => {
        const { path } = writeCase(reader, enc(text));
        expect(checkReader(reader, path, text)).toBeUndefined();
      }),
      { seed: SEED, numRuns: 50 },
    );
  });

  // The line-ending and BOM variants an editor on another system writes mean the same data. Model
  // files are left out: they are written by saveModel, not by editors.
  const variants: Record<string, (t: string) => string> = {
    bom: (t) => `\uFEFF${t}`,
    crlf: (t) => t.replace(/\r?\n/g, '\r\n'),
    cr: (t) => t.replace(/\r?\n/g, '\r'),
  };
  const invariant: Array<[ReaderName, fc.Arbitrary<string>, string[]]> = [
    ['wide-csv', wideCsv, ['bom', 'crlf', 'cr']],
    ['long-csv', longCsv, ['bom', 'crlf', 'cr']],
    ['long-json', longJson, ['bom', 'crlf', 'cr']],
    ['dataset-json', datasetJson, ['bom', 'crlf', 'cr']],
    // CR is a field separator of triplet files (LIBMF), so a lone CR is not a line end there
    ['triplets', triplets, ['bom', 'crlf']],
  ];
  const content = (reader: ReaderName, path: string): unknown => {
    const o = runReader(reader, path);
    if (o.kind === 'dataset') {
      const d = o.value;
      return [d.models.map((m) => m.name), d.tasks.map((t) => t.name), Array.from(d.scores.model), Array.from(d.scores.task), Array.from(d.scores.value)];
    }
    if (o.kind === 'triplets') return [Array.from(o.value.rows), Array.from(o.value.cols), Array.from(o.value.values), o.value.weights && Array.from(o.value.weights)];
    return o.value.U;
  };
  it.each(invariant)('%s: a BOM and other line ends read the same data', (reader, valid, names) => {
    fc.assert(
      fc.property(valid, fc.constantFrom(...names), (text, v) => {
        const plain = writeCase(reader, enc(text)).path;
        const other = writeCase(reader, enc(variants[v](text))).path;
        expect(content(reader, other)).toEqual(content(reader, plain));
      }),
      { seed: SEED, numRuns: 100 },
    );
  });
});
