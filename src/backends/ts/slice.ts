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

/**
 * Largest budget, in approximate multiply-adds, between two looks at the clock and the cancel flag
 * (about 0.5 ms once compiled). Counted in work rather than rows because a row's cost grows with
 * its entries and with d^2.
 */
export const CHECK_WORK = 1 << 20;
/** Smallest budget (a row is never split, so one call is at least one row). */
const MIN_WORK = 1 << 12;
/** Time one call should stay under. */
const CHECK_MS = 2;

/**
 * The budget of the solve loops, adapted to the measured speed: until the optimising compiler has
 * run (the first tens of ms of a process), the same work is tens of times slower, and a fixed
 * budget would then hold the event loop far beyond the slice. One per kernel call, shared by its
 * passes.
 */
export class WorkBudget {
  value = MIN_WORK;
}

/**
 * Runs `solve(from, budget)` (which solves rows from `from` until about `budget` multiply-adds and
 * returns the next row) over rows 0..count-1, adapting the budget, checking the cancel flag after
 * each call and yielding when the slice is due. The rows are solved in order whatever the budget,
 * so the results do not depend on the timing.
 */
export function* solveRows(count: number, solve: (from: number, budget: number) => number, budget: WorkBudget, cancel: Int32Array | null, slice: Slice): Steps<'ok' | 'aborted'> {
  let i = 0;
  while (i < count) {
    const t0 = performance.now();
    i = solve(i, budget.value);
    const now = performance.now();
    if (now - t0 > CHECK_MS) budget.value = Math.max(MIN_WORK, budget.value >> 1);
    else if (budget.value < CHECK_WORK) budget.value *= 2;
    if (cancel !== null && cancel[0] !== 0) return 'aborted';
    if (slice.due()) {
      yield;
      // A cancel that arrived while we were away must win even if no work is left.
      if (cancel !== null && cancel[0] !== 0) return 'aborted';
    }
  }
  return 'ok';
}
