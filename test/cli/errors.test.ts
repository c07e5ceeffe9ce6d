/**
 * Errors that help, and spreadsheet exports read as meant (issue 11): a misspelled task gets a
 * suggestion, a missing file a plain message, a long CSV is read as long, `86.4%` and `70,5` are
 * accepted with a note, and a transposed table is pointed at `--tasks-as-rows`.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { MODELS, OBSERVED, TASKS, writeTables } from './tables.js';

const tables = writeTables();
afterAll(() => rmSync(tables.dir, { recursive: true, force: true }));
const lines = (s: string): string[] => s.split('\n').filter((l) => l !== '');

type Cell = { model: string; task: string; prediction: number };
async function predictJson(...args: string[]): Promise<{ warnings: string[]; missing: number; predictions: Cell[] }> {
  const r = await runCli('predict', '--method', 'mean', '--no-intervals', '--json', ...args);
  expect(r.code, r.stdout).toBe(0);
  return JSON.parse(r.stdout);
}

describe('a misspelled task', () => {
  it('names the closest task and a few others, in one line, exit 2', async () => {
    const r = await runCli('predict', '--new', 'GSMK8=50', '--method', 'mean');
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/no task named "GSMK8" in dataset "crowdsource"; did you mean "GSM8K\(4-shot\)"\? \(29 tasks: "BoolQ\(0-shot\)", /);
    expect(r.stderr).toMatch(/\[E_NOT_FOUND\]\n$/);
  });
  it('advise and --costs get the same hint', async () => {
    const a = await runCli('advise', '--new', 'MMLU=60,HelaSwag=70', '--method', 'mean');
    expect(a.code).toBe(2);
    // Both HellaSwag settings are one edit away once the setting is set aside.
    expect(a.stderr).toMatch(/did you mean "HellaSwag\((10|zero)-shot\)" or "HellaSwag\((10|zero)-shot\)"\?/);
    const c = await runCli('advise', '--new', 'MMLU=60', '--costs', 'GSM8K=1,Trivia QA=2', '--method', 'mean');
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/"Trivia QA".*did you mean "TriviaQA\(5-shot\)"/);
  });
  it('a name far from every task lists tasks but suggests none', async () => {
    const r = await runCli('predict', '--new', 'Zzyzx=50', '--method', 'mean');
    expect(r.code).toBe(2);
    expect(r.stderr).not.toMatch(/did you mean/);
    expect(r.stderr).toMatch(/29 tasks: /);
  });
});

describe('a missing file', () => {
  it('says it cannot read the file, without Node\'s raw ENOENT text; --json carries code E_FILE and the file', async () => {
    const missing = join(tables.dir, 'nowhere.csv');
    const r = await runCli('predict', '--data', missing, '--method', 'mean');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`collabperf: cannot read ${missing}: no such file [E_FILE]\n`);
    const j = JSON.parse((await runCli('eval', '--data', missing, '--json')).stdout);
    expect(j.error).toMatchObject({ code: 'E_FILE', file: missing, message: `cannot read ${missing}: no such file` });
    expect(JSON.stringify(j)).not.toMatch(/ENOENT/);
  });
  it('a directory is named as such', async () => {
    const r = await runCli('predict', '--data', tables.dir, '--method', 'mean');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot read .*: is a directory \[E_FILE\]/);
  });
});

describe('spreadsheet exports', () => {
  it('a long CSV headed Model,Benchmark,Score is read as long, says so, and holds the same cells as the wide table', async () => {
    const wide = await predictJson('--data', tables.wide);
    const long = await predictJson('--data', tables.long);
    expect(long.warnings.some((w) => /read as a long table \(columns "Model" = model, "Benchmark" = task, "Score" = score\)/.test(w))).toBe(true);
    expect(long.missing).toBe(MODELS.length * TASKS.length - OBSERVED);
    const key = (c: Cell) => `${c.model}|${c.task}`;
    expect(long.predictions.map(key).sort()).toEqual(wide.predictions.map(key).sort());
    const r = await runCli('predict', '--data', tables.long, '--method', 'mean', '--no-intervals');
    expect(r.stderr).toMatch(/^collabperf: warning: read as a long table/m);
  });
  it('86.4% is read as 86.4 with a note: the same predictions as the plain table', async () => {
    const plain = await predictJson('--data', tables.wide);
    const pct = await predictJson('--data', tables.percent);
    expect(plain.warnings).toEqual([]);
    expect(pct.warnings).toEqual([expect.stringMatching(new RegExp(`^${OBSERVED} score\\(s\\) had a percent sign, which was dropped`))]);
    expect(pct.predictions).toEqual(plain.predictions);
  });
  it('70,5 in a semicolon file is read as 70.5 with a note: the same predictions as the plain table', async () => {
    const plain = await predictJson('--data', tables.wide);
    const comma = await predictJson('--data', tables.comma);
    expect(comma.warnings).toEqual([expect.stringMatching(/score\(s\) had a decimal comma, read as a decimal point/)]);
    expect(comma.predictions).toEqual(plain.predictions);
  });
  it('a transposed table (benchmarks as rows) is read with a warning naming --tasks-as-rows, which reads it right', async () => {
    const r = await runCli('predict', '--data', tables.transposed, '--method', 'mean', '--no-intervals');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^collabperf: warning: the table has 6 rows and 16 score columns, and its row names look like benchmarks \(MMLU, GSM8K, HellaSwag\); .*pass --tasks-as-rows/m);
    const plain = await predictJson('--data', tables.wide);
    const fixed = await predictJson('--data', tables.transposed, '--tasks-as-rows');
    expect(fixed.warnings).toEqual([]);
    expect(fixed.predictions).toEqual(plain.predictions);
  });
});
