import { CollabperfError } from '../errors.js';
import { loadNativeBackend } from './native.js';
import { tsBackend } from './ts/index.js';
import type { BackendDetails, BackendName, KernelBackend } from './types.js';

/** What the user may ask for: a backend by name, or the first one that loads. */
export type BackendChoice = BackendName | 'auto';

interface Candidate {
  name: BackendName;
  load: () => KernelBackend;
}

/** Tried in this order by 'auto'. */
const candidates: Candidate[] = [
  { name: 'native', load: loadNativeBackend },
  { name: 'ts', load: () => tsBackend },
];

const loaded = new Map<BackendName, KernelBackend>();
const failures = new Map<BackendName, string>();

function tryLoad(c: Candidate): KernelBackend | undefined {
  const hit = loaded.get(c.name);
  if (hit) return hit;
  if (failures.has(c.name)) return undefined;
  try {
    const b = c.load();
    loaded.set(c.name, b);
    return b;
  } catch (e) {
    failures.set(c.name, e instanceof Error ? e.message.split('\n')[0] : String(e));
    return undefined;
  }
}

/** The choice from `COLLABPERF_BACKEND` (auto when unset). */
export function envBackendChoice(): BackendChoice {
  const v = (process.env.COLLABPERF_BACKEND ?? 'auto').trim().toLowerCase();
  if (v === '' || v === 'auto') return 'auto';
  if (v === 'native' || v === 'ts') return v;
  throw new CollabperfError('E_INVALID_ARGUMENT', `COLLABPERF_BACKEND must be auto, native or ts, not "${v}"`);
}

/**
 * Returns the backend for a choice (per-call option first, then `COLLABPERF_BACKEND`, then auto).
 * A named backend that cannot load is an error; auto falls back in priority order and, if none
 * loads, reports every failure together.
 */
export function getBackend(choice?: BackendChoice): KernelBackend {
  const want = choice ?? envBackendChoice();
  if (want !== 'auto') {
    const c = candidates.find((x) => x.name === want);
    if (!c) throw new CollabperfError('E_INVALID_ARGUMENT', `unknown backend "${String(want)}" (use auto, native or ts)`);
    const b = tryLoad(c);
    if (!b) throw new CollabperfError('E_BACKEND_UNAVAILABLE', `backend "${want}" is unavailable: ${failures.get(c.name)}`);
    return b;
  }
  for (const c of candidates) {
    const b = tryLoad(c);
    if (b) return b;
  }
  const why = candidates.map((c) => `${c.name}: ${failures.get(c.name)}`).join('; ');
  throw new CollabperfError('E_BACKEND_UNAVAILABLE', `no backend could be loaded (${why})`);
}

/** Everything `collabperf info` shows: the active backend and why others are unavailable. */
export interface BackendReport {
  /** The backend a call without options would use now. */
  active: BackendDetails;
  /** What was asked for (option or COLLABPERF_BACKEND). */
  requested: BackendChoice;
  available: BackendDetails[];
  /** Backends that failed to load, with the reason. */
  unavailable: { name: BackendName; reason: string }[];
}

/** Describes the backends: which is active, the BLAS in use and its threads, and load failures. */
export function backendInfo(choice?: BackendChoice): BackendReport {
  const requested = choice ?? envBackendChoice();
  for (const c of candidates) tryLoad(c);
  const active = getBackend(requested).details();
  return {
    active,
    requested,
    available: candidates.flatMap((c) => (loaded.has(c.name) ? [loaded.get(c.name)!.details()] : [])),
    unavailable: candidates.flatMap((c) => (failures.has(c.name) ? [{ name: c.name, reason: failures.get(c.name)! }] : [])),
  };
}
