import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import type { PipelineRecord } from '../../schemas/index.js';
import { startFakeTeacher, type FakeTeacher } from './fake-teacher.js';
import { allFiles, makeRun, readJsonl, tempDir, writeRuns } from './fixtures.js';
import { recordsOf } from '../helpers/records.js';

const ROOT = resolve(import.meta.dirname, '../..');
const KEY_ENV = 'TRAJPIPE_TEST_TEACHER_KEY';
const KEY = 'sk-cli-test-0a1b2c3d4e5f-SECRET';

let fake: FakeTeacher | null = null;
afterEach(async () => {
  await fake?.close();
  fake = null;
});

function cli(args: string[], cwd = ROOT): { done: Promise<{ code: number | null; stderr: string }>; kill: () => void } {
  const child = spawn(process.execPath, [join(ROOT, 'bin/trajpipe.js'), ...args], { cwd, env: { ...process.env, [KEY_ENV]: KEY }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; stderr: string }>((res) => child.on('close', (code) => res({ code, stderr })));
  return { done, kill: () => child.kill('SIGKILL') };
}

const labelRecords = (out: string): Promise<PipelineRecord[]> => recordsOf(out, 'label');

async function cacheEntries(cache: string): Promise<number> {
  return (await allFiles(cache)).filter((f) => /\/[0-9a-f]{64}\.json$/.test(f)).length;
}

describe('label through the CLI', () => {
  it('a run killed while labelling resumes asking only for runs not yet answered', async () => {
    fake = await startFakeTeacher({ latencyMs: 150 });
    const dir = await tempDir();
    const runs = Array.from({ length: 16 }, (_, i) => makeRun({ task: `Fix bug number ${i} in the widget module.`, steps: 6 }, i));
    const input = await writeRuns(dir, runs);
    const out = join(dir, 'out');
    const cache = join(dir, 'cache');
    const args = [
      'run', '--input', input, '--out', out, '--quiet',
      '--set', 'filter.enabled=false', '--set', 'dedup.enabled=false', '--set', 'segment.enabled=false',
      '--set', `label.cache_dir=${cache}`, '--set', `label.teacher.api_key_env=${KEY_ENV}`, '--set', 'label.limits.concurrency=2',
      '--teacher-base-url', fake.url, '--teacher-model', 'fake',
    ];
    const first = cli(args);
    const started = Date.now();
    while (fake.answered < 4 && Date.now() - started < 30_000) await new Promise((r) => setTimeout(r, 20));
    first.kill();
    const killed = await first.done;
    expect(killed.code).toBeNull();
    const answeredBeforeKill = await cacheEntries(cache);
    expect(answeredBeforeKill).toBeGreaterThanOrEqual(1);
    expect(answeredBeforeKill).toBeLessThan(16);

    const before = fake.requests.length;
    const second = await cli(args).done;
    expect(second.code, second.stderr).toBe(0);
    expect(fake.requests.length - before).toBe(16 - answeredBeforeKill);
    const labelled = await labelRecords(out);
    expect(labelled.map((r) => r.id)).toEqual(runs.map((r) => r.id));
    expect(labelled.every((r) => r.values?.labeler === 'teacher')).toBe(true);

    // (A rerun with nothing changed sending nothing is shown in-process, in teacher-stage.test.ts.)
    for (const f of [...(await allFiles(out)), ...(await allFiles(cache))]) expect(await readFile(f, 'utf8'), f).not.toContain(KEY);
  }, 60_000);

  it('the sample build labels its failed runs offline with the heuristic, and through the teacher when pointed at one', async () => {
    const dir = await tempDir();
    const out = join(dir, 'out');
    const cache = join(dir, 'cache');
    const offline = await cli(['run', 'pipelines/sample.yaml', '--out', out, '--quiet', '--set', `label.cache_dir=${cache}`]).done;
    expect(offline.code, offline.stderr).toBe(0);
    const heuristic = await labelRecords(out);
    const failed = heuristic.filter((r) => r.outcome.resolved === false);
    expect(failed.length).toBeGreaterThanOrEqual(3);
    for (const r of heuristic) {
      if (r.outcome.resolved === false) expect(r.values?.labeler).toBe('heuristic');
      else expect(r.values).toBeNull();
    }

    fake = await startFakeTeacher();
    const teacher = await cli(['run', 'pipelines/sample.yaml', '--out', out, '--quiet', '--set', `label.cache_dir=${cache}`, '--teacher-base-url', fake.url, '--teacher-model', 'fake']).done;
    expect(teacher.code, teacher.stderr).toBe(0);
    const taught = await labelRecords(out);
    const taughtFailed = taught.filter((r) => r.outcome.resolved === false);
    expect(taughtFailed.map((r) => r.id)).toEqual(failed.map((r) => r.id));
    expect(taughtFailed.every((r) => r.values?.labeler === 'teacher' && r.values.model === 'fake')).toBe(true);
    expect(fake.requests).toHaveLength(failed.length);
  }, 60_000);

  it('a dead teacher stops label with exit 3 and one sentence; the same command retries once it is back', async () => {
    const dir = await tempDir();
    const runs = Array.from({ length: 3 }, (_, i) => makeRun({ task: `Dead teacher run ${i}.`, steps: 4 }, i));
    const input = await writeRuns(dir, runs);
    const out = join(dir, 'out');
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const args = [
      'run', '--input', input, '--out', out, '--quiet',
      '--set', 'filter.enabled=false', '--set', 'dedup.enabled=false', '--set', 'segment.enabled=false',
      '--set', 'label.limits.max_retries=2', '--set', 'label.limits.backoff_base_s=0.01', '--set', 'label.limits.backoff_max_s=0.02',
      '--set', `label.teacher.api_key_env=${KEY_ENV}`,
      '--teacher-base-url', `http://127.0.0.1:${port}/v1`, '--teacher-model', 'fake',
    ];
    const dead = await cli(args).done;
    expect(dead.code, dead.stderr).toBe(3);
    // One sentence (besides config warnings, e.g. that the filter is off in this test).
    const lines = dead.stderr.trim().split('\n').filter((l) => !l.startsWith('warning:'));
    expect(lines, dead.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(`^trajpipe: stopped at label: the teacher at http://127\\.0\\.0\\.1:${port}/v1 failed a request 3 time\\(s\\) in a row and answered nothing else meanwhile \\(last: connection failed \\(ECONNREFUSED\\)\\)\\. Rerun the same command to resume\\.$`),
    );

    // The teacher comes back on the same port: the plain same command labels every run.
    fake = await startFakeTeacher({ port });
    const back = await cli(args).done;
    expect(back.code, back.stderr).toBe(0);
    expect(fake.requests).toHaveLength(3);
    expect((await labelRecords(out)).map((r) => r.values?.labeler)).toEqual(['teacher', 'teacher', 'teacher']);
  }, 240_000);

  it("a relative label.cache_dir is taken from the output folder: the same command from another directory pays nothing again, and the manifest names the cache", async () => {
    fake = await startFakeTeacher();
    const dir = await tempDir();
    const input = await writeRuns(dir, [makeRun({ task: 'Cache anywhere.', steps: 4 }, 0)]);
    const out = join(dir, 'out');
    const [here, there] = [join(dir, 'here'), join(dir, 'there')];
    await mkdir(here);
    await mkdir(there);
    const args = [
      'run', '--input', input, '--out', out, '--quiet', '--force',
      '--set', 'filter.enabled=false', '--set', 'dedup.enabled=false', '--set', 'segment.enabled=false',
      '--teacher-base-url', fake.url, '--teacher-model', 'fake',
    ];
    expect((await cli(args, here).done).code).toBe(0);
    expect((await cli(args, there).done).code).toBe(0);
    expect(fake.requests).toHaveLength(1);
    const manifest = JSON.parse(await readFile(join(out, 'label', 'manifest.json'), 'utf8')) as { stats: { cache: { dir: string } } };
    expect(manifest.stats.cache.dir).toBe(join(out, 'cache', 'teacher'));
    expect(await cacheEntries(join(out, 'cache', 'teacher'))).toBe(1);
    expect(await allFiles(join(here, 'data'))).toEqual([]);
  }, 240_000);
});
