import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDataset } from '../../../src/app/data/dataset.js';
import { loadBuiltinDataset } from '../../../src/app/data/builtin.js';
import { evaluate } from '../../../src/app/eval/evaluate.js';
import { taskScales } from '../../../src/app/eval/metrics.js';
import { completeMatrix } from '../../../src/app/predict.js';
import { getPredictor } from '../../../src/app/predictors/index.js';
import { buildReport, matrixData, scopeSvgIds, writeReport, type ReportInput } from '../../../src/app/report/index.js';
import { countMarks, figures, helmInput, sampleAdvice, sampleCoverage } from './fixture.js';

/** Every reason an HTML page could load something: it must have none. */
function expectSelfContained(html: string): void {
  expect(html).not.toMatch(/<script[^>]*\ssrc\s*=/i);
  expect(html).not.toMatch(/<(link|img|iframe|object|embed|audio|video|source)\b/i);
  expect(html).not.toMatch(/@import/i);
  // url() only to ids of the page (vega's gradients and clip paths).
  for (const m of html.matchAll(/(?<![A-Za-z])url\(([^)]*)\)/g)) expect(m[1]).toMatch(/^#chart-[a-z-]+-\d+$/);
  expect(html).not.toMatch(/\ssrc\s*=/i);
  // Links only to anchors of the page itself.
  for (const m of html.matchAll(/\shref\s*=\s*"([^"]*)"/gi)) expect(m[1]).toMatch(/^#/);
  // The only absolute URLs are the XML namespaces that vega writes on each <svg> element.
  const urls = [...html.matchAll(/https?:\/\/[^\s"'<>)]*/gi)].map((m) => ({ url: m[0], before: html.slice(html.lastIndexOf('<', m.index!), m.index!) }));
  for (const u of urls) {
    expect(['http://www.w3.org/2000/svg', 'http://www.w3.org/1999/xlink']).toContain(u.url);
    expect(u.before).toMatch(/^<svg\s[^>]*\bxmlns(:xlink)?="$/);
  }
  expect(html).not.toMatch(/\/\/[a-z0-9.-]+\.(com|org|net|io)\b(?!\/(2000\/svg|1999\/xlink))/i);
}

describe('buildReport on helm-classic (mean, knn; cells:0.2, one seed)', () => {
  let input: ReportInput;
  let html: string;
  const warnings: string[] = [];

  beforeAll(async () => {
    input = await helmInput();
    html = await buildReport(input, { onWarning: (w) => warnings.push(w) });
  });

  it('is one self-contained HTML document', () => {
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html.trimEnd().endsWith('</html>')).toBe(true);
    expectSelfContained(html);
    // Inline script only (PNG/SVG download), and no external resource in it either.
    const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts).toHaveLength(1);
    expect(scripts[0][1]).toBe('');
    // It must at least parse (a browser would report a syntax error only at run time).
    expect(() => new Function(scripts[0][2])).not.toThrow();
  });

  it('has the four always-present charts, each an inline <svg>, and notes for the sections not given', () => {
    const figs = figures(html);
    expect([...figs.keys()]).toEqual(['chart-matrix', 'chart-scatter', 'chart-errors', 'chart-per-task']);
    for (const [id, body] of figs) {
      expect(body, id).toMatch(/^\s*<div class="chart-body"><svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^>]*\swidth="[\d.]+"\s[^>]*height="[\d.]+"/);
      expect(body.split('<svg').length - 1, id).toBe(1);
      expect(body, id).toContain('</svg></div>');
      expect(body, id).toMatch(/<text/); // axis labels rendered as text
    }
    expect(html.split('<svg').length - 1).toBe(4);
    expect(html).toMatch(/<section id="coverage">[\s\S]*?Not computed[\s\S]*?<\/section>/);
    expect(html).toMatch(/<section id="advice">[\s\S]*?Not computed[\s\S]*?<\/section>/);
    expect(warnings).toEqual([]);
  });

  it('draws one mark per cell: heatmap cells, scatter points, per-task bars', () => {
    const figs = figures(html);
    const nObserved = input.dataset.scores.value.length;
    const nPredicted = input.completion.cells.length;
    expect(nPredicted).toBe(67 * 16 - nObserved);
    expect(countMarks(figs.get('chart-matrix')!, 'rect mark')).toBe(nObserved + nPredicted);
    // The dots that mark predicted cells.
    expect(countMarks(figs.get('chart-matrix')!, 'point')).toBe(nPredicted);
    const heldOut = input.evaluation.methods.reduce((a, m) => a + m.predictions.truth.length, 0);
    expect(countMarks(figs.get('chart-scatter')!, 'circle')).toBe(heldOut);
    const tasksHeldOut = new Set(input.evaluation.methods[0].predictions.task).size;
    expect(countMarks(figs.get('chart-per-task')!, 'bar')).toBe(2 * tasksHeldOut);
    expect(countMarks(figs.get('chart-errors')!, 'bar')).toBeGreaterThan(4);
  });

  it('states the dataset, protocol, methods and a metrics table', () => {
    expect(html).toContain('<title>collabperf report: helm-classic</title>');
    expect(html).toContain('<code>cells:0.2</code>');
    for (const m of ['mean', 'knn']) expect(html).toMatch(new RegExp(`<tr><td>${m}</td><td>\\d+\\.\\d\\d</td>`));
    expect(html).toContain('876 observed cells and 196 predicted cells');
  });

  it('is deterministic', async () => {
    expect(await buildReport(input)).toBe(html);
  });

  it('draws coverage and advice when given', async () => {
    const w: string[] = [];
    const full = await buildReport({ ...input, coverage: sampleCoverage(), advice: sampleAdvice() }, { onWarning: (x) => w.push(x) });
    expectSelfContained(full);
    const figs = figures(full);
    expect([...figs.keys()]).toEqual(['chart-matrix', 'chart-scatter', 'chart-errors', 'chart-per-task', 'chart-coverage', 'chart-advice']);
    expect(full).not.toContain('Not computed');
    // 12 coverage points and 12 width points; 6 x 2 advice points.
    expect(countMarks(figs.get('chart-coverage')!, 'point')).toBe(24);
    expect(countMarks(figs.get('chart-advice')!, 'point')).toBe(12);
    expect(countMarks(figs.get('chart-advice')!, 'area mark')).toBe(2); // the ±sd bands
    expect(full).toContain('shaded: ±1 standard deviation over seeds');
    expect(w).toEqual([]);
    // Ids are global to the page: each defined once, every url(#…) reference defined.
    const ids = [...full.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
    const refs = [...full.matchAll(/url\(#([^)]+)\)/g)].map((m) => m[1]);
    expect(refs.length).toBeGreaterThan(0);
    for (const r of refs) expect(ids).toContain(r);
    // An empty list is "not computed", not an empty chart.
    const empty = await buildReport({ ...input, coverage: [], advice: [] });
    expect(figures(empty).size).toBe(4);
  });

  it('caps the heatmap rows and says so', async () => {
    const capped = await buildReport(input, { maxHeatmapModels: 10, maxScatterPoints: 50 });
    const figs = figures(capped);
    expect(countMarks(figs.get('chart-matrix')!, 'rect mark')).toBe(160);
    expect(capped).toContain('Showing 10 models of 67');
    expect(countMarks(figs.get('chart-scatter')!, 'circle')).toBe(100);
    expect(capped).toContain('at most 50 per method drawn');
  });

  it('rejects input that would draw a wrong picture', async () => {
    const other = loadBuiltinDataset('crowdsource');
    await expect(buildReport({ ...input, dataset: other })).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT' });
    await expect(buildReport({ ...input, completion: { ...input.completion, cells: [{ model: 'nobody', task: 'MMLU - EM', prediction: 0.5 }] } })).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
    const observed = { model: input.dataset.models[input.dataset.scores.model[0]].name, task: input.dataset.tasks[input.dataset.scores.task[0]].name, prediction: 0.5 };
    await expect(buildReport({ ...input, completion: { ...input.completion, cells: [observed] } })).rejects.toMatchObject({ code: 'E_DUPLICATE_ENTRY' });
    const c0 = input.completion.cells[0];
    await expect(buildReport({ ...input, completion: { ...input.completion, cells: [{ ...c0, prediction: NaN }] } })).rejects.toMatchObject({ code: 'E_NON_FINITE' });
    await expect(buildReport({ ...input, coverage: [{ method: 'knn', level: 1.2, coverage: 0.9, width: 3 }] })).rejects.toThrow(/level 1.2 .*outside \(0, 1\)/);
    await expect(buildReport({ ...input, coverage: [{ method: 'knn', level: 0.9, coverage: 90, width: 3 }] })).rejects.toThrow(/outside \[0, 1\]/);
    await expect(buildReport({ ...input, advice: [{ probes: 1.5, advisor: 3, random: 4 }] })).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT' });
    await expect(buildReport({ ...input, advice: [{ probes: 1, advisor: 3, random: 4 }, { probes: 1, advisor: 2, random: 4 }] })).rejects.toMatchObject({ code: 'E_DUPLICATE_ENTRY' });
    await expect(buildReport({ ...input, advice: [{ probes: 1, advisor: 3, random: 4, randomStd: -1 }] })).rejects.toThrow(/randomStd -1/);
    await expect(buildReport(input, { maxHeatmapModels: 0 })).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT' });
  });

  it('orders heatmap rows by mean score on the 0-100 scale, best first', () => {
    const d = matrixData(input.dataset, input.completion, 1000);
    expect(d.modelOrder).toHaveLength(67);
    const mean = new Map<string, number[]>();
    for (const c of d.cells) (mean.get(c.model) ?? mean.set(c.model, []).get(c.model)!).push(c.score);
    const means = d.modelOrder.map((m) => mean.get(m)!.reduce((a, b) => a + b, 0) / mean.get(m)!.length);
    for (let i = 1; i < means.length; i++) expect(means[i]).toBeLessThanOrEqual(means[i - 1]);
    // helm-classic is on the 0-1 scale: the heatmap shows percent.
    expect(taskScales(input.dataset).range100[0]).toBe(1);
    expect(Math.max(...d.cells.filter((c) => c.kind === 'observed').map((c) => c.score))).toBeGreaterThan(50);
  });
});

describe('scopeSvgIds', () => {
  it('renames ids and their references in tags only, in order of appearance', () => {
    const svg = '<svg><defs><clipPath id="clip7"><rect/></clipPath><linearGradient id="gradient_3"/></defs><g clip-path="url(#clip7)"><path fill="url(#gradient_3)"/><use href="#clip7"/><text>a id="clip7" url(#clip7)</text></g></svg>';
    expect(scopeSvgIds(svg, 'c')).toBe(
      '<svg><defs><clipPath id="c-1"><rect/></clipPath><linearGradient id="c-2"/></defs><g clip-path="url(#c-1)"><path fill="url(#c-2)"/><use href="#c-1"/><text>a id="clip7" url(#clip7)</text></g></svg>',
    );
    expect(scopeSvgIds('<svg><g/></svg>', 'c')).toBe('<svg><g/></svg>');
  });
});

describe('buildReport escaping and writing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'collabperf-report-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('escapes names in the page and in the SVG', async () => {
    const models = ['<b>bold</b> & "quoted"', "o'brien", 'm3', 'm4', 'm5', 'm6'];
    const tasks = ['t<1>', 't2', 't3'];
    const scores: Array<[number, number, number, number]> = [];
    models.forEach((_, m) => tasks.forEach((_, t) => (m + t) % 4 !== 0 && scores.push([m, t, 20 + 10 * m + 5 * t, 0])));
    const ds = createDataset({ name: 'x<y', description: 'a <script>alert(1)</script> dataset', models, tasks: tasks.map((name) => ({ name, factors: {}, scale: 'percent' as const })), scores });
    const evaluation = await evaluate(ds, [getPredictor('mean')], { protocol: 'cells:0.3', seeds: 1 });
    const completion = await completeMatrix(ds, getPredictor('mean'), { seed: 0 });
    const html = await buildReport({ dataset: ds, evaluation, completion, notes: ['run with --data <file>'] });
    expectSelfContained(html);
    expect(html).not.toContain('<b>bold</b>');
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('t<1>');
    expect(html).toContain('&lt;b&gt;bold&lt;/b&gt; &amp;');
    expect(html).toContain('run with --data &lt;file&gt;');
    expect(html.match(/<script/g)).toHaveLength(1);
  });

  it('writes the report atomically', async () => {
    const path = join(dir, 'report.html');
    writeReport(path, '<!DOCTYPE html><p>old</p>');
    writeReport(path, '<!DOCTYPE html><p>new é</p>');
    expect(readFileSync(path, 'utf8')).toBe('<!DOCTYPE html><p>new é</p>');
    expect(readdirSync(dir)).toEqual(['report.html']); // no temporary file left behind
    expect(() => writeReport(join(dir, 'missing', 'r.html'), 'x')).toThrow(expect.objectContaining({ code: 'E_FILE' }));
  });
});
