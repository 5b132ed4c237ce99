// npx tsx bench/report.ts RUN_DIR: how long `trajpipe report` takes on a run folder, how big the page is,
// and (with the system Chromium) how long the page takes to open and to page through its run list.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const runDir = resolve(process.argv[2] ?? join(ROOT, 'bench/out/run'));
const MB = 1024 * 1024;

const started = performance.now();
const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, join(ROOT, 'bin/trajpipe.js'), 'report', runDir], { cwd: ROOT, encoding: 'utf8' });
if (r.status !== 0) throw new Error(`trajpipe report failed:\n${r.stderr}`);
const seconds = (performance.now() - started) / 1000;
const rss = Number(r.stderr.trim().split('\n').pop()) / 1024;
const page = r.stdout.trim();
const bytes = (await stat(page)).size;
const lines = [`report: ${page}`, `  written in ${seconds.toFixed(2)} s (peak RSS ${rss.toFixed(0)} MB), ${(bytes / MB).toFixed(2)} MB`];

const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
if (chromium) {
  const { chromium: pw } = await import('playwright-core');
  const browser = await pw.launch({ executablePath: chromium, args: ['--no-sandbox'] });
  const tab = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const t0 = performance.now();
  await tab.goto(pathToFileURL(page).href);
  await tab.waitForSelector('body[data-ready="true"]');
  const opened = performance.now() - t0;
  const runs = await tab.evaluate(() => (window as any).trajpipeReport && document.querySelectorAll('#runs tbody tr').length);
  const t1 = performance.now();
  for (let i = 0; i < 10; i++) await tab.click('#next');
  const paged = (performance.now() - t1) / 10;
  const heap = await tab.evaluate(() => (performance as any).memory?.usedJSHeapSize ?? 0);
  lines.push(`  opens in Chromium in ${opened.toFixed(0)} ms (${runs} rows on the first page), next page in ${paged.toFixed(0)} ms, JS heap ${(heap / MB).toFixed(0)} MB`);
  await browser.close();
} else {
  lines.push('  (no chromium: page load not measured)');
}
process.stdout.write(lines.join('\n') + '\n');
