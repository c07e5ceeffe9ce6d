import type { Dataset } from '../data/dataset.js';
import { fitMember } from './fit-cache.js';
import type { FittedPredictor, PredictContext, Predictor } from './types.js';

/** A member's context: its own settings out of the ensemble's (`chosen` names them `member.key`). */
function memberContext(ctx: PredictContext, member: string): PredictContext {
  if (!ctx.settings) return ctx;
  const prefix = `${member}.`;
  const own = Object.fromEntries(Object.entries(ctx.settings).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
  return { ...ctx, settings: own };
}

/**
 * The average of several methods' predictions. Methods that err in different ways (neighbours,
 * principal components, factorization) cancel part of each other's errors, so the average is
 * usually better than its best member, and never much worse.
 */
export function ensemblePredictor(name: string, members: readonly Predictor[]): Predictor {
  return {
    name,
    description: `average of ${members.map((m) => m.name).join(', ')}`,
    usesFactors: members.some((m) => m.usesFactors),
    canFoldIn: members.every((m) => m.canFoldIn === true),
    members,
    async fit(train: Dataset, ctx: PredictContext): Promise<FittedPredictor> {
      // Started last-first: the default's last member (mf-sgd) hands its fits to the native core and
      // awaits them, so the JS-only members (knn, pca) compute while the core's threads run it. The
      // members are independent (each draws from its own seeded streams), so the order changes nothing
      // but the time.
      const started: Promise<FittedPredictor>[] = new Array(members.length);
      for (let i = members.length - 1; i >= 0; i--) started[i] = fitMember(members[i], train, memberContext(ctx, members[i].name));
      const fitted = await Promise.all(started);
      const chosen: Record<string, number | string | boolean> = {};
      members.forEach((m, i) => {
        for (const [k, v] of Object.entries(fitted[i].chosen)) chosen[`${m.name}.${k}`] = v;
      });
      const average = (parts: Float64Array[]): Float64Array => {
        const out = new Float64Array(parts[0].length);
        for (const p of parts) for (let i = 0; i < out.length; i++) out[i] += p[i];
        for (let i = 0; i < out.length; i++) out[i] /= parts.length;
        return out;
      };
      const canFoldIn = fitted.every((f) => f.foldIn !== undefined);
      return {
        chosen,
        ...(canFoldIn ? { foldIn: (scores: ReadonlyArray<{ task: number; value: number }>) => average(fitted.map((f) => f.foldIn!(scores))) } : {}),
        predict(models, tasks) {
          return average(fitted.map((f) => f.predict(models, tasks)));
        },
      };
    },
  };
}
