import { describe, it } from 'vitest';
import { getBackend } from '../../src/backends/registry.js';
import type { KernelBackend } from '../../src/backends/types.js';

/**
 * The backends a suite runs against. COLLABPERF_BACKEND=native makes native mandatory (a missing
 * addon fails here instead of being skipped) and compares it with ts; =ts runs ts alone; otherwise
 * every backend that loads.
 */
export function backendsUnderTest(): KernelBackend[] {
  const env = (process.env.COLLABPERF_BACKEND ?? 'auto').toLowerCase();
  if (env === 'native') return [getBackend('native'), getBackend('ts')];
  if (env === 'ts') return [getBackend('ts')];
  const out = [getBackend('ts')];
  try {
    out.unshift(getBackend('native'));
  } catch {
    if (process.env.COLLABPERF_REQUIRE_NATIVE === '1') throw new Error('COLLABPERF_REQUIRE_NATIVE=1 but the native backend does not load');
  }
  return out;
}

/** The backend a plain call uses in this run (native in the native CI run, ts in the ts run). */
export function defaultBackend(): KernelBackend {
  return getBackend();
}

/**
 * The native backend whatever COLLABPERF_BACKEND selects (native-only suites run in the TS-forced
 * CI run too), or null. Without the addon, a suite named `suite` reports one skipped test saying
 * why, or one failing test under COLLABPERF_REQUIRE_NATIVE=1.
 */
export function nativeForSuite(suite: string): KernelBackend | null {
  try {
    return getBackend('native');
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    describe(suite, () => {
      if (process.env.COLLABPERF_REQUIRE_NATIVE === '1') {
        it('the addon loads (COLLABPERF_REQUIRE_NATIVE=1)', () => {
          throw new Error(`COLLABPERF_REQUIRE_NATIVE=1 but the native backend does not load: ${why}`);
        });
      } else {
        it.skip(`native addon does not load (${why})`, () => {});
      }
    });
    return null;
  }
}
