/**
 * Coverage bench of the prediction intervals: for every built-in dataset under `cells:0.2` and
 * `new-model:2`, the empirical coverage of nominal 90% intervals of the default method and their mean
 * width on the 0–100 scale, adaptive (normalised cross-conformal, src/app/trust/intervals.ts) beside
 * one global residual quantile. Prints Markdown; `--json` prints the raw figures.
 *
 *   node --import tsx bench/coverage.ts                      # everything (about 15 minutes on 2 cores)
 *   node --import tsx bench/coverage.ts --only crowdsource --seeds 5
 *   node --import tsx bench/coverage.ts --protocols cells:0.2 --large-seeds 2
 *
 * Options: `--seeds N` seeds per dataset (default 10 for `cells:` protocols, whose single fold per
 * seed holds out few cells of the small datasets, 3 for the others); `--large-seeds N` (default 2
 * for `cells:`, 1 for the others) for datasets with more than 20,000 observed cells (openllm-v1: one
 * fit of the default method takes seconds there, and calibration fits it 2K + 1 times per protocol
 * fold, 5 protocol folds for `new-model:`); `--folds K` (default 5) calibration
 * folds; `--level L` (default 0.9); `--method NAME` (default: the default method);
 * `--only a,b` datasets; `--protocols p,q`.
 */
import { performance } from 'node:perf_hooks';
import { listBuiltinDatasets, loadBuiltinDataset } from '../src/app/data/builtin.js';
import { DEFAULT_METHOD, getPredictor } from '../src/app/predictors/index.js';
import { evaluateIntervals, intervalEvaluationSummary, type IntervalEvaluationSummary } from '../src/app/trust/coverage.js';

const argv = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const seedsFlag = flag('seeds');
const largeFlag = flag('large-seeds');
/** Seeds for a protocol and dataset size (see the options above). */
const seedsFor = (protocol: string, large: boolean): number => {
  const oneFold = protocol.startsWith('cells');
  return large ? Number(largeFlag ?? (oneFold ? 2 : 1)) : Number(seedsFlag ?? (oneFold ? 10 : 3));
};
const folds = Number(flag('folds') ?? 5);
const level = Number(flag('level') ?? 0.9);
const method = flag('method') ?? DEFAULT_METHOD;
const only = flag('only')?.split(',').map((s) => s.trim());
const protocols = (flag('protocols') ?? 'cells:0.2,new-model:2').split(',').map((s) => s.trim());
const json = argv.includes('--json');
/** Datasets above this many observed cells run `--large-seeds` seeds. */
const LARGE = 20_000;

const say = (s = ''): void => {
  if (!json) process.stdout.write(`${s}\n`);
};
const pct = (x: number): string => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : '—');
const f1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '—');

const predictor = getPredictor(method);
const datasets = listBuiltinDatasets().filter((d) => !only || only.includes(d.name));
const out: Array<{ protocol: string; dataset: string; seeds: number[]; seconds: number; result: IntervalEvaluationSummary }> = [];

say(`# Prediction intervals: coverage of nominal ${Math.round(level * 100)}% intervals, method "${method}"`);
say();
say(`Calibration: ${folds} folds (cell folds + sparse-model folds + final fit = ${2 * folds + 1} fits of the method per protocol fold).`);
say('Widths are mean upper - lower on each task\'s 0-100 scale. "constant at equal coverage" is the narrowest constant width that reaches the adaptive coverage on the same held-out cells (chosen on those cells: an oracle, not a method).');
say();
for (const protocol of protocols) {
  say(`## ${protocol}: ${seedsFor(protocol, false)} seeds (${seedsFor(protocol, true)} on datasets with more than ${LARGE.toLocaleString('en')} cells)`);
  say();
  say('| dataset | held-out cells | adaptive coverage | adaptive width | global coverage | global width | constant at equal coverage | adaptive / global width | seconds |');
  say('|---|---|---|---|---|---|---|---|---|');
  for (const d of datasets) {
    const ds = loadBuiltinDataset(d.name);
    const n = seedsFor(protocol, d.observed > LARGE);
    const t = performance.now();
    const r = await evaluateIntervals(ds, [predictor], {
      protocol,
      seeds: n,
      level,
      folds,
      onProgress: (p) => process.stderr.write(`\r${d.name} ${protocol}: seed ${p.seed} fold ${p.fold}/${p.folds} (${p.done}/${p.total})   `),
    });
    const seconds = (performance.now() - t) / 1000;
    process.stderr.write(`\r${d.name} ${protocol}: ${seconds.toFixed(0)} s${' '.repeat(30)}\n`);
    const m = r.methods[0];
    out.push({
      protocol,
      dataset: d.name,
      seeds: r.seeds,
      seconds,
      result: intervalEvaluationSummary(r),
    });
    say(
      `| ${d.name} | ${m.adaptive.n} | ${pct(m.adaptive.coverage)} | ${f1(m.adaptive.meanWidth100)} | ${pct(m.global.coverage)} | ${f1(m.global.meanWidth100)} | ${f1(m.constantWidth100AtEqualCoverage)} | ${(m.adaptive.meanWidth100 / m.global.meanWidth100).toFixed(2)} | ${seconds.toFixed(0)} |`,
    );
  }
  say();
}
if (json) process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
