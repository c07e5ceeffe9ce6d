import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerAdvise } from './commands/advise.js';
import { registerDatasets } from './commands/datasets.js';
import { registerEval } from './commands/eval.js';
import { registerFit } from './commands/fit.js';
import { registerImportance } from './commands/importance.js';
import { registerInfo } from './commands/info.js';
import { registerPredict } from './commands/predict.js';
import { registerRecommend } from './commands/recommend.js';
import { registerReport } from './commands/report.js';
import { printJson, reportError } from './output.js';
import type { CliRunner } from './runner.js';

/** The package version, read from package.json (two levels up from both src/cli and dist/cli). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * Builds the program; each command registers itself from its own module. Commander's own errors
 * (unknown option, missing argument, ...) are not written by commander: {@link main} turns them into
 * one line (or the `--json` error document) and exit code 2, like every other usage error.
 */
export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command();
  program
    .name('collabperf')
    .description('predict LLM benchmark scores from the scores models already have; fast ALS/SGD matrix factorization')
    .version(packageVersion(), '-V, --version', 'print the version of collabperf')
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({ outputError: () => {} });
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
  registerRecommend(program, run);
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
    if (e instanceof CommanderError) return commanderError(e, argv.includes('--json'));
    return reportError(e, argv.includes('--json'));
  }
  return code;
}

/**
 * Help and version exit 0 as commander decided; every other commander error is a usage error: one
 * line `error: unknown option '--foo' (did you mean --bar?)` on stderr, or `{"error": {...}}` on
 * stdout with --json, and exit code 2 (README: usage errors exit 2).
 */
function commanderError(e: CommanderError, json: boolean): number {
  if (e.exitCode === 0 || e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return e.exitCode;
  const message = usageLine(e.message);
  if (json) printJson({ error: { name: 'CollabperfError', code: 'E_INVALID_ARGUMENT', message: message.replace(/^error: /, ''), commanderCode: e.code } });
  else process.stderr.write(`collabperf: ${message}\n`);
  return 2;
}

/** Commander's `error: unknown option '--foo'\n(Did you mean --bar?)` as one line. */
export function usageLine(message: string): string {
  return message
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .map((l) => l.replace(/^\(Did you mean (.*)\)$/, '(did you mean $1)'))
    .join(' ');
}
