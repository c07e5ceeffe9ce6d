/**
 * vega-lite spec → static SVG string, in Node, with no browser, canvas or network: the spec is
 * compiled to vega, run in a headless view (`renderer: 'none'`) and serialised by vega's SVG string
 * renderer. Text widths are estimated without a canvas, which is enough for layout.
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

/**
 * Renders a vega-lite spec to an SVG string (ids scoped by {@link scopeSvgIds}). vega and
 * vega-lite are loaded on first use so that importing collabperf (e.g. for `predict`) does not pay
 * for them.
 */
export async function renderSvg(spec: TopLevelSpec, options: RenderOptions = {}): Promise<string> {
  const [vega, vl] = await Promise.all([import('vega'), import('vega-lite')]);
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
    return scopeSvgIds(await view.toSVG(), options.idPrefix ?? 'chart');
  } finally {
    view.finalize();
  }
}
