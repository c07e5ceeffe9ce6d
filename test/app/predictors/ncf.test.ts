import { describe, expect, it } from 'vitest';
import { loadBuiltinDataset } from '../../../src/app/data/builtin.js';
import { createDataset, type Dataset, type ScoreTuple } from '../../../src/app/data/dataset.js';
import {
  createFactorsOnlyPredictor,
  createNcfFactorsPredictor,
  createNcfPredictor,
  factorsOnlyPredictor,
  ncfFactorsPredictor,
  ncfPredictor,
} from '../../../src/app/predictors/ncf.js';
import type { Predictor } from '../../../src/app/predictors/types.js';
import { Rng } from '../../../src/numeric/rng.js';
import { CollabperfError } from '../../../src/errors.js';
import { planted, rmse } from '../../helpers/planted.js';

/** A planted rank-2 matrix (40 × 20, 50% observed) as a Dataset with its held-out cells. */
function plantedDataset() {
  const p = planted(40, 20, 2, 0.5, 0, 5);
  const ds = createDataset({
    name: 'planted',
    models: Array.from({ length: p.nRows }, (_, i) => `m${i}`),
    tasks: Array.from({ length: p.nCols }, (_, i) => `t${i}`),
    scores: p.train.rows.map((r, e): ScoreTuple => [r, p.train.cols[e], p.train.values[e], 0]),
  });
  return { ds, test: p.test };
}

/**
 * Scores that are a planted function of the factors: model quality from log10(params) and family,
 * task difficulty and sensitivity from task factors. Model 0 has no training cells.
 */
function factorDataset(): { ds: Dataset; truth: (m: number, t: number) => number } {
  const rng = new Rng(17, 3);
  const nM = 48;
  const nT = 12;
  const families = ['a', 'b', 'c'];
  const famBoost: Record<string, number> = { a: 0, b: 8, c: -6 };
  const kinds = ['mc', 'gen'];
  const models = Array.from({ length: nM }, (_, i) => ({
    name: `m${i}`,
    factors: { params: Math.round(10 ** (2 + 3 * rng.nextDouble())), family: families[i % 3] },
  }));
  const tasks = Array.from({ length: nT }, (_, t) => ({
    name: `t${t}`,
    factors: { difficulty: t % 4, kind: kinds[t % 2] },
    scale: 'percent' as const,
  }));
  const truth = (m: number, t: number) => {
    const f = models[m].factors;
    const q = (Math.log10(f.params) - 3.5) * 10 + famBoost[f.family];
    const tk = tasks[t].factors;
    const slope = tk.kind === 'mc' ? 1 : 1.6;
    return 55 - 8 * tk.difficulty + slope * q;
  };
  const scores: ScoreTuple[] = [];
  for (let m = 1; m < nM; m++) for (let t = 0; t < nT; t++) if (rng.nextDouble() < 0.6) scores.push([m, t, truth(m, t), 0]);
  const ds = createDataset({
    name: 'factor-planted',
    models,
    tasks,
    factorSchema: {
      model: [
        { name: 'params', type: 'numeric', unit: 'M' },
        { name: 'family', type: 'categorical' },
      ],
      task: [
        { name: 'difficulty', type: 'numeric' },
        { name: 'kind', type: 'categorical' },
      ],
    },
    scores,
  });
  return { ds, truth };
}

function allCells(ds: Dataset): { models: Int32Array; tasks: Int32Array } {
  const n = ds.models.length * ds.tasks.length;
  const models = new Int32Array(n);
  const tasks = new Int32Array(n);
  for (let m = 0, i = 0; m < ds.models.length; m++) {
    for (let t = 0; t < ds.tasks.length; t++, i++) {
      models[i] = m;
      tasks[i] = t;
    }
  }
  return { models, tasks };
}

/** Mean of each task's training scores. */
function taskMeans(ds: Dataset): Float64Array {
  const s = new Float64Array(ds.tasks.length);
  const c = new Float64Array(ds.tasks.length);
  ds.scores.task.forEach((t, e) => {
    s[t] += ds.scores.value[e];
    c[t]++;
  });
  return s.map((x, t) => x / c[t]);
}

async function rejects(p: Promise<unknown>, code: string): Promise<void> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(CollabperfError);
  expect((err as CollabperfError).code).toBe(code);
}

describe('NCF predictors: interface', () => {
  it('exports the three predictors with their names and factor use', () => {
    expect([ncfPredictor, ncfFactorsPredictor, factorsOnlyPredictor].map((p) => [p.name, p.usesFactors])).toEqual([
      ['ncf', false],
      ['ncf-factors', true],
      ['factors-only', true],
    ]);
    for (const p of [ncfPredictor, ncfFactorsPredictor, factorsOnlyPredictor]) expect(p.description.length).toBeGreaterThan(10);
  });

  it('rejects bad options, factors on ncf, unknown factors, empty training sets, bad indices and aborts', async () => {
    expect(() => createNcfPredictor({ embeddingDim: 0 })).toThrow(CollabperfError);
    expect(() => createNcfPredictor({ learningRate: -1 })).toThrow(CollabperfError);
    expect(() => createNcfFactorsPredictor({ validationFraction: 1 })).toThrow(CollabperfError);
    expect(() => createNcfPredictor({ factors: ['params'] } as never)).toThrow(/uses no factors/);
    const { ds } = factorDataset();
    await rejects(createNcfFactorsPredictor({ factors: ['nope'] }).fit(ds, { seed: 1 }), 'E_NOT_FOUND');
    const empty = createDataset({ name: 'e', models: ['a'], tasks: ['t'], scores: [] });
    await rejects(ncfPredictor.fit(empty, { seed: 1 }), 'E_EMPTY');
    const ac = new AbortController();
    ac.abort();
    await rejects(ncfPredictor.fit(ds, { seed: 1, signal: ac.signal }), 'E_ABORTED');
    const fitted = await createNcfPredictor({ ensemble: 1, maxEpochs: 2 }).fit(ds, { seed: 1 });
    expect(() => fitted.predict(Int32Array.of(48), Int32Array.of(0))).toThrow(CollabperfError);
    expect(() => fitted.predict(Int32Array.of(0, 1), Int32Array.of(0))).toThrow(CollabperfError);
  });
});

describe('NCF predictors: determinism', () => {
  const { ds } = factorDataset();
  const { models, tasks } = allCells(ds);
  const variants: Array<[string, Predictor]> = [
    ['ncf', createNcfPredictor({ ensemble: 2, maxEpochs: 25 })],
    ['ncf-factors', createNcfFactorsPredictor({ ensemble: 2, maxEpochs: 25 })],
    ['factors-only', createFactorsOnlyPredictor({ ensemble: 2, maxEpochs: 25 })],
  ];
  for (const [name, p] of variants) {
    it(`${name}: bit-identical predictions for a seed, different ones for another seed`, async () => {
      const a = (await p.fit(ds, { seed: 7 })).predict(models, tasks);
      const b = (await p.fit(ds, { seed: 7 })).predict(models, tasks);
      const c = (await p.fit(ds, { seed: 8 })).predict(models, tasks);
      expect(Buffer.from(b.buffer).equals(Buffer.from(a.buffer))).toBe(true);
      expect(Array.from(c)).not.toEqual(Array.from(a));
      for (const x of a) expect(Number.isFinite(x)).toBe(true);
    });
  }
});

describe('NCF predictors: per-task statistics', () => {
  it('normalises a constant and an empty task by the task-stats fallback policy, says so, and predicts both finitely', async () => {
    const { ds: base } = plantedDataset();
    const scores: ScoreTuple[] = [];
    for (let e = 0; e < base.scores.value.length; e++) {
      const t = base.scores.task[e];
      // task 18 becomes constant, task 19 loses its cells
      if (t === 19) continue;
      scores.push([base.scores.model[e], t, t === 18 ? 50 : base.scores.value[e], 0]);
    }
    const ds = createDataset({ name: 'fallback', models: base.models, tasks: base.tasks, scores });
    const fitted = await createNcfPredictor({ ensemble: 1, maxEpochs: 15 }).fit(ds, { seed: 3 });
    expect(fitted.chosen.taskStats).toBe('1 constant, 1 empty (pool-empty-borrow-constant-spread)');
    const { models, tasks } = allCells(ds);
    const pred = fitted.predict(models, tasks);
    for (let i = 0; i < pred.length; i++) expect(Number.isFinite(pred[i]), `cell ${i}`).toBe(true);
    const full = await createNcfPredictor({ ensemble: 1, maxEpochs: 15 }).fit(base, { seed: 3 });
    expect(full.chosen.taskStats).toBeUndefined();
  });
});

describe('NCF predictors: accuracy', () => {
  it('ncf fits a planted rank-2 matrix and beats the task mean on held-out cells', async () => {
    const { ds, test } = plantedDataset();
    const fitted = await ncfPredictor.fit(ds, { seed: 1 });
    const trainPred = fitted.predict(ds.scores.model, ds.scores.task);
    const testPred = fitted.predict(Int32Array.from(test.rows), Int32Array.from(test.cols));
    const means = taskMeans(ds);
    const baseline = rmse(test.cols.map((t) => means[t]), test.values);
    const trainErr = rmse(trainPred, ds.scores.value);
    const testErr = rmse(testPred, test.values);
    // values span about 0..4 (sd ~0.9); the task mean is off by ~0.8 on held-out cells
    expect(trainErr).toBeLessThan(0.2);
    expect(testErr).toBeLessThan(0.5 * baseline);
    expect(fitted.chosen.ensemble).toBe(3);
  });

  it('factors-only predicts a model without training cells from its factors', async () => {
    const { ds, truth } = factorDataset();
    expect(ds.scores.model.includes(0)).toBe(false);
    const fitted = await factorsOnlyPredictor.fit(ds, { seed: 3 });
    const nT = ds.tasks.length;
    const pred = fitted.predict(new Int32Array(nT), Int32Array.from({ length: nT }, (_, t) => t));
    const want = Array.from({ length: nT }, (_, t) => truth(0, t));
    const means = taskMeans(ds);
    const err = rmse(pred, want);
    const baseline = rmse(means, want);
    expect(baseline).toBeGreaterThan(8);
    expect(err).toBeLessThan(0.35 * baseline);
    expect(fitted.chosen.modelFactors).toBe('params,family');
    expect(fitted.chosen.taskFactors).toBe('difficulty,kind');
  });

  it('ncf-factors also predicts the model without training cells better than the task mean', async () => {
    const { ds, truth } = factorDataset();
    const fitted = await ncfFactorsPredictor.fit(ds, { seed: 3 });
    const nT = ds.tasks.length;
    const pred = fitted.predict(new Int32Array(nT), Int32Array.from({ length: nT }, (_, t) => t));
    const want = Array.from({ length: nT }, (_, t) => truth(0, t));
    expect(rmse(pred, want)).toBeLessThan(0.6 * rmse(taskMeans(ds), want));
  });

  it('uses only the factors asked for; with none, factors-only predicts per-task constants', async () => {
    const { ds } = factorDataset();
    const sub = await createFactorsOnlyPredictor({ factors: ['model:params', 'kind'], ensemble: 1 }).fit(ds, { seed: 2 });
    expect(sub.chosen.modelFactors).toBe('params');
    expect(sub.chosen.taskFactors).toBe('kind');
    const none = await createFactorsOnlyPredictor({ factors: [], ensemble: 1 }).fit(ds, { seed: 2 });
    expect(none.chosen.modelFactors).toBe('');
    const p = none.predict(Int32Array.of(0, 5, 9), Int32Array.of(3, 3, 3));
    expect(p[1]).toBe(p[0]);
    expect(p[2]).toBe(p[0]);
  });
});

describe('NCF predictors on the crowdsource dataset', () => {
  const ds = loadBuiltinDataset('crowdsource');
  const { models, tasks } = allCells(ds);
  for (const p of [ncfPredictor, ncfFactorsPredictor, factorsOnlyPredictor]) {
    it(`${p.name}: finite predictions for every cell`, async () => {
      const fitted = await p.fit(ds, { seed: 1 });
      const pred = fitted.predict(models, tasks);
      expect(pred.length).toBe(72 * 29);
      for (const x of pred) expect(Number.isFinite(x)).toBe(true);
      // roughly on the percent scale of the tasks
      for (const x of pred) expect(x).toBeGreaterThan(-50);
      for (const x of pred) expect(x).toBeLessThan(150);
      expect(typeof fitted.chosen.validationMse).toBe('number');
    });
  }
});
