import { afterEach, describe, expect, it } from 'vitest';
import { backendInfo, envBackendChoice, getBackend } from '../../src/backends/registry.js';
import { CollabperfError } from '../../src/errors.js';

const saved = process.env.COLLABPERF_BACKEND;
afterEach(() => {
  if (saved === undefined) delete process.env.COLLABPERF_BACKEND;
  else process.env.COLLABPERF_BACKEND = saved;
});

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
  it('reports the active backend, the BLAS and the failures', () => {
    const info = backendInfo();
    expect(['native', 'ts']).toContain(info.active.name);
    expect(info.active.blas.length).toBeGreaterThan(0);
    expect(info.active.blasThreads).toBeGreaterThanOrEqual(1);
    const names = [...info.available.map((b) => b.name), ...info.unavailable.map((u) => u.name)].sort();
    expect(names).toEqual(['native', 'ts']);
    for (const u of info.unavailable) expect(u.reason.length).toBeGreaterThan(0);
    if (info.unavailable.some((u) => u.name === 'native')) {
      expect(() => getBackend('native')).toThrow(expect.objectContaining({ code: 'E_BACKEND_UNAVAILABLE' }));
    }
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
    } else {
      expect(info.unavailable.find((u) => u.name === 'native')?.reason).toMatch(/\S/);
    }
  });
});
