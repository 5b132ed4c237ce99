import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SftRow, type PipelineRecord } from '../../schemas/index.js';
import { readLines } from '../../src/io/jsonl.js';
import { loadConfig } from '../../src/config/load.js';
import { resolveInputs } from '../../src/io/inputs.js';
import { openShard } from '../../src/io/parquet/read.js';
import { readManifest, runPipeline, type StageOutcome } from '../../src/runner/runner.js';
import { silentLogger } from '../../src/runner/log.js';
import { STAGES } from '../../src/stages/index.js';
import type { DatasetStat } from '../../src/stages/export/datasets.js';
import { DEFAULT_ROW_CHECKS } from '../../src/validate/checks.js';
import { validateExport } from '../../src/validate/export.js';
import { ROOT, tempDir } from '../helpers/cli.js';
import { startFakeTeacher, type FakeTeacher } from '../label/fake-teacher.js';
import { recordsOf } from '../helpers/records.js';

// The sample through the fake teacher with three policies in one run: three complete datasets from one
// label pass. The stages after export are turned off: they read only the first dataset (tested elsewhere).

const SAMPLE = join(ROOT, 'pipelines/sample.yaml');
const AFTER_EXPORT_OFF = ['tokenize.enabled=false', 'formats.enabled=false', 'pool.enabled=false'];
const UP_TO_EXPORT = ['ingest', 'filter', 'dedup', 'label', 'segment', 'export'];
const statuses = (o: StageOutcome[]) => o.filter((x) => UP_TO_EXPORT.includes(x.stage)).map((x) => `${x.stage}:${x.status}`);
const THREE = 'segment.policies=[rising-segment, error-masking, value-weighted]';

async function build(out: string, sets: string[]): Promise<StageOutcome[]> {
  const { config } = await loadConfig(SAMPLE, [...AFTER_EXPORT_OFF, ...sets]);
  const inputFiles = await resolveInputs(config.inputs, ROOT);
  return runPipeline({ config, stages: STAGES, outDir: out, inputFiles, options: { dryRun: false, quiet: true }, log: silentLogger });
}

async function rowsOf(dir: string, shards: { path: string }[]): Promise<SftRow[]> {
  const rows: SftRow[] = [];
  for (const s of shards) for await (const raw of (await openShard(join(dir, s.path))).rows()) rows.push(SftRow.parse(raw));
  return rows;
}

describe('several policies in one run', () => {
  let fake: FakeTeacher;
  let dir: string;
  let sets: string[];
  let first: StageOutcome[];
  let asked: number;

  beforeAll(async () => {
    fake = await startFakeTeacher();
    dir = await tempDir('trajpipe-policies-');
    sets = [`label.cache_dir=${join(dir, 'cache')}`, `label.teacher.base_url=${fake.url}`, 'label.teacher.model=fake'];
    first = await build(join(dir, 'run'), [...sets, THREE]);
    asked = fake.requests.length;
  }, 120_000);

  afterAll(async () => {
    await fake?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('asks the teacher once per request, and writes one complete dataset per policy, the first where export always was', async () => {
    expect(statuses(first)).toEqual(['ingest:ran', 'filter:ran', 'dedup:ran', 'label:ran', 'segment:ran', 'export:ran']);
    expect(asked).toBeGreaterThan(0);
    expect(new Set(fake.requests.map((r) => r.bodyHash)).size).toBe(asked);
    const exp = join(dir, 'run', 'export');
    const m = (await readManifest(exp))!;
    const datasets = m.stats['datasets'] as DatasetStat[];
    expect(datasets.map((d) => [d.policy, d.folder])).toEqual([
      ['rising-segment', '.'],
      ['error-masking', 'variants/error-masking'],
      ['value-weighted', 'variants/value-weighted'],
    ]);
    // The first dataset's shards are the stage's outputs; the others' are not (tokenize and formats read outputs).
    expect(m.outputs.map((o) => o.path)).toEqual(datasets[0]!.shards.map((s) => s.path));
    for (const d of datasets) {
      expect(d.rows).toBeGreaterThan(0);
      expect(d.shards.reduce((a, s) => a + s.records, 0)).toBe(d.rows);
      expect(await stat(join(exp, d.folder, 'README.md'))).toBeTruthy();
    }
    // export's accounting holds for the first dataset: records in = its rows + its rejects.
    expect(m.records_out).toBe(datasets[0]!.rows);
    expect(m.records_in).toBe(datasets[0]!.rows + Object.values(datasets[0]!.dropped).reduce((a, b) => a + b, 0));
  });

  it('each card states its policy and its counts, and lists the siblings', async () => {
    const exp = join(dir, 'run', 'export');
    const datasets = (await readManifest(exp))!.stats['datasets'] as DatasetStat[];
    for (const d of datasets) {
      const card = await readFile(join(exp, d.folder, 'README.md'), 'utf8');
      expect(card).toContain(`This dataset was made with the policy \`${d.policy}\``);
      expect(card).toContain(`${d.rows} rows, ${d.trained_turns} trained assistant turns`);
      expect(card).toMatch(/made 3 datasets, one per configured policy/);
      for (const o of datasets) expect(card).toMatch(new RegExp(`\\| ${o.policy}(?: \\(this one\\))? \\| \`[^\`]+\` \\| ${o.rows} \\| ${o.trained_turns} \\|`));
      expect(card).toMatch(new RegExp(`num_examples: ${d.rows}\\b`));
    }
    const weighted = await readFile(join(exp, 'variants/value-weighted/README.md'), 'utf8');
    expect(weighted).toMatch(/Rows carry `messages\[\]\.weight`/);
  });

  it('validate checks every dataset; weights appear only in the value-weighted one and agree with the mask', async () => {
    const exp = join(dir, 'run', 'export');
    const report = await validateExport(exp, DEFAULT_ROW_CHECKS);
    expect(report.errors).toEqual([]);
    expect(report.variants.map((v) => v.policy)).toEqual(['error-masking', 'value-weighted']);
    const datasets = (await readManifest(exp))!.stats['datasets'] as DatasetStat[];
    const vw = await rowsOf(exp, datasets[2]!.shards);
    const failed = vw.filter((r) => r.outcome === 'failed');
    expect(failed.length).toBeGreaterThan(0);
    for (const r of vw) {
      for (const m of r.messages) {
        if (m.role !== 'assistant') expect(m.weight).toBeNull();
        else expect(m.weight! > 0).toBe(m.loss === true);
      }
      if (r.outcome === 'resolved') expect(r.messages.filter((m) => m.role === 'assistant').every((m) => m.weight === 1 || m.loss === false)).toBe(true);
    }
    const rising = await rowsOf(exp, datasets[0]!.shards);
    expect(rising.every((r) => r.messages.every((m) => m.weight === null))).toBe(true);
  });

  it('a changed policy list reruns segment and export only, asks the teacher nothing, and leaves the first dataset byte-identical', async () => {
    const exp = join(dir, 'run', 'export');
    const before = ((await readManifest(exp))!.stats['datasets'] as DatasetStat[])[0]!.shards;
    const outcomes = await build(join(dir, 'run'), [...sets, 'segment.policies=[rising-segment, first-error-prefix]']);
    expect(statuses(outcomes)).toEqual(['ingest:skipped', 'filter:skipped', 'dedup:skipped', 'label:skipped', 'segment:ran', 'export:ran']);
    expect(fake.requests.length).toBe(asked);
    const datasets = (await readManifest(exp))!.stats['datasets'] as DatasetStat[];
    expect(datasets.map((d) => d.policy)).toEqual(['rising-segment', 'first-error-prefix']);
    expect(datasets[0]!.shards.map((s) => s.sha256)).toEqual(before.map((s) => s.sha256));
    // The variant folders of the old list are gone with the old export folder.
    expect(await stat(join(exp, 'variants/error-masking')).catch(() => null)).toBeNull();
    // Only the default policy: the same shards again, and no variants.
    await build(join(dir, 'run'), sets);
    const alone = (await readManifest(exp))!;
    expect(alone.outputs.map((s) => s.sha256)).toEqual(before.map((s) => s.sha256));
    expect((alone.stats['datasets'] as DatasetStat[]).map((d) => d.folder)).toEqual(['.']);
    expect(fake.requests.length).toBe(asked);
  });

  it('step-rejection and first-error-prefix train from the teacher\'s verdicts on the sample; a rerun asks nothing', async () => {
    const out = join(dir, 'verdicts');
    const policies = 'segment.policies=[rising-segment, step-rejection, first-error-prefix]';
    await build(out, [...sets, policies]);
    const afterFirst = fake.requests.length;
    const labelled = new Map<string, PipelineRecord>();
    for (const r of await recordsOf(out, 'label')) labelled.set(r.id, r);
    const exp = join(out, 'export');
    const datasets = (await readManifest(exp))!.stats['datasets'] as DatasetStat[];
    const [sr, fe] = [await rowsOf(exp, datasets[1]!.shards), await rowsOf(exp, datasets[2]!.shards)];
    let checked = 0;
    for (const row of sr.filter((r) => r.outcome === 'failed')) {
      const rec = labelled.get(row.id)!;
      const verdicts = rec.values!.verdicts!;
      expect(verdicts).toHaveLength(rec.steps.length);
      for (const s of rec.steps) {
        const m = row.messages[s.message_index];
        if (!m) continue; // cut after the last trained turn
        expect(m.loss).toBe(verdicts[s.index]! && !s.flags.submit);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(0);
    expect(fe.filter((r) => r.outcome === 'failed').length).toBeGreaterThan(0);
    for (const row of fe.filter((r) => r.outcome === 'failed')) {
      const rec = labelled.get(row.id)!;
      const firstBad = rec.values!.verdicts!.indexOf(false);
      const trained = rec.steps.filter((s) => row.messages[s.message_index]?.loss === true).map((s) => s.index);
      expect(trained).toEqual(Array.from({ length: firstBad }, (_, i) => i).filter((i) => !rec.steps[i]!.flags.submit));
    }
    expect((await validateExport(exp, DEFAULT_ROW_CHECKS)).errors).toEqual([]);
    await build(out, [...sets, policies]);
    expect(fake.requests.length).toBe(afterFirst);
  });
});
