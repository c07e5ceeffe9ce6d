/**
 * `node --import tsx bench/advice.ts`: does "which benchmark to run next" beat random probes? Runs
 * the `probes:k` protocol (src/app/advise/probes.ts) for one method (default: the package default)
 * on crowdsource, helm-classic, obsscaling and a sample of openllm-v1's models, and prints Markdown:
 * MAE (0-100) of the held-out models' unrevealed cells after k = 0..K probes chosen by the advisor
 * and at random. Also times one `advise` call on crowdsource (budget 3) to check it stays fast.
 *
 *   node --import tsx bench/advice.ts                                  # everything, 2 seeds, K = 3
 *   node --import tsx bench/advice.ts --only crowdsource --seeds 1 --method knn
 *   node --import tsx bench/advice.ts --json                           # raw results
 *   node --import tsx bench/advice.ts --fits 8 --ref 40                # advisor settings (fitsPerStep, referenceModels)
 *
 * Takes about 20 minutes with the default method on two shared cores (TypeScript kernels), most of
 * it crowdsource, where held-out models have different benchmarks and so get different plans.
 */
import { performance } from 'node:perf_hooks';
import { advise } from '../src/app/advise/advisor.js';
import { evaluateProbes, type ProbesResult } from '../src/app/advise/probes.js';
import { loadBuiltinDataset } from '../src/app/data/builtin.js';
import { DEFAULT_METHOD, getPredictor } from '../src/app/predictors/index.js';

const argv = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const method = flag('method') ?? DEFAULT_METHOD;
const seeds = Number(flag('seeds') ?? 2);
const K = Number(flag('k') ?? 3);
const only = flag('only')?.split(',');
const json = argv.includes('--json');
// Advisor settings (defaults: the package's), for experiments.
const advisor = { fitsPerStep: flag('fits') ? Number(flag('fits')) : undefined, referenceModels: flag('ref') ? Number(flag('ref')) : undefined };
const predictor = getPredictor(method);
const say = (s = ''): void => {
  if (!json) process.stdout.write(`${s}\n`);
};
const cpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/**
 * Datasets and how many models to hold out per seed: all eligible ones on the small tables; a sample
 * of 60 in a single held-out group on openllm-v1, where one fit of the default method takes seconds.
 */
const RUNS: Array<{ name: string; maxModels?: number; folds?: number }> = [
  { name: 'crowdsource' },
  { name: 'helm-classic' },
  { name: 'obsscaling' },
  { name: 'openllm-v1', maxModels: 60, folds: 1 },
];

const f2 = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '—');
const results: Array<ProbesResult & { seconds: number; cpuSeconds: number }> = [];

{
  // Timing of the advice itself: crowdsource, one known score, budget 3.
  const ds = loadBuiltinDataset('crowdsource');
  const w = performance.now();
  const c = cpu();
  const a = await advise(ds, predictor, { known: [{ task: 'MMLU', value: 66.6 }], budget: 3, ctx: { seed: 0 }, ...advisor });
  say(`advise on crowdsource (MMLU=66.6, budget 3, ${method}): ${a.fits} fits, ${((performance.now() - w) / 1000).toFixed(1)} s wall, ${(cpu() - c).toFixed(1)} s CPU`);
  say(`  ${a.steps.map((s) => `${s.task} (${f2(s.expectedErrorBefore)} → ${f2(s.expectedErrorAfter)})`).join(', ')}`);
  say();
}

for (const run of RUNS) {
  if (only && !only.includes(run.name)) continue;
  const ds = loadBuiltinDataset(run.name);
  const w = performance.now();
  const c = cpu();
  const r = await evaluateProbes(ds, predictor, {
    k: K,
    seeds,
    folds: run.folds,
    maxModels: run.maxModels,
    advisor,
    onProgress: (p) => process.stderr.write(`${run.name} seed ${p.seed} fold ${p.fold}/${p.folds} (${p.heldOut.length} models)\n`),
  });
  const seconds = (performance.now() - w) / 1000;
  const cpuSeconds = cpu() - c;
  process.stderr.write(`${run.name}: ${seconds.toFixed(0)} s wall, ${cpuSeconds.toFixed(0)} s CPU, ${r.fits} fits\n`);
  results.push({ ...r, seconds, cpuSeconds });
}

say(`## Probes: advisor vs random, method ${method}, ${seeds} seed${seeds === 1 ? '' : 's'}`);
say();
say('MAE on the 0-100 scale of the held-out models\' observed cells that are still unrevealed after k probes (mean over seeds ± std). "wins": share of held-out models whose own MAE is lower with the advisor\'s probes (ties count half).');
say();
say('| dataset | held-out models | k | advisor MAE | random MAE | advisor − random | wins |');
say('|---|---|---|---|---|---|---|');
for (const r of results) {
  for (const p of r.curve) {
    if (p.probes === 0) {
      say(`| ${r.dataset} | ${r.heldOutModels} | 0 | ${f2(p.advisor)} | ${f2(p.random)} | | |`);
      continue;
    }
    const sd = (x: number): string => (Number.isFinite(x) ? ` ± ${x.toFixed(2)}` : '');
    say(`| ${r.dataset} | ${r.heldOutModels} | ${p.probes} | ${f2(p.advisor)}${sd(p.advisorStd)} | ${f2(p.random)}${sd(p.randomStd)} | ${(p.advisor - p.random >= 0 ? '+' : '') + f2(p.advisor - p.random)} | ${(100 * p.advisorWins).toFixed(0)}% |`);
  }
}
say();
say('Most frequent first probe of the advisor:');
say();
for (const r of results) {
  const top = Object.entries(r.firstProbes).sort((a, b) => b[1] - a[1]).slice(0, 3);
  say(`- ${r.dataset}: ${top.map(([t, n]) => `${t} (${n})`).join(', ')}; ${r.fits} fits, ${r.seconds.toFixed(0)} s wall, ${r.cpuSeconds.toFixed(0)} s CPU`);
}
if (json) process.stdout.write(`${JSON.stringify(results.map(({ models: _m, ...rest }) => rest), null, 1)}\n`);
