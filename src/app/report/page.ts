/**
 * The HTML page around the charts: one file with inline CSS, the charts as inline SVG and a small
 * inline script for PNG/SVG download. Nothing refers to another file or to the network, so the
 * report opens the same from a mail attachment, an archive or an air-gapped machine.
 */

/** Escapes text for HTML element content and double-quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** One chart of the page, already rendered. */
export interface RenderedChart {
  /** Element id, also the download file name's stem. */
  id: string;
  svg: string;
  caption: string;
}

/** A section: a heading, a paragraph, then a chart, or a note when its data was not computed. */
export interface PageSection {
  id: string;
  heading: string;
  /** HTML (already escaped by the caller). */
  intro: string;
  chart?: RenderedChart;
  /** HTML shown instead of a chart (a section may also have neither, e.g. a table only). */
  absent?: string;
  /** Extra HTML after the chart (e.g. a table). */
  extra?: string;
}

/** The page as a whole. */
export interface Page {
  title: string;
  /** HTML lines under the title. */
  meta: string[];
  sections: PageSection[];
  /** Stem for download names, e.g. the dataset name. */
  fileStem: string;
}

const CSS = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #f6f7f9; color: #1d2330; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Helvetica, Arial, sans-serif; }
main { max-width: 1240px; margin: 0 auto; padding: 24px 28px 48px; }
header h1 { margin: 0 0 6px; font-size: 26px; }
header p { margin: 2px 0; color: #4a5366; }
nav { margin: 14px 0 4px; font-size: 14px; }
nav a { color: #2f5d9b; margin-right: 14px; text-decoration: none; }
section { background: #fff; border: 1px solid #e1e4ea; border-radius: 8px; padding: 18px 22px; margin: 18px 0; }
section h2 { margin: 0 0 6px; font-size: 19px; }
section > p { margin: 4px 0 12px; color: #3a4252; max-width: 900px; }
figure.chart { margin: 0; }
.chart-body { overflow-x: auto; }
.chart-body svg { display: block; max-width: none; }
figcaption { font-size: 13px; color: #5a6375; margin-top: 6px; }
.export { margin-top: 8px; }
.export button { font: inherit; font-size: 13px; padding: 3px 10px; margin-right: 6px; border: 1px solid #c5cad4; border-radius: 4px; background: #f3f5f8; color: #1d2330; cursor: pointer; }
.export button:hover { background: #e6eaf0; }
p.absent { font-style: italic; color: #6b7385; }
table.metrics { border-collapse: collapse; font-size: 14px; margin: 4px 0 8px; }
table.metrics th, table.metrics td { padding: 4px 12px; border-bottom: 1px solid #e6e8ee; text-align: right; white-space: nowrap; }
table.metrics th:first-child, table.metrics td:first-child { text-align: left; }
table.metrics thead th { border-bottom: 2px solid #c9ced8; font-weight: 600; }
.note { font-size: 13px; color: #5a6375; }
.tip { position: absolute; display: none; pointer-events: none; z-index: 10; max-width: 420px; padding: 4px 8px; border-radius: 4px; background: rgba(29, 35, 48, 0.92); color: #fff; font-size: 12px; line-height: 1.4; white-space: pre-line; }
@media print { body { background: #fff; } .export, nav { display: none; } section { break-inside: avoid; border: none; } }
`;

/**
 * Hover text and download buttons. The PNG is the chart's own SVG drawn onto a canvas at twice its size, which
 * every browser can do offline; `window.collabperfChartPng(id, scale)` exposes the same for tests
 * and for users who script the page.
 */
const SCRIPT = `
(function () {
  'use strict';
  function svgOf(id) {
    var f = document.getElementById(id);
    return f ? f.querySelector('.chart-body > svg') : null;
  }
  function svgText(svg) { return new XMLSerializer().serializeToString(svg); }
  function png(id, scale) {
    var svg = svgOf(id);
    if (!svg) return Promise.reject(new Error('no chart with id ' + id));
    var k = scale || 2;
    var w = svg.width.baseVal.value, h = svg.height.baseVal.value;
    return new Promise(function (resolve, reject) {
      var img = new Image();
      img.onload = function () {
        var c = document.createElement('canvas');
        c.width = Math.ceil(w * k);
        c.height = Math.ceil(h * k);
        var g = c.getContext('2d');
        g.fillStyle = '#ffffff';
        g.fillRect(0, 0, c.width, c.height);
        g.drawImage(img, 0, 0, c.width, c.height);
        resolve(c.toDataURL('image/png'));
      };
      img.onerror = function () { reject(new Error('cannot rasterise chart ' + id)); };
      img.src = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(svgText(svg));
    });
  }
  function save(href, name) {
    var a = document.createElement('a');
    a.href = href;
    a.download = name;
    document.body.appendChild(a);
    a.click();
    a.remove();
  }
  window.collabperfChartPng = png;
  // Hover text: every data mark carries its values in aria-label (written by vega for screen
  // readers); showing it on hover makes the static SVG readable cell by cell.
  var tip = document.createElement('div');
  tip.className = 'tip';
  tip.setAttribute('role', 'tooltip');
  document.body.appendChild(tip);
  document.addEventListener('mouseover', function (e) {
    var el = e.target && e.target.closest ? e.target.closest('.chart-body [role="graphics-symbol"][aria-label]') : null;
    if (!el) { tip.style.display = 'none'; return; }
    tip.textContent = el.getAttribute('aria-label').split('; ').join('\\n');
    tip.style.display = 'block';
  });
  document.addEventListener('mousemove', function (e) {
    if (tip.style.display !== 'block') return;
    tip.style.left = (e.pageX + 14) + 'px';
    tip.style.top = (e.pageY + 14) + 'px';
  });
  document.addEventListener('click', function (e) {
    var b = e.target && e.target.closest ? e.target.closest('button[data-export]') : null;
    if (!b) return;
    var id = b.getAttribute('data-target');
    var name = b.getAttribute('data-name') || id;
    if (b.getAttribute('data-export') === 'svg') {
      var svg = svgOf(id);
      if (!svg) return;
      var url = URL.createObjectURL(new Blob([svgText(svg)], { type: 'image/svg+xml' }));
      save(url, name + '.svg');
      setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
    } else {
      png(id, 2).then(function (u) { save(u, name + '.png'); }, function (err) { b.textContent = 'PNG failed'; console.warn(String(err)); });
    }
  });
})();
`;

/** A file-name-safe version of `s`. */
function stem(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'chart';
}

function figure(c: RenderedChart, fileStem: string): string {
  const name = escapeHtml(`${stem(fileStem)}-${stem(c.id.replace(/^chart-/, ''))}`);
  const id = escapeHtml(c.id);
  return `<figure class="chart" id="${id}">
<div class="chart-body">${c.svg}</div>
<figcaption>${c.caption}</figcaption>
<div class="export"><button type="button" data-export="png" data-target="${id}" data-name="${name}">Download PNG</button><button type="button" data-export="svg" data-target="${id}" data-name="${name}">Download SVG</button></div>
</figure>`;
}

/** The whole HTML document. */
export function renderPage(page: Page): string {
  const nav = page.sections.map((s) => `<a href="#${escapeHtml(s.id)}">${escapeHtml(s.heading)}</a>`).join('');
  const sections = page.sections
    .map((s) => {
      const body = s.chart ? figure(s.chart, page.fileStem) : s.absent !== undefined ? `<p class="absent">${s.absent}</p>` : '';
      return `<section id="${escapeHtml(s.id)}">
<h2>${escapeHtml(s.heading)}</h2>
${s.intro ? `<p>${s.intro}</p>\n` : ''}${body}${s.extra ? `\n${s.extra}` : ''}
</section>`;
    })
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="collabperf">
<title>${escapeHtml(page.title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<header>
<h1>${escapeHtml(page.title)}</h1>
${page.meta.map((m) => `<p>${m}</p>`).join('\n')}
<nav>${nav}</nav>
</header>
${sections}
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
