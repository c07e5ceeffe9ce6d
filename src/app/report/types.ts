/**
 * What {@link buildReport} takes: the dataset, the completed matrix of one method, the evaluation,
 * and the optional sections (interval coverage, advice curve) that other parts of collabperf compute.
 */
import type { Dataset } from '../data/dataset.js';
import type { EvaluationResult } from '../eval/evaluate.js';
import type { Completion } from '../predict.js';

/**
 * One point of the interval-coverage curve: for a method and a nominal level, how often its
 * prediction intervals contained the held-out truth, and how wide they were.
 */
export interface CoveragePoint {
  /** Method name (the same names as the evaluation's methods; others are drawn too). */
  method: string;
  /** Nominal level as a fraction in (0, 1), e.g. 0.9 for 90% intervals. */
  level: number;
  /** Empirical coverage on held-out cells, a fraction in [0, 1]. */
  coverage: number;
  /** Mean interval width (upper − lower) on the 0–100 scale of each task (see `taskScales`). */
  width: number;
}

/**
 * One point of the advice error curve: after revealing `probes` benchmarks of held-out models, the
 * error on their remaining benchmarks when the probes were chosen by the advisor vs at random.
 */
export interface AdviceCurvePoint {
  /** Number of benchmarks revealed, an integer >= 0. */
  probes: number;
  /** Mean absolute error on the 0–100 scale of the remaining benchmarks, probes chosen by the advisor. */
  advisor: number;
  /** The same with probes chosen at random. */
  random: number;
  /** Standard deviation of `advisor` over seeds; drawn as a band when finite (NaN or absent: none). */
  advisorStd?: number;
  /** Standard deviation of `random` over seeds, likewise. */
  randomStd?: number;
}

/** Everything a report shows. */
export interface ReportInput {
  /** The dataset that was completed and evaluated. */
  dataset: Dataset;
  /**
   * The missing cells of `dataset` predicted by one method (from `completeMatrix`); with the observed
   * cells they make the heatmap. Cells not given (e.g. a completion of one model) stay blank.
   */
  completion: Completion;
  /** Held-out predictions of every evaluated method on `dataset` (from `evaluate`). */
  evaluation: EvaluationResult;
  /** Interval coverage by level; without it the report says it was not computed. */
  coverage?: readonly CoveragePoint[];
  /** Advice error vs number of probes; without it the report says it was not computed. */
  advice?: readonly AdviceCurvePoint[];
  /** Page title (default: `collabperf report: <dataset>`). */
  title?: string;
  /** Lines shown under the title, e.g. the command that produced the report. */
  notes?: readonly string[];
  /**
   * Timestamp text shown in the header. Absent by default so that the same input gives the same
   * bytes (reports can then be diffed and cached).
   */
  generatedAt?: string;
}

/** Limits that keep the report readable and small on large tables. */
export interface ReportOptions {
  /**
   * Most model rows in the heatmap (default 150). Beyond it, models evenly spaced in the ranking
   * (best and worst included) are shown, and the caption says so: a 6,800-row heatmap is
   * neither legible nor a reasonable SVG.
   */
  maxHeatmapModels?: number;
  /** Most points per method in the predicted-vs-actual scatter (default 3000; an even subsample beyond). */
  maxScatterPoints?: number;
  /** Receives warnings from vega-lite and vega while charts are compiled and rendered. */
  onWarning?: (message: string) => void;
}
