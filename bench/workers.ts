// npx tsx bench/workers.ts [--stages filter,export] [--workers 2]   (after `npm run bench -- --size 3e8`)
// Reruns each stage over bench/out/run with runner.workers 0 and N, in its own process under /usr/bin/time,
// and prints the stage's own seconds (manifest), the process's wall and CPU seconds, and CPU / wall.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const args = await yargs(hideBin(process.argv))
  .option('stages', { type: 'string', default: 'filter,export' })
  .option('workers', { type: 'number', default: 2 })
  .option('out', { type: 'string', default: 'bench/out' })
  .strict()
  .parseAsync();
const pipeline = join(ROOT, args.out, 'bench.yaml');
const runDir = join(ROOT, args.out, 'run');

console.log(`${'stage'.padEnd(8)}${'workers'.padStart(8)}${'stage s'.padStart(9)}${'wall s'.padStart(9)}${'CPU s'.padStart(8)}${'CPU/wall'.padStart(10)}${'RSS MB'.padStart(8)}${'load'.padStart(7)}`);
for (const stage of args.stages.split(',')) {
  for (const workers of [0, args.workers]) {
    const load = loadavg()[0]!;
    const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', process.execPath, 'bin/trajpipe.js', 'run', pipeline, '--out', runDir, '--only', stage, '--force', '--quiet', '--set', `runner.workers=${workers}`], { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${stage} failed:\n${r.stderr}`);
    const [wall, user, sys, rss] = r.stderr.trim().split('\n').at(-1)!.split(' ').map(Number) as [number, number, number, number];
    const seconds = (JSON.parse(readFileSync(join(runDir, stage, 'manifest.json'), 'utf8')) as { timings: { seconds: number } }).timings.seconds;
    const cpu = user + sys;
    console.log(`${stage.padEnd(8)}${String(workers).padStart(8)}${seconds.toFixed(2).padStart(9)}${wall.toFixed(2).padStart(9)}${cpu.toFixed(2).padStart(8)}${(cpu / wall).toFixed(2).padStart(10)}${(rss / 1024).toFixed(0).padStart(8)}${load.toFixed(1).padStart(7)}`);
  }
}
