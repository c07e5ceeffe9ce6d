/**
 * The CLI as a shell pipeline drives it: a reader that stops early (`collabperf predict | head`)
 * closes stdout while predict still has output to write, and the command must end quietly with
 * exit code 0, not with an unhandled EPIPE stack trace. Runs the built CLI (bin/ imports dist/) in a
 * child process whose stdout is closed at once, so its writes meet a closed pipe (as `| true` does).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Runs the built CLI with `args`, its stdout closed at once; resolves to its exit code and stderr. */
async function intoClosedPipe(...args: string[]): Promise<{ code: number | null; stderr: string }> {
  if (!existsSync(`${root}dist/cli/main.js`)) throw new Error('dist/cli/main.js is missing: bin/collabperf.js runs the built package (npm run build)');
  const child = spawn(process.execPath, ['bin/collabperf.js', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.destroy();
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  return { code, stderr };
}

describe('collabperf predict into a closed pipe', () => {
  it('ends with exit code 0 and nothing on stderr', async () => {
    const r = await intoClosedPipe('predict', '--method', 'mean', '--no-intervals');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  }, 60_000);

  it('still reports a usage error with exit code 2 when stdout is closed', async () => {
    const r = await intoClosedPipe('predict', '--metod', 'mean');
    expect(r.stderr).toContain("unknown option '--metod'");
    expect(r.code).toBe(2);
  }, 60_000);
});
