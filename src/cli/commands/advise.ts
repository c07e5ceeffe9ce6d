import type { Command } from 'commander';
import { advise, MIN_REFERENCE_MODELS, parseCosts, type KnownScore } from '../../app/advise/index.js';
import { parseNewFactors, parseNewScores } from '../../app/predict.js';
import { DEFAULT_METHOD, getPredictor } from '../../app/predictors/index.js';
import { CollabperfError } from '../../errors.js';
import { backendFlag, loadFromFlags, methodsHelpText, warmUpMethods, seedFlag, warn, withDataFlags, type DataFlags } from '../app-options.js';
import { printJson, Progress } from '../output.js';
import { withTaskHints } from '../suggest.js';
import type { CliRunner } from '../runner.js';

/** Below this many reference models the advice's expected errors are rough (re-exported for tests and docs). */
export { MIN_REFERENCE_MODELS };

interface AdviseFlags extends DataFlags {
  method?: string;
  new?: string;
  factors?: string;
  model?: string;
  budget: string;
  costs?: string;
}

/** `collabperf advise`: the benchmarks to run next, in order, with the expected error after each. */
export function registerAdvise(program: Command, run: CliRunner): void {
  withDataFlags(
    program
      .command('advise')
      .description('which benchmarks to run next: greedy by expected reduction of error on the others')
      .option('--new <scores>', 'scores the new model has: "MMLU=66.6,GSM8K=45.8"')
      .option('--factors <pairs>', 'the new model\'s factors: "params=8e9,tokens=15e12"')
      .option('--model <name>', 'an existing model of the table (its other scores are treated as not yet run)')
      .option('--budget <n>', 'how many benchmarks to recommend', '3')
      .option('--costs <pairs|file>', 'cost per benchmark: "MMLU=2,GSM8K=1" or a CSV file (task,cost); default 1 each')
      .option('--method <name>', `prediction method (default ${DEFAULT_METHOD})`)
      .addHelpText('after', methodsHelpText()),
  ).action(async (f: AdviseFlags) =>
    run(Boolean(f.json), async () => {
      const { dataset: ds, origin, warnings: loadWarnings } = await loadFromFlags(f);
      warmUpMethods(f.method, ds);
      if (f.model !== undefined && (f.new !== undefined || f.factors !== undefined)) {
        throw new CollabperfError('E_INVALID_ARGUMENT', '--model and --new/--factors cannot be combined', { field: 'model' });
      }
      const budget = Number(f.budget);
      if (!Number.isInteger(budget) || budget < 1) throw new CollabperfError('E_INVALID_ARGUMENT', `--budget must be a positive integer, got "${f.budget}"`, { field: 'budget' });
      const known: KnownScore[] | undefined = f.new !== undefined ? withTaskHints(ds, () => parseNewScores(ds, f.new!)).map((s) => ({ task: s.task, value: s.value })) : undefined;
      const costs = f.costs === undefined ? undefined : withTaskHints(ds, () => parseCosts(ds, f.costs!));
      const predictor = getPredictor(f.method ?? DEFAULT_METHOD);
      const progress = new Progress('advise');
      progress.phase(`simulating ${budget} step(s) with ${predictor.name}`);
      const a = await advise(ds, predictor, {
        known,
        factors: f.factors !== undefined ? parseNewFactors(ds, f.factors) : undefined,
        model: f.model,
        budget,
        costs,
        ctx: { seed: seedFlag(f.seed), backend: backendFlag(f.backend) },
      });
      progress.done();
      const warnings = a.warnings;
      const stoppedText = a.stopped ? `stopped after ${a.steps.length} of ${budget} step(s): ${a.stopped.reason}, so running it is not expected to lower the error` : undefined;
      if (f.json) {
        return printJson({
          dataset: origin,
          method: a.method,
          known: a.known,
          baselineError: a.baselineError,
          steps: a.steps.map((s) => ({
            task: s.task,
            expectedErrorBefore: s.expectedErrorBefore,
            expectedErrorAfter: s.expectedErrorAfter,
            gain: s.gain,
            cost: s.cost,
            support: s.support,
            // "Is GSM8K or HumanEval worth running?": the next-best candidates of the step.
            alternatives: s.ranking.slice(1, 4).map((o) => ({ task: o.task, expectedErrorAfter: o.expectedErrorAfter, gain: o.gain, cost: o.cost, support: o.support })),
          })),
          stopped: a.stopped ? { atStep: a.stopped.atStep, reason: stoppedText, bestRemaining: a.stopped.bestRemaining ? { task: a.stopped.bestRemaining.task, expectedErrorAfter: a.stopped.bestRemaining.expectedErrorAfter, gain: a.stopped.bestRemaining.gain } : null } : null,
          warnings: [...loadWarnings, ...warnings],
          referenceModels: a.referenceModels,
          fits: a.fits,
          seconds: a.ms / 1000,
        });
      }
      const w = Math.max(9, ...a.steps.map((s) => s.task.length));
      const lines = [
        `${origin}: benchmarks to run next for ${f.model ?? 'the new model'} (known: ${a.known.join(', ') || 'none'}), method ${a.method}`,
        `expected error on the unknown benchmarks now: ${a.baselineError.toFixed(2)} points (0-100 scale), from ${a.referenceModels} reference models`,
        `step  ${'benchmark'.padEnd(w)}  error after  gain${costs ? '   cost' : ''}`,
        ...a.steps.map((s, i) => `${String(i + 1).padStart(4)}  ${s.task.padEnd(w)}  ${s.expectedErrorAfter.toFixed(2).padStart(11)}  ${s.gain.toFixed(2).padStart(4)}${costs ? `  ${s.cost.toFixed(1).padStart(5)}` : ''}`),
        ...(stoppedText ? [stoppedText] : []),
      ];
      for (const w of warnings) warn(f, w);
      process.stdout.write(`${lines.join('\n')}\n`);
    }),
  );
}
