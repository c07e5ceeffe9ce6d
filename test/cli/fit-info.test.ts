import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeTriplets } from '../../src/factorization/triplets.js';
import { syntheticRatings } from '../../src/factorization/synthetic.js';
import { loadModel } from '../../src/factorization/model-file.js';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'collabperf-cli-'));
const data = syntheticRatings({ nRows: 300, nCols: 120, nnz: 9000, rank: 3, noise: 0.1, testFraction: 0.1, seed: 4 });
const train = join(dir, 'train.txt');
const test = join(dir, 'test.txt');
writeTriplets(train, data.train.rows, data.train.cols, data.train.values);
writeTriplets(test, data.test.rows, data.test.cols, data.test.values);

describe('collabperf fit', () => {
  it('prints per-iteration seconds and train/test RMSE, then totals', async () => {
    const r = await runCli('fit', '--input', train, '--test', test, '--rank', '4', '--iters', '3');
    expect(r.code).toBe(0);
    const rows = r.stdout.split('\n').filter((l) => /^\s+\d+\s+\d+\.\d+\s+\d+\.\d+\s+\d+\.\d+$/.test(l));
    expect(rows).toHaveLength(3);
    expect(r.stdout).toMatch(/total .* s\/iter\), train RMSE \d\.\d+, test RMSE \d\.\d+, peak RSS \d+ MB/);
  });
  it('--dtype float32 keeps float32 factors in the saved model; an unknown dtype is one usage line', async () => {
    const saved = join(dir, 'model32.json');
    const r = await runCli('fit', '--input', train, '--rank', '4', '--iters', '3', '--dtype', 'float32', '--save', saved);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ALS rank 4, float32 factors on the/m);
    const m = loadModel(saved);
    expect(m.U).toBeInstanceOf(Float32Array);
    expect(m.V).toBeInstanceOf(Float32Array);
    const bad = await runCli('fit', '--input', train, '--dtype', 'float16');
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/dtype/);
  });
  it('--json gives one document with the iterations and totals; --save keeps the model', async () => {
    const saved = join(dir, 'model.json');
    const r = await runCli('fit', '--input', train, '--test', test, '--algo', 'sgd', '--iters', '4', '--rank', '3', '--json', '--save', saved);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.iterations).toHaveLength(4);
    expect(j.shape.ratings).toBe(data.train.rows.length);
    expect(j.totals.testRmse).toBeGreaterThan(0);
    expect(j.totals.testRmse).toBeLessThan(1.5);
    expect(j.options.algo).toBe('sgd');
    expect(existsSync(saved)).toBe(true);
    expect(loadModel(saved).k).toBe(3);
  });
  it('reports bad input with the code, and as JSON with --json', async () => {
    const r = await runCli('fit', '--input', join(dir, 'nope.txt'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot open.*\[E_FILE\]/);
    const j = await runCli('fit', '--input', train, '--rank', '-3', '--json');
    expect(j.code).toBe(2);
    expect(JSON.parse(j.stdout).error).toMatchObject({ code: 'E_INVALID_ARGUMENT', field: 'rank' });
    const n = await runCli('fit', '--input', train, '--rank', 'ten');
    expect(n.stderr).toMatch(/--rank must be a number/);
  });
});

describe('collabperf info', () => {
  it('names the active backend and its BLAS', async () => {
    const r = await runCli('info');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/active backend: (native|ts)/);
    // ...and why it was chosen (auto's rule, or the request).
    expect(r.stdout).toMatch(/^ {2}why: (auto: the highest-priority backend that loads|requested)/m);
    const j = JSON.parse((await runCli('info', '--json')).stdout);
    expect(j.active.name).toMatch(/native|ts/);
    expect(typeof j.active.blas).toBe('string');
  });
});
