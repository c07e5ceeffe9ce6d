import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { CollabperfError } from '../errors.js';
import type { AnyKernelModel, BackendDetails, BatchProgress, FactorArray, FitJob, FitJobResult, KernelBackend, KernelModel, KernelOptions, KernelProblem, KernelStatus, LossSums, NearestRows, NeighbourQueries, NeighbourTable, NeighbourWeights, RecommendBatch, RecommendBatchOptions, RecommendModel, SimilarityQueries, SimilarityTable } from './types.js';

/** The shape the addon exports (native/binding/addon.cpp). */
interface NativeAddon {
  setErrorClass(cls: new (code: string, message: string) => Error): void;
  alsSweep(p: KernelProblem, m: AnyKernelModel, o: KernelOptions): Promise<KernelStatus>;
  sgdEpoch(p: KernelProblem, m: AnyKernelModel, o: KernelOptions, epoch: number): Promise<KernelStatus>;
  trainLoss(p: KernelProblem, m: AnyKernelModel, o: KernelOptions): Promise<LossSums>;
  fitMany(jobs: FitJob<FactorArray>[], onProgress?: (p: BatchProgress) => void): Promise<FitJobResult[]>;
  /** Absent in an addon built before issue 10. */
  recommendMany?(m: RecommendModel, rows: Int32Array, n: number, o: RecommendBatchOptions): RecommendBatch;
  /** Absent in an addon built before it. */
  nearestRows?(t: NeighbourTable, q: NeighbourQueries, L: number, o: { threads: number }): NearestRows;
  neighbourWeights?(t: SimilarityTable, q: SimilarityQueries, o: { threads: number }): NeighbourWeights;
  info(): { blas: string; blasThreads: number; maxThreads: number; parallelSgd: boolean; implicitAls?: boolean; float32Als?: boolean; float32Sgd?: boolean; version: string };
}

/**
 * The addon copies every input at the call, so an ordinary Int32Array cancel flag would be read only
 * once; it reads a SharedArrayBuffer-backed one live (that memory cannot be detached). So each
 * distinct plain flag gets a shared twin, refreshed from it every 20 ms while the batch runs.
 */
function fitManyWithCancel(addon: NativeAddon, jobs: FitJob<FactorArray>[], onProgress?: (p: BatchProgress) => void): Promise<FitJobResult[]> {
  const twins = new Map<Int32Array, Int32Array>();
  const mapped = jobs.map((job) => {
    const c = job.options?.cancel;
    if (!c || !(c instanceof Int32Array) || c.buffer instanceof SharedArrayBuffer) return job;
    let twin = twins.get(c);
    if (!twin) {
      twin = new Int32Array(new SharedArrayBuffer(4));
      twin[0] = c[0] ?? 0;
      twins.set(c, twin);
    }
    return { ...job, options: { ...job.options, cancel: twin } };
  });
  if (twins.size === 0) return addon.fitMany(jobs, onProgress);
  const sync = (): void => {
    for (const [c, twin] of twins) if (c.length > 0 && c[0] !== 0) Atomics.store(twin, 0, c[0]);
  };
  const timer = setInterval(sync, 20);
  return addon.fitMany(mapped, onProgress).finally(() => clearInterval(timer));
}

/** The package root: src/backends and dist/backends are both two levels below it. */
const packageRoot = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Loads the addon through node-gyp-build (build/Release, then prebuilds/). Throws when it is not
 * built or cannot be loaded; the registry collects that message for `collabperf info`.
 */
export function loadNativeBackend(): KernelBackend {
  const require = createRequire(import.meta.url);
  const nodeGypBuild = require('node-gyp-build') as { (dir: string): unknown; resolve(dir: string): string };
  const path = nodeGypBuild.resolve(packageRoot);
  const addon = require(path) as NativeAddon;
  // The addon throws instances of our one error class (the better-sqlite3 pattern).
  addon.setErrorClass(class extends CollabperfError {
    constructor(code: string, message: string) {
      super(code as CollabperfError['code'], message);
    }
  });
  const info = addon.info();
  const details: BackendDetails = {
    name: 'native',
    blas: info.blas,
    blasThreads: info.blasThreads,
    maxThreads: info.maxThreads,
    path,
    parallelSgd: info.parallelSgd,
    // An addon built before implicit ALS says nothing: its fits fall back to TS rather than fail.
    implicitAls: info.implicitAls === true,
    // Likewise an addon built before float32: its float32 fits run on TS.
    float32Als: info.float32Als === true,
    float32Sgd: info.float32Sgd === true,
  };
  return {
    name: 'native',
    alsSweep: (p, m, o) => addon.alsSweep(p, m, o),
    sgdEpoch: (p, m, o, epoch) => addon.sgdEpoch(p, m, o, epoch),
    trainLoss: (p, m, o) => addon.trainLoss(p, m, o),
    fitMany: (jobs, onProgress) => fitManyWithCancel(addon, jobs, onProgress),
    details: () => details,
    ...(addon.recommendMany ? { recommendMany: addon.recommendMany.bind(addon) } : {}),
    ...(addon.nearestRows ? { nearestRows: addon.nearestRows.bind(addon) } : {}),
    ...(addon.neighbourWeights ? { neighbourWeights: addon.neighbourWeights.bind(addon) } : {}),
  };
}
