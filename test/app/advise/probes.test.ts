import { describe, expect, it } from 'vitest';
import { evaluateProbes, parseProbesProtocol, type ProbesResult } from '../../../src/app/advise/probes.js';
import { knnPredictor } from '../../../src/app/predictors/knn.js';
import type { Predictor } from '../../../src/app/predictors/types.js';
import { expectError, expectRejects } from '../data/helpers.js';
import { spyPredictor, taskMeanPredictor, type SpyFit } from '../eval/helpers.js';
import { plantedAdviceDataset } from './helpers.js';

const strip = (r: ProbesResult) => ({ ...r, ms: 0 });

describe('evaluateProbes', () => {
  it('is deterministic for a seed and differs across seeds', async () => {
    const ds = plantedAdviceDataset({ models: 30, missing: 0.2 });
    const run = (seeds: number[]) => evaluateProbes(ds, knnPredictor, { k: 2, seeds, folds: 3 });
    const a = await run([4]);
    const b = await run([4]);
    expect(strip(a)).toEqual(strip(b));
    const c = await run([5]);
    expect(c.models.map((m) => m.random)).not.toEqual(a.models.map((m) => m.random));
  });

  it('reports a curve 0..k, both arms equal with no probe, and per-model records', async () => {
    const ds = plantedAdviceDataset({ models: 30 });
    const r = await evaluateProbes(ds, knnPredictor, { k: 3, seeds: 2, folds: 3 });
    expect(r.protocol).toBe('probes:3');
    expect(r.seeds).toEqual([0, 1]);
    expect(r.heldOutModels).toBe(30);
    expect(r.curve.map((p) => p.probes)).toEqual([0, 1, 2, 3]);
    expect(r.curve[0].advisor).toBe(r.curve[0].random);
    expect(r.curve[0].advisorWins).toBe(0.5);
    for (const p of r.curve) {
      expect(Number.isFinite(p.advisor) && Number.isFinite(p.random)).toBe(true);
      expect(p.advisorStd).toBeGreaterThanOrEqual(0);
    }
    expect(r.models).toHaveLength(60);
    for (const m of r.models) {
      expect(m.advisor).toHaveLength(3);
      expect(m.random).toHaveLength(3);
      expect(new Set(m.advisor).size).toBe(3);
      expect(m.advisorMae).toHaveLength(4);
    }
    expect(Object.values(r.firstProbes).reduce((a, b) => a + b, 0)).toBe(60);
  });

  it('measures the gain of the advice on a planted matrix: the near-copy task beats random probes', async () => {
    const ds = plantedAdviceDataset({ models: 45 });
    const r = await evaluateProbes(ds, knnPredictor, { k: 1, seeds: 1, folds: 3 });
    expect(r.curve[1].advisor).toBeLessThan(r.curve[1].random);
    expect(r.curve[1].advisor).toBeLessThan(r.curve[0].advisor);
  });

  it('a method that folds in predicts each held-out model from one fit of the fold and its revealed probes folded in', async () => {
    const ds = plantedAdviceDataset({ models: 24, missing: 0.25 });
    let fits = 0;
    let foldIns = 0;
    const counting: Predictor = {
      ...knnPredictor,
      name: 'counting',
      async fit(d, c) {
        fits++;
        const f = await knnPredictor.fit(d, c);
        return { ...f, foldIn: (scores) => (foldIns++, f.foldIn!(scores)) };
      },
    };
    const r = await evaluateProbes(ds, counting, { k: 2, seeds: [0], folds: 3 });
    expect(r.fits).toBe(fits);
    // Per fold, after the advisor's own fits: one fit for every arm and number of probes, and a
    // fold-in per held-out model for each of the 2k + 1 plan entries (and more for the advisor).
    expect(foldIns).toBeGreaterThanOrEqual(24 * (2 * 2 + 1));
    const refit = await evaluateProbes(ds, { ...knnPredictor, name: 'no-fold-in', canFoldIn: false }, { k: 2, seeds: [0], folds: 3 });
    expect(refit.fits - r.fits).toBe(3 * (2 * 2 + 1 - 1));
  });

  it('never lets a held-out model\'s unrevealed cells reach a fit', async () => {
    const ds = plantedAdviceDataset({ models: 24, missing: 0.25 });
    const log: SpyFit[] = [];
    const folds: Array<{ seed: number; fold: number; start: number; heldOut: Set<number> }> = [];
    const r = await evaluateProbes(ds, spyPredictor(log), {
      k: 2,
      seeds: [0, 1],
      folds: 3,
      onProgress: (p) => folds.push({ seed: p.seed, fold: p.fold, start: log.length, heldOut: new Set(p.heldOut.map((n) => ds.models.findIndex((m) => m.name === n))) }),
    });
    expect(log.length).toBe(r.fits);
    const task = (name: string) => ds.tasks.findIndex((t) => t.name === name);
    let checked = 0;
    folds.forEach((f, i) => {
      const end = i + 1 < folds.length ? folds[i + 1].start : log.length;
      for (const m of f.heldOut) {
        const rec = r.models.find((x) => x.seed === f.seed && x.fold === f.fold && x.model === ds.models[m].name)!;
        // Anything a fit of this fold may see of the model: the probes of either arm.
        const allowed = new Set([...rec.advisor, ...rec.random].map((n) => `${m}|${task(n)}`));
        for (let j = f.start; j < end; j++) {
          for (const key of log[j].cells) {
            if (!key.startsWith(`${m}|`)) continue;
            expect(allowed.has(key), `fit ${j} saw ${key} of held-out ${ds.models[m].name}`).toBe(true);
            checked++;
          }
          // And never more than k of them at once.
          expect(log[j].perModel.get(m) ?? 0).toBeLessThanOrEqual(2);
        }
      }
    });
    expect(checked).toBeGreaterThan(0); // the prediction fits do reveal probes
  });

  it('errors: bad k, folds, seeds; no model with enough scores; abort', async () => {
    const ds = plantedAdviceDataset({ models: 10 });
    const p = taskMeanPredictor();
    await expectRejects(evaluateProbes(ds, p, { k: 0, seeds: 1 }), 'E_INVALID_ARGUMENT', { field: 'k' });
    await expectRejects(evaluateProbes(ds, p, { k: 8, seeds: 1 }), 'E_INVALID_ARGUMENT', { field: 'k', message: /10 or more scores/ });
    await expectRejects(evaluateProbes(ds, p, { k: 1, seeds: 1, folds: 0 }), 'E_INVALID_ARGUMENT', { field: 'folds' });
    await expectRejects(evaluateProbes(ds, p, { k: 1, seeds: [1, 1] }), 'E_INVALID_ARGUMENT', { field: 'seeds' });
    const ac = new AbortController();
    ac.abort();
    await expectRejects(evaluateProbes(ds, p, { k: 1, seeds: 1, ctx: { signal: ac.signal } }), 'E_ABORTED');
  });

  it('samples at most maxModels held-out models per seed', async () => {
    const ds = plantedAdviceDataset({ models: 30 });
    const r = await evaluateProbes(ds, taskMeanPredictor(), { k: 1, seeds: 1, folds: 1, maxModels: 7 });
    expect(r.heldOutModels).toBe(7);
    expect(r.models).toHaveLength(7);
    expect(new Set(r.models.map((m) => m.fold))).toEqual(new Set([1]));
  });
});

describe('parseProbesProtocol', () => {
  it('reads probes:k and leaves other protocols alone', () => {
    expect(parseProbesProtocol('probes:3')).toBe(3);
    expect(parseProbesProtocol(' Probes : 12 ')).toBe(12);
    expect(parseProbesProtocol('new-model:2')).toBeUndefined();
    expect(parseProbesProtocol('cells:0.2')).toBeUndefined();
    for (const bad of ['probes', 'probes:', 'probes:0', 'probes:1.5', 'probes:x']) expectError(() => parseProbesProtocol(bad), 'E_INVALID_ARGUMENT', { field: 'protocol' });
  });
});
