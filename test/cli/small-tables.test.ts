/**
 * Honest behaviour on small tables (issue 11): eval picks a protocol that holds out enough cells
 * and says so, advise stops when no benchmark is expected to help and cautions under 10 reference
 * models, and importance labels its totals as changes, not errors.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MIN_HELD_OUT_CELLS } from '../../src/cli/commands/eval.js';
import { MIN_REFERENCE_MODELS } from '../../src/cli/commands/advise.js';
import { runCli } from '../helpers/cli.js';
import { MODELS, OBSERVED, writeTables } from './tables.js';

const tables = writeTables();
afterAll(() => rmSync(tables.dir, { recursive: true, force: true }));

describe('eval on a 16-model table', () => {
  it('with the default protocol, holds out enough cells per seed and says which protocol it used', async () => {
    const r = await runCli('eval', '--data', tables.wide, '--methods', 'mean,knn', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    // cells:0.05 of 82 scores would be 4 cells; the chosen fraction holds out at least MIN_HELD_OUT_CELLS
    // per seed, or as many as a fifth of the table and more seeds to make up the rest.
    expect(j.protocol).not.toBe('cells:0.05');
    const fraction = Number(/^cells:(.*)$/.exec(j.protocol)![1]);
    const held = Math.round(fraction * OBSERVED);
    expect(held >= MIN_HELD_OUT_CELLS || fraction === 0.2).toBe(true);
    expect(j.seeds.length * held).toBeGreaterThanOrEqual(5 * MIN_HELD_OUT_CELLS);
    expect(j.protocolNote).toMatch(new RegExp(`would hold out only 4 cell\\(s\\) per seed of this table's ${OBSERVED}; using ${j.protocol.replace('.', '\\.')}`));
    expect(j.warnings).toContain(j.protocolNote);
    // Spearman is computed, not '-': every seed holds out several cells of a task.
    for (const m of j.methods) expect(Number.isFinite(m.mean.spearman), m.method).toBe(true);
  });
  it('the human table states the protocol and the note once, on stdout, within 80 columns', async () => {
    const r = await runCli('eval', '--data', tables.wide, '--methods', 'mean');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^protocol cells:0\.2, 10 seed\(s\)/m);
    expect(r.stdout.match(/would hold out only 4 cell/g)).toHaveLength(1);
    for (const l of r.stdout.split('\n')) expect([...l].length, l).toBeLessThanOrEqual(80);
    expect(r.stderr).not.toMatch(/would hold out only/);
  });
  it('a protocol the user chose is kept, with a warning that it is noisy', async () => {
    const j = JSON.parse((await runCli('eval', '--data', tables.wide, '--methods', 'mean', '--protocol', 'cells:0.05', '--json')).stdout);
    expect(j.protocol).toBe('cells:0.05');
    expect(j.seeds).toHaveLength(5);
    expect(j.protocolNote).toMatch(/holds out only 4 cell\(s\) per seed of 82 \(fewer than 30\); the metrics are noisy/);
  });
  it('a large table keeps the default protocol without a note', async () => {
    const j = JSON.parse((await runCli('eval', '--data', 'helm-classic', '--methods', 'mean', '--seeds', '1', '--json')).stdout);
    expect(j.protocol).toBe('cells:0.05');
    expect(j.protocolNote).toBeNull();
    expect(j.warnings).toEqual([]);
  });
});

describe('advise on a 16-model table', () => {
  it('stops when the best remaining benchmark is not expected to lower the error, and says so', async () => {
    const r = await runCli('advise', '--data', tables.wide, '--new', 'MMLU=60,GSM8K=50', '--budget', '4', '--method', 'mean', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.steps.length).toBeLessThan(4);
    for (const s of j.steps) expect(s.gain, s.task).toBeGreaterThan(0);
    expect(j.stopped.atStep).toBe(j.steps.length + 1);
    expect(j.stopped.bestRemaining.gain).toBeLessThanOrEqual(0);
    expect(j.stopped.reason).toMatch(new RegExp(`^stopped after ${j.steps.length} of 4 step\\(s\\): .*not expected to lower the error$`));
    const text = await runCli('advise', '--data', tables.wide, '--new', 'MMLU=60,GSM8K=50', '--budget', '4', '--method', 'mean');
    expect(text.stdout.trim().split('\n').at(-1)).toBe(j.stopped.reason);
  });
  it(`cautions when the advice rests on fewer than ${MIN_REFERENCE_MODELS} reference models`, async () => {
    const r = await runCli('advise', '--data', tables.wide, '--new', 'MMLU=60,GSM8K=50', '--budget', '1', '--method', 'mean', '--json');
    const j = JSON.parse(r.stdout);
    expect(j.referenceModels).toBeLessThan(MIN_REFERENCE_MODELS);
    expect(j.warnings).toContain(`the advice rests on ${j.referenceModels} reference model(s) (fewer than ${MIN_REFERENCE_MODELS}): the expected errors are rough estimates`);
    const text = await runCli('advise', '--data', tables.wide, '--new', 'MMLU=60,GSM8K=50', '--budget', '1', '--method', 'mean');
    expect(text.stderr).toMatch(/warning: the advice rests on \d reference model\(s\)/);
    const big = JSON.parse((await runCli('advise', '--new', 'MMLU=60,GSM8K=50', '--budget', '1', '--method', 'mean', '--json')).stdout);
    expect(big.referenceModels).toBeGreaterThanOrEqual(MIN_REFERENCE_MODELS);
    expect(big.warnings).toEqual([]);
  });
});

describe('importance', () => {
  it('labels the totals as reductions against the method without factors, never as an error of 0', async () => {
    const factors = join(tables.dir, 'factors.csv');
    writeFileSync(factors, ['model,params,open', ...MODELS.map((m, i) => `${m},${(1 + i) * 1e9},${i % 2 === 0 ? 'yes' : 'no'}`)].join('\n'));
    const r = await runCli('importance', '--data', tables.wide, '--model-factors', factors, '--method', 'cmf', '--protocol', 'cells:0.2');
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/with no factors 0\.0000/);
    expect(r.stdout).toMatch(/^reduction of mae100 vs the method without factors \(baseline, 0 by definition\): with all factors [+-]\d+\.\d{4}/m);
    const j = JSON.parse((await runCli('importance', '--data', tables.wide, '--model-factors', factors, '--method', 'cmf', '--protocol', 'cells:0.2', '--json')).stdout);
    const shown = Number(/with all factors ([+-]\d+\.\d{4})/.exec(r.stdout)![1]);
    expect(shown).toBeCloseTo(j.full - j.empty, 4);
    expect(j.factors.map((f: { factor: string }) => f.factor).sort()).toEqual(['model:open', 'model:params']);
  });
});
