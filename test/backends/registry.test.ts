import { afterEach, describe, expect, it } from 'vitest';
import { backendInfo, backendWithKernel, chooseBackend, envBackendChoice, getBackend, registerBackend, unregisterBackend, type BackendImplementation } from '../../src/backends/registry.js';
import { loadNativeBackend } from '../../src/backends/native.js';
import { tsBackend } from '../../src/backends/ts/index.js';
import { CollabperfError } from '../../src/errors.js';
import { caught } from '../helpers/errors.js';

const saved = process.env.COLLABPERF_BACKEND;
const fakes = new Set<string>();
let builtinsRemoved = false;

afterEach(() => {
  if (saved === undefined) delete process.env.COLLABPERF_BACKEND;
  else process.env.COLLABPERF_BACKEND = saved;
  for (const n of fakes) unregisterBackend(n);
  fakes.clear();
  if (builtinsRemoved) {
    registerBackend('native', loadNativeBackend, 100);
    registerBackend('ts', () => tsBackend, 0);
    builtinsRemoved = false;
  }
});

/** A working backend under another name (the TS kernels), counting its factory's calls. */
function fake(name: string, priority: number): { calls: number } {
  const counter = { calls: 0 };
  fakes.add(name);
  registerBackend(
    name,
    (): BackendImplementation => {
      counter.calls++;
      return { ...tsBackend, name, details: () => ({ ...tsBackend.details(), name }) };
    },
    priority,
  );
  return counter;
}

/** A backend whose factory throws `message`, counting its calls. */
function broken(name: string, priority: number, message: string): { calls: number } {
  const counter = { calls: 0 };
  fakes.add(name);
  registerBackend(
    name,
    () => {
      counter.calls++;
      throw new Error(message);
    },
    priority,
  );
  return counter;
}

/** Only the fakes remain, so what auto does depends on nothing about this machine's addon. */
function removeBuiltins(): void {
  unregisterBackend('native');
  unregisterBackend('ts');
  builtinsRemoved = true;
}


describe('backend registry', () => {
  it('follows COLLABPERF_BACKEND and rejects unknown names', () => {
    process.env.COLLABPERF_BACKEND = 'ts';
    expect(getBackend().name).toBe('ts');
    process.env.COLLABPERF_BACKEND = 'gpu';
    expect(() => envBackendChoice()).toThrow(CollabperfError);
    expect(() => getBackend('gpu' as never)).toThrow(/unknown backend/);
  });

  it('a per-call choice wins over the environment', () => {
    process.env.COLLABPERF_BACKEND = 'native';
    expect(getBackend('ts').name).toBe('ts');
  });

  it('auto takes the highest priority, equal priorities in registration order, and loads lazily once', () => {
    // Only fake backends are registered here: a CI run's COLLABPERF_BACKEND=ts would name none of them.
    delete process.env.COLLABPERF_BACKEND;
    removeBuiltins();
    const low = fake('low', 10);
    const first = fake('first', 200);
    const second = fake('second', 200);
    const high = fake('high', 300);
    expect(low.calls + first.calls + second.calls + high.calls).toBe(0);
    expect(getBackend('auto').name).toBe('high');
    expect(getBackend('auto').name).toBe('high');
    expect([high.calls, first.calls, second.calls, low.calls]).toEqual([1, 0, 0, 0]);
    unregisterBackend('high');
    expect(getBackend('auto').name).toBe('first');
    expect(backendInfo('auto').available.map((b) => b.name)).toEqual(['first', 'second', 'low']);
    expect(() => envBackendChoice()).not.toThrow();
    process.env.COLLABPERF_BACKEND = 'nope';
    expect(caught(() => envBackendChoice()).message).toContain('one of first, second, low, not "nope"');
  });

  it('a failing factory is collected once, with its first line, and reported with the other failures', () => {
    removeBuiltins();
    const gpu = broken('gpu', 300, 'no CUDA device\n    at load (gpu.js:1:1)');
    const fpga = broken('fpga', 200, 'bitstream missing');
    fake('cpu', 100);
    expect(getBackend('auto').name).toBe('cpu');
    expect(getBackend('auto').name).toBe('cpu');
    expect([gpu.calls, fpga.calls]).toEqual([1, 1]);
    const info = backendInfo('auto');
    expect(info.active.name).toBe('cpu');
    expect(info.available.map((b) => b.name)).toEqual(['cpu']);
    expect(info.unavailable).toEqual([
      { name: 'gpu', reason: 'no CUDA device' },
      { name: 'fpga', reason: 'bitstream missing' },
    ]);
    // re-registering forgets the failure: the new factory is tried
    fake('gpu', 300);
    expect(getBackend('auto').name).toBe('gpu');
  });

  it('when nothing loads, auto is E_BACKEND_UNAVAILABLE listing every failure in priority order', () => {
    removeBuiltins();
    broken('fpga', 200, 'bitstream missing');
    broken('gpu', 300, 'no CUDA device');
    const e = caught(() => getBackend('auto'));
    expect(e.code).toBe('E_BACKEND_UNAVAILABLE');
    expect(e.message).toBe('no backend could be loaded (gpu: no CUDA device; fpga: bitstream missing)');
  });

  it('an explicit choice of an unavailable backend errors with its failure and every other collected one', () => {
    removeBuiltins();
    broken('gpu', 300, 'no CUDA device');
    broken('fpga', 200, 'bitstream missing');
    fake('cpu', 100);
    expect(getBackend('auto').name).toBe('cpu');
    const e = caught(() => getBackend('fpga'));
    expect(e.code).toBe('E_BACKEND_UNAVAILABLE');
    expect(e.message).toBe('backend "fpga" is unavailable: bitstream missing (also unavailable: gpu: no CUDA device)');
    process.env.COLLABPERF_BACKEND = 'gpu';
    expect(caught(() => getBackend()).message).toBe('backend "gpu" is unavailable: no CUDA device (also unavailable: fpga: bitstream missing)');
    // a backend that loads is still given when asked for by name
    expect(getBackend('cpu').name).toBe('cpu');
  });

  it('a factory returning a backend of another name is a failure naming it', () => {
    removeBuiltins();
    fakes.add('liar');
    registerBackend('liar', () => ({ ...tsBackend }), 10);
    expect(caught(() => getBackend('liar')).message).toBe('backend "liar" is unavailable: the factory returned a backend named "ts"');
  });

  it('chooseBackend says why: requested by option or environment, or auto with the backends it skipped', () => {
    // Only fake backends are registered here: a CI run's COLLABPERF_BACKEND=ts would name none of them.
    delete process.env.COLLABPERF_BACKEND;
    removeBuiltins();
    broken('gpu', 300, 'no CUDA device');
    fake('cpu', 100);
    broken('slow', 50, 'never tried by auto');
    const auto = chooseBackend({ nnz: 10, rank: 2 });
    expect(auto.backend.name).toBe('cpu');
    // only failures above the pick are skipped ones; 'slow' ranks below and is not mentioned
    expect(auto.reason).toBe('auto: the highest-priority backend that loads (gpu unavailable), at every problem size (measured: TS is nowhere faster)');
    expect(chooseBackend(undefined, 'cpu')).toMatchObject({ backend: { name: 'cpu' }, reason: 'requested' });
    process.env.COLLABPERF_BACKEND = 'cpu';
    expect(chooseBackend().reason).toBe('requested by COLLABPERF_BACKEND');
    expect(backendInfo().reason).toBe('requested by COLLABPERF_BACKEND');
    delete process.env.COLLABPERF_BACKEND;
    unregisterBackend('gpu');
    expect(chooseBackend().reason).toBe('auto: the highest-priority backend that loads, at every problem size (measured: TS is nowhere faster)');
  });

  it('a backend without fitMany gets the generic one built from its kernels', () => {
    removeBuiltins();
    fakes.add('kernels-only');
    const { fitMany: _omit, ...rest } = tsBackend;
    registerBackend('kernels-only', () => ({ ...rest, name: 'kernels-only' }), 10);
    const b = getBackend('kernels-only');
    expect(typeof b.fitMany).toBe('function');
    expect(b.fitMany).not.toBe(tsBackend.fitMany);
  });

  it('loads and configures the native addon when the run requires it, else says why not', () => {
    // CI's native run sets these: a missing or broken addon must fail here, not be skipped.
    const required = saved === 'native' || process.env.COLLABPERF_REQUIRE_NATIVE === '1';
    const info = backendInfo();
    const native = info.available.find((b) => b.name === 'native');
    if (required || native) {
      expect(native).toBeDefined();
      expect(native!.blas).toMatch(/OpenBLAS/i);
      expect(native!.blasThreads).toBe(1);
      expect(native!.parallelSgd).toBe(true);
      expect(native!.path).toMatch(/collabperf\.node$/);
      expect(info.active.name).toBe(saved === 'ts' ? 'ts' : 'native');
    } else {
      expect(info.unavailable.find((u) => u.name === 'native')?.reason).toMatch(/\S/);
      expect(info.active.name).toBe('ts');
      expect(caught(() => getBackend('native')).code).toBe('E_BACKEND_UNAVAILABLE');
    }
  });
});

describe('backendWithKernel', () => {
  it('gives the chosen backend when it has the kernel, else TypeScript', () => {
    expect(backendWithKernel('nearestRows', 'ts').name).toBe('ts');
    registerBackend('no-search', () => ({ ...getBackend('ts'), name: 'no-search', nearestRows: undefined, neighbourWeights: undefined }), -20);
    try {
      expect(backendWithKernel('nearestRows', 'no-search').name).toBe('ts');
      expect(backendWithKernel('neighbourWeights', 'no-search').name).toBe('ts');
    } finally {
      unregisterBackend('no-search');
    }
  });
});
