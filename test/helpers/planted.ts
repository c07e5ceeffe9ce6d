import { Rng } from '../../src/numeric/rng.js';

/** A small planted low-rank matrix with biases, split into observed (train) and held-out cells. */
export function planted(nRows: number, nCols: number, rank: number, density: number, noise = 0, seed = 3) {
  const rng = new Rng(seed, 11);
  const g = () => rng.nextDouble() * 2 - 1;
  const P = Array.from({ length: nRows }, () => Array.from({ length: rank }, g));
  const Q = Array.from({ length: nCols }, () => Array.from({ length: rank }, g));
  const br = Array.from({ length: nRows }, () => g() * 0.5);
  const bc = Array.from({ length: nCols }, () => g() * 0.5);
  const truth = (r: number, c: number) => 2 + br[r] + bc[c] + P[r].reduce((s, x, f) => s + x * Q[c][f], 0);
  const train = { rows: [] as number[], cols: [] as number[], values: [] as number[] };
  const test = { rows: [] as number[], cols: [] as number[], values: [] as number[] };
  for (let r = 0; r < nRows; r++) {
    for (let c = 0; c < nCols; c++) {
      const u = rng.nextDouble();
      const v = truth(r, c) + (rng.nextDouble() - 0.5) * 2 * noise;
      const dst = u < density ? train : u < density + 0.1 ? test : null;
      if (!dst) continue;
      dst.rows.push(r);
      dst.cols.push(c);
      dst.values.push(v);
    }
  }
  return { nRows, nCols, train, test, truth };
}

export function rmse(pred: ArrayLike<number>, truth: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < pred.length; i++) s += (pred[i] - truth[i]) ** 2;
  return Math.sqrt(s / pred.length);
}
