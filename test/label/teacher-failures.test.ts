import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ResponseCache } from '../../src/teacher/cache.js';
import { startFakeTeacher, type FakeTeacher } from './fake-teacher.js';
import { TEST_KEY_ENV, allFiles, runLabelPipeline, setUpRuns as setUp, teacherSets, type RunSpec } from './fixtures.js';

const KEY_ENV = TEST_KEY_ENV;
const KEY = 'sk-test-failures-77aa88bb99cc-SECRET';

let fake: FakeTeacher | null = null;
afterEach(async () => {
  await fake?.close();
  fake = null;
});
beforeAll(() => {
  process.env[KEY_ENV] = KEY;
});

const sets = (url: string, cache: string, extra: string[] = []) => teacherSets(url, cache, extra, { timeout_s: 5, concurrency: 2 });

/** A URL where nothing listens: a port taken and released. */
async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return `http://127.0.0.1:${port}/v1`;
}

const cacheEntries = async (cache: string) => (await allFiles(cache)).filter((f) => /\/[0-9a-f]{64}\.json$/.test(f));
const reasonOf = (o: { status: string; reason?: string } | undefined) => (o?.status === 'stopped' ? (o.reason ?? '') : `(${o?.status})`);

describe('a teacher that fails stops the stage resumably; a rerun asks again', () => {
  it('a dead teacher (connection refused) stops the stage even with fewer runs than stop_after_failures', async () => {
    const { input, cache, out } = await setUp([{ task: 'a' }, { task: 'b' }, { task: 'c', resolved: true }]);
    const stopped = await runLabelPipeline({ input, out, sets: sets(await deadUrl(), cache) });
    expect(stopped.labelOutcome?.status).toBe('stopped');
    expect(reasonOf(stopped.labelOutcome)).toMatch(/^the teacher at http:\/\/127\.0\.0\.1:\d+\/v1 failed a request 4 time\(s\) in a row and answered nothing else meanwhile \(last: connection failed/);
    expect(stopped.manifest).toBeNull();
    expect(stopped.rejects).toEqual([]);

    // The same command once the teacher is back: every run is asked again and labelled.
    fake = await startFakeTeacher();
    const rerun = await runLabelPipeline({ input, out, sets: sets(fake.url, cache) });
    expect(rerun.labelOutcome?.status).toBe('ran');
    expect(fake.requests.map((r) => r.task).sort()).toEqual(['a', 'b']);
    expect(rerun.records.filter((r) => r.values?.labeler === 'teacher')).toHaveLength(2);
  }, 30_000);

  it('5xx after every retry stops the stage; the key echoed in the error is redacted from the reason', async () => {
    fake = await startFakeTeacher();
    const { input, cache, out } = await setUp([{ task: 'down [faults:echo-key-500]' }]);
    const stopped = await runLabelPipeline({ input, out, sets: sets(fake.url, cache) });
    expect(stopped.labelOutcome?.status).toBe('stopped');
    const reason = reasonOf(stopped.labelOutcome);
    expect(reason).toMatch(/HTTP 500/);
    expect(reason).toContain('[redacted]');
    expect(reason).not.toContain(KEY);
    expect(fake.requests).toHaveLength(4);
  });

  it('a 200 that is not a chat completion (HTML proxy page, JSON error) is retried, never cached, and stops the stage when it persists', async () => {
    fake = await startFakeTeacher();
    const { input, cache, out } = await setUp([
      { task: 'proxy page [faults:html,html,html,html,ok]' },
      { task: 'json error [faults:not-completion,not-completion,not-completion,not-completion,ok]' },
    ]);
    const stopped = await runLabelPipeline({ input, out, sets: sets(fake.url, cache, ['label.limits.concurrency=1']) });
    expect(stopped.labelOutcome?.status).toBe('stopped');
    // Both runs' requests take turns in the one slot with jittered back-offs, so either may be the one that
    // fails the fourth time first: the reason names whichever it was.
    expect(reasonOf(stopped.labelOutcome)).toMatch(
      /failed a request 4 time\(s\) in a row .*HTTP 200 with (a body that is not JSON \(an HTML page\?\)|JSON that is not a chat completion)/,
    );
    expect(await cacheEntries(cache)).toEqual([]);

    const rerun = await runLabelPipeline({ input, out, sets: sets(fake.url, cache, ['label.limits.concurrency=1']) });
    expect(rerun.labelOutcome?.status).toBe('ran');
    expect(rerun.records.map((r) => r.values?.labeler)).toEqual(['teacher', 'teacher']);
    // The proxy page's 5th request answered; the JSON error's run was first asked only now.
    expect(fake.requests.filter((r) => r.task.startsWith('proxy')).map((r) => r.fault)).toEqual(['html', 'html', 'html', 'html', 'ok']);
    expect(fake.requests.filter((r) => r.task.startsWith('json')).map((r) => r.fault).slice(-1)).toEqual(['ok']);
    const cached = await cacheEntries(cache);
    expect(cached).toHaveLength(2);
    for (const f of cached) expect(JSON.parse(JSON.parse(await readFile(f, 'utf8')).body).choices).toHaveLength(1);
  }, 30_000);

  it('a cache entry that is not a chat completion (left by an older version) is a miss and is asked again', async () => {
    fake = await startFakeTeacher();
    const { input, cache, out } = await setUp([{ task: 'cached badly' }]);
    await runLabelPipeline({ input, out, sets: sets(fake.url, cache) });
    const [file] = await cacheEntries(cache);
    const key = file!.split('/').pop()!.replace('.json', '');
    await new ResponseCache(cache).put(key, { model: 'fake', prompt_version: 'hindsight-1' }, '<html>proxy</html>');
    const again = await runLabelPipeline({ input, out: join(out, '..', 'out2'), sets: sets(fake.url, cache) });
    expect(fake.requests).toHaveLength(2);
    expect(again.records[0]!.values?.labeler).toBe('teacher');
    expect((again.manifest!.stats as { cache: { corrupt_entries_ignored: number } }).cache.corrupt_entries_ignored).toBe(1);
  });

  it("a request failing alone while the teacher answers others is the run's fault: that run is rejected, the rest labelled", async () => {
    fake = await startFakeTeacher();
    const specs: RunSpec[] = [{ task: 'poison [faults:500]' }, ...Array.from({ length: 6 }, (_, i) => ({ task: `fine ${i} [delay:20]` }))];
    const { input, cache, out } = await setUp(specs);
    const result = await runLabelPipeline({ input, out, sets: sets(fake.url, cache, ['label.limits.backoff_base_s=0.3', 'label.limits.backoff_max_s=0.5']) });
    expect(result.labelOutcome?.status).toBe('ran');
    expect(result.rejects.map((r) => r.reason)).toEqual(['teacher-request-failed']);
    expect(result.rejects[0]!.message).toMatch(/HTTP 500/);
    expect(result.records.filter((r) => r.values?.labeler === 'teacher')).toHaveLength(6);
  }, 30_000);

  it('runs refused with a 4xx are rejected; stop_after_failures of them in a row stop the stage', async () => {
    fake = await startFakeTeacher();
    const { input, cache, out } = await setUp([{ task: 'x [faults:400]' }, { task: 'y [faults:400]' }, { task: 'z [faults:400]' }]);
    const one = await runLabelPipeline({ input, out, sets: sets(fake.url, cache, ['label.limits.concurrency=1']) });
    expect(one.labelOutcome?.status).toBe('ran');
    expect(one.rejects.map((r) => r.reason)).toEqual(['teacher-request-failed', 'teacher-request-failed', 'teacher-request-failed']);
    expect(fake.requests).toHaveLength(3); // a 4xx is not retried

    const streak = await runLabelPipeline({ input, out: join(out, '..', 'out2'), sets: sets(fake.url, cache, ['label.limits.concurrency=1', 'label.limits.stop_after_failures=2']) });
    expect(streak.labelOutcome?.status).toBe('stopped');
    expect(reasonOf(streak.labelOutcome)).toMatch(/refused 2 runs' requests in a row \(last: HTTP 400.*check label\.teacher\.response_format/);
  });
});

describe('re-asking after an invalid answer', () => {
  it('sends a different body, so a deterministic server that answers that body validly gives a label; the variation is in the cache key', async () => {
    fake = await startFakeTeacher({ perDistinctBody: true });
    const { input, cache, out } = await setUp([{ task: 'deterministic [faults:wrong-count,ok]', steps: 5 }]);
    const result = await runLabelPipeline({ input, out, sets: sets(fake.url, cache) });
    expect(result.rejects).toEqual([]);
    expect(result.records[0]!.values?.values).toHaveLength(5);
    expect(fake.requests.map((r) => r.fault)).toEqual(['wrong-count', 'ok']);
    const users = fake.requests.map((r) => (r.body.messages as { role: string; content: string }[]).filter((m) => m.role === 'user'));
    expect(users[1]).toHaveLength(1);
    expect(users[1]![0]!.content.startsWith(users[0]![0]!.content)).toBe(true);
    expect(users[1]![0]!.content).toContain('(Attempt 2: the previous answer could not be used: wrong number of values: 4 for 5 steps.');
    expect(await cacheEntries(cache)).toHaveLength(2);

    // A rerun sharing the cache finds both answers under their own keys and sends nothing.
    const again = await runLabelPipeline({ input, out: join(out, '..', 'out2'), sets: sets(fake.url, cache) });
    expect(fake.requests).toHaveLength(2);
    expect(again.records[0]!.values).toEqual(result.records[0]!.values);
  });
});
