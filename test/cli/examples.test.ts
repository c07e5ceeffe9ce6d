/**
 * The README's "Using it from code" examples run as a user runs them (`node examples/X.mjs`, the
 * package importing itself through its subpath exports, so through the compiled dist/), and print
 * what the README shows: the test checks the shape and the invariants of their output.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadBuiltinDataset } from '../../src/app/data/builtin.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

async function example(name: string): Promise<string[]> {
  for (const sub of ['predict', 'factorization']) {
    if (!existsSync(`${root}dist/api/${sub}.js`)) throw new Error(`dist/api/${sub}.js is missing: the examples import the built package (npm run build)`);
  }
  const { stdout, stderr } = await run(process.execPath, [`examples/${name}`], { cwd: root, timeout: 110_000 });
  expect(stderr).toBe('');
  return stdout.trimEnd().split('\n');
}

describe('examples/predict.mjs (collabperf/predict)', () => {
  it('loads crowdsource, fills one model\'s row with intervals and predicts a new model from two scores', async () => {
    const out = await example('predict.mjs');
    expect(out).toHaveLength(8);
    expect(out[0]).toBe('crowdsource: 72 models x 29 tasks, 878 scores');
    const ds = loadBuiltinDataset('crowdsource');
    const m = ds.models.findIndex((x) => x.name === 'Llama 3 8B');
    let known = 0;
    for (let e = 0; e < ds.scores.value.length; e++) if (ds.scores.model[e] === m) known++;
    expect(out[1]).toMatch(new RegExp(`^Llama 3 8B: ${ds.tasks.length - known} missing scores predicted with \\S+; the first five:$`));
    const taskNames = new Set(ds.tasks.map((t) => t.name));
    for (const line of out.slice(2, 7)) {
      const c = /^ {2}(.+?)\s+(\d+\.\d\d) {2}\[(\d+\.\d\d), (\d+\.\d\d)\]$/.exec(line);
      expect(c, line).not.toBeNull();
      expect(taskNames.has(c![1]), c![1]).toBe(true);
      const [p, lo, hi] = [Number(c![2]), Number(c![3]), Number(c![4])];
      expect(lo).toBeLessThanOrEqual(p);
      expect(p).toBeLessThanOrEqual(hi);
      expect(lo).toBeGreaterThanOrEqual(0);
      expect(hi).toBeLessThanOrEqual(100);
    }
    const fresh = /^my-model \((fold-in|refit)\): strongest predicted tasks (.+) (\d+\.\d), (.+) (\d+\.\d), (.+) (\d+\.\d)$/.exec(out[7]);
    expect(fresh, out[7]).not.toBeNull();
    const scores = [fresh![3], fresh![5], fresh![7]].map(Number);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    for (const t of [fresh![2], fresh![4], fresh![6]]) expect(taskNames.has(t), t).toBe(true);
  }, 120_000);
});

describe('examples/factorize.mjs (collabperf/factorization)', () => {
  it('fits with a validation set, predicts, recommends, folds in a row, and a saved model loads back identical', async () => {
    const out = await example('factorize.mjs');
    expect(out[0]).toMatch(/^backend: (native|ts) \(.+\)$/);
    const sweeps = out.slice(1, 9).map((l) => /^sweep (\d): \d+\.\d\d s, train RMSE (\d\.\d{4}), test RMSE (\d\.\d{4})$/.exec(l));
    sweeps.forEach((s, i) => expect(s, out[i + 1]).not.toBeNull());
    expect(sweeps.map((s) => Number(s![1]))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const train = sweeps.map((s) => Number(s![2]));
    const test = sweeps.map((s) => Number(s![3]));
    // ALS never raises the training loss; the test error ends near the planted noise (0.3).
    for (let i = 1; i < train.length; i++) expect(train[i]).toBeLessThanOrEqual(train[i - 1]);
    const kept = /^kept sweep (\d) of 8 \(best test RMSE\); noise floor 0\.3$/.exec(out[9]);
    expect(kept, out[9]).not.toBeNull();
    expect(test[Number(kept![1]) - 1]).toBe(Math.min(...test));
    expect(Math.min(...test)).toBeLessThan(0.4);
    expect(out[10]).toMatch(/^row 0, column 10: predicted \d+\.\d{3}$/);
    const rec = /^top 3 new columns for row 0: (\d+) \((\d+\.\d\d)\), (\d+) \((\d+\.\d\d)\), (\d+) \((\d+\.\d\d)\)$/.exec(out[11]);
    expect(rec, out[11]).not.toBeNull();
    const recScores = [rec![2], rec![4], rec![6]].map(Number);
    expect([...recScores].sort((a, b) => b - a)).toEqual(recScores);
    expect(out[12]).toMatch(/^a new row from 5 ratings, without refitting: column 10 predicted \d+\.\d{3}$/);
    const predicted = /predicted (\d+\.\d{3})$/.exec(out[10])![1];
    expect(out[13]).toMatch(new RegExp(`^saved \\(\\d+\\.\\d MB\\) and loaded: row 0, column 10 predicted ${predicted.replace('.', '\\.')}, identical$`));
    expect(out).toHaveLength(14);
  }, 120_000);
});
