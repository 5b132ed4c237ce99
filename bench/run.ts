// npm run bench [-- --size 1e9 --out bench/out]
// Generates a synthetic corpus shaped like real runs, runs each stage in its own process and prints,
// per stage, records/s, MB/s and peak RSS, next to a bare read-and-JSON.parse pass as the floor.
// Then runs the stage-specific benchmarks that live beside this file.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { STAGE_ORDER, type StageManifest } from '../schemas/index.js';
import { synthesizeCorpus } from './synth.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const MB = 1024 * 1024;

const args = await yargs(hideBin(process.argv))
  .option('size', { type: 'number', default: 1e9, describe: 'Corpus size in bytes.' })
  .option('out', { type: 'string', default: 'bench/out', describe: 'Working folder (git-ignored).' })
  .option('seed', { type: 'number', default: 1 })
  .option('stage-benches', { type: 'boolean', default: true, describe: 'Also run bench/dedup.ts, bench/teacher.ts and bench/redact.ts when present.' })
  .option('per-stage', { type: 'boolean', default: true, describe: 'Also run each stage in its own process (--only STAGE --force) for its own time.' })
  .option('rss-size', { type: 'number', describe: 'Also run the whole pipeline over a corpus of this many bytes (at least 4x --size) and print its peak RSS beside the first.' })
  .strict()
  .parseAsync();

const work = resolve(ROOT, args.out);
const corpusDir = join(work, `corpus-${args.size}-${args.seed}`);

interface Measured {
  seconds: number;
  peakRssMb: number;
  /** User + system CPU seconds of the process and its children. */
  cpuSeconds: number;
  stdout: string;
}

/** Runs a node script in a child under /usr/bin/time, for wall time and peak RSS of that process alone. */
function measure(argv: string[]): Measured {
  const started = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%M %U %S', process.execPath, ...argv], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * MB });
  const seconds = (performance.now() - started) / 1000;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed:\n${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  const [rss, user, sys] = lines[lines.length - 1]!.split(' ').map(Number);
  return { seconds, peakRssMb: rss! / 1024, cpuSeconds: user! + sys!, stdout: r.stdout };
}

async function ensureCorpus(size: number): Promise<{ dir: string; records: number; bytes: number }> {
  const dir = join(work, `corpus-${size}-${args.seed}`);
  const done = join(dir, 'COMPLETE.json');
  if (!existsSync(done)) {
    await rm(dir, { recursive: true, force: true });
    process.stderr.write(`generating a ${(size / 1e9).toFixed(2)} GB synthetic corpus in ${dir} ...\n`);
    const t = performance.now();
    const made = await synthesizeCorpus({ dir, targetBytes: size, seed: args.seed });
    await writeFile(done, JSON.stringify({ ...made, files: made.files.length }));
    process.stderr.write(`  ${made.records} trajectories, ${(made.bytes / MB).toFixed(0)} MB in ${((performance.now() - t) / 1000).toFixed(1)}s\n`);
  }
  return { dir, ...(JSON.parse(await readFile(done, 'utf8')) as { records: number; bytes: number }) };
}

/** The bare read + JSON.parse floor over a corpus, in its own process. */
async function floorOf(dir: string): Promise<{ records: number; bytes: number; seconds: number; peakRssMb: number }> {
  const inputs = (await (await import('../src/io/inputs.js')).resolveInputs([dir])).filter((x) => x.endsWith('.jsonl'));
  const m = measure(['--import', 'tsx', 'bench/floor.ts', ...inputs]);
  return { ...(JSON.parse(m.stdout) as { records: number; bytes: number; seconds: number }), peakRssMb: m.peakRssMb };
}

/** The whole `trajpipe run` (every non-LLM stage, heuristic labeler) over a corpus, from a clean folder. */
async function endToEnd(corpusDir: string, runDir: string, name: string): Promise<Measured> {
  const file = join(work, `${name}.yaml`);
  await writeFile(file, `name: bench\ninputs: [${JSON.stringify(corpusDir)}]\n`);
  await rm(runDir, { recursive: true, force: true });
  return measure(['bin/trajpipe.js', 'run', file, '--out', runDir, '--quiet']);
}

const load = (): string => `load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`;

const corpus = await ensureCorpus(args.size);
const floorStats = await floorOf(corpusDir);
const floor = { peakRssMb: floorStats.peakRssMb };

// The pipeline, one stage per process so each peak RSS is that stage's own.
const runDir = join(work, 'run');
const pipeline = join(work, 'bench.yaml');
await mkdir(work, { recursive: true });
await writeFile(pipeline, `name: bench\ninputs: [${JSON.stringify(corpusDir)}]\n`);
await rm(runDir, { recursive: true, force: true });

interface Row {
  stage: string;
  recordsIn: number;
  recordsOut: number;
  seconds: number;
  mbIn: number;
  peakRssMb: number;
}
const rows: Row[] = [];
let inputBytes = corpus.bytes;
for (const stage of args['per-stage'] ? STAGE_ORDER : []) {
  const m = measure(['bin/trajpipe.js', 'run', pipeline, '--out', runDir, '--only', stage, '--force', '--quiet']);
  const manifest = JSON.parse(await readFile(join(runDir, stage, 'manifest.json'), 'utf8')) as StageManifest;
  rows.push({
    stage,
    recordsIn: manifest.records_in,
    recordsOut: manifest.records_out,
    seconds: manifest.timings.seconds,
    mbIn: inputBytes / MB,
    peakRssMb: m.peakRssMb,
  });
  inputBytes = manifest.outputs.reduce((a, o) => a + o.bytes, 0);
}

const fmt = (n: number, d = 1) => n.toFixed(d).padStart(10);
const lines = [
  `corpus: ${corpus.records} trajectories, ${(corpus.bytes / MB).toFixed(0)} MB (20-200 turns, observations 100 B-20 KB); node ${process.version}`,
  '',
  `${'stage'.padEnd(14)}${'in'.padStart(10)}${'out'.padStart(10)}${'seconds'.padStart(10)}${'records/s'.padStart(10)}${'MB/s'.padStart(10)}${'peak RSS MB'.padStart(13)}`,
  `${'floor (parse)'.padEnd(14)}${String(floorStats.records).padStart(10)}${''.padStart(10)}${fmt(floorStats.seconds, 2)}${fmt(floorStats.records / floorStats.seconds)}${fmt(floorStats.bytes / MB / floorStats.seconds)}${fmt(floor.peakRssMb, 0).padStart(13)}`,
  ...rows.map(
    (r) =>
      `${r.stage.padEnd(14)}${String(r.recordsIn).padStart(10)}${String(r.recordsOut).padStart(10)}${fmt(r.seconds, 2)}${fmt(r.recordsIn / Math.max(r.seconds, 1e-3))}${fmt(r.mbIn / Math.max(r.seconds, 1e-3))}${fmt(r.peakRssMb, 0).padStart(13)}`,
  ),
  '',
  'seconds: the stage\'s own time from its manifest; MB/s: the stage\'s input bytes / seconds; peak RSS: the whole process (/usr/bin/time).',
];
process.stdout.write(lines.join('\n') + '\n');

// End to end: the whole run in one command, as a user runs it, against the same floor; then two reruns.
const e2eDir = join(work, 'run-e2e');
const e2eLoad = load();
const e2e = await endToEnd(corpusDir, e2eDir, 'bench-e2e');
const firstFilter = (JSON.parse(await readFile(join(e2eDir, 'filter', 'manifest.json'), 'utf8')) as StageManifest).timings.seconds;
const e2eLine = (label: string, mb: number, floorS: number, m: Measured, l: string) =>
  `${label.padEnd(12)} corpus ${mb.toFixed(0)} MB, floor ${floorS.toFixed(2)} s, pipeline ${m.seconds.toFixed(2)} s, ratio ${(m.seconds / floorS).toFixed(1)}x, ` +
  `peak RSS ${m.peakRssMb.toFixed(0)} MB, CPU ${m.cpuSeconds.toFixed(1)} s / wall ${m.seconds.toFixed(1)} s = ${(m.cpuSeconds / m.seconds).toFixed(2)} cores (${l})`;
const out2 = ['', `end to end (trajpipe run, every non-LLM stage, heuristic labeler):`, e2eLine('e2e', corpus.bytes / MB, floorStats.seconds, e2e, e2eLoad)];
// A rerun with nothing changed, and one that changes one filter threshold (every length decision re-made).
const noopLoad = load();
const noop = measure(['bin/trajpipe.js', 'run', join(work, 'bench-e2e.yaml'), '--out', e2eDir, '--quiet']);
out2.push(`rerun, nothing changed: ${noop.seconds.toFixed(2)} s = ${((100 * noop.seconds) / e2e.seconds).toFixed(1)} % of the first run (${noopLoad})`);
const setLoad = load();
const set = measure(['bin/trajpipe.js', 'run', join(work, 'bench-e2e.yaml'), '--out', e2eDir, '--quiet', '--set', 'filter.length.max_tokens=100000']);
const setFilter = (JSON.parse(await readFile(join(e2eDir, 'filter', 'manifest.json'), 'utf8')) as StageManifest).timings.seconds;
out2.push(
  `rerun, filter.length.max_tokens changed: filter ${setFilter.toFixed(2)} s (first run's filter: ${firstFilter.toFixed(2)} s), whole rerun ${set.seconds.toFixed(2)} s (${setLoad})`,
);
if (args['rss-size']) {
  const big = await ensureCorpus(args['rss-size']);
  const bigFloor = await floorOf(big.dir);
  const bigLoad = load();
  const m = await endToEnd(big.dir, join(work, 'run-rss'), 'bench-rss');
  out2.push(e2eLine('rss check', big.bytes / MB, bigFloor.seconds, m, bigLoad));
  out2.push(`peak RSS at ${(corpus.bytes / MB).toFixed(0)} MB: ${e2e.peakRssMb.toFixed(0)} MB; at ${(big.bytes / MB).toFixed(0)} MB (${(big.bytes / corpus.bytes).toFixed(1)}x): ${m.peakRssMb.toFixed(0)} MB`);
  await rm(join(work, 'run-rss'), { recursive: true, force: true });
}
process.stdout.write(out2.join('\n') + '\n');

if (args['stage-benches']) {
  // The run report of this run folder: generation time, page size, load time in Chromium.
  process.stdout.write(`\n== bench/report.ts ==\n`);
  const rep = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'report.ts'), runDir], { cwd: ROOT, stdio: 'inherit' });
  if (rep.status !== 0) process.stdout.write(`bench/report.ts exited with ${rep.status}\n`);
  for (const name of ['dedup', 'teacher', 'redact', 'tokenize', 'shards', 'reduce']) {
    const file = join(ROOT, 'bench', `${name}.ts`);
    if (!existsSync(file)) continue;
    process.stdout.write(`\n== bench/${name}.ts ==\n`);
    const r = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) process.stdout.write(`bench/${name}.ts exited with ${r.status}\n`);
  }
}

