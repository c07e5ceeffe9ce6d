/**
 * The report's charts as declarative vega-lite specs. Each builder only arranges data that
 * `data.ts` prepared; scales, binning and aggregation are left to vega-lite so that every figure is
 * described, not drawn by hand.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { HeldOutRow, MatrixData } from './data.js';
import type { AdviceCurvePoint, CoveragePoint } from './types.js';

/** Shared look: white background (the SVGs are also exported as PNG) and a system font stack. */
export const CHART_CONFIG = {
  background: 'white',
  font: 'Helvetica, Arial, sans-serif',
  view: { stroke: '#d0d0d0' },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', gridColor: '#ececec' },
  legend: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal' },
  header: { labelFontSize: 13, labelFontWeight: 'bold' },
  title: { fontSize: 14, anchor: 'start' },
} as const;

/** Colours of methods, the same in every chart (Tableau 10, cycled when there are more methods). */
const PALETTE = ['#4c78a8', '#f58518', '#e45756', '#72b7b2', '#54a24b', '#eeca3b', '#b279a2', '#ff9da6', '#9d755d', '#bab0ac'];

/** A colour scale that gives each method the same colour everywhere. */
export function methodScale(methods: readonly string[]): { domain: string[]; range: string[] } {
  return { domain: [...methods], range: methods.map((_, i) => PALETTE[i % PALETTE.length]) };
}

/** Facet columns for `n` small multiples: up to three side by side. */
function columns(n: number): number {
  return Math.min(3, Math.max(1, n));
}

/** A [lo, hi] axis range covering [0, 100] and the values, so off-scale predictions stay visible. */
function span(values: Iterable<number>): [number, number] {
  let lo = 0;
  let hi = 100;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [Math.floor(lo / 10) * 10, Math.ceil(hi / 10) * 10];
}

/**
 * (1) The score matrix: models as rows ordered by mean score, tasks as columns, colour = score on
 * the 0–100 scale; predicted cells carry a dot so they are told apart from observed ones without
 * giving up the colour scale.
 */
export function heatmapSpec(d: MatrixData): TopLevelSpec {
  const cellW = d.taskOrder.length <= 24 ? 26 : 16;
  const cellH = d.modelOrder.length <= 80 ? 12 : 8;
  const x = { field: 'task', type: 'nominal', sort: d.taskOrder, axis: { orient: 'top', labelAngle: -50, labelLimit: 180, title: null } } as const;
  const y = { field: 'model', type: 'nominal', sort: d.modelOrder, axis: { labelLimit: 220, labelFontSize: cellH >= 12 ? 10 : 8, title: null } } as const;
  // The description becomes each cell's aria-label, which the page's script shows on hover.
  const describe = { calculate: "datum.model + '; ' + datum.task + '; ' + format(datum.score, '.1f') + ' (' + datum.kind + ')'", as: 'label' };
  const description = { field: 'label', type: 'nominal' };
  const layers: object[] = [
    {
      transform: [describe],
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
          legend: { title: 'Score (0–100)', orient: 'right', gradientLength: Math.min(240, Math.max(120, d.modelOrder.length * cellH)) },
        },
      },
    },
  ];
  if (d.predicted > 0) {
    layers.push({
      transform: [{ filter: "datum.kind === 'predicted'" }, describe],
      mark: { type: 'point', filled: true, size: cellH >= 12 ? 22 : 10, fill: 'white', stroke: '#222', strokeWidth: 0.6, opacity: 1 },
      encoding: {
        x,
        y,
        description,
        shape: { field: 'kind', type: 'nominal', scale: { domain: ['predicted'], range: ['circle'] }, legend: { title: 'Cell', labelExpr: "'predicted (dot)'" } },
      },
    });
  }
  return {
    config: CHART_CONFIG,
    description: 'Score matrix heatmap: models by tasks, observed and predicted cells',
    data: { values: d.cells },
    width: d.taskOrder.length * cellW,
    height: d.modelOrder.length * cellH,
    layer: layers,
  } as TopLevelSpec;
}

/** (2) Predicted against actual held-out scores, one panel per method, with the y = x line. */
export function scatterSpec(rows: readonly HeldOutRow[], methods: readonly string[]): TopLevelSpec {
  const dom = span(rows.flatMap((r) => [r.truth, r.prediction]));
  const n = rows.length / Math.max(1, methods.length);
  return {
    config: CHART_CONFIG,
    description: 'Predicted vs actual held-out scores per method',
    data: { values: rows.map((r) => ({ method: r.method, model: r.model, task: r.task, truth: r.truth, prediction: r.prediction })) },
    facet: { field: 'method', type: 'nominal', sort: [...methods], title: null },
    columns: columns(methods.length),
    spec: {
      width: 230,
      height: 230,
      layer: [
        {
          // One row per panel: a rule without a field would be drawn once per data row.
          transform: [{ aggregate: [{ op: 'count', as: 'cells' }] }],
          mark: { type: 'rule', color: '#888', strokeDash: [4, 4] },
          encoding: { x: { datum: dom[0] }, y: { datum: dom[0] }, x2: { datum: dom[1] }, y2: { datum: dom[1] } },
        },
        {
          transform: [
            { calculate: "datum.model + '; ' + datum.task + '; actual ' + format(datum.truth, '.1f') + ', predicted ' + format(datum.prediction, '.1f') + ' (' + datum.method + ')'", as: 'label' },
          ],
          mark: { type: 'circle', size: n > 1500 ? 8 : 18, opacity: n > 1500 ? 0.35 : 0.6 },
          encoding: {
            x: { field: 'truth', type: 'quantitative', scale: { domain: dom }, title: 'Actual (0–100)' },
            y: { field: 'prediction', type: 'quantitative', scale: { domain: dom }, title: 'Predicted (0–100)' },
            color: { field: 'method', type: 'nominal', scale: methodScale(methods), legend: null },
            description: { field: 'label', type: 'nominal' },
          },
        },
      ],
    },
    resolve: { scale: { x: 'shared', y: 'shared' } },
  } as TopLevelSpec;
}

/** (3) Histogram of absolute held-out errors per method, with the mean (MAE) as a dashed rule. */
export function errorHistogramSpec(rows: readonly HeldOutRow[], methods: readonly string[]): TopLevelSpec {
  let max = 0;
  for (const r of rows) if (r.error > max) max = r.error;
  const extent = [0, Math.max(1, Math.ceil(max))];
  return {
    config: CHART_CONFIG,
    description: 'Distribution of absolute held-out errors per method',
    data: { values: rows.map((r) => ({ method: r.method, error: r.error })) },
    facet: { field: 'method', type: 'nominal', sort: [...methods], title: null },
    columns: columns(methods.length),
    spec: {
      width: 230,
      height: 150,
      layer: [
        {
          mark: { type: 'bar', binSpacing: 0.5 },
          encoding: {
            x: { field: 'error', type: 'quantitative', bin: { maxbins: 30, extent }, title: 'Absolute error (0–100 points)' },
            y: { aggregate: 'count', type: 'quantitative', title: 'Held-out cells' },
            color: { field: 'method', type: 'nominal', scale: methodScale(methods), legend: null },
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

/** (4) Mean absolute error per task and method (grouped horizontal bars, hardest task first). */
export function perTaskErrorSpec(rows: readonly HeldOutRow[], methods: readonly string[], taskOrder: readonly string[]): TopLevelSpec {
  // The step is per bar (the offset band); thinner bars with many methods, so that all methods on
  // 50+ tasks stay a scrollable height.
  const bar = methods.length > 4 ? 4 : 7;
  return {
    config: CHART_CONFIG,
    description: 'Mean absolute error per task and method',
    data: { values: rows.map((r) => ({ method: r.method, task: r.task, error: r.error })) },
    transform: [
      { aggregate: [{ op: 'mean', field: 'error', as: 'mae' }, { op: 'count', as: 'cells' }], groupby: ['task', 'method'] },
      { calculate: "datum.task + '; ' + datum.method + ': MAE ' + format(datum.mae, '.2f') + ' over ' + datum.cells + ' cells'", as: 'label' },
    ],
    width: 420,
    height: { step: bar, for: 'offset' },
    mark: { type: 'bar' },
    encoding: {
      y: { field: 'task', type: 'nominal', sort: [...taskOrder], title: null, axis: { labelLimit: 300 } },
      yOffset: { field: 'method', type: 'nominal', sort: [...methods] },
      x: { field: 'mae', type: 'quantitative', title: 'MAE (0–100 points)' },
      description: { field: 'label', type: 'nominal' },
      color: { field: 'method', type: 'nominal', scale: methodScale(methods), legend: { title: 'Method', orient: 'top' } },
    },
  } as TopLevelSpec;
}

/**
 * (5) Interval coverage against nominal level (with the ideal y = x), beside the mean interval
 * width: a method is good when it sits on the line with narrow intervals.
 */
export function coverageSpec(points: readonly CoveragePoint[], methods: readonly string[]): TopLevelSpec {
  const levels = points.map((p) => p.level);
  const lo = Math.min(...levels, ...points.map((p) => p.coverage));
  const hi = Math.max(...levels, ...points.map((p) => p.coverage));
  const dom = [Math.max(0, Math.floor(lo * 20) / 20), Math.min(1, Math.ceil(hi * 20) / 20)];
  const values = points.map((p) => ({ method: p.method, level: p.level, coverage: p.coverage, width: p.width }));
  const color = { field: 'method', type: 'nominal', scale: methodScale(methods), legend: { title: 'Method', orient: 'top' } };
  // Both axes on one domain (no zero) so that the ideal line is the diagonal of the square plot.
  const x = { field: 'level', type: 'quantitative', scale: { domain: dom, zero: false }, axis: { format: '.0%' }, title: 'Nominal level' };
  const y = { field: 'coverage', type: 'quantitative', scale: { domain: dom, zero: false }, axis: { format: '.0%' }, title: 'Empirical coverage' };
  return {
    config: CHART_CONFIG,
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
            encoding: { x, y, color },
          },
        ],
      },
      {
        width: 280,
        height: 280,
        data: { values },
        mark: { type: 'line', point: true },
        encoding: { x, y: { field: 'width', type: 'quantitative', title: 'Mean width (0–100 points)', scale: { zero: true } }, color },
      },
    ],
    resolve: { scale: { color: 'shared' } },
  } as TopLevelSpec;
}

/**
 * (6) Error on the remaining benchmarks against the number of probes, advisor vs random choice,
 * with a ±1 standard deviation band over seeds where one is given.
 */
export function adviceSpec(points: readonly AdviceCurvePoint[]): TopLevelSpec {
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
      encoding: { x, y: { field: 'lo', type: 'quantitative', title: 'MAE on the remaining benchmarks (0–100)' }, y2: { field: 'hi' }, color: { field: 'strategy', type: 'nominal', scale: strategies, legend } },
    });
  }
  layers.push({
    data: { values: values.map(({ probes, strategy, error }) => ({ probes, strategy, error })) },
    mark: { type: 'line', point: true },
    encoding: {
      x,
      y: { field: 'error', type: 'quantitative', title: 'MAE on the remaining benchmarks (0–100)', scale: { zero: true } },
      color: { field: 'strategy', type: 'nominal', scale: strategies, legend },
      strokeDash: { field: 'strategy', type: 'nominal', scale: { domain: ['advisor', 'random'], range: [[1, 0], [5, 3]] }, legend },
    },
  });
  return {
    config: CHART_CONFIG,
    description: 'Error on remaining benchmarks vs number of probes, advisor vs random',
    width: 420,
    height: 260,
    layer: layers,
  } as TopLevelSpec;
}
