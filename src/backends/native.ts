import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { CollabperfError } from '../errors.js';
import type { BackendDetails, KernelBackend, KernelModel, KernelOptions, KernelProblem, KernelStatus, LossSums } from './types.js';

/** The shape the addon exports (native/binding/addon.cpp). */
interface NativeAddon {
  setErrorClass(cls: new (code: string, message: string) => Error): void;
  alsSweep(p: KernelProblem, m: KernelModel, o: KernelOptions): Promise<KernelStatus>;
  sgdEpoch(p: KernelProblem, m: KernelModel, o: KernelOptions, epoch: number): Promise<KernelStatus>;
  trainLoss(p: KernelProblem, m: KernelModel, o: KernelOptions): Promise<LossSums>;
  info(): { blas: string; blasThreads: number; maxThreads: number; parallelSgd: boolean; version: string };
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
  };
  return {
    name: 'native',
    alsSweep: (p, m, o) => addon.alsSweep(p, m, o),
    sgdEpoch: (p, m, o, epoch) => addon.sgdEpoch(p, m, o, epoch),
    trainLoss: (p, m, o) => addon.trainLoss(p, m, o),
    details: () => details,
  };
}
