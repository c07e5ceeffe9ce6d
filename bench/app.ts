/**
 * `npm run bench:app`: whole-process time of the commands people run, on each backend that loads,
 * with the native / TypeScript ratio measured in the same run. Wall, user and system seconds come
 * from bash's `time` around one fresh process per run, so nothing is shared or warm.
 *
 *   npm run bench:app                          # every job, native and ts, median of 3 runs
 *   npm run bench:app -- --runs 1 --jobs predict-crowdsource,predict-openllm
 *   npm run bench:app -- --json
 *
 * Targets (issue 7), on a 2-core machine: predict on crowdsource <= 1.0 s wall, native <= 0.7x ts
 * there and <= 0.5x on openllm-v1 (<= 5 s); system time <= 10% of CPU time; report on crowdsource
 * <= 10 s; advise --budget 3 <= 2 s; eval --methods all --seeds 5 --protocol cells:0.2 on
 * openllm-v1 <= 30 s. The built-in openllm-v1 is complete (predict has nothing to fill there), so
 * `predict-openllm-sparse` runs predict on it with 20% of the cells blanked, as a user's table.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadBuiltinDataset } from '../src/app/data/builtin.js';
import { Rng } from '../src/numeric/rng.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'bin', 'collabperf.js');

interface Job {
  name: string;
  args: (dir: string) => string[];
  /** Wall-time target in seconds (on the faster backend), when the issue sets one. */
  target?: number;
  /** Writes the job's input files into the run directory, once, before its first run. */
  prepare?: (dir: string) => void;
}

/**
 * openllm-v1 with a seeded 20% of its cells blanked, as a wide CSV: the built-in table is complete,
 * so `predict` on it has nothing to fill; this is the large sparse leaderboard a user brings.
 */
function writeSparseOpenLlm(dir: string): void {
  const ds = loadBuiltinDataset('openllm-v1');
  const nT = ds.tasks.length;
  const grid: string[][] = ds.models.map(() => new Array<string>(nT).fill(''));
  const rng = new Rng(7, 1);
  for (let e = 0; e < ds.scores.value.length; e++) if (rng.nextDouble() >= 0.2) grid[ds.scores.model[e]][ds.scores.task[e]] = String(ds.scores.value[e]);
  const q = (x: string): string => (/[",\n]/.test(x) ? `"${x.replace(/"/g, '""')}"` : x);
  const lines = [['model', ...ds.tasks.map((t) => t.name)].map(q).join(','), ...ds.models.map((m, i) => [q(m.name), ...grid[i]].join(','))];
  writeFileSync(join(dir, 'openllm-sparse.csv'), `${lines.join('\n')}\n`);
}

const JOBS: Job[] = [
  { name: 'predict-crowdsource', args: () => ['predict', '--json'], target: 1.0 },
  { name: 'predict-openllm', args: () => ['predict', '--data', 'openllm-v1', '--json'], target: 5.0 },
  { name: 'predict-openllm-sparse', args: (d) => ['predict', '--data', join(d, 'openllm-sparse.csv'), '--json'], prepare: writeSparseOpenLlm },
  { name: 'predict-new-crowdsource', args: () => ['predict', '--new', 'MMLU=66.6,GSM8K=45.8', '--json'] },
  { name: 'advise-crowdsource', args: () => ['advise', '--new', 'MMLU=66.6', '--budget', '3', '--json'], target: 2.0 },
  { name: 'report-crowdsource', args: (d) => ['report', '--out', join(d, 'report.html')], target: 10.0 },
  { name: 'eval-all-openllm', args: () => ['eval', '--data', 'openllm-v1', '--methods', 'all', '--seeds', '5', '--protocol', 'cells:0.2', '--json'], target: 30.0 },
];

interface Run {
  wall: number;
  user: number;
  sys: number;
  ok: boolean;
}

/** One child process, its stdout discarded (as a user piping --json would not see it either). */
function runOnce(job: Job, backend: string, dir: string): Run {
  const t0 = process.hrtime.bigint();
  // bash's `time` gives wall, user and system seconds of the child alone.
  const res = spawnSync('/usr/bin/env', ['bash', '-c', `TIMEFORMAT='%R %U %S'; { time node "$@" >/dev/null 2>"$ERRFILE"; } 2>&1`, 'bench', cli, ...job.args(dir)], {
    env: { ...process.env, COLLABPERF_BACKEND: backend, ERRFILE: join(dir, 'stderr.txt') },
    encoding: 'utf8',
  });
  const wallFallback = Number(process.hrtime.bigint() - t0) / 1e9;
  const parts = res.stdout.trim().split(/\s+/).map(Number);
  const ok = res.status === 0 && parts.length === 3 && parts.every(Number.isFinite);
  return ok ? { wall: parts[0], user: parts[1], sys: parts[2], ok } : { wall: wallFallback, user: NaN, sys: NaN, ok: false };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function parseArgs(): { runs: number; jobs: Job[]; backends: string[]; json: boolean } {
  const a = process.argv.slice(2);
  const get = (k: string): string | undefined => {
    const i = a.indexOf(`--${k}`);
    return i >= 0 ? a[i + 1] : undefined;
  };
  const names = get('jobs')?.split(',');
  const jobs = names ? JOBS.filter((j) => names.includes(j.name)) : JOBS;
  if (names && jobs.length !== names.length) throw new Error(`unknown job in --jobs; known: ${JOBS.map((j) => j.name).join(', ')}`);
  return { runs: Number(get('runs') ?? 3), jobs, backends: (get('backends') ?? 'native,ts').split(','), json: a.includes('--json') };
}

function main(): void {
  const { runs, jobs, backends, json } = parseArgs();
  const dir = mkdtempSync(join(tmpdir(), 'collabperf-bench-app-'));
  const rows: Array<{ job: string; target?: number; figures: Record<string, { wall: number; user: number; sys: number; sysShare: number; ok: boolean }> }> = [];
  try {
    for (const job of jobs) {
      const figures: (typeof rows)[number]['figures'] = {};
      job.prepare?.(dir);
      for (const backend of backends) {
        const rs: Run[] = [];
        for (let i = 0; i < runs; i++) {
          rs.push(runOnce(job, backend, dir));
          if (!json) process.stderr.write(`  ${job.name} ${backend} run ${i + 1}/${runs}: ${rs[i].wall.toFixed(2)} s${rs[i].ok ? '' : ' (FAILED)'}\n`);
        }
        const wall = median(rs.map((r) => r.wall));
        const user = median(rs.map((r) => r.user));
        const sys = median(rs.map((r) => r.sys));
        figures[backend] = { wall, user, sys, sysShare: sys / (user + sys), ok: rs.every((r) => r.ok) };
      }
      rows.push({ job: job.name, target: job.target, figures });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (json) {
    process.stdout.write(`${JSON.stringify({ runs, rows }, null, 2)}\n`);
    return;
  }
  const head = ['job', ...backends.flatMap((b) => [`${b} wall`, `${b} sys%`]), 'native/ts', 'target'];
  const lines = rows.map((r) => {
    const cells = [r.job];
    for (const b of backends) {
      const f = r.figures[b];
      cells.push(f ? `${f.wall.toFixed(2)}${f.ok ? '' : '!'}` : '-', f ? `${(100 * f.sysShare).toFixed(0)}%` : '-');
    }
    const n = r.figures.native;
    const t = r.figures.ts;
    cells.push(n && t ? (n.wall / t.wall).toFixed(2) : '-', r.target !== undefined ? `<= ${r.target} s` : '');
    return cells;
  });
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(`whole-process seconds, median of ${runs} run(s); "!" = the command failed; sys% = system share of CPU time`);
  console.log(fmt(head));
  for (const l of lines) console.log(fmt(l));
}

main();
