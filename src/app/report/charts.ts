/**
 * The report's charts as declarative vega-lite specs. Each builder only arranges data that
 * `data.ts` prepared; scales, binning and aggregation are left to vega-lite so that every figure is
 * described, not drawn by hand.
 */
import type { TopLevelSpec } from 'vega-lite';
import { cellsPerTask, type HeldOutRow, type MatrixData } from './data.js';
import type { AdviceCurvePoint, CoveragePoint } from './types.js';

/** Shared look: white background (the SVGs are also exported as PNG) and a system font stack. */
export const CHART_CONFIG = {
  background: 'white',
  font: 'Helvetica, Arial, sans-serif',
  view: { stroke: '#d0d0d0' },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', gridColor: '#ececec' },
  legend: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal' },
  header: { labelFontSize: 13, labelFontWeight: 'bold' },
  title: { fontSize: 15, anchor: 'start', subtitleFontSize: 12, subtitleColor: '#4a5366', subtitlePadding: 4, offset: 12 },
} as const;

/** Colours of methods, the same in every chart (Tableau 10, cycled when there are more methods). */
const PALETTE = ['#4c78a8', '#f58518', '#e45756', '#72b7b2', '#54a24b', '#eeca3b', '#b279a2', '#ff9da6', '#9d755d', '#bab0ac'];

/**
 * A colour scale that gives each method the same colour everywhere. With `shown`, the domain is
 * only those methods (a legend lists every domain value, so a method a chart does not draw must not
 * be in it), each keeping the colour of its place in `methods`.
 */
export function methodScale(methods: readonly string[], shown?: readonly string[]): { domain: string[]; range: string[] } {
  const all = [...methods, ...(shown ?? []).filter((m) => !methods.includes(m))];
  const domain = shown ? all.filter((m) => shown.includes(m)) : all;
  return { domain, range: domain.map((m) => PALETTE[all.indexOf(m) % PALETTE.length]) };
}

/** Facet columns for `n` small multiples: up to three side by side. */
function columns(n: number): number {
  return Math.min(3, Math.max(1, n));
}

/** A chart title: the question the chart answers, and what its numbers are. */
function title(text: string, subtitle: string | string[]): object {
  return { text, subtitle };
}

/**
 * The axis range of the predicted-vs-actual scatter: the data's range, within the 0–100 scale and
 * rounded out to a multiple of 5 (never past 0 or 100). Predictions outside it are drawn at its
 * edge, marked as such, rather than stretching the axes past the scale for a few points.
 */
export function scatterDomain(values: Iterable<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!(lo <= hi)) return [0, 100];
  lo = Math.max(0, Math.min(100, Math.floor(lo / 5) * 5));
  hi = Math.min(100, Math.max(0, Math.ceil(hi / 5) * 5));
  // A range narrower than 10 points (all cells nearly equal) would magnify noise; widen it.
  if (hi - lo < 10) {
    const mid = (lo + hi) / 2;
    lo = Math.max(0, Math.min(90, Math.round(mid - 5)));
    hi = lo + 10;
  }
  return [lo, hi];
}

/** Text of the heatmap: the legend title and the completion method, for the title's subtitle. */
export interface HeatmapText {
  /** Colour legend title, one string per line (see `describeScales`). */
  legendTitle: string[];
  /** What the colour is, as a short phrase for the subtitle. */
  colourPhrase: string;
  /** The method that predicted the missing cells. */
  method: string;
}

/**
 * (1) The score matrix: models as rows ordered by mean score, tasks as columns, colour = score on
 * the 0–100 scale; predicted cells carry a dot so they are told apart from observed ones without
 * giving up the colour scale. Labels are never truncated (`labelLimit: 0`): benchmark names often
 * differ only at their end, e.g. "NaturalQuestions(0-shot)" and "NaturalQuestions(5-shot)".
 */
export function heatmapSpec(d: MatrixData, text: HeatmapText = { legendTitle: ['Score (0–100)'], colourPhrase: 'score on 0–100', method: 'the completion' }): TopLevelSpec {
  const cellW = d.taskOrder.length <= 32 ? 26 : d.taskOrder.length <= 48 ? 20 : 16;
  const cellH = d.modelOrder.length <= 80 ? 12 : 8;
  const x = { field: 'task', type: 'nominal', sort: d.taskOrder, axis: { orient: 'top', labelAngle: -50, labelLimit: 0, title: null } } as const;
  const y = { field: 'model', type: 'nominal', sort: d.modelOrder, axis: { labelLimit: 0, labelFontSize: cellH >= 12 ? 10 : 8, title: null } } as const;
  // The description becomes each cell's aria-label and <title>: the hover text.
  const description = { field: 'label', type: 'nominal' };
  const layers: object[] = [
    {
      mark: { type: 'rect' },
      encoding: {
        x,
        y,
        description,
        color: {
          field: 'score',
          type: 'quantitative',
          // Clamped: a prediction a little outside 0–100 takes the end colour instead of none.
          scale: { domain: [0, 100], scheme: 'viridis', clamp: true },
          legend: { title: text.legendTitle, orient: 'right', gradientLength: Math.min(240, Math.max(120, d.modelOrder.length * cellH)) },
        },
      },
    },
  ];
  if (d.predicted > 0) {
    layers.push({
      transform: [{ filter: "datum.kind === 'predicted'" }],
      mark: { type: 'point', filled: true, size: cellH >= 12 ? 22 : 10, fill: 'white', stroke: '#222', strokeWidth: 0.6, opacity: 1 },
      encoding: {
        x,
        y,
        description,
        shape: {
          field: 'kind',
          type: 'nominal',
          scale: { domain: ['predicted'], range: ['circle'] },
          // The legend's symbol drawn like the dots themselves.
          legend: { title: 'Cell', labelExpr: JSON.stringify(`predicted by ${text.method}`),
            symbolSize: 40,
            encode: { symbols: { update: { fill: { value: 'white' }, stroke: { value: '#222' }, strokeWidth: { value: 0.8 } } } },
          },
        },
      },
    });
  }
  return {
    config: CHART_CONFIG,
    title: title('Which models are strong on which tasks?', [
      `Rows: models, best mean score first. Columns: tasks. Colour: ${text.colourPhrase}.`,
      d.predicted > 0 ? `A dot marks a cell missing from the data, predicted by ${text.method}. Hover a cell for its values.` : 'Every cell shown is observed. Hover a cell for its values.',
    ]),
    description: 'Score matrix heatmap: models by tasks, observed and predicted cells',
    data: { values: d.cells.map((c) => ({ model: c.model, task: c.task, score: c.score, kind: c.kind, label: c.label })) },
    width: d.taskOrder.length * cellW,
    height: d.modelOrder.length * cellH,
    layer: layers,
  } as TopLevelSpec;
}

/** Units of the charts of held-out errors (see `describeScales`). */
export interface ErrorText {
  /** What scores are in, e.g. `%`. */
  scoreUnit: string;
  /** What errors are in, e.g. `percentage points`. */
  errorUnit: string;
}

const DEFAULT_UNITS: ErrorText = { scoreUnit: '0–100', errorUnit: '0–100 points' };

/**
 * (2) Predicted against actual held-out scores, one panel per method, with the y = x line. Both
 * axes span the data's range within the 0–100 scale (see {@link scatterDomain}), not a padded
 * "nice" range; predictions beyond it are drawn as triangles at the edge.
 */
export function scatterSpec(rows: readonly HeldOutRow[], methods: readonly string[], units: ErrorText = DEFAULT_UNITS): TopLevelSpec {
  const dom = scatterDomain(rows.flatMap((r) => [r.truth, r.prediction]));
  const n = rows.length / Math.max(1, methods.length);
  const values = rows.map((r) => ({
    method: r.method,
    truth: r.truth,
    prediction: r.prediction,
    off: r.prediction > dom[1] ? 'above' : r.prediction < dom[0] ? 'below' : '',
    label: `${r.model}; ${r.task}; actual ${r.truth.toFixed(1)}, predicted ${r.prediction.toFixed(1)} (${r.method})`,
  }));
  const offScale = values.some((v) => v.off !== '');
  const axis = (field: string, name: string) => ({ field, type: 'quantitative', scale: { domain: dom, nice: false, zero: false, clamp: true }, title: `${name} (${units.scoreUnit})` });
  const x = axis('truth', 'Actual');
  const y = axis('prediction', 'Predicted');
  const color = { field: 'method', type: 'nominal', scale: methodScale(methods), legend: null };
  const description = { field: 'label', type: 'nominal' };
  const layers: object[] = [
    {
      // One row per panel: a rule without a field would be drawn once per data row.
      transform: [{ aggregate: [{ op: 'count', as: 'cells' }] }],
      mark: { type: 'rule', color: '#888', strokeDash: [4, 4] },
      encoding: { x: { datum: dom[0] }, y: { datum: dom[0] }, x2: { datum: dom[1] }, y2: { datum: dom[1] } },
    },
    {
      transform: [{ filter: "datum.off === ''" }],
      mark: { type: 'circle', size: n > 1500 ? 8 : 18, opacity: n > 1500 ? 0.35 : 0.6 },
      encoding: { x, y, color, description },
    },
  ];
  if (offScale) {
    layers.push({
      transform: [{ filter: "datum.off !== ''" }],
      mark: { type: 'point', filled: true, size: 30, opacity: 0.8 },
      encoding: { x, y, color, description, shape: { field: 'off', type: 'nominal', scale: { domain: ['above', 'below'], range: ['triangle-up', 'triangle-down'] }, legend: null } },
    });
  }
  return {
    config: CHART_CONFIG,
    title: title('How close are the predictions of hidden scores to the truth?', [
      `Each point is one held-out cell: its observed score (x) and the score the method predicted without seeing it (y), in ${units.scoreUnit}.`,
      `Dashed: exact prediction.${offScale ? ' Triangles: predictions beyond the axis, drawn at its edge.' : ''} Hover a point for its values.`,
    ]),
    description: 'Predicted vs actual held-out scores per method',
    data: { values },
    facet: { field: 'method', type: 'nominal', sort: [...methods], title: null },
    columns: columns(methods.length),
    spec: { width: 230, height: 230, layer: layers },
    resolve: { scale: { x: 'shared', y: 'shared' } },
  } as TopLevelSpec;
}

/** (3) Histogram of absolute held-out errors per method, with the mean (MAE) as a dashed rule. */
export function errorHistogramSpec(rows: readonly HeldOutRow[], methods: readonly string[], units: ErrorText = DEFAULT_UNITS): TopLevelSpec {
  let max = 0;
  for (const r of rows) if (r.error > max) max = r.error;
  const extent = [0, Math.max(1, Math.ceil(max))];
  return {
    config: CHART_CONFIG,
    title: title('How large are the errors, typically and at worst?', `Held-out cells per bin of absolute error (|predicted − actual|, in ${units.errorUnit}); dashed line: the mean (MAE).`),
    description: 'Distribution of absolute held-out errors per method',
    data: { values: rows.map((r) => ({ method: r.method, error: r.error })) },
    facet: { field: 'method', type: 'nominal', sort: [...methods], title: null },
    columns: columns(methods.length),
    spec: {
      width: 230,
      height: 150,
      layer: [
        {
          transform: [
            { bin: { maxbins: 30, extent }, field: 'error', as: ['lo', 'hi'] },
            { aggregate: [{ op: 'count', as: 'cells' }], groupby: ['method', 'lo', 'hi'] },
            { calculate: "datum.method + '; error ' + format(datum.lo, '.3~g') + '–' + format(datum.hi, '.3~g') + ': ' + datum.cells + ' held-out cells'", as: 'label' },
          ],
          mark: { type: 'bar', binSpacing: 0.5 },
          encoding: {
            x: { field: 'lo', type: 'quantitative', bin: { binned: true }, title: `Absolute error (${units.errorUnit})` },
            x2: { field: 'hi' },
            y: { field: 'cells', type: 'quantitative', title: 'Held-out cells' },
            color: { field: 'method', type: 'nominal', scale: methodScale(methods), legend: null },
            description: { field: 'label', type: 'nominal' },
          },
        },
        {
          mark: { type: 'rule', color: '#222', strokeDash: [4, 3], strokeWidth: 1.5 },
          encoding: { x: { field: 'error', aggregate: 'mean', type: 'quantitative' } },
        },
      ],
    },
    resolve: { scale: { x: 'shared', y: 'shared' } },
  } as TopLevelSpec;
}

/** The y label of a task in the per-task chart: its name and the held-out cells under each bar. */
export function taskLabel(task: string, n: { min: number; max: number } | undefined): string {
  if (!n) return task;
  return `${task} (n=${n.min === n.max ? n.min : `${n.min}–${n.max}`})`;
}

/**
 * (4) Mean absolute error per task and method (grouped horizontal bars, hardest task first); each
 * task's label says how many held-out cells its bars average over, since a bar resting on three
 * cells says little.
 */
export function perTaskErrorSpec(rows: readonly HeldOutRow[], methods: readonly string[], taskOrder: readonly string[], units: ErrorText = DEFAULT_UNITS): TopLevelSpec {
  // The step is per bar (the offset band); thinner bars with many methods, so that all methods on
  // 50+ tasks stay a scrollable height.
  const bar = methods.length > 4 ? 4 : 7;
  const n = cellsPerTask(rows);
  const labels = new Map(taskOrder.map((t) => [t, taskLabel(t, n.get(t))]));
  return {
    config: CHART_CONFIG,
    title: title('On which tasks are the predictions worst?', [
      `Mean absolute error of each method on each task's held-out cells, in ${units.errorUnit}; hardest task first.`,
      'n: held-out cells each bar averages over (all seeds pooled). Few cells make a bar uncertain.',
    ]),
    description: 'Mean absolute error per task and method',
    data: { values: rows.map((r) => ({ method: r.method, task: labels.get(r.task) ?? r.task, error: r.error })) },
    transform: [
      { aggregate: [{ op: 'mean', field: 'error', as: 'mae' }, { op: 'count', as: 'cells' }], groupby: ['task', 'method'] },
      { calculate: "datum.task + '; ' + datum.method + ': MAE ' + format(datum.mae, '.2f') + ' over ' + datum.cells + ' held-out cells'", as: 'label' },
    ],
    width: 420,
    height: { step: bar, for: 'offset' },
    mark: { type: 'bar' },
    encoding: {
      y: { field: 'task', type: 'nominal', sort: taskOrder.map((t) => labels.get(t)!), title: null, axis: { labelLimit: 0 } },
      yOffset: { field: 'method', type: 'nominal', sort: [...methods] },
      x: { field: 'mae', type: 'quantitative', title: `MAE (${units.errorUnit})` },
      description: { field: 'label', type: 'nominal' },
      color: { field: 'method', type: 'nominal', scale: methodScale(methods, [...new Set(rows.map((r) => r.method))]), legend: { title: 'Method', orient: 'top' } },
    },
  } as TopLevelSpec;
}

/**
 * (5) Interval coverage against nominal level (with the ideal y = x), beside the mean interval
 * width: a method is good when it sits on the line with narrow intervals. The legend lists only
 * the methods with coverage points (often just the one that filled the matrix).
 */
export function coverageSpec(points: readonly CoveragePoint[], methods: readonly string[], units: Pick<ErrorText, 'errorUnit'> = DEFAULT_UNITS): TopLevelSpec {
  const levels = points.map((p) => p.level);
  const lo = Math.min(...levels, ...points.map((p) => p.coverage));
  const hi = Math.max(...levels, ...points.map((p) => p.coverage));
  const dom = [Math.max(0, Math.floor(lo * 20) / 20), Math.min(1, Math.ceil(hi * 20) / 20)];
  const values = points.map((p) => ({
    method: p.method,
    level: p.level,
    coverage: p.coverage,
    width: p.width,
    label: `${p.method}; ${(100 * p.level).toFixed(0)}% intervals; contain ${(100 * p.coverage).toFixed(1)}% of held-out scores; mean width ${p.width.toFixed(1)}`,
  }));
  const shown = [...new Set(points.map((p) => p.method))];
  const color = { field: 'method', type: 'nominal', scale: methodScale(methods, shown), legend: { title: 'Method', orient: 'top' } };
  // Both axes on one domain (no zero) so that the ideal line is the diagonal of the square plot.
  const x = { field: 'level', type: 'quantitative', scale: { domain: dom, zero: false, nice: false }, axis: { format: '.0%' }, title: 'Nominal level' };
  const y = { field: 'coverage', type: 'quantitative', scale: { domain: dom, zero: false, nice: false }, axis: { format: '.0%' }, title: 'Empirical coverage' };
  const description = { field: 'label', type: 'nominal' };
  return {
    config: CHART_CONFIG,
    title: title('Can the prediction intervals be trusted, and how wide are they?', [
      'Left: share of held-out scores inside the interval, against the level it was built for (dashed: ideal; below it, intervals are too narrow).',
      `Right: mean interval width in ${units.errorUnit}. Good intervals sit on the line and are narrow.`,
    ]),
    description: 'Prediction interval coverage and width by nominal level',
    hconcat: [
      {
        width: 280,
        height: 280,
        layer: [
          {
            data: { values: [{ level: dom[0], coverage: dom[0] }, { level: dom[1], coverage: dom[1] }] },
            mark: { type: 'line', color: '#888', strokeDash: [4, 4], clip: true },
            encoding: { x, y },
          },
          {
            data: { values },
            mark: { type: 'line', point: true },
            encoding: { x, y, color, description },
          },
        ],
      },
      {
        width: 280,
        height: 280,
        data: { values },
        mark: { type: 'line', point: true },
        encoding: { x: { ...x, scale: { domain: [dom[0], dom[1]] as number[], zero: false, nice: false } }, y: { field: 'width', type: 'quantitative', title: `Mean width (${units.errorUnit})`, scale: { zero: true } }, color, description },
      },
    ],
    resolve: { scale: { color: 'shared' } },
  } as TopLevelSpec;
}
/**
 * (6) Error on the remaining benchmarks against the number of probes, advisor vs random choice,
 * with a ±1 standard deviation band over seeds where one is given.
 */
export function adviceSpec(points: readonly AdviceCurvePoint[], units: Pick<ErrorText, 'errorUnit'> = DEFAULT_UNITS): TopLevelSpec {
  const sorted = [...points].sort((a, b) => a.probes - b.probes);
  const values = sorted.flatMap((p) => [
    { probes: p.probes, strategy: 'advisor', error: p.advisor, std: p.advisorStd },
    { probes: p.probes, strategy: 'random', error: p.random, std: p.randomStd },
  ]);
  const bands = values
    .filter((v) => typeof v.std === 'number' && Number.isFinite(v.std))
    .map((v) => ({ probes: v.probes, strategy: v.strategy, lo: Math.max(0, v.error - v.std!), hi: v.error + v.std! }));
  const strategies = { domain: ['advisor', 'random'], range: ['#4c78a8', '#e45756'] };
  const x = { field: 'probes', type: 'quantitative', title: 'Benchmarks revealed (probes)', axis: { tickMinStep: 1, format: 'd' } };
  // Colour and dash on the same field with the same title merge into one legend of line samples.
  const legend = { title: 'Probes chosen by', orient: 'top', symbolType: 'stroke', symbolStrokeWidth: 2, symbolOpacity: 1 };
  const layers: object[] = [];
  if (bands.length > 0) {
    layers.push({
      data: { values: bands },
      mark: { type: 'area', opacity: 0.15 },
      // The same legend as the lines' (a null one here would switch the merged legend off).
      encoding: { x, y: { field: 'lo', type: 'quantitative', title: `MAE (${units.errorUnit})` }, y2: { field: 'hi' }, color: { field: 'strategy', type: 'nominal', scale: strategies, legend } },
    });
  }
  layers.push({
    data: {
      values: values.map(({ probes, strategy, error, std }) => ({
        probes,
        strategy,
        error,
        label: `${probes} ${probes === 1 ? 'benchmark' : 'benchmarks'} revealed, chosen ${strategy === 'advisor' ? 'by the advisor' : 'at random'}; MAE ${error.toFixed(2)}${typeof std === 'number' && Number.isFinite(std) ? ` ± ${std.toFixed(2)}` : ''}`,
      })),
    },
    mark: { type: 'line', point: true },
    encoding: {
      x,
      y: { field: 'error', type: 'quantitative', title: `MAE (${units.errorUnit})`, scale: { zero: true } },
      color: { field: 'strategy', type: 'nominal', scale: strategies, legend },
      strokeDash: { field: 'strategy', type: 'nominal', scale: { domain: ['advisor', 'random'], range: [[1, 0], [5, 3]] }, legend },
      description: { field: 'label', type: 'nominal' },
    },
  });
  return {
    config: CHART_CONFIG,
    title: title('Does choosing the next benchmark with the advisor beat picking at random?', [
      'Mean absolute error on the benchmarks not yet run, after revealing this many of a held-out model, chosen by the advisor or at random.',
      `Lower is better${bands.length > 0 ? '; shaded: ±1 standard deviation over seeds' : ''}.`,
    ]),
    description: 'Error on remaining benchmarks vs number of probes, advisor vs random',
    width: 420,
    height: 260,
    layer: layers,
  } as TopLevelSpec;
}
