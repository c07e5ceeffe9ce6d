import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { printJson, reportError } from './output.js';
import type { CliRunner } from './runner.js';

type Register = (program: Command, run: CliRunner) => void;

/**
 * The commands in the order help lists them, each loaded on demand: a run of one command imports
 * only its own module tree (not the report's charts or the advisor for a `predict`), which saved
 * about 30 ms of the start-up of every command.
 */
const COMMANDS: ReadonlyArray<readonly [string, () => Promise<Register>]> = [
  ['datasets', async () => (await import('./commands/datasets.js')).registerDatasets],
  ['fit', async () => (await import('./commands/fit.js')).registerFit],
  ['predict', async () => (await import('./commands/predict.js')).registerPredict],
  ['recommend', async () => (await import('./commands/recommend.js')).registerRecommend],
  ['eval', async () => (await import('./commands/eval.js')).registerEval],
  ['importance', async () => (await import('./commands/importance.js')).registerImportance],
  ['advise', async () => (await import('./commands/advise.js')).registerAdvise],
  ['report', async () => (await import('./commands/report.js')).registerReport],
  ['info', async () => (await import('./commands/info.js')).registerInfo],
];

/** The package version, read from package.json (two levels up from both src/cli and dist/cli). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * Builds the program; each command registers itself from its own module. With `only` (the name of
 * a command) just that command is registered: all a run of it needs, since commander then parses
 * its options alone. Commander's own errors (unknown option, missing argument, ...) are not written
 * by commander: {@link main} turns them into one line (or the `--json` error document) and exit
 * code 2, like every other usage error.
 */
export async function buildProgram(setExit: (code: number) => void, only?: string): Promise<Command> {
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
  const chosen = COMMANDS.filter(([name]) => name === only);
  // Loaded together, registered in help order.
  const registers = await Promise.all((chosen.length > 0 ? chosen : COMMANDS).map(([, load]) => load()));
  for (const register of registers) register(program, run);
  return program;
}

/** Runs the CLI on argv; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  let code = 0;
  // argv[2] is the command when the program's own options (--help, --version) do not come first;
  // anything else (no command, `help`, a typo to suggest a command for) registers them all.
  const program = await buildProgram((c) => {
    code = c;
  }, argv[2]);
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
