// npm run faults [-- --trials 50 --seed 1]
// The fault suite: SIGKILLs the whole process group of `trajpipe run` at random moments in every stage,
// with the label stage against a fake teacher that faults on 30% of requests (429 with Retry-After,
// 500, dropped connections, malformed and wrong-length answers), reruns to completion and compares
// every output file with an uninterrupted run. It prints the trials, how many ended byte-identical, and
// the teacher requests sent again for an answer the cache already held when the process was killed.
import { spawn } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { STAGE_ORDER } from '../schemas/index.js';
import { mulberry32, synthesizeCorpus } from '../bench/synth.js';
import { hashTree } from '../test/helpers/cli.js';
import { startFakeTeacher, type FakeTeacher } from '../test/label/fake-teacher.js';

const ROOT = resolve(import.meta.dirname, '..');
const args = await yargs(hideBin(process.argv))
  .option('trials', { type: 'number', default: 50 })
  .option('seed', { type: 'number', default: 1 })
  .option('fault-rate', { type: 'number', default: 0.3 })
  .option('synthetic-bytes', { type: 'number', default: 6e6, describe: 'Synthetic runs added to the sample, so every stage lasts long enough to be hit.' })
  .strict()
  .parse();

const rand = mulberry32(args.seed);
const work = await mkdtemp(join(tmpdir(), 'trajpipe-faults-'));
const input = join(work, 'input');
await cp(join(ROOT, 'data/sample'), join(input, 'sample'), { recursive: true });
await synthesizeCorpus({ dir: join(input, 'synth'), targetBytes: args['synthetic-bytes'], seed: args.seed, minTurns: 6, maxTurns: 30 });

function runArgs(out: string, cache: string, teacher: FakeTeacher): string[] {
  return [
    join(ROOT, 'bin/trajpipe.js'), 'run', '--input', input, '--out', out, '--quiet',
    '--teacher-base-url', teacher.url, '--teacher-model', 'fake',
    '--set', `label.cache_dir=${cache}`, '--set', 'label.limits.concurrency=4',
    '--set', 'label.limits.backoff_base_s=0.02', '--set', 'label.limits.backoff_max_s=0.2',
    '--set', 'export.shard.max_rows=16',
  ];
}

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Starts a run in its own process group; kill() SIGKILLs the whole group (the CLI and anything it started). */
function start(argv: string[]): { done: Promise<Ended>; kill: () => void } {
  const child = spawn(process.execPath, argv, { cwd: ROOT, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Ended>((res) => child.on('close', (code, signal) => res({ code, signal, stderr })));
  const kill = (): void => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch (err) {
      // The run may have ended on its own just before the kill: nothing left to kill.
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  };
  return { done, kill };
}

/**
 * Manifests may differ in timings, and the teacher's accounting (requests, retries, cache hits) in label's;
 * the run report shows that accounting too, so its embedded data is compared without it.
 */
async function comparable(dir: string): Promise<Record<string, string>> {
  const files = await hashTree(dir, (rel) => rel.endsWith('manifest.json') || rel === 'report.html');
  const report = await readFile(join(dir, 'report.html'), 'utf8').catch(() => null);
  if (report !== null) {
    files['report.html'] = report.replace(/(<script type="application\/json" id="report-data">)([^]*?)(<\/script>)/, (_, open: string, data: string, close: string) => {
      const parsed = JSON.parse(data) as Record<string, unknown>;
      delete parsed.teacher;
      return open + JSON.stringify(parsed) + close;
    });
  }
  for (const stage of STAGE_ORDER) {
    const text = await readFile(join(dir, stage, 'manifest.json'), 'utf8').catch(() => null);
    if (text === null) continue;
    const m = JSON.parse(text) as Record<string, unknown> & { stats: Record<string, unknown> };
    delete m.timings;
    delete m.stats.teacher;
    delete m.stats.cache;
    files[`${stage}/manifest.json`] = JSON.stringify(m);
  }
  return files;
}

/** The request hashes of the answers in a cache (the fake writes each request's hash into its answer's id). */
async function cachedRequests(cache: string): Promise<Set<string>> {
  const out = new Set<string>();
  if (!existsSync(cache)) return out;
  for (const e of await readdir(cache, { recursive: true, withFileTypes: true })) {
    if (!e.isFile() || !/^[0-9a-f]{64}\.json$/.test(e.name)) continue;
    const text = await readFile(join(e.parentPath, e.name), 'utf8').catch(() => '');
    const id = /chatcmpl-fake-([0-9a-f]{32})/.exec(text);
    if (id) out.add(id[1]!);
  }
  return out;
}

const teacher = await startFakeTeacher({ retryAfter: '0', randomFaults: { rate: args['fault-rate'], seed: args.seed, maxConsecutive: 2 } });
const started = Date.now();
try {
  process.stdout.write(`fault suite: ${args.trials} trials, fake teacher faulting on ${(args['fault-rate'] * 100).toFixed(0)}% of requests, work folder ${work}\n`);
  const ref = start(runArgs(join(work, 'ref'), join(work, 'ref-cache'), teacher));
  const refEnd = await ref.done;
  if (refEnd.code !== 0) throw new Error(`the uninterrupted run failed (${refEnd.code}):\n${refEnd.stderr}`);
  const expected = await comparable(join(work, 'ref'));
  const refRequests = teacher.requests.length;
  process.stdout.write(`uninterrupted run: ${Object.keys(expected).length} files, ${refRequests} teacher requests (faults included)\n`);

  let identical = 0;
  let duplicates = 0;
  let killedMidStage = 0;
  const perStage: Record<string, number> = {};
  const failures: string[] = [];
  for (let t = 0; t < args.trials; t++) {
    const out = join(work, `t${t}`);
    const cache = join(work, `t${t}-cache`);
    const target = STAGE_ORDER[t % STAGE_ORDER.length]!;
    const delay = Math.floor(rand() * 400);
    const run = start(runArgs(out, cache, teacher));
    // Kill once the target stage is writing (its partial folder exists), after a random delay.
    let ended: Ended | null = null;
    void run.done.then((e) => (ended = e));
    const deadline = Date.now() + 120_000;
    while (!ended && Date.now() < deadline) {
      const entries = await readdir(out).catch(() => [] as string[]);
      if (entries.some((e) => e.startsWith(`.${target}.partial-`))) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    if (!ended) {
      await new Promise((r) => setTimeout(r, delay));
      const still = ((await readdir(out).catch(() => [] as string[])) as string[]).some((e) => e.startsWith(`.${target}.partial-`));
      run.kill();
      if (still) killedMidStage++;
    }
    await run.done;
    perStage[target] = (perStage[target] ?? 0) + 1;
    const cachedAtKill = await cachedRequests(cache);
    const before = teacher.requests.length;
    const rerun = await start(runArgs(out, cache, teacher)).done;
    const again = teacher.requests.slice(before).filter((r) => cachedAtKill.has(r.bodyHash.slice(0, 32))).length;
    duplicates += again;
    if (rerun.code !== 0) {
      failures.push(`trial ${t} (${target}): rerun exited ${rerun.code}: ${rerun.stderr.trim().split('\n').pop()}`);
      continue;
    }
    const got = await comparable(out);
    const diff = [...new Set([...Object.keys(expected), ...Object.keys(got)])].filter((k) => expected[k] !== got[k]);
    if (diff.length === 0) identical++;
    else failures.push(`trial ${t} (killed in ${target} after ${delay} ms): ${diff.length} file(s) differ: ${diff.slice(0, 5).join(', ')}`);
    await rm(out, { recursive: true, force: true });
    await rm(cache, { recursive: true, force: true });
  }
  const seconds = (Date.now() - started) / 1000;
  process.stdout.write(
    `\ntrials: ${args.trials} (killed per stage: ${STAGE_ORDER.map((s) => `${s} ${perStage[s] ?? 0}`).join(', ')}; ${killedMidStage} while the target stage was still writing)\n` +
      `identical outputs after rerun: ${identical}/${args.trials}\n` +
      `teacher requests sent again for an answer already cached at the kill: ${duplicates}\n` +
      `teacher requests in all: ${teacher.requests.length} (${teacher.requests.filter((r) => r.fault !== 'ok').length} answered with a fault)\n` +
      `time: ${seconds.toFixed(0)} s\n`,
  );
  for (const f of failures) process.stdout.write(`FAILED ${f}\n`);
  process.exitCode = identical === args.trials && duplicates === 0 ? 0 : 1;
} finally {
  await teacher.close();
  await rm(work, { recursive: true, force: true });
}
