/**
 * Cooperative time slicing of the TypeScript kernels. A kernel is written once as a generator that
 * yields (without a value) whenever its {@link Slice} is due; a driver resumes it at once or after a
 * return to the event loop. One standalone kernel call drives its own slice; a whole fit
 * (`fitMany`) shares one slice across every kernel call of every job, so thousands of tiny
 * iterations pay neither a promise nor an event-loop turn each, yet the loop never blocks for more
 * than about one slice.
 */
import { performance } from 'node:perf_hooks';

/** Time between two returns to the event loop. */
export const SLICE_MS = 25;

/** The clock of one run of work between two returns to the event loop. */
export class Slice {
  private start = performance.now();

  /** True once the slice has lasted SLICE_MS: the generator should yield. */
  due(): boolean {
    return performance.now() - this.start >= SLICE_MS;
  }

  /** Starts a new slice (after the event loop has run). */
  reset(): void {
    this.start = performance.now();
  }
}

/** A kernel as a generator: each `yield` asks its driver for a return to the event loop. */
export type Steps<T> = Generator<void, T, void>;

/** One turn of the event loop (setImmediate lets timers and I/O such as an abort run first). */
export function turn(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

/** Runs a kernel generator to completion, returning to the event loop at each of its yields. */
export async function drive<T>(steps: Steps<T>, slice: Slice): Promise<T> {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    await turn();
    slice.reset();
  }
}
