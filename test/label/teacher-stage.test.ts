import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../../src/core/errors.js';
import { startFakeTeacher, type FakeTeacher } from './fake-teacher.js';
import { TEST_KEY_ENV, allFiles, runLabelPipeline, setUpRuns as setUp, teacherSets, type RunSpec } from './fixtures.js';

const KEY_ENV = TEST_KEY_ENV;
const KEY = 'sk-test-9f8e7d6c5b4a-SECRET';

let fake: FakeTeacher | null = null;
afterEach(async () => {
  await fake?.close();
  fake = null;
});
beforeAll(() => {
  process.env[KEY_ENV] = KEY;
});

describe('label stage against a misbehaving OpenAI-compatible teacher', () => {
  it('labels or rejects every failed run exactly once, whatever the server does', async () => {
    fake = await startFakeTeacher({ slowMs: 3_000, retryAfter: '0.05' });
    const expected: Record<string, string> = {};
    const specs: RunSpec[] = [
      { task: 'resolved run', resolved: true },
      { task: 'no outcome label', resolved: null },
      { task: 'plain' },
      { task: 'rate limited once [faults:429,ok]' },
      { task: 'two server errors [faults:500,500,ok]' },
      { task: 'dropped connection [faults:drop,ok]' },
      { task: 'slower than the timeout [faults:slow,ok]' },
      { task: 'malformed JSON then fine [faults:malformed,ok]' },
      { task: 'wrong number of values [faults:wrong-count]' },
      { task: 'out of range values [faults:out-of-range]' },
      { task: 'answer in a code fence [faults:fenced]' },
      { task: 'truncated body then fine [faults:garbage-body,ok]' },
      { task: 'echoes the key in an answer [faults:echo-key-ok]' },
      { task: 'no structured output [faults:400]' },
      { task: 'failed run without steps', steps: 0 },
    ];
    Object.assign(expected, {
      'wrong number of values [faults:wrong-count]': 'teacher-invalid-answer',
      'out of range values [faults:out-of-range]': 'teacher-invalid-answer',
      'no structured output [faults:400]': 'teacher-request-failed',
      'failed run without steps': 'no-steps',
    });
    const { dir, runs, input, cache } = await setUp(specs);
    const out = join(dir, 'out');
    const result = await runLabelPipeline({ input, out, sets: teacherSets(fake.url, cache) });

    expect(result.labelOutcome?.status).toBe('ran');
    const byTask = new Map(runs.map((r) => [r.id, r.task]));
    // Every record accounted for once: labelled, passed through, or rejected.
    const seen = [...result.records.map((r) => r.id), ...result.rejects.map((r) => r.id!)];
    expect(seen.sort()).toEqual(runs.map((r) => r.id).sort());
    // Output order is input order, whatever order the answers came back in.
    expect(result.records.map((r) => r.id)).toEqual(runs.map((r) => r.id).filter((id) => result.records.some((r) => r.id === id)));

    for (const rej of result.rejects) expect(rej.reason).toBe(expected[byTask.get(rej.id!)!]);
    expect(result.rejects).toHaveLength(Object.keys(expected).length);
    for (const r of result.records) {
      if (r.outcome.resolved !== false) {
        expect(r.values).toBeNull();
        continue;
      }
      expect(r.values?.labeler).toBe('teacher');
      expect(r.values?.model).toBe('fake');
      expect(r.values?.prompt_version).toBe('hindsight-1');
      expect(r.values?.values).toHaveLength(r.steps.length);
      expect(r.values?.request_hash).toMatch(/^[0-9a-f]{64}$/);
      for (const v of r.values!.values) expect(v >= 0 && v <= 1).toBe(true);
    }
    const stats = result.manifest!.stats as { runs: Record<string, number>; teacher: Record<string, number> };
    expect(stats.runs).toMatchObject({ resolved: 1, 'no-outcome-label': 1, labelled: 9, rejected: 4 });
    expect(stats.teacher.requests).toBe(fake.requests.length);
    expect(stats.teacher.retries).toBeGreaterThanOrEqual(5);
    expect(stats.teacher.failures).toBe(1);
    expect(stats.teacher.prompt_tokens).toBeGreaterThan(0);

    // The key went to the server, and nowhere else.
    expect(fake.requests.every((r) => r.authorization === `Bearer ${KEY}`)).toBe(true);
    const files = [...(await allFiles(out)), ...(await allFiles(cache))];
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) expect(await readFile(f, 'utf8'), f).not.toContain(KEY);
    expect(result.rejects.find((r) => byTask.get(r.id!)!.includes('[faults:400]'))!.message).toContain('response_format');

    // A second build sharing the cache asks again only for runs whose requests failed (failures are not
    // cached); every answered run, valid or not, costs nothing; the output bytes are the same.
    const sent = fake.requests.length;
    const again = await runLabelPipeline({ input, out: join(dir, 'out2'), sets: teacherSets(fake.url, cache) });
    const reasked = new Set(fake.requests.slice(sent).map((r) => r.task));
    expect([...reasked].sort()).toEqual(['no structured output [faults:400]']);
    const part = async (o: string) => readFile(join(o, 'label', 'part-00000.jsonl'), 'utf8');
    expect(await part(join(dir, 'out2'))).toBe(await part(out));
    expect(again.rejects.map((r) => r.reason)).toEqual(result.rejects.map((r) => r.reason));
  }, 30_000);

  it('never has more requests in flight than the concurrency, and keeps input order', async () => {
    fake = await startFakeTeacher({ latencyMs: 20 });
    const specs = Array.from({ length: 12 }, (_, i) => ({ task: `run ${i} [delay:${(i * 37) % 60}]` }));
    const { dir, runs, input, cache } = await setUp(specs);
    const result = await runLabelPipeline({ input, out: join(dir, 'out'), sets: teacherSets(fake.url, cache, ['label.limits.concurrency=3']) });
    expect(fake.requests).toHaveLength(12);
    expect(fake.maxInFlight).toBe(3);
    expect(result.records.map((r) => r.id)).toEqual(runs.map((r) => r.id));
  });

  it('rerun: nothing changed sends nothing; a new prompt version re-asks for every run', async () => {
    fake = await startFakeTeacher();
    const { dir, input, cache } = await setUp(Array.from({ length: 5 }, (_, i) => ({ task: `run ${i}` })));
    const out = join(dir, 'out');
    await runLabelPipeline({ input, out, sets: teacherSets(fake.url, cache) });
    expect(fake.requests).toHaveLength(5);
    const forced = await runLabelPipeline({ input, out, sets: teacherSets(fake.url, cache), force: true });
    expect(forced.labelOutcome?.status).toBe('ran');
    expect(fake.requests).toHaveLength(5);
    const v2 = await runLabelPipeline({ input, out, sets: teacherSets(fake.url, cache, ['label.teacher.prompt_version=hindsight-1b']) });
    expect(fake.requests).toHaveLength(10);
    expect(v2.records.every((r) => r.values?.prompt_version === 'hindsight-1b')).toBe(true);
  });

  it('honours Retry-After with a cool-down shared by every request', async () => {
    fake = await startFakeTeacher({ retryAfter: '1' });
    const specs = [{ task: 'A [faults:429,ok]' }, { task: 'B [delay:30]' }, { task: 'C' }];
    const { dir, input, cache } = await setUp(specs);
    const result = await runLabelPipeline({ input, out: join(dir, 'out'), sets: teacherSets(fake.url, cache, ['label.limits.concurrency=2']) });
    expect(result.records.filter((r) => r.values)).toHaveLength(3);
    const first429 = fake.requests.find((r) => r.fault === '429')!.at;
    const retryA = fake.requests.filter((r) => r.task.startsWith('A'))[1]!.at;
    const c = fake.requests.find((r) => r.task === 'C')!.at;
    expect(retryA - first429).toBeGreaterThanOrEqual(950);
    // C was not rate limited itself, but it waited out A's cool-down.
    expect(c - first429).toBeGreaterThanOrEqual(950);
  }, 10_000);

  it('K samples: averaged, spread kept, disagreement flagged or dropped; K requests mode', async () => {
    fake = await startFakeTeacher();
    const specs = [{ task: 'agree [peaks:2,3,4]', steps: 8 }, { task: 'disagree [peaks:0,6,1]', steps: 8 }];
    const { dir, input, cache } = await setUp(specs);
    const sets = teacherSets(fake.url, cache, ['label.teacher.samples=3', 'label.teacher.peak_disagreement_steps=2']);
    const flagged = await runLabelPipeline({ input, out: join(dir, 'out'), sets });
    expect(fake.requests).toHaveLength(2);
    expect(fake.requests.every((r) => r.body.n === 3 && r.body.temperature === 0.7)).toBe(true);
    const [agree, disagree] = flagged.records;
    expect(agree!.values!.samples).toHaveLength(3);
    expect(agree!.values!.peak_disagreement).toBe(2);
    expect(agree!.values!.flags).not.toContain('samples-disagree');
    const s = agree!.values!.samples!;
    expect(agree!.values!.values[0]).toBeCloseTo((s[0]![0]! + s[1]![0]! + s[2]![0]!) / 3, 10);
    expect(agree!.values!.spread!.some((x) => x > 0)).toBe(true);
    expect(disagree!.values!.peak_disagreement).toBe(6);
    expect(disagree!.values!.flags).toContain('samples-disagree');

    const dropped = await runLabelPipeline({ input, out: join(dir, 'out-drop'), sets: [...sets, 'label.teacher.on_disagreement=drop'] });
    expect(fake.requests).toHaveLength(2); // cached: the disagreement policy never re-asks
    expect(dropped.rejects.map((r) => r.reason)).toEqual(['samples-disagree']);

    await runLabelPipeline({ input, out: join(dir, 'out-k'), sets: [...sets, 'label.teacher.samples_mode=requests'] });
    expect(fake.requests).toHaveLength(2 + 6);
    expect(fake.requests.slice(2).every((r) => r.body.n === undefined)).toBe(true);
  });

  it('shortens long observations head-and-tail, compacts to the budget, rejects what cannot fit', async () => {
    fake = await startFakeTeacher();
    const specs = [
      { task: 'long observations', steps: 2, observationChars: 12_000 },
      { task: 'needs compaction', steps: 4, observationChars: 20_000 },
      { task: 'far too long', steps: 400 },
    ];
    const { dir, input, cache } = await setUp(specs);
    const result = await runLabelPipeline({ input, out: join(dir, 'out'), sets: teacherSets(fake.url, cache, ['label.teacher.max_prompt_tokens=10000']) });
    const user = (i: number) => (fake!.requests[i]!.body.messages as { content: string }[])[1]!.content;
    const sentFor = (task: string) => fake!.requests.findIndex((r) => r.task === task);
    expect(user(sentFor('long observations'))).toContain('[... 2000 characters omitted ...]');
    // The fake's 2-step curve peaks at its last step: a failed run whose curve never falls is flagged too.
    expect(result.records[0]!.values!.flags).toEqual(['observations-shortened', 'curve-never-falls']);
    expect(result.records[1]!.values!.flags).toContain('compacted');
    expect(result.rejects.map((r) => r.reason)).toEqual(['too-long-for-teacher']);
    expect(fake.requests.some((r) => r.task === 'far too long')).toBe(false);
  });

  it('a request cap stops the stage cleanly; the rerun resumes, paying only for the rest', async () => {
    fake = await startFakeTeacher();
    const { dir, input, cache } = await setUp(Array.from({ length: 8 }, (_, i) => ({ task: `run ${i}` })));
    const out = join(dir, 'out');
    const capped = await runLabelPipeline({ input, out, sets: teacherSets(fake.url, cache, ['label.limits.concurrency=1', 'label.limits.max_requests=3']) });
    expect(capped.labelOutcome?.status).toBe('stopped');
    expect(capped.labelOutcome?.status === 'stopped' && capped.labelOutcome.reason).toMatch(/request cap/);
    expect(capped.manifest).toBeNull();
    expect(fake.requests).toHaveLength(3);
    const resumed = await runLabelPipeline({ input, out, sets: teacherSets(fake.url, cache) });
    expect(resumed.labelOutcome?.status).toBe('ran');
    expect(fake.requests).toHaveLength(8);
    expect(resumed.records.filter((r) => r.values?.labeler === 'teacher')).toHaveLength(8);

    const costly = await runLabelPipeline({
      input,
      out: join(dir, 'out-cost'),
      sets: teacherSets(fake.url, join(dir, 'cache2'), ['label.limits.concurrency=1', 'label.limits.price_prompt_per_mtok=1000', 'label.limits.max_cost=0.5']),
    });
    expect(costly.labelOutcome?.status === 'stopped' && costly.labelOutcome.reason).toMatch(/cost cap/);
    expect(fake.requests.length).toBeLessThan(8 + 8);
  });

  it('--dry-run counts requests, tokens and cost without sending anything', async () => {
    fake = await startFakeTeacher();
    const { dir, input, cache } = await setUp([...Array.from({ length: 4 }, (_, i) => ({ task: `run ${i}` })), { task: 'ok', resolved: true }]);
    const sets = teacherSets(fake.url, cache, ['label.limits.price_prompt_per_mtok=2', 'label.limits.price_completion_per_mtok=8']);
    const dry = await runLabelPipeline({ input, out: join(dir, 'out'), sets, dryRun: true });
    expect(fake.requests).toHaveLength(0);
    expect(dry.labelOutcome?.status).toBe('stopped');
    const reason = dry.labelOutcome?.status === 'stopped' ? dry.labelOutcome.reason : '';
    expect(reason).toMatch(/^dry run: 4 request\(s\) to send for 4 failed run\(s\) \(0 already answered/);
    expect(reason).toMatch(/~\d+ prompt \+ ~\d+ completion tokens, estimated cost ~\$0\.\d{4}/);
    await runLabelPipeline({ input, out: join(dir, 'out'), sets });
    const dry2 = await runLabelPipeline({ input, out: join(dir, 'out'), sets, dryRun: true, force: true });
    expect(dry2.labelOutcome?.status === 'stopped' && dry2.labelOutcome.reason).toMatch(/0 request\(s\) to send for 4 failed run\(s\) \(4 already answered/);
    expect(fake.requests).toHaveLength(4);
  });

  it('a wrong endpoint or model is one clear error, not a rejected run per record', async () => {
    fake = await startFakeTeacher();
    const { dir, input, cache } = await setUp([{ task: 'a' }, { task: 'b' }]);
    const wrong = fake.url.replace('/v1', '/v2');
    const err = await runLabelPipeline({ input, out: join(dir, 'out'), sets: teacherSets(wrong, cache) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/answered HTTP 404.*check label\.teacher\.base_url/);
    expect((err as Error).message).not.toContain(KEY);
  });
});
