/**
 * Progress of long work (issue 11): a cli-progress bar with an ETA on a terminal, plain periodic
 * lines elsewhere (COLLABPERF_PROGRESS_MS apart), always on stderr; `report` counts every phase.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { formatEta, Progress } from '../../src/cli/output.js';
import { runCli } from '../helpers/cli.js';
import { writeTables } from './tables.js';

const tables = writeTables();
afterAll(() => rmSync(tables.dir, { recursive: true, force: true }));

function sink(isTTY: boolean): { write(s: string): boolean; isTTY: boolean; text: () => string; columns: number } {
  let text = '';
  return { isTTY, columns: 120, write: (s: string) => ((text += s), true), text: () => text };
}

describe('Progress, plain mode (not a terminal)', () => {
  it('writes a line per phase and a count line at most every intervalMs, plus the last one, with an ETA', () => {
    let t = 0;
    const out = sink(false);
    const p = new Progress('eval', { stream: out, intervalMs: 1000, now: () => t });
    p.phase('cells:0.2, 2 method(s) x 5 seed(s)');
    for (let done = 1; done <= 10; done++) {
      t += 300; // 0.3 s a step: a line every fourth step at most, and the final one
      p.update(done, 10, `step ${done}`);
    }
    p.done();
    const lines = out.text().trim().split('\n');
    expect(lines[0]).toBe('eval: cells:0.2, 2 method(s) x 5 seed(s)');
    expect(lines.slice(1)).toEqual([
      'eval cells:0.2, 2 method(s) x 5 seed(s): 4/10 (40%), elapsed 1s, ETA 2s, step 4',
      'eval cells:0.2, 2 method(s) x 5 seed(s): 8/10 (80%), elapsed 2s, ETA 1s, step 8',
      'eval cells:0.2, 2 method(s) x 5 seed(s): 10/10 (100%), elapsed 3s, ETA 0s, step 10',
    ]);
    expect(out.text()).not.toMatch(/\r|\x1b\[/);
  });
  it('silent writes nothing', () => {
    const out = sink(false);
    const p = new Progress('x', { stream: out, silent: true });
    p.phase('a');
    p.update(1, 2);
    p.done();
    expect(out.text()).toBe('');
  });
  it('formats the ETA as seconds, minutes or hours', () => {
    expect([formatEta(12.4), formatEta(185), formatEta(3720), formatEta(NaN), formatEta(-1)]).toEqual(['12s', '3m05s', '1h02m', '?', '?']);
  });
});

describe('Progress on a terminal', () => {
  it('draws a cli-progress bar with the phase, the count and an ETA, redrawn in place', () => {
    const out = sink(true);
    const p = new Progress('report', { stream: out });
    p.phase('interval coverage');
    expect(out.text()).toBe(''); // a phase alone draws no line on a terminal
    p.update(0, 4, 'mean');
    p.update(2, 4, 'mean');
    p.update(4, 4, 'knn');
    p.done();
    const text = out.text();
    // cli-progress throttles redraws (intermediate counts may be skipped); the first and last are drawn.
    expect(text).toMatch(/report interval coverage \[░{24}\] 0\/4 ETA \S+ mean/);
    expect(text).toMatch(/report interval coverage \[█{24}\] 4\/4 ETA \S+ knn/);
    expect(text).toMatch(/\x1b\[|\r/); // cursor movement: the bar is redrawn, not appended
  });
});

describe('report progress when not on a terminal', () => {
  const saved = process.env.COLLABPERF_PROGRESS_MS;
  afterEach(() => {
    if (saved === undefined) delete process.env.COLLABPERF_PROGRESS_MS;
    else process.env.COLLABPERF_PROGRESS_MS = saved;
  });
  it('names every phase and counts the evaluation, interval and advice phases on stderr; stdout keeps its one line', async () => {
    process.env.COLLABPERF_PROGRESS_MS = '0';
    const out = join(tables.dir, 'report.html');
    const r = await runCli('report', '--data', tables.wide, '--out', out, '--methods', 'mean,knn', '--method', 'mean', '--levels', '0.8,0.9', '--probes', '1');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^report written to .*report\.html \(\d+ KB\)\n$/);
    const err = r.stderr.split('\n');
    const phases = err.filter((l) => /^report: /.test(l)).map((l) => l.replace(/^report: /, ''));
    expect(phases).toEqual(['filling the matrix', 'evaluating 2 method(s) on cells:0.2', 'interval coverage at 2 level(s)', 'advice curve, probes:1', 'rendering']);
    for (const phase of ['evaluating 2 method', 'interval coverage', 'advice curve']) {
      expect(err.some((l) => l.startsWith(`report ${phase}`) && / \d+\/\d+ \(\d+%\), elapsed \S+, ETA \S+/.test(l)), phase).toBe(true);
    }
  });
  it('stays on stderr under --json: stdout is one JSON document', async () => {
    process.env.COLLABPERF_PROGRESS_MS = '0';
    const r = await runCli('eval', '--data', tables.wide, '--methods', 'mean', '--seeds', '2', '--protocol', 'cells:0.2', '--json');
    expect(r.code).toBe(0);
    expect(() => JSON.parse(r.stdout)).not.toThrow();
    expect(r.stderr).toMatch(/^eval cells:0\.2, 1 method\(s\) x 2 seed\(s\): 2\/2 \(100%\)/m);
  });
});
