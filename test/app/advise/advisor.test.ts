import { describe, expect, it } from 'vitest';
import { advise } from '../../../src/app/advise/advisor.js';
import { knnPredictor } from '../../../src/app/predictors/knn.js';
import { meanPredictor } from '../../../src/app/predictors/mean.js';
import { pcaPredictor } from '../../../src/app/predictors/pca.js';
import type { Predictor } from '../../../src/app/predictors/types.js';
import { expectRejects } from '../data/helpers.js';
import { spyPredictor, taskMeanPredictor, toyDataset, type SpyFit } from '../eval/helpers.js';
import { plantedAdviceDataset } from './helpers.js';

const NOISE_AND_INFO = ['info', 'N1', 'N2', 'N3'];
const TWO_INFORMATIVE = ['info', 'infoB', 'N1', 'N2', 'N3'];

describe('advise on a planted matrix', () => {
  // The hidden tasks H1..H4 are what the advice should help predict; `info` is a near-copy of what
  // they share and N1..N3 are noise: revealing a noise task tells nothing and even raises the mean
  // error of the rest (its own error was small).
  const cases: Array<[string, number, Predictor]> = [
    ['knn', 0, knnPredictor],
    ['pca', 0, pcaPredictor],
    ['mean', 0.2, meanPredictor],
  ];
  it.each(cases)('%s picks the informative task first (seeds 0-2, share missing %s)', async (_name, missing, predictor) => {
    const ds = plantedAdviceDataset({ missing });
    for (const seed of [0, 1, 2]) {
      const a = await advise(ds, predictor, { budget: 2, candidates: NOISE_AND_INFO, ctx: { seed } });
      expect(a.steps[0].task).toBe('info');
      expect(a.steps[0].gain).toBeGreaterThan(0);
      expect(a.steps[0].expectedErrorAfter).toBeLessThan(a.steps[0].expectedErrorBefore);
      // Noise tasks after it: they can only leave their small errors, so the error goes up.
      const noise = a.steps[0].ranking.filter((o) => o.task !== 'info');
      for (const o of noise) expect(o.gain).toBeLessThan(a.steps[0].gain);
    }
  });

  it('later steps refit with the settings the first step chose, not choosing them again', async () => {
    const ds = plantedAdviceDataset();
    const seen: Array<Record<string, unknown> | undefined> = [];
    const recording: Predictor = { ...knnPredictor, name: 'recording', fit: (d, c) => (seen.push(c.settings), knnPredictor.fit(d, c)) };
    const a = await advise(ds, recording, { budget: 3, ctx: { seed: 1 }, known: [{ task: 'N1', value: 49 }] });
    expect(a.steps).toHaveLength(3);
    expect(seen[0]).toBeUndefined();
    const first = (await knnPredictor.fit(ds, { seed: 1 })).chosen;
    expect(seen.length).toBeGreaterThan(1);
    for (const st of seen.slice(1)) {
      expect(st).toBeDefined();
      expect(Object.keys(st!).sort()).toEqual(Object.keys(first).sort());
    }
  });

  it('reports a consistent plan: steps chain, rankings hold every candidate, errors on the 0-100 scale', async () => {
    const ds = plantedAdviceDataset();
    const a = await advise(ds, knnPredictor, { budget: 3, ctx: { seed: 1 }, known: [{ task: 'N1', value: 49 }] });
    expect(a.method).toBe('knn');
    expect(a.known).toEqual(['N1']);
    expect(a.steps).toHaveLength(3);
    expect(a.steps[0].expectedErrorBefore).toBe(a.baselineError);
    for (let s = 1; s < a.steps.length; s++) expect(a.steps[s].expectedErrorBefore).toBe(a.steps[s - 1].expectedErrorAfter);
    expect(new Set(a.steps.map((s) => s.task)).size).toBe(3);
    expect(a.steps[0].ranking).toHaveLength(8);
    expect(a.steps[2].ranking).toHaveLength(6);
    for (const s of a.steps) {
      expect(s.ranking[0].task).toBe(s.task);
      expect(s.gain).toBeCloseTo(s.expectedErrorBefore - s.expectedErrorAfter, 10);
      expect(s.cost).toBe(1);
      expect(s.support).toBeGreaterThan(0);
    }
    // Predicting 20..80 % scores from one noise task: errors of several points, far below 100.
    expect(a.baselineError).toBeGreaterThan(3);
    expect(a.baselineError).toBeLessThan(40);
    expect(a.referenceModels).toBe(20); // a third of 60 models
    // knn folds in: one fit per step, every reveal simulated by fold-in.
    expect(a.fits).toBe(3);
  });

  it('refits for a method without fold-in, packing reveals into a few fits per step, and still finds an informative task first', async () => {
    const ds = plantedAdviceDataset();
    const noFoldIn = { ...knnPredictor, name: 'knn-refit', canFoldIn: false, fit: async (d: Parameters<typeof knnPredictor.fit>[0], c: Parameters<typeof knnPredictor.fit>[1]) => {
      const { foldIn: _dropped, ...rest } = await knnPredictor.fit(d, c);
      return rest;
    } };
    const a = await advise(ds, noFoldIn, { budget: 1, ctx: { seed: 1 }, known: [{ task: 'N1', value: 49 }] });
    expect(a.fits).toBeGreaterThan(1);
    const b = await advise(ds, knnPredictor, { budget: 1, ctx: { seed: 1 }, known: [{ task: 'N1', value: 49 }] });
    // The planted table has two informative tasks (info, infoB): either way one of them first.
    expect(a.steps[0].task).toMatch(/^info/);
    expect(b.steps[0].task).toMatch(/^info/);
  });

  it('is deterministic for a seed', async () => {
    const ds = plantedAdviceDataset({ missing: 0.2 });
    const run = () => advise(ds, knnPredictor, { budget: 2, ctx: { seed: 5 }, known: [{ task: 'H1', value: 40 }] });
    const [a, b] = [await run(), await run()];
    const strip = (x: typeof a) => ({ ...x, ms: 0 });
    expect(strip(a)).toEqual(strip(b));
  });

  it('costs change the order when the informative task chosen first is made very expensive', async () => {
    const ds = plantedAdviceDataset();
    for (const seed of [0, 1]) {
      const plain = await advise(ds, knnPredictor, { budget: 1, candidates: TWO_INFORMATIVE, ctx: { seed } });
      const first = plain.steps[0].task;
      expect(['info', 'infoB']).toContain(first);
      const costly = await advise(ds, knnPredictor, { budget: 1, candidates: TWO_INFORMATIVE, ctx: { seed }, costs: new Map([[first, 100]]) });
      const other = first === 'info' ? 'infoB' : 'info';
      expect(costly.steps[0].task).toBe(other);
      expect(costly.steps[0].cost).toBe(1);
      expect(costly.steps[0].ranking.find((o) => o.task === first)!.cost).toBe(100);
      // Costs reorder, they do not change the estimates.
      const est = (x: typeof plain, t: string) => x.steps[0].ranking.find((o) => o.task === t)!.expectedErrorAfter;
      expect(est(costly, first)).toBe(est(plain, first));
    }
  });

  it('accepts task indices and names as the user types them', async () => {
    const ds = toyDataset();
    const a = await advise(ds, taskMeanPredictor(), { budget: 1, ctx: { seed: 0 }, known: [{ task: 'MMLU', value: 50 }, { task: 1, value: 40 }] });
    expect(a.known).toEqual(['mmlu', 'gsm8k']);
  });
});

describe('advise errors', () => {
  const ds = plantedAdviceDataset({ models: 12 });
  const ctx = { seed: 0 };
  const p = taskMeanPredictor();

  it('budget larger than the tasks left, or not a positive integer', async () => {
    await expectRejects(advise(ds, p, { budget: 9, known: [{ task: 'N1', value: 50 }], ctx }), 'E_INVALID_ARGUMENT', { field: 'budget', message: /budget 9 is larger than the 8 benchmarks left/ });
    await expectRejects(advise(ds, p, { budget: 3, candidates: ['info', 'N1'], ctx }), 'E_INVALID_ARGUMENT', { field: 'budget' });
    await expectRejects(advise(ds, p, { budget: 0, ctx }), 'E_INVALID_ARGUMENT', { field: 'budget' });
    await expectRejects(advise(ds, p, { budget: 1.5, ctx }), 'E_INVALID_ARGUMENT', { field: 'budget' });
  });

  it('unknown task names and indices', async () => {
    await expectRejects(advise(ds, p, { known: [{ task: 'MMLU', value: 50 }], ctx }), 'E_NOT_FOUND', { field: 'known', message: /no task named "MMLU"/ });
    await expectRejects(advise(ds, p, { candidates: ['nope'], budget: 1, ctx }), 'E_NOT_FOUND', { field: 'candidates' });
    await expectRejects(advise(ds, p, { costs: new Map([['nope', 2]]), ctx }), 'E_NOT_FOUND', { field: 'costs' });
    await expectRejects(advise(ds, p, { known: [{ task: 42, value: 1 }], ctx }), 'E_INDEX_OUT_OF_RANGE', { field: 'known' });
    await expectRejects(advise(ds, p, { model: 'no-such-model', ctx }), 'E_NOT_FOUND', { field: 'model' });
  });

  it('a task known twice, a candidate twice', async () => {
    await expectRejects(
      advise(ds, p, { known: [{ task: 'info', value: 50 }, { task: 'INFO', value: 51 }], ctx }),
      'E_DUPLICATE_ENTRY',
      { field: 'known', message: /"info" is listed as known twice/ },
    );
    await expectRejects(advise(ds, p, { candidates: ['N1', 'n1'], budget: 1, ctx }), 'E_DUPLICATE_ENTRY', { field: 'candidates' });
  });

  it('other bad input', async () => {
    await expectRejects(advise(ds, p, { known: [{ task: 'N1' }], ctx }), 'E_INVALID_ARGUMENT', { field: 'known', message: /needs a value/ });
    await expectRejects(advise(ds, p, { known: [{ task: 'N1', value: NaN }], ctx }), 'E_NON_FINITE', { field: 'known' });
    await expectRejects(advise(ds, p, { known: [{ task: 'N1', value: 50 }], candidates: ['N1'], budget: 1, ctx }), 'E_INVALID_ARGUMENT', { field: 'candidates', message: /already known/ });
    await expectRejects(advise(ds, p, { costs: new Map([['N1', 0]]), ctx }), 'E_INVALID_ARGUMENT', { field: 'costs' });
    await expectRejects(advise(ds, p, { fitsPerStep: 0, ctx }), 'E_INVALID_ARGUMENT', { field: 'fitsPerStep' });
    const ac = new AbortController();
    ac.abort();
    await expectRejects(advise(ds, p, { ctx: { seed: 0, signal: ac.signal } }), 'E_ABORTED');
  });
});

describe('advise for an existing model', () => {
  it('hides its scores beyond the known ones from every fit, and offers them as candidates', async () => {
    const ds = plantedAdviceDataset({ models: 30 });
    const log: SpyFit[] = [];
    const target = 3;
    const a = await advise(ds, spyPredictor(log), { model: 'm3', known: [{ task: 'N1' }, { task: 'info', value: 12 }], budget: 2, ctx: { seed: 0 } });
    expect(a.known).toEqual(['info', 'N1']);
    expect(a.steps[0].ranking.map((o) => o.task).sort()).toEqual(['H1', 'H2', 'H3', 'H4', 'N2', 'N3', 'infoB']);
    expect(log.length).toBe(a.fits);
    const n1 = ds.tasks.findIndex((t) => t.name === 'N1');
    const info = ds.tasks.findIndex((t) => t.name === 'info');
    for (const fit of log) {
      // Its own cells: at most the known ones; never asked about (it is not a reference model).
      const own = [...fit.cells].filter((k) => k.startsWith(`${target}|`));
      for (const k of own) expect([`${target}|${n1}`, `${target}|${info}`]).toContain(k);
      expect(fit.asked.some((k) => k.startsWith(`${target}|`))).toBe(false);
    }
  });

  it('without `known`, all its observed scores are known and its missing tasks are the candidates', async () => {
    const ds = plantedAdviceDataset({ models: 30, missing: 0.3 });
    const m = 4;
    const observed = new Set<string>();
    for (let e = 0; e < ds.scores.value.length; e++) if (ds.scores.model[e] === m) observed.add(ds.tasks[ds.scores.task[e]].name);
    const missing = ds.tasks.map((t) => t.name).filter((n) => !observed.has(n));
    expect(missing.length).toBeGreaterThan(0);
    const a = await advise(ds, taskMeanPredictor(), { model: m, budget: 1, ctx: { seed: 0 } });
    expect(new Set(a.known)).toEqual(observed);
    expect(a.steps[0].ranking.map((o) => o.task).sort()).toEqual([...missing].sort());
  });
});
