import { createDataset, type Dataset, type ScoreTuple } from '../../../src/app/data/dataset.js';
import { Rng } from '../../../src/numeric/rng.js';

/** Options of {@link plantedScores}. */
export interface PlantedOptions {
  models: number;
  tasks: number;
  /** Standard deviation of the Gaussian noise, in points of the 0–100 scale. */
  noise: number;
  /** Noise of cell (m, t) as a multiple of `noise` (default 1): heteroscedastic tables. */
  noiseOf?: (m: number, t: number) => number;
  /** Whether cell (m, t) is observed (default: with probability `density`). */
  observe?: (m: number, t: number, u: number) => boolean;
  /** Share of observed cells when `observe` is not given (default 0.8). */
  density?: number;
  seed?: number;
}

/**
 * A percent-scale models × tasks table with planted structure: 50 + 12 a_m + 6 b_t + 8 (rank-2
 * interaction) + Gaussian noise, clipped to 0–100. The predictors can learn the structure but not the
 * noise, so held-out errors are roughly noise-sized for well-observed models and larger for models
 * with few scores (whose effects are estimated from few cells).
 */
export function plantedScores(o: PlantedOptions): Dataset {
  const rng = new Rng(o.seed ?? 7, 99);
  const u = () => rng.nextDouble() * 2 - 1;
  const gauss = () => {
    const a = Math.max(rng.nextDouble(), 1e-12);
    const b = rng.nextDouble();
    return Math.sqrt(-2 * Math.log(a)) * Math.cos(2 * Math.PI * b);
  };
  const a = Array.from({ length: o.models }, u);
  const b = Array.from({ length: o.tasks }, u);
  const P = Array.from({ length: o.models }, () => [u(), u()]);
  const Q = Array.from({ length: o.tasks }, () => [u(), u()]);
  const density = o.density ?? 0.8;
  const scores: ScoreTuple[] = [];
  for (let m = 0; m < o.models; m++) {
    for (let t = 0; t < o.tasks; t++) {
      const draw = rng.nextDouble();
      const v = 50 + 12 * a[m] + 6 * b[t] + 8 * (P[m][0] * Q[t][0] + P[m][1] * Q[t][1]) + o.noise * (o.noiseOf ? o.noiseOf(m, t) : 1) * gauss();
      if (!(o.observe ? o.observe(m, t, draw) : draw < density)) continue;
      scores.push([m, t, Math.min(100, Math.max(0, v)), 0]);
    }
  }
  return createDataset({
    name: 'planted',
    models: Array.from({ length: o.models }, (_, m) => `m${m}`),
    tasks: Array.from({ length: o.tasks }, (_, t) => ({ name: `t${t}`, factors: {}, scale: 'percent' as const })),
    scores,
  });
}
