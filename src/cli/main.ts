import { Command, CommanderError } from 'commander';
import { registerAdvise } from './commands/advise.js';
import { registerDatasets } from './commands/datasets.js';
import { registerEval } from './commands/eval.js';
import { registerFit } from './commands/fit.js';
import { registerImportance } from './commands/importance.js';
import { registerInfo } from './commands/info.js';
import { registerPredict } from './commands/predict.js';
import { registerReport } from './commands/report.js';
import { reportError } from './output.js';
import type { CliRunner } from './runner.js';

/** Builds the program; each command registers itself from its own module. */
export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command();
  program
    .name('collabperf')
    .description('predict LLM benchmark scores from the scores models already have; fast ALS/SGD matrix factorization')
    .exitOverride()
    .showHelpAfterError();
  const run: CliRunner = async (json, body) => {
    try {
      await body();
    } catch (e) {
      setExit(reportError(e, json));
    }
  };
  registerDatasets(program, run);
  registerFit(program, run);
  registerPredict(program, run);
  registerEval(program, run);
  registerImportance(program, run);
  registerAdvise(program, run);
  registerReport(program, run);
  registerInfo(program, run);
  return program;
}

/** Runs the CLI on argv; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const program = buildProgram((c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    return reportError(e, argv.includes('--json'));
  }
  return code;
}
