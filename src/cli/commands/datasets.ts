import type { Command } from 'commander';
import { listBuiltinDatasets, DEFAULT_DATASET } from '../../app/data/builtin.js';
import { printJson } from '../output.js';
import type { CliRunner } from '../runner.js';

/** `collabperf datasets`: the built-in datasets with their size and density. */
export function registerDatasets(program: Command, run: CliRunner): void {
  program
    .command('datasets')
    .description('list the built-in datasets with size and density')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) =>
      run(Boolean(opts.json), async () => {
        const list = listBuiltinDatasets();
        if (opts.json) {
          printJson({ default: DEFAULT_DATASET, datasets: list });
          return;
        }
        const w = Math.max(...list.map((d) => d.name.length));
        const lines = [`${'name'.padEnd(w)}  models  tasks  observed  density  description`];
        for (const d of list) {
          lines.push(
            `${d.name.padEnd(w)}  ${String(d.models).padStart(6)}  ${String(d.tasks).padStart(5)}  ${String(d.observed).padStart(8)}  ${(d.density * 100).toFixed(1).padStart(6)}%  ${d.description}${d.name === DEFAULT_DATASET ? ' (default)' : ''}`,
          );
        }
        process.stdout.write(`${lines.join('\n')}\n`);
      }),
    );
}
