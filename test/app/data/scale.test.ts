import { describe, expect, it } from 'vitest';
import { createDataset, type ScoreTuple } from '../../../src/app/data/dataset.js';
import {
  checkGivenScore,
  clampToScale,
  declaredScale,
  FRACTION,
  inferScale,
  parseScaleOption,
  PERCENT,
  resolveScales,
  UNBOUNDED,
} from '../../../src/app/data/scale.js';
import { expectError } from './helpers.js';

/** Three tasks without declared scales (fraction-like, percent-like, Elo-like values) and three declared ones. */
function table() {
  const scores: ScoreTuple[] = [
    [0, 0, 0.2, 0], [1, 0, 0.9, 0], [2, 0, 1, 0],
    [0, 1, 0.5, 0], [1, 1, 45, 0], [2, 1, 100, 0],
    [0, 2, 1200, 0], [1, 2, 1450, 0],
    [0, 3, 50, 0],
    [0, 4, 0.5, 0],
    [0, 5, 3, 0],
  ];
  return createDataset({
    name: 't',
    models: ['a', 'b', 'c'],
    tasks: [
      { name: 'Frac', factors: {} },
      { name: 'Pct', factors: {} },
      { name: 'Elo', factors: {} },
      { name: 'MMLU(5-shot)', factors: {}, scale: 'percent' },
      { name: 'Declared Unbounded', factors: {}, unbounded: true },
      { name: 'Rating', factors: {}, scale: { min: 1, max: 5 } },
      { name: 'Empty', factors: {} },
    ],
    scores,
  });
}

describe('scale inference', () => {
  it('all values in [0, 1] is a fraction; in [0, 100] with some above 1 a percent; otherwise unbounded', () => {
    expect(inferScale([0, 0.5, 1]).scale).toEqual(FRACTION);
    expect(inferScale([0.5, 1.5, 100]).scale).toEqual(PERCENT);
    expect(inferScale([0, 100.5]).scale).toEqual(UNBOUNDED);
    expect(inferScale([-0.1, 0.5]).scale).toEqual(UNBOUNDED);
    expect(inferScale([]).scale).toEqual(UNBOUNDED);
  });

  it('says why, with the count and the observed range', () => {
    expect(inferScale([0.2, 0.9]).reason).toBe('all 2 observed values lie in [0, 1] (observed 0.2 to 0.9)');
    expect(inferScale([0.5, 45, 100]).reason).toBe('all 3 observed values lie in [0, 100] and some exceed 1 (observed 0.5 to 100)');
    expect(inferScale([1200, 1450]).reason).toMatch(/exceed 100 \(observed 1200 to 1450\)/);
    expect(inferScale([-3, 2]).reason).toMatch(/go below 0/);
    expect(inferScale([]).reason).toMatch(/no observed values/);
  });

  it('resolves every task: user option over the dataset, the dataset over inference, and marks what was inferred', () => {
    const ds = table();
    const r = resolveScales(ds);
    expect(r.map((s) => [s.task, s.kind, s.origin, s.inferred])).toEqual([
      ['Frac', 'fraction', 'inferred', true],
      ['Pct', 'percent', 'inferred', true],
      ['Elo', 'unbounded', 'inferred', true],
      ['MMLU(5-shot)', 'percent', 'dataset', false],
      ['Declared Unbounded', 'unbounded', 'dataset', false],
      ['Rating', 'range', 'dataset', false],
      ['Empty', 'unbounded', 'inferred', true],
    ]);
    expect(r[5]).toMatchObject({ min: 1, max: 5 });
    // the declared unbounded task has values in [0, 1] that inference would have called a fraction
    expect(r[4].max).toBe(Infinity);
    const o = resolveScales(ds, parseScaleOption('Frac=0-100,MMLU=fraction', ds));
    expect(o[0]).toMatchObject({ kind: 'percent', origin: 'option', inferred: false, reason: 'given by the user as 0-100' });
    expect(o[3]).toMatchObject({ kind: 'fraction', origin: 'option' });
    expect(o[1].origin).toBe('inferred');
  });

  it('reads the dataset declarations: unit is a fraction, {min, max} a range, unbounded has infinite bounds', () => {
    expect(declaredScale({ name: 'x', factors: {}, scale: 'unit' })).toEqual(FRACTION);
    expect(declaredScale({ name: 'x', factors: {}, scale: { min: 0, max: 100 } })).toEqual(PERCENT);
    expect(declaredScale({ name: 'x', factors: {}, scale: { min: -1, max: 1 } })).toEqual({ kind: 'range', min: -1, max: 1 });
    expect(declaredScale({ name: 'x', factors: {}, unbounded: true })).toEqual(UNBOUNDED);
    expect(declaredScale({ name: 'x', factors: {} })).toBeUndefined();
  });
});

describe('parseScaleOption', () => {
  const ds = table();
  it('reads TASK=SCALE pairs with forgiving task names and every scale spelling', () => {
    const m = parseScaleOption(' Frac=0-1, pct = 0-100 ,Elo=unbounded,MMLU=1..5,Rating=-1..1,Empty=percent', ds);
    expect([...m.entries()]).toEqual([
      [0, FRACTION],
      [1, PERCENT],
      [2, UNBOUNDED],
      [3, { kind: 'range', min: 1, max: 5 }],
      [5, { kind: 'range', min: -1, max: 1 }],
      [6, PERCENT],
    ]);
    expect(parseScaleOption('Frac=fraction,Elo=none', ds).get(2)).toEqual(UNBOUNDED);
  });

  it('gives clear errors that name the task', () => {
    expectError(() => parseScaleOption('Nope=0-1', ds), 'E_NOT_FOUND', { message: /task "Nope" is not a task of dataset "t"/ });
    expectError(() => parseScaleOption('Frac=0-abc', ds), 'E_PARSE', { message: /scale for task "Frac" is "0-abc"; expected fraction/ });
    expectError(() => parseScaleOption('Frac=5-1', ds), 'E_PARSE', { message: /task "Frac"/ });
    expectError(() => parseScaleOption('Frac=0-1,frac=0-100', ds), 'E_DUPLICATE_ENTRY', { message: /task "Frac" is given twice/ });
    expectError(() => parseScaleOption('Frac', ds), 'E_PARSE', { message: /"Frac" is not TASK=SCALE/ });
    expectError(() => parseScaleOption(' , ', ds), 'E_PARSE', { field: '--scale' });
  });
});

describe('clampToScale and checkGivenScore', () => {
  it('clamps into the bounds and leaves inside and unbounded values alone', () => {
    expect(clampToScale(104, PERCENT)).toBe(100);
    expect(clampToScale(-3, PERCENT)).toBe(0);
    expect(clampToScale(55.5, PERCENT)).toBe(55.5);
    expect(clampToScale(1.2, FRACTION)).toBe(1);
    expect(clampToScale(-1e9, UNBOUNDED)).toBe(-1e9);
    expect(clampToScale(6, { kind: 'range', min: 1, max: 5 })).toBe(5);
    expect(Number.isNaN(clampToScale(NaN, PERCENT))).toBe(true);
  });

  it('flags a fraction on a 0-100 task and a percent on a 0-1 task with the likely intended value', () => {
    expect(checkGivenScore('MMLU', 0.666, PERCENT)).toEqual({
      kind: 'fraction-on-percent',
      task: 'MMLU',
      value: 0.666,
      message: 'MMLU=0.666 looks like a fraction but the task is on 0-100; did you mean 66.6?',
    });
    expect(checkGivenScore('ARC', 66.6, FRACTION)?.message).toBe('ARC=66.6 looks like a percent but the task is on 0-1; did you mean 0.666?');
    expect(checkGivenScore('MMLU', 140, PERCENT)).toMatchObject({ kind: 'outside', message: "MMLU=140 is outside the task's scale 0-100" });
    expect(checkGivenScore('ARC', 140, FRACTION)?.kind).toBe('outside');
    expect(checkGivenScore('MMLU', 66.6, PERCENT)).toBeUndefined();
    expect(checkGivenScore('MMLU', 0, PERCENT)).toBeUndefined();
    expect(checkGivenScore('ARC', 1, FRACTION)).toBeUndefined();
    expect(checkGivenScore('Elo', 0.5, UNBOUNDED)).toBeUndefined();
  });
});
