import { createDataset, type Dataset, type ModelEntry, type ScoreTuple, type TaskEntry } from '../../../src/app/data/dataset.js';
import type { CellArrays } from '../../../src/app/data/observed-cells.js';
import type { FittedPredictor } from '../../../src/app/predictors/types.js';
import { Rng } from '../../../src/numeric/rng.js';

/** A planted matrix: the truth of every cell, a training Dataset and the held-out cells. */
export interface Planted {
  train: Dataset;
  truth: (m: number, t: number) => number;
  /** Held-out cells (not in train). */
  test: CellArrays;
  /** Each task's spread (to compare errors across scales). */
  spread: Float64Array;
}

/**
 * `nModels × nTasks` scores `center_t + spread_t · (a_m + b_t + p_m · q_t)` with a rank-`rank`
 * interaction (`rank = 0`: purely additive). Even tasks are on a percent scale (spread about 10),
 * odd ones on a 0–1 scale (spread about 0.1), so a method that mixed scales up would show. A share
 * `missing` of the cells is held out (every model and task keeps at least two cells).
 */
export function plantedMatrix(nModels: number, nTasks: number, rank: number, missing: number, seed = 1, noise = 0): Planted {
  const rng = new Rng(seed, 5);
  const g = () => rng.nextDouble() * 2 - 1;
  const a = Array.from({ length: nModels }, () => g());
  const b = Array.from({ length: nTasks }, () => 0.5 * g());
  const P = Array.from({ length: nModels }, () => Array.from({ length: rank }, () => 1.5 * g()));
  const Q = Array.from({ length: nTasks }, () => Array.from({ length: rank }, () => 1.5 * g()));
  const spread = Float64Array.from({ length: nTasks }, (_, t) => (t % 2 === 0 ? 10 : 0.1) * (0.6 + 0.8 * rng.nextDouble()));
  const center = Float64Array.from({ length: nTasks }, (_, t) => (t % 2 === 0 ? 50 : 0.5));
  const truth = (m: number, t: number) => center[t] + spread[t] * (a[m] + b[t] + P[m].reduce((s, x, f) => s + x * Q[t][f], 0));
  const tasks: TaskEntry[] = Array.from({ length: nTasks }, (_, t) => ({ name: `t${t}`, factors: {}, scale: t % 2 === 0 ? 'percent' : 'unit' }));
  const models: ModelEntry[] = Array.from({ length: nModels }, (_, m) => ({ name: `m${m}`, factors: {} }));
  const train: ScoreTuple[] = [];
  const test: Array<[number, number, number]> = [];
  for (let m = 0; m < nModels; m++) {
    for (let t = 0; t < nTasks; t++) {
      const v = truth(m, t) + noise * spread[t] * g();
      // the first two tasks of each model (cyclically) and models 0, 1 always stay, to keep every row and column fitted
      const keep = (t - m + nTasks) % nTasks < 2 || m < 2;
      if (!keep && rng.nextDouble() < missing) test.push([m, t, v]);
      else train.push([m, t, v, 0]);
    }
  }
  return {
    train: createDataset({ name: 'planted', models, tasks, scores: train }),
    truth,
    test: { model: Int32Array.from(test, (x) => x[0]), task: Int32Array.from(test, (x) => x[1]), value: Float64Array.from(test, (x) => x[2]) },
    spread,
  };
}

/** Root mean squared error on the held-out cells in units of each task's spread. */
export function scaledRmse(f: FittedPredictor, p: Planted): number {
  const pred = f.predict(p.test.model, p.test.task);
  let s = 0;
  for (let i = 0; i < pred.length; i++) s += ((pred[i] - p.test.value[i]) / p.spread[p.test.task[i]]) ** 2;
  return Math.sqrt(s / pred.length);
}

/** Every (model, task) cell of a Dataset's index space. */
export function allCells(ds: Dataset): Pick<CellArrays, 'model' | 'task'> {
  const n = ds.models.length * ds.tasks.length;
  const model = new Int32Array(n);
  const task = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    model[i] = Math.floor(i / ds.tasks.length);
    task[i] = i % ds.tasks.length;
  }
  return { model, task };
}
