/**
 * Task scales from the command line (issue 8): `--scale` on the commands that read data, the
 * inferred scales said in one line per group, and warnings for scores that do not fit their scale,
 * naming the task, the model and the value, on stderr and in --json's `warnings`.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { TASKS, writeTables } from './tables.js';

const tables = writeTables();
afterAll(() => rmSync(tables.dir, { recursive: true, force: true }));
const lines = (s: string): string[] => s.split('\n').filter((l) => l !== '');

interface ScaleDoc {
  task: string;
  kind: string;
  min: number | null;
  max: number | null;
  origin: string;
  inferred: boolean;
  reason: string;
}

describe('predict: scales said when inferred', () => {
  it('a user CSV gets one line for its six inferred 0-100 tasks; --json has every scale with its reason', async () => {
    const r = await runCli('predict', '--data', tables.wide, '--method', 'mean', '--no-intervals');
    expect(r.code).toBe(0);
    expect(lines(r.stdout).filter((l) => l.startsWith('scales:'))).toEqual(['scales: 6 tasks 0-100 (inferred: all values in [0, 100], some above 1)']);
    expect(lines(r.stdout)[1]).toMatch(/^scales: /); // right under the header, before the table
    const j = JSON.parse((await runCli('predict', '--data', tables.wide, '--method', 'mean', '--no-intervals', '--json')).stdout);
    expect(j.scales.map((s: ScaleDoc) => s.task)).toEqual(TASKS);
    for (const s of j.scales as ScaleDoc[]) {
      expect(s).toMatchObject({ kind: 'percent', min: 0, max: 100, origin: 'inferred', inferred: true });
      expect(s.reason).toMatch(/^all \d+ observed values lie in \[0, 100\] and some exceed 1 \(observed [\d.]+ to [\d.]+\)$/);
    }
  });
  it('a built-in dataset declares its scales: no scales line', async () => {
    const r = await runCli('predict', '--model', 'Llama 3 8B', '--method', 'mean', '--no-intervals');
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/^scales:/m);
    const j = JSON.parse((await runCli('predict', '--model', 'Llama 3 8B', '--method', 'mean', '--no-intervals', '--json')).stdout);
    expect(new Set(j.scales.map((s: ScaleDoc) => s.origin))).toEqual(new Set(['dataset']));
  });
  it('mixed inferred scales are one line per group, naming the tasks of a small group', async () => {
    const mixed = join(tables.dir, 'mixed.csv');
    const rows = ['model,Acc,Pct,Elo'];
    for (let m = 0; m < 12; m++) rows.push(`m${m},${(0.3 + 0.05 * m).toFixed(2)},${m === 3 ? '' : 20 + 5 * m},${1000 + 25 * m}`);
    writeFileSync(mixed, rows.join('\n'));
    const r = await runCli('predict', '--data', mixed, '--method', 'mean', '--no-intervals');
    expect(r.code).toBe(0);
    expect(lines(r.stdout).filter((l) => l.startsWith('scales:'))).toEqual([
      'scales: 1 task 0-1 (inferred: all values in [0, 1]): Acc',
      'scales: 1 task 0-100 (inferred: all values in [0, 100], some above 1): Pct',
      'scales: 1 task unbounded (inferred: values outside [0, 100]): Elo',
    ]);
  });
});

describe('--scale', () => {
  it('sets the scales of the tasks named; predictions and bounds stay inside them; the others are still inferred', async () => {
    const j = JSON.parse((await runCli('predict', '--data', tables.wide, '--method', 'mean', '--scale', 'ARC=0-50,GSM8K=unbounded,mmlu=percent', '--json')).stdout);
    const byTask = new Map<string, ScaleDoc>(j.scales.map((s: ScaleDoc) => [s.task, s]));
    expect(byTask.get('ARC')).toMatchObject({ kind: 'range', min: 0, max: 50, origin: 'option', inferred: false, reason: 'given by the user as 0-50' });
    expect(byTask.get('GSM8K')).toMatchObject({ kind: 'unbounded', min: null, max: null, origin: 'option' });
    expect(byTask.get('MMLU')).toMatchObject({ kind: 'percent', origin: 'option' });
    expect(byTask.get('HellaSwag')).toMatchObject({ origin: 'inferred' });
    const arc = j.predictions.filter((c: { task: string }) => c.task === 'ARC');
    expect(arc.length).toBeGreaterThan(0);
    for (const c of arc) for (const x of [c.prediction, c.lower, c.upper]) expect(x).toBeLessThanOrEqual(50);
    // ARC has observed scores above 50: a warning names the task, the first such model and its value.
    expect(j.warnings).toEqual([expect.stringMatching(/^\d+ observed score\(s\) of task "ARC" lie outside the scale 0-50 given for it \(first: model "model-\d+", [\d.]+\); predictions are clamped to that scale$/)]);
    const text = await runCli('predict', '--data', tables.wide, '--method', 'mean', '--scale', 'ARC=0-50', '--no-intervals');
    expect(text.stderr.match(/observed score\(s\) of task "ARC"/g)).toHaveLength(1); // said once
    expect(lines(text.stdout).filter((l) => l.startsWith('scales:'))).toEqual(['scales: 5 tasks 0-100 (inferred: all values in [0, 100], some above 1)']);
  });
  it('a given score off its task\'s scale is a warning naming the model, the task and the value', async () => {
    const r = await runCli('predict', '--data', tables.wide, '--method', 'mean', '--new', 'MMLU=0.666,GSM8K=45.8', '--name', 'my-8b', '--no-intervals');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('collabperf: warning: model "my-8b": MMLU=0.666 looks like a fraction but the task is on 0-100; did you mean 66.6?\n');
    const j = JSON.parse((await runCli('predict', '--data', tables.wide, '--method', 'mean', '--new', 'MMLU=0.666,GSM8K=45.8', '--no-intervals', '--json', '--scale', 'ARC=0-100')).stdout);
    expect(j.warnings).toEqual(['model "new model": MMLU=0.666 looks like a fraction but the task is on 0-100; did you mean 66.6?']);
    const over = JSON.parse((await runCli('predict', '--data', tables.wide, '--method', 'mean', '--new', 'ARC=140', '--no-intervals', '--json')).stdout);
    expect(over.warnings).toEqual(['model "new model": ARC=140 is outside the task\'s scale 0-100']);
    const fine = JSON.parse((await runCli('predict', '--data', tables.wide, '--method', 'mean', '--new', 'MMLU=66.6', '--no-intervals', '--json')).stdout);
    expect(fine.warnings).toEqual([]);
  });
  it('a misspelled task gets the closest name; a bad scale says what is expected; both exit 2', async () => {
    const r = await runCli('predict', '--data', tables.wide, '--method', 'mean', '--scale', 'HelaSwag=0-1');
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/no task named "HelaSwag" in dataset "wide"; did you mean "HellaSwag"\?.*\[E_NOT_FOUND\]/);
    const bad = await runCli('eval', '--data', tables.wide, '--methods', 'mean', '--scale', 'ARC=100-0', '--json');
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stdout).error).toMatchObject({ code: 'E_PARSE', field: '--scale' });
    expect(JSON.parse(bad.stdout).error.message).toMatch(/expected fraction \(0-1\), percent \(0-100\), unbounded, or MIN-MAX with MIN < MAX/);
  });
  it('eval, advise, report and importance take it, and carry its warnings in their --json', async () => {
    const clash = ['--data', tables.wide, '--scale', 'ARC=0-50', '--json'];
    const want = expect.arrayContaining([expect.stringMatching(/observed score\(s\) of task "ARC" lie outside the scale 0-50/)]);
    const ev = JSON.parse((await runCli('eval', ...clash, '--methods', 'mean', '--seeds', '1', '--protocol', 'cells:0.2')).stdout);
    expect(ev.warnings).toEqual(want);
    const ad = JSON.parse((await runCli('advise', ...clash, '--new', 'MMLU=0.6,GSM8K=50', '--budget', '1', '--method', 'mean')).stdout);
    expect(ad.warnings).toEqual(want);
    expect(ad.warnings).toContain('model "new model": MMLU=0.6 looks like a fraction but the task is on 0-100; did you mean 60?');
    const factors = join(tables.dir, 'f.csv');
    writeFileSync(factors, ['model,params', ...Array.from({ length: 16 }, (_, i) => `model-${i},${i + 1}e9`)].join('\n'));
    const im = JSON.parse((await runCli('importance', ...clash, '--model-factors', factors, '--method', 'cmf', '--protocol', 'cells:0.2')).stdout);
    expect(im.warnings).toEqual(want);
    const rep = JSON.parse((await runCli('report', ...clash, '--out', join(tables.dir, 'r.html'), '--methods', 'mean', '--method', 'mean', '--levels', '', '--probes', '0')).stdout);
    expect(rep.warnings).toEqual(want);
    // Without a clash the arrays are there and empty.
    const quiet = JSON.parse((await runCli('report', '--data', tables.wide, '--json', '--out', join(tables.dir, 'q.html'), '--methods', 'mean', '--method', 'mean', '--levels', '', '--probes', '0')).stdout);
    expect(quiet.warnings).toEqual([]);
  });
});
