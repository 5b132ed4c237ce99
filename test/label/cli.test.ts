import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { PipelineRecord } from '../../schemas/index.js';
import { startFakeTeacher, type FakeTeacher } from './fake-teacher.js';
import { allFiles, makeRun, readJsonl, tempDir, writeRuns } from './fixtures.js';

const ROOT = resolve(import.meta.dirname, '../..');
const KEY_ENV = 'TRAJPIPE_TEST_TEACHER_KEY';
const KEY = 'sk-cli-test-0a1b2c3d4e5f-SECRET';

let fake: FakeTeacher | null = null;
afterEach(async () => {
  await fake?.close();
  fake = null;
});

function cli(args: string[]): { done: Promise<{ code: number | null; stderr: string }>; kill: () => void } {
  const child = spawn(process.execPath, ['bin/trajpipe.js', ...args], { cwd: ROOT, env: { ...process.env, [KEY_ENV]: KEY }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; stderr: string }>((res) => child.on('close', (code) => res({ code, stderr })));
  return { done, kill: () => child.kill('SIGKILL') };
}

async function labelRecords(out: string): Promise<PipelineRecord[]> {
  const dir = join(out, 'label');
  const parts = (await readdir(dir)).filter((f) => f.startsWith('part-')).sort();
  const all: PipelineRecord[] = [];
  for (const p of parts) all.push(...(await readJsonl<PipelineRecord>(join(dir, p))));
  return all;
}

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
});
