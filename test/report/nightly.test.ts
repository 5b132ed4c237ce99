import { existsSync } from 'node:fs';
import { readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipelineRecord } from '../../schemas/index.js';
import type { ReportData } from '../../src/report/collect.js';
import { readManifests } from '../../src/report/collect.js';
import { checkGuards } from '../../src/nightly/compare.js';
import { NightlyGuards } from '../../schemas/index.js';
import { startFakeTeacher, type FakeTeacher } from '../label/fake-teacher.js';
import { runCli, startCli, tempDir } from '../helpers/cli.js';
import { recordsOf } from '../helpers/records.js';

const KEY_ENV = 'TRAJPIPE_TEST_NIGHTLY_KEY';
const ENV = { [KEY_ENV]: 'sk-nightly-test' };

const records = (dir: string, stage: 'ingest' | 'label'): Promise<PipelineRecord[]> => recordsOf(dir, stage);

function embedded(html: string): ReportData {
  return JSON.parse(/<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html)![1]!) as ReportData;
}

describe('two nights of a nightly build with a (fake) teacher', () => {
  let fake: FakeTeacher;
  let root: string;
  let pipeline: string;
  const night = (d: string, input: string) => ['nightly', pipeline, '--root', root, '--date', d, '--input', input];

  beforeAll(async () => {
    fake = await startFakeTeacher();
    const dir = await tempDir();
    root = join(dir, 'nightly');
    pipeline = join(dir, 'nightly-test.yaml');
    await writeFile(
      pipeline,
      `name: nightly-test\nlabel:\n  teacher:\n    base_url: ${fake.url}\n    model: fake-teacher\n    api_key_env: ${KEY_ENV}\n` +
        `  limits:\n    price_prompt_per_mtok: 1\n    price_completion_per_mtok: 2\nexport:\n  shard:\n    max_rows: 4\n`,
    );
  });
  afterAll(async () => {
    await fake?.close();
  });

  it('asks the teacher only for the new runs, reports exactly them, and switches latest only once night two completed', async () => {
    // Night one: part of the sample.
    const one = await runCli(night('2026-12-01', 'data/sample/native'), ENV);
    expect(one.code, one.stderr).toBe(0);
    expect(await readlink(join(root, 'latest'))).toBe('2026-12-01');
    const requestsOne = fake.requests.length;
    expect(requestsOne).toBeGreaterThan(0);
    const dirOne = join(root, '2026-12-01');
    const idsOne = new Set((await records(dirOne, 'ingest')).map((r) => r.id));
    expect(existsSync(join(root, 'cache', 'teacher')), 'the teacher cache lives beside the nights').toBe(true);

    // Night two: all of it. Watch latest the whole time.
    const dirTwo = join(root, '2026-12-02');
    const { done } = startCli(night('2026-12-02', 'data/sample'), ENV);
    const seen: { target: string | null; complete: boolean }[] = [];
    let finished = false;
    void done.then(() => (finished = true));
    while (!finished) {
      // Completion is judged before reading the link: a link to night two must never be seen ahead of it.
      const complete = existsSync(join(dirTwo, 'nightly.json'));
      seen.push({ target: await readlink(join(root, 'latest')).catch(() => null), complete });
      await new Promise((r) => setTimeout(r, 5));
    }
    const two = await done;
    expect(two.code, two.stderr).toBe(0);
    expect(seen.length).toBeGreaterThan(10);
    expect(seen.every((s) => s.target === '2026-12-01' || s.target === '2026-12-02'), 'latest is never missing').toBe(true);
    expect(seen.filter((s) => s.target === '2026-12-02' && !s.complete)).toEqual([]);
    expect(seen.some((s) => s.target === '2026-12-01')).toBe(true);
    expect(await readlink(join(root, 'latest'))).toBe('2026-12-02');

    const ingestTwo = await records(dirTwo, 'ingest');
    const expectedNew = ingestTwo.map((r) => r.id).filter((id) => !idsOne.has(id)).sort();
    expect(expectedNew.length).toBeGreaterThan(0);
    expect(expectedNew.length).toBeLessThan(ingestTwo.length);

    // The teacher was asked once per new run that reached it, and for nothing else.
    const askedTwo = fake.requests.slice(requestsOne);
    const labelledNew = (await records(dirTwo, 'label')).filter((r) => r.values?.labeler === 'teacher' && !idsOne.has(r.id));
    expect(labelledNew.length).toBeGreaterThan(0);
    expect(askedTwo).toHaveLength(labelledNew.length);
    expect(askedTwo.map((q) => q.task).sort()).toEqual(labelledNew.map((r) => r.task).sort());

    // The report of night two lists exactly the new runs and what the night cost.
    const data = embedded(await readFile(join(dirTwo, 'report.html'), 'utf8'));
    const c = data.nightly!;
    expect(c.previous).toBe('2026-12-01');
    expect(c.new_runs.map((r) => r.id)).toEqual(expectedNew);
    expect(c.new_runs_count).toBe(expectedNew.length);
    expect(c.gone_runs_count).toBe(0);
    expect(c.cost.requests).toBe(labelledNew.length);
    expect(c.cost.cache_hits).toBeGreaterThan(0);
    expect(c.cost.estimated_cost).toBeGreaterThan(0);
    expect(c.guards).toEqual([]);
    expect(two.stderr).toContain(`${expectedNew.length} new run(s), 0 gone`);
  });

  it('exits 4 with a sentence when exported rows fall by more than the guard allows', async () => {
    const three = await runCli(night('2026-12-03', 'data/sample/canonical'), ENV);
    expect(three.code, three.stderr).toBe(4);
    expect(three.stderr).toMatch(/guard tripped: Exported rows fell from 18 on 2026-12-02 to \d+ tonight, by [\d.]+ %, more than 20 % \(nightly.guards.max_export_drop\)/);
    const c = JSON.parse(await readFile(join(root, '2026-12-03', 'nightly.json'), 'utf8'));
    expect(c.gone_runs_count).toBeGreaterThan(0);
  });
});

describe('nightly guards', () => {
  const guards = NightlyGuards.parse({});
  const reason = (previous_share: number, tonight_share: number) => ({ stage: 'filter' as const, reason: 'too-long', previous: 1, tonight: 2, previous_share, tonight_share });

  it('trip when a reason\'s share doubles, not when it grows less or stays under the floor', () => {
    const c = (r: ReturnType<typeof reason>) => ({ previous: '2026-12-01', reasons: [r], exported: { previous: 100, tonight: 100 } });
    expect(checkGuards(c(reason(0.05, 0.1)), guards)).toHaveLength(1);
    expect(checkGuards(c(reason(0.05, 0.1)), guards)[0]).toMatch(/too-long rose from 5.0 % \(1\) on 2026-12-01 to 10.0 % \(2\) tonight/);
    expect(checkGuards(c(reason(0.05, 0.09)), guards)).toEqual([]);
    expect(checkGuards(c(reason(0, 0.005)), guards)).toEqual([]);
    expect(checkGuards(c(reason(0, 0.02)), guards)).toHaveLength(1);
    expect(checkGuards(c(reason(0.05, 0.1)), { ...guards, reject_share_factor: null })).toEqual([]);
  });

  it('trip when exported rows fall by more than max_export_drop; never on the first night', () => {
    const c = (previous: number | null, tonight: number, prev: string | null = '2026-12-01') => ({ previous: prev, reasons: [], exported: { previous, tonight } });
    expect(checkGuards(c(100, 79), guards)).toHaveLength(1);
    expect(checkGuards(c(100, 80), guards)).toEqual([]);
    expect(checkGuards(c(null, 0, null), guards)).toEqual([]);
  });
});
