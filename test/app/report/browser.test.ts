/**
 * Opens a full report (all six charts) in a real headless Chromium and checks that every chart
 * renders: a screenshot of each chart has varied pixels, the page logs no errors, requests nothing
 * but its own file, and its PNG download produces a non-blank image.
 *
 * Needs Debian's `chromium` package at /usr/bin/chromium (CI installs it). Without it the test
 * fails on purpose: a skipped browser test would let a broken report through unnoticed.
 *
 * A second report, of crowdsource at a laptop's 1366x768, is checked for readable labels: no text
 * cut short with "…" or clipped by its chart's edge, every legend entry drawn in its chart, the
 * heatmap's columns labelled with the full task names, no chart wider than the page.
 *
 * Set COLLABPERF_REPORT_SCREENSHOT=/path/to/file.png to keep a full-page screenshot.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBuiltinDataset } from '../../../src/app/data/builtin.js';
import { evaluate } from '../../../src/app/eval/evaluate.js';
import { completeMatrix } from '../../../src/app/predict.js';
import { getPredictor, parseMethods } from '../../../src/app/predictors/index.js';
import { buildReport, writeReport } from '../../../src/app/report/index.js';
import { figures, helmInput, sampleAdvice, sampleCoverage } from './fixture.js';
import { decodePng, pixelStats } from './png.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const CHARTS = ['chart-matrix', 'chart-scatter', 'chart-errors', 'chart-per-task', 'chart-coverage', 'chart-advice'];

/** A chart image is drawn when it has many colours, non-background pixels and coloured (data) pixels. */
function expectNonBlank(png: Uint8Array, what: string): { width: number; height: number } {
  const img = decodePng(png);
  const { colours, nonBackground, coloured } = pixelStats(img);
  expect(img.width, what).toBeGreaterThan(50);
  expect(img.height, what).toBeGreaterThan(50);
  expect(colours, `${what}: distinct colours`).toBeGreaterThan(16);
  expect(nonBackground, `${what}: share of non-background pixels`).toBeGreaterThan(0.01);
  // Data marks are coloured; axes and text alone are grey (a chart without its data stays below).
  expect(coloured, `${what}: share of coloured pixels`).toBeGreaterThan(0.001);
  return img;
}

describe('report in headless Chromium', () => {
  let dir: string;
  let reportUrl: string;
  let context: BrowserContext | undefined;
  let page: Page;
  const consoleErrors: string[] = [];
  const failedRequests: string[] = [];
  const foreignRequests: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} not found: the report's browser test needs Debian's chromium package (apt-get install -y chromium)`);
    }
    dir = mkdtempSync(join(tmpdir(), 'collabperf-browser-'));
    const html = await buildReport({ ...(await helmInput()), coverage: sampleCoverage(), advice: sampleAdvice() });
    expect([...figures(html).keys()]).toEqual(CHARTS);
    const file = join(dir, 'report.html');
    writeReport(file, html);
    reportUrl = pathToFileURL(file).href;
    // A fresh profile per run: nothing cached or remembered from earlier runs can hide a problem.
    context = await chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      acceptDownloads: true,
      viewport: { width: 1300, height: 900 },
      // The report must not need the network; offline makes any attempt fail loudly.
      offline: true,
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(`page error: ${e.message}`));
    context.on('requestfailed', (r) => failedRequests.push(`${r.url()} (${r.failure()?.errorText})`));
    context.on('request', (r) => {
      const u = r.url();
      if (u !== reportUrl && !u.startsWith('data:') && !u.startsWith('blob:')) foreignRequests.push(u);
    });
    await page.goto(reportUrl, { waitUntil: 'load' });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('loads with no console errors, no failed requests and no request besides its own file', async () => {
    expect(await page.title()).toBe('collabperf report: helm-classic');
    expect(consoleErrors).toEqual([]);
    expect(failedRequests).toEqual([]);
    expect(foreignRequests).toEqual([]);
  });

  it('renders every chart: a non-blank screenshot of each', async () => {
    const ids = await page.$$eval('figure.chart', (fs) => fs.map((f) => f.id));
    expect(ids).toEqual(CHARTS);
    for (const id of CHARTS) {
      const svg = page.locator(`#${id} .chart-body > svg`);
      const box = await svg.boundingBox();
      expect(box, id).not.toBeNull();
      expect(box!.width, id).toBeGreaterThan(100);
      expect(box!.height, id).toBeGreaterThan(100);
      const shot = await svg.screenshot({ type: 'png', animations: 'disabled' });
      const img = expectNonBlank(shot, id);
      // The screenshot is the whole chart (device scale 1), not a clipped part of it.
      expect(img.width, id).toBeGreaterThanOrEqual(Math.floor(box!.width) - 1);
    }
    const out = process.env.COLLABPERF_REPORT_SCREENSHOT;
    if (out) await page.screenshot({ path: out, fullPage: true });
    expect(consoleErrors).toEqual([]);
  });

  it('shows the values of a mark on hover', async () => {
    const cell = page.locator('#chart-matrix [role="graphics-symbol"][aria-label]').first();
    await cell.hover();
    const tip = page.locator('div.tip');
    await expect.poll(() => tip.isVisible()).toBe(true);
    // Model, task, then whether the cell was observed or predicted and its value (with the colour-scale
    // value when the task's raw scale differs).
    expect(await tip.textContent()).toMatch(/^.+\n.+\n(observed|predicted) \d+(\.\d+)?( \(\d+(\.\d+)? on the colour scale\))?$/);
    await page.mouse.move(1, 1);
    await expect.poll(() => tip.isVisible()).toBe(false);
  });

  it('exports a chart as a non-blank PNG twice its size, offline', async () => {
    for (const id of ['chart-matrix', 'chart-advice']) {
      const [download] = await Promise.all([page.waitForEvent('download'), page.click(`#${id} button[data-export="png"]`)]);
      expect(download.suggestedFilename()).toBe(`helm-classic-${id.replace('chart-', '')}.png`);
      const path = join(dir, `${id}.png`);
      await download.saveAs(path);
      const img = expectNonBlank(readFileSync(path), `${id} PNG export`);
      const box = (await page.locator(`#${id} .chart-body > svg`).boundingBox())!;
      expect(img.width).toBe(Math.ceil(box.width * 2));
      expect(img.height).toBe(Math.ceil(box.height * 2));
    }
    const [svgDownload] = await Promise.all([page.waitForEvent('download'), page.click('#chart-scatter button[data-export="svg"]')]);
    const svgPath = join(dir, 'scatter.svg');
    await svgDownload.saveAs(svgPath);
    expect(readFileSync(svgPath, 'utf8')).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[\s\S]*<\/svg>$/);
    expect(consoleErrors).toEqual([]);
    expect(failedRequests).toEqual([]);
    expect(foreignRequests).toEqual([]);
  });
});

/** What the page says about one chart's texts, legends and marks (see `inspectChart`). */
interface ChartFacts {
  svg: { left: number; right: number; top: number; bottom: number };
  body: { left: number; right: number };
  texts: { text: string; left: number; right: number; top: number; bottom: number }[];
  legends: { title: string; entries: { label: string; colours: string[] }[] }[];
  markColours: string[];
  xAxisLabels: string[][];
}

/**
 * Reads one chart in the page: the box of its svg and of every non-empty text, the entries of each
 * symbol legend with the colours of their symbol (fill and stroke, none/transparent left out), the
 * fill and stroke colours of the data marks (not axes, legends or titles), and the labels of each
 * x axis.
 */
function inspectChart(page: Page, id: string): Promise<ChartFacts> {
  return page.$eval(`#${id}`, (fig) => {
    const box = (e: Element) => {
      const r = e.getBoundingClientRect();
      return { left: r.left, right: r.right, top: r.top, bottom: r.bottom };
    };
    const svg = fig.querySelector('.chart-body > svg')!;
    const colour = (c: string | null) => (c ?? '').trim().toLowerCase();
    const visible = (c: string) => c !== '' && c !== 'none' && c !== 'transparent';
    const texts = [...svg.querySelectorAll('text')].filter((t) => (t.textContent ?? '').trim() !== '').map((t) => ({ text: t.textContent ?? '', ...box(t) }));
    const legends = [...svg.querySelectorAll('g[aria-roledescription="legend"]')]
      .filter((g) => g.querySelector('.role-legend-symbol') !== null)
      .map((g) => ({
        title: g.querySelector('.role-legend-title text')?.textContent ?? '',
        entries: [...g.querySelectorAll('.role-legend-symbol path')].map((p, i) => ({
          label: g.querySelectorAll('.role-legend-label text')[i]?.textContent ?? '',
          colours: [colour(p.getAttribute('fill')), colour(p.getAttribute('stroke'))].filter(visible),
        })),
      }));
    const markColours = new Set<string>();
    for (const m of svg.querySelectorAll('g.role-mark path, g.role-mark line')) {
      if (m.closest('.role-legend, .role-axis, .role-title') !== null) continue;
      for (const c of [colour(m.getAttribute('fill')), colour(m.getAttribute('stroke'))]) if (visible(c)) markColours.add(c);
    }
    const xAxisLabels = [...svg.querySelectorAll('g[aria-roledescription="axis"]')]
      .filter((g) => (g.getAttribute('aria-label') ?? '').startsWith('X-axis'))
      .map((g) => [...g.querySelectorAll('.role-axis-label text')].map((t) => t.textContent ?? ''));
    return { svg: box(svg), body: box(svg.closest('.chart-body')!), texts, legends, markColours: [...markColours], xAxisLabels };
  });
}

describe('crowdsource report at 1366x768: readable labels and honest legends', () => {
  let dir: string;
  let context: BrowserContext | undefined;
  let page: Page;
  let tasks: string[];
  const methods = ['mean', 'knn', 'pca'];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: the report's browser test needs Debian's chromium package`);
    dir = mkdtempSync(join(tmpdir(), 'collabperf-browser-crowd-'));
    const dataset = loadBuiltinDataset('crowdsource');
    tasks = dataset.tasks.map((t) => t.name);
    const evaluation = await evaluate(dataset, parseMethods(methods.join(',')), { protocol: 'cells:0.2', seeds: 1 });
    const completion = await completeMatrix(dataset, getPredictor('mean'), { seed: 0 });
    // Coverage of one method only, as `collabperf report` computes it: its legend must list that one.
    const coverage = sampleCoverage().filter((p) => p.method === 'knn');
    const html = await buildReport({ dataset, evaluation, completion, coverage, advice: sampleAdvice() });
    const file = join(dir, 'crowdsource.html');
    writeReport(file, html);
    context = await chromium.launchPersistentContext(join(dir, 'profile'), { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1366, height: 768 }, offline: true });
    page = context.pages()[0] ?? (await context.newPage());
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('no text is cut short with "…" or clipped by the edge of its chart', async () => {
    for (const id of CHARTS) {
      const f = await inspectChart(page, id);
      expect(f.texts.length, id).toBeGreaterThan(5);
      for (const t of f.texts) {
        expect(t.text.endsWith('…') || t.text.endsWith('...'), `${id}: "${t.text}" is truncated`).toBe(false);
        const inside = t.left >= f.svg.left - 1 && t.right <= f.svg.right + 1 && t.top >= f.svg.top - 1 && t.bottom <= f.svg.bottom + 1;
        expect(inside, `${id}: "${t.text}" [${t.left.toFixed(0)}..${t.right.toFixed(0)} x ${t.top.toFixed(0)}..${t.bottom.toFixed(0)}] leaves its svg [${f.svg.left.toFixed(0)}..${f.svg.right.toFixed(0)} x ${f.svg.top.toFixed(0)}..${f.svg.bottom.toFixed(0)}]`).toBe(true);
      }
    }
  });

  it('every chart fits the page at 1366 pixels: no chart wider than its column, no horizontal scrolling', async () => {
    for (const id of CHARTS) {
      const f = await inspectChart(page, id);
      expect(f.svg.right, id).toBeLessThanOrEqual(f.body.right + 1);
    }
    const widths = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
    expect(widths.scroll).toBeLessThanOrEqual(widths.client);
  });

  it('every legend entry has a mark of its colour drawn in the chart, and lists only the methods drawn', async () => {
    let entries = 0;
    for (const id of CHARTS) {
      const f = await inspectChart(page, id);
      for (const legend of f.legends) {
        for (const e of legend.entries) {
          entries++;
          expect(e.colours.length, `${id}: legend "${legend.title}" entry "${e.label}" has a colour`).toBeGreaterThan(0);
          for (const c of e.colours) expect(f.markColours, `${id}: legend "${legend.title}" entry "${e.label}" colour ${c} is drawn`).toContain(c);
        }
      }
    }
    expect(entries).toBeGreaterThanOrEqual(1 + 3 + 1 + 2); // heatmap dot, per-task methods, coverage method, advice strategies
    const perTask = await inspectChart(page, 'chart-per-task');
    expect(perTask.legends.map((l) => l.entries.map((e) => e.label))).toEqual([methods]);
    const cov = await inspectChart(page, 'chart-coverage');
    expect(cov.legends.map((l) => l.entries.map((e) => e.label))).toEqual([['knn']]);
    const adv = await inspectChart(page, 'chart-advice');
    expect(adv.legends.map((l) => l.entries.map((e) => e.label))).toEqual([['advisor', 'random']]);
  });

  it('the heatmap columns are labelled with the full task names, each once', async () => {
    const f = await inspectChart(page, 'chart-matrix');
    expect(f.xAxisLabels).toHaveLength(1);
    const labels = f.xAxisLabels[0];
    expect([...labels].sort()).toEqual([...tasks].sort());
    // The four NaturalQuestions settings, which a cut label made indistinguishable, all appear whole.
    expect(labels.filter((l) => l.startsWith('NaturalQuestions(')).sort()).toEqual(['NaturalQuestions(0-shot)', 'NaturalQuestions(1-shot)', 'NaturalQuestions(5-shot)', 'NaturalQuestions(64-shot)']);
  });
});
