/**
 * Coverage of `predict --new`'s intervals, which fold the new row into one fit of the table
 * (`FittedIntervalPredictor.foldInInterval`). Per dataset and seed, the models with at least k + 2
 * scores are dealt into 5 folds; in each fold those models leave the table, the default method is
 * fitted with intervals on the rest, and each held-out model is folded in from k random scores of
 * its own and scored on its other cells. `--refit` also refits the table with each held-out row
 * added (its factors removed, as a row given without `--factors` has none): the path `predict --new`
 * took before fold-in, on the same cells.
 *
 *   npm run bench:coverage-foldin                                   # k = 2, 2 seeds, every small dataset
 *   npm run bench:coverage-foldin -- --only crowdsource,obsscaling --refit
 *
 * Options: `--k N` (default 2), `--seeds N` (default 2), `--level L` (default 0.9), `--only a,b`,
 * `--refit`. Datasets above 20,000 cells are left out unless named in `--only`.
 */
import { performance } from 'node:perf_hooks';
import { listBuiltinDatasets, loadBuiltinDataset } from '../src/app/data/builtin.js';
import type { Dataset } from '../src/app/data/dataset.js';
import { taskScales } from '../src/app/eval/metrics.js';
import { trainView } from '../src/app/eval/split.js';
import { DEFAULT_METHOD, getPredictor } from '../src/app/predictors/index.js';
import { withIntervals, type Intervals } from '../src/app/trust/intervals.js';
import { Rng } from '../src/numeric/rng.js';

const argv = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const k = Number(flag('k') ?? 2);
const seeds = Number(flag('seeds') ?? 2);
const level = Number(flag('level') ?? 0.9);
const only = flag('only')?.split(',').map((s) => s.trim());
const refit = argv.includes('--refit');
const FOLDS = 5;
const STREAM = 0xf01d;

/** Coverage, mean width and MAE (0-100 scale) over the scored cells. */
class Tally {
  covered = 0;
  cells = 0;
  width = 0;
  abs = 0;
  add(iv: Intervals, t: number, truth: number, range100: number): void {
    this.cells++;
    if (truth >= iv.lower[t] && truth <= iv.upper[t]) this.covered++;
    this.width += ((iv.upper[t] - iv.lower[t]) * 100) / range100;
    this.abs += (Math.abs(iv.prediction[t] - truth) * 100) / range100;
  }
  row(): string {
    return `${((100 * this.covered) / this.cells).toFixed(1)}% | ${(this.width / this.cells).toFixed(1)} | ${(this.abs / this.cells).toFixed(2)}`;
  }
}

async function measure(ds: Dataset): Promise<{ foldIn: Tally; refit: Tally | null; seconds: number }> {
  const t0 = performance.now();
  const predictor = withIntervals(getPredictor(DEFAULT_METHOD), { level });
  const range100 = taskScales(ds).range100;
  const T = ds.tasks.length;
  const foldIn = new Tally();
  const re = refit ? new Tally() : null;
  const byModel: number[][] = ds.models.map(() => []);
  ds.scores.model.forEach((m, e) => byModel[m].push(e));
  for (let seed = 0; seed < seeds; seed++) {
    const eligible = ds.models.map((_, m) => m).filter((m) => byModel[m].length >= k + 2);
    const rng = new Rng(seed, STREAM);
    rng.shuffle(eligible);
    for (let f = 0; f < FOLDS; f++) {
      const out = new Set(eligible.filter((_, i) => i % FOLDS === f));
      const keep = Uint8Array.from(ds.scores.model, (m) => (out.has(m) ? 0 : 1));
      const fitted = await predictor.fit(trainView(ds, keep), { seed });
      for (const m of out) {
        const cells = byModel[m].slice();
        rng.shuffle(cells);
        const given = cells.slice(0, k).map((e) => ({ task: ds.scores.task[e], value: ds.scores.value[e] }));
        const iv = fitted.foldInInterval!(given);
        let riv: Intervals | null = null;
        if (re) {
          const keep2 = Uint8Array.from(keep);
          for (const e of cells.slice(0, k)) keep2[e] = 1;
          const view = trainView(ds, keep2);
          view.models[m] = { name: view.models[m].name, factors: {} };
          riv = (await predictor.fit(view, { seed })).interval(new Int32Array(T).fill(m), Int32Array.from({ length: T }, (_, t) => t));
        }
        for (const e of cells.slice(k)) {
          const t = ds.scores.task[e];
          foldIn.add(iv, t, ds.scores.value[e], range100[t]);
          if (re && riv) re.add(riv, t, ds.scores.value[e], range100[t]);
        }
      }
    }
  }
  return { foldIn, refit: re, seconds: (performance.now() - t0) / 1000 };
}

const datasets = listBuiltinDatasets().filter((d) => (only ? only.includes(d.name) : d.observed <= 20_000));
process.stdout.write(`# predict --new intervals by fold-in: ${DEFAULT_METHOD}, ${Math.round(level * 100)}% level, k = ${k} given scores, ${seeds} seed(s), ${FOLDS} folds of held-out models\n\n`);
process.stdout.write(`| dataset | scored cells | fold-in coverage | width | MAE |${refit ? ' refit coverage | width | MAE |' : ''} seconds |\n`);
process.stdout.write(`|---|---|---|---|---|${refit ? '---|---|---|' : ''}---|\n`);
for (const d of datasets) {
  const r = await measure(loadBuiltinDataset(d.name));
  process.stdout.write(`| ${d.name} | ${r.foldIn.cells} | ${r.foldIn.row()} |${r.refit ? ` ${r.refit.row()} |` : ''} ${r.seconds.toFixed(0)} |\n`);
}
