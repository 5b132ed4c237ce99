import { cp, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { SftRow, StageManifest, type PipelineRecord, type StageName } from '../../schemas/index.js';
import { loadConfig } from '../../src/config/load.js';
import { sha256, hashValue } from '../../src/core/hash.js';
import { resolveInputs } from '../../src/io/inputs.js';
import { readLines } from '../../src/io/jsonl.js';
import { openShard } from '../../src/io/parquet/read.js';
import { ShardWriter } from '../../src/io/parquet/shard-writer.js';
import { SFT_COLUMNS, SFT_PARQUET_SCHEMA } from '../../src/io/parquet/sft-schema.js';
import { readManifest, runPipeline, type StageOutcome } from '../../src/runner/runner.js';
import { silentLogger } from '../../src/runner/log.js';
import { STAGES } from '../../src/stages/index.js';
import { ROOT, runCli, tempDir } from '../helpers/cli.js';
import { duckQuery } from '../helpers/duckdb.js';
import { startFakeTeacher } from '../label/fake-teacher.js';
import { recordsOf } from '../helpers/records.js';

const SAMPLE = join(ROOT, 'pipelines/sample.yaml');

async function build(out: string, sets: string[] = [], from?: 'segment'): Promise<StageOutcome[]> {
  const { config } = await loadConfig(SAMPLE, sets);
  const inputFiles = await resolveInputs(config.inputs, ROOT);
  return runPipeline({ config, stages: STAGES, outDir: out, inputFiles, from, options: { dryRun: false, quiet: true }, log: silentLogger });
}

async function readStageRecords(stageDir: string): Promise<Map<string, PipelineRecord>> {
  const out = new Map<string, PipelineRecord>();
  for (const r of await recordsOf(dirname(stageDir), basename(stageDir) as StageName)) out.set(r.id, r);
  return out;
}

interface ExportedFailed {
  id: string;
  losses: (boolean | null)[];
}

async function exportedFailedRows(out: string): Promise<ExportedFailed[]> {
  const rows = await duckQuery(
    `SELECT id, list_transform(messages, lambda m: m.loss) AS losses
     FROM read_parquet('${out}/export/data/*.parquet') WHERE outcome = 'failed' ORDER BY id`,
  );
  return rows.map((r) => ({ id: r['id'] as string, losses: r['losses'] as (boolean | null)[] }));
}

/**
 * The claim, checked independently of the segment code: for every exported failed run, the
 * trained messages are exactly its agent turns up to the first maximum of its value curve, minus a
 * submission, and the messages stop at the last of them (default config: no smoothing, not strict).
 */
async function expectTrainedUpToPeak(out: string): Promise<number> {
  const labelled = await readStageRecords(join(out, 'label'));
  const failed = await exportedFailedRows(out);
  for (const row of failed) {
    const rec = labelled.get(row.id)!;
    const v = rec.values!.values;
    const peak = v.indexOf(Math.max(...v));
    const expected = rec.steps.filter((s) => s.index <= peak && !s.flags.submit).map((s) => s.message_index);
    const trained = row.losses.flatMap((l, i) => (l === true ? [i] : []));
    expect(trained, `run ${row.id}: curve ${v.join(', ')}, peak at step ${peak}`).toEqual(expected);
    expect(row.losses).toHaveLength(Math.max(...expected) + 1);
  }
  return failed.length;
}

/** Hand-made curves with a known peak at step floor(n/2): a rise to 0.8, then a fall. */
const handCurve = (n: number) => {
  const p = Math.floor(n / 2);
  return Array.from({ length: n }, (_, i) => (i <= p ? 0.2 + (0.6 * i) / Math.max(p, 1) : Math.max(0, 0.8 - 0.2 * (i - p))));
};

/** Turns a built run folder into one whose label stage put hand-made curves on every failed run. */
async function labelByHand(out: string): Promise<void> {
  const dir = join(out, 'label');
  const manifest = StageManifest.parse(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')));
  // Written whole (reference lines resolved): the frame reads whole lines and references alike.
  const records = await recordsOf(out, 'label');
  delete manifest.references;
  for (const o of manifest.outputs) {
    const lines: string[] = [];
    for (const r of records.splice(0, o.records)) {
      if (r.outcome.resolved === false) {
        r.values = { labeler: 'heuristic', model: null, prompt_version: 'hand-made', values: handCurve(r.steps.length), samples: null, spread: null, peak_disagreement: null, flags: [], request_hash: null };
      }
      lines.push(JSON.stringify(r));
    }
    const text = lines.join('\n') + '\n';
    await writeFile(join(dir, o.path), text);
    o.sha256 = sha256(text);
    o.bytes = Buffer.byteLength(text);
  }
  manifest.output_fingerprint = hashValue(manifest.outputs.map((o) => [o.path, o.sha256]));
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
}

describe('segment + export end to end on the sample build', () => {
  let out: string;
  let hand: string;

  beforeAll(async () => {
    out = await tempDir('trajpipe-seg-');
    await build(out);
    // A copy whose failed runs carry hand-made curves: segment and export rerun on it (--from segment).
    hand = await tempDir('trajpipe-seg-hand-');
    await cp(out, hand, { recursive: true });
    await labelByHand(hand);
    await build(hand, [], 'segment');
  });

  it('sample labels: every exported failed run is trained exactly on its agent turns up to the peak (read back with DuckDB)', async () => {
    // The sample build labels failed runs with the offline heuristic labeler.
    expect(await expectTrainedUpToPeak(out)).toBeGreaterThan(0);
  });

  it('with a teacher: changing a segment option sends no teacher request and reruns segment and export only', async () => {
    const fake = await startFakeTeacher();
    try {
      const dir = await tempDir('trajpipe-seg-teacher-');
      const sets = [`label.cache_dir=${join(dir, 'cache')}`, `label.teacher.base_url=${fake.url}`, 'label.teacher.model=fake'];
      await build(join(dir, 'run'), sets);
      const asked = fake.requests.length;
      expect(asked).toBeGreaterThan(0);
      expect(await expectTrainedUpToPeak(join(dir, 'run'))).toBeGreaterThan(0);
      const outcomes = await build(join(dir, 'run'), [...sets, 'segment.min_drop=0.2', 'segment.keep_after_span=true']);
      expect(fake.requests.length).toBe(asked);
      expect(outcomes.map((o) => `${o.stage}:${o.status}`)).toEqual([
        'ingest:skipped', 'filter:skipped', 'dedup:skipped', 'label:skipped', 'segment:ran', 'export:ran', 'tokenize:ran', 'formats:ran', 'pool:skipped',
      ]);
      await rm(dir, { recursive: true, force: true });
    } finally {
      await fake.close();
    }
  });

  it('hand-made labels: every failed run is exported and trained exactly up to its peak', async () => {
    const labelled = await readStageRecords(join(hand, 'label'));
    const failedIn = [...labelled.values()].filter((r) => r.outcome.resolved === false).length;
    expect(failedIn).toBeGreaterThan(0);
    expect(await expectTrainedUpToPeak(hand)).toBe(failedIn);
    // Known answers, not recomputed: step floor(n/2) is the peak of every hand-made curve.
    for (const row of await exportedFailedRows(hand)) {
      const rec = labelled.get(row.id)!;
      const p = Math.floor(rec.steps.length / 2);
      expect(row.losses.filter((l) => l === true)).toHaveLength(p + 1);
    }
  });

  it('changing a segment option reruns segment and export only: ingest, filter, dedup and label are skipped', async () => {
    const labelManifest = await readFile(join(hand, 'label', 'manifest.json'), 'utf8');
    const before = await exportedFailedRows(hand);
    const outcomes = await build(hand, ['segment.strict=true']);
    expect(Object.fromEntries(outcomes.map((o) => [o.stage, o.status]))).toEqual({
      ingest: 'skipped',
      filter: 'skipped',
      dedup: 'skipped',
      label: 'skipped',
      segment: 'ran',
      export: 'ran',
      tokenize: 'ran',
      // formats reads export's shards; pool reads only ingest and filter, so it is not rerun.
      formats: 'ran',
      pool: 'skipped',
    });
    // The label stage (the only one that can ask a teacher) did not run: its manifest is untouched.
    expect(await readFile(join(hand, 'label', 'manifest.json'), 'utf8')).toBe(labelManifest);
    const segment = (await readManifest(join(hand, 'segment')))!;
    expect(segment.config).toMatchObject({ strict: true });
    // Strict mode trains only rising turns, never the first: on the hand-made curves (strictly rising up
    // to the peak) each run loses exactly its first trained turn, and runs left with nothing are dropped.
    const after = await exportedFailedRows(hand);
    const trainedOf = (r: ExportedFailed) => r.losses.flatMap((l, i) => (l === true ? [i] : []));
    const beforeById = new Map(before.map((r) => [r.id, trainedOf(r)]));
    expect(after.length).toBeGreaterThan(0);
    for (const r of after) expect(trainedOf(r)).toEqual(beforeById.get(r.id)!.slice(1));
    const strictDropped = before.filter((r) => trainedOf(r).length === 1).length;
    expect(after.length).toBe(before.length - strictDropped);
    // And back: the default config reruns them again and gives back the same shards.
    const back = await build(hand);
    expect(back.filter((o) => o.status === 'ran').map((o) => o.stage)).toEqual(['segment', 'export', 'tokenize', 'formats']);
    expect(await exportedFailedRows(hand)).toEqual(before);
  });

  it('the segment manifest reports curve-shape fractions and recovered turns', async () => {
    const seg = (await readManifest(join(hand, 'segment')))!;
    const fractions = seg.stats['curve_shape_fractions'] as Record<string, number>;
    expect(Object.keys(fractions)).toEqual(['inverted-u', 'rising', 'falling', 'flat', 'multi-peak', 'single-step']);
    expect(fractions['inverted-u']).toBe(1);
    expect(seg.stats['failed_runs_recovered_turns']).toBeGreaterThan(0);
  });

  it('validate passes on the sample export and on the hand-labelled one', async () => {
    for (const dir of [out, hand]) {
      const r = await runCli(['validate', dir]);
      expect(r.stdout).toMatch(/valid\n$/);
      expect(r.code).toBe(0);
    }
  });

  it('validate fails, naming the shard, row and id, on a shard altered to train an observation', async () => {
    const bad = await tempDir('trajpipe-seg-bad-');
    await cp(join(hand, 'export'), join(bad, 'export'), { recursive: true });
    const exportDir = join(bad, 'export');
    const manifest = StageManifest.parse(JSON.parse(await readFile(join(exportDir, 'manifest.json'), 'utf8')));
    const target = manifest.outputs[0]!;
    const shard = await openShard(join(exportDir, target.path));
    const rows: SftRow[] = [];
    for await (const raw of shard.rows()) rows.push(SftRow.parse(raw));
    const victim = rows.findIndex((r) => r.messages.some((m) => m.role === 'tool'));
    const msg = rows[victim]!.messages.findIndex((m) => m.role === 'tool');
    rows[victim]!.messages[msg]!.loss = true;

    // Rewritten with the export's own writer and schema; the manifest hash is updated too, so only the row check can object.
    const tmp = join(bad, 'rewrite');
    await (await import('node:fs/promises')).mkdir(tmp);
    const w = new ShardWriter({ dir: tmp, prefix: 'train', schema: SFT_PARQUET_SCHEMA, columns: SFT_COLUMNS, maxRows: 1e6, targetBytes: 1e12, rowGroupRows: 64, rowGroupBytes: 1e9, zstdLevel: 3, kvMetadata: (shard.metadata.key_value_metadata ?? []).map((e) => ({ key: e.key, value: e.value ?? '' })), createdBy: 'test' });
    for (const r of rows) await w.write(r, 1000);
    const [written] = await w.close();
    await rename(join(tmp, written!.path), join(exportDir, target.path));
    target.sha256 = written!.sha256;
    target.bytes = (await stat(join(exportDir, target.path))).size;
    await writeFile(join(exportDir, 'manifest.json'), JSON.stringify(manifest, null, 2));

    const r = await runCli(['validate', bad]);
    expect(r.code).toBe(1);
    const errors = r.stdout.split('\n').filter((l) => l.includes('error:'));
    expect(errors).toEqual([
      `  error: ${target.path} row ${victim} (id ${rows[victim]!.id}): message ${msg} (tool) has loss=true; only assistant turns may be trained.`,
    ]);
    await rm(bad, { recursive: true, force: true });
  });

  it('writes a dataset card whose front matter matches the shards and whose DuckDB snippet gives its numbers', async () => {
    const card = await readFile(join(hand, 'export', 'README.md'), 'utf8');
    const m = /^---\n([\s\S]*?)\n---\n/.exec(card);
    expect(m).not.toBeNull();
    const meta = parseYaml(m![1]!) as { configs: { data_files: { path: string }[] }[]; dataset_info: { features: { name: string }[]; splits: { num_examples: number }[] } };
    const manifest = (await readManifest(join(hand, 'export')))!;
    expect(meta.dataset_info.features.map((f) => f.name)).toEqual([...SFT_COLUMNS]);
    expect(meta.dataset_info.splits[0]!.num_examples).toBe(manifest.records_out);
    const pattern = meta.configs[0]!.data_files[0]!.path;
    expect(pattern).toBe('data/train-*.parquet');
    expect((await readdir(join(hand, 'export', 'data'))).every((f) => /^train-.*\.parquet$/.test(f))).toBe(true);

    // The card's SQL, run as written (paths made absolute), agrees with its Contents table and with the shards.
    const block = /```sql\n([\s\S]*?)```/.exec(card)![1]!.replaceAll("'data/", `'${join(hand, 'export')}/data/`);
    const [perOutcome, turns] = block.split(';').map((s) => s.trim()).filter(Boolean);
    let total = 0;
    for (const row of await duckQuery(perOutcome!)) {
      const line = new RegExp(`^\\| ${row['outcome']} \\| ${row['rows']} \\| \\d+ \\| ${row['trained_turns']} \\|`, 'm');
      expect(card).toMatch(line);
      total += Number(row['trained_turns']);
    }
    const trainedTurns = await duckQuery(turns!);
    expect(trainedTurns.length).toBe(total);
    expect(total).toBeGreaterThan(0);
    const failedIds = new Set((await exportedFailedRows(hand)).map((r) => r.id));
    expect(trainedTurns.filter((t) => failedIds.has(t['id'] as string)).every((t) => typeof t['step_value'] === 'number')).toBe(true);
    const f = /(\d+) failed run\(s\) are exported\. They took (\d+) agent turns; (\d+) of them/.exec(card)!;
    const failed = await exportedFailedRows(hand);
    expect(Number(f[1])).toBe(failed.length);
    expect(Number(f[3])).toBe(failed.reduce((a, r) => a + r.losses.filter((l) => l === true).length, 0));
    expect(card).toMatch(/message_field_training: loss/);
    expect(card).toMatch(/load_dataset\("parquet"/);
    expect(card).toMatch(/\| inverted-u \| \d+ \| 100\.0% \|/);
    expect(card).not.toMatch(/\d{4}-\d{2}-\d{2}T\d{2}:/); // no timestamps
    expect(card).not.toContain(hand); // no paths of this run
  });

  it('the dataset card is byte-identical across identical runs into different folders', async () => {
    const again = await tempDir('trajpipe-seg-again-');
    await build(again);
    expect(await readFile(join(again, 'export', 'README.md'), 'utf8')).toBe(await readFile(join(out, 'export', 'README.md'), 'utf8'));
    await rm(again, { recursive: true, force: true });
  });
});
