/**
 * CLI conventions of issue 11, driven as a user types them: --version, one-line usage errors with
 * exit code 2 and a suggestion, methods listed in the help of the commands taking them, a short
 * predict header, an eval table that fits 80 columns, the real thread count of fit, and interval
 * bounds with two decimals.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PREDICTORS } from '../../src/app/predictors/index.js';
import { runCli } from '../helpers/cli.js';
import { writeTables } from './tables.js';
import { rmSync } from 'node:fs';

const tables = writeTables();
afterAll(() => rmSync(tables.dir, { recursive: true, force: true }));

/** Display width: code points, so `±` counts as one column as a terminal draws it. */
const cols = (line: string): number => [...line].length;
const lines = (s: string): string[] => s.split('\n').filter((l) => l !== '');

describe('--version', () => {
  it('prints the version of package.json and exits 0, as -V too', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = await runCli(flag);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${pkg.version}\n`);
      expect(r.stderr).toBe('');
    }
  });
});

describe('usage errors', () => {
  it('an unknown option is one line on stderr with the closest option, exit 2', async () => {
    const r = await runCli('predict', '--metod', 'mean');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe("collabperf: error: unknown option '--metod' (did you mean --method?)\n");
  });
  it('an unknown command suggests the closest command, exit 2', async () => {
    const r = await runCli('predcit');
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/unknown command 'predcit' \(did you mean predict\?\)/);
  });
  it('an option without its value is one line, exit 2', async () => {
    const r = await runCli('predict', '--method');
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/option '--method <name>' argument missing/);
  });
  it('with --json the usage error is one JSON document on stdout, still exit 2', async () => {
    const r = await runCli('eval', '--json', '--sedes', '3');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('');
    const j = JSON.parse(r.stdout);
    expect(j.error.code).toBe('E_INVALID_ARGUMENT');
    expect(j.error.message).toBe("unknown option '--sedes' (did you mean --seeds?)");
  });
  it('help exits 0', async () => {
    const r = await runCli('predict', '--help');
    expect(r.code).toBe(0);
  });
});

describe('help of the commands taking a method', () => {
  it('predict, eval, advise and report --help list every method', async () => {
    for (const cmd of ['predict', 'eval', 'advise', 'report']) {
      const r = await runCli(cmd, '--help');
      expect(r.code, cmd).toBe(0);
      const at = r.stdout.indexOf('Methods (default');
      expect(at, `${cmd} has a Methods section`).toBeGreaterThanOrEqual(0);
      const help = r.stdout.slice(at);
      for (const p of PREDICTORS) expect(help, `${cmd} lists ${p.name}`).toMatch(new RegExp(`^  ${p.name.replace(/[-]/g, '\\-')}\\s{2,}\\S`, 'm'));
      expect(r.stdout, cmd).not.toMatch(/see `collabperf eval --help`/);
    }
  });
});

describe('predict output', () => {
  it('the header is one short line; --verbose adds the hyperparameters on a line of their own', async () => {
    const plain = await runCli('predict', '--new', 'MMLU=66.6,GSM8K=45.8', '--no-intervals');
    expect(plain.code).toBe(0);
    const head = lines(plain.stdout)[0];
    expect(cols(head)).toBeLessThanOrEqual(100);
    expect(head).toMatch(/^new model on crowdsource, method \S+, (fold-in|refit)$/);
    expect(plain.stdout).not.toMatch(/chosen:/);
    const verbose = await runCli('predict', '--new', 'MMLU=66.6,GSM8K=45.8', '--no-intervals', '--verbose');
    const v = lines(verbose.stdout);
    expect(v[0]).toBe(head);
    expect(v[1]).toMatch(/^chosen: \S+=\S+/);
    // Same table below the header, with and without --verbose.
    expect(v.slice(2)).toEqual(lines(plain.stdout).slice(1));
  });
  it('filling a table whose factors the method ignores says so in --json and with --verbose, not on every run', async () => {
    const plain = await runCli('predict', '--model', 'Llama 3 8B', '--no-intervals', '--method', 'ensemble');
    expect(plain.code).toBe(0);
    expect(lines(plain.stdout)[0]).toBe('crowdsource: 19 missing cell(s) predicted with ensemble');
    expect(plain.stderr).not.toMatch(/does not use factors/);
    expect((await runCli('predict', '--model', 'Llama 3 8B', '--no-intervals', '--method', 'ensemble', '--verbose')).stderr).toMatch(/method "ensemble" does not use factors/);
    const j = JSON.parse((await runCli('predict', '--model', 'Llama 3 8B', '--no-intervals', '--method', 'ensemble', '--json')).stdout);
    expect(j.warnings.some((w: string) => /does not use factors/.test(w))).toBe(true);
  });
  it('the default (stack) fills a table with factors through its factor-aware candidate, and says nothing about factors', async () => {
    const j = JSON.parse((await runCli('predict', '--model', 'Llama 3 8B', '--no-intervals', '--json')).stdout);
    expect(j.method).toBe('stack');
    expect(j.chosen.factorsUsed).toBe(true);
    expect(j.chosen['many.cmf'] + j.chosen['few.cmf']).toBeGreaterThan(0);
    expect(j.warnings.some((w: string) => /factors/.test(w))).toBe(false);
  });
  it('prints every prediction and interval bound with two decimals, 100.00 beside 87.66', async () => {
    const r = await runCli('predict', '--data', tables.wide, '--method', 'mean');
    expect(r.code).toBe(0);
    const rows = lines(r.stdout).filter((l) => l.startsWith('model-'));
    expect(rows).toHaveLength(96 - 82);
    for (const row of rows) expect(row).toMatch(/^model-\d+\s+\S+\s+-?\d+\.\d\d  \[-?\d+\.\d\d, -?\d+\.\d\d\]$/);
    // Bounds clamped to the scale print as 100.00 / 0.00, never 100.0.
    const high = join(tables.dir, 'high.csv');
    writeFileSync(high, ['model,A,B,C', 'a,99,98,', 'b,97,99,99.5', 'c,40,45,99', 'd,96,,98', 'e,20,30,97', 'f,99.5,99,99'].join('\n'));
    const h = await runCli('predict', '--data', high, '--method', 'mean');
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/, 100\.00\]/);
    expect(h.stdout).not.toMatch(/\d\.\d\b(?!\d)/);
  });
});

describe('eval table', () => {
  it('every method of the default table fits 80 columns; --wide has every column; --columns picks', async () => {
    const r = await runCli('eval', '--data', tables.wide, '--methods', 'all', '--seeds', '2', '--protocol', 'cells:0.2');
    expect(r.code).toBe(0);
    const out = lines(r.stdout);
    const header = out.findIndex((l) => l.startsWith('method '));
    const table = out.slice(header, header + 1 + PREDICTORS.length);
    expect(table[0].split(/\s+/)).toEqual(['method', 'MAE100', 'RMSE100', '±5pt', 'Spearman', 'seconds']);
    expect(table.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(PREDICTORS.map((p) => p.name));
    for (const l of table) expect(cols(l), l).toBeLessThanOrEqual(80);
    const wide = lines((await runCli('eval', '--data', tables.wide, '--methods', 'mean,knn', '--seeds', '2', '--protocol', 'cells:0.2', '--wide')).stdout);
    const wideHead = wide.find((l) => l.startsWith('method '))!;
    expect(wideHead.split(/\s{2,}/)).toEqual(['method', 'MAE', 'MAE100', 'medAE100', 'RMSE100', '±3pt', '±5pt', 'Spearman', 'nMSE', 'nL1', 'rank acc', 'MAE@2', 'pool', 'seconds']);
    const picked = lines((await runCli('eval', '--data', tables.wide, '--methods', 'mean', '--seeds', '2', '--protocol', 'cells:0.2', '--columns', 'pool,mae')).stdout);
    expect(picked.find((l) => l.startsWith('method '))!.split(/\s+/)).toEqual(['method', 'MAE', 'pool']);
    const bad = await runCli('eval', '--data', tables.wide, '--methods', 'mean', '--columns', 'MAE,speed');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown column "speed"/);
  });
});

describe('fit thread count', () => {
  it('prints the threads the backend really runs, which info reports, beside the threads requested', async () => {
    const tri = join(tables.dir, 'tri.txt');
    const rows: string[] = [];
    for (let i = 0; i < 40; i++) for (let j = 0; j < 12; j++) if ((i * 5 + j * 3) % 4 !== 0) rows.push(`${i} ${j} ${1 + ((i * j) % 5)}`);
    writeFileSync(tri, `${rows.join('\n')}\n`);
    const available: string[] = JSON.parse((await runCli('info', '--json')).stdout).available.map((b: { name: string }) => b.name);
    expect(available).toContain('ts');
    for (const backend of available) {
      const info = JSON.parse((await runCli('info', '--backend', backend, '--json')).stdout);
      const r = await runCli('fit', '--input', tri, '--backend', backend, '--iters', '2', '--threads', '8');
      expect(r.code, backend).toBe(0);
      const m = /on the (\S+) backend .*?, (\d+) thread\(s\) \(8 requested\)/.exec(r.stdout);
      expect(m, r.stdout).not.toBeNull();
      expect(m![1]).toBe(backend);
      expect(Number(m![2])).toBe(Math.min(8, info.active.maxThreads));
    }
  });
});
