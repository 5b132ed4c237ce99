import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cli.js';
import { ingest, type IngestResult } from './helpers.js';

// The ingest stage over the native sample plus malformed files written here: every record is kept or
// rejected with file, record number and a reason, and stray files never become records.

const NATIVE = 'data/sample/native';

async function withBadFiles(dir: string): Promise<void> {
  const pager = await readFile(join(NATIVE, 'swe-agent-0.x/trajs/acme__pager-12.traj'), 'utf8');
  await mkdir(join(dir, 'broken'), { recursive: true });
  await writeFile(join(dir, 'broken/acme__cut-1.traj'), pager.slice(0, Math.floor(pager.length / 2))); // truncated file
  await writeFile(join(dir, 'broken/zero.traj.json'), '');
  await writeFile(join(dir, 'broken/acme__empty-2.traj.json'), JSON.stringify({ trajectory_format: 'mini-swe-agent-1', instance_id: 'acme__empty-2', info: {}, messages: [{ role: 'system', content: 's' }, { role: 'user', content: 'task' }] }));
  await writeFile(join(dir, 'broken/odd.json'), JSON.stringify({ messages: 'not a list', history: 3 }));
  const row = (await readFile(join(NATIVE, 'hf/swe-smith-style.jsonl'), 'utf8')).split('\n')[0]!;
  const noId = JSON.stringify({ ...JSON.parse(row), instance_id: undefined });
  await writeFile(join(dir, 'broken/rows.jsonl'), [row, '{"instance_id": "acme__x", "messages": [', noId, '{"some": "thing"}', row.slice(0, 200)].join('\n'));
  await writeFile(join(dir, 'broken/notes.txt'), 'not a trajectory');
  await writeFile(join(dir, 'broken/config.json'), JSON.stringify({ name: 'settings', verbose: true }));
}

describe('ingest stage', () => {
  let dir: string;
  let result: IngestResult;

  beforeAll(async () => {
    dir = await tempDir('trajpipe-ingest-in-');
    await cp(NATIVE, join(dir, 'native'), { recursive: true });
    await withBadFiles(dir);
    result = await ingest([dir]);
  }, 60_000);

  it('accounts for every record: kept or rejected, with file, record and a readable reason', () => {
    const { manifest, rejects } = result;
    expect(manifest.records_in).toBe(manifest.records_out + rejects.length);
    const byReason = Object.fromEntries(rejects.map((r) => [`${relative(dir, r.file!)}#${r.record}`, r.reason]));
    expect(byReason).toEqual({
      'broken/acme__cut-1.traj#0': 'truncated-file',
      'broken/zero.traj.json#0': 'empty-file',
      'broken/acme__empty-2.traj.json#0': 'empty-run',
      'broken/odd.json#0': 'unknown-shape',
      // JSON lines are numbered by 1-based line, as an editor shows them.
      'broken/rows.jsonl#2': 'bad-json',
      'broken/rows.jsonl#3': 'missing-task-id',
      'broken/rows.jsonl#4': 'unknown-shape',
      'broken/rows.jsonl#5': 'truncated-file',
    });
    expect(manifest.dropped).toEqual({ 'bad-json': 1, 'empty-file': 1, 'empty-run': 1, 'missing-task-id': 1, 'truncated-file': 2, 'unknown-shape': 2 });
    for (const r of rejects) {
      expect(r.message).toContain(r.file!);
      expect(r.message.length).toBeGreaterThan(30);
    }
  });

  it('reads every native sample record, from single files, JSON lines and Parquet shards', () => {
    const formats = result.manifest.stats.per_format as Record<string, number>;
    expect(formats).toEqual({
      'swe-agent-0.x': 3,
      'swe-agent-1.x': 1,
      'mini-swe-agent-1': 2,
      'mini-swe-agent-2': 1,
      'openhands-completions': 2,
      'openhands-events': 2,
      'hf-swe-smith': 5, // 2 from the sample JSON lines, 2 from the gzip Parquet shard, 1 good line in broken/rows.jsonl
      'hf-nebius-swe-agent': 2,
    });
    const parquet = result.records.filter((r) => r.source.file.endsWith('.parquet'));
    expect(parquet.map((r) => [r.task_id, r.outcome.resolved, r.outcome.label_source])).toEqual([
      ['acme__dates-9', true, 'row:target'],
      ['acme__slugify-4', false, 'row:target'],
      ['acme__dates-9', true, 'row:resolved'], // int64 1 in the shard
      ['acme__retry-3', false, 'row:resolved'],
    ]);
  });

  it('joins outcomes from every kind of label file, and counts the unlabelled', () => {
    const outcome = (file: string, record = 0) => result.records.find((r) => r.source.file.endsWith(file) && r.source.record === record)!.outcome;
    expect(outcome('swe-agent-0.x/trajs/acme__pager-12.traj')).toMatchObject({ resolved: true, exit_status: 'submitted' });
    expect(outcome('swe-agent-0.x/trajs/acme__pager-12.traj').label_source).toMatch(/^swebench-results:.*swe-agent-0\.x\/results\/results\.json$/);
    expect(outcome('swe-agent-0.x/trajs/acme__retry-3.traj')).toMatchObject({ resolved: null, exit_status: null, label_source: null });
    expect(outcome('mini-swe-agent-1/trajs/acme__slugify-4.traj.json')).toMatchObject({ resolved: false, failing_tests: ['tests/test_slug.py::test_accents'] });
    expect(outcome('mini-swe-agent-1/trajs/acme__dates-9.traj.json').label_source).toMatch(/sb-cli\.acme-eval\.json$/);
    expect(outcome('mini-swe-agent-2/acme__pager-12.traj.json').resolved).toBe(true);
    expect(outcome('openhands-completions/trajs/acme__retry-3/teacher-large-2026-1767229200.0.json').resolved).toBe(false);
    expect(outcome('openhands-events/output.jsonl', 2)).toMatchObject({ resolved: null, exit_status: expect.stringMatching(/^RuntimeError/) });
    expect(outcome('swe-agent-1.x/acme__dates-9.traj').resolved).toBeNull();
    expect(result.manifest.stats.per_outcome).toEqual({ resolved: 9, failed: 6, unlabelled: 3 }); // incl. the good line of broken/rows.jsonl
  });

  it('takes the task id from the file name when the run does not carry one, and the model from metadata.yaml', () => {
    const r = result.records.find((x) => x.source.file.endsWith('swe-agent-0.x/trajs/acme__slugify-4.traj'))!;
    expect(r.task_id).toBe('acme__slugify-4');
    expect(r.source.teacher_model).toBe('teacher-large-2026');
    expect(r.id).toMatch(/^[0-9a-f]{24}$/);
  });

  it('reports stray files and consumed label files in the manifest, never as records', () => {
    const skipped = (result.manifest.stats.skipped_files as { file: string; reason: string }[]).map((s) => [relative(dir, s.file), s.reason]);
    expect(skipped).toEqual([
      ['broken/config.json', 'not-a-trajectory'],
      ['broken/notes.txt', 'text-file'],
    ]);
    expect(result.manifest.stats.skipped_files_total).toBe(2);
    expect((result.manifest.stats.run_metadata_files as string[]).map((f) => relative(dir, f))).toEqual(['native/swe-agent-0.x/metadata.yaml']);
    expect((result.manifest.stats.label_files as unknown[]).length).toBe(5);
  });

  it('is deterministic: the same inputs give byte-identical records', async () => {
    const again = await ingest([dir]);
    const part = (r: IngestResult) => readFile(join(r.out, 'ingest', r.manifest.outputs[0]!.path), 'utf8');
    expect(await part(again)).toBe(await part(result));
  });
});

describe('ingest config', () => {
  it('labels named in the config win over the files found beside the runs', async () => {
    const dir = await tempDir('trajpipe-ingest-labels-');
    await cp(join(NATIVE, 'swe-agent-0.x'), join(dir, 'runs'), { recursive: true });
    const override = join(dir, 'override.json');
    await writeFile(override, JSON.stringify({ resolved_ids: ['acme__slugify-4'], unresolved_ids: ['acme__pager-12'] }));
    const { records, manifest } = await ingest([join(dir, 'runs')], { labels: [override] });
    const resolved = Object.fromEntries(records.map((r) => [r.task_id, r.outcome.resolved]));
    expect(resolved).toEqual({ 'acme__pager-12': false, 'acme__slugify-4': true, 'acme__retry-3': null });
    expect(manifest.stats.per_label_origin).toEqual({ config: 2, none: 1 });
    expect(manifest.stats.label_conflicts).toBe(2);
  });

  it('find_labels: false leaves runs unlabelled instead of reading files beside them', async () => {
    const { records } = await ingest([join(NATIVE, 'swe-agent-0.x/trajs')], { find_labels: false });
    expect(records.map((r) => r.outcome.resolved)).toEqual([null, null, null]);
    const found = await ingest([join(NATIVE, 'swe-agent-0.x/trajs')]);
    expect(found.records.map((r) => r.outcome.resolved)).toEqual([true, null, false]); // results/ sits one level up
  });

  it('format forces one reader: records of another format are rejected, not guessed', async () => {
    const { records, rejects } = await ingest([join(NATIVE, 'mini-swe-agent-2'), join(NATIVE, 'hf/swe-smith-style.jsonl')], { format: 'chat-dataset' });
    expect(records.map((r) => r.source.format)).toEqual(['hf-swe-smith', 'hf-swe-smith']);
    // mini-swe-agent v2 has a role "exit" message no chat dataset has: not read as a chat row.
    expect(rejects.map((r) => [r.reason, r.file])).toEqual([['unknown-shape', 'data/sample/native/mini-swe-agent-2/acme__pager-12.traj.json']]);
    const forced = await ingest([join(NATIVE, 'hf/swe-smith-style.jsonl')], { format: 'swe-agent' });
    expect(forced.rejects.map((r) => r.reason)).toEqual(['unknown-shape', 'unknown-shape']);
    expect(forced.rejects[0]!.message).toContain('ingest.format');
  });

  it('stores input paths relative to the working directory', async () => {
    const { records } = await ingest([join(NATIVE, 'mini-swe-agent-1/trajs')]);
    expect(records.map((r) => r.source.file)).toEqual([
      'data/sample/native/mini-swe-agent-1/trajs/acme__dates-9.traj.json',
      'data/sample/native/mini-swe-agent-1/trajs/acme__slugify-4.traj.json',
    ]);
  });
});
