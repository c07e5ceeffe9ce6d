/**
 * The visual report: {@link buildReport} turns a dataset, its completed matrix and an evaluation
 * (plus, when computed, interval coverage and the advice curve) into one self-contained HTML file
 * of vega-lite charts rendered offline to SVG; {@link writeReport} writes it atomically.
 */
export { buildReport, DEFAULT_MAX_HEATMAP_MODELS, DEFAULT_MAX_SCATTER_POINTS } from './build.js';
export { writeReport } from './write.js';
export type { AdviceCurvePoint, CoveragePoint, ReportInput, ReportOptions } from './types.js';
export { adviceSpec, coverageSpec, errorHistogramSpec, heatmapSpec, perTaskErrorSpec, scatterSpec } from './charts.js';
export { heldOutRows, matrixData, type HeldOutRow, type MatrixCell, type MatrixData } from './data.js';
export { renderSvg, scopeSvgIds, type RenderOptions } from './render.js';
