import { describe, expect, it } from 'vitest';
import { createDataset, type Dataset } from '../../../src/app/data/dataset.js';
import { averageRanks, computeMetrics, median, minRanks, spearman, taskScales } from '../../../src/app/eval/metrics.js';
import { expectError } from '../data/helpers.js';

// Tasks: A percent, B unit, C {10..20}, D no scale. Models m0..m3.
function mixed(): Dataset {
  return createDataset({
    name: 'mixed',
    models: ['m0', 'm1', 'm2', 'm3'],
    tasks: [
      { name: 'A', factors: {}, scale: 'percent' },
      { name: 'B', factors: {}, scale: 'unit' },
      { name: 'C', factors: {}, scale: { min: 10, max: 20 } },
      { name: 'D', factors: {} },
      { name: 'L', factors: {}, higherIsBetter: false },
      { name: 'S', factors: {} },
    ],
    scores: [
      [0, 0, 50, 0],
      [1, 0, 70, 0],
      [2, 0, 90, 0],
      [3, 0, 60, 0],
      [0, 1, 0.2, 0],
      [1, 1, 0.6, 0],
      [0, 2, 12, 0],
      [1, 2, 18, 0],
      [2, 2, 14, 0],
      [0, 3, 1, 0],
      [1, 3, 3, 0],
      [0, 4, 1.0, 0],
      [1, 4, 1.2, 0],
      [2, 4, 1.2, 0],
      [3, 4, 1.5, 0],
      [0, 5, 7, 0],
    ],
  });
}

const cells = (rows: Array<[number, number, number]>) => ({
  task: Int32Array.from(rows, (r) => r[0]),
  truth: Float64Array.from(rows, (r) => r[1]),
  prediction: Float64Array.from(rows, (r) => r[2]),
});

describe('rank helpers', () => {
  it('minRanks: best first, ties at the lowest rank, in both directions', () => {
    expect(Array.from(minRanks([5, 7, 7, 1]))).toEqual([3, 1, 1, 4]);
    expect(Array.from(minRanks([5, 7, 7, 1], false))).toEqual([2, 3, 3, 1]);
    expect(Array.from(minRanks([2, 2, 2]))).toEqual([1, 1, 1]);
  });

  it('averageRanks, spearman and median by hand', () => {
    expect(Array.from(averageRanks([10, 20, 20, 5]))).toEqual([2, 3.5, 3.5, 1]);
    expect(spearman([1, 2, 3], [1, 3, 2])).toBeCloseTo(0.5, 12);
    expect(spearman([1, 2, 3, 4], [40, 30, 20, 10])).toBeCloseTo(-1, 12);
    expect(spearman([1, 2, 3], [5, 5, 5])).toBeNaN();
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
});

describe('taskScales', () => {
  it('maps each declared scale, falls back to observed min-max, and borrows the middle range when degenerate', () => {
    const s = taskScales(mixed());
    expect(Array.from(s.offset100)).toEqual([0, 0, 10, 1, 1, 7]);
    // S has one value: its range is the middle of the others' ranges (0.4, 0.5, 2, 6, 40) = 2
    expect(Array.from(s.range100)).toEqual([100, 1, 10, 2, 0.5, 2].map((x, i) => (i === 4 ? expect.closeTo(x, 12) : x)));
    expect(Array.from(s.offsetNorm)).toEqual([50, 0.2, 12, 1, 1, 7]);
    expect(s.rangeNorm[0]).toBe(40);
    expect(s.rangeNorm[1]).toBeCloseTo(0.4, 12);
    expect(s.rangeNorm[2]).toBe(6);
    expect(s.rangeNorm[5]).toBe(2);
    expect(Array.from(s.higherIsBetter)).toEqual([1, 1, 1, 1, 0, 1]);
  });
});

describe('computeMetrics', () => {
  it('matches hand-computed values on percent, unit and unscaled tasks', () => {
    const ds = mixed();
    // A: 50→53, 70→95, 90→80; B: 0.6→0.5; D: 3→2.5
    const m = computeMetrics(ds, cells([[0, 50, 53], [0, 70, 95], [0, 90, 80], [1, 0.6, 0.5], [3, 3, 2.5]]));
    expect(m.n).toBe(5);
    expect(m.mae).toBeCloseTo(38.6 / 5, 10);
    expect(m.medianAe).toBe(3);
    expect(m.rmse).toBeCloseTo(Math.sqrt(734.26 / 5), 10);
    // 0-100: A errors 3, 25, 10; B 0.1 on 0-1 → 10; D 0.5 of range 2 → 25
    expect(m.mae100).toBeCloseTo(73 / 5, 10);
    expect(m.medianAe100).toBeCloseTo(10, 10);
    expect(m.rmse100).toBeCloseTo(Math.sqrt(1459 / 5), 10);
    expect(m.within3).toBe(0.2); // the error of exactly 3 counts
    expect(m.within5).toBe(0.2);
    // Spearman: only A has 3 cells; truth order 1,2,3, prediction order 1,3,2 → 0.5
    expect(m.spearman).toBeCloseTo(0.5, 12);
    expect(m.spearmanTasks).toBe(1);
    // Paper normalisation: A over [50, 90], B over [0.2, 0.6], D over [1, 3]
    expect(m.nmse).toBeCloseTo((0.075 ** 2 + 0.625 ** 2 + 0.25 ** 2 + 0.25 ** 2 + 0.25 ** 2) / 5, 12);
    expect(m.nl1).toBeCloseTo(1.45 / 5, 12);
    // Ranks in A: truth (m0 3, m1 2, m2 1), predicted (3, 1, 2); B and D have one cell each.
    expect(m.rankAccuracy).toBeCloseTo(3 / 5, 12);
    expect(m.mae2).toBe(1);
    expect(m.rankPool).toBeCloseTo(5 / 3, 12);
    expect(m.tasks).toBe(3);
  });

  it('ranks a lower-is-better task from the lowest score, with ties, and uses {min,max} scales', () => {
    const ds = mixed();
    // L truth 1.0, 1.2, 1.2, 1.5 → ranks 1, 2, 2, 4; predictions 1.1, 1.1, 1.3, 1.6 → 1, 1, 3, 4
    const m = computeMetrics(ds, cells([[4, 1.0, 1.1], [4, 1.2, 1.1], [4, 1.2, 1.3], [4, 1.5, 1.6], [2, 14, 15]]));
    expect(m.rankAccuracy).toBeCloseTo(3 / 5, 12);
    expect(m.mae2).toBe(1);
    expect(m.rankPool).toBe(2.5);
    expect(m.spearman).toBeCloseTo(3.75 / 4.5, 12);
    expect(m.spearmanTasks).toBe(1);
    // L: 0.1 of range 0.5 → 20 points each; C: 1 of range 10 → 10 points
    expect(m.mae100).toBeCloseTo(90 / 5, 9);
    expect(m.within5).toBe(0);
    // normalised: L 0.1 / 0.5; C 1 / 6 (observed 12..18)
    expect(m.nl1).toBeCloseTo((4 * 0.2 + 1 / 6) / 5, 9);
  });

  it('a rank swap among three cells costs rank accuracy but not MAE@2; a wide displacement costs MAE@2', () => {
    const ds = mixed();
    const m = computeMetrics(ds, cells([[4, 1.0, 1.9], [4, 1.2, 1.0], [4, 1.2, 1.05], [4, 1.5, 1.1]]));
    // truth ranks 1, 2, 2, 4; predicted 4, 1, 2, 3
    expect(m.rankAccuracy).toBe(0.25);
    expect(m.mae2).toBe(0.75);
  });

  it('gives a task with a single observed value and no scale the borrowed range of the policy', () => {
    const m = computeMetrics(mixed(), cells([[5, 7, 7.5]]));
    // borrowed range 2: an error of 0.5 is a quarter of it
    expect(m.mae100).toBeCloseTo(25, 12);
    expect(m.nl1).toBeCloseTo(0.25, 12);
    expect(m.spearman).toBeNaN();
    expect(m.spearmanTasks).toBe(0);
  });

  it('skips tasks whose predictions are constant for Spearman, and is NaN on no cells', () => {
    const m = computeMetrics(mixed(), cells([[0, 50, 60], [0, 70, 60], [0, 90, 60]]));
    expect(m.spearmanTasks).toBe(0);
    expect(m.spearman).toBeNaN();
    expect(m.rankAccuracy).toBeCloseTo(1 / 3, 12); // all predicted rank 1; only the best truly is
    const empty = computeMetrics(mixed(), cells([]));
    expect(empty.n).toBe(0);
    expect(empty.mae).toBeNaN();
    expect(empty.rankPool).toBeNaN();
  });

  it('rejects non-finite predictions and mismatched arrays', () => {
    expectError(() => computeMetrics(mixed(), cells([[0, 50, NaN]])), 'E_NON_FINITE', { message: /task "A"/ });
    expectError(() => computeMetrics(mixed(), { task: Int32Array.of(0), truth: Float64Array.of(1), prediction: new Float64Array(2) }), 'E_LENGTH_MISMATCH');
    expectError(() => computeMetrics(mixed(), cells([[9, 1, 1]])), 'E_INDEX_OUT_OF_RANGE');
  });
});
