import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { projectPath } from '../core/paths.js';
import type { ReportData } from './collect.js';
import { renderLabelQuality } from './quality.js';

const require = createRequire(import.meta.url);
const PAGE = pathToFileURL(projectPath('src', 'report', 'page') + '/');

/** The charting runtime, read from node_modules at report time and inlined (docs/report.md: why uPlot). */
async function chartRuntime(): Promise<{ js: string; css: string }> {
  const js = await readFile(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8');
  const css = await readFile(require.resolve('uplot/dist/uPlot.min.css'), 'utf8');
  return { js, css };
}

const escapeHtml = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
/** JSON inside a script element: `<` escaped so no `</script>` in a message can end it. */
const scriptJson = (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
/** Inlined scripts must not contain a closing script tag either. */
const scriptText = (s: string) => s.replace(/<\/script/gi, '<\\/script');

/** One self-contained page: no network, no server, deterministic for the same data. */
export async function renderReport(data: ReportData): Promise<string> {
  const [{ js, css }, app, style] = await Promise.all([
    chartRuntime(),
    readFile(new URL('app.js', PAGE), 'utf8'),
    readFile(new URL('style.css', PAGE), 'utf8'),
  ]);
  const title = `trajpipe report: ${data.name}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(title)}</title>
<style>${css}</style>
<style>${style}</style>
</head>
<body>
<header>
<h1>${escapeHtml(title)}</h1>
<div id="summary" class="muted"></div>
${data.complete ? '' : '<p class="badge">This run is incomplete: the export stage has no manifest.</p>'}
</header>
<nav class="small"><a href="#s-funnel">funnel</a> · <a href="#s-rejects">rejects</a> · <a href="#s-breakdowns">breakdowns</a> · <a href="#s-curves">curves</a> · <a href="#s-teacher">teacher</a> · <a href="#s-quality">label quality</a> · <a href="#s-runs">runs</a></nav>
${data.nightly ? '<section id="s-nightly"><h2>Compared with the previous night</h2><div id="nightly"></div></section>' : ''}
<section id="s-funnel"><h2>Stage funnel</h2>
<div class="row"><table id="funnel"><thead><tr><th>stage</th><th class="num">in</th><th class="num">kept</th><th class="num">kept %</th><th class="num">dropped</th><th class="num">dropped %</th></tr></thead><tbody></tbody></table>
<div id="funnel-chart" class="chart"></div></div></section>
<section id="s-rejects"><h2>Reject reasons</h2><div id="rejects"></div></section>
<section id="s-breakdowns"><h2>Breakdowns (read at ingest, kept after segment)</h2><div id="breakdowns" class="breakdowns"></div></section>
<section id="s-curves"><h2>Curves</h2><div class="row">
<div><h3>curve shapes</h3><div id="shapes-chart" class="chart"></div></div>
<div><h3>peak position (share of the run's steps)</h3><div id="peaks-chart" class="chart"></div></div></div></section>
<section id="s-teacher"><h2>Teacher accounting</h2><div id="teacher"></div></section>
<section id="s-quality"><h2>Label quality</h2><div id="label-quality">${renderLabelQuality(data.label_quality)}</div></section>
<section id="s-runs"><h2>Runs</h2>
<div id="runs-wrap"><div>
<div class="controls">
<select id="f-outcome"><option value="">every outcome</option><option>failed</option><option>resolved</option><option>unknown</option></select>
<select id="f-shape"><option value="">every shape</option></select>
<input id="f-q" type="search" placeholder="run id or task">
<button id="prev">‹ prev</button><span id="page-info" class="small"></span><button id="next">next ›</button>
</div>
<table id="runs"><thead><tr><th>run</th><th>task</th><th>harness</th><th>outcome</th><th>shape</th><th class="num">steps</th><th class="num">trained</th></tr></thead><tbody></tbody></table>
</div>
<div id="detail"></div></div></section>
<script type="application/json" id="report-data">${scriptJson(data)}</script>
<script>${scriptText(js)}</script>
<script>${scriptText(app)}</script>
</body>
</html>
`;
}
