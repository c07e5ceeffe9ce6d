/**
 * {@link buildReport}: the visual report as one self-contained HTML page.
 */
import { CollabperfError } from '../../errors.js';
import { density } from '../data/dataset.js';
import { taskScales } from '../eval/metrics.js';
import { adviceSpec, coverageSpec, errorHistogramSpec, heatmapSpec, perTaskErrorSpec, scatterDomain, scatterSpec } from './charts.js';
import { checkAdvice, checkCoverage, describeScales, heldOutRows, matrixData, subsamplePerMethod, tasksByError, type ScaleInfo } from './data.js';
import { escapeHtml, renderPage, type PageSection } from './page.js';
import { renderSvg } from './render.js';
import type { ReportInput, ReportOptions } from './types.js';

/** Default of {@link ReportOptions.maxHeatmapModels}. */
export const DEFAULT_MAX_HEATMAP_MODELS = 150;
/** Default of {@link ReportOptions.maxScatterPoints}. */
export const DEFAULT_MAX_SCATTER_POINTS = 3000;

const fmt = (x: number, digits = 2): string => (Number.isFinite(x) ? x.toFixed(digits) : '–');
const pct = (x: number): string => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : '–');
const plural = (n: number, one: string, many = `${one}s`): string => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

function limit(value: number | undefined, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new CollabperfError('E_INVALID_ARGUMENT', `${field} must be a positive integer, got ${value}`, { field });
  return value;
}

function metricsTable(input: ReportInput, info: ScaleInfo): string {
  const multi = input.evaluation.seeds.length > 1;
  const rows = input.evaluation.methods.map((m) => {
    const mae = multi && Number.isFinite(m.std.mae100) ? `${fmt(m.mean.mae100)} ± ${fmt(m.std.mae100)}` : fmt(m.mean.mae100);
    return `<tr><td>${escapeHtml(m.method)}</td><td>${mae}</td><td>${fmt(m.mean.medianAe100)}</td><td>${fmt(m.mean.rmse100)}</td><td>${pct(m.mean.within5)}</td><td>${fmt(m.mean.spearman, 3)}</td><td>${fmt(m.mean.n, 0)}</td><td>${fmt(m.ms / 1000, 1)}</td></tr>`;
  });
  return `<table class="metrics">
<thead><tr><th>Method</th><th>MAE${multi ? ' (mean ± sd over seeds)' : ''}</th><th>Median AE</th><th>RMSE</th><th>Within 5 points</th><th>Spearman (per task)</th><th>Held-out cells per seed</th><th>Time (s)</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>
<p class="note">Errors in ${escapeHtml(info.errorUnit)}, over the held-out cells of protocol <code>${escapeHtml(input.evaluation.protocol)}</code>. ${escapeHtml(info.sentence)}</p>`;
}

/**
 * Builds the visual report: a single HTML document (inline CSS, charts as inline SVG rendered
 * offline by vega from vega-lite specs, a small inline script for PNG/SVG download; no external
 * resources) with the held-out metrics table, (1) the score matrix heatmap, (2) predicted vs actual
 * per method, (3) the distribution of absolute errors, (4) MAE per task, (5) interval coverage by
 * level and (6) the advice error curve, the last two only when given (otherwise a "not computed"
 * note). Scores and errors are shown on each task's 0–100 scale.
 *
 * Input that would draw a wrong picture is rejected: an evaluation of another dataset
 * (`E_INVALID_ARGUMENT`), completion cells that are unknown (`E_NOT_FOUND`), observed or repeated
 * (`E_DUPLICATE_ENTRY`) or not finite (`E_NON_FINITE`), coverage levels outside (0, 1), coverage
 * outside [0, 1], negative widths or errors, fractional probe counts (`E_INVALID_ARGUMENT`).
 *
 * The output depends only on the input (no clock unless `generatedAt` is given).
 */
export async function buildReport(input: ReportInput, options: ReportOptions = {}): Promise<string> {
  const ds = input.dataset;
  const maxModels = limit(options.maxHeatmapModels, DEFAULT_MAX_HEATMAP_MODELS, 'maxHeatmapModels');
  const maxPoints = limit(options.maxScatterPoints, DEFAULT_MAX_SCATTER_POINTS, 'maxScatterPoints');
  const coverage = input.coverage && input.coverage.length > 0 ? input.coverage : undefined;
  const advice = input.advice && input.advice.length > 0 ? input.advice : undefined;
  // The evaluation's cells are indices into the dataset: another dataset's would be drawn as nonsense.
  if (input.evaluation.dataset !== ds.name) {
    throw new CollabperfError('E_INVALID_ARGUMENT', `the evaluation is of dataset "${input.evaluation.dataset}" but the report is of "${ds.name}"`, { field: 'evaluation' });
  }
  if (coverage) checkCoverage(coverage);
  if (advice) checkAdvice(advice);

  const scales = taskScales(ds);
  const info = describeScales(ds);
  const units = { scoreUnit: info.scoreUnit, errorUnit: info.errorUnit };
  const matrix = matrixData(ds, input.completion, maxModels, scales);
  const rows = heldOutRows(ds, input.evaluation, scales);
  const evalMethods = input.evaluation.methods.map((m) => m.method);
  // Methods only in the coverage data get colours after the evaluated ones, so that a method keeps
  // its colour across all charts.
  const methods = [...evalMethods, ...[...new Set((coverage ?? []).map((p) => p.method))].filter((m) => !evalMethods.includes(m))];
  const render = (spec: Parameters<typeof renderSvg>[0], id: string) => renderSvg(spec, { onWarning: options.onWarning, idPrefix: id });

  const sections: PageSection[] = [];
  sections.push({ id: 'accuracy', heading: 'Held-out accuracy', intro: '', extra: metricsTable(input, info) });

  const capNote =
    matrix.modelOrder.length < matrix.modelsWithCells
      ? ` Showing ${plural(matrix.modelOrder.length, 'model')} of ${matrix.modelsWithCells.toLocaleString('en-US')}, evenly spaced in the ranking (best and worst included).`
      : '';
  const lowerBetter = ds.tasks.filter((t) => t.higherIsBetter === false).map((t) => t.name);
  const lowerNote = lowerBetter.length
    ? ` On ${lowerBetter.length === 1 ? 'task' : 'tasks'} ${lowerBetter.slice(0, 6).map((t) => escapeHtml(t)).join(', ')}${lowerBetter.length > 6 ? ` and ${lowerBetter.length - 6} more` : ''}, lower is better, so a bright cell there is a poor score.`
    : '';
  sections.push({
    id: 'matrix',
    heading: 'Score matrix',
    intro: `Every model (row, best mean score at the top) on every task (column). Cells with a dot were missing and are predicted by <b>${escapeHtml(input.completion.method)}</b>; the others are observed scores. Hover a cell for its model, task and score.`,
    chart: {
      id: 'chart-matrix',
      svg: await render(heatmapSpec(matrix, { legendTitle: info.legendTitle, colourPhrase: info.colourPhrase, method: input.completion.method }), 'chart-matrix'),
      caption: `${plural(matrix.observed, 'observed cell')} and ${plural(matrix.predicted, 'predicted cell')}; models ordered by the mean of their row (observed and predicted). ${escapeHtml(info.sentence)}${capNote}${lowerNote}`,
    },
  });

  const { rows: scatterRows, capped } = subsamplePerMethod(rows, maxPoints);
  const dom = scatterDomain(scatterRows.flatMap((r) => [r.truth, r.prediction]));
  const offScale = scatterRows.filter((r) => r.prediction < dom[0] || r.prediction > dom[1]).length;
  sections.push({
    id: 'predicted-vs-actual',
    heading: 'Predicted vs actual',
    intro: `Held-out cells of protocol <code>${escapeHtml(input.evaluation.protocol)}</code>: the score each method predicted for a cell hidden from it, against the observed score. Points on the dashed line are exact.`,
    chart: {
      id: 'chart-scatter',
      svg: await render(scatterSpec(scatterRows, evalMethods, units), 'chart-scatter'),
      caption: `${plural(rows.length / Math.max(1, evalMethods.length), 'held-out prediction')} per method over ${plural(input.evaluation.seeds.length, 'seed')}${capped ? `; at most ${maxPoints.toLocaleString('en-US')} per method drawn (an even subsample)` : ''}. Both axes span the scores' range, ${dom[0]} to ${dom[1]}${
        offScale > 0 ? `; ${plural(offScale, 'prediction')} beyond it ${offScale === 1 ? 'is' : 'are'} drawn as ${offScale === 1 ? 'a triangle' : 'triangles'} at the edge` : ''
      }.`,
    },
  });

  sections.push({
    id: 'error-distribution',
    heading: 'Error distribution',
    intro: `Absolute error of each held-out prediction, in ${escapeHtml(info.errorUnit)}; the dashed line is the mean (MAE).`,
    chart: { id: 'chart-errors', svg: await render(errorHistogramSpec(rows, evalMethods, units), 'chart-errors'), caption: 'Counts of held-out cells per error bin, all seeds and folds pooled.' },
  });

  const taskOrder = tasksByError(rows);
  sections.push({
    id: 'per-task-error',
    heading: 'Error per task',
    intro: 'Mean absolute error of each method on each task, hardest task (largest error over all methods) first. The number after each task, n, is how many held-out cells each of its bars averages over.',
    chart: {
      id: 'chart-per-task',
      svg: await render(perTaskErrorSpec(rows, evalMethods, taskOrder, units), 'chart-per-task'),
      caption: `${plural(taskOrder.length, 'task')} with held-out cells, of ${ds.tasks.length}; n counts held-out cells of all seeds and folds.`,
    },
  });

  sections.push(
    coverage
      ? {
          id: 'coverage',
          heading: 'Interval coverage by level',
          intro: 'How often the prediction intervals contained the held-out score, against the level they were built for (dashed: ideal), and how wide they were.',
          chart: { id: 'chart-coverage', svg: await render(coverageSpec(coverage, methods, units), 'chart-coverage'), caption: `${plural(new Set(coverage.map((p) => p.level)).size, 'level')}, ${plural(new Set(coverage.map((p) => p.method)).size, 'method')}.` },
        }
      : { id: 'coverage', heading: 'Interval coverage by level', intro: '', absent: 'Not computed: no interval coverage was given for this report.' },
  );
  sections.push(
    advice
      ? {
          id: 'advice',
          heading: 'Which benchmark to run next',
          intro: 'Error on the benchmarks not yet run, after revealing a number of benchmarks of held-out models chosen by the advisor or at random.',
          chart: { id: 'chart-advice', svg: await render(adviceSpec(advice, units), 'chart-advice'), caption: `${plural(advice.length, 'point')} of the curve, from ${Math.min(...advice.map((p) => p.probes))} to ${Math.max(...advice.map((p) => p.probes))} probes${
            advice.some((p) => Number.isFinite(p.advisorStd) || Number.isFinite(p.randomStd)) ? '; shaded: ±1 standard deviation over seeds' : ''
          }.` },
        }
      : { id: 'advice', heading: 'Which benchmark to run next', intro: '', absent: 'Not computed: no advice error curve was given for this report.' },
  );

  const chosen = Object.entries(input.completion.chosen)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  const meta = [
    ds.description ? escapeHtml(ds.description) : '',
    `Dataset <b>${escapeHtml(ds.name)}</b>: ${plural(ds.models.length, 'model')} × ${plural(ds.tasks.length, 'task')}, ${plural(ds.scores.value.length, 'observed cell')} (${pct(density(ds))} filled).`,
    `Evaluation: protocol <code>${escapeHtml(input.evaluation.protocol)}</code>, ${plural(input.evaluation.seeds.length, 'seed')}, methods ${evalMethods.map((m) => `<b>${escapeHtml(m)}</b>`).join(', ')}. Completion: <b>${escapeHtml(input.completion.method)}</b>${chosen ? ` (${escapeHtml(chosen)})` : ''}.`,
    ...(input.notes ?? []).map(escapeHtml),
    input.generatedAt ? `Generated ${escapeHtml(input.generatedAt)}.` : '',
  ].filter((s) => s !== '');

  return renderPage({ title: input.title ?? `collabperf report: ${ds.name}`, meta, sections, fileStem: ds.name });
}
