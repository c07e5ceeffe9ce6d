import { describe, expect, it } from 'vitest';
import { cellsOf } from '../../../src/app/data/observed-cells.js';
import { heldOutCells, maskIndices, trainView } from '../../../src/app/eval/split.js';
import { expectError } from '../data/helpers.js';
import { toyDataset } from './helpers.js';

describe('trainView / heldOutCells', () => {
  it('keeps exactly the masked cells, with the same models, tasks, factors and sources', () => {
    const ds = toyDataset();
    const n = ds.scores.value.length;
    const keep = new Uint8Array(n).map((_, e) => (e % 3 === 0 ? 0 : 1));
    const tr = trainView(ds, keep);
    expect(tr.scores.value.length).toBe(n - Math.ceil(n / 3));
    expect(tr.models).toEqual(ds.models);
    expect(tr.tasks).toEqual(ds.tasks);
    expect(tr.factorSchema).toEqual(ds.factorSchema);
    expect(tr.sources).toEqual(ds.sources);
    const kept = new Set<string>();
    for (let e = 0; e < tr.scores.value.length; e++) kept.add(`${tr.scores.model[e]}|${tr.scores.task[e]}|${tr.scores.value[e]}`);
    const out = heldOutCells(ds, keep);
    expect(out.value.length).toBe(Math.ceil(n / 3));
    for (let e = 0; e < n; e++) {
      const key = `${ds.scores.model[e]}|${ds.scores.task[e]}|${ds.scores.value[e]}`;
      expect(kept.has(key)).toBe(e % 3 !== 0);
    }
    for (let j = 0; j < out.index.length; j++) {
      const e = out.index[j];
      expect(e % 3).toBe(0);
      expect([out.model[j], out.task[j], out.value[j]]).toEqual([ds.scores.model[e], ds.scores.task[e], ds.scores.value[e]]);
    }
  });

  it('accepts boolean masks and does not share mutable state with the source', () => {
    const ds = toyDataset();
    const keep = Array.from({ length: ds.scores.value.length }, (_, e) => e < 5);
    const tr = trainView(ds, keep);
    expect(Array.from(tr.scores.value)).toEqual(Array.from(ds.scores.value.slice(0, 5)));
    tr.models[0].factors.size = 999;
    tr.scores.value[0] = -1;
    expect(ds.models[0].factors.size).toBe(1);
    expect(ds.scores.value[0]).not.toBe(-1);
    expect(Array.from(maskIndices(ds, keep))).toEqual([0, 1, 2, 3, 4]);
    expect(Array.from(cellsOf(ds, Int32Array.of(2)).value)).toEqual([ds.scores.value[2]]);
  });

  it('rejects a mask of the wrong length', () => {
    const ds = toyDataset();
    expectError(() => trainView(ds, new Uint8Array(3)), 'E_LENGTH_MISMATCH');
    expectError(() => heldOutCells(ds, [true]), 'E_LENGTH_MISMATCH');
  });
});
