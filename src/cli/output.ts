import { isCollabperfError } from '../errors.js';

/** Writes a value as one JSON document on stdout (the `--json` contract: one object, newline-terminated). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Peak resident memory of this process so far, in MB. */
export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/**
 * Reports an error the way every command does: `--json` gets `{"error": {code, message, ...}}` on
 * stdout, a person gets one line on stderr. Returns the exit code.
 */
export function reportError(e: unknown, json: boolean): number {
  if (isCollabperfError(e)) {
    if (json) printJson({ error: e.toJSON() });
    else process.stderr.write(`collabperf: ${e.message} [${e.code}]\n`);
    return 2;
  }
  const err = e instanceof Error ? e : new Error(String(e));
  if (json) printJson({ error: { name: err.name, code: 'E_INTERNAL', message: err.message } });
  else process.stderr.write(`collabperf: internal error: ${err.stack ?? err.message}\n`);
  return 1;
}

/** A one-line progress indicator on stderr, only when stderr is a terminal. */
export class ProgressLine {
  private readonly enabled = Boolean(process.stderr.isTTY);
  update(text: string): void {
    if (this.enabled) process.stderr.write(`\r\x1b[2K${text}`);
  }
  done(): void {
    if (this.enabled) process.stderr.write('\r\x1b[2K');
  }
}
