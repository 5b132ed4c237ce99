// The filter stage inside the real pipeline on constructed records: one record per rule, per-rule counts
// in the manifest, rejects naming file, record and rule, and a rerun when a benchmark list changes.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Reject, StageManifest } from '../../schemas/index.js';
import { readJsonl, runPipelineWith, tempDir, writeInput } from '../dedup/helpers.js';
import { makeRecord } from './factory.js';
import { recordsOf } from '../helpers/records.js';

const statement = (topic: string) => `The ${topic} helper returns the wrong value when its input is empty; it should return a neutral default and never raise.`;

function records() {
  return [
    makeRecord({ task_id: 'clean__repo-1', task: statement('clean'), resolved: true, record: 0 }),
    makeRecord({ task_id: 'held__out-7', task: statement('held'), record: 1 }),
    makeRecord({ task_id: 'infra__repo-2', task: statement('infra'), exit_status: 'RetryError', record: 2 }),
    makeRecord({ task_id: 'bad__repo-3', task: statement('bad'), steps: [{ rawArgs: '{"command": ' }], record: 3 }),
    makeRecord({ task_id: 'cut__repo-4', task: statement('cut'), exit_status: 'submitted (exit_context)', record: 4 }),
    makeRecord({ task_id: 'long__repo-5', task: statement('long'), steps: Array.from({ length: 12 }, (_, i) => ({ command: `step ${i}`, obs: `${i}` })), record: 5 }),
    makeRecord({ task_id: 'loop__repo-6', task: statement('loop'), steps: Array.from({ length: 6 }, () => ({ command: 'pytest', obs: 'FAILED' })), record: 6 }),
    makeRecord({ task_id: 'clean__repo-8', task: statement('other'), resolved: false, record: 7 }),
  ];
}

describe('filter stage in the pipeline', () => {
  let input: string;
  let out: string;
  let ids: string;
  beforeAll(async () => {
    const dir = await tempDir('filter-stage');
    input = await writeInput(dir, records());
    out = join(dir, 'out');
    ids = join(dir, 'held-out.ids');
    await writeFile(ids, 'held__out-7\n');
  });

  const sets = () => [`filter.decontaminate.ids=[${JSON.stringify(ids)}]`, 'filter.length.max_steps=10'];

  it('counts each rule in the manifest and writes a reject per dropped record naming file, record and rule', async () => {
    await runPipelineWith(input, out, sets());
    const m = JSON.parse(await readFile(join(out, 'filter', 'manifest.json'), 'utf8')) as StageManifest;
    expect(m.records_in).toBe(8);
    expect(m.records_out).toBe(2);
    expect(m.dropped).toEqual({
      'decontaminated-id': 1,
      'infra-harness-exit': 1,
      'loop-repeated-action': 1,
      'malformed-tool-arguments': 1,
      'too-many-steps': 1,
      'unfinished-cutoff': 1,
    });
    const rules = m.stats.rules as Record<string, { checked: number; dropped: number }>;
    expect(Object.fromEntries(Object.entries(rules).map(([k, v]) => [k, v.dropped]))).toEqual({
      decontaminate: 1,
      infrastructure: 1,
      malformed: 1,
      unfinished: 1,
      length: 1,
      loops: 1,
    });
    // Infrastructure looks only at failed runs: the resolved one is not checked.
    expect(rules.infrastructure!.checked).toBe(6);
    expect(m.stats.infrastructure_failures).toEqual({ total: 1, reasons: { 'infra-harness-exit': 1 } });

    const rejects = await readJsonl<Reject>(join(out, 'filter', 'rejects.jsonl'));
    const loop = rejects.find((r) => r.reason === 'loop-repeated-action')!;
    expect(loop).toMatchObject({ stage: 'filter', task_id: 'loop__repo-6', file: 'test/constructed.jsonl', record: 6, details: { rule: 'loops' } });
    expect(loop.message).toMatch(/test\/constructed\.jsonl record 6 .*loops rule/);
    const kept = await recordsOf(out, 'filter');
    expect(kept.map((r) => r.task_id)).toEqual(['clean__repo-1', 'clean__repo-8']);
  });

  it('reruns filter (not ingest) when a benchmark list changes, even under the same file name', async () => {
    const same = await runPipelineWith(input, out, sets());
    expect(same.outcomes.find((o) => o.stage === 'filter')?.status).toBe('skipped');
    await writeFile(ids, 'held__out-7\nclean__repo-8\n');
    const changed = await runPipelineWith(input, out, sets());
    const status = Object.fromEntries(changed.outcomes.map((o) => [o.stage, o.status]));
    expect(status.ingest).toBe('skipped');
    expect(status.filter).toBe('ran');
    const m = JSON.parse(await readFile(join(out, 'filter', 'manifest.json'), 'utf8')) as StageManifest;
    expect(m.dropped['decontaminated-id']).toBe(2);
  });
});
