import { describe, expect, it } from 'vitest';
import { createDataset } from '../../../src/app/data/dataset.js';
import { formatProtocol, makeFolds, NEW_ENTITY_FOLDS, parseProtocol, type Fold } from '../../../src/app/eval/protocols.js';
import { expectError } from '../data/helpers.js';
import { toyDataset } from './helpers.js';

const count = (m: Uint8Array) => m.reduce((a, b) => a + b, 0);

function checkComplementary(folds: Fold[]): void {
  for (const f of folds) for (let e = 0; e < f.testMask.length; e++) expect(f.trainMask[e] + f.testMask[e]).toBe(1);
}

describe('parseProtocol', () => {
  it('parses every form and round-trips through formatProtocol', () => {
    expect(parseProtocol('cells:0.05')).toEqual({ kind: 'cells', fraction: 0.05 });
    expect(parseProtocol(' cells: 5% ')).toEqual({ kind: 'cells', fraction: 0.05 });
    expect(parseProtocol('model-kfold:5')).toEqual({ kind: 'model-kfold', folds: 5 });
    expect(parseProtocol('new-model:0')).toEqual({ kind: 'new-model', reveal: 0 });
    expect(parseProtocol('NEW-TASK:2')).toEqual({ kind: 'new-task', reveal: 2 });
    expect(parseProtocol('family-out')).toEqual({ kind: 'family-out' });
    for (const s of ['cells:0.25', 'model-kfold:3', 'new-model:2', 'new-task:1', 'family-out']) expect(formatProtocol(parseProtocol(s))).toBe(s);
  });

  it('rejects malformed protocols with E_INVALID_ARGUMENT and a message saying what is wrong', () => {
    const bad: Array<[string, RegExp]> = [
      ['cells', /needs the held-out fraction/],
      ['cells:', /needs the held-out fraction/],
      ['cells:0', /between 0 and 1/],
      ['cells:1', /between 0 and 1/],
      ['cells:150%', /between 0 and 1/],
      ['cells:abc', /between 0 and 1/],
      ['cells:-0.1', /between 0 and 1/],
      ['model-kfold:1', /integer >= 2/],
      ['model-kfold:2.5', /integer >= 2/],
      ['model-kfold', /needs the number of folds/],
      ['new-model:-1', /integer >= 0/],
      ['new-task:x', /integer >= 0/],
      ['family-out:2', /takes no argument/],
      ['random', /unknown protocol "random".*cells:P/],
      ['', /unknown protocol/],
    ];
    for (const [s, msg] of bad) expectError(() => parseProtocol(s), 'E_INVALID_ARGUMENT', { field: 'protocol', message: msg });
  });
});

describe('makeFolds', () => {
  const ds = toyDataset();
  const nnz = ds.scores.value.length;

  it('cells:P holds out round(P * n) random cells, deterministically per seed', () => {
    const a = makeFolds(ds, 'cells:0.2', 7);
    expect(a).toHaveLength(1);
    checkComplementary(a);
    expect(count(a[0].testMask)).toBe(Math.round(0.2 * nnz));
    expect(a[0].seed).toBe(7);
    expect(a[0].description).toMatch(/20% of cells at random: 12 of 62 held out/);
    expect(makeFolds(ds, 'cells:0.2', 7)[0].testMask).toEqual(a[0].testMask);
    expect(makeFolds(ds, 'cells:0.2', 8)[0].testMask).not.toEqual(a[0].testMask);
    // at least one cell, even for a tiny fraction
    expect(count(makeFolds(ds, 'cells:0.001', 1)[0].testMask)).toBe(1);
  });

  it('model-kfold:K partitions the models: every cell is held out exactly once, by whole models', () => {
    const folds = makeFolds(ds, 'model-kfold:4', 3);
    expect(folds).toHaveLength(4);
    checkComplementary(folds);
    const times = new Int32Array(nnz);
    const foldOfModel = new Map<number, number>();
    const sizes: number[] = [];
    folds.forEach((f, i) => {
      const models = new Set<number>();
      for (let e = 0; e < nnz; e++) {
        if (!f.testMask[e]) continue;
        times[e]++;
        const m = ds.scores.model[e];
        models.add(m);
        expect(foldOfModel.get(m) ?? i).toBe(i);
        foldOfModel.set(m, i);
      }
      sizes.push(models.size);
    });
    expect(Array.from(times).every((x) => x === 1)).toBe(true);
    expect(sizes.sort()).toEqual([3, 3, 3, 4]);
    expectError(() => makeFolds(ds, 'model-kfold:14', 1), 'E_INVALID_ARGUMENT', { message: /only 13 models/ });
  });

  it('new-model:k forms 5 folds over the models with more than k scores and reveals k of each', () => {
    for (const k of [0, 2, 4]) {
      const folds = makeFolds(ds, `new-model:${k}`, 11);
      checkComplementary(folds);
      const heldModels = new Map<number, number>();
      for (const f of folds) {
        const perModel = new Map<number, { test: number; train: number }>();
        for (let e = 0; e < nnz; e++) {
          const m = ds.scores.model[e];
          const c = perModel.get(m) ?? { test: 0, train: 0 };
          if (f.testMask[e]) c.test++;
          else c.train++;
          perModel.set(m, c);
        }
        for (const [m, c] of perModel) {
          if (c.test === 0) continue;
          expect(heldModels.has(m)).toBe(false);
          heldModels.set(m, c.test);
          expect(c.train).toBe(k);
        }
      }
      // Toy models have 4 or 5 scores: with k = 4 only the 5-score models can be held out.
      const candidates = k < 4 ? 13 : 10;
      expect(folds).toHaveLength(NEW_ENTITY_FOLDS);
      expect(heldModels.size).toBe(candidates);
    }
  });

  it('new-task:k does the same over tasks, with one fold per task when there are few', () => {
    const folds = makeFolds(ds, 'new-task:1', 5);
    expect(folds).toHaveLength(5); // 6 tasks → 5 folds
    const tiny = createDataset({
      name: 'tiny',
      models: ['m0', 'm1', 'm2'],
      tasks: ['t0', 't1', 't2'],
      scores: [
        [0, 0, 1, 0],
        [1, 0, 2, 0],
        [2, 0, 3, 0],
        [0, 1, 4, 0],
        [1, 1, 5, 0],
        [0, 2, 6, 0],
      ],
    });
    const f1 = makeFolds(tiny, 'new-task:1', 1);
    // t2 has a single score, so it cannot be held out with one score revealed.
    expect(f1).toHaveLength(2);
    const heldTasks = f1.map((f) => new Set(Array.from(f.testMask.keys()).filter((e) => f.testMask[e]).map((e) => tiny.scores.task[e])));
    expect(heldTasks.map((s) => [...s]).sort()).toEqual([[0], [1]]);
    expect(f1.map((f) => count(f.testMask)).sort()).toEqual([1, 2]);
    expectError(() => makeFolds(tiny, 'new-task:3', 1), 'E_INVALID_ARGUMENT', { message: /no task .* more than 3 scores/ });
  });

  it('the revealed cells of a model do not depend on which fold it lands in', () => {
    const revealedOf = (folds: Fold[]) => {
      const out = new Map<number, string>();
      for (const f of folds) {
        const held = new Set<number>();
        for (let e = 0; e < nnz; e++) if (f.testMask[e]) held.add(ds.scores.model[e]);
        for (const m of held) {
          const rev: number[] = [];
          for (let e = 0; e < nnz; e++) if (ds.scores.model[e] === m && !f.testMask[e]) rev.push(ds.scores.task[e]);
          out.set(m, rev.join(','));
        }
      }
      return out;
    };
    const a = revealedOf(makeFolds(ds, 'new-model:2', 4));
    const b = revealedOf(makeFolds(ds, 'new-model:2', 4));
    expect(a).toEqual(b);
    expect(a.size).toBe(13);
  });

  it('family-out leaves each family out in turn; models without a family always train', () => {
    const folds = makeFolds(ds, 'family-out', 0);
    checkComplementary(folds);
    expect(folds.map((f) => f.description)).toEqual([
      'family "a" held out: 4 models, 19 cells',
      'family "b" held out: 4 models, 19 cells',
      'family "c" held out: 4 models, 19 cells',
    ]);
    for (const [i, f] of folds.entries()) {
      for (let e = 0; e < nnz; e++) {
        const fam = ds.models[ds.scores.model[e]].factors.family;
        expect(f.testMask[e]).toBe(fam === ['a', 'b', 'c'][i] ? 1 : 0);
      }
    }
    expect(makeFolds(ds, 'family-out', 99).map((f) => Array.from(f.testMask))).toEqual(folds.map((f) => Array.from(f.testMask)));
  });

  it('family-out explains a missing or unusable family factor', () => {
    const noFam = createDataset({ name: 'nofam', models: ['a', 'b'], tasks: ['t'], scores: [[0, 0, 1, 0], [1, 0, 2, 0]] });
    expectError(() => makeFolds(noFam, 'family-out', 0), 'E_INVALID_ARGUMENT', { message: /categorical model factor "family".*"nofam" has none/ });
    const numeric = createDataset({
      name: 'num',
      models: [{ name: 'a', factors: { family: 1 } }, 'b'],
      tasks: ['t'],
      factorSchema: { model: [{ name: 'family', type: 'numeric' }] },
      scores: [[0, 0, 1, 0], [1, 0, 2, 0]],
    });
    expectError(() => makeFolds(numeric, 'family-out', 0), 'E_INVALID_ARGUMENT', { message: /has a numeric one/ });
    const one = createDataset({
      name: 'one',
      models: [{ name: 'a', factors: { family: 'x' } }, { name: 'b', factors: { family: 'x' } }],
      tasks: ['t'],
      factorSchema: { model: [{ name: 'family', type: 'categorical' }] },
      scores: [[0, 0, 1, 0], [1, 0, 2, 0]],
    });
    expectError(() => makeFolds(one, 'family-out', 0), 'E_INVALID_ARGUMENT', { message: /at least 2 model families/ });
  });

  it('refuses datasets too small to split', () => {
    const single = createDataset({ name: 's', models: ['a'], tasks: ['t'], scores: [[0, 0, 1, 0]] });
    expectError(() => makeFolds(single, 'cells:0.5', 0), 'E_INVALID_ARGUMENT', { message: /at least 2 observed cells/ });
    const two = createDataset({ name: 'two', models: ['a', 'b'], tasks: ['t'], scores: [[0, 0, 1, 0], [1, 0, 2, 0]] });
    expectError(() => makeFolds(two, 'cells:0.9', 0), 'E_INVALID_ARGUMENT', { message: /all 2 observed cells/ });
  });
});
