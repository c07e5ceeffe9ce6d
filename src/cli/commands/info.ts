import type { Command } from 'commander';
import { backendInfo, type BackendChoice } from '../../backends/registry.js';
import { printJson } from '../output.js';
import type { CliRunner } from '../runner.js';

/** `collabperf info`: the active backend, the BLAS and its threads, and why native is unavailable if it is. */
export function registerInfo(program: Command, run: CliRunner): void {
  program
    .command('info')
    .description('show the active backend, the BLAS in use, threads, and why a backend is unavailable')
    .option('--backend <name>', 'auto, native or ts (default: COLLABPERF_BACKEND or auto)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { backend?: BackendChoice; json?: boolean }) =>
      run(Boolean(opts.json), async () => {
        const info = backendInfo(opts.backend);
        if (opts.json) {
          printJson({ node: process.version, platform: `${process.platform}-${process.arch}`, ...info });
          return;
        }
        const a = info.active;
        const lines = [
          `active backend: ${a.name}${info.requested === 'auto' ? ' (auto)' : ''}`,
          `  why: ${info.reason}`,
          `  linear algebra: ${a.blas}, ${a.blasThreads} BLAS thread(s) per call`,
          `  kernel threads: up to ${a.maxThreads}; parallel SGD: ${a.parallelSgd ? 'yes' : 'no'}`,
        ];
        if (a.path) lines.push(`  addon: ${a.path}`);
        for (const b of info.available) if (b.name !== a.name) lines.push(`also available: ${b.name} (${b.blas})`);
        for (const u of info.unavailable) lines.push(`unavailable: ${u.name}: ${u.reason}`);
        lines.push(`node ${process.version} on ${process.platform}-${process.arch}`);
        process.stdout.write(`${lines.join('\n')}\n`);
      }),
    );
}
