// The dedup reduce at scale: writes the map files of 4 shards holding N synthetic run signatures (1 M by
// default, 4 runs per task, 128-value MinHash signatures, 5 % of tasks exact copies of another and 5 %
// near-copies), then runs the real reduce in a child process and prints its time and peak RSS (from
// /usr/bin/time when present, else the reduce's own sampled peak).
//
//   npx tsx bench/reduce.ts [--runs 1000000] [--shards 4]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PipelineConfig, type DedupReduceManifest } from '../schemas/index.js';
import { JsonlWriter } from '../src/io/jsonl.js';
import { reduce, RUNS_FILE, TASKS_FILE } from '../src/stages/dedup/mapreduce.js';
import { encodeU32, type RunSignature, type TaskSignature } from '../src/stages/dedup/signature.js';
import { mulberry32 } from './synth.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};

async function writeMaps(dir: string, runs: number, shards: number): Promise<void> {
  const cfg = PipelineConfig.parse({ name: 'bench' }).dedup;
  const perm = cfg.minhash.bands * cfg.minhash.rows;
  const rand = mulberry32(7);
  const tasks = Math.max(1, Math.floor(runs / 4));
  const sigs: Uint32Array[] = [];
  const tw: JsonlWriter[] = [];
  const rw: JsonlWriter[] = [];
  for (let s = 0; s < shards; s++) {
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(dir, String(s)), { recursive: true });
    tw.push(await JsonlWriter.create(join(dir, String(s), TASKS_FILE)));
    rw.push(await JsonlWriter.create(join(dir, String(s), RUNS_FILE)));
  }
  // Tasks in order of their first run; a task's runs all go to its shard (as the partition does).
  for (let t = 0; t < tasks; t++) {
    const shard = t % shards;
    let sig: Uint32Array;
    let exact = `e${t}`;
    const r = rand();
    if (t > 10 && r < 0.05) {
      const of = Math.floor(rand() * t);
      sig = sigs[of]!;
      exact = `e${of}`;
    } else if (t > 10 && r < 0.1) {
      sig = Uint32Array.from(sigs[Math.floor(rand() * t)]!);
      for (let k = 0; k < perm / 10; k++) sig[Math.floor(rand() * perm)] = (rand() * 2 ** 32) >>> 0;
    } else {
      sig = new Uint32Array(perm);
      for (let k = 0; k < perm; k++) sig[k] = (rand() * 2 ** 32) >>> 0;
    }
    sigs.push(sig);
    const ts: TaskSignature = { task_id: `task-${t}`, exact, empty: false, minhash: encodeU32(sig) };
    await tw[shard]!.write(ts);
  }
  for (let p = 0; p < runs; p++) {
    const t = p % tasks;
    const rs: RunSignature = { key: [Math.floor(p / 100), '', p % 100], id: `run-${p}`, task_id: `task-${t}`, resolved: rand() < 0.3, actions: (rand() * 2 ** 52).toString(16).slice(0, 16), action_sig: null };
    await rw[t % shards]!.write(rs);
  }
  for (const w of [...tw, ...rw]) await w.close();
}

async function child(dir: string, shards: number): Promise<void> {
  const cfg = PipelineConfig.parse({ name: 'bench' }).dedup;
  const sources = Array.from({ length: shards }, (_, s) => ({ shard: s, dir: join(dir, String(s)), inputFingerprint: 'bench', runs: 0, tasks: 0 }));
  await reduce({ cfg, configHash: 'bench', sources, shards, outDir: join(dir, 'out'), version: 'bench' });
}

if (process.argv.includes('--child')) {
  await child(process.argv[process.argv.indexOf('--child') + 1]!, arg('shards', 4));
} else {
  const runs = arg('runs', 1_000_000);
  const shards = arg('shards', 4);
  const dir = await mkdtemp(join(tmpdir(), 'trajpipe-bench-reduce-'));
  try {
    const t0 = Date.now();
    await writeMaps(dir, runs, shards);
    console.log(`reduce bench: wrote ${runs} run signatures (${Math.floor(runs / 4)} tasks) in ${shards} shard maps in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    const self = fileURLToPath(import.meta.url);
    const argv = ['--import', 'tsx', self, '--child', dir, '--shards', String(shards)];
    const timed = existsSync('/usr/bin/time');
    const t1 = Date.now();
    const r = timed ? spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, ...argv], { encoding: 'utf8' }) : spawnSync(process.execPath, argv, { encoding: 'utf8' });
    const seconds = (Date.now() - t1) / 1000;
    if (r.status !== 0) throw new Error(`reduce child failed: ${r.stderr}`);
    const m = JSON.parse(await readFile(join(dir, 'out', 'manifest.json'), 'utf8')) as DedupReduceManifest;
    const peakKb = timed ? Number(r.stderr.trim().split('\n').pop()) : m.timings.peak_rss_bytes / 1024;
    const drops = m.decisions.reduce((a, d) => a + d.drops, 0);
    console.log(
      `reduce bench: ${runs} runs, ${shards} shards: ${seconds.toFixed(1)}s wall (reduce itself ${m.timings.seconds.toFixed(1)}s), peak RSS ${(peakKb / 1024).toFixed(0)} MB` +
        ` (${((peakKb / 1024) * (1e6 / runs)).toFixed(0)} MB per million runs), ${drops} runs dropped, ${m.clusters.lines} clusters`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
