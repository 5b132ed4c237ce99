// The map stages (ingest, filter, dedup map) as 4 local shards in parallel against 1 process, on a synthetic
// corpus: wall time, CPU time (user + system, summed over the processes) and the largest peak RSS. Each shard
// reads (parses) every input, since a task id is only known after parsing, but redacts, filters and maps only
// its own runs; on a machine with fewer cores than shards the ratio shows that.
//
//   npx tsx bench/shards.ts [--size 5e7] [--shards 4]
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { synthesizeCorpus } from './synth.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};

interface Timed {
  wall: number;
  cpu: number;
  rssMb: number;
}

/** One `trajpipe run --shard I/N` under /usr/bin/time: it stops after the dedup map (no reduce yet). */
function shardRun(corpus: string, out: string, index: number, count: number): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const argv = [join(ROOT, 'bin/trajpipe.js'), 'run', '--input', corpus, '--out', out, '--shard', `${index}/${count}`, '-q'];
    const child = spawn('/usr/bin/time', ['-f', '%e %U %S %M', process.execPath, ...argv], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`shard ${index}/${count} failed: ${err}`));
      const [e, u, s, m] = err.trim().split('\n').pop()!.split(' ').map(Number);
      resolve({ wall: e!, cpu: u! + s!, rssMb: m! / 1024 });
    });
  });
}

async function timeShards(corpus: string, out: string, count: number): Promise<Timed> {
  const t0 = Date.now();
  const all = await Promise.all(Array.from({ length: count }, (_, i) => shardRun(corpus, out, i, count)));
  return { wall: (Date.now() - t0) / 1000, cpu: all.reduce((a, t) => a + t.cpu, 0), rssMb: Math.max(...all.map((t) => t.rssMb)) };
}

if (!existsSync('/usr/bin/time')) {
  console.log('shards bench: SKIPPED, /usr/bin/time is not installed (apt-get install time)');
} else {
  const size = arg('size', 5e7);
  const shards = arg('shards', 4);
  const dir = await mkdtemp(join(tmpdir(), 'trajpipe-bench-shards-'));
  try {
    const corpus = join(dir, 'corpus');
    const made = await synthesizeCorpus({ dir: corpus, targetBytes: size, seed: 3 });
    const one = await timeShards(corpus, join(dir, 'one'), 1);
    const many = await timeShards(corpus, join(dir, 'many'), shards);
    const f = (t: Timed) => `${t.wall.toFixed(1)}s wall, ${t.cpu.toFixed(1)}s CPU, peak RSS ${t.rssMb.toFixed(0)} MB`;
    console.log(`shards bench: ${made.records} runs, ${(size / 1e6).toFixed(0)} MB, ${cpus().length} cores; map stages (ingest, filter, dedup map):`);
    console.log(`  1 process:            ${f(one)}`);
    console.log(`  ${shards} shards in parallel: ${f(many)}`);
    console.log(`  speed-up (1-process wall / sharded wall) ${(one.wall / many.wall).toFixed(2)}x, CPU ratio ${(many.cpu / one.cpu).toFixed(2)}x (the extra CPU is every shard parsing every input)`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
