/**
 * The report fixes of issue 11, checked on the built HTML: a hover title on every data mark, the
 * scatter axes fitted to the data within 0–100, the held-out count per task in the per-task chart,
 * labels never truncated, and a colour legend that says what the scale of this table is.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBuiltinDataset } from '../../../src/app/data/builtin.js';
import { evaluate } from '../../../src/app/eval/evaluate.js';
import { completeMatrix } from '../../../src/app/predict.js';
import { getPredictor, parseMethods } from '../../../src/app/predictors/index.js';
import { buildReport, type ReportInput } from '../../../src/app/report/index.js';
import { scatterDomain, taskLabel } from '../../../src/app/report/charts.js';
import { describeScales } from '../../../src/app/report/data.js';
import { runCli } from '../../helpers/cli.js';
import { figures, sampleAdvice, sampleCoverage } from './fixture.js';

let input: ReportInput;
let html: string;
let charts: Map<string, string>;

beforeAll(async () => {
  const dataset = loadBuiltinDataset('crowdsource');
  const evaluation = await evaluate(dataset, parseMethods('mean,knn'), { protocol: 'cells:0.2', seeds: 1 });
  const completion = await completeMatrix(dataset, getPredictor('mean'), { seed: 0 });
  input = { dataset, evaluation, completion };
  html = await buildReport({ ...input, coverage: sampleCoverage().filter((p) => p.method === 'knn'), advice: sampleAdvice() });
  charts = figures(html);
}, 60_000);

/** The data marks of an SVG: elements vega gives role="graphics-symbol" and an aria-label, axes, legends and titles aside. */
function dataMarks(svg: string): { label: string; title: string | undefined }[] {
  const out: { label: string; title: string | undefined }[] = [];
  for (const m of svg.matchAll(/<(path|circle|rect|line|text)(\s[^>]*?)(\/?)>(<title>([^<]*)<\/title>)?/g)) {
    const attrs = m[2];
    if (!/\srole="graphics-symbol"/.test(attrs)) continue;
    const role = /\saria-roledescription="([^"]*)"/.exec(attrs)?.[1] ?? '';
    if (role === 'axis' || role === 'legend' || role === 'title' || role.endsWith('container')) continue;
    const label = /\saria-label="([^"]*)"/.exec(attrs)?.[1];
    if (label !== undefined) out.push({ label, title: m[5] });
  }
  return out;
}

describe('report fixes (issue 11)', () => {
  it('every data mark of every chart has a hover title with its values', () => {
    for (const [id, body] of charts) {
      const marks = dataMarks(body);
      expect(marks.length, id).toBeGreaterThan(0);
      for (const m of marks) expect(m.title, `${id}: ${m.label}`).toBe(m.label.split('; ').join('\n'));
    }
    // The heatmap has one titled mark per cell shown, small table or not.
    const cells = dataMarks(charts.get('chart-matrix')!).filter((m) => /(observed|predicted) /.test(m.label));
    expect(cells.length).toBeGreaterThanOrEqual(input.dataset.models.length * input.dataset.tasks.length);
  });

  it('scatter axes span the data within 0-100, rounded out to 5, never past the scale', () => {
    expect(scatterDomain([-3, 12, 104])).toEqual([0, 100]);
    expect(scatterDomain([12.5, 40, 87])).toEqual([10, 90]);
    // All cells nearly equal: a 10-point window around them, not a magnified 2-point one.
    const narrow = scatterDomain([50, 52]);
    expect(narrow[1] - narrow[0]).toBe(10);
    expect(narrow[0] <= 50 && narrow[1] >= 52).toBe(true);
    expect(scatterDomain([])).toEqual([0, 100]);
    const axes = [...charts.get('chart-scatter')!.matchAll(/aria-label="[XY]-axis titled '[^']*' for a linear scale with values from (-?[\d.]+) to (-?[\d.]+)"/g)];
    expect(axes.length).toBeGreaterThan(0);
    for (const a of axes) {
      expect(Number(a[1])).toBeGreaterThanOrEqual(0);
      expect(Number(a[2])).toBeLessThanOrEqual(100);
    }
  });

  it('the per-task chart labels each task with the held-out cells its bars average over', () => {
    expect(taskLabel('MMLU', { min: 4, max: 4 })).toBe('MMLU (n=4)');
    expect(taskLabel('MMLU', { min: 3, max: 5 })).toBe('MMLU (n=3–5)');
    // Held-out cells per task from the evaluation's own folds (every method sees the same ones).
    const perMethod = new Map<string, number>();
    const ds = input.dataset;
    const folds = input.evaluation.splits.flatMap((s) => s.folds);
    expect(folds.length).toBeGreaterThan(0);
    for (const f of folds) {
      for (let e = 0; e < ds.scores.value.length; e++) {
        if (!f.testMask[e]) continue;
        const t = ds.tasks[ds.scores.task[e]].name;
        perMethod.set(t, (perMethod.get(t) ?? 0) + 1);
      }
    }
    expect(perMethod.size).toBeGreaterThan(10);
    const body = charts.get('chart-per-task')!;
    for (const [task, n] of perMethod) expect(body, task).toContain(`>${task} (n=${n})</text>`);
  });

  it('labels are never cut with an ellipsis', () => {
    for (const [id, body] of charts) expect(body, id).not.toMatch(/…<\/text>/);
  });

  it('the colour legend says what the scale is: %, 0-1 ×100, mixed, or min-max for a table without scales', () => {
    expect(describeScales(loadBuiltinDataset('crowdsource')).legendTitle).toEqual(['Score (%)']);
    expect(describeScales(loadBuiltinDataset('helm-classic')).legendTitle).toEqual(['Score ×100', '(0–1 scores)']);
    expect(describeScales(loadBuiltinDataset('helm-core')).legendTitle).toEqual(['Score on each', "task's 0–100 scale"]);
    expect(charts.get('chart-matrix')).toContain("Gradient legend titled 'Score (%)'");
  });
});

describe('report from the command line: the legend follows --scale', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'collabperf-report-scale-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('a user CSV without scales is min-max normalised and says so; with --scale percent on every task it is in %', async () => {
    const csv = join(dir, 'scores.csv');
    const rows = ['model,A,B,C'];
    for (let m = 0; m < 14; m++) rows.push(`m${m},${30 + 3 * m},${m % 4 === 0 ? '' : 20 + 4 * m},${50 + 2 * m}`);
    writeFileSync(csv, rows.join('\n'));
    const common = ['--data', csv, '--methods', 'mean', '--method', 'mean', '--levels', '', '--probes', '0'];
    const plain = join(dir, 'plain.html');
    expect((await runCli('report', ...common, '--out', plain)).code).toBe(0);
    expect(figures(readFileSync(plain, 'utf8')).get('chart-matrix')).toMatch(/Gradient legend titled 'Per-task min–max normalised score'/);
    const pct = join(dir, 'pct.html');
    expect((await runCli('report', ...common, '--out', pct, '--scale', 'A=percent,B=percent,C=percent')).code).toBe(0);
    expect(figures(readFileSync(pct, 'utf8')).get('chart-matrix')).toContain("Gradient legend titled 'Score (%)'");
  });
});
