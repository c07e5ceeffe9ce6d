/**
 * vega-lite spec → static SVG string, in Node, with no browser, canvas or network: the spec is
 * compiled to vega, run in a headless view (`renderer: 'none'`) and serialised by vega's SVG string
 * renderer. Text is measured with Helvetica's character widths (see {@link textWidth}) instead of
 * vega's canvas-less estimate, which overstates widths by a third and so left wide margins.
 */
import type { TopLevelSpec } from 'vega-lite';

/** The logger interface vega and vega-lite accept; warnings are forwarded, the rest dropped. */
interface Logger {
  level(_: number): Logger;
  level(): number;
  error(...args: readonly unknown[]): Logger;
  warn(...args: readonly unknown[]): Logger;
  info(...args: readonly unknown[]): Logger;
  debug(...args: readonly unknown[]): Logger;
}

function logger(onWarning: (message: string) => void): Logger {
  let lvl = 2; // vega's Warn
  const self: Logger = {
    level: ((l?: number) => {
      if (l === undefined) return lvl;
      lvl = l;
      return self;
    }) as Logger['level'],
    error: (...a) => (onWarning(a.map(String).join(' ')), self),
    warn: (...a) => (onWarning(a.map(String).join(' ')), self),
    info: () => self,
    debug: () => self,
  };
  return self;
}

/**
 * Advance widths of Helvetica (Adobe AFM, 1/1000 em) for ASCII 32–126. Arial and Liberation Sans,
 * what "Helvetica, Arial, sans-serif" resolves to on most systems, share these metrics.
 */
const HELVETICA = [
  278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
  1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
  333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];

/**
 * Width in pixels of `text` at `fontSize` in Helvetica (bold when `bold`). Characters outside
 * ASCII count as wide (0.6 em; CJK and other full-width ones 1 em), and a 4% margin is added: a
 * label a little too wide for its box would be clipped at the SVG's edge, a little extra room is
 * harmless.
 */
export function textWidth(text: string, fontSize: number, bold = false): number {
  let w = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    w += c >= 32 && c <= 126 ? HELVETICA[c - 32] : c >= 0x1100 ? 1000 : 600;
  }
  return (w / 1000) * fontSize * (bold ? 1.1 : 1) * 1.04;
}

interface TextItem {
  text?: unknown;
  fontSize?: number;
  fontWeight?: string | number;
}

/** Replaces vega's text measurement (process-wide, once): the same widths with or without a canvas. */
function useHelveticaMetrics(metrics: { width: (item: TextItem, text?: unknown) => number }): void {
  metrics.width = (item, text) => {
    const t = text ?? item.text;
    const s = t == null ? '' : String(t).trim();
    const size = item.fontSize != null ? +item.fontSize || 0 : 11;
    const bold = item.fontWeight === 'bold' || (typeof item.fontWeight === 'number' && item.fontWeight >= 600);
    return size <= 0 || s === '' ? 0 : textWidth(s, size, bold);
  };
}

/**
 * Gives every data mark (an element vega labels `role="graphics-symbol"` with an `aria-label`) a
 * `<title>` child with the same text, so that the SVG shows each mark's values on hover in any
 * browser or viewer, inside the page or downloaded, with scripts or without. Axes, legends and
 * titles are left alone.
 */
export function addMarkTitles(svg: string): string {
  return svg.replace(/<(path|circle|rect|line|text)(\s[^>]*?)(\/?)>/g, (tag, name: string, attrs: string, selfClosing: string) => {
    if (!/\srole="graphics-symbol"/.test(attrs)) return tag;
    const role = /\saria-roledescription="([^"]*)"/.exec(attrs)?.[1] ?? '';
    if (role === 'axis' || role === 'legend' || role === 'title' || role.endsWith('container')) return tag;
    const label = /\saria-label="([^"]*)"/.exec(attrs)?.[1];
    if (label === undefined) return tag;
    // The attribute is already escaped for XML, which is also valid element content.
    const title = `<title>${label.split('; ').join('\n')}</title>`;
    return selfClosing ? `<${name}${attrs}>${title}</${name}>` : `${tag}${title}`;
  });
}

/** Options of {@link renderSvg}. */
export interface RenderOptions {
  /** Receives vega-lite and vega warnings (default: dropped). */
  onWarning?: (message: string) => void;
  /**
   * Prefix for the ids inside the SVG (gradients, clip paths); default `"chart"`. Charts inlined in
   * one page need distinct prefixes, since ids are global to an HTML document.
   */
  idPrefix?: string;
}

/**
 * Renames every `id` of an SVG string to `<prefix>-1`, `<prefix>-2`… in order of appearance and
 * updates the `url(#…)` and `href="#…"` references. vega numbers gradients and clip paths with
 * process-wide counters, so without this the same chart would come out with different ids on
 * every call (reports would not be reproducible) and two inlined charts could share an id.
 * Only tags are rewritten, never text, so a label that happens to read `id="…"` is kept.
 */
export function scopeSvgIds(svg: string, prefix: string): string {
  const map = new Map<string, string>();
  for (const tag of svg.matchAll(/<[A-Za-z][^>]*>/g)) {
    for (const m of tag[0].matchAll(/\sid="([^"]+)"/g)) if (!map.has(m[1])) map.set(m[1], `${prefix}-${map.size + 1}`);
  }
  if (map.size === 0) return svg;
  const sub = (all: string, head: string, id: string, tail: string) => (map.has(id) ? `${head}${map.get(id)}${tail}` : all);
  return svg.replace(/<[A-Za-z][^>]*>/g, (tag) =>
    tag
      .replace(/(\sid=")([^"]+)(")/g, sub)
      .replace(/(url\(#)([^)"]+)(\))/g, sub)
      .replace(/(href="#)([^"]+)(")/g, sub),
  );
}

let metricsSet = false;

/**
 * Renders a vega-lite spec to an SVG string (ids scoped by {@link scopeSvgIds}, a `<title>` on
 * every data mark by {@link addMarkTitles}). vega and
 * vega-lite are loaded on first use so that importing collabperf (e.g. for `predict`) does not pay
 * for them.
 */
export async function renderSvg(spec: TopLevelSpec, options: RenderOptions = {}): Promise<string> {
  const [vega, vl] = await Promise.all([import('vega'), import('vega-lite')]);
  if (!metricsSet) {
    useHelveticaMetrics((vega as unknown as { textMetrics: Parameters<typeof useHelveticaMetrics>[0] }).textMetrics);
    metricsSet = true;
  }
  const log = logger(options.onWarning ?? (() => {}));
  const compiled = vl.compile(spec, { logger: log }).spec;
  // Without a loader that refuses everything, a spec naming a URL would make vega fetch it; the
  // report must never touch the network, so any load is an error.
  const loader = vega.loader();
  loader.load = async (uri: string) => {
    throw new Error(`the report's charts must not load data (tried "${uri}")`);
  };
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logger: log, loader });
  try {
    return addMarkTitles(scopeSvgIds(await view.toSVG(), options.idPrefix ?? 'chart'));
  } finally {
    view.finalize();
  }
}
