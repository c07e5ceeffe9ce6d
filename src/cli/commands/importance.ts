import type { Command } from 'commander';
import { factorImportance, factorPlayers, IMPORTANCE_METRICS } from '../../app/eval/importance.js';
import { getPredictor, PREDICTORS } from '../../app/predictors/index.js';
import { CollabperfError } from '../../errors.js';
import { backendFlag, loadFromFlags, withDataFlags, type DataFlags } from '../app-options.js';
import { printJson, Progress } from '../output.js';
import type { CliRunner } from '../runner.js';

interface ImportanceFlags extends DataFlags {
  method: string;
  protocol: string;
  seeds: string;
  metric: string;
  samples: string;
}

/** `collabperf importance`: Shapley values of the model and task factors for a factor method. */
export function registerImportance(program: Command, run: CliRunner): void {
  withDataFlags(
    program
      .command('importance')
      .description('Shapley importance of model and task factors (exact up to 12 factors, sampled beyond)')
      .option('--method <name>', 'a method that uses factors', 'ncf-factors')
      .option('--protocol <spec>', 'held-out cells for each coalition', 'cells:0.05')
      .option('--seeds <n>', 'seeds per coalition', '1')
      .option('--metric <name>', `error whose reduction is the value (${Object.keys(IMPORTANCE_METRICS).join(', ')})`, 'mae100')
      .option('--samples <n>', 'permutations when sampling', '100'),
  ).action(async (f: ImportanceFlags) =>
    run(Boolean(f.json), async () => {
      const { dataset: ds, origin, warnings } = await loadFromFlags(f);
      const predictor = getPredictor(f.method);
      if (!predictor.usesFactors) {
        throw new CollabperfError('E_INVALID_ARGUMENT', `method "${predictor.name}" does not use factors; use one of ${PREDICTORS.filter((p) => p.usesFactors).map((p) => p.name).join(', ')}`, { field: 'method' });
      }
      const seeds = Number(f.seeds);
      const samples = Number(f.samples);
      if (!Number.isInteger(seeds) || seeds < 1) throw new CollabperfError('E_INVALID_ARGUMENT', `--seeds must be a positive integer, got "${f.seeds}"`, { field: 'seeds' });
      if (!Number.isInteger(samples) || samples < 1) throw new CollabperfError('E_INVALID_ARGUMENT', `--samples must be a positive integer, got "${f.samples}"`, { field: 'samples' });
      const progress = new Progress('importance');
      progress.phase('valuing coalitions of factors');
      const nPlayers = factorPlayers(ds).length;
      // exact up to 12 factors: every coalition; sampled beyond: the count is open-ended
      const r0total = nPlayers <= 12 ? 2 ** nPlayers : 0;
      const r = await factorImportance(ds, predictor, {
        protocol: f.protocol,
        seeds,
        metric: f.metric as keyof typeof IMPORTANCE_METRICS,
        samples,
        ctx: { backend: backendFlag(f.backend) },
        onProgress: (p) => progress.update(p.evaluations, Math.max(r0total, p.evaluations), `${p.evaluations} coalition(s) valued`),
      });
      progress.done();
      const signed = (x: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(4)}`;
      const ranked = r.players.map((p, i) => ({ factor: p, value: r.values[i], stdError: r.stdErrors[i] })).sort((a, b) => b.value - a.value);
      if (f.json) return printJson({ dataset: origin, warnings, method: predictor.name, metric: r.metric, exact: r.exact, samples: r.samples, evaluations: r.evaluations, empty: r.empty, full: r.full, factors: ranked });
      const w = Math.max(6, ...ranked.map((x) => x.factor.length));
      const lines = [
        `${origin}: Shapley importance of factors for ${predictor.name}, value = reduction of ${r.metric} (${r.exact ? 'exact' : `${r.samples} sampled permutations`}, ${r.evaluations} coalitions)`,
        // empty/full are changes relative to the no-factor fit, not errors: label them so.
        `reduction of ${r.metric} vs the method without factors (baseline, 0 by definition): with all factors ${signed(r.full - r.empty)}${r.full - r.empty < 0 ? ' (the factors make it worse)' : ''}`,
        `${'factor'.padEnd(w)}  shapley${r.exact ? '' : '  std.err'}`,
        ...ranked.map((x) => `${x.factor.padEnd(w)}  ${x.value.toFixed(4).padStart(7)}${r.exact ? '' : `  ${x.stdError.toFixed(4).padStart(8)}`}`),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    }),
  );
}
