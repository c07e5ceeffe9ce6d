/**
 * A small real report input shared by the report tests: helm-classic (67 models x 16 tasks), two
 * fast methods under cells:0.2 with one seed, the matrix completed by `mean`, and optional
 * coverage / advice sections with made-up but plausible values (the code computing them is built
 * elsewhere; the report only draws what it is given).
 */
import { loadBuiltinDataset } from '../../../src/app/data/builtin.js';
import { evaluate } from '../../../src/app/eval/evaluate.js';
import { completeMatrix } from '../../../src/app/predict.js';
import { getPredictor, parseMethods } from '../../../src/app/predictors/index.js';
import type { AdviceCurvePoint, CoveragePoint, ReportInput } from '../../../src/app/report/index.js';

/** The dataset, evaluation and completion of the fixture (no optional sections). */
export async function helmInput(): Promise<ReportInput> {
  const dataset = loadBuiltinDataset('helm-classic');
  const evaluation = await evaluate(dataset, parseMethods('mean,knn'), { protocol: 'cells:0.2', seeds: 1 });
  const completion = await completeMatrix(dataset, getPredictor('mean'), { seed: 0 });
  return { dataset, evaluation, completion };
}

/** Coverage of the two fixture methods at six levels. */
export function sampleCoverage(): CoveragePoint[] {
  return ['mean', 'knn'].flatMap((method, i) =>
    [0.5, 0.6, 0.7, 0.8, 0.9, 0.95].map((level) => ({ method, level, coverage: Math.min(1, level - 0.03 + 0.02 * i), width: 30 * level + 5 * i })),
  );
}

/**
 * An advice curve from 0 to 5 probes where the advisor beats random choice, with spreads over seeds
 * (NaN at 0 probes, as when nothing varies there).
 */
export function sampleAdvice(): AdviceCurvePoint[] {
  return [0, 1, 2, 3, 4, 5].map((probes) => ({
    probes,
    advisor: 10 / (1 + probes),
    random: 10 / (1 + 0.6 * probes),
    advisorStd: probes === 0 ? NaN : 0.5,
    randomStd: probes === 0 ? NaN : 0.8,
  }));
}

/** The charts of a report: `<figure class="chart" id=...>` elements with their inner HTML. */
export function figures(html: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of html.matchAll(/<figure class="chart" id="([^"]+)">([\s\S]*?)<\/figure>/g)) out.set(m[1], m[2]);
  return out;
}

/** Number of marks of a kind in rendered SVG (vega labels each mark with `aria-roledescription`). */
export function countMarks(svg: string, role: string): number {
  return svg.split(`aria-roledescription="${role}"`).length - 1;
}
