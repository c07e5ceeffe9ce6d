import { CollabperfError } from '../errors.js';
import { fitManyByIterations } from './fit-loop.js';
import { loadNativeBackend } from './native.js';
import { tsBackend } from './ts/index.js';
import type { BackendDetails, BackendName, KernelBackend } from './types.js';

/** What the user may ask for: a backend by name, or 'auto'. */
export type BackendChoice = BackendName | 'auto';

/** A backend as a factory may return it: `fitMany` is optional (built from the kernels when absent). */
export type BackendImplementation = Omit<KernelBackend, 'fitMany'> & Partial<Pick<KernelBackend, 'fitMany'>>;

interface Candidate {
  name: BackendName;
  load: () => BackendImplementation;
  priority: number;
}

/** Tried by 'auto' from the highest priority down. */
const candidates: Candidate[] = [
  { name: 'native', load: loadNativeBackend, priority: 100 },
  { name: 'ts', load: () => tsBackend, priority: 0 },
];

const loaded = new Map<BackendName, KernelBackend>();
const failures = new Map<BackendName, string>();

function ordered(): Candidate[] {
  // Stable: equal priorities keep registration order.
  return candidates.slice().sort((a, b) => b.priority - a.priority);
}

/** Completes a backend without `fitMany` with the generic one made of its kernels. */
function complete(b: BackendImplementation): KernelBackend {
  if (typeof b.fitMany === 'function') return b as KernelBackend;
  return { ...b, fitMany: fitManyByIterations(b) };
}

function tryLoad(c: Candidate): KernelBackend | undefined {
  const hit = loaded.get(c.name);
  if (hit) return hit;
  if (failures.has(c.name)) return undefined;
  try {
    const b = complete(c.load());
    if (b.name !== c.name) throw new Error(`the factory returned a backend named "${b.name}"`);
    loaded.set(c.name, b);
    return b;
  } catch (e) {
    failures.set(c.name, e instanceof Error ? e.message.split('\n')[0] : String(e));
    return undefined;
  }
}

/**
 * Adds a backend (or replaces one of the same name, forgetting its earlier load or failure).
 * `factory` runs lazily, at the first call that needs the backend; a throw is collected and
 * reported with the other failures (`backendInfo().unavailable`, and the E_BACKEND_UNAVAILABLE
 * message of auto when nothing loads). Auto tries backends from the highest `priority` down; the
 * built-ins have native 100 and ts 0. A backend without `fitMany` gets the generic one made of its
 * one-iteration kernels.
 *
 * @example
 * registerBackend('gpu', () => loadMyGpuBackend(), 200);
 */
export function registerBackend(name: string, factory: () => BackendImplementation, priority = 50): void {
  if (typeof name !== 'string' || !/^[a-z][a-z0-9-]*$/.test(name) || name === 'auto') {
    throw new CollabperfError('E_INVALID_ARGUMENT', `a backend name must be lower-case letters, digits and dashes (not "auto"), got "${String(name)}"`);
  }
  if (typeof factory !== 'function') throw new CollabperfError('E_INVALID_ARGUMENT', `registerBackend("${name}"): factory must be a function`);
  if (!Number.isFinite(priority)) throw new CollabperfError('E_INVALID_ARGUMENT', `registerBackend("${name}"): priority must be a finite number`);
  const i = candidates.findIndex((c) => c.name === name);
  if (i >= 0) candidates.splice(i, 1);
  loaded.delete(name);
  failures.delete(name);
  candidates.push({ name, load: factory, priority });
}

/** Removes a registered backend (built-ins included); mainly for tests. */
export function unregisterBackend(name: string): void {
  const i = candidates.findIndex((c) => c.name === name);
  if (i >= 0) candidates.splice(i, 1);
  loaded.delete(name);
  failures.delete(name);
}

/** The choice from `COLLABPERF_BACKEND` (auto when unset). */
export function envBackendChoice(): BackendChoice {
  const v = (process.env.COLLABPERF_BACKEND ?? 'auto').trim().toLowerCase();
  if (v === '' || v === 'auto') return 'auto';
  if (candidates.some((c) => c.name === v)) return v;
  throw new CollabperfError('E_INVALID_ARGUMENT', `COLLABPERF_BACKEND must be auto or one of ${names()}, not "${v}"`);
}

function names(): string {
  return ordered()
    .map((c) => c.name)
    .join(', ');
}

/**
 * Returns the backend for a choice (per-call option first, then `COLLABPERF_BACKEND`, then auto).
 * A named backend that cannot load is an error naming its failure and every other one collected so
 * far; auto takes the highest-priority one that loads and, if none loads, reports every failure together.
 */
export function getBackend(choice?: BackendChoice): KernelBackend {
  const want = choice ?? envBackendChoice();
  if (want !== 'auto') {
    const c = candidates.find((x) => x.name === want);
    if (!c) throw new CollabperfError('E_INVALID_ARGUMENT', `unknown backend "${String(want)}" (use auto or one of ${names()})`);
    const b = tryLoad(c);
    if (!b) {
      // the others' failures too: a user who forces one backend often wonders about the rest
      const others = ordered()
        .filter((x) => x.name !== c.name && failures.has(x.name))
        .map((x) => `${x.name}: ${failures.get(x.name)}`);
      throw new CollabperfError('E_BACKEND_UNAVAILABLE', `backend "${want}" is unavailable: ${failures.get(c.name)}${others.length ? ` (also unavailable: ${others.join('; ')})` : ''}`);
    }
    return b;
  }
  for (const c of ordered()) {
    const b = tryLoad(c);
    if (b) return b;
  }
  const why = ordered()
    .map((c) => `${c.name}: ${failures.get(c.name)}`)
    .join('; ');
  throw new CollabperfError('E_BACKEND_UNAVAILABLE', `no backend could be loaded (${why})`);
}

/**
 * Below this much work per iteration (ratings x rank), auto prefers TS over native. 0 keeps native
 * for every size: with native `fitMany` a whole fit is one addon call, and the per-iteration
 * overhead that once made native slower on tiny fits is gone. Measured 2026-12-02 on the 2-core CI
 * machine (whole `fit()` of 10 ALS sweeps, two alternating rounds, ms native / ts): 860 ratings x
 * rank 4: 1.6 / 1.5-2.0 (a tie within noise); x rank 8: 1.6-2.2 / 3.3-3.8; 5,865 x 8: 6-8 / 15-16;
 * 29k x 32: 65-78 / 650-683. Deterministic SGD: native 0.2-0.6 ms / ts 1.6-3.3 ms on tables of 14 to
 * 860 ratings. Nowhere is TS faster by more than the noise, so no threshold.
 */
export const AUTO_TS_BELOW_WORK = 0;

/** The size of a fit (or of the largest fit of a batch) that auto chooses for. */
export interface ProblemSize {
  nnz: number;
  rank: number;
}

/** Auto's decision: the backend and a sentence saying why (`collabperf info` prints it). */
export interface BackendChoiceReport {
  backend: KernelBackend;
  reason: string;
}

/**
 * Resolves a choice for a problem of a given size. A named choice (option or COLLABPERF_BACKEND) is
 * taken as is; auto takes the highest-priority backend that loads, except that a problem smaller
 * than {@link AUTO_TS_BELOW_WORK} goes to TS when native would be the pick.
 */
export function chooseBackend(size?: ProblemSize, choice?: BackendChoice): BackendChoiceReport {
  const want = choice ?? envBackendChoice();
  if (want !== 'auto') return { backend: getBackend(want), reason: `requested${choice === undefined ? ' by COLLABPERF_BACKEND' : ''}` };
  const top = getBackend('auto');
  if (top.name === 'native' && size !== undefined && size.nnz * size.rank < AUTO_TS_BELOW_WORK) {
    return { backend: getBackend('ts'), reason: `auto: ${size.nnz} ratings x rank ${size.rank} is below ${AUTO_TS_BELOW_WORK}, where TypeScript is faster than the addon call` };
  }
  const skipped = ordered()
    .filter((c) => c.priority > ordered().find((x) => x.name === top.name)!.priority && failures.has(c.name))
    .map((c) => `${c.name} unavailable`);
  const rule = AUTO_TS_BELOW_WORK > 0 ? `, except TS below ${AUTO_TS_BELOW_WORK} ratings x rank` : ', at every problem size (measured: TS is nowhere faster)';
  return { backend: top, reason: `auto: the highest-priority backend that loads${skipped.length ? ` (${skipped.join(', ')})` : ''}${rule}` };
}

/** The optional kernels of a backend that the TypeScript backend always has. */
export type OptionalKernel = 'nearestRows' | 'neighbourWeights';

/**
 * The backend `choice` resolves to (auto's pick by default) when it has the optional kernel
 * `kernel`, else the TypeScript backend, which has every one and gives the same bits.
 */
export function backendWithKernel(kernel: OptionalKernel, choice?: BackendChoice): KernelBackend {
  const chosen = chooseBackend(undefined, choice).backend;
  return typeof chosen[kernel] === 'function' ? chosen : getBackend('ts');
}

/** Everything `collabperf info` shows: the active backend and why others are unavailable. */
export interface BackendReport {
  /** The backend a call without options would use now. */
  active: BackendDetails;
  /** What was asked for (option or COLLABPERF_BACKEND). */
  requested: BackendChoice;
  /** Why `active` was chosen (auto's rule, including its problem-size threshold). */
  reason: string;
  /** Registered backends that loaded, highest priority first. */
  available: BackendDetails[];
  /** Backends that failed to load, with the reason. */
  unavailable: { name: BackendName; reason: string }[];
}

/** Describes the backends: which is active and why, the BLAS in use and its threads, and load failures. */
export function backendInfo(choice?: BackendChoice): BackendReport {
  const requested = choice ?? envBackendChoice();
  const list = ordered();
  for (const c of list) tryLoad(c);
  // `choice`, not `requested`: chooseBackend says "requested by COLLABPERF_BACKEND" only when it reads the variable itself
  const chosen = chooseBackend(undefined, choice);
  return {
    active: chosen.backend.details(),
    requested,
    reason: chosen.reason,
    available: list.flatMap((c) => (loaded.has(c.name) ? [loaded.get(c.name)!.details()] : [])),
    unavailable: list.flatMap((c) => (failures.has(c.name) ? [{ name: c.name, reason: failures.get(c.name)! }] : [])),
  };
}
