import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'collabperf-app-cli-'));

describe('collabperf datasets', () => {
  it('lists the six built-in datasets with size and density', async () => {
    const r = await runCli('datasets', '--json');
    const j = JSON.parse(r.stdout);
    expect(j.default).toBe('crowdsource');
    expect(j.datasets.map((d: { name: string }) => d.name).sort()).toEqual(['crowdsource', 'frontier', 'helm-classic', 'helm-core', 'obsscaling', 'openllm-v1']);
    const text = (await runCli('datasets')).stdout;
    expect(text).toMatch(/crowdsource\s+72\s+29\s+878\s+42\.0%/);
    expect(text).toMatch(/frontier\s+83\s+49\s+1375\s+33\.8%/);
  });
});

describe('collabperf predict', () => {
  it('fills every missing cell of the default dataset', async () => {
    const r = await runCli('predict', '--method', 'mean', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.missing).toBe(72 * 29 - 878);
    expect(j.predictions[0]).toEqual({ model: expect.any(String), task: expect.any(String), prediction: expect.any(Number), lower: expect.any(Number), upper: expect.any(Number) });
  });
  it('predicts a new model and writes CSV', async () => {
    const out = join(dir, 'new.csv');
    const r = await runCli('predict', '--new', 'MMLU=66.6,GSM8K=45.8', '--method', 'mean', '--out', out);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/MMLU\(5-shot\)\s+\S+\s+\[\S+, \S+\]\s+66\.60/);
    const csv = readFileSync(out, 'utf8').trim().split('\n');
    expect(csv[0]).toBe('task,prediction,lower,upper,given');
    expect(csv).toHaveLength(30);
  });
  it('reads a user CSV', async () => {
    const file = join(dir, 'scores.csv');
    const rows = ['model,A,B,C,D'];
    for (let m = 0; m < 12; m++) rows.push([`m${m}`, ...[0, 1, 2, 3].map((t) => ((m + t) % 5 === 0 ? '' : String(40 + 3 * m + 5 * t)))].join(','));
    writeFileSync(file, rows.join('\n'));
    const r = await runCli('predict', '--data', file, '--method', 'mf-als', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.missing).toBeGreaterThan(0);
    for (const c of j.predictions) expect(Number.isFinite(c.prediction)).toBe(true);
  });
  it('names what is wrong', async () => {
    expect((await runCli('predict', '--new', 'NoSuchBench=3', '--method', 'mean')).stderr).toMatch(/no task named "NoSuchBench".*\[E_NOT_FOUND\]/);
    expect((await runCli('predict', '--method', 'svd')).stderr).toMatch(/unknown method "svd"/);
    expect((await runCli('predict', '--data', 'nowhere')).stderr).toMatch(/neither a built-in dataset/);
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'model,A,B\nx,1,2\ny,3,oops\n');
    const r = await runCli('predict', '--data', bad, '--json');
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'E_PARSE', line: 3 });
  });
});

describe('collabperf eval', () => {
  it('reports metrics per method over seeds, and exports the split and predictions', async () => {
    const split = join(dir, 'split.json');
    const preds = join(dir, 'preds.csv');
    const r = await runCli('eval', '--methods', 'mean,knn', '--protocol', 'cells:0.1', '--seeds', '2', '--json', '--export-split', split, '--predictions', preds);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.methods.map((m: { method: string }) => m.method)).toEqual(['mean', 'knn']);
    expect(j.seeds).toEqual([0, 1]);
    expect(j.methods[1].mean.mae100).toBeGreaterThan(0);
    expect(readFileSync(preds, 'utf8').split('\n')[0]).toBe('method,seed,fold,model,task,truth,prediction');
    // Rerunning on the exported split gives the same numbers.
    const again = JSON.parse((await runCli('eval', '--methods', 'mean,knn', '--split', split, '--json')).stdout);
    expect(again.methods[1].mean.mae).toBe(j.methods[1].mean.mae);
  });
  it('rejects a bad protocol', async () => {
    const r = await runCli('eval', '--protocol', 'cells:2', '--methods', 'mean');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/E_INVALID_ARGUMENT/);
  });
});

describe('collabperf importance', () => {
  it('ranks factors by Shapley value for a factor method', async () => {
    const r = await runCli('importance', '--method', 'cmf', '--data', 'obsscaling', '--protocol', 'cells:0.1', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.exact).toBe(true);
    const sum = j.factors.reduce((s: number, f: { value: number }) => s + f.value, 0);
    expect(sum).toBeCloseTo(j.full - j.empty, 9);
    expect(j.factors.map((f: { factor: string }) => f.factor).sort()).toEqual(['model:family', 'model:flops', 'model:params', 'model:pretrainingTokens']);
    expect((await runCli('importance', '--method', 'knn')).stderr).toMatch(/does not use factors/);
  });
});

describe('intervals, probes and advice from the command line', () => {
  it('predict carries lower/upper around every prediction, and refuses a level outside (0,1)', async () => {
    const j = JSON.parse((await runCli('predict', '--method', 'knn', '--model', 'Llama 3 8B', '--json')).stdout);
    expect(j.level).toBe(0.9);
    for (const c of j.predictions) {
      expect(c.lower).toBeLessThanOrEqual(c.prediction);
      expect(c.upper).toBeGreaterThanOrEqual(c.prediction);
    }
    const none = JSON.parse((await runCli('predict', '--method', 'knn', '--model', 'Llama 3 8B', '--no-intervals', '--json')).stdout);
    expect(none.predictions[0].lower).toBeUndefined();
    const bad = await runCli('predict', '--level', '1.5', '--method', 'mean');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/strictly between 0 and 1/);
  });
  it('eval --level reports coverage and width beside the global quantile', async () => {
    const j = JSON.parse((await runCli('eval', '--methods', 'mean', '--protocol', 'cells:0.2', '--seeds', '1', '--level', '0.9', '--data', 'helm-classic', '--json')).stdout);
    expect(j.intervals[0].method).toBe('mean');
    expect(j.intervals[0].coverage).toBeGreaterThan(0.75);
    expect(j.intervals[0].meanWidth100).toBeGreaterThan(0);
  });
  it('eval --protocol probes:k compares the advisor with random probes', async () => {
    const j = JSON.parse((await runCli('eval', '--methods', 'knn', '--protocol', 'probes:2', '--seeds', '1', '--data', 'helm-classic', '--json')).stdout);
    expect(j.methods[0].curve.map((c: { probes: number }) => c.probes)).toEqual([0, 1, 2]);
    expect(j.methods[0].curve[0].advisor).toBe(j.methods[0].curve[0].random);
  });
  it('advise orders benchmarks and refuses a budget larger than the benchmarks left', async () => {
    const j = JSON.parse((await runCli('advise', '--new', 'MMLU=66.6', '--budget', '2', '--method', 'knn', '--json')).stdout);
    expect(j.steps).toHaveLength(2);
    expect(j.steps[0].expectedErrorBefore).toBeCloseTo(j.baselineError, 9);
    expect(j.steps[1].expectedErrorBefore).toBeCloseTo(j.steps[0].expectedErrorAfter, 9);
    const r = await runCli('advise', '--new', 'MMLU=66.6', '--budget', '40', '--method', 'knn');
    expect(r.code).toBe(2);
    expect((await runCli('advise', '--new', 'Nope=1')).stderr).toMatch(/E_NOT_FOUND/);
  });
});
