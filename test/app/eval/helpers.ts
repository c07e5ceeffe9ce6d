import { createDataset, type Dataset, type ModelEntry, type ScoreTuple, type TaskEntry } from '../../../src/app/data/dataset.js';
import type { FittedPredictor, PredictContext, Predictor } from '../../../src/app/predictors/types.js';

/**
 * A small dataset with gaps: 13 models (families a, b, c of 4 models each, the 13th without family),
 * 6 tasks on mixed scales. Model m, task t is missing when (m * 7 + t * 3) % 5 === 0, so every
 * model and task keeps most of its scores; values are distinct and deterministic.
 */
export function toyDataset(): Dataset {
  const families = ['a', 'b', 'c'];
  const models: ModelEntry[] = Array.from({ length: 13 }, (_, m) => ({
    name: `model-${m}`,
    factors: (m < 12 ? { family: families[m % 3], size: m + 1 } : { size: m + 1 }) as ModelEntry['factors'],
  }));
  const tasks: TaskEntry[] = [
    { name: 'mmlu', factors: { kind: 'knowledge' }, scale: 'percent' },
    { name: 'gsm8k', factors: { kind: 'math' }, scale: 'percent' },
    { name: 'boolq', factors: { kind: 'knowledge' }, scale: 'unit' },
    { name: 'bpb', factors: { kind: 'lm' }, higherIsBetter: false },
    { name: 'elo', factors: { kind: 'chat' }, scale: { min: 800, max: 1400 } },
    { name: 'hellaswag', factors: { kind: 'commonsense' }, scale: 'percent' },
  ];
  const scores: ScoreTuple[] = [];
  for (let m = 0; m < models.length; m++) {
    for (let t = 0; t < tasks.length; t++) {
      if ((m * 7 + t * 3) % 5 === 0) continue;
      const base = 30 + 4 * m + 2 * t + ((m * 13 + t * 5) % 7);
      const v = t === 2 ? base / 100 : t === 3 ? 2 - base / 100 : t === 4 ? 800 + 6 * base : base;
      scores.push([m, t, v, 0]);
    }
  }
  return createDataset({
    name: 'toy',
    models,
    tasks,
    factorSchema: {
      model: [
        { name: 'family', type: 'categorical' },
        { name: 'size', type: 'numeric' },
      ],
      task: [{ name: 'kind', type: 'categorical' }],
    },
    scores,
  });
}

/** Predicts each task's mean over the training cells (the model's mean for a task without any, else 0). */
export function taskMeanPredictor(): Predictor {
  return {
    name: 'task-mean',
    description: 'mean of the task over the training cells',
    usesFactors: false,
    async fit(train: Dataset): Promise<FittedPredictor> {
      const sum = new Float64Array(train.tasks.length);
      const cnt = new Float64Array(train.tasks.length);
      for (let e = 0; e < train.scores.value.length; e++) {
        sum[train.scores.task[e]] += train.scores.value[e];
        cnt[train.scores.task[e]]++;
      }
      return {
        chosen: {},
        predict: (_models, tasks) => Float64Array.from(tasks, (t) => (cnt[t] > 0 ? sum[t] / cnt[t] : 0)),
      };
    },
  };
}

/** One fit seen by a {@link spyPredictor}. */
export interface SpyFit {
  seed: number;
  /** `"model|task"` keys of the training cells. */
  cells: Set<string>;
  /** Number of training cells per model index. */
  perModel: Map<number, number>;
  perTask: Map<number, number>;
  /** The cells it was asked to predict, as keys. */
  asked: string[];
}

/** A predictor that records every training cell it is given and predicts 0. */
export function spyPredictor(log: SpyFit[]): Predictor {
  return {
    name: 'spy',
    description: 'records its training cells',
    usesFactors: true,
    async fit(train: Dataset, ctx: PredictContext): Promise<FittedPredictor> {
      const rec: SpyFit = { seed: ctx.seed, cells: new Set(), perModel: new Map(), perTask: new Map(), asked: [] };
      const { model, task } = train.scores;
      for (let e = 0; e < model.length; e++) {
        rec.cells.add(`${model[e]}|${task[e]}`);
        rec.perModel.set(model[e], (rec.perModel.get(model[e]) ?? 0) + 1);
        rec.perTask.set(task[e], (rec.perTask.get(task[e]) ?? 0) + 1);
      }
      log.push(rec);
      return {
        chosen: {},
        predict(models, tasks) {
          for (let i = 0; i < models.length; i++) rec.asked.push(`${models[i]}|${tasks[i]}`);
          return new Float64Array(models.length);
        },
      };
    },
  };
}

/** `"model|task"` keys of the cells selected by a mask over `ds.scores`. */
export function cellKeys(ds: Dataset, mask: Uint8Array): string[] {
  const out: string[] = [];
  for (let e = 0; e < mask.length; e++) if (mask[e]) out.push(`${ds.scores.model[e]}|${ds.scores.task[e]}`);
  return out;
}
