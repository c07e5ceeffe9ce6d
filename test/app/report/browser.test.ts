/**
 * Opens a full report (all six charts) in a real headless Chromium and checks that every chart
 * renders: a screenshot of each chart has varied pixels, the page logs no errors, requests nothing
 * but its own file, and its PNG download produces a non-blank image.
 *
 * Needs Debian's `chromium` package at /usr/bin/chromium (CI installs it). Without it the test
 * fails on purpose: a skipped browser test would let a broken report through unnoticed.
 *
 * Set COLLABPERF_REPORT_SCREENSHOT=/path/to/file.png to keep a full-page screenshot.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
