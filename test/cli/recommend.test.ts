import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { readTriplets, writeTriplets } from '../../src/factorization/triplets.js';
import { syntheticImplicit } from '../../src/factorization/synthetic.js';
import { loadModel } from '../../src/factorization/model-file.js';
import { evaluateRanking } from '../../src/factorization/ranking.js';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'collabperf-recommend-'));
const data = syntheticImplicit({ nRows: 300, nCols: 120, nnz: 3000, rank: 4, seed: 6 });
const train = join(dir, 'train.txt');
const test = join(dir, 'test.txt');
writeTriplets(train, data.train.rows, data.train.cols, data.train.values);
writeTriplets(test, data.test.rows, data.test.cols, data.test.values);
// The same interactions under sparse large ids (row r -> 1e6 + 7r, column c -> 5e8 + c).
const sparseTrain = join(dir, 'sparse-train.txt');
writeTriplets(sparseTrain, data.train.rows.map((r) => 1_000_000 + 7 * r), data.train.cols.map((c) => 500_000_000 + c), data.train.values);
// And under names (row r -> "user-r", column c -> "item-c").
const namedTrain = join(dir, 'named-train.txt');
writeFileSync(namedTrain, `user item plays\n${Array.from(data.train.rows, (r, i) => `user-${r} item-${data.train.cols[i]} ${data.train.values[i]}`).join('\n')}\n`);
const namedTest = join(dir, 'named-test.txt');
writeFileSync(namedTest, `${Array.from(data.test.rows, (r, i) => `user-${r} item-${data.test.cols[i]} ${data.test.values[i]}`).join('\n')}\n`);
const sparseTest = join(dir, 'sparse-test.txt');
writeTriplets(sparseTest, data.test.rows.map((r) => 1_000_000 + 7 * r), data.test.cols.map((c) => 500_000_000 + c), data.test.values);
const model = join(dir, 'm.json');

const trainCols = (r: number): Set<number> => new Set(Array.from(data.train.cols).filter((_, i) => data.train.rows[i] === r));

describe('collabperf fit --implicit', () => {
  it('prints the objective per sweep and ranking metrics beside the popularity baseline', async () => {
    const r = await runCli('fit', '--input', train, '--test', test, '--implicit', '--rank', '6', '--iters', '4', '--alpha', '2', '--solver', 'cg', '--cg-steps', '3', '--save', model);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/implicit ALS \(CG 3 steps, alpha 2\) rank 6/);
    const sweeps = r.stdout.split('\n').filter((l) => /^\s+\d+\s+\d+\.\d+\s+\d+(\.\d+)?(e[+-]\d+)?\s+\d+\.\d+$/.test(l));
    expect(sweeps).toHaveLength(4);
    expect(r.stdout).toMatch(/ranking at 10 over \d+ rows/);
    expect(r.stdout).toMatch(/^model\s+\d\.\d{4}\s+\d\.\d{4}\s+\d\.\d{4}\s+\d\.\d{4}$/m);
    expect(r.stdout).toMatch(/^popularity\s+\d\.\d{4}\s+\d\.\d{4}\s+\d\.\d{4}\s+\d\.\d{4}$/m);
    expect(loadModel(model).training.options.implicit).toBe(true);
  });

  it('--json carries the ranking metrics, the backend report and the solver', async () => {
    const r = await runCli('fit', '--input', train, '--test', test, '--implicit', '--rank', '5', '--iters', '3', '--solver', 'cholesky', '--at', '5', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.options).toMatchObject({ implicit: true, solver: 'cholesky', useBias: false });
    expect(j.ranking.model).toMatchObject({ k: 5 });
    expect(j.ranking.model.rows).toBeGreaterThan(100);
    expect(j.ranking.model.ndcg).toBeGreaterThan(0);
    expect(j.ranking.popularity.ndcg).toBeGreaterThan(0);
    expect(typeof j.backendReport.reason).toBe('string');
    for (let i = 1; i < j.iterations.length; i++) expect(j.iterations[i].objective).toBeLessThan(j.iterations[i - 1].objective);
  });

  it('ranks held-out interactions in the original ids with --remap-ids', async () => {
    const saved = join(dir, 'sparse-ranked.json');
    const dense = JSON.parse((await runCli('fit', '--input', train, '--test', test, '--implicit', '--rank', '4', '--iters', '2', '--json')).stdout);
    const sparse = JSON.parse((await runCli('fit', '--input', sparseTrain, '--test', sparseTest, '--implicit', '--remap-ids', '--rank', '4', '--iters', '2', '--json', '--save', saved)).stdout);
    expect(sparse.ranking.model.unknownRows).toBe(0);
    expect(sparse.ranking.model.rows).toBe(dense.ranking.model.rows);
    // The CLI's figures are the library's on the saved model with the file's original ids.
    const m = loadModel<number>(saved);
    const held = { rows: data.test.rows.map((r) => 1_000_000 + 7 * r), cols: data.test.cols.map((c) => 500_000_000 + c), values: data.test.values };
    expect(sparse.ranking.model).toEqual(evaluateRanking(m, held, { k: 10 }));
  });

  it('refuses implicit flags without --implicit, in one line with exit 2', async () => {
    const r = await runCli('fit', '--input', train, '--alpha', '3');
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--alpha applies to --implicit only \[E_INVALID_ARGUMENT\]/);
    const s = await runCli('fit', '--input', train, '--implicit', '--solver', 'lu');
    expect(s.code).toBe(2);
    expect(s.stderr).toMatch(/solver must be "cg" or "cholesky"/);
  });
});

describe('collabperf recommend', () => {
  it("lists a row's best columns, its training columns left out", async () => {
    const r = await runCli('recommend', '--model', model, '--row', '3', '-n', '5');
    expect(r.code).toBe(0);
    const rows = r.stdout.split('\n').filter((l) => /^\s+\d+\s+\d+\s+-?\d+\.\d{6}$/.test(l));
    expect(rows).toHaveLength(5);
    const own = trainCols(3);
    for (const l of rows) expect(own.has(Number(l.trim().split(/\s+/)[1]))).toBe(false);
    expect(r.stdout).toMatch(/training columns left out/);
  });

  it('--json gives the ranked items; --include-known puts training columns back', async () => {
    const j = JSON.parse((await runCli('recommend', '--model', model, '--row', '3', '-n', '120', '--json')).stdout);
    expect(j.items).toHaveLength(120 - trainCols(3).size);
    expect(j.items[0]).toMatchObject({ rank: 1 });
    for (let i = 1; i < j.items.length; i++) expect(j.items[i - 1].score).toBeGreaterThanOrEqual(j.items[i].score);
    const all = JSON.parse((await runCli('recommend', '--model', model, '--row', '3', '-n', '120', '--include-known', '--json')).stdout);
    expect(all.items).toHaveLength(120);
  });

  it('--similar-to lists the most similar columns by cosine, not the column itself', async () => {
    const j = JSON.parse((await runCli('recommend', '--model', model, '--similar-to', '7', '-n', '4', '--json')).stdout);
    expect(j.items).toHaveLength(4);
    expect(j.items.some((x: { col: number }) => x.col === 7)).toBe(false);
    for (const x of j.items) expect(Math.abs(x.score)).toBeLessThanOrEqual(1 + 1e-12);
  });

  it('speaks the original ids of a model fitted with --remap-ids', async () => {
    const m = join(dir, 'sparse.json');
    expect((await runCli('fit', '--input', sparseTrain, '--implicit', '--remap-ids', '--rank', '4', '--iters', '2', '--save', m)).code).toBe(0);
    const j = JSON.parse((await runCli('recommend', '--model', m, '--row', String(1_000_000 + 7 * 3), '-n', '5', '--json')).stdout);
    expect(j.items).toHaveLength(5);
    const own = trainCols(3);
    for (const x of j.items) {
      expect(x.col).toBeGreaterThanOrEqual(500_000_000);
      expect(own.has(x.col - 500_000_000)).toBe(false);
    }
    const missing = await runCli('recommend', '--model', m, '--row', '3');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/row id 3 is not in the model \[E_NOT_FOUND\]/);
  });

  it('reads named rows and columns as string ids and speaks them back', async () => {
    const m = join(dir, 'named.json');
    const f = await runCli('fit', '--input', namedTrain, '--test', namedTest, '--implicit', '--rank', '4', '--iters', '2', '--save', m, '--json');
    expect(f.code).toBe(0);
    const fj = JSON.parse(f.stdout);
    // The same interactions as train.txt: ranking over the same held-out rows, every test id known.
    expect(fj.ranking.model.rows).toBeGreaterThan(100);
    expect(fj.ranking.model.unknownRows).toBe(0);
    const j = JSON.parse((await runCli('recommend', '--model', m, '--row', 'user-3', '-n', '5', '--json')).stdout);
    expect(j.items).toHaveLength(5);
    const own = trainCols(3);
    for (const x of j.items) {
      expect(x.col).toMatch(/^item-\d+$/);
      expect(own.has(Number(x.col.slice(5)))).toBe(false);
    }
    const sim = JSON.parse((await runCli('recommend', '--model', m, '--similar-to', 'item-7', '-n', '3', '--json')).stdout);
    expect(sim.items.map((x: { col: string }) => x.col)).not.toContain('item-7');
    const missing = await runCli('recommend', '--model', m, '--row', 'user-x');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/row id "user-x" is not in the model \[E_NOT_FOUND\]/);
  });

  it('a rating given twice names both file lines and the ids as the file writes them', async () => {
    const named = join(dir, 'dup-named.txt');
    writeFileSync(named, 'user item rating\nu1 i1 3\n# a comment\nu2 i2 1\nu1 i1 4\n');
    const a = await runCli('fit', '--input', named);
    expect(a.code).toBe(2);
    expect(a.stderr.trim()).toBe(`collabperf: ${named}, line 5: row "u1", column "i1" is given twice, on lines 2 and 5 [E_DUPLICATE_ENTRY]`);
    const plain = join(dir, 'dup-plain.txt');
    writeFileSync(plain, '1 2 3\n0 5 1\n1 2 4\n');
    const b = await runCli('fit', '--input', plain);
    expect(b.stderr).toMatch(/line 3: row 1, column 2 is given twice, on lines 1 and 3 \[E_DUPLICATE_ENTRY\]/);
  });

  it('--implicit sums repeated interactions into their cell, says so, and fits what the summed file fits', async () => {
    const log = join(dir, 'plays-log.txt');
    const summed = join(dir, 'plays-summed.txt');
    writeFileSync(log, 'user item plays\nu1 i1 3\nu2 i2 1\nu1 i1 4\nu3 i1 2\nu2 i2 1\nu3 i2 5\n');
    writeFileSync(summed, 'user item plays\nu1 i1 7\nu2 i2 2\nu3 i1 2\nu3 i2 5\n');
    const args = ['--implicit', '--rank', '2', '--iters', '3', '--lambda', '0.1'];
    const text = await runCli('fit', '--input', log, ...args);
    expect(text.code).toBe(0);
    expect(text.stderr).toContain(`${log}: 2 interaction(s) repeat a row and column already given; their values are summed into that cell`);
    const a = await runCli('fit', '--input', log, ...args, '--json');
    const b = await runCli('fit', '--input', summed, ...args, '--json');
    const ja = JSON.parse(a.stdout);
    const jb = JSON.parse(b.stdout);
    expect(ja.summedDuplicates).toBe(2);
    expect(jb.summedDuplicates).toBe(0);
    expect(ja.shape).toEqual({ rows: 3, cols: 2, ratings: 4 });
    expect(ja.iterations.map((r: { objective: number }) => r.objective)).toEqual(jb.iterations.map((r: { objective: number }) => r.objective));
  });

  it('a file of indices still reads as indices; names map through a training file\'s names', () => {
    expect(readTriplets(train, { stringIds: 'auto' }).stringIds).toBeUndefined();
    const named = readTriplets(namedTrain, { stringIds: 'auto' });
    expect(named.stringIds!.rows[named.rows[0]]).toBe(`user-${data.train.rows[0]}`);
    expect(named.values).toEqual(data.train.values);
    const t = readTriplets(namedTest, { stringIdsFrom: named.stringIds });
    expect(t.stringIds).toBe(named.stringIds);
    expect(t.stringIds!.cols[t.cols[0]]).toBe(`item-${data.test.cols[0]}`);
    const unknown = join(dir, 'unknown.txt');
    writeFileSync(unknown, 'user-0 item-nope 1\n');
    expect(() => readTriplets(unknown, { stringIdsFrom: named.stringIds })).toThrow(expect.objectContaining({ code: 'E_NOT_FOUND' }));
  });

  it('usage errors are one line with exit 2', async () => {
    for (const args of [
      ['recommend', '--model', model],
      ['recommend', '--model', model, '--row', '1', '--similar-to', '2'],
      ['recommend', '--model', model, '--row', 'x'],
      ['recommend', '--model', model, '--row', '1', '-n', '0'],
      ['recommend', '--row', '1'],
    ]) {
      const r = await runCli(...args);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    const j = await runCli('recommend', '--model', model, '--json');
    expect(JSON.parse(j.stdout).error.message).toMatch(/exactly one of --row and --similar-to/);
  });
});
