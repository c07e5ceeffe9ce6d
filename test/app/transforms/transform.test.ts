import { describe, expect, it } from 'vitest';
import { createDataset, type Dataset, type ScoreTuple, type TaskEntry } from '../../../src/app/data/dataset.js';
import { fitTransform, LOGIT_EPS, normalQuantile, TRANSFORM_KINDS, transformDataset, type TransformKind } from '../../../src/app/transforms/index.js';
import { Rng } from '../../../src/numeric/rng.js';
import { expectError } from '../data/helpers.js';

/** 12 models × 5 tasks with mixed scales, ties, a 0 % and a 100 % score, and a few missing cells. */
function mixed(): Dataset {
  const tasks: TaskEntry[] = [
    { name: 'pct', factors: {}, scale: 'percent' },
    { name: 'unit', factors: {}, scale: 'unit' },
    { name: 'likert', factors: {}, scale: { min: 1, max: 5 } },
    { name: 'bpb', factors: {}, higherIsBetter: false },
    { name: 'ties', factors: {}, scale: 'percent' },
  ];
  const rng = new Rng(4, 0);
  const scores: ScoreTuple[] = [];
  for (let m = 0; m < 12; m++) {
    if (m !== 3) scores.push([m, 0, m === 0 ? 0 : m === 1 ? 100 : Math.round(rng.nextDouble() * 1000) / 10, 0]);
    scores.push([m, 1, rng.nextDouble(), 0]);
    if (m % 4 !== 0) scores.push([m, 2, 1 + 4 * rng.nextDouble(), 0]);
    scores.push([m, 3, 0.5 + rng.nextDouble(), 0]);
    scores.push([m, 4, [20, 40, 40, 60][m % 4], 0]);
  }
  return createDataset({ name: 'mixed', models: Array.from({ length: 12 }, (_, i) => `m${i}`), tasks, scores });
}

function subset(ds: Dataset, keep: (e: number) => boolean): Dataset {
  const s = ds.scores;
  const idx = Array.from({ length: s.value.length }, (_, e) => e).filter(keep);
  return createDataset({
    name: ds.name,
    models: ds.models,
    tasks: ds.tasks,
    scores: idx.map((e): ScoreTuple => [s.model[e], s.task[e], s.value[e], 0]),
  });
}

describe('fitTransform', () => {
  it('round-trips every training value for every kind (forward then inverse, within 1e-9)', () => {
    const ds = mixed();
    for (const kind of TRANSFORM_KINDS) {
      for (const rankOutput of ['normal', 'uniform'] as const) {
        const f = fitTransform(kind, ds, { rankOutput });
        const z = f.forwardCells(ds.scores.task, ds.scores.value);
        const back = f.inverseCells(ds.scores.task, z);
        for (let e = 0; e < z.length; e++) {
          expect(Number.isFinite(z[e]), `${kind} forward finite`).toBe(true);
          expect(Math.abs(back[e] - ds.scores.value[e]), `${kind} cell ${e}`).toBeLessThan(1e-9);
          expect(f.inverse(ds.scores.task[e], f.forward(ds.scores.task[e], ds.scores.value[e]))).toBeCloseTo(ds.scores.value[e], 9);
        }
      }
    }
  });

  it('maps training cells as documented: minmax to [0, 1], zscore to mean 0 / std 1, rank to monotone scores', () => {
    const ds = mixed();
    const t = ds.scores.task;
    for (const kind of ['minmax', 'zscore', 'rank'] as TransformKind[]) {
      const z = fitTransform(kind, ds).forwardCells(t, ds.scores.value);
      for (let task = 0; task < ds.tasks.length; task++) {
        const idx = Array.from(t.keys()).filter((e) => t[e] === task);
        const zs = idx.map((e) => z[e]);
        if (kind === 'minmax' && task !== 4) {
          expect(Math.min(...zs)).toBeCloseTo(0, 12);
          expect(Math.max(...zs)).toBeCloseTo(1, 12);
        }
        if (kind === 'zscore') {
          const mean = zs.reduce((a, b) => a + b, 0) / zs.length;
          const sd = Math.sqrt(zs.reduce((a, b) => a + (b - mean) ** 2, 0) / zs.length);
          expect(mean).toBeCloseTo(0, 12);
          expect(sd).toBeCloseTo(1, 12);
        }
        // every kind is increasing: order of scores is preserved
        for (const a of idx) for (const b of idx) if (ds.scores.value[a] < ds.scores.value[b]) expect(z[a]).toBeLessThan(z[b]);
      }
    }
  });

  it('logit uses the task scale, squeezes 0 % and 100 % to logit(eps), and falls back to z-score without a bound', () => {
    const ds = mixed();
    const f = fitTransform('logit', ds);
    const lim = Math.log((1 - LOGIT_EPS) / LOGIT_EPS);
    expect(f.forward(0, 0)).toBeCloseTo(-lim, 12);
    expect(f.forward(0, 100)).toBeCloseTo(lim, 12);
    expect(f.forward(0, 50)).toBe(0);
    expect(f.forward(1, 0.5)).toBe(0);
    expect(f.forward(2, 3)).toBe(0);
    // beyond the scale: clipped, and predictions invert back inside the scale
    expect(f.forward(0, 120)).toBe(f.forward(0, 100));
    expect(f.inverse(0, 50)).toBe(100);
    expect(f.inverse(0, -50)).toBe(0);
    expect(f.tasks[3].method).toBe('zscore');
    expect(f.tasks[3].note).toMatch(/no bounded scale/);
    expect(f.notes.some((n) => n.includes('"bpb"') && /z-score/.test(n))).toBe(true);
    const g = fitTransform('logit', ds, { eps: 0.01 });
    expect(g.forward(0, 0)).toBeCloseTo(Math.log(0.01 / 0.99), 12);
  });

  it('rank: ties share a knot, normal scores are symmetric, inverse interpolates the training quantiles', () => {
    const ds = mixed();
    const f = fitTransform('rank', ds);
    const ties = f.tasks[4];
    if (ties.method !== 'rank') throw new Error('expected rank');
    expect(Array.from(ties.knots)).toEqual([20, 40, 60]);
    // 12 cells: 20 ×3 (ranks 1-3), 40 ×6 (4-9), 60 ×3 (10-12)
    expect(ties.scores[0]).toBeCloseTo(normalQuantile(1.5 / 12), 12);
    expect(ties.scores[1]).toBeCloseTo(0, 12);
    expect(ties.scores[2]).toBeCloseTo(-ties.scores[0], 9);
    // halfway between two knots in score space is halfway in value space
    expect(f.inverse(4, (ties.scores[0] + ties.scores[1]) / 2)).toBeCloseTo(30, 12);
    // beyond the training range the map continues linearly and stays invertible
    expect(f.forward(4, 70)).toBeGreaterThan(ties.scores[2]);
    expect(f.inverse(4, f.forward(4, 70))).toBeCloseTo(70, 10);
    const u = fitTransform('rank', ds, { rankOutput: 'uniform' }).tasks[4];
    if (u.method !== 'rank') throw new Error('expected rank');
    expect(Array.from(u.scores)).toEqual([1.5 / 12, 6 / 12, 10.5 / 12]);
  });

  it('is fitted on the given cells only: a held-out extreme score changes nothing', () => {
    const ds = mixed();
    // Task "unit" gets an extreme held-out score; the training view leaves it out.
    const s = ds.scores;
    const extreme = s.value.findIndex((_, e) => s.task[e] === 1 && s.model[e] === 5);
    const withExtreme = createDataset({
      name: 'x',
      models: ds.models,
      tasks: ds.tasks,
      scores: Array.from(s.value, (v, e): ScoreTuple => [s.model[e], s.task[e], e === extreme ? 0.999 : v, 0]),
    });
    const train = subset(withExtreme, (e) => e !== extreme);
    const trainVals = Array.from(train.scores.value).filter((_, e) => train.scores.task[e] === 1);
    for (const kind of ['minmax', 'zscore', 'rank'] as TransformKind[]) {
      const f = fitTransform(kind, train);
      const z = trainVals.map((v) => f.forward(1, v));
      if (kind === 'minmax') {
        expect(Math.max(...z)).toBeCloseTo(1, 12);
        // the held-out cell is beyond the training range, which it would not be had it been used
        expect(f.forward(1, 0.999)).toBeGreaterThan(1);
      }
      if (kind === 'zscore') expect(z.reduce((a, b) => a + b, 0) / z.length).toBeCloseTo(0, 12);
      if (kind === 'rank') {
        const tt = f.tasks[1];
        expect(tt.method === 'rank' && tt.cells).toBe(trainVals.length);
        expect(tt.method === 'rank' && Array.from(tt.knots).includes(0.999)).toBe(false);
      }
    }
  });

  it('guards a single-value task, a constant task and a task without cells', () => {
    const ds = createDataset({
      name: 'edge',
      models: ['a', 'b', 'c'],
      tasks: [
        { name: 'single', factors: {}, scale: 'percent' },
        { name: 'const', factors: {} },
        { name: 'empty', factors: {}, scale: 'unit' },
        { name: 'emptyRaw', factors: {} },
      ],
      scores: [
        [0, 0, 42, 0],
        [0, 1, 7, 0],
        [1, 1, 7, 0],
        [2, 1, 7, 0],
      ],
    });
    for (const kind of TRANSFORM_KINDS) {
      const f = fitTransform(kind, ds);
      for (const [t, v] of [
        [0, 42],
        [1, 7],
        [2, 0.3],
        [3, 12],
      ]) {
        const z = f.forward(t, v);
        expect(Number.isFinite(z), `${kind} task ${t}`).toBe(true);
        expect(f.inverse(t, z), `${kind} task ${t}`).toBeCloseTo(v, 9);
      }
    }
    const mm = fitTransform('minmax', ds);
    expect(mm.forward(0, 42)).toBe(0);
    expect(mm.forward(1, 7)).toBe(0);
    // no cells: the pooled cells' min 7 and range 35 (the task-stats fallback policy), scale or not
    expect(mm.forward(2, 0.3)).toBeCloseTo((0.3 - 7) / 35, 12);
    expect(mm.forward(3, 12)).toBeCloseTo(5 / 35, 12);
    expect(mm.notes.join('\n')).toMatch(/"single": zero range over 1 known cell/);
    expect(mm.notes.join('\n')).toMatch(/"empty": no known cells; statistics of all known cells pooled/);
    const zs = fitTransform('zscore', ds);
    // no task has a spread of its own, so a constant task's sd is 1
    expect(zs.forward(1, 7)).toBe(0);
    expect(zs.forward(1, 8)).toBe(1);
    expect(zs.notes.join('\n')).toMatch(/"const": zero range over 3 known cell\(s\); spread 1, no task has a spread/);
    const rk = fitTransform('rank', ds);
    expect(rk.forward(1, 7)).toBe(0);
    expect(rk.inverse(1, 0.5)).toBe(7.5);
    expect(fitTransform('logit', ds).tasks[1].note).toMatch(/z-score used/);
  });

  it('transformDataset transforms the scores only; bad inputs are reported', () => {
    const ds = mixed();
    const f = fitTransform('zscore', ds);
    const t = transformDataset(f, ds);
    expect(t.models).toBe(ds.models);
    expect(t.scores.value[3]).toBe(f.forward(ds.scores.task[3], ds.scores.value[3]));
    expectError(() => f.forward(9, 1), 'E_INDEX_OUT_OF_RANGE');
    expectError(() => f.forwardCells(new Int32Array(2), new Float64Array(3)), 'E_LENGTH_MISMATCH');
    expectError(() => fitTransform('log' as TransformKind, ds), 'E_INVALID_ARGUMENT');
    expectError(() => fitTransform('logit', ds, { eps: 0.5 }), 'E_INVALID_ARGUMENT');
  });

  it('normalQuantile matches known values', () => {
    expect(normalQuantile(0.5)).toBe(0);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963985, 8);
    expect(normalQuantile(0.01)).toBeCloseTo(-2.326347874, 8);
    expect(normalQuantile(0)).toBe(-Infinity);
  });
});
