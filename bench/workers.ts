// npx tsx bench/workers.ts [--stages filter,export] [--workers 2]   (after `npm run bench -- --size 3e8`)
// Reruns each stage over bench/out/run with runner.workers 0 and N, in its own process under /usr/bin/time,
// and prints the stage's own seconds (manifest), the process's wall and CPU seconds, CPU / wall, and the main
// thread's own CPU seconds (from /proc/PID/task/TID/stat, sampled): on a machine shared with other work the
// wall time says little, while the main thread's CPU is the critical path that worker threads shorten.
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
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

const TICK = 100; // clock ticks per second (getconf CLK_TCK on Linux)

/** Runs node with argv, sampling every thread's CPU (utime+stime) and the peak RSS from /proc until it exits. */
async function measure(argv: string[]): Promise<{ wall: number; cpu: number; main: number; rss: number }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, argv, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const pid = child.pid!;
  const threads = new Map<string, number>();
  let rss = 0;
  const sample = () => {
    try {
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        const f = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ');
        threads.set(tid, Math.max(threads.get(tid) ?? 0, (Number(f[11]) + Number(f[12])) / TICK));
      }
      const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (hwm) rss = Math.max(rss, Number(hwm[1]) / 1024);
    } catch {
      // the process (or a thread) just ended
    }
  };
  const timer = setInterval(sample, 100);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  clearInterval(timer);
  if (code !== 0) throw new Error(`${argv.join(' ')} failed:\n${stderr}`);
  const cpu = [...threads.values()].reduce((a, b) => a + b, 0);
  return { wall: (performance.now() - t0) / 1000, cpu, main: threads.get(String(pid)) ?? 0, rss };
}

console.log(`${'stage'.padEnd(8)}${'workers'.padStart(8)}${'stage s'.padStart(9)}${'wall s'.padStart(9)}${'CPU s'.padStart(8)}${'main s'.padStart(8)}${'CPU/wall'.padStart(10)}${'RSS MB'.padStart(8)}${'load'.padStart(7)}`);
for (const stage of args.stages.split(',')) {
  for (const workers of [0, args.workers]) {
    const load = loadavg()[0]!;
    const m = await measure(['bin/trajpipe.js', 'run', pipeline, '--out', runDir, '--only', stage, '--force', '--quiet', '--set', `runner.workers=${workers}`]);
    const { wall, cpu, main, rss } = m;
    const seconds = (JSON.parse(readFileSync(join(runDir, stage, 'manifest.json'), 'utf8')) as { timings: { seconds: number } }).timings.seconds;
    console.log(`${stage.padEnd(8)}${String(workers).padStart(8)}${seconds.toFixed(2).padStart(9)}${wall.toFixed(2).padStart(9)}${cpu.toFixed(2).padStart(8)}${main.toFixed(2).padStart(8)}${(cpu / wall).toFixed(2).padStart(10)}${rss.toFixed(0).padStart(8)}${load.toFixed(1).padStart(7)}`);
  }
}
