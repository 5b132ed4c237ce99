import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { PipelineRecord } from '../../schemas/index.js';
import { readManifests } from '../../src/report/collect.js';
import { STAGE_ORDER } from '../../schemas/index.js';
import { ROOT, runCli, tempDir } from '../helpers/cli.js';
import { findChromium } from './browser.js';
import { recordsOf } from '../helpers/records.js';

const chromium = findChromium();
if (!chromium) console.warn('\n*** SKIPPED: report browser test: no chromium found (apt-get install -y chromium, or set TRAJPIPE_CHROMIUM) ***\n');
/** Kept after the run (test-output/ is git-ignored) so a person can look at the page. */
const OUTPUT = join(ROOT, 'test-output', 'report');

describe.skipIf(!chromium)('the sample run report in headless Chromium', () => {
  let out: string;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    out = await tempDir();
    const run = await runCli(['run', 'pipelines/sample.yaml', '--out', out]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(`report in ${join(out, 'report.html')}`);
    const { chromium: pw } = await import('playwright-core');
    browser = await pw.launch({ executablePath: chromium!, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('request', (r) => {
      if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) problems.push(`network request: ${r.url()}`);
    });
    await page.goto(pathToFileURL(join(out, 'report.html')).href);
    await page.waitForSelector('body[data-ready="true"]');
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('shows the funnel numbers of every stage manifest', async () => {
    const manifests = await readManifests(out);
    expect(manifests.size).toBe(STAGE_ORDER.length); // every stage of the sample build
    for (const [stage, m] of manifests) {
      const cell = (field: string) => page.locator(`#funnel tr.stage-row[data-stage="${stage}"] td[data-field="${field}"]`).innerText();
      expect(await cell('records_in'), `${stage} in`).toBe(m.records_in.toLocaleString('en-US'));
      expect(await cell('records_out'), `${stage} out`).toBe(m.records_out.toLocaleString('en-US'));
      const dropped = Object.values(m.dropped).reduce((a, b) => a + b, 0);
      expect(await cell('dropped'), `${stage} dropped`).toBe(String(dropped));
      const reasons = await page.locator(`#funnel tr.reason-row[data-stage="${stage}"]`).evaluateAll((rows) =>
        Object.fromEntries(rows.map((r) => [(r as HTMLElement).dataset['reason'], Number(r.querySelector('[data-field="count"]')!.textContent)])),
      );
      expect(reasons, `${stage} reasons`).toEqual(m.dropped);
    }
    // The sample drops records at filter and segment: the table is not trivially all zeros.
    expect(Object.keys(manifests.get('filter')!.dropped).length).toBeGreaterThan(0);
  });

  it("marks a run's peak, critical mistake and cut at the steps the segment stage chose", async () => {
    let chosen: PipelineRecord | null = null;
    for (const r of await recordsOf(out, 'segment')) {
      if (r.segment?.critical_step != null && r.segment.peak_step != null && r.segment.peak_step > 0) {
        chosen = r;
        break;
      }
    }
    expect(chosen, 'the sample has a failed run with a peak and a critical mistake').not.toBeNull();
    const seg = chosen!.segment!;
    await page.fill('#f-q', chosen!.id);
    await page.click(`#runs tr[data-run="${chosen!.id}"]`);
    const drawn = await page.evaluate(() => {
      const u = (window as any).trajpipeReport.charts.curve;
      // One readback of the whole canvas (several would make Chromium warn about getImageData).
      const canvas = u.ctx.canvas as HTMLCanvasElement;
      const pixels = u.ctx.getImageData(0, 0, canvas.width, canvas.height).data as Uint8ClampedArray;
      const at = (label: string) => {
        const i = u.series.findIndex((s: { label: string }) => s.label === label);
        const points = (u.data[i] as (number | null)[]).flatMap((v, step) => (v === null ? [] : [step]));
        // The colour the canvas actually has at the centre of the first mark.
        const step = points[0]!;
        const x = Math.round(u.valToPos(step, 'x', true));
        const y = Math.round(u.valToPos(u.data[i][step], 'y', true));
        const o = (y * canvas.width + x) * 4;
        return { points, rgb: [pixels[o], pixels[o + 1], pixels[o + 2]] };
      };
      return { peak: at('peak'), critical: at('critical mistake'), marks: u.trajpipeMarks };
    });
    expect(drawn.peak.points).toEqual([seg.peak_step]);
    expect(drawn.critical.points).toEqual([seg.critical_step]);
    expect(drawn.peak.rgb).toEqual([0x16, 0xa3, 0x4a]);
    expect(drawn.critical.rgb).toEqual([0xdc, 0x26, 0x26]);
    expect(drawn.marks.trainedFirst).toBe(Math.min(...seg.trained_steps));
    expect(drawn.marks.trainedLast).toBe(Math.max(...seg.trained_steps));
    expect(drawn.marks.cut).toBe(Math.max(...seg.trained_steps) + 0.5);
    // The trained turns are highlighted beside the curve, and messages after the cut are marked.
    expect(await page.locator('#detail .msg.trained').count()).toBe(seg.trained_steps.length);
    const cutCount = seg.cut_after == null ? 0 : chosen!.messages.length - 1 - seg.cut_after;
    expect(await page.locator('#detail .msg.cut').count()).toBe(cutCount);

    await mkdir(OUTPUT, { recursive: true });
    await page.fill('#f-q', '');
    await page.screenshot({ path: join(OUTPUT, 'sample-report.png'), fullPage: true });
    await page.locator('#s-runs').screenshot({ path: join(OUTPUT, 'sample-report-run.png') });
  });

  it('shows the teacher accounting and paginates the list', async () => {
    expect(await page.locator('#teacher tr[data-key="labeler"] td').innerText()).toBe('heuristic');
    const rows = await page.locator('#runs tbody tr').count();
    const segment = (await readManifests(out)).get('segment')!;
    expect(rows).toBe(Math.min(50, segment.records_out));
  });

  it('logs no error or warning and requests nothing from the network', () => {
    expect(problems).toEqual([]);
  });
});
