import { describe, expect, it } from 'vitest';
import { createDataset } from '../../../src/app/data/dataset.js';
import { cellPositions, cellsOf, ratingsOf, selectCells, type Cells } from '../../../src/app/data/observed-cells.js';
import { toyDataset } from '../eval/helpers.js';

describe('cellsOf', () => {
  it('without positions shares the arrays of ds.scores and has no index', () => {
    const ds = toyDataset();
    const c = cellsOf(ds);
    expect(c.model).toBe(ds.scores.model);
    expect(c.task).toBe(ds.scores.task);
    expect(c.value).toBe(ds.scores.value);
    expect(c.index).toBeUndefined();
    expect([c.nModels, c.nTasks]).toEqual([ds.models.length, ds.tasks.length]);
  });

  it('with positions copies those cells in the order given and keeps a copy of the positions', () => {
    const ds = toyDataset();
    const positions = Int32Array.of(7, 0, 3);
    const c = cellsOf(ds, positions);
    expect(Array.from(c.index)).toEqual([7, 0, 3]);
    expect(c.index).not.toBe(positions);
    for (let j = 0; j < 3; j++) {
      const e = positions[j];
      expect([c.model[j], c.task[j], c.value[j]]).toEqual([ds.scores.model[e], ds.scores.task[e], ds.scores.value[e]]);
    }
    c.value[0] = -1;
    expect(ds.scores.value[7]).not.toBe(-1);
  });
});

describe('selectCells', () => {
  const base: Cells = { nModels: 3, nTasks: 2, model: Int32Array.of(0, 1, 2, 2), task: Int32Array.of(1, 0, 0, 1), value: Float64Array.of(10, 20, 30, 40) };

  it('takes the cells at the positions, keeping the table size, without an index when the input has none', () => {
    const s = selectCells(base, [3, 1]);
    expect([Array.from(s.model), Array.from(s.task), Array.from(s.value)]).toEqual([[2, 1], [1, 0], [40, 20]]);
    expect([s.nModels, s.nTasks]).toEqual([3, 2]);
    expect(s.index).toBeUndefined();
  });

  it('maps the dataset positions through when the input carries them', () => {
    const ds = toyDataset();
    const sub = cellsOf(ds, Int32Array.of(9, 4, 12, 2));
    const s = selectCells(sub, [2, 0]);
    expect(Array.from(s.index!)).toEqual([12, 9]);
    // The composed positions point at the same cells in the dataset.
    expect(Array.from(s.value)).toEqual([ds.scores.value[12], ds.scores.value[9]]);
  });
});

describe('cellPositions', () => {
  it('finds every observed cell at its position in ds.scores and -1 elsewhere', () => {
    const ds = createDataset({ name: 'x', models: ['a', 'b'], tasks: ['s', 't', 'u'], scores: [[1, 2, 5, 0], [0, 0, 7, 0], [1, 0, 9, 0]] });
    const pos = cellPositions(ds);
    expect(pos.length).toBe(6);
    const expected = new Int32Array(6).fill(-1);
    for (let e = 0; e < ds.scores.value.length; e++) expected[ds.scores.model[e] * 3 + ds.scores.task[e]] = e;
    expect(Array.from(pos)).toEqual(Array.from(expected));
    expect(Array.from(pos).filter((p) => p >= 0).length).toBe(3);
  });
});

describe('ratingsOf', () => {
  it('makes models rows and tasks columns over the same arrays, with weights only when given', () => {
    const c: Cells = { nModels: 4, nTasks: 5, model: Int32Array.of(3, 0), task: Int32Array.of(1, 4), value: Float64Array.of(0.5, 2) };
    const r = ratingsOf(c);
    expect(r.rows).toBe(c.model);
    expect(r.cols).toBe(c.task);
    expect(r.values).toBe(c.value);
    expect([r.nRows, r.nCols]).toEqual([4, 5]);
    expect('weights' in r).toBe(false);
    const w = Float64Array.of(1, 0.1);
    expect(ratingsOf(c, w).weights).toBe(w);
  });
});
