// The whole pipeline as 4 shards in separate processes (phase 1, reduce, phase 3, gather), compared byte for
// byte with a single-process run: on the sample and on ../shared/corpus, with one shard SIGKILLed mid-run and rerun.
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, hashTree, runCli, startCli, tempDir } from '../helpers/cli.js';

const N = 4;
const CORPUS = join(ROOT, '../shared/corpus');
const HAVE_CORPUS = existsSync(CORPUS);
if (!HAVE_CORPUS) console.warn(`SKIPPED: ${CORPUS} not found; the sharded run on the real corpus did not run (the sample one did).`);

/** Files whose bytes must match (manifests carry timings and fingerprints, so they differ by design). */
const compared = (dir: string) => hashTree(dir, (rel) => rel.endsWith('manifest.json'));

async function ok(args: string[]): Promise<string> {
  const r = await runCli(args);
  expect(r.code, `${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r.stderr;
}

/** Starts shard `victim`'s run and SIGKILLs it as soon as it writes any stage's temporary folder. */
async function killMidRun(args: string[], shardFolder: string): Promise<boolean> {
  const { child, done } = startCli(args);
  let killed = false;
  const poll = setInterval(() => {
    void readdir(shardFolder)
      .then((names) => {
        if (!killed && names.some((n) => /\.partial-/.test(n))) {
          killed = true;
          child.kill('SIGKILL');
        }
      })
      .catch(() => undefined);
  }, 10);
  const r = await done;
  clearInterval(poll);
  return killed && r.signal === 'SIGKILL';
}

async function shardedMatchesSingle(common: string[]): Promise<void> {
  const base = await tempDir('trajpipe-shards-');
  const single = join(base, 'single');
  const sharded = join(base, 'sharded');
  const run = (out: string, extra: string[] = []) => ['run', ...common, '--out', out, '-q', ...extra];

  const singleDone = ok(run(single));
  // Phase 1: every shard stops after its dedup map with one line saying it waits for the reduce.
  const phase1 = await Promise.all(Array.from({ length: N }, (_, i) => ok(run(sharded, ['--shard', `${i}/${N}`]))));
  for (const line of phase1) expect(line).toMatch(/waiting for `trajpipe reduce --shards 4`/);
  await ok(['reduce', ...common, '--out', sharded, '--shards', String(N), '-q']);
  expect(existsSync(join(sharded, 'dedup-reduce', 'manifest.json'))).toBe(true);

  // Phase 3: shard 1 is killed mid-run and run again; the others run through.
  const victim = join(sharded, 'shards', `1-of-${N}`);
  const killed = await killMidRun(run(sharded, ['--shard', `1/${N}`]), victim);
  if (!killed) console.warn('sharded run: shard 1 finished before it could be killed; its rerun is then an up-to-date run');
  await Promise.all([0, 1, 2, 3].map((i) => ok(run(sharded, ['--shard', `${i}/${N}`]))));
  await ok(['gather', ...common, '--out', sharded, '--shards', String(N), '-q']);
  await singleDone;

  const want = await compared(join(single, 'export'));
  const got = await compared(join(sharded, 'export'));
  expect(Object.keys(want).filter((k) => k.startsWith('data/')).length).toBeGreaterThan(1);
  expect(got).toEqual(want);
  // The stages the gather runs after export read only export, so they match too.
  for (const stage of ['tokenize', 'formats']) {
    if (existsSync(join(single, stage))) expect(await compared(join(sharded, stage))).toEqual(await compared(join(single, stage)));
  }
}

describe('a sharded run gives the single-process export, byte for byte', () => {
  it('on the sample (4 shards in separate processes, reduce, gather; one shard SIGKILLed and rerun)', async () => {
    await shardedMatchesSingle(['pipelines/sample.yaml']);
  }, 600_000);

  it.skipIf(!HAVE_CORPUS)('on ../shared/corpus, with duplicate tasks across shards and a per-task cap', async () => {
    await shardedMatchesSingle(['--input', CORPUS, '--set', 'dedup.per_task_cap=2', '--set', 'export.shard.max_rows=4']);
  }, 600_000);
});
