import type { Dataset } from '../app/data/dataset.js';
import { checkGivenScore, describeScale, parseScaleOption, type ResolvedScale, type Scale } from '../app/data/scale.js';
import { CollabperfError, isCollabperfError } from '../errors.js';
import { taskHint } from './suggest.js';

/**
 * `--scale "Task=0-1,Other=0-100,Elo=unbounded"` against the dataset, with the closest task names
 * suggested and a few tasks listed when a task is not found (the same help as a misspelled `--new` task).
 */
export function scaleFlag(ds: Dataset, text: string | undefined): Map<number, Scale> {
  if (text === undefined) return new Map();
  try {
    return parseScaleOption(text, ds);
  } catch (e) {
    if (!isCollabperfError(e) || e.code !== 'E_NOT_FOUND') throw e;
    const m = /task "([^"]*)" is not a task/.exec(e.message);
    if (!m) throw e;
    throw new CollabperfError('E_NOT_FOUND', taskHint(ds, m[1]), { field: '--scale' }, { cause: e });
  }
}

/** What the inferred scales of one group share, in words (the per-task counts stay in --json's `reason`). */
function inferredRule(s: ResolvedScale): string {
  if (s.kind === 'fraction') return 'all values in [0, 1]';
  if (s.kind === 'percent') return 'all values in [0, 100], some above 1';
  return s.reason.startsWith('no observed') ? 'no observed values' : 'values outside [0, 100]';
}

/**
 * One line per group of inferred scales, e.g. `scales: 12 tasks 0-100 (inferred: all values in
 * [0, 100], some above 1)`, naming the tasks when a group has three or fewer of several; nothing for
 * scales the dataset or `--scale` gave, since the user already knows those.
 */
export function inferredScaleLines(scales: readonly ResolvedScale[]): string[] {
  const groups = new Map<string, ResolvedScale[]>();
  for (const s of scales) {
    if (!s.inferred) continue;
    const key = `${describeScale(s)} (inferred: ${inferredRule(s)})`;
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  const several = groups.size > 1 || [...groups.values()].some((g) => g.length < scales.length);
  return [...groups].map(([key, g]) => {
    const names = several && g.length <= 3 ? `: ${g.map((s) => s.task).join(', ')}` : '';
    return `scales: ${g.length} task${g.length === 1 ? '' : 's'} ${key}${names}`;
  });
}

/**
 * The warnings of a prediction for a model given by its scores, with the model named in the ones
 * about a given score (`model "x": GSM8K=0.458 looks like a fraction ...`). Warnings about the
 * table's own cells are left out: the loader already reported them, naming the model of a cell.
 */
export function givenScoreWarnings(
  warnings: readonly { message: string }[],
  given: readonly { task: number; value: number }[],
  ds: Dataset,
  scales: readonly ResolvedScale[],
  model: string,
): string[] {
  const out: string[] = [];
  for (const s of given) {
    const plain = checkGivenScore(ds.tasks[s.task].name, s.value, scales[s.task]);
    if (plain !== undefined && warnings.some((w) => w.message === plain.message)) {
      out.push(checkGivenScore(ds.tasks[s.task].name, s.value, scales[s.task], model)!.message);
    }
  }
  return out;
}
