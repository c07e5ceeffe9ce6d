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

/**
 * Renders a vega-lite spec to an SVG string. vega and vega-lite are loaded on first use so that
 * importing collabperf (e.g. for `predict`) does not pay for them.
 */
export async function renderSvg(spec: TopLevelSpec, onWarning: (message: string) => void = () => {}): Promise<string> {
  const [vega, vl] = await Promise.all([import('vega'), import('vega-lite')]);
  const log = logger(onWarning);
  const compiled = vl.compile(spec, { logger: log }).spec;
  // Without a loader that refuses everything, a spec naming a URL would make vega fetch it; the
  // report must never touch the network, so any load is an error.
  const loader = vega.loader();
  loader.load = async (uri: string) => {
    throw new Error(`the report's charts must not load data (tried "${uri}")`);
  };
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logger: log, loader });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
