import cliProgress from 'cli-progress';
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

/**
 * Progress of long work, always on stderr (stdout stays one JSON document under `--json`).
 *
 * On a terminal it is a cli-progress bar with an ETA, redrawn in place; elsewhere (a CI log, a pipe,
 * a file) it is a plain line at most every `intervalMs` (2 s by default, `COLLABPERF_PROGRESS_MS`
 * overrides it), plus one line whenever a new phase starts, so a log shows the run is alive without
 * carriage-return noise.
 */
export interface ProgressOptions {
  /** Where to write (default `process.stderr`). */
  stream?: NodeJS.WriteStream | { write(s: string): boolean; isTTY?: boolean };
  /** Draw a bar (default: the stream is a terminal). */
  tty?: boolean;
  /** Plain mode: minimum milliseconds between two count lines. */
  intervalMs?: number;
  /** Clock, for tests. */
  now?: () => number;
  /** Write nothing at all. */
  silent?: boolean;
}

/** Seconds as `12s`, `3m05s` or `1h02m`. */
export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function defaultInterval(): number {
  const v = Number(process.env.COLLABPERF_PROGRESS_MS);
  return Number.isFinite(v) && v >= 0 && process.env.COLLABPERF_PROGRESS_MS !== '' && process.env.COLLABPERF_PROGRESS_MS !== undefined ? v : 2000;
}

/**
 * One progress display for one command. `phase(text)` names what is being done now; `update(done,
 * total, detail)` counts it (a bar with ETA on a terminal, a periodic line elsewhere); `done()`
 * clears the bar. ETA is from the counts of the current phase only.
 */
export class Progress {
  private readonly stream: { write(s: string): boolean };
  private readonly tty: boolean;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly silent: boolean;
  private bar: cliProgress.SingleBar | undefined;
  private phaseName = '';
  private phaseStart = 0;
  private lastLine = -Infinity;
  private lastTotal = -1;

  constructor(private readonly label: string, opts: ProgressOptions = {}) {
    this.stream = opts.stream ?? process.stderr;
    this.tty = opts.tty ?? Boolean((this.stream as { isTTY?: boolean }).isTTY);
    this.intervalMs = opts.intervalMs ?? defaultInterval();
    this.now = opts.now ?? Date.now;
    this.silent = opts.silent ?? false;
    this.phaseStart = this.now();
  }

  /** Starts a new phase: a new bar on a terminal, one line elsewhere. */
  phase(text: string): void {
    if (this.silent) return;
    this.stopBar();
    this.phaseName = text;
    this.phaseStart = this.now();
    this.lastTotal = -1;
    if (!this.tty) {
      this.stream.write(`${this.label}: ${text}\n`);
      this.lastLine = this.now();
    }
  }

  /** Counts the current phase; `detail` says which piece is running. */
  update(done: number, total: number, detail = ''): void {
    if (this.silent) return;
    if (this.tty) {
      if (!this.bar || total !== this.lastTotal) {
        this.stopBar();
        this.bar = new cliProgress.SingleBar(
          {
            stream: this.stream as NodeJS.WritableStream,
            format: `${this.label}${this.phaseName ? ` ${this.phaseName}` : ''} [{bar}] {value}/{total} ETA {eta_formatted} {detail}`,
            clearOnComplete: true,
            hideCursor: false,
            etaBuffer: 20,
            barsize: 24,
          },
          cliProgress.Presets.shades_classic,
        );
        this.bar.start(total, done, { detail });
        this.lastTotal = total;
      } else this.bar.update(done, { detail });
      return;
    }
    const t = this.now();
    if (t - this.lastLine < this.intervalMs && done < total) return;
    this.lastLine = t;
    const elapsed = (t - this.phaseStart) / 1000;
    const eta = done > 0 ? formatEta((elapsed * (total - done)) / done) : '?';
    const pct = total > 0 ? Math.floor((100 * done) / total) : 0;
    this.stream.write(`${this.label}${this.phaseName ? ` ${this.phaseName}` : ''}: ${done}/${total} (${pct}%), elapsed ${formatEta(elapsed)}, ETA ${eta}${detail ? `, ${detail}` : ''}\n`);
  }

  /** Clears the bar (terminal); plain mode has nothing to clear. */
  done(): void {
    this.stopBar();
  }

  private stopBar(): void {
    if (this.bar) {
      this.bar.stop();
      this.bar = undefined;
    }
  }
}

/**
 * Wraps prose at word boundaries to `width` columns (default 80: a terminal's width is unknown
 * when output is piped), indenting continuation lines by `indent` spaces.
 */
export function wrapText(text: string, width = 80, indent = 0): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = ' '.repeat(indent) + word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines.join('\n');
}
