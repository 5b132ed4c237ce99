// The dedup stage inside the real pipeline: clusters artifact, rejects naming what was kept, accounting,
// and reruns that redo dedup and what follows it when only its threshold changes.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Reject, StageManifest } from '../../schemas/index.js';
import { BASE, edit, makeRecord, readJsonl, runPipelineWith, tempDir, writeInput } from './helpers.js';
import { recordsOf } from '../helpers/records.js';

const NEAR = edit(BASE, [['German', 'French']]);
// Three words changed elsewhere: estimated similarity about 0.65 to BASE (and less to NEAR), under the default 0.8 but over 0.6.
const MID = edit(BASE, [
  ['whole file', 'entire file'],
  ['numeric', 'decimal'],
  ['regardless of', 'whatever'],
]);

function records() {
  const steps = (tag: string) => [{ command: `grep -rn separator ${tag}` }, { command: `python -m pytest ${tag}`, obs: 'ok' }];
  return [
    makeRecord({ task_id: 'acme__csv-1', task: BASE, resolved: true, steps: steps('a'), record: 0 }),
    makeRecord({ task_id: 'acme__csv-1', task: BASE, resolved: false, steps: steps('b'), record: 1 }),
    makeRecord({ task_id: 'acme__csv-1', task: BASE, resolved: false, steps: steps('b').map((s) => ({ ...s, obs: 'different output' })), record: 2 }),
    makeRecord({ task_id: 'mirror__csv-9', task: NEAR, resolved: false, steps: steps('c'), record: 3 }),
    makeRecord({ task_id: 'fork__csv-5', task: MID, resolved: false, steps: steps('d'), record: 4 }),
    makeRecord({
      task_id: 'acme__retry-4',
      task: 'The retry decorator sleeps for the full backoff even after the last attempt, so a failing call waits an extra thirty seconds.',
      resolved: false,
      steps: steps('e'),
      record: 5,
    }),
  ];
}

const manifest = async (out: string, stage: string) => JSON.parse(await readFile(join(out, stage, 'manifest.json'), 'utf8')) as StageManifest;

describe('dedup stage in the pipeline', () => {
  let input: string;
  let out: string;
  beforeAll(async () => {
    const dir = await tempDir('dedup-stage');
    input = await writeInput(dir, records());
    out = join(dir, 'out');
  });

  it('writes clusters first, then survivors and rejects that name the kept representative', async () => {
    await runPipelineWith(input, out);
    const m = await manifest(out, 'dedup');
    expect(m.records_in).toBe(6);
    expect(m.dropped).toEqual({ 'duplicate-trajectory': 1, 'near-duplicate-task': 1 });
    expect(m.records_out).toBe(4);
    expect(m.stats.minhash).toMatchObject({ threshold: 0.8, bands: 32, rows: 4, num_perm: 128, shingle_size: 5, seed: 1 });

    const rejects = await readJsonl<Reject>(join(out, 'dedup', 'rejects.jsonl'));
    const near = rejects.find((r) => r.reason === 'near-duplicate-task')!;
    expect(near).toMatchObject({ task_id: 'mirror__csv-9', details: { kept: 'acme__csv-1', cluster_id: 'task:acme__csv-1' } });
    expect(near.message).toMatch(/acme__csv-1/);
    const dup = rejects.find((r) => r.reason === 'duplicate-trajectory')!;
    expect(dup.record).toBe(2);

    const clusters = await readJsonl(join(out, 'dedup', 'clusters.jsonl'));
    expect(clusters.map((c) => c.cluster_id)).toEqual(['task:acme__csv-1', `run:${records()[1]!.id}`]);
    const survivors = await recordsOf(out, 'dedup');
    expect(survivors.map((s) => s.task_id)).toEqual(['acme__csv-1', 'acme__csv-1', 'fork__csv-5', 'acme__retry-4']);
  });

  it('reruns dedup and the stages after it, and nothing before, when only the threshold changes', async () => {
    const before = await manifest(out, 'dedup');
    const again = await runPipelineWith(input, out);
    expect(again.outcomes.map((o) => o.status)).toEqual(Array(9).fill('skipped'));

    const changed = await runPipelineWith(input, out, ['dedup.minhash.threshold=0.6']);
    const status = Object.fromEntries(changed.outcomes.map((o) => [o.stage, o.status]));
    // pool reads only ingest and filter, so it is not rerun; formats reads export.
    expect(status).toEqual({ ingest: 'skipped', filter: 'skipped', dedup: 'ran', label: 'ran', segment: 'ran', export: 'ran', tokenize: 'ran', formats: 'ran', pool: 'skipped' });
    const after = await manifest(out, 'dedup');
    expect(after.fingerprint).not.toBe(before.fingerprint);
    expect((after.config as { minhash: { threshold: number } }).minhash.threshold).toBe(0.6);
    // At 0.6 the three-word edit joins the cluster too.
    expect(after.dropped['near-duplicate-task']).toBe(2);
  });

  it('caps runs per task with --set dedup.per_task_cap, keeping the resolved run', async () => {
    const { outcomes } = await runPipelineWith(input, out, ['dedup.per_task_cap=1']);
    expect(outcomes.find((o) => o.stage === 'filter')?.status).toBe('skipped');
    const rejects = await readJsonl<Reject>(join(out, 'dedup', 'rejects.jsonl'));
    const capped = rejects.filter((r) => r.reason === 'per-task-cap');
    expect(capped).toHaveLength(1);
    expect(capped[0]!.details?.kept).toBe(records()[0]!.id);
    const survivors = await recordsOf(out, 'dedup');
    expect(survivors.map((s) => s.id)).toContain(records()[0]!.id);
  });

  it('gives byte-identical clusters and survivors on a fresh run', async () => {
    const a = join(await tempDir('dedup-det-a'), 'out');
    const b = join(await tempDir('dedup-det-b'), 'out');
    await runPipelineWith(input, a, ['dedup.per_task_cap=2']);
    await runPipelineWith(input, b, ['dedup.per_task_cap=2']);
    for (const f of ['clusters.jsonl', 'part-00000.jsonl', 'rejects.jsonl']) {
      expect(await readFile(join(a, 'dedup', f), 'utf8'), f).toBe(await readFile(join(b, 'dedup', f), 'utf8'));
    }
  });
});
