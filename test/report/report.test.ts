import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ReportData } from '../../src/report/collect.js';
import { readManifests } from '../../src/report/collect.js';
import { makeRun, writeRuns } from '../label/fixtures.js';
import { runCli, tempDir } from '../helpers/cli.js';

const HOSTILE = '</script><script>window.pwned = 1</script>';

function embedded(html: string): ReportData {
  const m = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html);
  if (!m) throw new Error('no report data in the page');
  return JSON.parse(m[1]!) as ReportData;
}

describe('the report page', () => {
  let out: string;
  let html: string;

  beforeAll(async () => {
    const dir = await tempDir();
    const runs = Array.from({ length: 6 }, (_, i) =>
      makeRun({ task: `Fix bug ${i} in the widget module. ${i === 0 ? HOSTILE : ''}`, steps: 6, resolved: i % 2 === 0, observationChars: 5000 }, i),
    );
    const input = await writeRuns(dir, runs);
    out = join(dir, 'out');
    const r = await runCli(['run', '--input', input, '--out', out, '--quiet', '--set', 'report.max_runs_with_messages=2', '--set', 'report.message_chars=800']);
    expect(r.code, r.stderr).toBe(0);
    html = await readFile(join(out, 'report.html'), 'utf8');
  });

  it('is self-contained: the chart runtime is inlined, nothing is loaded from elsewhere', () => {
    expect(html).toContain('uPlot');
    expect(html).not.toMatch(/<script[^>]+src=/);
    expect(html).not.toMatch(/<link[^>]+href=/);
    expect(html).not.toMatch(/(src|href)="https?:/);
  });

  it('embeds every kept run with its curve, messages only for the first max_runs_with_messages, shortened', async () => {
    const data = embedded(html);
    const segment = (await readManifests(out)).get('segment')!;
    expect(data.runs).toHaveLength(segment.records_out);
    expect(data.runs.filter((r) => r.messages !== null)).toHaveLength(2);
    expect(data.runs_without_messages).toBe(segment.records_out - 2);
    const failed = data.runs.filter((r) => r.outcome === 'failed');
    expect(failed.length).toBeGreaterThan(0);
    for (const r of failed) expect(r.values).not.toBeNull();
    const long = data.runs[0]!.messages!.find((m) => m.chars === 5000)!;
    expect(long.text.length).toBeLessThan(900);
    expect(long.text).toContain('characters left out');
  });

  it('cannot be broken out of by a message holding a closing script tag', () => {
    expect(html).not.toContain(HOSTILE);
    expect(embedded(html).runs.some((r) => r.messages?.some((m) => m.text.includes(HOSTILE)))).toBe(true);
  });

  it('is deterministic: written again from the same folder, byte for byte the same', async () => {
    const r = await runCli(['report', out, '--name', 'again']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(join(out, 'report.html'));
    const first = await readFile(join(out, 'report.html'), 'utf8');
    const r2 = await runCli(['report', out, '--name', 'again']);
    expect(r2.code).toBe(0);
    expect(await readFile(join(out, 'report.html'), 'utf8')).toBe(first);
  });

  it('says so when the folder is no run folder', async () => {
    const r = await runCli(['report', await tempDir()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/holds no stage manifest/);
  });
});
