import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { PipelineRecord } from '../../schemas/index.js';
import { costOf } from '../../src/teacher/accounting.js';
import { collectReport } from '../../src/report/collect.js';
import { ReportConfig } from '../../schemas/config/report.js';
import { createFakeBatchApi, type FakeBatchApi } from './fake-batch.js';
import { startFakeTeacher, type FakeTeacher } from './fake-teacher.js';
import { TEST_KEY_ENV, readJsonl, runLabelPipeline, setUpRuns, teacherSets, type RunSpec } from './fixtures.js';
import { recordsOf } from '../helpers/records.js';

const ROOT = resolve(import.meta.dirname, '../..');

/** The CLI in a child process (so it can be SIGKILLed), with the test key in its environment. */
function cli(args: string[]): { done: Promise<{ code: number | null; stderr: string }>; kill: () => void } {
  const child = spawn(process.execPath, [join(ROOT, 'bin/trajpipe.js'), ...args], { cwd: ROOT, env: { ...process.env, [TEST_KEY_ENV]: KEY }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; stderr: string }>((res) => child.on('close', (code) => res({ code, stderr })));
  return { done, kill: () => child.kill('SIGKILL') };
}

const KEY = 'sk-batch-test-7a6b5c4d3e2f-SECRET';
let fake: FakeTeacher | null = null;
afterEach(async () => {
  await fake?.close();
  fake = null;
});
beforeAll(() => {
  process.env[TEST_KEY_ENV] = KEY;
});

const PRICES = ['label.limits.price_prompt_per_mtok=1000', 'label.limits.price_completion_per_mtok=4000'];
/** Batch mode with millisecond polling. */
function batchSets(url: string, cache: string, extra: string[] = []): string[] {
  return teacherSets(url, cache, ['label.mode=batch', 'label.batch.poll_interval_s=0.005', 'label.batch.max_wait_s=20', ...PRICES, ...extra]);
}

interface BatchStats {
  price_factor: number;
  uploads: number;
  created: number;
  collected: number;
  requests: number;
  answered: number;
  failed_lines: number;
  prompt_tokens: number;
  completion_tokens: number;
  estimated_cost: number;
  ids: string[];
}
type TeacherStats = { requests: number; prompt_tokens: number; completion_tokens: number; estimated_cost: number; live_estimated_cost: number; batch: BatchStats };

const round4 = (x: number) => Math.round(x * 1e4) / 1e4;

async function startBatchTeacher(batchOpts: Parameters<typeof createFakeBatchApi>[0] = {}): Promise<{ fake: FakeTeacher; api: FakeBatchApi }> {
  const api = createFakeBatchApi(batchOpts);
  fake = await startFakeTeacher({ batchApi: api, perDistinctBody: true });
  return { fake, api };
}

describe('label.mode: batch against a fake Batch API', () => {
  it('labels or rejects every run, batch answers first, failed lines live, re-asks in a later round', async () => {
    const { fake, api } = await startBatchTeacher();
    const specs: RunSpec[] = [
      { task: 'resolved run', resolved: true },
      { task: 'plain one' },
      { task: 'plain two' },
      { task: 'error-file line [batch:error]' },
      { task: 'output line with status 500 [batch:500]' },
      { task: 'invalid first, fine on the re-ask [faults:wrong-count,ok]' },
      { task: 'always invalid [faults:wrong-count]' },
      { task: 'refused by the server [faults:400]' },
      { task: 'failed run without steps', steps: 0 },
    ];
    const expected: Record<string, string> = {
      'always invalid [faults:wrong-count]': 'teacher-invalid-answer',
      'refused by the server [faults:400]': 'teacher-request-failed',
      'failed run without steps': 'no-steps',
    };
    const { runs, input, cache, out } = await setUpRuns(specs);
    const result = await runLabelPipeline({ input, out, sets: batchSets(fake.url, cache) });
    expect(result.labelOutcome?.status).toBe('ran');

    // Every run accounted for once: labelled (or passed through), or rejected with its reason.
    const seen = [...result.records.map((r) => r.id), ...result.rejects.map((r) => r.id!)];
    expect(seen.sort()).toEqual(runs.map((r) => r.id).sort());
    const taskOf = new Map(runs.map((r) => [r.id, r.task]));
    expect(Object.fromEntries(result.rejects.map((r) => [taskOf.get(r.id!), r.reason]))).toEqual(expected);
    for (const r of result.records.filter((r) => r.outcome.resolved === false)) {
      expect(r.values?.labeler).toBe('teacher');
      expect(r.values?.values).toHaveLength(r.steps.length);
    }

    // Live requests only for what no batch answered: the error-file line, the 500 line, the refused one.
    const live = fake.requests.filter((r) => !r.viaBatch);
    expect(new Set(live.map((r) => r.task))).toEqual(new Set(['error-file line [batch:error]', 'output line with status 500 [batch:500]', 'refused by the server [faults:400]']));
    expect(live.filter((r) => r.task.includes('[faults:400]'))).toHaveLength(1);
    // Round 1 asks 7 runs, round 2 the two re-asks, round 3 the always-invalid run's last attempt.
    expect(api.uploads).toBe(3);
    expect(api.creates).toBe(3);
    expect(fake.requests.filter((r) => r.viaBatch && r.task.startsWith('always invalid'))).toHaveLength(3);

    const teacher = (result.manifest!.stats as { teacher: TeacherStats }).teacher;
    expect(teacher.requests).toBe(live.length);
    expect(teacher.batch).toMatchObject({ price_factor: 0.5, uploads: 3, created: 3, collected: 3, requests: 10, answered: 7, failed_lines: 3 });
    expect(teacher.batch.ids).toEqual([...api.batches.keys()]);
    // The batch price: batch tokens at half the live price, live tokens at the full one, both in the total.
    const prices = { promptPerMTok: 1000, completionPerMTok: 4000 };
    expect(teacher.batch.prompt_tokens).toBeGreaterThan(0);
    expect(teacher.batch.estimated_cost).toBe(round4(costOf(prices, teacher.batch.prompt_tokens, teacher.batch.completion_tokens) * 0.5));
    expect(teacher.live_estimated_cost).toBe(round4(costOf(prices, teacher.prompt_tokens, teacher.completion_tokens)));
    expect(teacher.estimated_cost).toBeCloseTo(teacher.batch.estimated_cost + teacher.live_estimated_cost, 4);

    // The key reached the server only in headers: not in the recorded batches nor the cache.
    for (const f of await readdir(join(cache, 'batches'))) expect(await readFile(join(cache, 'batches', f), 'utf8')).not.toContain(KEY);

    // A rerun with --force finds every answer cached: no upload, no batch; only the refused run is asked
    // again, live (failed requests are never cached, as in live mode), since a batch already failed its line.
    const before = { uploads: api.uploads, creates: api.creates, requests: fake.requests.length };
    const again = await runLabelPipeline({ input, out, sets: batchSets(fake.url, cache), force: true });
    expect({ uploads: api.uploads, creates: api.creates, requests: fake.requests.length }).toEqual({ ...before, requests: before.requests + 1 });
    expect(fake.requests.at(-1)).toMatchObject({ task: 'refused by the server [faults:400]', viaBatch: false });
    expect(again.records.map((r) => r.values)).toEqual(result.records.map((r) => r.values));
  });

  it('shows the batch price: the same batch costs half at batch_price_factor 0.5 of what it costs at 1', async () => {
    const costs: number[] = [];
    for (const factor of [0.5, 1]) {
      const { fake } = await startBatchTeacher();
      const { input, cache, out } = await setUpRuns([{ task: 'plain one' }, { task: 'plain two' }]);
      const result = await runLabelPipeline({ input, out, sets: batchSets(fake.url, cache, [`label.limits.batch_price_factor=${factor}`]) });
      const teacher = (result.manifest!.stats as { teacher: TeacherStats }).teacher;
      expect(teacher.requests).toBe(0);
      costs.push(teacher.estimated_cost);
      // The run report's teacher accounting carries the batch lines and their price too.
      const report = await collectReport(out, 't', ReportConfig.parse({}));
      expect(report.teacher?.batch).toMatchObject({ price_factor: factor, requests: 2, answered: 2, estimated_cost: teacher.batch.estimated_cost });
      expect(report.teacher?.estimated_cost).toBe(teacher.estimated_cost);
      await fake.close();
    }
    expect(costs[0]).toBeGreaterThan(0);
    expect(costs[0]).toBeCloseTo(costs[1]! / 2, 4);
  });

  it('--dry-run prices the requests at the batch price and submits nothing', async () => {
    const { fake, api } = await startBatchTeacher();
    const { input, cache, out } = await setUpRuns([{ task: 'plain one' }, { task: 'plain two' }]);
    const reasons: string[] = [];
    for (const mode of ['live', 'batch']) {
      const result = await runLabelPipeline({ input, out, dryRun: true, sets: batchSets(fake.url, cache, [`label.mode=${mode}`]) });
      const o = result.labelOutcome;
      reasons.push(o?.status === 'stopped' ? o.reason : '');
    }
    const cost = (r: string) => Number(/estimated cost ~\$([0-9.]+)/.exec(r)?.[1]);
    expect(reasons[1]).toMatch(/at the batch price \(label\.limits\.batch_price_factor = 0\.5/);
    expect(cost(reasons[1]!)).toBeGreaterThan(0);
    expect(cost(reasons[1]!)).toBeCloseTo(cost(reasons[0]!) / 2, 3);
    expect({ uploads: api.uploads, creates: api.creates, requests: fake.requests.length }).toEqual({ uploads: 0, creates: 0, requests: 0 });
  });

  it('a batch that expires answers what it did; the rest goes live', async () => {
    const { fake, api } = await startBatchTeacher({ finalStatus: 'expired' });
    const { runs, input, cache, out } = await setUpRuns(Array.from({ length: 4 }, (_, i) => ({ task: `expiring ${i}` })));
    const result = await runLabelPipeline({ input, out, sets: batchSets(fake.url, cache) });
    expect(result.records.map((r) => r.id)).toEqual(runs.map((r) => r.id));
    expect(result.records.every((r) => r.values?.labeler === 'teacher')).toBe(true);
    expect(api.creates).toBe(1);
    expect(fake.requests.filter((r) => !r.viaBatch)).toHaveLength(2);
    const teacher = (result.manifest!.stats as { teacher: TeacherStats }).teacher;
    expect(teacher.batch).toMatchObject({ requests: 4, answered: 2, failed_lines: 2 });
  });

  it('a batch still running at max_wait_s stops resumably naming it; the rerun polls it, submits nothing again', async () => {
    const { fake, api } = await startBatchTeacher({ hold: true });
    const { runs, input, cache, out } = await setUpRuns([{ task: 'held one' }, { task: 'held two' }]);
    const sets = batchSets(fake.url, cache, ['label.batch.max_wait_s=0.1']);
    const first = await runLabelPipeline({ input, out, sets });
    const stopped = first.labelOutcome;
    expect(stopped?.status).toBe('stopped');
    expect(stopped?.status === 'stopped' && stopped.reason).toMatch(/still running after .*a rerun of the same command continues polling batch id\(s\) batch_\d+/);
    expect(api.creates).toBe(1);

    // As if the first run died after uploading and creating but before recording either: the rerun finds the
    // file by its name and the batch by its input file at the provider.
    const [name] = await readdir(join(cache, 'batches'));
    const path = join(cache, 'batches', name!);
    const record = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    expect(record).toMatchObject({ status: 'submitted', batch_id: 'batch_2', file_id: 'file-1' });
    await writeFile(path, JSON.stringify({ ...record, file_id: null, batch_id: null, status: 'uploading' }));
    const lists = api.lists;

    api.opts.hold = false;
    const second = await runLabelPipeline({ input, out, sets });
    expect(second.labelOutcome?.status).toBe('ran');
    expect(second.records.map((r) => r.id)).toEqual(runs.map((r) => r.id));
    expect({ uploads: api.uploads, creates: api.creates, lists: api.lists - lists }).toEqual({ uploads: 1, creates: 1, lists: 2 });
    expect(fake.requests.filter((r) => !r.viaBatch)).toHaveLength(0);
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ status: 'collected', batch_id: 'batch_2', file_id: 'file-1', failed: [] });
  });

  it('a run SIGKILLed once its batch is created, rerun, submits nothing twice and collects the recorded batch', async () => {
    const { fake, api } = await startBatchTeacher({ hold: true });
    const { runs, input, cache, out } = await setUpRuns(Array.from({ length: 5 }, (_, i) => ({ task: `killed run ${i}`, steps: 6 })));
    const args = [
      'run', '--input', input, '--out', out, '--quiet',
      '--set', 'filter.enabled=false', '--set', 'dedup.enabled=false', '--set', 'segment.enabled=false',
      '--set', `label.cache_dir=${cache}`, '--set', `label.teacher.api_key_env=${TEST_KEY_ENV}`,
      '--set', 'label.mode=batch', '--set', 'label.batch.poll_interval_s=0.01',
      '--teacher-base-url', fake.url, '--teacher-model', 'fake',
    ];
    const first = cli(args);
    const started = Date.now();
    while (api.creates < 1 && Date.now() - started < 60_000) await new Promise((r) => setTimeout(r, 5));
    first.kill();
    expect((await first.done).code).toBeNull();
    expect({ uploads: api.uploads, creates: api.creates }).toEqual({ uploads: 1, creates: 1 });
    // The submission is recorded beside the cache, where the killed stage's temporary folder cannot take it along.
    expect((await readdir(join(cache, 'batches'))).filter((f) => f.endsWith('.json'))).toHaveLength(1);

    api.opts.hold = false;
    const second = await cli(args).done;
    expect(second.code, second.stderr).toBe(0);
    expect({ uploads: api.uploads, creates: api.creates }).toEqual({ uploads: 1, creates: 1 });
    expect(fake.requests.filter((r) => !r.viaBatch)).toHaveLength(0);
    expect(fake.requests.filter((r) => r.viaBatch)).toHaveLength(runs.length);
    const records = await recordsOf(out, 'label');
    expect(records.map((r) => r.id)).toEqual(runs.map((r) => r.id));
    expect(records.every((r) => r.values?.labeler === 'teacher')).toBe(true);
  }, 120_000);
});
