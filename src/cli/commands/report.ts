import type { Command } from 'commander';
import { evaluateProbes } from '../../app/advise/index.js';
import { evaluate } from '../../app/eval/evaluate.js';
import { completeMatrix } from '../../app/predict.js';
import { DEFAULT_METHOD, getPredictor, parseMethods } from '../../app/predictors/index.js';
import { buildReport, writeReport, type AdviceCurvePoint, type CoveragePoint } from '../../app/report/index.js';
import { evaluateIntervals } from '../../app/trust/index.js';
import { CollabperfError } from '../../errors.js';
import { backendFlag, loadFromFlags, methodsHelpText, warmUpMethods, seedFlag, withDataFlags, type DataFlags } from '../app-options.js';
import { printJson, Progress } from '../output.js';
import type { CliRunner } from '../runner.js';

interface ReportFlags extends DataFlags {
  methods: string;
  method?: string;
  protocol: string;
  seeds: string;
  probes: string;
  levels: string;
  out: string;
}

function positiveInt(name: string, v: string, allowZero = false): number {
  const x = Number(v);
  if (!Number.isInteger(x) || x < (allowZero ? 0 : 1)) throw new CollabperfError('E_INVALID_ARGUMENT', `--${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got "${v}"`, { field: name });
  return x;
}

/** `collabperf report`: one self-contained HTML file with the matrix, the errors, coverage and advice charts. */
export function registerReport(program: Command, run: CliRunner): void {
  withDataFlags(
    program
      .command('report')
      .description('write a self-contained HTML report: score heatmap, predicted vs actual, errors, interval coverage, advice curve')
      .requiredOption('--out <file.html>', 'where to write the report')
      .option('--methods <list>', 'methods to evaluate (comma-separated, or all)', 'mean,knn,pca,mf-sgd,ensemble,stack')
      .option('--method <name>', `method that fills the heatmap's missing cells (default ${DEFAULT_METHOD})`)
      .option('--protocol <spec>', 'held-out cells for the error charts', 'cells:0.2')
      .option('--seeds <n>', 'seeds of the evaluation', '1')
      .option('--probes <k>', 'probes of the advice curve (0 = leave it out)', '3')
      .option('--levels <list>', 'interval levels of the coverage chart (empty = leave it out)', '0.5,0.8,0.9,0.95')
      .addHelpText('after', methodsHelpText()),
  ).action(async (f: ReportFlags) =>
    run(Boolean(f.json), async () => {
      const { dataset: ds, origin, warnings, scales: scaleOverrides } = await loadFromFlags(f);
      warmUpMethods(`${f.methods},${f.method ?? DEFAULT_METHOD}`, ds);
      const seeds = positiveInt('seeds', f.seeds);
      const probes = positiveInt('probes', f.probes, true);
      const levels = f.levels.trim() === '' ? [] : f.levels.split(',').map((s) => Number(s));
      for (const l of levels) if (!(l > 0 && l < 1)) throw new CollabperfError('E_INVALID_ARGUMENT', `--levels must lie strictly between 0 and 1, got "${f.levels}"`, { field: 'levels' });
      const methods = parseMethods(f.methods);
      const main = getPredictor(f.method ?? DEFAULT_METHOD);
      const seed = seedFlag(f.seed);
      const ctx = { backend: backendFlag(f.backend) };
      const progress = new Progress('report');
      progress.phase('filling the matrix');
      const completion = await completeMatrix(ds, main, { ...ctx, seed }, { scales: scaleOverrides });
      progress.phase(`evaluating ${methods.length} method(s) on ${f.protocol}`);
      const evaluation = await evaluate(ds, methods, { protocol: f.protocol, seeds, ctx, onProgress: (p) => progress.update(p.done, p.total, `${p.method}, seed ${p.seed}, fold ${p.fold}/${p.folds}`) });
      let coverage: CoveragePoint[] | undefined;
      if (levels.length) {
        progress.phase(`interval coverage at ${levels.length} level(s)`);
        const iv = await evaluateIntervals(ds, [main], { protocol: f.protocol, seeds, levels, ctx, onProgress: (p) => progress.update(p.done, p.total, `${p.method}, seed ${p.seed}, fold ${p.fold}/${p.folds}`) });
        coverage = iv.methods.flatMap((m) => m.byLevel.filter((b) => Number.isFinite(b.adaptive.coverage)).map((b) => ({ method: m.method, level: b.level, coverage: b.adaptive.coverage, width: b.adaptive.meanWidth100 })));
      }
      let advice: AdviceCurvePoint[] | undefined;
      if (probes > 0) {
        progress.phase(`advice curve, probes:${probes}`);
        const p = await evaluateProbes(ds, main, { k: probes, seeds, ctx, maxModels: 40, onProgress: (x) => progress.update(x.seed * x.folds + x.fold - 1, seeds * x.folds, `seed ${x.seed}, fold ${x.fold}/${x.folds}`) });
        advice = p.curve;
      }
      progress.phase('rendering');
      const html = await buildReport({
        dataset: ds,
        completion,
        evaluation,
        coverage,
        advice,
        notes: [`data ${origin}; heatmap filled by ${main.name}; evaluation ${evaluation.protocol}, ${seeds} seed(s)${probes ? `; advice curve probes:${probes}` : ''}`],
      });
      writeReport(f.out, html);
      progress.done();
      if (f.json) return printJson({ dataset: origin, warnings, out: f.out, bytes: Buffer.byteLength(html), methods: methods.map((m) => m.name), method: main.name, coverage: coverage ?? null, advice: advice ?? null });
      process.stdout.write(`report written to ${f.out} (${(Buffer.byteLength(html) / 1024).toFixed(0)} KB)\n`);
    }),
  );
}
