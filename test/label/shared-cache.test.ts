import { fork, type ChildProcess } from 'node:child_process';
import { readdir, stat, utimes, writeFile, mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { currentHolder } from '../../src/core/holder.js';
import { loadTokenCounter } from '../../src/core/tokenizer.js';
import { hostTag, tempPathFor } from '../../src/io/atomic.js';
import { removeCacheLeftovers } from '../../src/runner/cleanup.js';
import { TeacherAccounts } from '../../src/teacher/accounting.js';
import { completionProblem } from '../../src/teacher/answer.js';
import { ResponseCache } from '../../src/teacher/cache.js';
import { CacheClaims } from '../../src/teacher/claims.js';
import { createOpenAITransport } from '../../src/teacher/client.js';
import { TeacherLabeler } from '../../src/teacher/labeler.js';
import { BUILTIN_INSTRUCTIONS } from '../../src/teacher/prompt.js';
import { TeacherRequester } from '../../src/teacher/requester.js';
import { startFakeTeacher, type FakeTeacher } from './fake-teacher.js';
import { TEST_KEY_ENV, allFiles, makeRun, runLabelPipeline, setUpRuns, teacherSets } from './fixtures.js';

const CHILD = join(dirname(new URL(import.meta.url).pathname), 'shared-cache-child.ts');

let fake: FakeTeacher | null = null;
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await fake?.close();
  fake = null;
});

interface ChildResult {
  status?: string;
  values?: (number[] | null)[];
  teacher?: { requests: number; cache_hits: number; shared_cache?: { waited_for_other_process: number; claims_taken_over: number } } | null;
  error?: string;
}

/** A label run in its own process, loaded and waiting for go(). */
async function startChild(args: { input: string; out: string; sets: string[] }) {
  const child = fork(CHILD, [JSON.stringify(args)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  children.push(child);
  const messages: unknown[] = [];
  let notify: (() => void) | null = null;
  child.on('message', (m) => {
    messages.push(m);
    notify?.();
  });
  const next = () =>
    new Promise<unknown>((resolve, reject) => {
      const take = () => (messages.length ? resolve(messages.shift()) : undefined);
      notify = take;
      child.once('exit', (code, signal) => setTimeout(() => (messages.length ? take() : reject(new Error(`child exited (${code ?? signal})`))), 50));
      take();
    });
  expect(await next()).toBe('ready');
  return { child, go: () => child.send('go'), result: () => next() as Promise<ChildResult> };
}

async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const entries = async (cache: string) => (await allFiles(cache)).filter((f) => /\/[0-9a-f]{64}\.json$/.test(f));
const claimFiles = async (cache: string) => (await allFiles(cache)).filter((f) => f.endsWith('.claim'));

async function expectEveryEntryValid(cache: string): Promise<number> {
  const rc = new ResponseCache(cache);
  const files = await entries(cache);
  for (const f of files) {
    const raw = await rc.get(f.split('/').pop()!.slice(0, 64));
    expect(raw, f).not.toBeNull();
    expect(completionProblem(raw!), f).toBeNull();
  }
  return files.length;
}

describe('one teacher cache shared by concurrent processes', () => {
  it('three label processes over the same runs (two children and this one): every distinct request reaches the server exactly once, every entry valid', async () => {
    fake = await startFakeTeacher({ latencyMs: 300 });
    const specs = Array.from({ length: 16 }, (_, i) => ({ task: `shared run ${i}`, steps: 4 + (i % 5) }));
    const { input, cache, dir } = await setUpRuns(specs);
    const sets = teacherSets(fake.url, cache, [], { timeout_s: 30, concurrency: 4 });
    const procs = await Promise.all([0, 1].map((k) => startChild({ input, out: join(dir, `out-${k}`), sets })));
    process.env[TEST_KEY_ENV] = 'sk-shared-cache-test';
    procs.forEach((p) => p.go());
    const here = runLabelPipeline({ input, out: join(dir, 'out-here'), sets }).then((r) => ({
      status: r.labelOutcome?.status,
      values: r.records.map((x) => x.values?.values ?? null),
      teacher: (r.manifest!.stats as { teacher: ChildResult['teacher'] }).teacher,
    }));
    const results: ChildResult[] = await Promise.all([...procs.map((p) => p.result()), here]);

    for (const r of results) {
      expect(r.error).toBeUndefined();
      expect(r.status).toBe('ran');
      expect(r.values).toEqual(results[0]!.values);
      expect(r.values!.every((v) => Array.isArray(v))).toBe(true);
    }
    const hashes = fake.requests.map((r) => r.bodyHash);
    expect(new Set(hashes).size).toBe(16);
    expect(hashes).toHaveLength(16); // none sent twice
    expect(results.reduce((n, r) => n + r.teacher!.requests, 0)).toBe(16);
    expect(results.reduce((n, r) => n + r.teacher!.cache_hits, 0)).toBe(32);
    expect(await expectEveryEntryValid(cache)).toBe(16);
    expect(await claimFiles(cache)).toEqual([]);
    const waited = results.reduce((n, r) => n + (r.teacher!.shared_cache?.waited_for_other_process ?? 0), 0);
    process.stdout.write(`shared cache: 16 requests sent by 3 processes, ${waited} answers waited for instead of asked\n`);
  });

  it('a process killed while holding a claim: the other takes it over; the request is sent once more, at most', async () => {
    fake = await startFakeTeacher({ slowMs: 60_000 });
    // The first request for this run never answers (the holder is killed while it waits); the next one does.
    const { input, cache, dir } = await setUpRuns([{ task: 'killed holder [faults:slow,ok]', steps: 5 }]);
    const sets = teacherSets(fake.url, cache, [], { timeout_s: 120, concurrency: 2 });
    const holder = await startChild({ input, out: join(dir, 'out-a'), sets });
    holder.go();
    await until(async () => fake!.requests.length === 1 && (await claimFiles(cache)).length === 1, 'the holder to send its request');

    // The frame's leftover cleanup (also run by the second run below) leaves a live process's claim alone.
    await removeCacheLeftovers([cache]);
    expect(await claimFiles(cache)).toHaveLength(1);

    process.env[TEST_KEY_ENV] = 'sk-shared-cache-test';
    const second = runLabelPipeline({ input, out: join(dir, 'out-b'), sets });
    await new Promise((r) => setTimeout(r, 500)); // usually long enough to be waiting on the claim; either way is fine
    expect(fake.requests).toHaveLength(1); // alive holder: not asked again
    const exited = new Promise((r) => holder.child.once('exit', r));
    holder.child.kill('SIGKILL');
    await exited;
    const r = await second;

    expect(r.labelOutcome?.status).toBe('ran');
    expect(r.records[0]!.values?.labeler).toBe('teacher');
    expect(fake.requests).toHaveLength(2); // the killed holder's (never answered) and the takeover's
    expect(fake.requests[1]!.bodyHash).toBe(fake.requests[0]!.bodyHash);
    expect((r.manifest!.stats as { teacher: { shared_cache?: unknown } }).teacher.shared_cache).toMatchObject({ claims_taken_over: 1 });
    expect(await expectEveryEntryValid(cache)).toBe(1);
    expect(await claimFiles(cache)).toEqual([]);
  });

  it("another host's claim is waited for while it is touched, and taken over once it stops changing", async () => {
    fake = await startFakeTeacher();
    const { cache } = await setUpRuns([]);
    const { config } = await loadConfig(null, ['name=t', `label.teacher.base_url=${fake.url}`, 'label.teacher.model=fake']);
    const labeler = new TeacherLabeler(config.label.teacher, BUILTIN_INSTRUCTIONS, await loadTokenCounter(config.tokenizer));
    const accounts = new TeacherAccounts({ promptPerMTok: 0, completionPerMTok: 0 });
    const claims = new CacheClaims(cache, { staleMs: 1_500, heartbeatMs: 500, pollMaxMs: 100 });
    const requester = new TeacherRequester({
      transport: createOpenAITransport({ baseURL: fake.url, apiKey: undefined }),
      cache: new ResponseCache(cache),
      claims,
      limits: config.label.limits,
      accounts,
      meta: { model: 'fake', prompt_version: 'hindsight-1' },
      endpoint: fake.url,
    });
    const prepared = labeler.prepare(makeRun({ task: 'claimed elsewhere', steps: 4 }));
    if ('tooLong' in prepared) throw new Error('too long');
    const key = labeler.plan(prepared, 0, 0)[0]!.key;
    const claim = claims.pathFor(key);
    await mkdir(dirname(claim), { recursive: true });
    await writeFile(claim, JSON.stringify({ pid: 4242, start_time: null, host: 'node-elsewhere', token: 'abc', since: new Date().toISOString() }) + '\n');

    const touching = setInterval(() => void utimes(claim, new Date(), new Date()).catch(() => undefined), 100);
    const labelled = labeler.label(prepared, requester);
    await new Promise((r) => setTimeout(r, 2_500));
    expect(fake.requests).toHaveLength(0); // touched: alive, whatever its pid means here
    clearInterval(touching);
    const result = await labelled;

    expect(result.kind).toBe('labelled');
    expect(fake.requests).toHaveLength(1);
    expect(accounts.claimsTakenOver).toBe(1);
    expect(await claimFiles(cache)).toEqual([]);
  });

  it("the frame's cleanup keeps live claims and other hosts' temporary files, and removes dead writers' temporaries", async () => {
    const { cache } = await setUpRuns([]);
    const claims = new CacheClaims(cache, { staleMs: 60_000, heartbeatMs: 10_000 });
    const key = 'ab'.repeat(32);
    const held = await claims.tryClaim(key, async () => null);
    expect(held.kind).toBe('held');
    const folder = dirname(claims.pathFor(key));
    const me = currentHolder();
    const foreign = `.${key}.json.tmp-${me.pid + 1}-123-0-h${hostTag(`${hostname()}-other`)}`; // a pid that means nothing here
    const dead = `.${key}.json.tmp-99999999-123-0-h${hostTag(hostname())}`;
    const live = tempPathFor(join(folder, `${key}.json`)).split('/').pop()!;
    for (const f of [foreign, dead, live]) await writeFile(join(folder, f), 'x');

    expect(await removeCacheLeftovers([cache])).toBe(1);
    expect((await readdir(folder)).sort()).toEqual([foreign, `${key}.claim`, live].sort());
    await stat(claims.pathFor(key));
    if (held.kind === 'held') await held.release();
    expect(await readdir(folder)).not.toContain(`${key}.claim`);
  });
});
