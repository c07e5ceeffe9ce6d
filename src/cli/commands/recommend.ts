import type { Command } from 'commander';
import { CollabperfError } from '../../errors.js';
import { loadModel } from '../../factorization/model-file.js';
import type { FactorModel } from '../../factorization/model.js';
import { printJson } from '../output.js';
import type { CliRunner } from '../runner.js';

interface RecommendCliOptions {
  model: string;
  row?: string;
  similarTo?: string;
  n: string;
  includeKnown?: boolean;
  json?: boolean;
}

/** An id from the command line in the model's kind: a string id, or an integer (original id or dense index). */
function parseId(model: FactorModel<number | string>, side: 'row' | 'col', flag: string, text: string): number | string {
  const ids = side === 'row' ? model.rowIds : model.colIds;
  if (ids !== null && !(ids instanceof Int32Array)) return text;
  const x = Number(text);
  if (text.trim() === '' || !Number.isInteger(x)) {
    throw new CollabperfError('E_INVALID_ARGUMENT', `--${flag} must be an integer ${ids ? 'id' : 'index'} for this model, got "${text}"`, { field: flag });
  }
  return x;
}

/** `collabperf recommend`: the best columns for a row, or the columns most similar to a column, from a saved model. */
export function registerRecommend(program: Command, run: CliRunner): void {
  program
    .command('recommend')
    .description("top columns for a row of a saved model (its training columns left out), or the columns most similar to one")
    .requiredOption('--model <file>', 'model file written by `collabperf fit --save`')
    .option('--row <id>', 'recommend for this row (its id, or its index when the model has no ids)')
    .option('--similar-to <col>', 'list the columns most similar to this one (cosine over factors)')
    .option('-n, --n <n>', 'how many', '10')
    .option('--include-known', "with --row: do not leave out the row's training columns")
    .option('--json', 'machine-readable output')
    .action(async (cli: RecommendCliOptions) =>
      run(Boolean(cli.json), async () => {
        if ((cli.row === undefined) === (cli.similarTo === undefined)) {
          throw new CollabperfError('E_INVALID_ARGUMENT', 'give exactly one of --row and --similar-to');
        }
        if (cli.includeKnown && cli.row === undefined) throw new CollabperfError('E_INVALID_ARGUMENT', '--include-known applies to --row only', { field: 'include-known' });
        const n = Number(cli.n);
        if (!Number.isInteger(n) || n < 1) throw new CollabperfError('E_INVALID_ARGUMENT', `-n must be a positive integer, got "${cli.n}"`, { field: 'n' });
        const model = loadModel(cli.model);
        let items: { col: number | string; score: number }[];
        let query: Record<string, number | string>;
        if (cli.row !== undefined) {
          const row = parseId(model, 'row', 'row', cli.row);
          items = model.recommend(row, n, cli.includeKnown ? { exclude: [] } : undefined);
          query = { row };
        } else {
          const col = parseId(model, 'col', 'similar-to', cli.similarTo!);
          items = model.similarColumns(col, n);
          query = { similarTo: col };
        }
        if (cli.json) {
          printJson({ model: cli.model, ...query, n, excludedKnown: cli.row !== undefined && !cli.includeKnown && model.known !== null, items: items.map((x, i) => ({ rank: i + 1, ...x })) });
          return;
        }
        const what = cli.row !== undefined ? `row ${JSON.stringify(query.row)}` : `similar to column ${JSON.stringify(query.similarTo)}`;
        const note = cli.row !== undefined && !cli.includeKnown ? (model.known ? ', training columns left out' : ' (this model file has no training column sets: nothing left out)') : '';
        const width = Math.max(6, ...items.map((x) => String(x.col).length));
        const lines = [`${what}${note}`, `rank  ${'column'.padEnd(width)}  ${cli.row !== undefined ? 'score' : 'cosine'}`];
        items.forEach((x, i) => lines.push(`${String(i + 1).padStart(4)}  ${String(x.col).padEnd(width)}  ${x.score.toFixed(6)}`));
        process.stdout.write(`${lines.join('\n')}\n`);
      }),
    );
}
