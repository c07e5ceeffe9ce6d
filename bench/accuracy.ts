/**
 * `npm run bench:accuracy`: held-out accuracy of every method on the built-in datasets, and the CPP
 * paper's Table 1 protocol with the paper's numbers beside ours. Prints Markdown (the source of
 * docs/accuracy.md); `--json` prints the raw summaries.
 *
 *   npm run bench:accuracy                         # everything
 *   npm run bench:accuracy -- --only paper         # Table 1 and the HELM pilot
 *   npm run bench:accuracy -- --only datasets --seeds 3
 *   npm run bench:accuracy -- --only datasets --seeds 2 --datasets crowdsource,helm-classic --methods ensemble,stack,mean
 *   npm run bench:accuracy -- --only frontier-original --seeds 2   # the frontier study's own protocol
 *   npm run bench:accuracy -- --only new-model-factors --seeds 2   # new models with all / some factors (--reveal k)
 */
import { performance } from 'node:perf_hooks';
import { loadBuiltinDataset, listBuiltinDatasets } from '../src/app/data/builtin.js';
import type { Dataset } from '../src/app/data/dataset.js';
import { evaluate, evaluationSummary, type EvaluationResult } from '../src/app/eval/evaluate.js';
import { median } from '../src/app/eval/metrics.js';
import { makeFolds, parseProtocol, type Fold } from '../src/app/eval/protocols.js';
import { DEFAULT_METHOD, getPredictor, PREDICTORS, type Predictor } from '../src/app/predictors/index.js';
import { Rng } from '../src/numeric/rng.js';

const argv = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const only = flag('only');
const seeds = Number(flag('seeds') ?? 5);
const json = argv.includes('--json');
const out: unknown[] = [];
const say = (s = ''): void => {
  if (!json) process.stdout.write(`${s}\n`);
};

/** The CPP paper's Table 1 (collected matrix, 5% of cells held out, 5 splits). */
const PAPER_TABLE1: Record<string, { nmse: number; nl1: number; rankAccuracy: number; mae2: number }> = {
  'MF (paper)': { nmse: 2.16e-2, nl1: 9.47e-2, rankAccuracy: 0.4433, mae2: 0.8316 },
  'NCF (paper)': { nmse: 1.58e-2, nl1: 8.94e-2, rankAccuracy: 0.4176, mae2: 0.8498 },
  'NCF + factors (paper)': { nmse: 1.25e-2, nl1: 7.88e-2, rankAccuracy: 0.4545, mae2: 0.8454 },
  'factors only (paper)': { nmse: 1.75e-2, nl1: 8.57e-2, rankAccuracy: 0.3347, mae2: 0.8408 },
};

async function run(dataset: string, protocol: string, n: number, methods: readonly Predictor[] = PREDICTORS): Promise<EvaluationResult> {
  const ds = loadBuiltinDataset(dataset);
  const t = performance.now();
  const r = await evaluate(ds, [...methods], { protocol, seeds: n });
  process.stderr.write(`${dataset} ${protocol}: ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
  out.push({ ...evaluationSummary(r), seconds: (performance.now() - t) / 1000 });
  return r;
}

const f = (x: number, d: number): string => (Number.isFinite(x) ? x.toFixed(d) : '—');
const pct = (x: number): string => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : '—');

async function paper(): Promise<void> {
  const r = await run('crowdsource', 'cells:0.05', seeds);
  say(`## CPP paper, Table 1 protocol: crowdsource, 5% of observed cells held out, ${seeds} seeds`);
  say();
  say('Scores min-max normalised per task over the observed table. Ours: mean ± std over seeds.');
  say();
  say('| method | normalised MSE | normalised L1 | rank accuracy | MAE@2 | ranking pool | seconds (all seeds) |');
  say('|---|---|---|---|---|---|---|');
  for (const [name, p] of Object.entries(PAPER_TABLE1)) say(`| ${name} | ${p.nmse.toExponential(2)} | ${p.nl1.toExponential(2)} | ${pct(p.rankAccuracy)} | ${pct(p.mae2)} | not reported | |`);
  for (const m of r.methods) {
    say(
      `| ${m.method} | ${m.mean.nmse.toExponential(2)} ± ${f(m.std.nmse, 4)} | ${m.mean.nl1.toExponential(2)} ± ${f(m.std.nl1, 4)} | ${pct(m.mean.rankAccuracy)} | ${pct(m.mean.mae2)} | ${f(m.mean.rankPool, 1)} | ${f(m.ms / 1000, 1)} |`,
    );
  }
  say();
  const h = await run('helm-classic', 'cells:0.5', seeds);
  say(`## CPP paper, HELM pilot: helm-classic, half of the cells predicting the other half, ${seeds} seeds`);
  say();
  say('The paper reports rank accuracy of about 10% and MAE@2 of about 39% here.');
  say();
  say('| method | rank accuracy | MAE@2 | ranking pool | normalised MSE | MAE (0-100) |');
  say('|---|---|---|---|---|---|');
  for (const m of h.methods) say(`| ${m.method} | ${pct(m.mean.rankAccuracy)} | ${pct(m.mean.mae2)} | ${f(m.mean.rankPool, 1)} | ${m.mean.nmse.toExponential(2)} | ${f(m.mean.mae100, 2)} |`);
  say();
}

/** The four simple references every default must beat (issue 8), computed in the same run. */
const REFERENCES = ['mean', 'knn-plain-5', 'pca', 'logit-als-2'];
/** The methods of the per-dataset tables: the fixed ensemble, the stack, the references, logit-als. */
const DATASET_METHODS = ['ensemble', 'stack', ...REFERENCES, 'logit-als'];

async function datasets(): Promise<void> {
  const methods = (flag('methods')?.split(',') ?? DATASET_METHODS).map((n) => getPredictor(n));
  const names = flag('datasets')?.split(',') ?? listBuiltinDatasets().map((d) => d.name);
  const ratios: Record<string, number[]> = {};
  for (const setting of ['cells:0.2', 'new-model:k']) {
    say(`## Built-in datasets, protocol ${setting}${setting.endsWith('k') ? ' (k = 2 for ≤ 7 tasks, else 5)' : ''}, ${seeds} seeds: MAE on a 0-100 scale (lower is better)`);
    say();
    const results: EvaluationResult[] = [];
    for (const name of names) {
      const ds = loadBuiltinDataset(name);
      const protocol = setting === 'new-model:k' ? `new-model:${ds.tasks.length <= 7 ? 2 : 5}` : setting;
      results.push(await run(name, protocol, seeds, methods));
    }
    say(`| method | ${names.join(' | ')} |`);
    say(`|---|${names.map(() => '---').join('|')}|`);
    methods.forEach((m, i) => {
      say(`| ${m.name} | ${results.map((r) => `${f(r.methods[i].mean.mae100, 2)} ± ${f(r.methods[i].std.mae100, 2)}`).join(' | ')} |`);
    });
    say(`| seconds per fit+predict | ${results.map((r) => methods.map((m, i) => `${m.name} ${f(r.methods[i].ms / 1000 / seeds, 1)}`).join(', ')).join(' | ')} |`);
    const refIdx = methods.map((m, i) => (REFERENCES.includes(m.name) ? i : -1)).filter((i) => i >= 0);
    for (const cand of ['ensemble', 'stack']) {
      const ci = methods.findIndex((m) => m.name === cand);
      if (ci < 0 || refIdx.length === 0) continue;
      const rs = results.map((r) => r.methods[ci].mean.mae100 / Math.min(...refIdx.map((i) => r.methods[i].mean.mae100)));
      (ratios[cand] ??= []).push(...rs);
      say(`| ${cand} / best reference | ${rs.map((x) => f(x, 3)).join(' | ')} |`);
    }
    say();
  }
  say('Geometric mean over datasets and both settings of MAE / best reference MAE:');
  say();
  for (const [cand, rs] of Object.entries(ratios)) say(`- ${cand}: ${f(Math.exp(rs.reduce((s, x) => s + Math.log(x), 0) / rs.length), 3)}`);
  say();
}

/** Folds of the frontier study's protocol (see {@link frontierOriginal}). */
export function frontierOriginalFolds(ds: Dataset, seed: number, folds = 3): Fold[] {
  const rng = new Rng(seed, 0xf0f0);
  const byModel: number[][] = ds.models.map(() => []);
  ds.scores.model.forEach((m, e) => byModel[m].push(e));
  const order = Array.from(ds.models.keys());
  rng.shuffle(order);
  return Array.from({ length: folds }, (_, f) => {
    const testMask = new Uint8Array(ds.scores.value.length);
    for (let i = f; i < order.length; i += folds) {
      const cells = byModel[order[i]].slice();
      rng.shuffle(cells);
      for (const e of cells.slice(0, Math.floor(cells.length / 2))) testMask[e] = 1;
    }
    const trainMask = testMask.map((x) => 1 - x);
    return { trainMask, testMask, description: `fold ${f + 1}/${folds}: half the scores of a third of the models`, seed };
  });
}

/** What the frontier study reports: its best method, and the published logit rank-2 method run unmodified under its protocol. */
const FRONTIER_STUDY = [
  { method: "the study's best method", mdape: 7.2 },
  { method: 'published logit rank-2 method', mdape: 7.29 },
];

/**
 * The frontier study's protocol: models dealt into 3 folds; in each, every model of the fold has half
 * of its known scores (rounded down, at random) hidden while every other model keeps all of its
 * scores. Median absolute percentage error |prediction − truth| / |truth| over the hidden cells
 * (cells whose truth is 0 have no percentage error and are left out), pooled over the folds of a seed,
 * averaged over seeds.
 */
async function frontierOriginal(): Promise<void> {
  const ds = loadBuiltinDataset('frontier');
  const names = flag('methods')?.split(',') ?? [...new Set([DEFAULT_METHOD, 'stack', 'ensemble', ...REFERENCES])];
  const methods = names.map((n) => getPredictor(n));
  const split = Array.from({ length: seeds }, (_, s) => frontierOriginalFolds(ds, s)).flat();
  const t = performance.now();
  const r = await evaluate(ds, methods, { split, seeds });
  process.stderr.write(`frontier original protocol: ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
  const rows = r.methods.map((m) => {
    const perSeed = r.seeds.map((seed) => {
      const ape: number[] = [];
      const p = m.predictions;
      for (let i = 0; i < p.truth.length; i++) if (p.seed[i] === seed && p.truth[i] !== 0) ape.push((100 * Math.abs(p.prediction[i] - p.truth[i])) / Math.abs(p.truth[i]));
      return { mdape: median(ape), cells: ape.length };
    });
    const mdape = perSeed.reduce((a, x) => a + x.mdape, 0) / perSeed.length;
    return { method: m.method, mdape, perSeed: perSeed.map((x) => x.mdape), cells: perSeed[0].cells, mae100: m.mean.mae100, seconds: m.ms / 1000 };
  });
  out.push({ dataset: 'frontier', protocol: 'frontier-original', seeds: r.seeds, rows, seconds: (performance.now() - t) / 1000 });
  say(`## frontier, the original study's protocol (3 folds over models, half of each test model's scores hidden), ${seeds} seed${seeds === 1 ? '' : 's'}`);
  say();
  say('Median absolute percentage error over the hidden cells (lower is better); MAE on the 0-100 scale beside it.');
  say();
  say('| method | MdAPE | MdAPE per seed | MAE (0-100) | hidden cells per seed (truth ≠ 0) | seconds (all fits) |');
  say('|---|---|---|---|---|---|');
  for (const x of rows) say(`| ${x.method}${x.method === DEFAULT_METHOD ? ' (default)' : ''} | ${f(x.mdape, 2)}% | ${x.perSeed.map((v) => f(v, 2)).join(', ')} | ${f(x.mae100, 2)} | ${x.cells} | ${f(x.seconds, 1)} |`);
  for (const x of FRONTIER_STUDY) say(`| ${x.method} (as reported) | ${f(x.mdape, 2)}% | | | | |`);
  say();
}

/**
 * New models given with factors, as `predict --new ... --factors ...` sees them: `new-model:k` folds on
 * the datasets with model factors, the held-out models keeping either all of their factors or only
 * `params` (what a user is likely to type). Decides whether the default should give way to a
 * factor-aware method when factors are given (src/app/predict.ts, `factorMethod`).
 */
async function newModelFactors(): Promise<void> {
  const names = flag('datasets')?.split(',') ?? listBuiltinDatasets().map((d) => d.name).filter((n) => n !== 'openllm-v1' && loadBuiltinDataset(n).factorSchema.model.length > 0);
  const methods = (flag('methods')?.split(',') ?? [...new Set([DEFAULT_METHOD, 'stack', 'ensemble', 'ncf-factors', 'cmf', 'scaling-law'])]).map((n) => getPredictor(n));
  say(`## New models with factors: new-model:k (k = ${flag('reveal') ?? '2 for ≤ 7 tasks, else 5'}), ${seeds} seeds, MAE on a 0-100 scale`);
  say();
  say('| dataset | held-out models keep | ' + methods.map((m) => m.name).join(' | ') + ' |');
  say(`|---|---|${methods.map(() => '---').join('|')}|`);
  for (const name of names) {
    const ds = loadBuiltinDataset(name);
    const k = flag('reveal') !== undefined ? Number(flag('reveal')) : ds.tasks.length <= 7 ? 2 : 5;
    for (const keep of ['all factors', 'params only']) {
      const t = performance.now();
      const sum = methods.map(() => 0);
      let cells = 0;
      for (let seed = 0; seed < seeds; seed++) {
        for (const fold of makeFolds(ds, parseProtocol(`new-model:${k}`), seed)) {
          const test = new Set<number>();
          fold.testMask.forEach((x, e) => x && test.add(ds.scores.model[e]));
          // The held-out models' factors are all a predictor sees of them beyond k scores.
          const view: Dataset =
            keep === 'all factors' ? ds : { ...ds, models: ds.models.map((m, i) => (test.has(i) ? { ...m, factors: 'params' in m.factors ? { params: m.factors.params } : {} } : m)) };
          const r = await evaluate(view, methods, { split: [{ ...fold, seed }], seeds: [seed] });
          const n = r.methods[0].predictions.truth.length;
          r.methods.forEach((m, i) => (sum[i] += m.mean.mae100 * n));
          cells += n;
        }
      }
      process.stderr.write(`${name} new-model:${k} ${keep}: ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
      out.push({ dataset: name, protocol: `new-model:${k}`, keep, mae100: Object.fromEntries(methods.map((m, i) => [m.name, sum[i] / cells])) });
      say(`| ${name} (new-model:${k}) | ${keep} | ${sum.map((x) => f(x / cells, 2)).join(' | ')} |`);
    }
  }
  say();
}

if (!only || only === 'paper') await paper();
if (!only || only === 'datasets') await datasets();
if (!only || only === 'frontier-original') await frontierOriginal();
if (!only || only === 'new-model-factors') await newModelFactors();
if (json) process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
