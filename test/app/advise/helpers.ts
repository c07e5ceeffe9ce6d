import { createDataset, type Dataset, type ScoreTuple } from '../../../src/app/data/dataset.js';
import { Rng } from '../../../src/numeric/rng.js';

/** Options of {@link plantedAdviceDataset}. */
export interface PlantedAdviceOptions {
  models?: number;
  /** Share of cells dropped at random (default 0). */
  missing?: number;
  seed?: number;
}

/**
 * A planted table: one latent ability a ∈ [0, 1] per model; four hidden tasks H1..H4 = 20 + 60 a +
 * noise (sd ≈ 4); `info` = 20 + 60 a + tiny noise (a near-copy of what the hidden tasks share);
 * `infoB` = 20 + 60 a + noise (sd ≈ 3: informative, a little less); `N1`, `N2`, `N3` = 50 ± 3,
 * unrelated to a. All percent.
 */
export function plantedAdviceDataset(opts: PlantedAdviceOptions = {}): Dataset {
  const nM = opts.models ?? 60;
  const rng = new Rng(opts.seed ?? 7, 99);
  const gauss = (): number => {
    // Sum of uniforms: close enough to normal for a test and uses only the package PRNG.
    let s = 0;
    for (let i = 0; i < 6; i++) s += rng.nextDouble();
    return (s - 3) * Math.SQRT2;
  };
  const tasks = ['H1', 'H2', 'H3', 'H4', 'info', 'infoB', 'N1', 'N2', 'N3'];
  const scores: ScoreTuple[] = [];
  for (let m = 0; m < nM; m++) {
    const a = rng.nextDouble();
    const v = [
      ...Array.from({ length: 4 }, () => 20 + 60 * a + 4 * gauss()),
      20 + 60 * a + 0.3 * gauss(),
      20 + 60 * a + 3 * gauss(),
      ...Array.from({ length: 3 }, () => 50 + 6 * (rng.nextDouble() - 0.5)),
    ];
    v.forEach((x, t) => {
      if (opts.missing && rng.nextDouble() < opts.missing) return;
      scores.push([m, t, x, 0]);
    });
  }
  return createDataset({
    name: 'planted-advice',
    models: Array.from({ length: nM }, (_, m) => ({ name: `m${m}`, factors: {} })),
    tasks: tasks.map((name) => ({ name, factors: {}, scale: 'percent' as const })),
    scores,
  });
}
