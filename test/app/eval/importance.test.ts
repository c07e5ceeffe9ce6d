import { describe, expect, it } from 'vitest';
import type { Dataset } from '../../../src/app/data/dataset.js';
import { factorImportance, factorPlayers, restrictFactors, shapley } from '../../../src/app/eval/importance.js';
import type { FittedPredictor, Predictor } from '../../../src/app/predictors/types.js';
import { expectError, expectRejects } from '../data/helpers.js';
import { toyDataset } from './helpers.js';

const names = (n: number) => Array.from({ length: n }, (_, i) => `p${i}`);
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** Counts calls per coalition so memoisation can be checked. */
function counted(f: (s: string[]) => number) {
  const calls = new Map<string, number>();
  return {
    calls,
    value: async (s: string[]) => {
      const k = s.join(',');
      calls.set(k, (calls.get(k) ?? 0) + 1);
      return f(s);
    },
  };
}

describe('shapley (exact)', () => {
  it('additive game: each value is the player weight; every coalition valued once', async () => {
    const w: Record<string, number> = { p0: 3, p1: -1, p2: 0.5, p3: 10 };
    const g = counted((s) => 7 + sum(s.map((p) => w[p])));
    const r = await shapley(names(4), g.value);
    expect(r.exact).toBe(true);
    expect(r.values).toEqual([3, -1, 0.5, 10].map((x) => expect.closeTo(x, 12)));
    expect(r.stdErrors).toEqual([0, 0, 0, 0]);
    expect(r.evaluations).toBe(16);
    expect(g.calls.size).toBe(16);
    expect([...g.calls.values()].every((c) => c === 1)).toBe(true);
    expect(g.calls.has('p0,p2')).toBe(true); // coalitions come in player order
    expect([r.empty, r.full]).toEqual([7, 7 + 12.5]);
  });

  it('symmetric game: equal values that add up to v(N) - v(∅)', async () => {
    const r = await shapley(names(5), (s) => s.length ** 2);
    for (const v of r.values) expect(v).toBeCloseTo(5, 12);
  });

  it('unanimity game of T: 1/|T| for members of T, 0 for the others', async () => {
    const T = new Set(['p1', 'p3', 'p4']);
    const r = await shapley(names(6), (s) => (s.filter((p) => T.has(p)).length === T.size ? 1 : 0));
    expect(r.values).toEqual([0, 1 / 3, 0, 1 / 3, 1 / 3, 0].map((x) => expect.closeTo(x, 12)));
  });

  it('efficiency on a non-additive game with interactions', async () => {
    const w = [0.3, 1.7, -0.4, 2.2, 0.9, -1.1, 0.6];
    const v = (s: string[]) => {
      const idx = s.map((p) => Number(p.slice(1)));
      const lin = sum(idx.map((i) => w[i]));
      return lin * lin + (idx.includes(0) && idx.includes(5) ? 4 : 0) - Math.sqrt(idx.length);
    };
    const r = await shapley(names(7), v);
    expect(sum(r.values)).toBeCloseTo(r.full - r.empty, 10);
    // p0 and p5 share the pairwise bonus equally on top of their other contributions.
    const r2 = await shapley(names(7), (s) => v(s) - (s.includes('p0') && s.includes('p5') ? 4 : 0));
    expect(r.values[0] - r2.values[0]).toBeCloseTo(2, 10);
    expect(r.values[5] - r2.values[5]).toBeCloseTo(2, 10);
    expect(r.values[1] - r2.values[1]).toBeCloseTo(0, 10);
  });

  it('handles no players and rejects duplicates and non-finite values', async () => {
    const r = await shapley([], () => 3);
    expect(r.values).toEqual([]);
    expect([r.empty, r.full]).toEqual([3, 3]);
    await expectRejects(shapley(['a', 'a'], () => 0), 'E_INVALID_ARGUMENT');
    await expectRejects(shapley(['a'], (s) => (s.length ? NaN : 0)), 'E_NON_FINITE', { message: /coalition \{a\}/ });
    await expectRejects(shapley(['a'], () => 0, { samples: 0 }), 'E_INVALID_ARGUMENT');
    await expectRejects(shapley(['a'], () => 0, { exactMaxPlayers: 21 }), 'E_INVALID_ARGUMENT');
  });
});

describe('shapley (permutation sampling)', () => {
  it('beyond 12 players: additive games are recovered exactly with zero standard error', async () => {
    const w = Array.from({ length: 14 }, (_, i) => i - 5);
    const g = counted((s) => sum(s.map((p) => w[Number(p.slice(1))])));
    const r = await shapley(names(14), g.value, { samples: 20, seed: 3 });
    expect(r.exact).toBe(false);
    expect(r.samples).toBe(20);
    expect(r.values).toEqual(w.map((x) => expect.closeTo(x, 10)));
    expect(r.stdErrors).toEqual(w.map(() => expect.closeTo(0, 6)));
    expect([...g.calls.values()].every((c) => c === 1)).toBe(true);
    expect(r.evaluations).toBe(g.calls.size);
    expect(r.evaluations).toBeLessThanOrEqual(20 * 14 + 1);
  });

  it('estimates within a few standard errors, keeps efficiency, and is deterministic per seed', async () => {
    const T = new Set(['p2', 'p9']);
    const v = (s: string[]) => (s.filter((p) => T.has(p)).length === 2 ? 1 : 0) + 0.1 * s.length;
    const r = await shapley(names(13), v, { samples: 300, seed: 1 });
    for (let i = 0; i < 13; i++) {
      const truth = (T.has(`p${i}`) ? 0.5 : 0) + 0.1;
      expect(Math.abs(r.values[i] - truth)).toBeLessThanOrEqual(4 * r.stdErrors[i] + 1e-12);
    }
    expect(r.stdErrors[2]).toBeGreaterThan(0);
    expect(r.stdErrors[2]).toBeLessThan(0.05);
    expect(sum(r.values)).toBeCloseTo(r.full - r.empty, 10);
    expect((await shapley(names(13), v, { samples: 300, seed: 1 })).values).toEqual(r.values);
    expect((await shapley(names(13), v, { samples: 300, seed: 2 })).values).not.toEqual(r.values);
  });

  it('can be forced on small games with exactMaxPlayers', async () => {
    const r = await shapley(names(3), (s) => (s.length >= 2 ? 1 : 0), { exactMaxPlayers: 0, samples: 600, seed: 4 });
    expect(r.exact).toBe(false);
    for (const x of r.values) expect(x).toBeCloseTo(1 / 3, 1);
  });
});

/**
 * Uses the model factor `size` when the training dataset declares it: per task, least squares of
 * score on size; otherwise the task mean. Ignores every other factor.
 */
function sizePredictor(): Predictor {
  return {
    name: 'size-ls',
    description: 'per-task linear fit on model size',
    usesFactors: true,
    async fit(train: Dataset): Promise<FittedPredictor> {
      const useSize = train.factorSchema.model.some((f) => f.name === 'size');
      const nT = train.tasks.length;
      const coef: Array<[number, number]> = [];
      for (let t = 0; t < nT; t++) {
        const xs: number[] = [];
        const ys: number[] = [];
        for (let e = 0; e < train.scores.value.length; e++) {
          if (train.scores.task[e] !== t) continue;
          xs.push(useSize ? Number(train.models[train.scores.model[e]].factors.size) : 0);
          ys.push(train.scores.value[e]);
        }
        const mx = sum(xs) / xs.length;
        const my = sum(ys) / ys.length;
        const sxx = sum(xs.map((x) => (x - mx) ** 2));
        const b = sxx > 0 ? sum(xs.map((x, i) => (x - mx) * (ys[i] - my))) / sxx : 0;
        coef.push([my - b * mx, b]);
      }
      return {
        chosen: { useSize },
        predict: (models, tasks) =>
          Float64Array.from(tasks, (t, i) => coef[t][0] + coef[t][1] * (useSize ? Number(train.models[models[i]].factors.size) : 0)),
      };
    },
  };
}

describe('factor importance', () => {
  it('lists and restricts factors as model:/task: players', () => {
    const ds = toyDataset();
    expect(factorPlayers(ds)).toEqual(['model:family', 'model:size', 'task:kind']);
    const r = restrictFactors(ds, ['model:size']);
    expect(r.factorSchema).toEqual({ model: [{ name: 'size', type: 'numeric' }], task: [] });
    expect(r.models[0].factors).toEqual({ size: 1 });
    expect(r.tasks[0].factors).toEqual({});
    expect(ds.models[0].factors).toEqual({ family: 'a', size: 1 });
    expectError(() => restrictFactors(ds, ['model:kind']), 'E_NOT_FOUND', { message: /model:family, model:size, task:kind/ });
  });

  it('credits only the factor the predictor uses, on fixed folds (family-out works without the family factor)', async () => {
    const ds = toyDataset();
    for (const protocol of ['cells:0.3', 'family-out']) {
      const r = await factorImportance(ds, sizePredictor(), { protocol, seeds: 2 });
      expect(r.metric).toBe('mae100');
      expect(r.exact).toBe(true);
      expect(r.evaluations).toBe(8);
      const [family, size, kind] = r.values;
      expect(size).toBeGreaterThan(1); // toy scores grow with model size
      expect(family).toBeCloseTo(0, 12);
      expect(kind).toBeCloseTo(0, 12);
      expect(r.empty).toBe(0);
      expect(size).toBeCloseTo(r.full, 12);
    }
    await expectRejects(factorImportance(ds, sizePredictor(), { metric: 'n' as never }), 'E_INVALID_ARGUMENT', { field: 'metric' });
  });

  it('counts a gain in a higher-is-better metric as positive', async () => {
    const ds = toyDataset();
    const r = await factorImportance(ds, sizePredictor(), { protocol: 'model-kfold:3', metric: 'spearman', players: ['model:size', 'task:kind'] });
    expect(r.players).toEqual(['model:size', 'task:kind']);
    expect(r.values[0]).toBeGreaterThan(0);
    expect(r.values[1]).toBeCloseTo(0, 12);
  });
});

describe('factor importance with an undefined metric', () => {
  it('says which coalition left the metric undefined', async () => {
    // Without factors the size predictor predicts one value per task: no within-task Spearman.
    await expectRejects(factorImportance(toyDataset(), sizePredictor(), { protocol: 'cells:0.3', metric: 'spearman' }), 'E_INVALID_ARGUMENT', {
      message: /spearman is undefined for method "size-ls" with factors \{\}/,
    });
  });
});
