import { describe, expect, it } from 'vitest';
import { createDataset } from '../../../src/app/data/dataset.js';
import { clipBounds, fallbackNote, fallbackSummary, isZeroRange, taskStats, taskStatsOf, TASK_STATS_FALLBACK } from '../../../src/app/stats/index.js';

/** Cells from [task, value] pairs. */
const cells = (nTasks: number, rows: Array<[number, number]>) => ({
  nTasks,
  task: Int32Array.from(rows, (r) => r[0]),
  value: Float64Array.from(rows, (r) => r[1]),
});

describe('taskStats', () => {
  it('computes count, mean, population sd, min, max and range of a task with a spread', () => {
    const s = taskStats(cells(1, [[0, 2], [0, 4], [0, 4], [0, 4], [0, 5], [0, 5], [0, 7], [0, 9]]));
    expect(s.count[0]).toBe(8);
    expect(s.mean[0]).toBe(5);
    expect(s.sd[0]).toBe(2);
    expect([s.min[0], s.max[0], s.range[0]]).toEqual([2, 9, 7]);
    expect(s.fallback[0]).toBe('none');
    expect(fallbackNote(s, 0)).toBeUndefined();
  });

  it('a constant task keeps its own mean/min/max and borrows the upper-middle sd and range of the tasks with a spread', () => {
    // task 0: sd 1, range 2; task 1: sd 5, range 10; task 2: sd 0.5, range 1; task 3 constant 7
    const s = taskStats(cells(4, [[0, 1], [0, 3], [1, 0], [1, 10], [2, 4], [2, 5], [3, 7], [3, 7], [3, 7]]));
    expect(s.fallback).toEqual(['none', 'none', 'none', 'constant']);
    expect(s.spreadTasks).toBe(3);
    expect([s.count[3], s.mean[3], s.min[3], s.max[3]]).toEqual([3, 7, 7, 7]);
    // sds 0.5, 1, 5 → 1; ranges 1, 2, 10 → 2
    expect(s.sd[3]).toBe(1);
    expect(s.range[3]).toBe(2);
    expect(fallbackNote(s, 3)).toBe('zero range over 3 known cell(s); spread borrowed from the middle of 3 task(s) with a spread (sd 1, range 2)');
  });

  it('a one-value task is constant; with an even number of spread tasks the upper middle is taken', () => {
    const s = taskStats(cells(3, [[0, 0], [0, 2], [1, 0], [1, 6], [2, 42]]));
    expect(s.fallback[2]).toBe('constant');
    expect(s.mean[2]).toBe(42);
    // sds 1, 3 → 3; ranges 2, 6 → 6
    expect(s.sd[2]).toBe(3);
    expect(s.range[2]).toBe(6);
  });

  it('an empty task takes the statistics of all known cells pooled, with count 0', () => {
    const s = taskStats(cells(3, [[0, 0], [0, 2], [2, 4], [2, 10]]));
    expect(s.fallback[1]).toBe('empty');
    expect(s.count[1]).toBe(0);
    expect(s.mean[1]).toBe(4);
    expect(s.sd[1]).toBeCloseTo(Math.sqrt((16 + 4 + 0 + 36) / 4), 14);
    expect([s.min[1], s.max[1], s.range[1]]).toEqual([0, 10, 10]);
    expect(fallbackNote(s, 1)).toMatch(/^no known cells; statistics of all known cells pooled \(mean 4, sd 3\.74166, range 10\)$/);
    expect(fallbackSummary(s)).toBe(`0 constant, 1 empty (${TASK_STATS_FALLBACK})`);
    expect(fallbackSummary(taskStats(cells(1, [[0, 1], [0, 2]])))).toBeUndefined();
  });

  it('with no spread anywhere: constant and empty tasks get sd = range = 1; with no cells at all, 0 and 1', () => {
    const s = taskStats(cells(2, [[0, 3], [0, 3]]));
    expect(s.fallback).toEqual(['constant', 'empty']);
    expect(s.spreadTasks).toBe(0);
    expect([s.sd[0], s.range[0], s.sd[1], s.range[1]]).toEqual([1, 1, 1, 1]);
    expect([s.mean[1], s.min[1], s.max[1]]).toEqual([3, 3, 3]);
    expect(fallbackNote(s, 0)).toMatch(/spread 1, no task has a spread/);
    const none = taskStats(cells(2, []));
    expect(none.fallback).toEqual(['empty', 'empty']);
    expect([none.mean[0], none.min[0], none.max[0], none.sd[0], none.range[0]]).toEqual([0, 0, 0, 1, 1]);
  });

  it('every sd and range is finite and positive, whatever the cells', () => {
    const cases = [cells(3, []), cells(3, [[1, 5]]), cells(3, [[0, 1e9], [0, 1e9 + 1e-5], [2, -3]]), cells(3, [[0, 0], [1, 1], [2, 2]])];
    for (const c of cases) {
      const s = taskStats(c);
      for (let t = 0; t < 3; t++) {
        expect(s.sd[t] > 0 && Number.isFinite(s.sd[t]), `sd ${t}`).toBe(true);
        expect(s.range[t] > 0 && Number.isFinite(s.range[t]), `range ${t}`).toBe(true);
      }
    }
  });

  it('treats a range within rounding of zero as constant, and a small real range as a spread', () => {
    expect(isZeroRange(5, 5)).toBe(true);
    expect(isZeroRange(1e6, 1e6 + 1e-9)).toBe(true);
    expect(isZeroRange(0, 1e-9)).toBe(false);
    expect(isZeroRange(0.5, 0.50001)).toBe(false);
    expect(TASK_STATS_FALLBACK).toMatch(/pool-empty/);
  });
});

describe('clipBounds', () => {
  it('widens a declared scale to the known scores, leaves unscaled tasks open, and gives an empty task its scale', () => {
    const ds = createDataset({
      name: 'clip',
      models: ['a', 'b'],
      tasks: [
        { name: 'pct', factors: {}, scale: 'percent' },
        { name: 'raw', factors: {} },
        { name: 'unit', factors: {}, scale: 'unit' },
      ],
      scores: [
        [0, 0, 101, 0],
        [1, 0, 50, 0],
        [0, 1, 3, 0],
      ],
    });
    const { lo, hi } = clipBounds(ds, taskStatsOf(ds));
    expect([lo[0], hi[0]]).toEqual([0, 101]);
    expect([lo[1], hi[1]]).toEqual([-Infinity, Infinity]);
    expect([lo[2], hi[2]]).toEqual([0, 1]);
  });
});
